import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { proveSealedField } from '../../functions/secrets/prove.ts';
import type { AuditEvent, VerifyReport } from '../../functions/store/audit.ts';
import { jobOfChain } from '../../functions/store/audit-chains.ts';
import { type ChainReport, jobsSource } from '../../functions/store/audit-verify.ts';
import { addDataSourceOptions, type DataSourceOptions, withDataSource } from '../data-source.ts';
import { print, table } from '../output.ts';
import { positiveInt } from './jobs.ts';

/** `fleetflow audit show|verify`: the append-only, keyed and checkpointed trail of every provider change. */

interface ScopeOptions extends DataSourceOptions {
  job?: string;
  instance?: string;
  json?: boolean;
}

/** Something in the trail is broken: exits 1 with every problem named. */
class AuditBrokenError extends Error {
  override name = 'AuditBrokenError';
}

const seqOf = (n: string) => {
  const value = Number(n);
  if (!Number.isInteger(value) || value < 0) throw new Error(`not a checkpoint number: ${n}`);
  return value;
};

export function register(program: Command): void {
  const audit = program
    .command('audit')
    .description('the audit trail: intents and outcomes of every provider change');

  addDataSourceOptions(
    audit
      .command('show')
      .description('show the events of one job or one instance, newest first')
      .option('--job <id>', 'events of this job')
      .option('--instance <id>', 'events of this instance, across jobs')
      .option('--limit <n>', 'at most this many events', positiveInt, 50)
      .option('--json', 'print JSON'),
  ).action(async (options: ScopeOptions & { limit: number }, command: Command) => {
    if (Boolean(options.job) === Boolean(options.instance)) {
      command.error('error: give exactly one of --job <id> or --instance <id>', {
        exitCode: 2,
        code: 'fleetflow.usage',
      });
    }
    const events = await withDataSource(options, async ({ audit: log }) => {
      const out: AuditEvent[] = [];
      let cursor: string | undefined;
      do {
        const page = options.job
          ? await log.byJob(options.job, {
              limit: Math.min(options.limit, 100),
              ...(cursor ? { cursor } : {}),
            })
          : await log.byInstance(options.instance!, {
              limit: Math.min(options.limit, 100),
              ...(cursor ? { cursor } : {}),
            });
        out.push(...page.items);
        cursor = page.cursor;
      } while (cursor && out.length < options.limit);
      return out.slice(0, options.limit);
    });
    print(events, options.json ?? false, () =>
      events.length === 0
        ? `no audit events for ${options.job ? `job ${options.job}` : `instance ${options.instance}`}`
        : table(
            events.map((e) => ({
              at: e.at,
              job: e.jobId,
              chain: chainLabel(e.chain),
              seq: e.seq,
              kind: e.kind === 'outcome' ? `outcome of ${e.intentSeq}` : e.kind,
              action: e.action,
              actor: `${e.trigger.type}:${e.trigger.actor}`,
              provider: [e.provider, e.account, e.location].filter(Boolean).join('/'),
              instance: e.instanceId ?? '',
              result: e.result === undefined ? '' : JSON.stringify(e.result),
              request: e.providerRequestId ?? '',
            })),
            [
              'at',
              'job',
              'chain',
              'seq',
              'kind',
              'action',
              'actor',
              'provider',
              'instance',
              'result',
              'request',
            ],
          ),
    );
  });

  addDataSourceOptions(
    audit
      .command('verify')
      .description(
        'check the chains (one job, one instance, or all) against the audit keys and the signed checkpoints; name every broken one',
      )
      .option('--job <id>', 'only this job’s chains')
      .option('--instance <id>', 'every chain that touched this instance')
      .option(
        '--expect-checkpoint <n>',
        'fail unless checkpoint n exists (n from the checkpoint writer’s log: catches deleted newest checkpoints)',
        seqOf,
      )
      .option('--json', 'print JSON'),
  ).action(async (options: ScopeOptions & { expectCheckpoint?: number }, command: Command) => {
    if (options.job && options.instance) {
      command.error('error: give --job <id> or --instance <id>, not both', {
        exitCode: 2,
        code: 'fleetflow.usage',
      });
    }
    const scope = options.job
      ? { jobId: options.job }
      : options.instance
        ? { instanceId: options.instance }
        : {};
    const report = await withDataSource(options, ({ audit: log, jobs }) =>
      log.verify(scope, {
        jobs: jobsSource(jobs),
        ...(options.expectCheckpoint !== undefined && { expectCheckpoint: options.expectCheckpoint }),
      }),
    );
    print(report, options.json ?? false, () => describeReport(report, scope.jobId ?? scope.instanceId));
    if (!report.ok) {
      const first = report.broken[0]!;
      throw new AuditBrokenError(
        `audit trail broken: ${report.broken.length} problem(s); first: chain ${first.chain} at seq ${first.seq} (${first.reason})`,
      );
    }
  });
  addDataSourceOptions(
    audit
      .command('prove')
      .description(
        'prove whether a job sent a sealed secret field with a given value, from the keyed digests its audit intents keep',
      )
      .requiredOption('--job <id>', 'the job that sent the field')
      .requiredOption('--field <name>', 'the field: userData, labels.<key>, extra.<key> or a JSON pointer')
      .option('--value-file <path>', 'read the value to check from this file ("-" for standard input)', '-')
      .option('--json', 'print JSON'),
  ).action(
    async (
      options: DataSourceOptions & { job: string; field: string; valueFile: string; json?: boolean },
    ) => {
      // The value is read from a file or stdin, never from the command line (shell history, ps).
      const value = readFileSync(options.valueFile === '-' ? 0 : options.valueFile, 'utf8');
      const proofs = await withDataSource(options, ({ audit: log }) =>
        proveSealedField(log, options.job, options.field, value),
      );
      const matched = proofs.some((p) => p.outcome === 'match');
      print({ job: options.job, field: options.field, matched, proofs }, options.json ?? false, () =>
        proofs.length === 0
          ? `job ${options.job} sent no sealed field ${options.field}`
          : proofs
              .map(
                (p) =>
                  `${p.outcome === 'match' ? 'MATCH' : p.outcome === 'mismatch' ? 'NO MATCH' : 'UNKNOWN KEY'}: ${p.action} intent (chain ${chainLabel(p.chain)}, seq ${p.seq}, ${p.at}), key ${p.keyId}`,
              )
              .join('\n'),
      );
      if (!matched) process.exitCode = 1;
    },
  );
}

