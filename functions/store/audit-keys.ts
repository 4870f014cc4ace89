import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { hmacCanonical } from './canonical-json.ts';

/**
 * The audit trail's keys. Events are hashed with HMAC-SHA256 under the CHAIN key (held by the
 * functions that append and by the verifier); checkpoints are signed with the CHECKPOINT key (held
 * by the checkpoint writer and the verifier). Someone who can write the table but holds neither key
 * cannot forge a link or a checkpoint; someone who holds only the chain key (a compromised appender)
 * still cannot rewrite what a checkpoint already vouches for.
 *
 * A key is stored as JSON `{"key": "<at least 32 characters>", "previous": ["<older key>", …]}`:
 * `key` signs new records, `previous` only verifies old ones (rotation without losing old chains).
 * Each record names the key that made it by `keyId`, a digest of the key that reveals nothing of it.
 */

export type AuditKeyPurpose = 'chain' | 'checkpoint';

/** No usable key: missing, unreadable, too short, or readable by others. Nothing was written. */
export class AuditKeyError extends Error {
  override name = 'AuditKeyError';
}

export interface AuditKey {
  /** Names the key in each record; derived from the key, safe to store and print. */
  readonly id: string;
  /** Lower-case hex HMAC-SHA256 of the canonical JSON of `value`. */
  sign(value: unknown): string;
}

export interface AuditKeyring {
  /** Signs new records. */
  readonly current: AuditKey;
  /** The key with this id, current or previous. */
  byId(id: string): AuditKey | undefined;
}

export const MIN_KEY_LENGTH = 32;

const keyDocument = z.object({
  key: z.string().min(MIN_KEY_LENGTH),
  previous: z.array(z.string().min(MIN_KEY_LENGTH)).optional(),
});

function makeKey(material: string): AuditKey {
  const bytes = Buffer.from(material, 'utf8');
  const id = `k-${createHmac('sha256', bytes).update('fleetflow audit key id').digest('hex').slice(0, 16)}`;
  return { id, sign: (value) => hmacCanonical(bytes, value) };
}

/** A keyring from a key document (a secret's JSON, a key file's content). */
export function auditKeyring(document: unknown, where: string): AuditKeyring {
  const parsed = keyDocument.safeParse(document);
  if (!parsed.success) {
    // Never echo the document: it is the secret.
    throw new AuditKeyError(
      `${where} is not an audit key: expected {"key":"…"} with at least ${MIN_KEY_LENGTH} characters`,
    );
  }
  const current = makeKey(parsed.data.key);
  const all = new Map([current, ...(parsed.data.previous ?? []).map(makeKey)].map((k) => [k.id, k]));
  return { current, byId: (id) => all.get(id) };
}

/** Where a keyring comes from, resolved when first needed (and cached by the resolver). */
export type AuditKeySource = () => Promise<AuditKeyring>;

/** A source that always fails: for an audit log that may read but must never write or verify. */
export function noAuditKey(purpose: AuditKeyPurpose, hint: string): AuditKeySource {
  return () => Promise.reject(new AuditKeyError(`no audit ${purpose} key configured: ${hint}`));
}

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
