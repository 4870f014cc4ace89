import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { PROVIDERS } from '../providers/registry.ts';
import { metricsRefusal } from '../remediation/metrics-check.ts';
import { configSchema, type FleetflowConfig } from './schema.ts';

/** A config file that cannot be used: one line naming the file, the place in it, and what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly path: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${path ? `${path}: ` : ''}${detail}`, options);
  }
}

export const DEFAULT_CONFIG_FILES = [
  'fleetflow.config.yaml',
  'fleetflow.config.yml',
  'fleetflow.config.json',
];

/** The config file to use: the one given, else the first default name present in `cwd`, else none. */
export function findConfigFile(given?: string, cwd = process.cwd()): string | undefined {
  if (given) return resolve(cwd, given);
  return DEFAULT_CONFIG_FILES.map((f) => resolve(cwd, f)).find((f) => existsSync(f));
}

export function loadConfigFile(file: string): FleetflowConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  }
  return parseConfig(text, file);
}

/** Parses YAML or JSON text (JSON is YAML) and validates it; `file` only names it in errors. */
export function parseConfig(text: string, file = 'config'): FleetflowConfig {
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? `line ${error.linePos[0].line}` : '';
    throw new ConfigError(
      file,
      where,
      `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
      { cause: error },
    );
  }
  return validateConfig(raw ?? {}, file);
}

export function validateConfig(raw: unknown, file = 'config'): FleetflowConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // A refused record key says why in its nested issue (e.g. a reserved name), not in "Invalid key".
    const nested = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
    const message = nested ? `'${String(issue.path.at(-1))}' ${nested}` : issue.message;
    throw new ConfigError(file, issue.path.map(String).join('.'), message, { cause: parsed.error });
  }
  const config = parsed.data;
  checkReferences(config, file);
  return config;
}

/** What zod cannot see: targets must name configured accounts and locations, and select by what the provider has. */
function checkReferences(config: FleetflowConfig, file: string): void {
  config.policies.forEach((policy, i) => {
    const refused = metricsRefusal(policy, config.accounts);
    if (refused) throw new ConfigError(file, `policies.${i}.filters.idle`, refused);
  });
  const seen = new Set<string>();
  config.accounts.forEach((a, i) => {
    const key = `${a.provider}/${a.account}`;
    if (seen.has(key)) throw new ConfigError(file, `accounts.${i}`, `account ${key} is listed twice`);
    seen.add(key);
  });
  for (const [name, schedule] of Object.entries(config.schedules)) {
    schedule.targets.forEach((t, i) => {
      const path = `schedules.${name}.targets.${i}`;
      const accounts = config.accounts.filter(
        (a) => a.provider === t.provider && (t.account === undefined || a.account === t.account),
      );
      if (accounts.length === 0) {
        throw new ConfigError(
          file,
          path,
          `no account for ${t.provider}${t.account ? `/${t.account}` : ''} in accounts`,
        );
      }
      for (const location of t.locations ?? []) {
        if (!accounts.some((a) => a.locations.includes(location))) {
          throw new ConfigError(
            file,
            `${path}.locations`,
            `location ${location} is not in the ${t.provider} account's locations`,
          );
        }
      }
      if (!t.labels && !t.namePrefix) {
        throw new ConfigError(
          file,
          path,
          'select instances with labels or namePrefix (a target never means "everything")',
        );
      }
      if (t.labels && !PROVIDERS[t.provider].capabilities.labels.supported) {
        throw new ConfigError(
          file,
          `${path}.labels`,
          `${t.provider} instances have no labels; select them with namePrefix`,
        );
      }
    });
    for (const [i, h] of schedule.holidays.entries()) {
      if (typeof h !== 'string' && h.from > h.to)
        throw new ConfigError(file, `schedules.${name}.holidays.${i}`, '"from" is after "to"');
    }
  }
}
