import { ProviderError } from '../providers/errors.ts';
import type { ComputeProvider, Instance, UsageSample } from '../providers/port.ts';
import type { CounterPoint, UsageStore } from './store.ts';
import { usageKey } from './store.ts';

/**
 * An instance's usage as fleetflow knows it for one evaluation: the provider's own history
 * (Gcore), fleetflow's samples of the provider's counters (CloudStack), or why there is none.
 * Filters (the idle filter) read this; nothing here decides anything.
 */
export type UsageHistory =
  | {
      source: 'provider' | 'sampled';
      samples: UsageSample[];
      /** The end of the latest sample: the window a filter looks at ends here, not later. */
      asOf?: string;
      note?: string;
    }
  | { unavailable: string };

export interface UsageTarget {
  provider: string;
  account: string;
  location: string;
}

/**
 * Reads the usage of `instance` over the last `windowSeconds` (and a margin). For a provider that
 * keeps counters only, the reading is added to the stored samples when `record` is set (sweeps),
 * or only looked at beside them (`policy check`); without a store, one reading makes no rate.
 * A provider without metrics, or a read that fails, gives `unavailable` with the reason.
 */
export async function readUsage(args: {
  provider: ComputeProvider;
  target: UsageTarget;
  instance: Instance;
  windowSeconds: number;
  store?: UsageStore;
  record?: boolean;
  now?: number;
}): Promise<UsageHistory> {
  const { provider, instance } = args;
  const now = args.now ?? Date.now();
  const capability = provider.capabilities.metrics;
  if (!capability.supported)
    return {
      unavailable: `${provider.provider} reports no usage figures${capability.note ? ` (${capability.note})` : ''}`,
    };
  const windowMs = args.windowSeconds * 1000;
  const since = new Date(now - windowMs - Math.max(300_000, windowMs / 10));
  let reading: Awaited<ReturnType<ComputeProvider['usage']>>;
  try {
    reading = await provider.usage(instance.id, { since, seen: instance });
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    return { unavailable: `the metrics could not be read: ${error.message}` };
  }
  if (reading.kind === 'series') {
    const samples = reading.samples.filter((s) => Date.parse(s.to) > since.getTime());
    return { source: 'provider', samples, ...latest(samples) };
  }
  const point: CounterPoint = {
    at: Date.parse(reading.at),
    ...(reading.cpuPercent !== undefined && { cpu: reading.cpuPercent }),
    ...(reading.networkKB !== undefined && { kb: reading.networkKB }),
  };
  const key = usageKey(args.target, instance.id);
  let points: CounterPoint[];
  if (!args.store) points = [point];
  else if (args.record)
    // One stored point per twentieth of the window at most (at least a second, at most ten minutes).
    points = await args.store.record(key, point, {
      minSpacingMs: Math.min(600_000, Math.max(1000, windowMs / 20)),
    });
  else points = [...(await args.store.read(key)), point];
  const samples = counterSamples(points).filter((s) => Date.parse(s.to) > since.getTime());
  return {
    source: 'sampled',
    samples,
    ...latest(samples),
    ...(samples.length === 0 && {
      note: args.store
        ? `${provider.provider} keeps no history: fleetflow samples its counters at each sweep, and has ${points.length === 1 ? 'one reading' : `${points.length} readings`} so far`
        : `${provider.provider} keeps no history: fleetflow samples its counters at each sweep, and none are readable here`,
    }),
  };
}

function latest(samples: readonly UsageSample[]): { asOf?: string } {
  const ends = samples.map((s) => Date.parse(s.to));
  return ends.length ? { asOf: new Date(Math.max(...ends)).toISOString() } : {};
}

/**
 * Rates between consecutive readings: the network counter's growth per second (a counter that
 * went down was reset by a restart: that interval's network figure is unknown) and the CPU
 * figure of the later reading.
 */
export function counterSamples(points: readonly CounterPoint[]): UsageSample[] {
  const sorted = [...points].sort((a, b) => a.at - b.at);
  const out: UsageSample[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const before = sorted[i - 1]!;
    const after = sorted[i]!;
    const seconds = (after.at - before.at) / 1000;
    if (seconds <= 0) continue;
    const grew = before.kb !== undefined && after.kb !== undefined && after.kb >= before.kb;
    out.push({
      from: new Date(before.at).toISOString(),
      to: new Date(after.at).toISOString(),
      ...(after.cpu !== undefined && { cpuPercent: after.cpu }),
      ...(grew && { networkKBps: (after.kb! - before.kb!) / seconds }),
    });
  }
  return out;
}

export interface WindowSummary {
  /** Seconds of the window covered by samples that carry every figure asked for. */
  coveredSeconds: number;
  windowSeconds: number;
  /** Samples that overlap the window and carry the figures. */
  samples: number;
  cpuMaxPercent?: number;
  networkMaxKBps?: number;
}

/**
 * The samples overlapping [to - windowSeconds, to] that carry the figures asked for: how much of
 * the window they cover (their intervals merged and clipped) and the highest figure of each.
 */
export function summarize(
  samples: readonly UsageSample[],
  windowSeconds: number,
  to: number,
  needs: { cpu: boolean; network: boolean },
): WindowSummary {
  const from = to - windowSeconds * 1000;
  const usable = samples
    .map((s) => ({ s, a: Date.parse(s.from), b: Date.parse(s.to) }))
    .filter(
      ({ s, a, b }) =>
        b > from &&
        a < to &&
        (!needs.cpu || s.cpuPercent !== undefined) &&
        (!needs.network || s.networkKBps !== undefined),
    )
    .sort((x, y) => x.a - y.a);
  let covered = 0;
  let reach = from;
  for (const { a, b } of usable) {
    const start = Math.max(a, reach);
    const end = Math.min(b, to);
    if (end > start) covered += end - start;
    reach = Math.max(reach, end);
  }
  const max = (values: number[]) => (values.length ? Math.max(...values) : undefined);
  const cpu = max(usable.flatMap(({ s }) => (s.cpuPercent === undefined ? [] : [s.cpuPercent])));
  const network = max(usable.flatMap(({ s }) => (s.networkKBps === undefined ? [] : [s.networkKBps])));
  return {
    coveredSeconds: Math.round(covered / 1000),
    windowSeconds,
    samples: usable.length,
    ...(needs.cpu && cpu !== undefined && { cpuMaxPercent: cpu }),
    ...(needs.network && network !== undefined && { networkMaxKBps: network }),
  };
}
