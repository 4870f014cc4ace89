import { type Command, InvalidArgumentError, Option } from 'commander';
import { withUntil } from '../../functions/handlers/schedule-api.ts';
import { PROVIDER_IDS } from '../../functions/providers/port.ts';
import { type Override, OverrideStore } from '../../functions/schedule/overrides.ts';
import { parseDurationSeconds } from '../../functions/shared/duration.ts';
import { addDataSourceOptions, type DataSourceOptions, withDataSource } from '../data-source.ts';
import { print, table } from '../output.ts';
import { configFrom } from './config.ts';

/** "3h", "90m", "2d" → milliseconds. */
const duration = (v: string) => {
  const seconds = parseDurationSeconds(v, ['m', 'h', 'd']);
  if (seconds === undefined) throw new InvalidArgumentError('a duration such as 90m, 3h or 2d');
  return seconds * 1000;
};

interface SetOptions extends DataSourceOptions {
  schedule?: string;
  instance?: string;
  provider?: string;
  keepRunningUntil?: string;
  keepRunningFor?: number;
  skipNext?: 'stop' | 'start';
  reason?: string;
  config?: string;
  json?: boolean;
}

/** `fleetflow override set|list|clear`: temporary exceptions to schedules, expiring by themselves, audited. */
export function registerOverride(program: Command): void {
  const override = program
    .command('override')
    .description('temporary exceptions to schedules: keep running until a time, skip the next stop or start');
  addDataSourceOptions(
    override
      .command('set')
      .description('keep instances running until a time, or skip the next edge (e.g. "skip tonight")')
      .option('--schedule <name>', 'the schedule it applies to')
      .option('--instance <id>', 'only this instance')
      .addOption(new Option('--provider <id>', 'only this provider').choices(PROVIDER_IDS))
      .option('--keep-running-until <time>', 'ISO 8601 time: no stop before it')
      .option('--keep-running-for <duration>', 'e.g. 3h: no stop for that long', duration)
      .addOption(
        new Option('--skip-next <edge>', "skip the schedule's next stop or start").choices(['stop', 'start']),
      )
      .option('--reason <text>', 'why (kept in the audit trail)')
      .option('--config <file>', 'config file, for --skip-next (default ./fleetflow.config.yaml)')
      .option('--json', 'print JSON'),
  ).action(async (o: SetOptions) => {
    const scope = {
      ...(o.schedule && { schedule: o.schedule }),
      ...(o.instance && { instanceId: o.instance }),
      ...(o.provider && { provider: o.provider }),
    };
    let body: Record<string, unknown>;
    if (o.skipNext)
      body = withUntil({ kind: 'skip-next', action: o.skipNext, scope }, configFrom(o.config, true));
    else if (o.keepRunningUntil || o.keepRunningFor) {
      const until = o.keepRunningUntil ?? new Date(Date.now() + o.keepRunningFor!).toISOString();
      body = { kind: 'keep-running', scope, until };
    } else throw new InvalidArgumentError('give --keep-running-until, --keep-running-for or --skip-next');
    if (o.reason) body.reason = o.reason;
    const set = await withDataSource(o, (source) =>
      new OverrideStore(source.dynamo.doc, source.names.jobs, source.audit).set(body as never, {
        type: 'cli',
        actor: process.env.USER ?? 'cli',
      }),
    );
    print(set, o.json ?? false, () => `override ${set.id}: ${describe(set)}`);
  });
  addDataSourceOptions(
    override
      .command('list')
      .description('list the active overrides')
      .option('--all', 'include expired ones')
      .option('--json', 'print JSON'),
  ).action(async (o: DataSourceOptions & { all?: boolean; json?: boolean }) => {
    const found = await withDataSource(o, (source) =>
      new OverrideStore(source.dynamo.doc, source.names.jobs, source.audit).list({ all: o.all ?? false }),
    );
    print(found, o.json ?? false, () =>
      found.length === 0
        ? 'no active overrides'
        : table(
            found.map((x) => ({
              id: x.id,
              kind: x.kind,
              scope: scopeText(x),
              until: x.until,
              by: x.createdBy,
              reason: x.reason ?? '',
            })),
            ['id', 'kind', 'scope', 'until', 'by', 'reason'],
          ),
    );
  });
  addDataSourceOptions(
    override
      .command('clear')
      .description('remove an override')
      .argument('<id>', 'override id')
      .option('--json', 'print the cleared override as JSON'),
  ).action(async (id: string, o: DataSourceOptions & { json?: boolean }) => {
    const cleared = await withDataSource(o, (source) =>
      new OverrideStore(source.dynamo.doc, source.names.jobs, source.audit).clear(id, {
        type: 'cli',
        actor: process.env.USER ?? 'cli',
      }),
    );
    process.stdout.write(o.json ? `${JSON.stringify(cleared)}\n` : `cleared ${cleared.id}\n`);
  });
}

function scopeText(o: Override): string {
  return [
    o.scope.schedule && `schedule ${o.scope.schedule}`,
    o.scope.provider,
    o.scope.instanceId && `instance ${o.scope.instanceId}`,
  ]
    .filter(Boolean)
    .join(', ');
}

function describe(o: Override): string {
  const what = o.kind === 'keep-running' ? 'keep running' : `skip the next ${o.action}`;
  return `${what} (${scopeText(o)}) until ${o.until}`;
}
