import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { AuditLog, type AuditLogOptions } from '../functions/store/audit.ts';
import { auditKeyring } from '../functions/store/audit-keys.ts';
import { createDynamo, ensureTables, localDynamoConfig } from '../functions/store/dynamo.ts';
import { tableNames } from '../functions/store/tables.ts';
import { type LocalDynamo, startDynalite } from '../local/store/dynalite.ts';
import { hasJava, startDynamoDbLocal } from '../local/store/dynamodb-local.ts';

/**
 * `npm run bench -- store [--appends N] [--chains N] [--per-chain N] [--instances 1,100,1000] [--concurrency 40]`
 *
 * Audit appends (the keyed, hash-chained conditional PutItem every provider change costs twice:
 * intent and outcome) on dynalite and on DynamoDB Local: one chain written sequentially, many
 * chains written concurrently, and ONE JOB acting on 1, 100 and 1,000 instances with the act Map's
 * concurrency (40, an Inline Map's most), from one process (the local runtime) and from one writer
 * per worker (Lambda: a container per concurrent iteration, no shared head cache). The bounds come from what an append sits next to — a provider API call
 * of 100 ms or more — so an append must stay a small fraction of it, and they are tied together by
 * Little's law (in flight = rate × latency):
 *   - one chain (one append in flight): ≥ 100 appends/s, so p50 ≤ 10 ms, and p99 ≤ 50 ms
 *     (a job of 50 provider calls spends under a second on its trail);
 *   - 100 concurrent chains (100 jobs at once, e.g. a schedule's fan-out): ≥ 500 appends/s
 *     together, so p50 ≤ 200 ms with 100 in flight, and p99 ≤ 1000 ms;
 *   - one job of ≥ 100 instances: ≥ 200 appends/s (a 10,000-instance run makes 20,000 appends at
 *     up to ~200/s and must never wait for its trail), so p50 ≤ 200 ms with 40 in flight.
 * Ratios are measured/bound: ≥ 1 is good for a rate, ≤ 1 is good for a latency.
 * dynalite runs in this process, so its figures include the server's own work on the same cores;
 * the load average is printed because a shared machine moves every figure.
 */

interface Bound {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}
const BOUNDS: { oneChain: Bound; manyChains: Bound; oneJob: Bound } = {
  oneChain: { perSecond: 100, p50Ms: 10, p99Ms: 50 },
  manyChains: { perSecond: 500, p50Ms: 200, p99Ms: 1000 },
  oneJob: { perSecond: 200, p50Ms: 200, p99Ms: 1000 },
};

interface Figures {
  appends: number;
  appendsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const trigger = { type: 'bench', actor: 'bench-store' };
/** Throwaway keys: the appends are keyed (HMAC) exactly as in production. */
const ring = (purpose: string) => auditKeyring({ key: randomBytes(32).toString('base64url') }, purpose);
const chainRing = ring('chain');
const checkpointRing = ring('checkpoint');
const keys: AuditLogOptions = { key: async () => chainRing, checkpointKey: async () => checkpointRing };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function figures(latencies: number[], elapsedMs: number): Figures {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    appends: latencies.length,
    appendsPerSecond: round((latencies.length / elapsedMs) * 1000),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Appends `count` events to one chain, one after another, timing each. */
async function appendChain(log: AuditLog, jobId: string, count: number, latencies: number[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await log.append({
      kind: i % 2 === 0 ? 'intent' : 'outcome',
      jobId,
      trigger,
      provider: 'exoscale',
      account: 'bench',
      location: 'ch-gva-2',
      instanceId: `i-${jobId}`,
      action: 'stop',
      ...(i % 2 === 0
        ? { parameters: { force: false } }
        : { intentSeq: i - 1, result: { state: 'stopped' } }),
    });
    latencies.push(performance.now() - started);
  }
}

interface JobFigures extends Figures {
  instances: number;
  writers: 'one process' | 'one per worker';
  failed: number;
  /** The first distinct errors of the failed instances. */
  errors?: string[];
  /** Conditional puts lost to another writer of the same chain (each costs a re-read and a retry). */
  conflicts: number;
}

/**
 * One job acting on `instances` instances: `concurrency` workers (the act Map's iterations) take
 * instances one by one and append an intent and its outcome for each. `shared` is one AuditLog for
 * all workers (the local runtime: one process); otherwise each worker has its own (Lambda: one
 * container per concurrent iteration, no shared head cache).
 */
async function appendJob(
  make: () => AuditLog,
  jobId: string,
  instances: number,
  concurrency: number,
  shared: boolean,
): Promise<JobFigures> {
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const errors = new Set<string>();
  const one = shared ? make() : undefined;
  const logs = one ? [one] : [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, instances) }, async () => {
      const log = one ?? make();
      if (!one) logs.push(log);
      for (let i = next++; i < instances; i = next++) {
        try {
          let t = performance.now();
          const intent = await log.append({
            kind: 'intent',
            jobId,
            trigger,
            provider: 'exoscale',
            account: 'bench',
            location: 'ch-gva-2',
            instanceId: `i-${i}`,
            action: 'stop',
            parameters: {},
          });
          latencies.push(performance.now() - t);
          t = performance.now();
          await log.appendOutcome(intent, { result: { status: 'pending', operationId: `op-${i}` } });
          latencies.push(performance.now() - t);
        } catch (error) {
          failed++;
          errors.add(`${(error as Error).name}: ${(error as Error).message}`);
        }
      }
    }),
  );
  return {
    ...figures(latencies, performance.now() - started),
    instances,
    writers: shared ? 'one process' : 'one per worker',
    failed,
    ...(errors.size > 0 && { errors: [...errors].slice(0, 3) }),
    conflicts: logs.reduce((n, l) => n + l.stats.conflicts, 0),
  };
}

