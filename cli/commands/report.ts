import { type Command, InvalidArgumentError } from 'commander';
import { parseDurationSeconds } from '../../functions/shared/duration.ts';
import type { AuditEvent } from '../../functions/store/audit.ts';
import type { Job } from '../../functions/store/jobs.ts';
import type { ResultStore } from '../../functions/store/results.ts';
import { addDataSourceOptions, type DataSourceOptions, withDataSource } from '../data-source.ts';
import { table } from '../output.ts';

/**
 * `fleetflow report savings|activity`: what the schedules saved in a month, and what was done, by
 * whom, to what. Read from jobs, their results and audit events only; no figure is estimated or
 * invented.
 */

interface ReportOptions extends DataSourceOptions {
  json?: boolean;
  csv?: boolean;
}

function month(value: string): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(value))
    throw new InvalidArgumentError('a month as YYYY-MM, e.g. 2026-11');
  return value;
}

function since(value: string): string {
  const relative = parseDurationSeconds(value, ['h', 'd']);
  if (relative !== undefined) return new Date(Date.now() - relative * 1000).toISOString();
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw new InvalidArgumentError('a date (2026-11-01, an ISO time) or a span such as 24h or 7d');
  return at.toISOString();
}

/** RFC 4180: quote a field when it holds a comma, a quote or a line break. */
export function csv(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cell = (v: unknown) => {
    const s = v === undefined || v === null ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n');
}

function output(
  value: unknown,
  rows: Array<Record<string, unknown>>,
  columns: string[],
  o: ReportOptions,
  text: () => string,
): void {
  if (o.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else if (o.csv) process.stdout.write(`${csv(rows, columns)}\r\n`);
  else process.stdout.write(`${text()}\n`);
}

// ---- savings ------------------------------------------------------------------------------------

interface PlanDetail {
  schedule?: string;
  action?: string;
  dryRun?: boolean;
  savings?: { instanceHours?: number; money?: number; currency?: string };
}

export interface SavingsRow {
  job: string;
  schedule: string;
  at: string;
  status: string;
  instanceHours: number;
  money?: number;
  currency?: string;
}

/** What the instances a PARTIAL run did stop saved, summed from its SUCCEEDED results. */
export type StoppedSavings = (job: Job) => Promise<{ instanceHours: number; money?: number }>;

/**
 * Stop runs of `power-schedule` jobs in the month: a SUCCEEDED run saved what its plan recorded
 * (every planned stop was verified); a PARTIAL one only what its verified stops saved, read from
 * its results page by page.
 */
export async function savingsRows(
  jobs: Job[],
  monthPrefix: string,
  stopped: StoppedSavings,
): Promise<SavingsRow[]> {
  const rows: SavingsRow[] = [];
  for (const job of jobs) {
    if (job.kind !== 'power-schedule' || !job.createdAt.startsWith(monthPrefix)) continue;
    if (!['SUCCEEDED', 'PARTIAL'].includes(job.status)) continue;
    const plan = job.steps.find((s) => s.name === 'plan')?.detail as PlanDetail | undefined;
    if (!plan?.savings || plan.dryRun || typeof plan.savings.instanceHours !== 'number') continue;
    const saved =
      job.status === 'SUCCEEDED'
        ? { instanceHours: plan.savings.instanceHours, money: plan.savings.money }
        : await stopped(job);
    rows.push({
      job: job.jobId,
      schedule: plan.schedule ?? '',
      at: job.createdAt,
      status: job.status,
      instanceHours: saved.instanceHours,
      ...(saved.money !== undefined && { money: saved.money }),
      ...(plan.savings.currency && { currency: plan.savings.currency }),
    });
  }
  return rows.sort((a, b) => a.at.localeCompare(b.at));
}

/** A run's verified stops' savings, from the `hoursSaved`/`saved` its results carry. */
export function stoppedSavings(results: Pick<ResultStore, 'all'>): StoppedSavings {
  return async (job) => {
    let hours = 0;
    let money: number | undefined;
    for await (const r of results.all(job.jobId, { status: 'SUCCEEDED' })) {
      const d = (r.detail ?? {}) as { hoursSaved?: unknown; saved?: unknown };
      if (typeof d.hoursSaved === 'number') hours += d.hoursSaved;
      if (typeof d.saved === 'number') money = (money ?? 0) + d.saved;
    }
    const round = (n: number) => Math.round(n * 100) / 100;
    return { instanceHours: round(hours), ...(money !== undefined && { money: round(money) }) };
  };
}

export interface IdleStopRow {
  job: string;
  policy: string;
  at: string;
  provider: string;
  instance: string;
  /** What the idle filter measured, as the remediation recorded it. */
  idle: string;
}

/**
 * Idle stops of the month, counted apart from schedule savings: remediation jobs that stopped an
 * instance because a policy's idle filter held (its evaluate step says so, with the figures), not
 * dry runs. How long each stays off is not known in advance, so no hours are claimed for them.
 */
export async function idleStopRows(
  jobs: Job[],
  monthPrefix: string,
  results: Pick<ResultStore, 'get'>,
): Promise<IdleStopRow[]> {
  const rows: IdleStopRow[] = [];
  for (const job of jobs) {
    if (job.kind !== 'remediation' || !job.createdAt.startsWith(monthPrefix) || job.status !== 'SUCCEEDED')
      continue;
    const evaluate = job.steps.find((s) => s.name === 'evaluate')?.detail as
      | { reasons?: string[] }
      | undefined;
    const plan = job.steps.find((s) => s.name === 'plan')?.detail as
      | { dryRun?: boolean; steps?: string[] }
      | undefined;
    const idle = evaluate?.reasons?.find((r) => r.startsWith('✓ idle for'));
    if (!idle || plan?.dryRun || !plan?.steps?.some((s) => /: stop$/.test(s))) continue;
    const request = job.request as { policy?: string; target?: { provider?: string }; instanceId?: string };
    const result = request.instanceId
      ? (await results.get(job.jobId, [request.instanceId])).get(request.instanceId)
      : undefined;
    if (result?.status !== 'SUCCEEDED') continue;
    rows.push({
      job: job.jobId,
      policy: request.policy ?? '',
      at: job.endedAt ?? job.updatedAt,
      provider: request.target?.provider ?? '',
      instance: request.instanceId ?? '',
      idle: idle.slice(2),
    });
  }
  return rows.sort((a, b) => a.at.localeCompare(b.at));
}

// ---- activity -----------------------------------------------------------------------------------

export interface ActivityRow {
  at: string;
  job: string;
  kind: string;
  by: string;
  action: string;
  provider: string;
  instance: string;
  outcome: string;
}

/** The instances a job-end row names: every one when few, else the counts. */
export type EndedTargets = (job: Job) => Promise<string>;

/** Instances named on a job-end row before it says counts instead. */
const NAMED_TARGETS = 10;

export function endedTargets(results: Pick<ResultStore, 'page'>): EndedTargets {
  return async (job) => {
    const page = await results.page(job.jobId, {}, { limit: NAMED_TARGETS });
    if (!page.cursor)
      return page.items
        .map((r) => r.instanceId ?? '')
        .filter(Boolean)
        .join(' ');
    const c = job.counts;
    return c
      ? `${c.total} instances (${c.succeeded} succeeded, ${c.failed} failed, ${c.skipped} skipped)`
      : 'many instances';
  };
}

/** One row per provider action (its intent, with what its outcome said), plus one per job end. */
export async function activityRows(
  jobs: Map<string, Job>,
  events: AuditEvent[],
  targets: EndedTargets,
): Promise<ActivityRow[]> {
  const outcomes = new Map<string, AuditEvent>();
  for (const e of events)
    if (e.kind === 'outcome') outcomes.set(`${e.intentChain ?? e.chain}#${e.intentSeq}`, e);
  const rows: ActivityRow[] = [];
  for (const e of events) {
    if (e.kind !== 'intent') continue;
    const outcome = outcomes.get(`${e.chain}#${e.seq}`);
    const result = outcome?.result as
      | { error?: { name?: string; message?: string }; status?: string }
      | undefined;
    rows.push({
      at: e.at,
      job: e.jobId,
      kind: jobs.get(e.jobId)?.kind ?? '',
      by: `${e.trigger.type}:${e.trigger.actor}`,
      action: e.action,
      provider: [e.provider, e.account, e.location].filter(Boolean).join('/'),
      instance: e.instanceId ?? '',
      outcome: !outcome
        ? 'no outcome recorded'
        : result?.error
          ? `failed: ${result.error.name ?? 'error'}`
          : 'done',
    });
  }
  for (const job of jobs.values()) {
    if (!job.endedAt) continue;
    rows.push({
      at: job.endedAt,
      job: job.jobId,
      kind: job.kind,
      by: `${job.trigger.type}:${job.trigger.actor}`,
      action: 'job ended',
      provider: '',
      instance: await targets(job),
      outcome: job.error ? `${job.status}: ${job.error.code}` : job.status,
    });
  }
  return rows.sort((a, b) => a.at.localeCompare(b.at) || a.job.localeCompare(b.job));
}

const ACTIVITY_COLUMNS = ['at', 'job', 'kind', 'by', 'action', 'provider', 'instance', 'outcome'];

export function registerReport(program: Command): void {
  const report = program
    .command('report')
    .description('reports from jobs and the audit trail: savings, activity');

  addDataSourceOptions(
    report
      .command('savings')
      .description(
        'instance-hours (and money, where the config prices types) saved by schedule stop runs in a month, and the idle stops of that month, counted apart',
      )
      .option('--month <YYYY-MM>', 'the month (default: this month, UTC)', month)
      .option('--json', 'print JSON')
      .option('--csv', 'print CSV'),
  ).action(async (o: ReportOptions & { month?: string }) => {
    const m = o.month ?? new Date().toISOString().slice(0, 7);
    const { rows, idle } = await withDataSource(o, async ({ jobs }) => {
      const all: Job[] = [];
      for await (const job of jobs.listAll({}, { pageSize: 100 })) {
        if (job.createdAt < m) break; // newest first: the month is behind us
        all.push(job);
      }
      return {
        rows: await savingsRows(all, m, stoppedSavings(jobs.results)),
        idle: await idleStopRows(all, m, jobs.results),
      };
    });
    const currencies = [...new Set(rows.map((r) => r.currency).filter(Boolean))];
    const priced = rows.filter((r) => r.money !== undefined);
    const totals = {
      runs: rows.length,
      instanceHours: Math.round(rows.reduce((s, r) => s + r.instanceHours, 0) * 100) / 100,
      ...(priced.length > 0 &&
        currencies.length === 1 && {
          money: Math.round(priced.reduce((s, r) => s + (r.money ?? 0), 0) * 100) / 100,
          currency: currencies[0],
        }),
    };
    const none = `no schedule stop runs with savings figures in ${m}: nothing was saved by schedules that month (or no schedule ran). Savings come only from recorded runs; none are estimated.`;
    const idleLine =
      idle.length === 0
        ? `idle stops in ${m}: none`
        : `idle stops in ${m}: ${idle.length} instance(s) stopped by idle policies (counted apart; how long each stays off is not estimated)`;
    output(
      { month: m, totals: { ...totals, idleStops: idle.length }, runs: rows, idleStops: idle },
      rows as unknown as Array<Record<string, unknown>>,
      ['job', 'schedule', 'at', 'status', 'instanceHours', 'money', 'currency'],
      o,
      () =>
        [
          rows.length === 0
            ? none
            : [
                table(rows as unknown as Array<Record<string, unknown>>, [
                  'at',
                  'schedule',
                  'job',
                  'status',
                  'instanceHours',
                  'money',
                  'currency',
                ]),
                '',
                `${m}: ${totals.runs} stop run(s), ${totals.instanceHours} instance-hours saved${'money' in totals ? `, ${totals.money} ${totals.currency}` : ' (no prices configured for these types)'}`,
              ].join('\n'),
          '',
          idleLine,
          ...(idle.length > 0
            ? [
                table(idle as unknown as Array<Record<string, unknown>>, [
                  'at',
                  'policy',
                  'provider',
                  'instance',
                  'idle',
                ]),
              ]
            : []),
        ].join('\n'),
    );
  });

  addDataSourceOptions(
    report
      .command('activity')
      .description('list what was done, by whom, to what: every provider action and job end')
      .option('--since <when>', 'from this date/time or span (24h, 7d); default 7d', since)
      .option('--job <id>', 'only this job')
      .option('--instance <id>', 'only this instance, across jobs')
      .option('--json', 'print JSON')
      .option('--csv', 'print CSV'),
  ).action(
    async (o: ReportOptions & { since?: string; job?: string; instance?: string }, command: Command) => {
      if (o.job && o.instance)
        command.error('error: give --job or --instance, not both', { exitCode: 2, code: 'fleetflow.usage' });
      const from = o.since ?? since('7d');
      const rows = await withDataSource(o, async ({ jobs, audit }) => {
        const found = new Map<string, Job>();
        const events: AuditEvent[] = [];
        const ofJob = async (jobId: string) => {
          for await (const e of audit.jobEvents(jobId)) events.push(e);
        };
        if (o.job) {
          const job = await jobs.get(o.job);
          if (job) found.set(job.jobId, job);
          await ofJob(o.job);
        } else if (o.instance) {
          let cursor: string | undefined;
          do {
            const page = await audit.byInstance(o.instance, { limit: 100, ...(cursor && { cursor }) });
            events.push(...page.items.filter((e) => e.at >= from));
            cursor = page.cursor;
          } while (cursor);
          for (const id of new Set(events.map((e) => e.jobId))) {
            const job = await jobs.get(id);
            if (job) found.set(id, job);
          }
        } else {
          for await (const job of jobs.listAll({}, { pageSize: 100 })) {
            if ((job.endedAt ?? job.updatedAt) < from && job.createdAt < from) break;
            found.set(job.jobId, job);
          }
          for (const id of found.keys()) await ofJob(id);
        }
        return (await activityRows(found, events, endedTargets(jobs.results))).filter(
          (r) => o.job || r.at >= from,
        );
      });
      output(rows, rows as unknown as Array<Record<string, unknown>>, ACTIVITY_COLUMNS, o, () =>
        rows.length === 0
          ? `no activity since ${from}`
          : table(rows as unknown as Array<Record<string, unknown>>, ACTIVITY_COLUMNS),
      );
    },
  );
}
