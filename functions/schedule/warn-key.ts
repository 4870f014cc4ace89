import { randomBytes } from 'node:crypto';
import { readSecretJson } from '../runtime/secrets.ts';
import { registerSecret } from '../shared/redact.ts';

/**
 * The keys that sign snooze links, held by reference like the other secrets: FLEETFLOW_SNOOZE_KEY
 * (one or more `snk_…` keys, space or comma separated: `fleetflow start` keeps one in its data
 * folder) or, on AWS, the Secrets Manager secret FLEETFLOW_SNOOZE_KEY_ARN names, holding
 * `{"key":"<64 random characters>"}` as the stack generates it, or `{"keys":["snk_…", …]}` (to
 * rotate: put the new key first, drop the old one once its links have expired). The first key
 * signs; every key verifies.
 */

const PREFIX = 'snk_';

export class SnoozeKeyError extends Error {
  override name = 'SnoozeKeyError';
}

/** A new key: 32 random bytes. */
export function generateSnoozeKey(): string {
  return `${PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** `snk_` + base64url, or (a generated secret) at least 43 characters used as they are. */
export function decodeSnoozeKey(text: string): Buffer {
  const raw = text.startsWith(PREFIX)
    ? Buffer.from(text.slice(PREFIX.length), 'base64url')
    : text.length >= 43
      ? Buffer.from(text, 'utf8')
      : Buffer.alloc(0);
  if (raw.length < 32)
    throw new SnoozeKeyError(
      'a snooze key is snk_ and 32 bytes or more in base64url, or 43+ random characters',
    );
  registerSecret(text);
  return raw;
}

export async function snoozeKeys(env: NodeJS.ProcessEnv = process.env): Promise<Buffer[]> {
  let texts: string[] = [];
  if (env.FLEETFLOW_SNOOZE_KEY) texts = env.FLEETFLOW_SNOOZE_KEY.split(/[\s,]+/).filter(Boolean);
  else if (env.FLEETFLOW_SNOOZE_KEY_ARN) {
    const value = (await readSecretJson(env.FLEETFLOW_SNOOZE_KEY_ARN)) as { keys?: unknown; key?: unknown };
    if (Array.isArray(value.keys)) texts = value.keys.filter((k): k is string => typeof k === 'string');
    else if (typeof value.key === 'string') texts = [value.key];
  }
  if (texts.length === 0)
    throw new SnoozeKeyError('no snooze key configured (FLEETFLOW_SNOOZE_KEY or FLEETFLOW_SNOOZE_KEY_ARN)');
  return texts.map(decodeSnoozeKey);
}
