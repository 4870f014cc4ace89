import { createHash } from 'node:crypto';
import { stores } from '../runtime/stores.ts';
import { IdempotencyInProgressError } from '../store/errors.ts';
import type { Trigger } from '../store/schemas.ts';
import { overrideStore } from './context.ts';
import type { NewOverride } from './overrides.ts';
import type { WarningRecord } from './warn-store.ts';
import type { SnoozeChoice, SnoozeClaims } from './warn-token.ts';

/**
 * What a snooze link does, and doing it. Each choice becomes the matching override (the same
 * expiring, audited overrides as `fleetflow override set`), for exactly the instances its notice
 * listed: keep running 1 h / 2 h past the stop, keep running until the next stop, or skip this
 * stop. Applying is once per warning group and choice: a second click, a resent notice's link,
 * or a mail scanner that somehow POSTs, all find the first outcome and change nothing more.
 */

/** A skipped stop's override lasts this long past the stop, so a run that starts late still sees it. */
export const SKIP_GRACE_MS = 60 * 60_000;

export interface SnoozeEffect {
  kind: 'keep-running' | 'skip-next';
  until: Date;
  /** The button's words. */
  label: string;
  /** What happens at `until` and after, in one sentence. */
  after: string;
}

/** A time as people read it in the warning's timezone: `Fri 5 Dec, 18:00`. */
export function localTime(at: Date | number, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(at);
}

export function snoozeEffect(record: WarningRecord, choice: SnoozeChoice): SnoozeEffect {
  const stop = record.stopAt * 1000;
  const when = (ms: number) => localTime(ms, record.timezone);
  const next = record.nextStopAt ? record.nextStopAt * 1000 : undefined;
  const afterKeep =
    record.kind === 'p'
      ? 'after that the policy may stop them again, after a new warning'
      : record.afterOverride === 'hourly-check'
        ? "after that the schedule's hourly check stops them"
        : `after that they stay up until the next stop${next ? ` (${when(next)})` : ''} unless someone stops them`;
  switch (choice) {
    case '1h':
    case '2h': {
      const hours = choice === '1h' ? 1 : 2;
      const until = new Date(stop + hours * 3_600_000);
      return {
        kind: 'keep-running',
        until,
        label: `Keep running ${hours} hour${hours > 1 ? 's' : ''} more`,
        after: `They keep running until ${when(until.getTime())}; ${afterKeep}.`,
      };
    }
    case 'tomorrow': {
      const until = new Date(next ?? stop + 86_400_000);
      return {
        kind: 'keep-running',
        until,
        label:
          record.kind === 'p'
            ? 'Keep running for a day'
            : `Keep running until the next stop (${when(until.getTime())})`,
        after:
          record.kind === 'p'
            ? `They keep running until ${when(until.getTime())}; ${afterKeep}.`
            : `They keep running until the next stop, ${when(until.getTime())}, and are stopped then as usual.`,
      };
    }
    case 'skip':
      return record.kind === 'p'
        ? {
            kind: 'keep-running',
            until: new Date(next ?? stop + 3_600_000),
            label: 'Not this time',
            after: `This stop leaves them alone; ${afterKeep}.`,
          }
        : {
            kind: 'skip-next',
            until: new Date(stop + SKIP_GRACE_MS),
            label: `Skip the ${when(stop)} stop`,
            after: `The ${when(stop)} stop leaves them alone; they are stopped at the next stop${next ? `, ${when(next)}` : ''}.`,
          };
  }
}

export interface SnoozeOutcome {
  /** false: this group and choice were applied before; nothing more was done now. */
  applied: boolean;
  effect: { kind: SnoozeEffect['kind']; until: string; after: string };
  overrides: string[];
  instances: string[];
  name: string;
  stopAt: string;
}

export class SnoozeBusyError extends Error {
  override name = 'SnoozeBusyError';
}

/**
 * Creates the overrides a verified token asks for, once. `who` names the clicker as far as it is
 * known: the owner the notice was issued to, or the Slack user who pressed the button.
 */
export async function applySnooze(
  claims: SnoozeClaims,
  record: WarningRecord,
  who: { actor: string; via: string },
): Promise<SnoozeOutcome> {
  const effect = snoozeEffect(record, claims.c);
  const summary = {
    effect: { kind: effect.kind, until: effect.until.toISOString(), after: effect.after },
    instances: record.wholeSchedule
      ? [`every instance of ${record.name}`]
      : record.instances.map((i) => i.name),
    name: record.name,
    stopAt: new Date(record.stopAt * 1000).toISOString(),
  };
  const key = `snooze#${createHash('sha256').update(`${record.kind}#${record.name}#${record.stopAt}#${record.group}#${claims.c}`).digest('hex')}`;
  const { idempotency } = stores();
  let begun: Awaited<ReturnType<typeof idempotency.begin<{ overrides: string[] }>>>;
  try {
    begun = await idempotency.begin<{ overrides: string[] }>(key, 'snooze', {
      expiresInSeconds: Math.max(3600, Math.ceil((effect.until.getTime() - Date.now()) / 1000) + 86_400),
      inProgressMs: 60_000,
    });
  } catch (error) {
    if (error instanceof IdempotencyInProgressError)
      throw new SnoozeBusyError('this snooze is being applied right now; reload the page in a moment', {
        cause: error,
      });
    throw error;
  }
  if (begun.state === 'replay') return { applied: false, overrides: begun.result.overrides, ...summary };
  const trigger: Trigger = {
    type: 'snooze-link',
    actor: who.actor.slice(0, 256),
    source: `${who.via}; warning of ${record.name} for the stop at ${summary.stopAt}`.slice(0, 1024),
  };
  const reason = `snooze link (${effect.label.toLowerCase()}) from the warning for the ${summary.stopAt} stop`;
  const base = {
    kind: effect.kind,
    until: effect.until.toISOString(),
    reason,
    ...(effect.kind === 'skip-next' && { action: 'stop' as const }),
  };
  const wanted: NewOverride[] = record.wholeSchedule
    ? [{ ...base, scope: { schedule: record.name } }]
    : record.instances.map((i) => ({
        ...base,
        scope: {
          ...(record.kind === 's' && { schedule: record.name }),
          provider: i.provider,
          instanceId: i.instanceId,
        },
      }));
  const ids: string[] = [];
  try {
    for (const o of wanted) ids.push((await overrideStore().set(o, trigger)).id);
  } catch (error) {
    await idempotency.fail(key);
    throw error;
  }
  await idempotency.complete(
    key,
    { overrides: ids },
    {
      expiresInSeconds: Math.max(3600, Math.ceil((effect.until.getTime() - Date.now()) / 1000) + 86_400),
    },
  );
  return { applied: true, overrides: ids, ...summary };
}
