import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod';
import { type Instance, TARGET_STATE } from '../providers/port.ts';
import { providerFor, type Target } from '../runtime/accounts.ts';
import { explainFailure } from '../runtime/failures.ts';
import { taskHandler } from '../runtime/handler.ts';
import { timeScale } from '../runtime/progress.ts';
import {
  classify,
  nextLook,
  type PageItem,
  type Pending,
  pageItems,
  type Settled,
  settle,
} from '../schedule/verify.ts';

/** How long a group's instances may take to reach their state before the rest are failed. */
export const BATCH_DEADLINE_MS = 15 * 60_000;

const input = z.object({
  jobId: z.string().min(1),
  action: z.enum(['start', 'stop']),
  /** The group's pages that still have instances to verify (all of them on the first look). */
  pages: z.array(z.string().min(1)),
  tick: z.number().int().min(0).default(0),
  deadlineAt: z.string().optional(),
  /** When the previous look wanted this one; the Wait state before it counts whole seconds only. */
  lookAt: z.iso.datetime().optional(),
});

const GONE = new Set(['error', 'deleted', 'deleting']);

/**
 * One tick of a group's wait-and-verify loop. The instances to verify are read from the job's
 * items, not from state: the pages' instances whose result the act left PENDING. Each location
 * of the pages is listed once (all pages of the listing), and each instance is recorded SUCCEEDED
 * (in the target state: verified by that read) or FAILED (act failed, never acted on, instance
 * gone or in error, operation failed, deadline passed) as soon as that is known, with its event;
 * the rest stay PENDING for the next tick. On the first look an instance the listing already
 * shows in its target state is recorded without reading its result (most of a large group).
 * Only an instance still in its starting state after the first tick costs an operation read,
 * because only then can the listing not tell "not begun yet" from "failed and reverted". The
 * workflow's Wait state does the waiting.
 */
export const handler = taskHandler('schedule-poll', input, async (event) => {
  const want = TARGET_STATE[event.action]!;
  // The rest of the wait, under one Wait-second (bounded, so a stray time never holds the look).
  const early = event.lookAt ? Date.parse(event.lookAt) - Date.now() : 0;
  if (early > 0) await sleep(Math.min(early, 1000 * timeScale()));
  const now = Date.now();
  const deadlineAt = event.deadlineAt ?? new Date(now + BATCH_DEADLINE_MS).toISOString();
  const late = now > Date.parse(deadlineAt);
  const items = await pageItems(event.jobId, event.pages);

  const listings = new Map<string, { target: Target; listed?: Map<string, Instance> }>();
  const where = (t: Target) => `${t.provider}/${t.account}/${t.location}`;
  for (const i of items)
    if (!listings.has(where(i.target))) listings.set(where(i.target), { target: i.target });
  await Promise.all(
    [...listings.values()].map(async (l) => {
      l.listed = new Map((await (await providerFor(l.target)).list()).map((x) => [x.id, x]));
    }),
  );
  const listedAt = Date.now();
  const found = (i: PageItem) => listings.get(where(i.target))?.listed?.get(i.instanceId);

  const reachedNow: Settled[] = [];
  let toClassify = items;
  if (event.tick === 0) {
    toClassify = [];
    for (const i of items) {
      const seen = found(i);
      if (seen?.state === want)
        reachedNow.push({ ...i, outcome: 'reached', found: seen.state, name: seen.name });
      else toClassify.push(i);
    }
  }
  const { pending, settled } = await classify(event.jobId, event.action, toClassify);
  await Promise.all(
    pending.map(async (p) => {
      const seen = found(p);
      if (!seen) return fail(p, 'ProviderNotFoundError', `instance ${p.instanceId} is gone`);
      p.found = seen.state;
      p.name = seen.name;
      if (seen.state === want) {
        p.outcome = 'reached';
        return;
      }
      if (GONE.has(seen.state))
        return fail(p, 'VerificationFailed', `instance is ${seen.state} after ${event.action}`);
      if (seen.state === p.state && event.tick > 0 && p.op.status === 'pending') {
        const provider = await providerFor(p.target);
        const op = await provider.operation({
          provider: p.target.provider,
          location: provider.location,
          id: p.op.id,
          action: event.action,
          instanceId: p.instanceId,
        });
        if (op.status === 'failed') return fail(p, 'ProviderOperationFailedError', op.reason);
      }
      if (late)
        fail(
          p,
          'VerificationFailed',
          `instance is ${seen.state}, not ${want}, ${BATCH_DEADLINE_MS / 60_000} minutes after ${event.action}`,
        );
    }),
  );

  const known = pending.filter((p): p is Pending & Settled => p.outcome !== 'pending');
  await settle(event.jobId, event.action, [...reachedNow, ...settled, ...known]);
  const open = pending.filter((p) => p.outcome === 'pending');
  const scale = timeScale();
  const next = nextLook({
    tick: event.tick,
    actedAt: open.map((p) => p.actedAt),
    sinceLookMs: Date.now() - listedAt,
    scale,
  });
  return {
    pages: [...new Set(open.map((p) => p.page))],
    pending: open.length,
    tick: event.tick + 1,
    deadlineAt,
    done: open.length === 0,
    waitSeconds: next.waitSeconds,
    lookAt: new Date(Date.now() + next.waitSeconds * 1000 * scale + next.restMs).toISOString(),
  };
});

function fail(p: Pending, code: string, message: string): void {
  p.outcome = 'failed';
  p.failure = explainFailure(code, message);
}
