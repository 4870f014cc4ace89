import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFrom } from '../../cli/commands/config.ts';
import { createLogger } from '../../functions/log.ts';
import type { Instance } from '../../functions/providers/port.ts';
import type { PolicyInput } from '../../functions/remediation/policy.ts';
import { providerFor, type Target } from '../../functions/runtime/accounts.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { signedHeaders } from '../../functions/webhooks/standard-webhooks.ts';
import { API_TOKEN_FILE } from '../../local/auth/data-folder.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';
import { createInstance, targetOn, unhealthy, usePolicies, waitForJob } from '../remediation/support.ts';
import { runCli } from '../support/cli.ts';

/**
 * The local HTTP API of a real `fleetflow start` (the runtime, its engine, dynalite, a simulator)
 * under the attacks a web page in the operator's browser can make: a cross-site "simple" request
 * (text/plain, a foreign Origin), a DNS-rebinding one (a foreign Host, and the Origin to match), and
 * a local process without the token. Each is sent to EVERY state-changing route the server has
 * (read from its route table, so a route added later is attacked too) and must be refused with
 * nothing changed: no job, no execution, no override, the instance still running. The same
 * requests sent the way the CLI and the dashboard send them succeed.
 */

const STOP: PolicyInput = {
  name: 'stop-unhealthy',
  mode: 'event',
  events: ['Instance Unhealthy'],
  actions: ['stop'],
  filters: { state: 'running' },
  maxTargets: 1000,
};

const root = mkdtempSync(join(tmpdir(), 'fleetflow-security-api-'));
const dataDir = join(root, '.fleetflow');
let runtime: Runtime;
let target: Target;
let victim: Instance;

beforeAll(async () => {
  // A user whose shell holds AWS session credentials (SSO, an assumed role): they must not leak
  // into the requests the runtime signs for its own endpoints.
  process.env.AWS_SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE-session-token-of-the-user';
  runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.01,
    simulator: { transitionMs: 20, operationMs: 20 },
    providers: ['exoscale'],
    env: {},
    config: configFrom('examples/fleetflow.config.yaml', true),
    scheduler: false,
    logger: createLogger({ component: 'runtime' }, 'silent'),
  });
  usePolicies([STOP]);
  target = targetOn(runtime, 'exoscale');
  victim = await createInstance(target, 'security-victim');
}, 180_000);

afterAll(async () => {
  delete process.env.FLEETFLOW_POLICIES;
  await runtime?.close();
  rmSync(root, { recursive: true, force: true });
});

const ATTACKER = 'http://attacker.example';
const REBIND = 'rebind.attacker.example';

/** A body each route would act on, were the request admitted. */
function bodyFor(path: string): string {
  if (path === '/events') return JSON.stringify(unhealthy(target, victim.id));
  if (path === '/webhooks/alert') return JSON.stringify(unhealthy(target, victim.id));
  if (path === '/overrides')
    return JSON.stringify({
      kind: 'keep-running',
      scope: { schedule: 'no-such-schedule' },
      until: '2027-11-30T00:00:00Z',
    });
  if (path === '/webhooks/provision')
    return JSON.stringify({
      provider: 'exoscale',
      zone: target.location,
      name: 'planted',
      type: 'standard.small',
      template: 'Linux Ubuntu 24.04 LTS 64-bit',
      diskSize: 10,
    });
  return '{}';
}

async function send(method: string, path: string, headers: Record<string, string>, body?: string) {
  const answer = await request(`${runtime.urls.http}${path}`, {
    method: method as 'POST',
    headers,
    ...(body !== undefined && { body }),
  });
  const text = await answer.body.text();
  return {
    status: answer.statusCode,
    text,
    code: (JSON.parse(text || '{}') as { error?: { code?: string } }).error?.code,
  };
}

/** What an attack could have changed. */
async function snapshot() {
  const jobs: string[] = [];
  for await (const job of stores().jobs.listAll({})) jobs.push(job.jobId);
  const overrides = (await (await fetch(`${runtime.urls.http}/overrides?all=true`)).json()) as {
    overrides?: unknown[];
  };
  const adapter = await providerFor(target);
  return {
    jobs: jobs.sort(),
    executions: runtime.engine.listExecutions().length,
    overrides: overrides.overrides?.length ?? 0,
    victim: (await adapter.get(victim.id)).state,
  };
}

