import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFrom } from '../../cli/commands/config.ts';
import { createLogger } from '../../functions/log.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';
import { chromiumExecutable } from '../dashboard/browser.ts';

/**
 * The dashboard and the pages of other sites, in a real browser (headless Chromium): the dashboard
 * reads its token from its own page and uses it; a page of another origin — even one on 127.0.0.1
 * at another port, which the browser counts as the same site — can neither read the token nor
 * change anything, whatever it tries (fetch, a form, a frame); and a page whose name was rebound to
 * 127.0.0.1 (Chromium told to resolve it there, as a rebinding DNS server would) is not served.
 */

const REBIND = 'rebind.attacker.example';
const root = mkdtempSync(join(tmpdir(), 'fleetflow-security-browser-'));
let runtime: Runtime;
let attacker: Server;
let attackerUrl: string;
let browser: Browser;

/** A page of another origin: what it does is passed in by the test. */
const ATTACK_PAGE = '<!doctype html><title>cute cats</title><body><p>cats</p></body>';

beforeAll(async () => {
  runtime = await startRuntime({
    dataDir: join(root, '.fleetflow'),
    port: 0,
    persist: false,
    timeScale: 0.01,
    simulator: { transitionMs: 20, operationMs: 20 },
    env: {},
    config: configFrom('examples/fleetflow.config.yaml', true),
    scheduler: false,
    logger: createLogger({ component: 'runtime' }, 'silent'),
  });
  attacker = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(ATTACK_PAGE);
  });
  await new Promise<void>((done) => attacker.listen(0, '127.0.0.1', done));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
  browser = await chromium.launch({
    executablePath: await chromiumExecutable(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-zygote',
      '--disable-background-networking',
      `--host-resolver-rules=MAP ${REBIND} 127.0.0.1`,
    ],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => attacker?.close(done));
  await runtime?.close();
  rmSync(root, { recursive: true, force: true });
});

async function overrides(): Promise<number> {
  const listed = (await (await fetch(`${runtime.urls.http}/overrides?all=true`)).json()) as {
    overrides: unknown[];
  };
  return listed.overrides.length;
}

async function jobCount(): Promise<number> {
  let n = 0;
  for await (const _ of stores().jobs.listAll({})) n++;
  return n;
}

/** Runs in the attacker's page: every way it has to read the token or act, and what came of each. */
const ATTACKS = `async ({ dashboard, body, event }) => {
  const tried = {};
  const attempt = async (label, run) => {
    try {
      tried[label] = 'answered ' + JSON.stringify(await run());
    } catch (error) {
      tried[label] = 'blocked: ' + error.name;
    }
  };
  // Read the page (and its token): the same-origin policy blocks the response.
  await attempt('read the dashboard page', async () => (await fetch(dashboard + '/')).text());
  // A "simple" request needs no preflight: it is sent, its answer unreadable.
  await attempt('no-cors text/plain POST /overrides', async () =>
    (await fetch(dashboard + '/overrides', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body })).type);
  await attempt('no-cors text/plain POST /events', async () =>
    (await fetch(dashboard + '/events', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: event })).type);
  // JSON or an Authorization header needs a preflight the server never grants.
  await attempt('JSON POST /overrides', async () =>
    (await fetch(dashboard + '/overrides', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status);
  await attempt('DELETE /overrides/x with a guessed token', async () =>
    (await fetch(dashboard + '/overrides/x', { method: 'DELETE', headers: { authorization: 'Bearer fft_guess' } })).status);
  // A form posts across sites without any script: text/plain, the event as its one field.
  const form = document.createElement('form');
  form.method = 'POST';
  form.action = dashboard + '/events';
  form.enctype = 'text/plain';
  form.target = 'sink';
  const field = document.createElement('input');
  field.name = event.slice(0, -2);
  field.value = '"}';
  form.append(field);
  const sink = document.createElement('iframe');
  sink.name = 'sink';
  document.body.append(sink, form);
  form.submit();
  await new Promise((r) => setTimeout(r, 500));
  // Framing the dashboard to read it: refused by frame-ancestors 'none' (and cross-origin anyway).
  const frame = document.createElement('iframe');
  frame.src = dashboard + '/';
  document.body.append(frame);
  await new Promise((r) => setTimeout(r, 500));
  try {
    const meta = frame.contentDocument && frame.contentDocument.querySelector('meta[name="fleetflow-api-token"]');
    tried['read a framed dashboard'] = 'read ' + (meta ? meta.getAttribute('content') : 'nothing');
  } catch (error) {
    tried['read a framed dashboard'] = 'blocked: ' + error.name;
  }
  return tried;
}`;

