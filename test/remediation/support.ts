import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../functions/log.ts';
import type { Instance, ProviderId } from '../../functions/providers/port.ts';
import { providerDefinition } from '../../functions/providers/registry.ts';
import { waitForOperation, waitForState } from '../../functions/providers/wait.ts';
import type { PolicyInput } from '../../functions/remediation/policy.ts';
import { providerFor, type Target } from '../../functions/runtime/accounts.ts';
import { stores } from '../../functions/runtime/stores.ts';
import type { AuditEvent } from '../../functions/store/audit.ts';
import { isTerminal, type Job } from '../../functions/store/jobs.ts';
import { signedHeaders } from '../../functions/webhooks/standard-webhooks.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';
import { CONTRACT_FIXTURES } from '../contract/fixtures.ts';

/** One embedded runtime per test file: synthesized app on the local engine, dynalite, every simulator. */
export async function startRemediationRuntime(): Promise<{ runtime: Runtime; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-remediation-'));
  const runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.01,
    simulator: { transitionMs: 20, operationMs: 20 },
    logger: createLogger({ level: 'silent' }),
    scheduler: false,
  });
  return {
    runtime,
    close: async () => {
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The policies the handlers read (they run in this process, like the runtime). */
export function usePolicies(policies: PolicyInput[]): void {
  process.env.FLEETFLOW_POLICIES = JSON.stringify(policies);
}

export function targetOn(runtime: Runtime, provider: ProviderId): Target {
  const sim = runtime.simulators[provider];
  if (!sim) throw new Error(`no simulator for ${provider}`);
  return { provider, account: 'default', location: sim.defaultLocation };
}

/** Creates a running instance of the contract fixture's shape with this name, through the adapter. */
export async function createInstance(
  target: Target,
  name: string,
  extra: { labels?: Record<string, string>; type?: string } = {},
): Promise<Instance> {
  const def = providerDefinition(target.provider);
  const adapter = await providerFor(target);
  const spec = CONTRACT_FIXTURES[def.id].createSpec;
  const labels = def.capabilities.labels.supported ? (extra.labels ?? {}) : {};
  const op = await waitForOperation(
    adapter,
    await adapter.create({ ...spec, name, ...(extra.type && { type: extra.type }), labels }),
    { intervalMs: 10, timeoutMs: 20_000 },
  );
  const id = op.status === 'succeeded' ? (op.resourceId ?? op.instanceId) : undefined;
  if (!id) throw new Error(`create of ${name} gave no instance id`);
  await waitForState(adapter, id, 'running', { intervalMs: 10, timeoutMs: 20_000 });
  return adapter.get(id);
}

export interface HttpAnswer {
  status: number;
  json: unknown;
  text: string;
}

async function answer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

export function unhealthy(
  target: Target,
  instanceId: string,
  detailType = 'Instance Unhealthy',
): Record<string, unknown> {
  return {
    source: 'monitoring',
    'detail-type': detailType,
    detail: { ...target, instanceId, reason: 'health check failed' },
  };
}

let ids = 0;
export async function sendAlert(
  runtime: Runtime,
  body: unknown,
  options: { id?: string; secret?: string } = {},
): Promise<HttpAnswer> {
  const payload = JSON.stringify(body);
  const headers = {
    'content-type': 'application/json',
    ...signedHeaders({
      secrets: options.secret ?? runtime.webhookSecret,
      id: options.id ?? `msg_alert_${process.pid}_${++ids}`,
      payload,
    }),
  };
  return answer(
    await fetch(`${runtime.urls.http}/webhooks/alert`, { method: 'POST', headers, body: payload }),
  );
}

export async function postEvent(runtime: Runtime, body: unknown): Promise<HttpAnswer> {
  return answer(
    await fetch(`${runtime.urls.http}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${runtime.apiToken}` },
      body: JSON.stringify(body),
    }),
  );
}

export interface JobView {
  job: Job;
  audit: AuditEvent[];
}

/** Waits until the job is terminal and its execution ended, then returns it with its audit trail. */
export async function waitForJob(runtime: Runtime, jobId: string, timeoutMs = 90_000): Promise<JobView> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await answer(await fetch(`${runtime.urls.http}/jobs/${jobId}`));
    if (res.status === 200) {
      const view = res.json as JobView;
      const execution = runtime.engine.listExecutions().find((e) => e.name === jobId);
      if (isTerminal(view.job.status) && execution?.status !== 'RUNNING') return view;
    }
    if (Date.now() > until)
      throw new Error(`job ${jobId} not finished after ${timeoutMs} ms: ${res.text.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const stepLine = (job: Job) => job.steps.map((s) => `${s.name}:${s.status}`);
/** `action:ok|error` per audited provider call, in order. */
export const auditLine = (view: JobView) =>
  view.audit
    .filter((e) => e.kind === 'intent')
    .map(
      (e) =>
        `${e.action}:${view.audit.some((o) => o.kind === 'outcome' && (o as { intentSeq?: number }).intentSeq === e.seq && !('error' in ((o as { result?: object }).result ?? {}))) ? 'ok' : 'error'}`,
    );

/** The job's hash chain verifies and every intent has its outcome. */
export async function expectAuditComplete(view: JobView): Promise<void> {
  const report = await stores().audit.verify({ jobId: view.job.jobId });
  if (!report.ok) throw new Error(`audit chain broken: ${JSON.stringify(report.firstBroken)}`);
  if (report.pendingIntents.length > 0)
    throw new Error(`intents without outcome: ${JSON.stringify(report.pendingIntents)}`);
  if (report.checked !== view.audit.length)
    throw new Error(`audit: ${report.checked} checked, ${view.audit.length} listed`);
}
