import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * Provider credentials on AWS live in Secrets Manager, one JSON secret per provider account.
 * Cached for five minutes (as the Parameters and Secrets extension does) so a fleet run costs
 * one read per account, while a rotated secret is picked up soon after.
 */
const TTL_MS = 300_000;
const cache = new Map<string, { value: unknown; at: number }>();
let client: SecretsManagerClient | undefined;

export async function readSecretJson(secretArn: string): Promise<unknown> {
  const hit = cache.get(secretArn);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
  client ??= new SecretsManagerClient({});
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!SecretString) throw new Error(`secret ${secretArn} has no string value`);
  const value = JSON.parse(SecretString) as unknown;
  cache.set(secretArn, { value, at: Date.now() });
  return value;
}
