import { readSecretJson } from './secrets.ts';

/**
 * The accepted webhook signing secrets (`whsec_…`), several while a key is being rotated:
 * FLEETFLOW_WEBHOOK_SECRET (space or comma separated) or, on AWS, the secret named by
 * FLEETFLOW_WEBHOOK_SECRET_ARN holding `{"secrets":["whsec_…", …]}`.
 */
export async function webhookSecrets(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  if (env.FLEETFLOW_WEBHOOK_SECRET) return env.FLEETFLOW_WEBHOOK_SECRET.split(/[\s,]+/).filter(Boolean);
  if (env.FLEETFLOW_WEBHOOK_SECRET_ARN) {
    const value = (await readSecretJson(env.FLEETFLOW_WEBHOOK_SECRET_ARN)) as { secrets?: unknown };
    if (Array.isArray(value.secrets)) return value.secrets.filter((s): s is string => typeof s === 'string');
  }
  throw new Error('no webhook secret configured (FLEETFLOW_WEBHOOK_SECRET or FLEETFLOW_WEBHOOK_SECRET_ARN)');
}
