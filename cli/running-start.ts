import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option } from 'commander';
import type { ProviderDefinition } from '../functions/providers/definition.ts';
import { registerSecret } from '../functions/shared/redact.ts';
import { API_TOKEN_FILE, readApiToken, readLocalKeyPair } from '../local/auth/data-folder.ts';
import type { AwsKeyPair } from '../local/auth/sigv4.ts';

/**
 * How a command reaches a running `fleetflow start`, the same way everywhere: `--data-dir` (default
 * .fleetflow), the folder where the start publishes its endpoints (endpoints.json), its webhook
 * secret and its simulators; and, for the commands that speak HTTP, `--url BASE` for its API.
 */

export const DEFAULT_DATA_DIR = '.fleetflow';
/** Written by `fleetflow start`: `{"http","sfn","dynamodb"}`; `{}` once it has stopped. */
export const ENDPOINTS_FILE = 'endpoints.json';
/** Written by `fleetflow start` (mode 600): each simulator's URL and the demo credentials it accepts. */
export const SIMULATORS_FILE = 'simulators.json';

export const DATA_DIR_HELP = 'data folder of `fleetflow start`';
export const URL_HELP =
  "base URL of fleetflow's HTTP API, e.g. http://127.0.0.1:8787 (default: the running `fleetflow start`'s)";

export const dataDirOption = () => new Option('--data-dir <dir>', DATA_DIR_HELP).default(DEFAULT_DATA_DIR);
export const urlOption = () => new Option('--url <base>', URL_HELP);

export interface StartOptions {
  dataDir?: string;
  url?: string;
}

/** No `fleetflow start` publishes its endpoints in this folder. */
export class NotRunningError extends Error {
  override name = 'NotRunningError';
  readonly hint: string;
  constructor(dataDir: string, alternative = '') {
    super(`no running \`fleetflow start\` found in ${dataDir}`);
    this.hint = `start it with \`npm start\` (or \`npx fleetflow start --data-dir ${dataDir}\`)${alternative}`;
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // absent, half-written or foreign: as if nothing ran
  }
}

/** What the start published, or `undefined` when none is running there. */
export function publishedEndpoints(dataDir = DEFAULT_DATA_DIR): {
  http?: string;
  sfn?: string;
  dynamodb?: string;
  tablePrefix?: string;
} {
  const raw = readJson(join(resolve(dataDir), ENDPOINTS_FILE)) ?? {};
  const text = (k: string) => (typeof raw[k] === 'string' && raw[k] ? { [k]: raw[k] as string } : {});
  return { ...text('http'), ...text('sfn'), ...text('dynamodb'), ...text('tablePrefix') };
}

/** The running start's endpoints; throws NotRunningError (with what to do) when there is none. */
export function runningStart(dataDir = DEFAULT_DATA_DIR): { http: string; sfn: string } {
  const found = publishedEndpoints(dataDir);
  if (!found.http || !found.sfn) throw new NotRunningError(dataDir);
  return { http: found.http, sfn: found.sfn };
}

/** `--url`, else the running start's HTTP API; without a trailing slash. */
export function httpBase(o: StartOptions): string {
  const dataDir = o.dataDir ?? DEFAULT_DATA_DIR;
  const base = o.url ?? publishedEndpoints(dataDir).http;
  if (!base) throw new NotRunningError(dataDir, ', or pass --url');
  return base.replace(/\/+$/, '');
}

/**
 * The AWS key pair the running start's Step Functions and DynamoDB endpoints accept, from its data
 * folder (readable by its user only); throws NotRunningError when the folder has none.
 */
export function localKeyPair(dataDir = DEFAULT_DATA_DIR): AwsKeyPair {
  const pair = readLocalKeyPair(resolve(dataDir));
  if (!pair) throw new NotRunningError(dataDir);
  return pair;
}

/**
 * The headers that authenticate a request to `url` as this user: the local API token, but only when
 * `url` is the running start's own HTTP API (published in the data folder). Another URL (a deployed
 * stack, any other server) never gets it.
 */
export function apiTokenHeaders(url: string, dataDir = DEFAULT_DATA_DIR): Record<string, string> {
  const published = publishedEndpoints(dataDir).http;
  if (!published || new URL(url).origin !== new URL(published).origin) return {};
  const token = readApiToken(resolve(dataDir));
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** For a 401 from the running start: where the token is. */
export const API_TOKEN_HINT = `the running start's API token is read from <data-dir>/${API_TOKEN_FILE}: pass the start's --data-dir`;

/**
 * A route under a base URL, keeping the base's own path (an API Gateway stage). A URL that
 * already ends with the route is taken as given.
 */
export function routeUrl(base: string, route: string): string {
  const url = new URL(base);
  if (url.pathname.replace(/\/+$/, '').endsWith(`/${route}`)) return url.toString();
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${route}`;
  return url.toString();
}

interface SimulatorEntry {
  url: string;
  credentials: Record<string, string>;
  location?: string;
  zones?: Record<string, string>;
}

/** How a provider command reaches the provider: its credentials, and an endpoint when not the real one. */
export interface ProviderAccess {
  credentials: Record<string, string>;
  endpoint?: string;
  /** One line for the user when the running start's simulator stands in for the provider. */
  note?: string;
}

/**
 * Credentials from the environment (with --endpoint if given); else, with neither, the simulator
 * of the running `fleetflow start`, as the start itself does for a provider without credentials.
 */
export function providerAccess(
  def: ProviderDefinition,
  o: { endpoint?: string; dataDir?: string; location?: string },
): ProviderAccess {
  const fromEnv = def.credentialsFromEnv(process.env) as Record<string, string> | undefined;
  const dataDir = o.dataDir ?? DEFAULT_DATA_DIR;
  let access: ProviderAccess | undefined;
  if (fromEnv) access = { credentials: fromEnv, ...(o.endpoint && { endpoint: o.endpoint }) };
  else if (!o.endpoint) {
    const sim = readJson(join(resolve(dataDir), SIMULATORS_FILE))?.[def.id] as SimulatorEntry | undefined;
    if (sim?.url && sim.credentials) {
      const endpoint = (o.location && sim.zones?.[o.location]) || sim.url;
      access = {
        credentials: sim.credentials,
        endpoint,
        note: `no ${def.credentialEnv.join('/')} set: using the simulator of the running \`fleetflow start\` (${endpoint})`,
      };
    }
  }
  if (!access)
    throw Object.assign(new Error(`${def.id} needs credentials: set ${def.credentialEnv.join(' and ')}`), {
      hint: o.endpoint
        ? 'the simulator at --endpoint accepts the credentials `fleetflow sim` printed'
        : `or run \`npm start\` first: without credentials, its simulator of ${def.id} is used`,
    });
  for (const value of Object.values(access.credentials)) registerSecret(value);
  return access;
}
