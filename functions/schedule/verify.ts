import * as z from 'zod';
import { eventSinkFromEnv } from '../events/emitter.ts';
import { INSTANCE_STATES, type InstanceState, TARGET_STATE } from '../providers/port.ts';
import type { Target } from '../runtime/accounts.ts';
import { explainFailure } from '../runtime/failures.ts';
import { stores } from '../runtime/stores.ts';
import type { ErrorInfo } from '../store/schemas.ts';
import type { RunItem } from './plan.ts';
import { expandPage } from './work.ts';

/**
 * What a group's wait-and-verify loop reads and writes, from and to the job's items: the pages
 * say which instances the group acted on, their results say where each one stands (the act left
 * PENDING with its operation, or FAILED), and each instance's outcome is recorded once known.
 */

export type PowerAction = 'start' | 'stop';

/** One instance acted on and not yet verified. */
export interface Pending {
  page: string;
  target: Target;
  instanceId: string;
  /** Where the plan's listing saw it before the act. */
  state: InstanceState;
  op: { id: string; status: 'pending' | 'succeeded' | 'failed'; reason?: string };
  /** When the act recorded its operation (the PENDING result's time). */
  actedAt?: string;
  /** A stop's savings (from the plan), kept with the verified result. */
  hoursSaved?: number;
  saved?: number;
  outcome: 'pending' | 'reached' | 'failed';
  /** The state the last listing showed, and the instance's name (for the events). */
  found?: string;
  name?: string;
  failure?: ErrorInfo;
}

/** An instance whose outcome is known, to record. */
export type Settled = Pick<
  Pending,
  'target' | 'instanceId' | 'found' | 'name' | 'failure' | 'hoursSaved' | 'saved'
> & {
  outcome: 'reached' | 'failed';
};

const actedDetail = z.object({
  state: z.enum(INSTANCE_STATES),
  op: z.object({
    id: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    reason: z.string().optional(),
  }),
});

/** Pages read at once. */
const PAGE_READS = 8;

/** A page's instance, with the page it is on. */
export type PageItem = { page: string } & RunItem;

/** The instances of some pages, as the plan stored them. */
export async function pageItems(jobId: string, pages: readonly string[]): Promise<PageItem[]> {
  const { results } = stores().jobs;
  const items: PageItem[] = [];
  for (let i = 0; i < pages.length; i += PAGE_READS) {
    const bodies = await Promise.all(
      pages
        .slice(i, i + PAGE_READS)
        .map(async (page) => ({ page, body: await results.getWorkPage(jobId, page) })),
    );
    for (const { page, body } of bodies) {
      // A page the plan stored is never removed; a missing one is a broken run, not an empty page.
      if (body === undefined) throw new Error(`job ${jobId} has no work page ${page}`);
      for (const item of expandPage(body)) items.push({ page, ...item });
    }
  }
  return items;
}

/**
 * Where some instances stand by their results: still to verify (the act left PENDING with its
 * operation), or already known to have failed: never acted on (no result: the page's execution
 * failed before the act), or acted on with an operation that failed at once. Instances with a
 * verified or failed result are left out.
 */
export async function classify(
  jobId: string,
  action: PowerAction,
  items: readonly PageItem[],
): Promise<{ pending: Pending[]; settled: Settled[] }> {
  const recorded = await stores().jobs.results.get(
    jobId,
    items.map((i) => i.instanceId),
  );
  const pending: Pending[] = [];
  const settled: Settled[] = [];
  for (const item of items) {
    const result = recorded.get(item.instanceId);
    if (!result) {
      settled.push({
        ...item,
        outcome: 'failed',
        failure: {
          code: 'NotActedOn',
          message: `the ${action} was never made: the run's page ${item.page} ended before acting on this instance (see the execution history); the next run tries again`,
        },
      });
      continue;
    }
    if (result.status !== 'PENDING') continue;
    const detail = actedDetail.safeParse(result.detail);
    if (!detail.success) {
      settled.push({
        ...item,
        outcome: 'failed',
        failure: explainFailure('VerificationFailed', 'the act recorded no operation to follow'),
      });
      continue;
    }
    const { op } = detail.data;
    if (op.status === 'failed') {
      settled.push({
        ...item,
        outcome: 'failed',
        failure: explainFailure('ProviderOperationFailedError', op.reason),
      });
      continue;
    }
    pending.push({ ...item, op, actedAt: result.at, outcome: 'pending' });
  }
  return { pending, settled };
}

/** The shortest and longest wait between two looks, in seconds. */
export const VERIFY_WAIT = { min: 1, max: 20 } as const;