describe('the local HTTP API under cross-site and rebinding attacks', () => {
  it('refuses every attack on every state-changing route, and nothing changes', async () => {
    const before = await snapshot();
    expect(before.victim).toBe('running');
    const host = new URL(runtime.urls.http).host;
    const mutating = runtime.httpRoutes.filter((r) => r.access !== 'read');
    // The routes the attacks used are among them, and each is guarded as it should be.
    expect(mutating.map((r) => `${r.method} ${r.path} ${r.access}`).sort()).toEqual([
      'DELETE /overrides/{id} token',
      'POST /events token',
      'POST /overrides token',
      'POST /snooze signed',
      'POST /snooze/slack signed',
      'POST /webhooks/alert signed',
      'POST /webhooks/provision signed',
    ]);

    const refused: string[] = [];
    for (const route of mutating) {
      const path = route.path.replace('{id}', 'ovr-anything');
      const body = route.method === 'DELETE' ? undefined : bodyFor(path);
      const signature =
        route.access === 'signed' && body
          ? signedHeaders({
              secrets: runtime.webhookSecret,
              id: `msg_attack_${refused.length}`,
              payload: body,
            })
          : {};
      const attacks: Array<[string, Record<string, string>, number]> = [
        // A form or fetch from another site: text/plain needs no preflight; the browser adds Origin.
        ['cross-site text/plain', { 'content-type': 'text/plain', origin: ATTACKER }, 403],
        // The same page after its name was rebound to 127.0.0.1: same-origin for the browser.
        [
          'DNS rebinding',
          {
            'content-type': 'application/json',
            host: `${REBIND}:${new URL(runtime.urls.http).port}`,
            origin: `http://${REBIND}:${new URL(runtime.urls.http).port}`,
          },
          421,
        ],
        // Even a validly signed webhook is refused from a foreign page.
        [
          'foreign Origin with JSON',
          { 'content-type': 'application/json', origin: ATTACKER, ...signature },
          403,
        ],
      ];
      if (route.access === 'token') {
        attacks.push(
          ['another local process, no token', { 'content-type': 'application/json', host }, 401],
          ['a guessed token', { 'content-type': 'application/json', authorization: 'Bearer fft_guess' }, 401],
          [
            'the token with text/plain',
            { 'content-type': 'text/plain', authorization: `Bearer ${runtime.apiToken}` },
            415,
          ],
          [
            'the token from a foreign page',
            {
              'content-type': 'application/json',
              authorization: `Bearer ${runtime.apiToken}`,
              origin: ATTACKER,
            },
            403,
          ],
        );
      }
      for (const [label, headers, status] of attacks) {
        const answer = await send(route.method, path, headers, body);
        refused.push(`${route.method} ${route.path} ${label}: ${answer.status}`);
        expect(answer.status, `${route.method} ${route.path} ${label}: ${answer.text}`).toBe(status);
      }
    }
    expect(refused.length).toBeGreaterThanOrEqual(5 * 3 + 3 * 4);

    // No route at all, reads of fleet data included, is served under a rebound name.
    const reads = runtime.httpRoutes.filter((r) => r.access === 'read');
    expect(reads.map((r) => r.path)).toEqual(expect.arrayContaining(['/', '/jobs', '/api/dashboard/fleet']));
    for (const route of reads) {
      const path = route.path.replace(/\{[^}]+\}/g, 'x');
      const answer = await send(route.method, path, { host: REBIND });
      expect([path, answer.status, answer.code]).toEqual([path, 421, 'misdirected-request']);
    }

    // Give anything wrongly started time to act, then: nothing changed.
    await new Promise((done) => setTimeout(done, 500));
    expect(await snapshot()).toEqual(before);
  });

  it('the CLI sends the token it finds in the data folder: event send works', async () => {
    const file = join(root, 'event.json');
    writeFileSync(file, JSON.stringify(unhealthy(target, victim.id)));
    const r = await runCli('event', 'send', file, '--data-dir', dataDir, '--json');
    expect(r.code, r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout) as { status: number; body: { jobs: Array<{ jobId: string }> } };
    expect(answer.status).toBe(202);
    const view = await waitForJob(runtime, answer.body.jobs[0]!.jobId);
    expect(view.job.status).toBe('SUCCEEDED');
    expect((await (await providerFor(target)).get(victim.id)).state).toBe('stopped');
    // And never to another server: a --url elsewhere gets no token.
    const elsewhere = await runCli(
      'event',
      'send',
      file,
      '--url',
      'http://127.0.0.1:9',
      '--data-dir',
      dataDir,
    );
    expect(elsewhere.code).toBe(1);
  });

  it('the dashboard page carries the token; with it, the page’s own requests change state', async () => {
    const page = await (await fetch(`${runtime.urls.http}/`)).text();
    const token = /<meta name="fleetflow-api-token" content="([^"]+)">/.exec(page)?.[1];
    expect(token).toBe(readFileSync(join(dataDir, API_TOKEN_FILE), 'utf8').trim());
    expect(token).toBe(runtime.apiToken);

    const own = new URL(runtime.urls.http).origin;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}`, origin: own };
    const set = await send('POST', '/overrides', headers, bodyFor('/overrides'));
    expect(set.status, set.text).toBe(201);
    const id = (JSON.parse(set.text) as { override: { id: string } }).override.id;
    const cleared = await send('DELETE', `/overrides/${id}`, {
      authorization: `Bearer ${token}`,
      origin: own,
    });
    expect(cleared.status, cleared.text).toBe(200);
  });

  it('the token file is the user’s alone, and no log or stored job holds the token', async () => {
    const { mode } = await import('node:fs').then((fs) => fs.statSync(join(dataDir, API_TOKEN_FILE)));
    expect(mode & 0o777).toBe(0o600);
    const stored: unknown[] = [];
    for await (const job of stores().jobs.listAll({})) stored.push(job);
    expect(JSON.stringify(stored)).not.toContain(runtime.apiToken);
  });
});
