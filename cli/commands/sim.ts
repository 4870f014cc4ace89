import { type Command, InvalidArgumentError } from 'commander';
import { PROVIDER_IDS } from '../../functions/providers/port.ts';
import { providerDefinition } from '../../functions/providers/registry.ts';
import { createSimulator } from '../../sim/index.ts';

const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};

/**
 * `fleetflow sim <provider>`: runs a provider's simulator until Ctrl-C, after printing one JSON
 * line with its URL and the credentials it accepts (so scripts can read it).
 */
export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run a provider API simulator on loopback (prints one JSON line when ready)')
    .argument('<provider>', `one of ${PROVIDER_IDS.join(', ')}`)
    .option('--port <n>', 'port to listen on (0 picks a free one)', int('--port'), 0)
    .option('--seed <n>', 'seed for the demo fleet', int('--seed'), 1)
    .option('--fleet-size <n>', 'instances in the demo fleet', int('--fleet-size'), 6)
    .option('--latency <ms>', 'added to every answer', int('--latency'), 0)
    .option('--rate-limit <rps>', 'requests per second before 429 + Retry-After', int('--rate-limit'), 0)
    .option('--transition <ms>', 'how long state transitions take', int('--transition'), 1500)
    .option('--operation <ms>', 'how long asynchronous operations take', int('--operation'), 1000)
    .option('--json', 'print the ready line as JSON (always the case: scripts read it)')
    .action(async (provider: string, o) => {
      const def = providerDefinition(provider);
      const sim = await createSimulator(def.id, {
        port: o.port,
        seed: o.seed,
        fleetSize: o.fleetSize,
        latencyMs: o.latency,
        rateLimitRps: o.rateLimit,
        transitionMs: o.transition,
        operationMs: o.operation,
      }).start();
      process.stdout.write(`${JSON.stringify(sim.describe())}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await sim.close();
    });
}
