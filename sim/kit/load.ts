/**
 * What the simulated instances are doing, for the providers that report usage: each instance has
 * a load level over time (CPU percent, network KiB/s in and out together), changed with the
 * knob (`setLoad`, or `PUT /_sim/load/{id}`). From it the simulators render the provider's own
 * figures: a history sampled every `stepMs` (Gcore's instance metrics) or running counters that
 * advance with the load (CloudStack's network counters, its `cpuused`).
 *
 * An instance nobody set is `busy` from the moment the model knows it (the simulator's start, or
 * the instance's creation), unless the seeding option `idleShare` makes it idle (decided by its
 * id, so a seed gives the same fleet every time).
 */

export interface Load {
  cpuPercent: number;
  networkKBps: number;
}

export const LOAD_LEVELS = {
  idle: { cpuPercent: 1.5, networkKBps: 0.4 },
  busy: { cpuPercent: 42, networkKBps: 180 },
} as const satisfies Record<string, Load>;
export type LoadLevel = keyof typeof LOAD_LEVELS;

interface Segment {
  from: number;
  load: Load;
}

/** How much of the network traffic is reads (inbound) in the CloudStack counters. */
const READ_SHARE = 0.6;

export class LoadModel {
  private readonly segments = new Map<string, Segment[]>();

  constructor(
    private readonly options: { startedAt?: number; idleShare?: number } = {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts an instance's history (its creation); earlier figures do not exist. */
  begin(id: string, at = this.now()): void {
    if (!this.segments.has(id)) this.segments.set(id, [{ from: at, load: this.initial(id) }]);
  }

  /** Sets an instance's load from now on. */
  set(id: string, load: Load | LoadLevel, at = this.now()): Load {
    const value = typeof load === 'string' ? LOAD_LEVELS[load] : load;
    const history = this.history(id);
    history.push({ from: at, load: { ...value } });
    return value;
  }

  /** The load in effect at `t` (undefined before the instance's history begins). */
  at(id: string, t: number): Load | undefined {
    let found: Load | undefined;
    for (const s of this.history(id)) if (s.from <= t) found = s.load;
    return found;
  }

  /** Points every `stepMs` (aligned to the step) in (from, to], at most `max` of the latest. */
  series(id: string, from: number, to: number, stepMs: number, max = 2000): Array<{ t: number; load: Load }> {
    const begins = this.history(id)[0]!.from;
    const first = Math.max(Math.floor(from / stepMs) + 1, Math.ceil(begins / stepMs)) * stepMs;
    const out: Array<{ t: number; load: Load }> = [];
    for (let t = Math.max(first, to - (max - 1) * stepMs); t <= to; t += stepMs) {
      const load = this.at(id, t);
      if (load) out.push({ t, load });
    }
    return out;
  }

  /** KiB sent and received since the history began: the integral of the load, split read/write. */
  counters(id: string, to = this.now()): { readKB: number; writeKB: number } {
    const history = this.history(id);
    let total = 0;
    history.forEach((s, i) => {
      const end = Math.min(history[i + 1]?.from ?? to, to);
      if (end > s.from) total += (s.load.networkKBps * (end - s.from)) / 1000;
    });
    return { readKB: Math.floor(total * READ_SHARE), writeKB: Math.floor(total * (1 - READ_SHARE)) };
  }

  private history(id: string): Segment[] {
    this.begin(id, this.options.startedAt ?? this.now());
    return this.segments.get(id)!;
  }

  private initial(id: string): Load {
    const share = this.options.idleShare ?? 0;
    let h = 0;
    for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return LOAD_LEVELS[(h % 1000) / 1000 < share ? 'idle' : 'busy'];
  }
}

/** The knob's body: `{"level":"idle"|"busy"}` or `{"cpuPercent":n,"networkKBps":n}`. */
export function parseLoad(body: unknown): Load | LoadLevel | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.level === 'string' && Object.hasOwn(LOAD_LEVELS, b.level)) return b.level as LoadLevel;
  const cpu = b.cpuPercent;
  const net = b.networkKBps;
  if (typeof cpu === 'number' && typeof net === 'number' && cpu >= 0 && cpu <= 100 && net >= 0)
    return { cpuPercent: cpu, networkKBps: net };
  return undefined;
}
