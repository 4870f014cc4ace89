import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureLocalSecretsKey, sealingKey } from '../functions/secrets/keys.ts';
import { SecretStore } from '../functions/secrets/store.ts';
import { createDynamo, ensureTables, localDynamoConfig } from '../functions/store/dynamo.ts';
import { tableNames } from '../functions/store/tables.ts';
import { startDynalite } from '../local/store/dynalite.ts';

/**
 * `npm run bench -- secrets [--jobs N]`
 *
 * What sealing costs a provisioning, on dynalite with fleetflow start's key file: seal at ingest
 * (a fresh data key, AES-256-GCM, a conditional PutItem), open in the create step (GetItem, unwrap,
 * decrypt) and forget (DeleteItem), each once per job, with the largest request the schema allows
 * (32 KiB of userData, a password and a credential-like label). The bound is what each sits next
 * to: the webhook answer and the provider create call, 100 ms or more each, so every phase must
 * stay a tenth of one — p50 ≤ 10 ms and p99 ≤ 50 ms. Ratios are measured/bound (≤ 1 is good).
 * dynalite runs in this process, so the figures include the server's work on the same cores.
 */

const BOUND = { p50Ms: 10, p99Ms: 50 };
type Phase = 'seal' | 'open' | 'forget';

const round = (n: number) => Math.round(n * 100) / 100;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { jobs: { type: 'string', default: '300' } } });
  const jobs = Number(values.jobs);
  const dir = mkdtempSync(join(tmpdir(), 'fleetflow-bench-secrets-'));
  const dynamo = await startDynalite();
  const { client, doc, destroy } = createDynamo(localDynamoConfig(dynamo.endpoint));
  try {
    const names = tableNames('bench-secrets');
    await ensureTables(client, names);
    const ref = ensureLocalSecretsKey(dir);
    const store = new SecretStore(doc, names.secrets, () => sealingKey(ref));
    const secrets = {
      '/userData': randomBytes(24 * 1024).toString('base64'), // 32 KiB of text
      '/extra/password': randomBytes(24).toString('base64url'),
      '/labels/deploy-token': randomBytes(24).toString('base64url'),
    };
    const latencies: Record<Phase, number[]> = { seal: [], open: [], forget: [] };
    const timed = async (phase: Phase, fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      await fn();
      latencies[phase].push(performance.now() - t0);
    };
    // A few rounds first, so the figures are of a warm process, as a Lambda's or a start's are.
    for (let i = 0; i < 10; i++) await store.seal(`warm-${i}`, secrets).then(() => store.open(`warm-${i}`));
    const started = performance.now();
    for (let i = 0; i < jobs; i++) {
      const job = `prov-bench-${i}`;
      await timed('seal', () => store.seal(job, secrets));
      await timed('open', () => store.open(job));
      await timed('forget', () => store.forget(job));
    }
    const elapsedMs = performance.now() - started;
    const results = Object.fromEntries(
      (Object.keys(latencies) as Phase[]).map((phase) => {
        const sorted = [...latencies[phase]].sort((a, b) => a - b);
        const p50Ms = round(percentile(sorted, 50));
        const p99Ms = round(percentile(sorted, 99));
        return [
          phase,
          { p50Ms, p99Ms, ratioP50: round(p50Ms / BOUND.p50Ms), ratioP99: round(p99Ms / BOUND.p99Ms) },
        ];
      }),
    ) as Record<Phase, { p50Ms: number; p99Ms: number; ratioP50: number; ratioP99: number }>;
    const withinBounds = Object.values(results).every((r) => r.ratioP50 <= 1 && r.ratioP99 <= 1);
    const load = loadavg().map(round);
    for (const [phase, r] of Object.entries(results)) {
      process.stdout.write(
        `${phase.padEnd(7)} p50 ${r.p50Ms} ms (${r.ratioP50} of ${BOUND.p50Ms}), p99 ${r.p99Ms} ms (${r.ratioP99} of ${BOUND.p99Ms})\n`,
      );
    }
    process.stdout.write(
      `${jobs} jobs in ${round(elapsedMs / 1000)} s; load average ${load.join(' ')}; within bounds: ${withinBounds}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ bench: 'secrets', jobs, bytesPerJob: JSON.stringify(secrets).length, bound: BOUND, results, withinBounds, loadAverage: load })}\n`,
    );
  } finally {
    destroy();
    await dynamo.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
