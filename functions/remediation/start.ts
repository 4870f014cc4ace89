import { createHash } from 'node:crypto';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Target } from '../runtime/accounts.ts';
import { stores } from '../runtime/stores.ts';
import { durationSeconds } from '../shared/duration.ts';
import { IdempotencyInProgressError, JobConflictError } from '../store/errors.ts';
import type { Trigger } from '../store/schemas.ts';
import type { RemediationEvent } from './events.ts';
import { evaluateFilter } from './filters/index.ts';
import type { LoadedPolicy } from './source.ts';

export const REMEDIATE_MACHINE = 'remediate';
export const SWEEP_MACHINE = 'remediation-sweep';

let sfn: SFNClient | undefined;

export class RemediationStartError extends Error {
  override name = 'RemediationStartError';
}

/** What caused a remediation: an event (its detail-type and reason) or a sweep (its job). */
export interface Cause {
  detailType?: string;
  reason?: string;
  sweepJobId?: string;
}

/**
 * A remediation's job id: one policy, one instance, one dedupe window, named by the moment the
 * window opened. It names both the job and the execution, so StartExecution refuses a second
 * execution for the same window; the cooldown then stops the next window from acting again.
 */
export function remediationJobId(
  policy: string,
  target: Target,
  instanceId: string,
  windowStart: number,
): string {
  const key = JSON.stringify([
    policy,
    target.provider,
    target.account,
    target.location,
    instanceId,
    windowStart,
  ]);
  return `rem-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

/** Fixed, epoch-aligned windows: what a periodic sweep uses to name one job per period. */
export function windowStart(seconds: number, now: number): number {
  return Math.floor(now / 1000 / seconds) * seconds;
}

/** The claim that opens an instance's dedupe window, and what it holds. */
const WINDOW_HASH = 'remediation-window';
interface OpenWindow {
  jobId: string;
  /** Epoch seconds the window opened: the first event's time. */
  openedAt: number;
}
/** A window claim still unkept after this long was cut short by a crash: a duplicate finishes the start. */
const STALE_START_MS = 30_000;

export interface Started {
  policy: string;
  jobId: string;
  /** false: a duplicate of a remediation already started in this window. */
  started: boolean;
}

/** Starts one remediation (policy × instance), at most once per dedupe window. */
export async function startRemediation(args: {
  loaded: LoadedPolicy;
  target: Target;
  instanceId: string;
  trigger: Trigger;
  cause: Cause;
  now?: number;
  stateMachineArn?: string;
}): Promise<Started> {
  const { policy, raw } = args.loaded;
  const now = args.now ?? Date.now();
  const seconds = durationSeconds(policy.dedupeWindow);
  const { jobs, idempotency } = stores();
  // The window opens at the first event and lasts `dedupeWindow` (a sliding anchor, not a clock
  // boundary: a storm that straddles a boundary is still one remediation). The claim holds the
  // job id, so every duplicate — concurrent or later — answers with the same job.
  const windowKey = `remediation-window:${remediationJobId(policy.name, args.target, args.instanceId, 0)}`;
  const opened = await openWindow(windowKey, now, seconds);
  const { jobId } = opened.window;
  const window = opened.window.openedAt;
  if (!opened.first) {
    // A window whose first start was cut short (a crash between the claim and the start) is
    // started by the next duplicate; the start is idempotent by job id and execution name.
    const job = await jobs.get(jobId);
    const stale = now - window * 1000 > STALE_START_MS;
    if (!stale || (job && (job.executionArn || job.status !== 'QUEUED')))
      return { policy: policy.name, jobId, started: false };
  }
  return start();

  async function openWindow(
    key: string,
    at: number,
    windowSeconds: number,
  ): Promise<{ first: boolean; window: OpenWindow }> {
    const candidate: OpenWindow = {
      openedAt: Math.floor(at / 1000),
      jobId: remediationJobId(policy.name, args.target, args.instanceId, Math.floor(at / 1000)),
    };
    // The claim is in progress only between its put and its completion (two writes), so a
    // concurrent duplicate waits a moment for the job id instead of guessing one.
    for (let attempt = 0; ; attempt++) {
      try {
        const begun = await idempotency.begin<OpenWindow>(key, WINDOW_HASH, {
          expiresInSeconds: windowSeconds,
          inProgressMs: 10_000,
        });
        if (begun.state === 'replay') return { first: false, window: begun.result };
        await idempotency.complete(key, candidate, { expiresInSeconds: windowSeconds });
        return { first: true, window: candidate };
      } catch (error) {
        if (!(error instanceof IdempotencyInProgressError) || attempt >= 50) throw error;
        await new Promise((r) => setTimeout(r, 20 + attempt * 10));
      }
    }
  }

  async function start(): Promise<Started> {
    const request = {
      policy: policy.name,
      target: args.target,
      instanceId: args.instanceId,
      window: new Date(window * 1000).toISOString(),
      dryRun: policy.dryRun,
      ...(args.cause.detailType && { detailType: args.cause.detailType }),
    };
    try {
      const job = await jobs.create({ jobId, kind: 'remediation', trigger: args.trigger, request });
      if (job.executionArn || job.status !== 'QUEUED') return { policy: policy.name, jobId, started: false };
    } catch (error) {
      // The same window's job, made by another trigger (webhook vs EventBridge): a duplicate.
      if (error instanceof JobConflictError) return { policy: policy.name, jobId, started: false };
      throw error;
    }
    const stateMachineArn = args.stateMachineArn ?? process.env.FLEETFLOW_REMEDIATE_STATE_MACHINE_ARN;
    if (!stateMachineArn) throw new RemediationStartError('FLEETFLOW_REMEDIATE_STATE_MACHINE_ARN is not set');
    sfn ??= new SFNClient({});
    try {
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn,
          name: jobId,
          input: JSON.stringify({
            jobId,
            trigger: args.trigger,
            policy: raw,
            target: args.target,
            instanceId: args.instanceId,
            cause: args.cause,
          }),
        }),
      );
      if (executionArn) await jobs.setExecutionArn(jobId, executionArn).catch(() => undefined);
      return { policy: policy.name, jobId, started: true };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists) return { policy: policy.name, jobId, started: false };
      await jobs
        .transition(jobId, 'FAILED', {
          error: { code: 'StartFailed', message: 'the remediation workflow could not be started' },
        })
        .catch(() => undefined);
      throw new RemediationStartError(`could not start remediation job ${jobId}`, { cause: error });
    }
  }
}

export interface EventOutcome {
  /** Policies that react to the event and may match the instance, each with its job. */
  jobs: Started[];
  /** Policies listening to the detail-type that cannot match this instance, with why. */
  notMatching: Array<{ policy: string; reason: string }>;
}

/**
 * Routes one event to the event-mode policies that listen to its detail-type and whose filters
 * can still match the instance's identity (provider, account, location); everything else is
 * decided by the workflow on the instance as read from the provider.
 */
export async function remediateEvent(
  event: RemediationEvent,
  trigger: Trigger,
  policies: LoadedPolicy[],
  now = Date.now(),
): Promise<EventOutcome> {
  const d = event.detail;
  const target: Target = { provider: d.provider, account: d.account, location: d.location };
  const outcome: EventOutcome = { jobs: [], notMatching: [] };
  for (const loaded of policies) {
    const { policy } = loaded;
    if (policy.mode !== 'event' || !policy.events?.includes(event['detail-type'])) continue;
    const early = evaluateFilter(policy.filters, { ...target, id: undefined });
    if (early.match === false) {
      outcome.notMatching.push({
        policy: policy.name,
        reason: early.reasons.filter((r) => r.startsWith('✗')).join('; '),
      });
      continue;
    }
    outcome.jobs.push(
      await startRemediation({
        loaded,
        target,
        instanceId: d.instanceId,
        trigger,
        cause: { detailType: event['detail-type'], ...(d.reason && { reason: d.reason }) },
        now,
      }),
    );
  }
  return outcome;
}

/** Starts a sweep of one periodic policy (the sweep workflow names its own job per window). */
export async function startSweep(args: {
  loaded: LoadedPolicy;
  scope: unknown;
  trigger: Trigger;
  stateMachineArn?: string;
}): Promise<{ executionArn?: string }> {
  const stateMachineArn = args.stateMachineArn ?? process.env.FLEETFLOW_SWEEP_STATE_MACHINE_ARN;
  if (!stateMachineArn) throw new RemediationStartError('FLEETFLOW_SWEEP_STATE_MACHINE_ARN is not set');
  sfn ??= new SFNClient({});
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn,
      input: JSON.stringify(sweepInput(args.loaded, args.scope, args.trigger)),
    }),
  );
  return executionArn ? { executionArn } : {};
}

/** The sweep workflow's input; also what EventBridge Scheduler sends on AWS. */
export function sweepInput(loaded: LoadedPolicy, scope: unknown, trigger: Trigger): Record<string, unknown> {
  return { policy: loaded.raw, scope, trigger };
}