/** `root` for a job's root chain, `#k` for its sub-chain k. */
function chainLabel(chain: string): string {
  const job = jobOfChain(chain);
  return chain === job ? 'root' : chain.slice(job.length);
}

function describeReport(report: VerifyReport, scoped: string | undefined): string {
  const lines: string[] = [];
  const cps = report.checkpoints;
  const against = cps.last
    ? `against ${cps.checked} checkpoint(s) (newest #${cps.last.seq}, ${cps.last.reason}, at ${cps.last.at})`
    : 'with no checkpoint yet';
  if (report.ok) {
    lines.push(
      `ok: ${report.checked} events in ${report.chains} chain(s), every link intact; checked ${against}`,
    );
  } else {
    lines.push(`${report.broken.length} problem(s) in ${report.chains} chain(s), checked ${against}:`);
    for (const b of report.broken)
      lines.push(`BROKEN: chain ${b.chain}, seq ${b.seq}: ${b.reason} — ${b.detail}`);
  }
  if (report.jobsChecked > 0) lines.push(`${report.jobsChecked} job(s) cross-checked against their chains`);
  if (report.chainReports.length > 0) {
    lines.push(
      '',
      scoped ? table(report.chainReports.map(chainRow), COLUMNS) : table(byJob(report.chainReports), COLUMNS),
    );
  }
  if (report.warnings.length > 0) {
    lines.push('', `!! ${report.warnings.length} warning(s):`);
    for (const w of report.warnings)
      lines.push(`  ${w.chain ? `chain ${w.chain}: ` : ''}${w.reason} — ${w.detail}`);
  }
  if (report.pendingIntents.length > 0) {
    lines.push(
      '',
      `!! ${report.pendingIntents.length} intent(s) with no outcome (in flight, or interrupted between the provider call and its record):`,
      table(
        report.pendingIntents.map((p) => ({
          ...p,
          instance: p.instanceId ?? '',
          provider: p.provider ?? '',
        })),
        ['chain', 'seq', 'action', 'provider', 'instance', 'at'],
      ),
    );
  }
  return lines.join('\n');
}

const COLUMNS = ['chain', 'events', 'keyed', 'state', 'last checkpoint', 'not checkpointed'];

function chainRow(r: ChainReport): Record<string, unknown> {
  return {
    chain: r.chain,
    events: r.events,
    keyed: r.keying,
    state: r.ok ? 'ok' : 'BROKEN',
    'last checkpoint': r.lastCheckpoint
      ? `#${r.lastCheckpoint.seq} at ${r.lastCheckpoint.at} (up to seq ${r.lastCheckpoint.headSeq})`
      : 'never',
    'not checkpointed': r.uncheckpointed,
  };
}

/** A whole-trail verify: one line per job (its chains together), so the table stays readable. */
function byJob(reports: ChainReport[]): Array<Record<string, unknown>> {
  const groups = new Map<string, ChainReport[]>();
  for (const r of reports) groups.set(jobOfChain(r.chain), [...(groups.get(jobOfChain(r.chain)) ?? []), r]);
  return [...groups].map(([job, rs]) => {
    const keying = new Set(rs.filter((r) => r.events > 0).map((r) => r.keying));
    // The job is as checkpointed as its least recently checkpointed chain.
    const covered = rs.filter((r) => r.lastCheckpoint);
    const oldest = covered.reduce<ChainReport | undefined>(
      (m, r) => (!m || r.lastCheckpoint!.at < m.lastCheckpoint!.at ? r : m),
      undefined,
    );
    const partly = covered.length < rs.length ? ` (${covered.length} of ${rs.length} chains)` : '';
    return {
      chain: rs.length > 1 ? `${job} (+${rs.length - 1})` : rs[0]!.chain,
      events: rs.reduce((n, r) => n + r.events, 0),
      keyed: keying.size === 1 ? [...keying][0] : keying.size === 0 ? 'none' : 'mixed',
      state: rs.every((r) => r.ok) ? 'ok' : 'BROKEN',
      'last checkpoint': oldest
        ? `#${oldest.lastCheckpoint!.seq} at ${oldest.lastCheckpoint!.at}${partly}`
        : 'never',
      'not checkpointed': rs.reduce((n, r) => n + r.uncheckpointed, 0),
    };
  });
}
