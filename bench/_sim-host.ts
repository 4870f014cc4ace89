import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ProviderId } from '../functions/providers/port.ts';
import { createSimulator } from '../sim/index.ts';
import {
  SeedingNotSupportedError,
  type SeedRequest,
  type SimulatorBase,
  type SimulatorOptions,
} from '../sim/kit/index.ts';

/**
 * Provider simulators in a child process, for the fleet benches: a real provider API runs on
 * other machines, so the orchestration under test should not share its thread with the API it
 * calls. Same simulators, same HTTP; only the process differs. One JSON line per request on
 * stdin, one answer per line on stdout.
 */

type Knobs = Parameters<SimulatorBase['configure']>[0];

/** What the bench sees of a simulator in the host. */
export interface HostedSimulator {
  provider: ProviderId;
  endpoint: string;
  credentials: Record<string, string>;
  defaultLocation: string;
}

/** Requests since a mark: all, 429s, and mutations with the seconds from the first to the last. */
export interface RequestCounts {
  calls: number;
  http429: number;
  mutations: number;
  mutationSpanS: number;
}

export interface SimHost {
  start(provider: ProviderId, options: SimulatorOptions): Promise<HostedSimulator>;
  /** How many the seeding helper added, or null where the simulator has none. */
  seed(provider: ProviderId, request: SeedRequest): Promise<number | null>;
  configure(provider: ProviderId, knobs: Knobs): Promise<void>;
  mark(provider: ProviderId): Promise<number>;
  since(provider: ProviderId, mark: number): Promise<RequestCounts>;
  close(): Promise<void>;
}

export async function startSimHost(): Promise<SimHost> {
  // tsx resolved from here, not from wherever the bench was started.
  const tsx = import.meta.resolve('tsx');
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', tsx, fileURLToPath(import.meta.url), '--serve'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.once('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`the simulator host exited (code ${code})`));
    waiting.clear();
  });
  let next = 0;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const { id, result, error } = JSON.parse(line) as { id: number; result?: unknown; error?: string };
    const w = waiting.get(id);
    waiting.delete(id);
    if (error) w?.reject(new Error(error));
    else w?.resolve(result);
  });
  const call = <T>(op: string, args: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      if (child.exitCode !== null) return reject(new Error('the simulator host is gone'));
      const id = next++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  return {
    start: (provider, options) => call('start', { provider, options }),
    seed: (provider, request) => call('seed', { provider, request }),
    configure: (provider, knobs) => call('configure', { provider, knobs }),
    mark: (provider) => call('mark', { provider }),
    since: (provider, mark) => call('since', { provider, mark }),
    async close() {
      await call('close').catch(() => undefined);
      child.stdin!.end();
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}

/** The host side: runs in the child. */
async function serve(): Promise<void> {
  const sims = new Map<ProviderId, SimulatorBase>();
  const sim = (p: ProviderId) => {
    const s = sims.get(p);
    if (!s) throw new Error(`no ${p} simulator started`);
    return s;
  };
  const ops: Record<string, (m: Record<string, unknown>) => unknown> = {
    async start(m) {
      const s = await createSimulator(m.provider as ProviderId, m.options as SimulatorOptions).start();
      sims.set(s.provider, s);
      return {
        provider: s.provider,
        endpoint: s.endpoint(s.defaultLocation),
        credentials: s.credentials,
        defaultLocation: s.defaultLocation,
      };
    },
    seed(m) {
      try {
        return sim(m.provider as ProviderId).seedInstances(m.request as SeedRequest).length;
      } catch (error) {
        if (error instanceof SeedingNotSupportedError) return null;
        throw error;
      }
    },
    configure(m) {
      sim(m.provider as ProviderId).configure(m.knobs as Knobs);
      return null;
    },
    mark: (m) => sim(m.provider as ProviderId).requestLog.length,
    since(m) {
      const log = sim(m.provider as ProviderId).requestLog.slice(m.mark as number);
      const mutations = log.filter((r) => r.mutation);
      return {
        calls: log.length,
        http429: log.filter((r) => r.status === 429).length,
        mutations: mutations.length,
        mutationSpanS: mutations.length ? (mutations.at(-1)!.at - mutations[0]!.at) / 1000 : 0,
      };
    },
    async close() {
      await Promise.all([...sims.values()].map((s) => s.close()));
      return null;
    },
  };
  for await (const line of createInterface({ input: process.stdin })) {
    const m = JSON.parse(line) as { id: number; op: string } & Record<string, unknown>;
    try {
      const result = await ops[m.op]!(m);
      process.stdout.write(`${JSON.stringify({ id: m.id, result: result ?? null })}\n`);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ id: m.id, error: (error as Error).message })}\n`);
    }
  }
}

if (process.argv.includes('--serve')) await serve();
