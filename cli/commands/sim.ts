import { type Command, InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import { PROVIDER_IDS, type ProviderId } from '../../functions/providers/port.ts';
import { providerDefinition } from '../../functions/providers/registry.ts';
import { createSimulator } from '../../sim/index.ts';
import type { SimulatorBase } from '../../sim/kit/index.ts';

const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};

interface SimOptions {
  all?: boolean;
  port: number;
  seed: number;
  fleetSize: number;
  latency: number;
  rateLimit: number;
  transition: number;
  operation: number;
  json?: boolean;
}

/**
 * `fleetflow sim <provider>`: runs a provider's simulator until Ctrl-C, after printing one JSON
 * line with its URL and the credentials it accepts (so scripts can read it).
 *
 * `fleetflow sim --all [--port P]`: all five, on P, P+1, … (or free ports), and prints the
 * `accounts:` block for fleetflow.config.yaml plus the credentials as environment variables:
 * `fleetflow start` then uses them as provider accounts, so provider state outlives a restart
 * (or a crash) of the runtime.
 */
export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run a provider API simulator on loopback (prints one JSON line when ready)')
    .argument('[provider]', `one of ${PROVIDER_IDS.join(', ')}`)
    .option('--all', 'run all five and print the accounts block and credentials for fleetflow start')
    .option(
      '--port <n>',
      'port to listen on (0 picks a free one; with --all the first of five)',
      int('--port'),
      0,
    )
    .option('--seed <n>', 'seed for the demo fleet', int('--seed'), 1)
    .option('--fleet-size <n>', 'instances in the demo fleet', int('--fleet-size'), 6)
    .option('--latency <ms>', 'added to every answer', int('--latency'), 0)
    .option('--rate-limit <rps>', 'requests per second before 429 + Retry-After', int('--rate-limit'), 0)
    .option('--transition <ms>', 'how long state transitions take', int('--transition'), 1500)
    .option('--operation <ms>', 'how long asynchronous operations take', int('--operation'), 1000)
    .option('--json', 'print the ready line as JSON (always the case for one provider: scripts read it)')
    .action(async (provider: string | undefined, o: SimOptions) => {
      if (!o.all && !provider) throw new InvalidArgumentError('name a provider, or pass --all');
      if (o.all && provider) throw new InvalidArgumentError('name a provider or pass --all, not both');
      const ids: ProviderId[] = o.all ? [...PROVIDER_IDS] : [providerDefinition(provider!).id];
      const sims: SimulatorBase[] = [];
      try {
        for (const [i, id] of ids.entries()) {
          sims.push(
            await createSimulator(id, {
              port: o.port === 0 ? 0 : o.port + i,
              seed: o.seed,
              fleetSize: o.fleetSize,
              latencyMs: o.latency,
              rateLimitRps: o.rateLimit,
              transitionMs: o.transition,
              operationMs: o.operation,
            }).start(),
          );
        }
      } catch (error) {
        await Promise.all(sims.map((s) => s.close()));
        throw error;
      }
      if (!o.all) process.stdout.write(`${JSON.stringify(sims[0]!.describe())}\n`);
      else {
        const setup = simulatorAccounts(sims);
        process.stdout.write(o.json ? `${JSON.stringify(setup)}\n` : pasteable(setup));
      }
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await Promise.all(sims.map((s) => s.close()));
    });
}

export interface SimulatorAccounts {
  /** The `accounts:` entries of fleetflow.config.yaml. */
  accounts: Array<{
    provider: ProviderId;
    account: string;
    locations: string[];
    endpoint: string;
    credentialsEnv: Record<string, string>;
  }>;
  /** The environment variables those entries name, with the values the simulators accept. */
  env: Record<string, string>;
}

/** Running simulators as config accounts: endpoint (with `{location}` where it varies) and credentials by env. */
export function simulatorAccounts(sims: SimulatorBase[]): SimulatorAccounts {
  const env: Record<string, string> = {};
  const accounts = sims.map((sim) => {
    const location = sim.defaultLocation;
    const url = sim.endpoint(location);
    const credentialsEnv: Record<string, string> = {};
    for (const [field, value] of Object.entries(sim.credentials)) {
      const variable = `FLEETFLOW_SIM_${sim.provider}_${field}`
        .replace(/([a-z])([A-Z])/g, '$1_$2')
        .replace(/[^A-Za-z0-9]/g, '_')
        .toUpperCase();
      credentialsEnv[field] = variable;
      env[variable] = value;
    }
    return {
      provider: sim.provider,
      account: 'default',
      locations: [location],
      endpoint: url.includes(`/${location}/`) ? url.replace(`/${location}/`, '/{location}/') : url,
      credentialsEnv,
    };
  });
  return { accounts, env };
}

function pasteable(setup: SimulatorAccounts): string {
  return [
    '# The simulators are running (Ctrl-C stops them; their instances live as long as they do).',
    '# 1. Put these accounts in fleetflow.config.yaml:',
    stringify({ accounts: setup.accounts }).trimEnd(),
    '',
    '# 2. Export the credentials they accept in the shell that runs `npx fleetflow start`:',
    ...Object.entries(setup.env).map(([k, v]) => `export ${k}='${v}'`),
    '',
  ].join('\n');
}
