import { usageKey } from '../metrics/store.ts';
import { type NotificationTarget, notificationsFromEnv } from '../notify/config.ts';
import { createNotifiers, notify } from '../notify/notifier.ts';
import type { Target } from '../runtime/accounts.ts';
import { overrideStore } from '../schedule/context.ts';
import { overrideFor } from '../schedule/overrides.ts';
import { localTime } from '../schedule/snooze.ts';
import { ownerKey, type WarnedInstance } from '../schedule/warn.ts';
import { snoozeKeys } from '../schedule/warn-key.ts';
import { noticeLinks, warningNotice } from '../schedule/warn-notice.ts';
import { pendingStops, warningStore } from '../schedule/warn-store.ts';
import { durationSeconds } from '../shared/duration.ts';
import type { Subject } from './filters/index.ts';
import type { Policy } from './policy.ts';

/**
 * A periodic policy that stops, with `warn`: the sweep that first finds an instance (idle, say)
 * does not stop it, it warns its owner with the same snooze links as a schedule's warning, and
 * the first sweep at least `warn` later stops it, unless the owner snoozed it (an override on the
 * instance) or it no longer matches. A snooze clears the pending stop, so the instance is warned
 * again before any later stop; so does a pending stop that nobody acted on for a sweep too long.
 */

export interface Match {
  target: Target;
  subject: Subject;
}

export interface WarnOutcome<M extends Match = Match> {
  /** Due and not snoozed: stop now. */
  act: M[];
  /** Warned now, waiting for its time, or snoozed: each with why it is not stopped now. */
  held: Array<M & { reason: string }>;
  /** Notices sent by this sweep: owner → delivered to which targets. */
  notices: Array<{ owner: string; instances: number; delivered: string[] }>;
}

export async function warnBeforeStopping<M extends Match>(args: {
  policy: Policy;
  matches: M[];
  now?: number;
  env?: NodeJS.ProcessEnv;
}): Promise<WarnOutcome<M>> {
  const { policy } = args;
  const warn = policy.warn!;
  const env = args.env ?? process.env;
  const now = args.now ?? Date.now();
  const pending = pendingStops(env);
  const overrides = await overrideStore(env).list();
  const out: WarnOutcome<M> = { act: [], held: [], notices: [] };
  const fresh: M[] = [];
  for (const m of args.matches) {
    const key = `${policy.name}#${usageKey(m.target, m.subject.id)}`;
    const snoozed = overrideFor(overrides, {
      schedule: policy.name,
      provider: m.target.provider,
      instanceId: m.subject.id,
      action: 'stop',
      at: new Date(now),
    });
    if (snoozed) {
      await pending.clear(key);
      out.held.push({
        ...m,
        reason: `snoozed: override ${snoozed.id} (${snoozed.kind}) until ${snoozed.until}`,
      });
      continue;
    }
    const stop = await pending.get(key);
    if (!stop) fresh.push(m);
    else if (stop.dueAt * 1000 <= now) out.act.push(m);
    else
      out.held.push({
        ...m,
        reason: `warned at ${new Date(stop.warnedAt * 1000).toISOString()}; stopped by the first sweep after ${new Date(stop.dueAt * 1000).toISOString()} unless snoozed`,
      });
  }
  if (fresh.length === 0) return out;

  // One notice per owner for the instances found this sweep.
  const dueAt = Math.floor(now / 1000) + durationSeconds(warn.before);
  const every = durationSeconds(policy.every);
  const groups = new Map<string, { owner?: string; matches: M[] }>();
  for (const m of fresh) {
    const owner = m.subject.labels[warn.ownerLabel]?.trim() || undefined;
    const key = owner ? ownerKey(owner) : 'all';
    const g = groups.get(key) ?? { ...(owner && { owner }), matches: [] };
    g.matches.push(m);
    groups.set(key, g);
  }
  const targets: NotificationTarget[] =
    warn.notifications ??
    notificationsFromEnv(env).filter((t) => !t.events || t.events.includes('schedule.warning'));
  const notifiers = createNotifiers(targets, {
    env,
    delivery: { timeoutMs: 5000, maxRetries: 1, baseDelayMs: 250 },
  });
  const publicUrl = env.FLEETFLOW_PUBLIC_URL;
  if (!publicUrl) throw new Error('FLEETFLOW_PUBLIC_URL is not set: the snooze links need the API base URL');
  const keys = await snoozeKeys(env);
  for (const [group, g] of groups) {
    const instances: WarnedInstance[] = g.matches.map((m) => ({
      ...m.target,
      instanceId: m.subject.id,
      name: m.subject.name,
    }));
    const record = await warningStore(env).open({
      kind: 'p',
      name: policy.name,
      stopAt: dueAt,
      group,
      ...(g.owner && { owner: g.owner }),
      instances,
      timezone: 'UTC',
      nextStopAt: dueAt + every,
      afterOverride: 'next-stop',
    });
    const deliveries = record.sent
      ? []
      : await notify(warningNotice(record, noticeLinks(record, keys, publicUrl), now), notifiers);
    if (deliveries.length === 0 || deliveries.some((d) => d.result.ok))
      await warningStore(env).markSent(record);
    out.notices.push({
      owner: g.owner ?? '(no owner)',
      instances: instances.length,
      delivered: deliveries.map((d) => `${d.notifier}: ${d.result.ok ? 'delivered' : d.result.error}`),
    });
    for (const m of g.matches) {
      // Kept until a sweep after it fell due: a later match starts a new warning.
      await pending.put(
        `${policy.name}#${usageKey(m.target, m.subject.id)}`,
        { warnedAt: Math.floor(now / 1000), dueAt, group },
        dueAt + every + 600,
      );
      out.held.push({
        ...m,
        reason: `warned ${g.owner ?? 'the policy’s audience'}: stopped by the first sweep after ${localTime(dueAt * 1000, 'UTC')} UTC unless snoozed`,
      });
    }
  }
  return out;
}