async function measure(
  server: LocalDynamo,
  options: { appends: number; chains: number; perChain: number; instances: number[]; concurrency: number },
): Promise<{ oneChain: Figures; manyChains: Figures; oneJob: JobFigures[] }> {
  const dynamo = createDynamo(localDynamoConfig(server.endpoint));
  try {
    const names = tableNames(`bench-${Date.now().toString(36)}`);
    await ensureTables(dynamo.client, names);
    const log = new AuditLog(dynamo.doc, names.audit, keys);
    await appendChain(log, 'warm-up', 50, []);

    const one: number[] = [];
    let started = performance.now();
    await appendChain(log, 'one-chain', options.appends, one);
    const oneChain = figures(one, performance.now() - started);

    const many: number[] = [];
    started = performance.now();
    await Promise.all(
      Array.from({ length: options.chains }, (_, c) =>
        appendChain(log, `chain-${c}`, options.perChain, many),
      ),
    );
    const manyChains = figures(many, performance.now() - started);

    const oneJob: JobFigures[] = [];
    for (const instances of options.instances) {
      for (const shared of [true, false]) {
        const jobId = `job-${instances}-${shared ? 'shared' : 'workers'}`;
        oneJob.push(
          await appendJob(
            () => new AuditLog(dynamo.doc, names.audit, keys),
            jobId,
            instances,
            options.concurrency,
            shared,
          ),
        );
      }
    }

    await log.checkpoints.periodic();
    const verified = await log.verify();
    if (!verified.ok) throw new Error(`bench chains do not verify: ${JSON.stringify(verified.broken)}`);
    return { oneChain, manyChains, oneJob };
  } finally {
    dynamo.destroy();
  }
}

function line(server: string, label: string, f: Figures, bound: Bound): string {
  const ratio = (value: number, limit: number) => (value / limit).toFixed(2);
  return [
    `${server.padEnd(15)} ${label.padEnd(17)}`,
    `${String(f.appendsPerSecond).padStart(8)} appends/s (≥ ${bound.perSecond}: ×${ratio(f.appendsPerSecond, bound.perSecond)})`,
    `p50 ${f.p50Ms.toFixed(2).padStart(7)} ms (≤ ${bound.p50Ms}: ×${ratio(f.p50Ms, bound.p50Ms)})`,
    `p99 ${f.p99Ms.toFixed(2).padStart(7)} ms (≤ ${bound.p99Ms}: ×${ratio(f.p99Ms, bound.p99Ms)})`,
  ].join('  ');
}

const within = (f: Figures, b: Bound) =>
  f.appendsPerSecond >= b.perSecond && f.p50Ms <= b.p50Ms && f.p99Ms <= b.p99Ms;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      appends: { type: 'string', default: '1000' },
      chains: { type: 'string', default: '100' },
      'per-chain': { type: 'string', default: '10' },
      instances: { type: 'string', default: '1,100,1000' },
      concurrency: { type: 'string', default: '40' },
    },
  });
  const options = {
    appends: Number(values.appends),
    chains: Number(values.chains),
    perChain: Number(values['per-chain']),
    instances: values.instances.split(',').map(Number),
    concurrency: Number(values.concurrency),
  };
  for (const [k, v] of Object.entries(options)) {
    for (const n of [v].flat())
      if (!Number.isInteger(n) || n < 1) throw new Error(`--${k} must be positive whole numbers`);
  }

  const servers: Array<{ name: string; start: () => Promise<LocalDynamo> }> = [
    { name: 'dynalite', start: () => startDynalite() },
  ];
  if (hasJava()) servers.push({ name: 'dynamodb-local', start: startDynamoDbLocal });
  else console.warn('!!! java not found: DynamoDB Local is NOT measured (install Java 17) !!!');

  console.log(
    `audit appends: one chain × ${options.appends}, then ${options.chains} concurrent chains × ${options.perChain}`,
  );
  const results: Record<string, { oneChain: Figures; manyChains: Figures; oneJob: JobFigures[] }> = {};
  for (const { name, start } of servers) {
    const server = await start();
    try {
      const r = await measure(server, options);
      results[name] = r;
      console.log(line(name, 'one chain', r.oneChain, BOUNDS.oneChain));
      console.log(line(name, `${options.chains} chains`, r.manyChains, BOUNDS.manyChains));
      for (const j of r.oneJob) {
        const label = `job×${j.instances} ${j.writers === 'one process' ? '1 proc' : `${options.concurrency} wrk`}`;
        console.log(
          `${line(name, label, j, BOUNDS.oneJob)}  ${j.conflicts} conflicts${j.failed ? `  !! ${j.failed} instance(s) failed: ${j.errors?.join('; ')}` : ''}`,
        );
      }
    } finally {
      await server.close();
    }
  }

  // A one-instance job is two appends in a row: its rate says nothing about the audit's ceiling.
  const withinBounds = Object.values(results).every(
    (r) =>
      within(r.oneChain, BOUNDS.oneChain) &&
      within(r.manyChains, BOUNDS.manyChains) &&
      r.oneJob.every((j) => j.failed === 0 && (j.instances < 100 || within(j, BOUNDS.oneJob))),
  );
  const load = loadavg().map(round);
  console.log(`load average ${load.join(' ')} on ${availableParallelism()} cores`);
  console.log(
    JSON.stringify({ bench: 'store', options, bounds: BOUNDS, results, withinBounds, loadAverage: load }),
  );
}
