import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/log.ts';
import type { Instance } from '../../functions/providers/port.ts';
import { policySetFrom } from '../../functions/remediation/source.ts';
import { startSweep } from '../../functions/remediation/start.ts';
import { providerFor } from '../../functions/runtime/accounts.ts';
import { overrideStore } from '../../functions/schedule/context.ts';
import { generateSecret } from '../../functions/webhooks/standard-webhooks.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';
import { createInstance, targetOn, waitForJob } from '../remediation/support.ts';

/**
 * An idle-stop policy with `warn` on the local engine with the Gcore simulator: the sweep that
 * finds an idle instance warns its owner (the same signed snooze links as a schedule's warning)
 * instead of stopping it; a later sweep stops it once the warning's time has passed, unless the
 * owner pressed "keep running", in which case it stays up and is warned again before any stop.
 */

let runtime: Runtime;
let dataDir: string;
let server: Server;
let receiver: string;
const notices: Array<{
  data: { owner?: string; instances: Array<{ name: string }>; links: Record<string, { url: string }> };
}> = [];
const fleet: Record<string, Instance> = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      notices.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  process.env.TEST_IDLE_WARN_SECRET = generateSecret();
  dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-idle-warn-'));
  runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.01,
    simulator: { transitionMs: 20, operationMs: 20, fleetSize: 1, metricsStepMs: 100 },
    providers: ['gcore'],
    env: {},
    logger: createLogger({ level: 'silent' }),
    scheduler: false,
  });
  const target = targetOn(runtime, 'gcore');
  for (const name of ['keep', 'stop']) {
    fleet[name] = await createInstance(target, `warned-${name}`, {
      labels: { owner: `${name}@example.com` },
    });
    runtime.simulators.gcore!.setLoad(fleet[name]!.id, 'idle');
  }
}, 120_000);

afterAll(async () => {
  await runtime?.close();
  await new Promise<void>((r) => server?.close(() => r()));
  rmSync(dataDir, { recursive: true, force: true });
  delete process.env.TEST_IDLE_WARN_SECRET;
});

const policy = () => ({
  name: 'idle-warn',
  mode: 'periodic',
  every: '1s',
  scope: [{ provider: 'gcore', locations: [targetOn(runtime, 'gcore').location] }],
  filters: { name: 'warned-*', state: 'running', idle: { cpuBelow: 5, for: '1s' } },
  actions: ['stop'],
  maxTargets: 2,
  warn: {
    before: '10s',
    notifications: [{ type: 'webhook', url: receiver, secretEnv: 'TEST_IDLE_WARN_SECRET' }],
  },
});

async function sweep() {
  const [loaded] = policySetFrom({ policies: [policy()] }).policies;
  const { executionArn } = await startSweep({
    loaded: loaded!,
    scope: loaded!.policy.scope,
    trigger: { type: 'test', actor: 'vitest' },
  });
  const execution = await runtime.engine.waitForExecution(executionArn!);
  expect(execution.status, execution.cause).toBe('SUCCEEDED');
  return waitForJob(runtime, (JSON.parse(execution.output!) as { sweep: { jobId: string } }).sweep.jobId);
}

const state = async (name: string) =>
  (await (await providerFor(targetOn(runtime, 'gcore'))).get(fleet[name]!.id)).state;
const reason = (view: Awaited<ReturnType<typeof sweep>>, name: string) =>
  (view.job.results[fleet[name]!.id]?.detail as { reason?: string } | undefined)?.reason ?? '';

describe('an idle-stop policy with warn', () => {
  it('warns first, stops later, and leaves a snoozed instance running', async () => {
    // Sweep until both are idle long enough: they are warned, not stopped.
    // The two may turn idle a sweep apart: sweep until both are warned (the first one's stop is then
    // pending, with its own wording), well inside the warning's 10 s.
    const warned = (v: Awaited<ReturnType<typeof sweep>>) =>
      reason(v, 'keep').startsWith('warned') && reason(v, 'stop').startsWith('warned');
    let view = await sweep();
    for (let i = 0; i < 6 && !warned(view); i++) {
      await new Promise((r) => setTimeout(r, 1100));
      view = await sweep();
    }
    for (const name of ['keep', 'stop'])
      expect(reason(view, name)).toMatch(
        new RegExp(
          `^warned (${name}@example\\.com: stopped by the first sweep after .* UTC|at \\S+; stopped by the first sweep after \\S+) unless snoozed$`,
        ),
      );
    expect(await state('keep')).toBe('running');
    expect(notices.map((n) => n.data.owner).sort()).toEqual(['keep@example.com', 'stop@example.com']);

    // The owner of "keep" presses "Keep running 1 hour more".
    const link = notices.find((n) => n.data.owner === 'keep@example.com')!.data.links['1h']!.url;
    const res = await fetch(`${runtime.urls.http}/snooze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ t: new URL(link).searchParams.get('t') }),
    });
    expect(res.status).toBe(201);
    const [override] = (await overrideStore().list()).filter((o) => o.scope.instanceId === fleet.keep!.id);
    expect(override).toMatchObject({
      kind: 'keep-running',
      createdBy: 'owner:keep@example.com',
      scope: { provider: 'gcore' },
    });

    // Past the warning's time: "stop" is stopped, "keep" is left alone, saying why.
    await new Promise((r) => setTimeout(r, 10_100));
    const later = await sweep();
    expect(reason(later, 'keep')).toMatch(/^snoozed: override ovr-\w+ \(keep-running\) until /);
    const child = await waitForJob(
      runtime,
      (later.job.results[fleet.stop!.id]!.detail as { remediationJobId: string }).remediationJobId,
    );
    expect(child.job.status, JSON.stringify(child.job.error)).toBe('SUCCEEDED');
    expect(await state('stop')).toBe('stopped');
    expect(await state('keep')).toBe('running');
    expect(notices).toHaveLength(2);
  }, 90_000);
});
