import * as z from 'zod';
import { summarize } from '../../metrics/usage.ts';
import { durationSchema, durationSeconds } from '../../shared/duration.ts';
import { type Check, defineFilter } from './define.ts';

/**
 * `idle: { cpuBelow: 5%, networkBelowKBps: 10, for: 2h }`: the instance used less than these
 * over the whole of the last `for`, by the provider's own metrics (Gcore's history, or the
 * CloudStack counters fleetflow samples at each sweep). Every sample that overlaps the window
 * must be below each threshold given, and the samples must cover at least COVERAGE of the window:
 * an instance with too little history is not idle yet, and the explanation says how much there is.
 * A provider without metrics is refused when the config is read (../metrics-check.ts); should an
 * instance of one reach the filter anyway, the condition is false with that reason, never silently.
 */

/** Share of the window the samples must cover (sweeps and the provider's sampling jitter a little). */
export const COVERAGE = 0.9;
const MAX_WINDOW_SECONDS = 7 * 86_400;

const percent = z
  .union([
    z.number().positive().max(100),
    z
      .string()
      .regex(/^\d{1,3}(\.\d+)?%$/, 'a percentage such as "5%"')
      .refine((s) => Number.parseFloat(s) > 0 && Number.parseFloat(s) <= 100, 'between 0% and 100%'),
  ])
  .describe('CPU use below this, in percent of the instance (5 or "5%")');

export const idleSchema = z
  .strictObject({
    cpuBelow: percent.optional(),
    networkBelowKBps: z
      .number()
      .positive()
      .optional()
      .describe('network traffic, in and out together, below this many KiB per second'),
    for: durationSchema.describe('over this long, up to now (at most 7d)'),
  })
  .refine((v) => v.cpuBelow !== undefined || v.networkBelowKBps !== undefined, {
    message: 'give cpuBelow, networkBelowKBps or both',
  })
  .refine((v) => durationSeconds(v.for) >= 1 && durationSeconds(v.for) <= MAX_WINDOW_SECONDS, {
    message: 'for: between 1s and 7d',
    path: ['for'],
  });
export type IdleCondition = z.output<typeof idleSchema>;

export const cpuThreshold = (v: IdleCondition): number | undefined =>
  v.cpuBelow === undefined
    ? undefined
    : typeof v.cpuBelow === 'number'
      ? v.cpuBelow
      : Number.parseFloat(v.cpuBelow);

export const idleFilter = defineFilter({
  schema: idleSchema
    .optional()
    .describe(
      "used less than the thresholds over the whole window, by the provider's own metrics (providers with the metrics capability only)",
    ),
  evaluate: (value, s, now): Check[] => {
    const cpu = cpuThreshold(value);
    const network = value.networkBelowKBps;
    const window = durationSeconds(value.for);
    const wanted = [
      cpu !== undefined && `cpu < ${cpu}%`,
      network !== undefined && `network < ${network} KiB/s`,
    ].filter(Boolean);
    const head = `idle for ${value.for} (${wanted.join(', ')})`;
    // Before the usage is read (an event's identity only, a listing before the metrics call).
    if (s.usage === undefined) return [{ truth: undefined, text: `${head}: metrics not read yet` }];
    if ('unavailable' in s.usage) return [{ truth: false, text: `${head}: ${s.usage.unavailable}` }];
    // The window ends at the latest figure (a sample a sweep stored a moment ago counts), but
    // figures that stopped coming long ago say nothing about now.
    const asOf = s.usage.asOf ? Math.min(now, Date.parse(s.usage.asOf)) : now;
    const stale = now - asOf > Math.max(600, window / 10) * 1000;
    if (stale)
      return [{ truth: false, text: `${head}: the latest figures are ${span((now - asOf) / 1000)} old` }];
    const sum = summarize(s.usage.samples, window, asOf, {
      cpu: cpu !== undefined,
      network: network !== undefined,
    });
    const figures = [
      cpu !== undefined && `cpu max ${sum.cpuMaxPercent === undefined ? '?' : round(sum.cpuMaxPercent)}%`,
      network !== undefined &&
        `network max ${sum.networkMaxKBps === undefined ? '?' : round(sum.networkMaxKBps)} KiB/s`,
    ].filter(Boolean);
    const from = s.usage.source === 'provider' ? 'provider history' : 'sampled at each sweep';
    const coverage = `${sum.samples} sample${sum.samples === 1 ? '' : 's'} covering ${span(sum.coveredSeconds)} of ${span(window)}, ${from}`;
    if (sum.coveredSeconds < window * COVERAGE)
      return [
        {
          truth: false,
          text: `${head}: not enough history yet: ${coverage}${s.usage.note ? `; ${s.usage.note}` : ''}`,
        },
      ];
    const below =
      (cpu === undefined || (sum.cpuMaxPercent !== undefined && sum.cpuMaxPercent < cpu)) &&
      (network === undefined || (sum.networkMaxKBps !== undefined && sum.networkMaxKBps < network));
    return [{ truth: below, text: `${head}: ${figures.join(', ')} (${coverage})` }];
  },
});

/**
 * The longest idle window in a filter (all/any/not included), in seconds: how far back usage must
 * be read for it; undefined when the filter has no idle condition (no usage is read at all).
 */
export function usageWindow(filter: unknown): number | undefined {
  if (!filter || typeof filter !== 'object') return undefined;
  const f = filter as { idle?: IdleCondition; all?: unknown[]; any?: unknown[]; not?: unknown };
  const windows = [
    f.idle ? durationSeconds(f.idle.for) : undefined,
    ...(f.all ?? []).map(usageWindow),
    ...(f.any ?? []).map(usageWindow),
    usageWindow(f.not),
  ].filter((w): w is number => w !== undefined);
  return windows.length ? Math.max(...windows) : undefined;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** 7200 → "2h", 5400 → "1h30m", 45 → "45s". */
export function span(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const parts = [d && `${d}d`, h && `${h}h`, m && `${m}m`, r && `${r}s`].filter(Boolean);
  return parts.length ? parts.join('') : '0s';
}
