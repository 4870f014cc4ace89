import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { Instance, ProviderId } from '../../../functions/providers/port.ts';
import { providerDefinition } from '../../../functions/providers/registry.ts';
import {
  type ProvisionRequest,
  provisionRequestSchema,
  targetOf,
} from '../../../functions/provisioning/request.ts';
import { jobIdFor } from '../../../functions/provisioning/start.ts';
import { providerFor, type Target } from '../../../functions/runtime/accounts.ts';
import { stores } from '../../../functions/runtime/stores.ts';
import type { AuditEvent, PendingIntent } from '../../../functions/store/audit.ts';
import { isTerminal, type Job, type JobWithResults } from '../../../functions/store/jobs.ts';
import { signedHeaders } from '../../../functions/webhooks/standard-webhooks.ts';
import type { Runtime } from '../../../local/runtime.ts';
import type { SimulatorBase } from '../../../sim/kit/index.ts';
import { CONTRACT_FIXTURES } from '../../contract/fixtures.ts';

/** What `GET /jobs/{id}` answers. */
export interface JobView {
  job: JobWithResults;
  audit: AuditEvent[];
  pendingIntents: PendingIntent[];
}

export interface HttpAnswer {
  status: number;
  text: string;
  json: unknown;
}

/** A webhook id that is unique per call and valid as an execution name. */
export function webhookId(label: string): string {
  return `msg_${label}_${randomUUID().slice(0, 8)}`;
}

/**
 * A provisioning request for one provider, built from its contract fixture (test/contract/fixtures.ts) (type and
 * template names its simulator knows) and its simulator's default location in the provider's own
 * location fields.
 */
export function requestFor(
  provider: ProviderId,
  sim: SimulatorBase,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const def = providerDefinition(provider);
  const spec = CONTRACT_FIXTURES[def.id].createSpec;
  const location = locationFields(provider, sim.defaultLocation);
  return {
    provider,
    ...location,
    name: spec.name,
    type: spec.type,
    template: spec.template,
    ...(spec.diskSize && { diskSize: Math.max(spec.diskSize, 10) }),
    ...(spec.sshKey && { sshKey: spec.sshKey }),
    ...(spec.userData && { userData: spec.userData }),
    ...(typeof spec.extra?.network === 'string' && { network: spec.extra.network }),
    labels: { team: 'e2e' },
    ...(def.capabilities.snapshot.supported && { snapshot: { name: `${spec.name}-base` } }),
    scaleTo: CONTRACT_FIXTURES[def.id].scaleTo,
    onFailure: 'delete',
    ...overrides,
  };
}

function locationFields(provider: ProviderId, location: string): Record<string, unknown> {
  switch (provider) {
    case 'gcore': {
      const [project, region] = location.split('/').map(Number);
      return { project, region };
    }
    case 'cloudca': {
      const [serviceCode, environment] = location.split('/');
      return { serviceCode, environment };
    }
    case 'genesiscloud':
      return { region: location };
    default:
      return { zone: location };
  }
}

/** The adapter target a request names, as the workflow computes it. */
export function targetFor(request: Record<string, unknown>): Target {
  return targetOf(provisionRequestSchema.parse(request) as ProvisionRequest);
}

/** POSTs a body to /webhooks/provision, signed as Standard Webhooks asks unless told otherwise. */
export async function sendWebhook(
  runtime: Runtime,
  body: unknown,
  options: {
    id?: string;
    timestamp?: number;
    secret?: string;
    headers?: Record<string, string>;
    unsigned?: boolean;
    raw?: string;
  } = {},
): Promise<HttpAnswer & { sent: Record<string, string> }> {
  const payload = options.raw ?? JSON.stringify(body);
  const id = options.id ?? webhookId('e2e');
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(options.unsigned
      ? {}
      : signedHeaders({
          secrets: options.secret ?? runtime.webhookSecret,
          id,
          ...(options.timestamp !== undefined && { timestamp: options.timestamp }),
          payload,
        })),
    ...options.headers,
  };
  const res = await fetch(`${runtime.urls.http}/webhooks/provision`, {
    method: 'POST',
    headers,
    body: payload,
  });
  return { ...(await answer(res)), sent: headers };
}

export async function httpGet(runtime: Runtime, path: string): Promise<HttpAnswer> {
  return answer(await fetch(`${runtime.urls.http}${path}`));
}

