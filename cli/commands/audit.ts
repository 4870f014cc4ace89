import type { Command } from 'commander';
import type { AuditEvent, VerifyReport } from '../../functions/store/audit.ts';
import { addDataSourceOptions, type DataSourceOptions, withDataSource } from '../data-source.ts';
import { print, table } from '../output.ts';
import { positiveInt } from './jobs.ts';

/** `fleetflow audit show|verify`: the append-only, hash-chained trail of every provider change. */

interface ScopeOptions extends DataSourceOptions {
  job?: string;
  instance?: string;
  json?: boolean;
}

/** The chain has a broken link: exits 1 with the link named. */
class AuditBrokenError extends Error {
  override name = 'AuditBrokenError';
}

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
              seq: e.seq,
              kind: e.kind === 'outcome' ? `outcome of ${e.intentSeq}` : e.kind,
              action: e.action,
              actor: `${e.trigger.type}:${e.trigger.actor}`,
              provider: [e.provider, e.account, e.location].filter(Boolean).join('/'),
              instance: e.instanceId ?? '',
              result: e.result === undefined ? '' : JSON.stringify(e.result),
              request: e.providerRequestId ?? '',
            })),
            ['at', 'job', 'seq', 'kind', 'action', 'actor', 'provider', 'instance', 'result', 'request'],
          ),
    );
  });

  addDataSourceOptions(
    audit
      .command('verify')
      .description('walk the hash chains (one job, one instance, or all) and name the first broken link')
      .option('--job <id>', 'only this job’s chain')
      .option('--instance <id>', 'every chain that touched this instance')
      .option('--json', 'print JSON'),
  ).action(async (options: ScopeOptions, command: Command) => {
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
    const report = await withDataSource(options, ({ audit: log }) => log.verify(scope));
    print(report, options.json ?? false, () => describeReport(report));
    if (report.firstBroken) {
      const b = report.firstBroken;
      throw new AuditBrokenError(
        `audit chain ${b.chain} is broken at seq ${b.seq} (${b.reason}): ${b.detail}`,
      );
    }
  });
}

function describeReport(report: VerifyReport): string {
  const lines: string[] = [];
  if (report.firstBroken) {
    const b = report.firstBroken;
    lines.push(`BROKEN: chain ${b.chain}, seq ${b.seq}: ${b.reason} — ${b.detail}`);
    lines.push(`(${report.checked} events checked in ${report.chains} chain(s) before stopping)`);
  } else {
    lines.push(`ok: ${report.checked} events in ${report.chains} chain(s), every link intact`);
  }
  if (report.pendingIntents.length > 0) {
    lines.push(
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
