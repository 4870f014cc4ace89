import * as z from 'zod';
import type { ProviderDefinition } from '../providers/definition.ts';
import { ProviderAuthenticationError } from '../providers/errors.ts';
import { type ComputeProvider, PROVIDER_IDS, type ProviderId } from '../providers/port.ts';
import { providerDefinition } from '../providers/registry.ts';
import { registerSecret } from '../shared/redact.ts';
import { readSecretJson } from './secrets.ts';

/**
 * Where each provider account's credentials and endpoint come from. The same code runs on Lambda
 * and locally; only the configuration differs: on AWS an account names a Secrets Manager secret,
 * locally it carries credentials (a simulator's) or falls back to the provider's env variables.
 *
 * FLEETFLOW_ACCOUNTS holds a JSON array of AccountConfig.
 */
export const accountConfigSchema = z.strictObject({
  provider: z.enum(PROVIDER_IDS),
  account: z.string().min(1).max(64).default('default'),
  endpoint: z.url().optional(),
  secretArn: z.string().min(1).optional(),
  credentials: z.record(z.string(), z.string()).optional(),
  /** The account's rate limit: its calls from this process are paced to it (the embedded runtime sets it). */
  requestsPerSecond: z.number().positive().max(10_000).optional(),
});
export type AccountConfig = z.infer<typeof accountConfigSchema>;

/** Who and where a provider call goes to; plain JSON so it travels through workflow state. */
export interface Target {
  provider: ProviderId;
  account: string;
  location: string;
}

export class AccountConfigError extends Error {
  override name = 'AccountConfigError';
}

/** The last FLEETFLOW_ACCOUNTS read and what it parsed to: every provider call looks it up. */
let lastAccounts: { raw: string; parsed: AccountConfig[] } | undefined;

export function accountsFromEnv(env: NodeJS.ProcessEnv = process.env): AccountConfig[] {
  const raw = env.FLEETFLOW_ACCOUNTS;
  if (!raw) return [];
  if (lastAccounts?.raw === raw) return lastAccounts.parsed;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new AccountConfigError('FLEETFLOW_ACCOUNTS is not valid JSON', { cause: error });
  }
  const result = z.array(accountConfigSchema).safeParse(parsed);
  if (!result.success)
    throw new AccountConfigError(`FLEETFLOW_ACCOUNTS is invalid: ${result.error.issues[0]?.message}`);
  lastAccounts = { raw, parsed: result.data };
  return result.data;
}

const adapters = new Map<string, ComputeProvider>();

/** The adapter for a target, built once per process (keep-alive pools and catalogues are reused). */
export async function providerFor(
  target: Target,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ComputeProvider> {
  const def = providerDefinition(target.provider);
  const account = accountsFromEnv(env).find(
    (a) => a.provider === target.provider && a.account === target.account,
  );
  const credentials = await credentialsFor(def, target, account, env);
  // One endpoint for every location, or one per location with `{location}` in it (Exoscale's zones).
  const endpoint = account?.endpoint?.replaceAll('{location}', target.location);
  const rps = account?.requestsPerSecond;
  const key = JSON.stringify([target, endpoint, credentials, rps]);
  let adapter = adapters.get(key);
  if (!adapter) {
    adapter = def.createAdapter({
      location: target.location,
      credentials,
      ...(endpoint && { endpoint }),
      ...(rps && { requestsPerSecond: rps }),
    });
    adapters.set(key, adapter);
  }
  return adapter;
}

async function credentialsFor(
  def: ProviderDefinition,
  target: Target,
  account: AccountConfig | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Record<string, string>> {
  let credentials: Record<string, string> | undefined;
  if (account?.credentials) credentials = account.credentials;
  else if (account?.secretArn)
    credentials = z.record(z.string(), z.string()).parse(await readSecretJson(account.secretArn));
  else if (target.account === 'default') credentials = def.credentialsFromEnv(env);
  if (!credentials) {
    throw new ProviderAuthenticationError(
      `no credentials for ${target.provider} account '${target.account}': set ${def.credentialEnv.join(' and ')} or configure the account`,
      { provider: target.provider, code: 'no-credentials' },
    );
  }
  for (const value of Object.values(credentials)) registerSecret(value);
  return credentials;
}