async function answer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** Sends a request and expects the 202 with the job id derived from the webhook id. */
export async function provision(runtime: Runtime, request: unknown, id = webhookId('e2e')): Promise<string> {
  const res = await sendWebhook(runtime, request, { id });
  expect(res.status, res.text).toBe(202);
  const jobId = jobIdFor(id);
  expect(res.json).toEqual({ jobId, statusUrl: `/jobs/${jobId}` });
  return jobId;
}

export async function jobView(runtime: Runtime, jobId: string): Promise<JobView> {
  const res = await httpGet(runtime, `/jobs/${jobId}`);
  expect(res.status, res.text).toBe(200);
  return res.json as JobView;
}

/**
 * Polls GET /jobs/{id} until the job is terminal and its execution has ended (so nothing is
 * still being written when the test looks). Generous: the machines are shared.
 */
export async function waitForJob(runtime: Runtime, jobId: string, timeoutMs = 90_000): Promise<JobView> {
  const until = Date.now() + timeoutMs;
  let last: JobView | undefined;
  for (;;) {
    last = await jobView(runtime, jobId);
    if (isTerminal(last.job.status)) {
      const execution = runtime.engine.listExecutions().find((e) => e.name === jobId);
      if (execution?.status !== 'RUNNING') return jobView(runtime, jobId);
    }
    if (Date.now() > until) {
      throw new Error(
        `job ${jobId} still ${last.job.status} after ${timeoutMs} ms; steps: ${JSON.stringify(last.job.steps.map((s) => `${s.name}:${s.status}`))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until `check` holds for the job (e.g. a step has started). */
export async function waitForJobState(
  runtime: Runtime,
  jobId: string,
  check: (view: JobView) => boolean,
  timeoutMs = 60_000,
): Promise<JobView> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const view = await jobView(runtime, jobId);
    if (check(view)) return view;
    if (Date.now() > until)
      throw new Error(`job ${jobId} never reached the expected state; now ${view.job.status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `name:STATUS` for each step, in order, for readable assertions. */
export function stepLine(job: Job): string[] {
  return job.steps.map((s) => `${s.name}:${s.status}`);
}

/**
 * A complete audit trail: the chain verifies, every intent of the job has its outcome (as the
 * answer's pendingIntents and the verifier both say), and every outcome points at an intent.
 */
export async function expectCompleteAudit(
  view: JobView,
  options: { pendingAllowed?: boolean } = {},
): Promise<void> {
  const jobId = view.job.jobId;
  const report = await stores().audit.verify({ jobId });
  expect(report.ok, JSON.stringify(report.firstBroken)).toBe(true);
  expect(report.checked).toBe(view.audit.length);
  if (!options.pendingAllowed) {
    expect(view.pendingIntents).toEqual([]);
    expect(report.pendingIntents).toEqual([]);
  }
  const intents = new Set(view.audit.filter((e) => e.kind === 'intent').map((e) => e.seq));
  for (const event of view.audit.filter((e) => e.kind === 'outcome'))
    expect(intents.has(event.intentSeq!)).toBe(true);
  for (const event of view.audit) expect(event.jobId).toBe(jobId);
}

/** `action → outcome` pairs in chain order: `create:ok`, `delete:ok`, `create:error:Name`. */
export function auditLine(view: JobView): string[] {
  const byIntent = new Map(view.audit.filter((e) => e.kind === 'outcome').map((e) => [e.intentSeq, e]));
  return view.audit
    .filter((e) => e.kind === 'intent')
    .map((intent) => {
      const outcome = byIntent.get(intent.seq);
      if (!outcome) return `${intent.action}:pending`;
      const error = (outcome.result as { error?: { name?: string } } | undefined)?.error;
      return error ? `${intent.action}:error:${error.name}` : `${intent.action}:ok`;
    });
}

/** The live (not deleted) instances with this name, read through the adapter. */
export async function liveInstancesNamed(target: Target, name: string): Promise<Instance[]> {
  const provider = await providerFor(target);
  const all = await provider.list({ name });
  return all.filter((i) => i.state !== 'deleted' && i.state !== 'deleting');
}

/** Every instance with this name, whatever its state. */
export async function instancesNamed(target: Target, name: string): Promise<Instance[]> {
  const provider = await providerFor(target);
  return provider.list({ name });
}
