import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/log.ts';
import { PROVIDER_IDS } from '../../functions/providers/port.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { signedHeaders } from '../../functions/webhooks/standard-webhooks.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';
import { launchChromium } from './browser.ts';

/**
 * The dashboard in headless Chromium against a real runtime: a signed webhook starts a job, and
 * the page must show it reach SUCCEEDED, its steps, the states it went through, a verified audit
 * trail and the fleet of all five providers. Screenshots go to test-results/screenshots/
 * (UPDATE_DOCS_SCREENSHOT=1 also copies the overview to docs/dashboard.png for the README).
 */

const SHOTS = join('test-results', 'screenshots');

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}
interface Drawing {
  nodes: Array<Box & { name: string; parent?: string; visited: boolean }>;
  edges: Array<{
    from: string;
    to: string;
    taken: boolean;
    label?: string;
    start: { x: number; y: number };
    end: { x: number; y: number };
  }>;
}

/** Runs in the page: every drawn state box and every drawn edge's two ends, in SVG coordinates. */
const MEASURE_MACHINE = `(() => {
  const svg = document.querySelector('#machine svg');
  const nodes = [...svg.querySelectorAll('g.node')].map((g) => {
    const r = g.querySelector(':scope > rect.box');
    return {
      name: g.getAttribute('data-state'),
      parent: g.getAttribute('data-parent') || undefined,
      visited: g.classList.contains('visited'),
      x: r.x.baseVal.value, y: r.y.baseVal.value, w: r.width.baseVal.value, h: r.height.baseVal.value,
    };
  });
  const edges = [...svg.querySelectorAll('g.edge')].map((g) => {
    const path = g.querySelector('path');
    const first = path.getPointAtLength(0);
    const last = path.getPointAtLength(path.getTotalLength());
    return {
      from: g.getAttribute('data-from'),
      to: g.getAttribute('data-to'),
      taken: g.classList.contains('taken'),
      label: g.querySelector('text.edge-label')?.textContent ?? undefined,
      start: { x: first.x, y: first.y },
      end: { x: last.x, y: last.y },
    };
  });
  return { nodes, edges };
})()`;
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

    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
    page.on('requestfailed', (r) => pageErrors.push(`failed: ${r.url()}`));
    page.on('response', (r) => {
      if (r.status() >= 400) pageErrors.push(`${r.status()}: ${r.url()}`);
    });
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

  it('draws the state machine as a layered graph: visited path highlighted, Choice branches labelled', async () => {
    await page.locator('#machine g.node.visited[data-state="Provisioned"]').waitFor(WAIT);
    const drawing = (await page.evaluate(MEASURE_MACHINE)) as Drawing;
    const { nodes, edges } = drawing;
    const definition = JSON.parse(
      runtime.engine.stateMachines().find((m) => m.name === 'provision')!.definition,
    ) as { States: Record<string, { Type: string; Choices?: unknown[] }> };

    // Every state is drawn, once.
    expect(nodes.map((n) => n.name).sort()).toEqual(Object.keys(definition.States).sort());

    // No two state boxes overlap (a state inside a Map or Parallel sits inside its box, nowhere else).
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const ancestorOf = (a: string, b: string): boolean => {
      for (let p = byName.get(b)?.parent; p; p = byName.get(p)?.parent) if (p === a) return true;
      return false;
    };
    const overlaps: string[] = [];
    for (const [i, a] of nodes.entries())
      for (const b of nodes.slice(i + 1)) {
        if (ancestorOf(a.name, b.name) || ancestorOf(b.name, a.name)) continue;
        const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        if (!apart) overlaps.push(`${a.name} × ${b.name}`);
      }
    expect(overlaps).toEqual([]);

    // Every edge joins two drawn states: it starts on its source's box and ends on its target's.
    const near = (p: { x: number; y: number }, n: Box) =>
      p.x >= n.x - 2 && p.x <= n.x + n.w + 2 && p.y >= n.y - 2 && p.y <= n.y + n.h + 2;
    expect(edges.length).toBeGreaterThan(nodes.length - 2);
    const loose = edges.filter(
      (e) =>
        !byName.has(e.from) ||
        !byName.has(e.to) ||
        !near(e.start, byName.get(e.from)!) ||
        !near(e.end, byName.get(e.to)!),
    );
    expect(loose).toEqual([]);

    // Choice branches carry their rule; each Choice has a labelled default or rule on every way out.
    const choices = Object.entries(definition.States).filter(([, s]) => s.Type === 'Choice');
    expect(choices.length).toBeGreaterThan(0);
    for (const [name] of choices) {
      const out = edges.filter((e) => e.from === name);
      expect(out.length).toBeGreaterThan(1);
      for (const e of out) expect(e.label, `${name} → ${e.to}`).toBeTruthy();
    }
    expect(edges.find((e) => e.from === 'How to scale?' && e.to === 'Stop for scale')?.label).toBe(
      'scalePlan.mode = "stop-first"',
    );

    // The path the execution took is highlighted; the failure path is not.
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
    expect(byName.get('Compensate')?.visited).toBe(false);
    expect(byName.get('Provisioning failed')?.visited).toBe(false);
    expect(edges.find((e) => e.from === 'Record success' && e.to === 'Provisioned')?.taken).toBe(true);
    expect(edges.filter((e) => e.to === 'Compensate').every((e) => !e.taken)).toBe(true);
    // It reads top down: the first state is above the last.
    expect(byName.get('Validate request')!.y).toBeLessThan(byName.get('Provisioned')!.y);

    await page.locator('#machine').screenshot({ path: join(SHOTS, 'dashboard-machine.png') });
    await page.screenshot({ path: join(SHOTS, 'dashboard-job.png'), fullPage: true });
  });

  it('shows the job audit trail as verified', async () => {
    const badge = page.locator('#audit-verified [data-ok="true"]');
    await badge.waitFor(WAIT);
    expect(await badge.textContent()).toMatch(/^verified: \d+ event\(s\) in 1 chain\(s\), every link intact/);
    expect(await page.locator('#audit-body tr[data-seq]').count()).toBeGreaterThan(0);
  });

  it('keeps the audit table readable at 1400 px: one line a row, long payloads collapsed and expandable', async () => {
    const table = page.locator('#audit-panel table');
    await table.waitFor(WAIT);
    const fits = (await page.evaluate(`(() => {
      const t = document.querySelector('#audit-panel table');
      return {
        table: t.getBoundingClientRect().width,
        panel: t.closest('.panel').clientWidth,
        rows: [...t.querySelectorAll('tbody tr')].map((r) => r.getBoundingClientRect().height),
      };
    })()`)) as { table: number; panel: number; rows: number[] };
    expect(fits.table).toBeLessThanOrEqual(fits.panel);
    expect(Math.max(...fits.rows)).toBeLessThan(40); // no cell wraps into a column of characters
    const collapsed = page.locator('#audit-body details.json').first();
    await collapsed.waitFor(WAIT);
    expect(await collapsed.getAttribute('open')).toBeNull();
    await collapsed.locator('summary').click();
    const key = await collapsed.getAttribute('data-key');
    const full = page.locator(`#audit-body details.json[data-key="${key}"] pre`);
    await full.waitFor({ state: 'visible', ...WAIT });
    expect(JSON.parse((await full.textContent()) ?? '')).toBeTypeOf('object');
    // Still open after the page's next refresh.
    const refreshed = await page.locator('#refreshed').textContent();
    await page.waitForFunction(
      // Serialised into the page: the document is the page's (this project compiles without the DOM lib).
      (before) =>
        (
          globalThis as unknown as {
            document: { getElementById(id: string): { textContent: string | null } | null };
          }
        ).document.getElementById('refreshed')?.textContent !== before,
      refreshed,
      WAIT,
    );
    expect(
      await page.locator(`#audit-body details.json[data-key="${key}"]`).getAttribute('open'),
    ).not.toBeNull();
    await page.locator('#audit-panel').screenshot({ path: join(SHOTS, 'dashboard-audit.png') });
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
    const job = (await stores().jobs.get(jobId))!;
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
