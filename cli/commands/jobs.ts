import { type Command, InvalidArgumentError, Option } from 'commander';
import type { PendingIntent } from '../../functions/store/audit.ts';
import { JobNotFoundError } from '../../functions/store/errors.ts';
import { JOB_STATUSES, type Job, type JobStatus } from '../../functions/store/jobs.ts';
import { addDataSourceOptions, type DataSourceOptions, withDataSource } from '../data-source.ts';
import { print, resultNote, table } from '../output.ts';

/** `fleetflow jobs list|show`: what ran, what it did per target, and what never reported back. */

interface ListOptions extends DataSourceOptions {
  status?: JobStatus;
  limit: number;
  json?: boolean;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new InvalidArgumentError('a whole number from 1 to 10000');
  return n;
}

export function register(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('jobs (provisioning requests, schedule runs, remediations): list them, show one');

  addDataSourceOptions(
    jobs
      .command('list')
      .description('list jobs, newest first')
      .addOption(new Option('--status <status>', 'only jobs in this status').choices(JOB_STATUSES))
      .option('--limit <n>', 'at most this many jobs', positiveInt, 20)
      .option('--json', 'print JSON'),
  ).action(async (options: ListOptions) => {
    const found = await withDataSource(options, async ({ jobs: store }) => {
      const out: Job[] = [];
      const query = options.status ? { status: options.status } : {};
      for await (const job of store.listAll(query, { pageSize: Math.min(options.limit, 100) })) {
        out.push(job);
        if (out.length >= options.limit) break;
      }
      return out;
    });
    print(found, options.json ?? false, () =>
      found.length === 0
        ? `no jobs${options.status ? ` in status ${options.status}` : ''}`
        : table(found.map(summaryRow), ['job', 'kind', 'status', 'trigger', 'created', 'ended']),
    );
  });

  addDataSourceOptions(
    jobs
      .command('show')
      .description(
        'show one job: its steps, per-target results (with why a target was skipped) and provider calls with no recorded outcome',
      )
      .argument('<id>', 'job id')
      .option('--json', 'print JSON'),
  ).action(async (jobId: string, options: DataSourceOptions & { json?: boolean }) => {
    const shown = await withDataSource(options, async ({ jobs: store, audit }) => {
      const job = await store.get(jobId);
      if (!job) throw new JobNotFoundError(jobId);
      return { job, pendingIntents: await audit.pendingIntents(jobId) };
    });
    print(shown, options.json ?? false, () => describeJob(shown.job, shown.pendingIntents));
  });
}

function summaryRow(job: Job): Record<string, unknown> {
  return {
    job: job.jobId,
    kind: job.kind,
    status: job.status,
    trigger: `${job.trigger.type}:${job.trigger.actor}`,
    created: job.createdAt,
    ended: job.endedAt ?? '',
  };
}

function describeJob(job: Job, pending: PendingIntent[]): string {
  const lines = [
    `job        ${job.jobId}`,
    `kind       ${job.kind}`,
    `status     ${job.status}`,
    `trigger    ${job.trigger.type}:${job.trigger.actor}${job.trigger.source ? ` (${job.trigger.source})` : ''}`,
    `execution  ${job.executionArn ?? '(none)'}`,
    `created    ${job.createdAt}`,
    `updated    ${job.updatedAt}`,
    ...(job.endedAt ? [`ended      ${job.endedAt}`] : []),
    ...(job.error ? [`error      ${job.error.code}: ${job.error.message}`] : []),
    '',
    `steps (${job.steps.length})`,
    job.steps.length === 0
      ? '  none'
      : table(
          job.steps.map((s) => ({
            name: s.name,
            status: s.status,
            started: s.startedAt,
            ended: s.endedAt ?? '',
            detail: s.detail === undefined ? '' : JSON.stringify(s.detail),
          })),
          ['name', 'status', 'started', 'ended', 'detail'],
        ),
    '',
    `results (${Object.keys(job.results).length})`,
    Object.keys(job.results).length === 0
      ? '  none'
      : table(
          Object.entries(job.results).map(([target, r]) => ({
            target,
            status: r.status,
            instance: r.instanceId ?? '',
            at: r.at,
            reason: resultNote(r),
          })),
          ['target', 'status', 'instance', 'at', 'reason'],
        ),
  ];
  if (pending.length > 0) {
    lines.push(
      '',
      `!! ${pending.length} provider call(s) with an intent but no outcome — still in flight, or interrupted between the call and its record:`,
      table(
        pending.map((p) => ({ ...p, instance: p.instanceId ?? '', provider: p.provider ?? '' })),
        ['seq', 'action', 'provider', 'instance', 'at'],
      ),
    );
  } else {
    lines.push('', 'pending intents: none');
  }
  return lines.join('\n');
}
