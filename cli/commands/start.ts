import { type Command, InvalidArgumentError } from 'commander';
import { InvalidAllowedHostError, parseAllowedHosts } from '../../local/auth/hosts.ts';
import { startRuntime } from '../../local/runtime.ts';
import { DEFAULT_DATA_DIR } from '../running-start.ts';
import { configFrom } from './config.ts';

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('--port must be 0-65535');
  return n;
};

const allowHost = (value: string, previous: string[] = []) => {
  try {
    return [...previous, ...parseAllowedHosts([value])];
  } catch (error) {
    if (error instanceof InvalidAllowedHostError) throw new InvalidArgumentError(error.message);
    throw error;
  }
};

interface StartCommandOptions {
  port: number;
  dataDir: string;
  config?: string;
  json?: boolean;
  allowHost?: string[];
}

/** `fleetflow start`: the whole product on this machine, until Ctrl-C. */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description(
      'run fleetflow on this machine: local engine, dynalite, webhooks and jobs API, provider simulators',
    )
    .option('--port <n>', 'HTTP port for webhooks and the jobs API', port, 8787)
    .option(
      '--data-dir <dir>',
      'where jobs, audit events, the webhook secret and the endpoints for the other commands are kept',
      DEFAULT_DATA_DIR,
    )
    .option('--config <file>', 'config file with schedules (default ./fleetflow.config.yaml when present)')
    .option(
      '--allow-host <name>',
      'another host name the dashboard and APIs answer to (e.g. a name in /etc/hosts), NAME or NAME:PORT; repeatable (127.0.0.1, localhost and [::1] always are)',
      allowHost,
    )
    .option('--json', 'print one JSON line with the endpoints when ready, instead of the banner')
    .action(async (o: StartCommandOptions) => {
      // A bad config stops here, before anything starts.
      const config = configFrom(o.config);
      // Everything this process creates (LevelDB's files too) is its user's alone: files 600, folders 700.
      process.umask(0o077);
      const runtime = await startRuntime({
        dataDir: o.dataDir,
        port: o.port,
        ...(config && { config }),
        ...(o.allowHost && { allowHosts: o.allowHost }),
      }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EADDRINUSE') throw error;
        throw Object.assign(new Error(`port ${o.port} is already in use`), {
          hint: `another fleetflow start (or another server) has it: stop it, or pass --port <n> (--port 0 picks a free one)`,
        });
      });
      if (o.json) {
        const providers = Object.fromEntries(
          runtime.accounts.map((a) => [
            a.provider,
            runtime.simulators[a.provider] ? 'simulator' : 'real API',
          ]),
        );
        process.stdout.write(
          `${JSON.stringify({ ...runtime.urls, dashboard: `${runtime.urls.http}/`, dataDir: o.dataDir, providers })}\n`,
        );
      }
      // The other commands find this start through its data folder, whatever its port.
      const dataDirFlag = o.dataDir === DEFAULT_DATA_DIR ? '' : ` --data-dir ${o.dataDir}`;
      const sims = Object.entries(runtime.simulators).map(
        ([id, sim]) => `    ${id.padEnd(13)} simulator ${sim.endpoint(sim.defaultLocation)}`,
      );
      const real = runtime.accounts
        .filter((a) => !runtime.simulators[a.provider])
        .map((a) => `    ${a.provider.padEnd(13)} real API (credentials from the environment)`);
      if (!o.json)
        process.stdout.write(
          [
            'fleetflow is running.',
            `  dashboard  ${runtime.urls.http}/`,
            `  webhooks   POST ${runtime.urls.http}/webhooks/provision`,
            `  jobs       GET  ${runtime.urls.http}/jobs   GET ${runtime.urls.http}/jobs/{id}`,
            `  engine     Step Functions API at ${runtime.urls.sfn} (state machines: ${runtime.engine
              .stateMachines()
              .map((m) => m.name)
              .join(', ')})`,
            `  data       ${o.dataDir} (dynalite at ${runtime.urls.dynamodb}), private to you`,
            `  access     changes need the API token in ${o.dataDir}/api-token (the CLI and the dashboard send it); the engine and dynalite take the key pair in ${o.dataDir}/aws-credentials`,
            ...(runtime.scheduler
              ? [
                  '  schedules',
                  ...runtime.scheduler
                    .entries()
                    .map(
                      (e) =>
                        `    ${e.schedule} ${e.action} ${e.pattern} ${e.timezone} (next ${e.next ?? '-'})`,
                    ),
                ]
              : []),
            '  providers',
            ...real,
            ...sims,
            '',
            'Try it (in another terminal; the README has more):',
            `  npx fleetflow webhook send examples/provision.json${dataDirFlag}`,
            `  npx fleetflow jobs list${dataDirFlag}`,
            '',
            'Ctrl-C stops.',
            '',
          ].join('\n'),
        );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      if (!o.json) process.stdout.write('stopping…\n');
      await runtime.close();
    });
}
