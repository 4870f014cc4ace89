import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { AuditLog } from '../functions/store/audit.ts';
import { createDynamo, ensureTables, localDynamoConfig } from '../functions/store/dynamo.ts';
import { tableNames } from '../functions/store/tables.ts';
import { type LocalDynamo, startDynalite } from '../local/store/dynalite.ts';
import { hasJava, startDynamoDbLocal } from '../local/store/dynamodb-local.ts';

/**
 * `npm run bench -- store [--appends N] [--chains N] [--per-chain N]`
 *
 * Audit appends (the hash-chained conditional PutItem every provider change costs twice: intent
 * and outcome) on dynalite and on DynamoDB Local: one chain written sequentially, and many chains
 * written concurrently. The bounds come from what an append sits next to — a provider API call
 * of 100 ms or more — so an append must stay a small fraction of it, and they are tied together by
 * Little's law (in flight = rate × latency):
 *   - one chain (one append in flight): ≥ 100 appends/s, so p50 ≤ 10 ms, and p99 ≤ 50 ms
 *     (a job of 50 provider calls spends under a second on its trail);
 *   - 100 concurrent chains (100 jobs at once, e.g. a schedule's fan-out): ≥ 500 appends/s
 *     together, so p50 ≤ 200 ms with 100 in flight, and p99 ≤ 1000 ms.
 * Ratios are measured/bound: ≥ 1 is good for a rate, ≤ 1 is good for a latency.
 * dynalite runs in this process, so its figures include the server's own work on the same cores;
 * the load average is printed because a shared machine moves every figure.
 */

interface Bound {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}
const BOUNDS: { oneChain: Bound; manyChains: Bound } = {
  oneChain: { perSecond: 100, p50Ms: 10, p99Ms: 50 },
  manyChains: { perSecond: 500, p50Ms: 200, p99Ms: 1000 },
};

interface Figures {
  appends: number;
  appendsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const trigger = { type: 'bench', actor: 'bench-store' };

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

async function measure(
  server: LocalDynamo,
  options: { appends: number; chains: number; perChain: number },
): Promise<{ oneChain: Figures; manyChains: Figures }> {
  const dynamo = createDynamo(localDynamoConfig(server.endpoint));
  try {
    const names = tableNames(`bench-${Date.now().toString(36)}`);
    await ensureTables(dynamo.client, names);
    const log = new AuditLog(dynamo.doc, names.audit);
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

    const verified = await log.verify();
    if (!verified.ok) throw new Error(`bench chains do not verify: ${JSON.stringify(verified.firstBroken)}`);
    return { oneChain, manyChains };
  } finally {
    dynamo.destroy();
  }
}

function line(server: string, label: string, f: Figures, bound: Bound): string {
  const ratio = (value: number, limit: number) => (value / limit).toFixed(2);
  return [
    `${server.padEnd(15)} ${label.padEnd(11)}`,
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
    },
  });
  const options = {
    appends: Number(values.appends),
    chains: Number(values.chains),
    perChain: Number(values['per-chain']),
  };
  for (const [k, v] of Object.entries(options)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive whole number`);
  }

  const servers: Array<{ name: string; start: () => Promise<LocalDynamo> }> = [
    { name: 'dynalite', start: () => startDynalite() },
  ];
  if (hasJava()) servers.push({ name: 'dynamodb-local', start: startDynamoDbLocal });
  else console.warn('!!! java not found: DynamoDB Local is NOT measured (install Java 17) !!!');

  console.log(
    `audit appends: one chain × ${options.appends}, then ${options.chains} concurrent chains × ${options.perChain}`,
  );
  const results: Record<string, { oneChain: Figures; manyChains: Figures }> = {};
  for (const { name, start } of servers) {
    const server = await start();
    try {
      const r = await measure(server, options);
      results[name] = r;
      console.log(line(name, 'one chain', r.oneChain, BOUNDS.oneChain));
      console.log(line(name, `${options.chains} chains`, r.manyChains, BOUNDS.manyChains));
    } finally {
      await server.close();
    }
  }

  const withinBounds = Object.values(results).every(
    (r) => within(r.oneChain, BOUNDS.oneChain) && within(r.manyChains, BOUNDS.manyChains),
  );
  const load = loadavg().map(round);
  console.log(`load average ${load.join(' ')} on ${availableParallelism()} cores`);
  console.log(
    JSON.stringify({ bench: 'store', options, bounds: BOUNDS, results, withinBounds, loadAverage: load }),
  );
}