/** When a group looks again: the Wait state's whole seconds, and the real milliseconds after them. */
export interface NextLook {
  waitSeconds: number;
  /** Under one Wait-second, in real time: Step Functions waits whole seconds, the next look sleeps the rest. */
  restMs: number;
}

/**
 * When a group looks again, in the workflow's seconds. After the first look (tick 0) the
 * instances still on their way are the last ones acted on, within about one operation's duration
 * of each other: the last of them needs about as long again as the span of their act times,
 * counted from the listing (the time spent since, recording what it showed, is already waited),
 * so the next look is then (one look instead of a guessed series), to the millisecond: the whole
 * seconds are the Wait state's, the rest the next look sleeps. Later looks back off from the
 * shortest wait, ×1.5 each. `scale` is the engine's time scale (a Wait of n seconds lasts
 * n × scale), so a wait measured in real time is divided by it.
 */
export function nextLook(args: {
  tick: number;
  /** Act times of the instances still pending after this look. */
  actedAt: ReadonlyArray<string | undefined>;
  /** Real milliseconds since the listing of this look. */
  sinceLookMs?: number;
  scale?: number;
}): NextLook {
  const scale = args.scale ?? 1;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const at of args.actedAt) {
    const t = at ? Date.parse(at) : Number.NaN;
    if (!Number.isFinite(t)) continue;
    first = Math.min(first, t);
    last = Math.max(last, t);
  }
  if (args.tick === 0 && last >= first) {
    const secondMs = 1000 * scale;
    const wantMs = Math.min(
      VERIFY_WAIT.max * secondMs,
      Math.max(VERIFY_WAIT.min * secondMs, last - first - (args.sinceLookMs ?? 0)),
    );
    const waitSeconds = Math.floor(wantMs / secondMs);
    return { waitSeconds, restMs: Math.round(wantMs - waitSeconds * secondMs) };
  }
  const waitSeconds = Math.min(
    VERIFY_WAIT.max,
    Math.round(VERIFY_WAIT.min * 1.5 ** Math.max(0, args.tick - 1)),
  );
  return { waitSeconds, restMs: 0 };
}

const DONE_EVENT = { start: 'Instance Started', stop: 'Instance Stopped' } as const;

/**
 * Records known outcomes (reached: SUCCEEDED, the listing was the verifying read; else FAILED with
 * a reason a person can act on) in batches, and emits each instance's event.
 */
export async function settle(jobId: string, action: PowerAction, items: readonly Settled[]): Promise<void> {
  if (items.length === 0) return;
  const failure = (i: Settled): ErrorInfo =>
    i.failure ?? { code: 'VerificationFailed', message: 'the instance was not seen in its end state' };
  await stores().jobs.results.recordMany(
    jobId,
    items.map((i) => [
      i.instanceId,
      i.outcome === 'reached'
        ? {
            status: 'SUCCEEDED',
            provider: i.target.provider,
            instanceId: i.instanceId,
            detail: {
              action,
              state: i.found ?? TARGET_STATE[action]!,
              ...(i.hoursSaved !== undefined && { hoursSaved: i.hoursSaved }),
              ...(i.saved !== undefined && { saved: i.saved }),
            },
          }
        : {
            status: 'FAILED',
            provider: i.target.provider,
            instanceId: i.instanceId,
            detail: { action, ...(i.found && { state: i.found }) },
            error: failure(i),
          },
    ]),
  );
  await eventSinkFromEnv().emit(
    items.map((i) =>
      i.outcome === 'reached'
        ? {
            detailType: DONE_EVENT[action],
            resources: [i.instanceId],
            detail: { jobId, ...i.target, instanceId: i.instanceId, name: i.name ?? null },
          }
        : {
            detailType: 'Instance Action Failed',
            resources: [i.instanceId],
            detail: { jobId, ...i.target, instanceId: i.instanceId, action, error: failure(i) },
          },
    ),
  );
}

/** The loop itself broke (listing kept failing after retries): what is not settled fails with that error. */
export async function failUnsettled(
  jobId: string,
  action: PowerAction,
  pages: readonly string[],
  error: { Error: string; Cause?: string | undefined },
): Promise<number> {
  const { pending, settled } = await classify(jobId, action, await pageItems(jobId, pages));
  const reason = explainFailure(error.Error, error.Cause);
  const all: Settled[] = [
    ...settled,
    ...pending.map((p) => ({ ...p, outcome: 'failed' as const, failure: reason })),
  ];
  await settle(jobId, action, all);
  return all.length;
}
