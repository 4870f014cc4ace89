import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/log.ts';
import { PROVIDER_IDS } from '../../functions/providers/port.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { signedHeaders } from '../../functions/webhooks/standard-webhooks.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';

/**
 * The dashboard in headless Chromium against a real runtime: a signed webhook starts a job, and
 * the page must show it reach SUCCEEDED, its steps, the states it went through, a verified audit
 * trail and the fleet of all five providers. Screenshots go to test-results/screenshots/
 * (UPDATE_DOCS_SCREENSHOT=1 also copies the overview to docs/dashboard.png for the README).
 */

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SHOTS = join('test-results', 'screenshots');
const WAIT = { timeout: 45_000 };

describe('dashboard in headless Chromium', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-dashboard-'));
  let runtime: Runtime;
  let browser: Browser;
  let page: Page;
  let jobId: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    runtime = await startRuntime({
      dataDir,
      port: 0,
      persist: false,
      timeScale: 0.01,
      simulator: { transitionMs: 20, operationMs: 20 },
      env: {}, // simulators only, whatever credentials this machine has
      logger: createLogger({ component: 'runtime' }, 'silent'),
    });
    const payload = readFileSync('examples/provision.json', 'utf8');
    const response = await fetch(`${runtime.urls.http}/webhooks/provision`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signedHeaders({ secrets: runtime.webhookSecret, id: 'msg_dashboard_1', payload }),
      },
      body: payload,
    });
    expect(response.status).toBe(202);
    jobId = ((await response.json()) as { jobId: string }).jobId;

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${runtime.urls.http}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists the job and follows it live to SUCCEEDED', async () => {
    await page.locator(`#jobs-body tr[data-job="${jobId}"]`).waitFor(WAIT);
    await page.locator(`#jobs-body tr[data-job="${jobId}"][data-status="SUCCEEDED"]`).waitFor(WAIT);
    await expect(page.locator('#job-status [data-status]').textContent()).resolves.toBe('SUCCEEDED');
  });

  it('shows the job steps as a timeline', async () => {
    const job = (await stores().jobs.get(jobId))!;
    expect(job.steps.length).toBeGreaterThan(0);
    await page
      .locator('#timeline li[data-step]')
      .nth(job.steps.length - 1)
      .waitFor(WAIT);
    const shown = await page
      .locator('#timeline li[data-step]')
      .evaluateAll((items) => items.map((li) => li.getAttribute('data-step')));
    expect(shown).toEqual(job.steps.map((s) => s.name));
  });

  it('draws the state machine with the visited states highlighted', async () => {
    await page.locator('#machine g.node.visited[data-state="Provisioned"]').waitFor(WAIT);
    const nodes = await page
      .locator('#machine g.node')
      .evaluateAll((gs) =>
        gs.map((g) => ({ name: g.getAttribute('data-state'), visited: g.classList.contains('visited') })),
      );
    const visited = nodes.filter((n) => n.visited).map((n) => n.name);
    expect(visited).toEqual(
      expect.arrayContaining([
        'Validate request',
        'Create instance',
        'Snapshot',
        'Record success',
        'Provisioned',
      ]),
    );
    // The failure path did not run.
    expect(nodes.find((n) => n.name === 'Compensate')?.visited).toBe(false);
    expect(nodes.find((n) => n.name === 'Provisioning failed')?.visited).toBe(false);
    await page.screenshot({ path: join(SHOTS, 'dashboard-job.png'), fullPage: true });
  });

  it('shows the job audit trail as verified', async () => {
    const badge = page.locator('#audit-verified [data-ok="true"]');
    await badge.waitFor(WAIT);
    expect(await badge.textContent()).toMatch(/^verified: \d+ event\(s\) in 1 chain\(s\), every link intact/);
    expect(await page.locator('#audit-body tr[data-seq]').count()).toBeGreaterThan(0);
  });

  it('shows the fleet of all five providers with state, type and labels', async () => {
    for (const provider of PROVIDER_IDS) {
      await page.locator(`#fleet-body [data-provider="${provider}"] tr[data-instance]`).first().waitFor(WAIT);
    }
    const providers = await page
      .locator('#fleet-body [data-provider]')
      .evaluateAll((ds) => ds.map((d) => d.getAttribute('data-provider')));
    expect(providers.sort()).toEqual([...PROVIDER_IDS].sort());
    const firstRow = page.locator('#fleet-body [data-provider="exoscale"] tr[data-instance]').first();
    expect(await firstRow.locator('.badge').textContent()).toMatch(/^[a-z-]+$/);
    expect(await page.locator('#fleet-body .label').count()).toBeGreaterThan(0);
  });

  it('opens an instance audit trail from the fleet, verified across jobs', async () => {
    const job = (await stores().jobs.view(jobId))!;
    const instanceId = Object.values(job.results)[0]!.instanceId!;
    await page.locator(`#fleet-body tr[data-instance="${instanceId}"] a.instance`).click();
    await page.locator('#audit-title', { hasText: `instance ${instanceId}` }).waitFor(WAIT);
    await page.locator('#audit-verified [data-ok="true"]').waitFor(WAIT);
    expect(await page.locator('#audit-body tr[data-seq]').count()).toBeGreaterThan(0);
  });

  it('says plainly when no schedules are configured', async () => {
    const panel = page.locator('#plan-body');
    await panel.locator('[data-testid="no-schedules"]').waitFor(WAIT);
    // The runtime was started without a config file: the plan API answers 404.
    expect(await panel.locator('[data-testid="no-schedules"]').textContent()).toBe('no schedules configured');
    await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1')
      copyFileSync(join(SHOTS, 'dashboard.png'), join('docs', 'dashboard.png'));
  });

  it('filters jobs by status and kind', async () => {
    await page.selectOption('#filter-status', 'FAILED');
    await page.locator('#jobs-empty').waitFor({ state: 'visible', ...WAIT });
    expect(await page.locator('#jobs-body tr').count()).toBe(0);
    await page.selectOption('#filter-status', '');
    await page.selectOption('#filter-kind', 'provision');
    await page.locator(`#jobs-body tr[data-job="${jobId}"]`).waitFor(WAIT);
  });

  it('renders data as text, never as markup', async () => {
    const hostile = '<img src=x onerror="window.__pwned=1">';
    const id = 'job-hostile-1';
    await stores().jobs.create({
      jobId: id,
      kind: 'provision',
      trigger: { type: 'manual', actor: 'tester' },
      request: { name: hostile },
    });
    await stores().jobs.appendStep(id, {
      name: hostile,
      status: 'SKIPPED',
      startedAt: new Date().toISOString(),
      detail: { reason: hostile },
    });
    await page.locator(`#jobs-body tr[data-job="${id}"]`).click(WAIT);
    await page.locator('#job-title', { hasText: id }).waitFor(WAIT);
    await page.locator('#timeline .step', { hasText: 'onerror' }).waitFor(WAIT);
    expect(await page.locator('#timeline .step').first().textContent()).toBe(hostile);
    expect(await page.locator('#timeline img').count()).toBe(0);
    expect(await page.evaluate('globalThis.__pwned')).toBeUndefined();
    expect(pageErrors).toEqual([]);
  });
});
