import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, findConfigFile, loadConfigFile } from '../../functions/config/load.ts';
import type { FleetflowConfig } from '../../functions/config/schema.ts';
import { configJsonSchema } from '../../functions/config/schema.ts';

export const SCHEMA_FILE = 'docs/schema/fleetflow.config.schema.json';

/** The config named by --config, else ./fleetflow.config.yaml (or .yml/.json) when present. */
export function configFrom(given: string | undefined, required: true): FleetflowConfig;
export function configFrom(given: string | undefined, required?: boolean): FleetflowConfig | undefined;
export function configFrom(given: string | undefined, required = false): FleetflowConfig | undefined {
  const file = findConfigFile(given);
  if (!file) {
    if (required) throw new ConfigError('fleetflow.config.yaml', '', 'not found; pass --config <file>');
    return undefined;
  }
  return loadConfigFile(file);
}

/** `fleetflow config schema|check`. */
export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .description('the config file (schedules and policies as code): check it, write its JSON Schema');
  config
    .command('schema')
    .description(`write the config file's JSON Schema (for editors) to ${SCHEMA_FILE}`)
    .option('--out <file>', 'where to write it', SCHEMA_FILE)
    .option('--json', 'print the schema itself as JSON instead of writing the file')
    .action((o: { out: string; json?: boolean }) => {
      if (o.json) {
        process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
        return;
      }
      const out = resolve(o.out);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      process.stdout.write(`wrote ${o.out}\n`);
    });
  config
    .command('check')
    .description('validate the config file')
    .option('--config <file>', 'config file (default ./fleetflow.config.yaml)')
    .option('--json', 'print the result as JSON')
    .action((o: { config?: string; json?: boolean }) => {
      const c = configFrom(o.config, true);
      const summary = { ok: true, accounts: c.accounts.length, schedules: Object.keys(c.schedules) };
      process.stdout.write(
        o.json
          ? `${JSON.stringify(summary)}\n`
          : `ok: ${summary.accounts} accounts, schedules: ${summary.schedules.join(', ') || 'none'}\n`,
      );
    });
}
