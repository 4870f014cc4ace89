import { type Command, InvalidArgumentError, Option } from 'commander';
import type { PendingIntent } from '../../functions/store/audit.ts';
import { JobNotFoundError } from '../../functions/store/errors.ts';
import { JOB_STATUSES, type Job, type JobStatus, type JobWithResults } from '../../functions/store/jobs.ts';
import { TARGET_RESULT_STATUSES, type TargetResultStatus } from '../../functions/store/results.ts';
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
        'show one job: its counts, steps, per-target results a page at a time (with why a target was skipped or failed) and provider calls with no recorded outcome',
      )
      .argument('<id>', 'job id')
      .addOption(
        new Option('--status <status>', 'only results in this status').choices(TARGET_RESULT_STATUSES),
      )
      .option('--limit <n>', 'results per page', pageLimit, 50)
      .option('--cursor <cursor>', 'the page of results after this cursor (printed under each page)')
      .option('--all', 'every result, page after page')
      .option('--json', 'print JSON'),
  ).action(async (jobId: string, options: ShowOptions) => {
    const shown = await withDataSource(options, async ({ jobs: store, audit }) => {
      const job = await store.view(jobId, { results: options.limit });
      if (!job) throw new JobNotFoundError(jobId);
      if (options.status || options.cursor || options.all) {
        const query = options.status ? { status: options.status } : {};
        const page = { limit: options.limit, ...(options.cursor && { cursor: options.cursor }) };
        const items = [];
        let cursor: string | undefined;
        do {
          const next = await store.results.page(jobId, query, cursor ? { ...page, cursor } : page);
          items.push(...next.items);
          cursor = next.cursor;
        } while (options.all && cursor);
        delete job.resultsCursor;
        job.results = Object.fromEntries(items.map(({ target, ...r }) => [target, r]));
        if (cursor) job.resultsCursor = cursor;
      }
      return { job, pendingIntents: await audit.pendingIntents(jobId) };
    });
    print(shown, options.json ?? false, () => describeJob(shown.job, shown.pendingIntents, options));
  });
}

interface ShowOptions extends DataSourceOptions {
  status?: TargetResultStatus;
  limit: number;
  cursor?: string;
  all?: boolean;
  json?: boolean;
}

function pageLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InvalidArgumentError('a whole number from 1 to 1000');
  return n;
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

function describeJob(job: JobWithResults, pending: PendingIntent[], options: ShowOptions): string {
  const shown = Object.keys(job.results).length;
  const c = job.counts;
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
    ...(c
      ? [
          `counts     ${c.total} results: ${c.succeeded} succeeded, ${c.failed} failed, ${c.skipped} skipped${c.pending ? `, ${c.pending} never verified` : ''}`,
        ]
      : []),
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
    `results${options.status ? ` ${options.status}` : ''} (${shown}${job.resultsCursor ? ' shown, more follow' : ''})`,
    shown === 0
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
    ...(job.resultsCursor
      ? [
          `  more: fleetflow jobs show ${job.jobId}${options.status ? ` --status ${options.status}` : ''} --cursor ${job.resultsCursor}  (or --all)`,
        ]
      : []),
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