const OVERRIDE = JSON.stringify({
  kind: 'keep-running',
  scope: { schedule: 'office-hours' },
  until: new Date(Date.now() + 3_600_000).toISOString(),
});

describe('the dashboard’s token in a browser', () => {
  it('the dashboard page reads its token and sends it; its own request to change state succeeds', async () => {
    const page = await browser.newPage();
    const sent: Array<string | undefined> = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/dashboard/')) sent.push(r.headers().authorization);
    });
    await page.goto(`${runtime.urls.http}/`);
    await page.locator('#refreshed').filter({ hasNotText: 'loading' }).waitFor({ timeout: 45_000 });
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set([`Bearer ${runtime.apiToken}`]));

    const before = await overrides();
    // What a button of the dashboard would do: its token from its own page, JSON, same origin.
    const status = await page.evaluate(`(async () => {
      const token = document.querySelector('meta[name="fleetflow-api-token"]').getAttribute('content');
      const res = await fetch('/overrides', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
        body: ${JSON.stringify(OVERRIDE)},
      });
      return res.status;
    })()`);
    expect(status).toBe(201);
    expect(await overrides()).toBe(before + 1);
    await page.close();
  });

  it('a page of another origin cannot read the token, and nothing it sends changes anything', async () => {
    const page = await browser.newPage();
    await page.goto(attackerUrl);
    const [overridesBefore, jobsBefore] = [await overrides(), await jobCount()];
    const dashboard = runtime.urls.http;
    const event = JSON.stringify({
      source: 'x',
      'detail-type': 'Instance Unhealthy',
      detail: { provider: 'exoscale', account: 'default', location: 'ch-gva-2', instanceId: 'any' },
    });

    const outcome = (await page.evaluate(
      `(${ATTACKS})(${JSON.stringify({ dashboard, body: OVERRIDE, event })})`,
    )) as Record<string, string>;

    expect(outcome).toEqual({
      'read the dashboard page': 'blocked: TypeError',
      'no-cors text/plain POST /overrides': 'answered "opaque"',
      'no-cors text/plain POST /events': 'answered "opaque"',
      'JSON POST /overrides': 'blocked: TypeError',
      'DELETE /overrides/x with a guessed token': 'blocked: TypeError',
      'read a framed dashboard': 'read nothing',
    });
    expect(JSON.stringify(outcome)).not.toContain(runtime.apiToken);
    await new Promise((r) => setTimeout(r, 300));
    expect([await overrides(), await jobCount()]).toEqual([overridesBefore, jobsBefore]);
    await page.close();
  });

  it('a rebound name is not served: the page under it gets no dashboard and no token', async () => {
    const page = await browser.newPage();
    const port = new URL(runtime.urls.http).port;
    const answer = await page.goto(`http://${REBIND}:${port}/`);
    expect(answer?.status()).toBe(421);
    const text = await page.content();
    expect(text).not.toContain(runtime.apiToken);
    expect(text).toContain('misdirected-request');
    // Same-origin for the browser now, yet the server refuses every call under that name.
    const status = await page.evaluate(
      async (body) =>
        (await fetch('/overrides', { method: 'POST', headers: { 'content-type': 'application/json' }, body }))
          .status,
      OVERRIDE,
    );
    expect(status).toBe(421);
    await page.close();
  });
});
