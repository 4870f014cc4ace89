import { SFNClient } from '@aws-sdk/client-sfn';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatPreview, type Preview } from '../../functions/schedule/preview.ts';
import {
  POWER_SCHEDULE_MACHINE,
  runName,
  scheduleRunInput,
  startScheduleRun,
} from '../../functions/schedule/run.ts';
import { stateMachineArn } from '../../local/engine/index.ts';
import { print } from '../output.ts';
import {
  dataDirOption,
  httpBase,
  localKeyPair,
  routeUrl,
  runningStart,
  urlOption,
} from '../running-start.ts';
import { configFrom } from './config.ts';

const days = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 62) throw new InvalidArgumentError('--days must be 1-62');
  return n;
};

/** `fleetflow schedule plan|run`. */
export function registerSchedule(program: Command): void {
  const schedule = program.command('schedule').description('power schedules: preview them, run one now');
  schedule
    .command('plan')
    .description(
      'show, per instance, what the schedules will do when, and the instance-hours (and money) saved',
    )
    .option('--days <n>', 'how far ahead', days, 7)
    .option('--schedule <name>', 'only this schedule')
    .addOption(urlOption())
    .addOption(dataDirOption())
    .option('--json', 'print JSON')
    .action(async (o: { days: number; schedule?: string; url?: string; dataDir: string; json?: boolean }) => {
      const url = new URL(routeUrl(httpBase(o), 'schedules/plan'));
      url.search = new URLSearchParams({
        days: String(o.days),
        ...(o.schedule && { schedule: o.schedule }),
      }).toString();
      const res = await fetch(url);
      const body = (await res.json()) as Preview & { detail?: string };
      if (!res.ok) throw new Error(`plan failed (HTTP ${res.status}): ${body.detail ?? 'no detail'}`);
      print(body, o.json ?? false, () => formatPreview(body));
    });
  schedule
    .command('run')
    .description('run a schedule now, through the workflow (a job you can follow with `fleetflow jobs show`)')
    .argument('<name>', 'schedule name')
    .addOption(
      new Option('--action <action>', 'stop or start').choices(['stop', 'start', 'enforce']).default('stop'),
    )
    .option('--dry-run', 'plan and record only; change nothing')
    .option('--config <file>', 'config file (default ./fleetflow.config.yaml)')
    .option('--state-machine-arn <arn>', 'the deployed power-schedule state machine (default: the local one)')
    .addOption(dataDirOption())
    .option('--json', 'print the started job as JSON')
    .action(
      async (
        name: string,
        o: {
          json?: boolean;
          action: 'stop' | 'start' | 'enforce';
          dryRun?: boolean;
          config?: string;
          stateMachineArn?: string;
          dataDir: string;
        },
      ) => {
        const config = configFrom(o.config, true);
        const input = scheduleRunInput(config, name, o.action, {
          ...(o.dryRun && { dryRun: true }),
          trigger: { type: 'cli', actor: process.env.USER ?? 'cli' },
        });
        const sfn = o.stateMachineArn
          ? new SFNClient({})
          : new SFNClient({
              endpoint: runningStart(o.dataDir).sfn,
              region: 'us-east-1',
              credentials: localKeyPair(o.dataDir),
            });
        try {
          const started = await startScheduleRun({
            sfn,
            stateMachineArn: o.stateMachineArn ?? stateMachineArn(POWER_SCHEDULE_MACHINE),
            input,
            name: runName(name, o.action, new Date(), true),
          });
          process.stdout.write(
            o.json
              ? `${JSON.stringify(started)}\n`
              : `started job ${started.jobId}\n  follow it: npx fleetflow jobs show ${started.jobId}\n`,
          );
        } finally {
          sfn.destroy();
        }
      },
    );
}
