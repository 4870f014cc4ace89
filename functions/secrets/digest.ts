import { timingSafeEqual } from 'node:crypto';
import type { JsonValue } from '../store/schemas.ts';
import type { ResolvedSecret } from './fields.ts';
import { pathOf, pointerOf } from './ref.ts';

/**
 * Keyed digests of the secrets a provider call was sent, kept in its audit intent so an operator
 * can later prove what was sent (`fleetflow audit prove`) without the value ever being stored.
 * Keyed with the audit trail's own chain key (HMAC-SHA256): without the key a digest cannot be
 * checked against guesses, and it binds the job and the field, so equal secrets of two jobs or two
 * fields give unrelated digests.
 */

/** The audit key's signing interface (functions/store/audit-keys.ts), as far as digests need it. */
export interface DigestKey {
  readonly id: string;
  /** Lower-case hex HMAC-SHA256 of the canonical JSON of a value. */
  sign(value: unknown): string;
}
export interface DigestKeyring {
  readonly current: DigestKey;
  byId(id: string): DigestKey | undefined;
}

/** One field's digest, as the audit intent keeps it (no key name matches the credential pattern). */
export interface SealedDigest {
  /** JSON pointer of the field in the request, e.g. `/userData`, `/labels/db-token`. */
  field: string;
  /** The audit key that made it (its id reveals nothing of the key). */
  keyId: string;
  hmac: string;
}

const PURPOSE = 'fleetflow sealed secret digest';

const signed = (key: DigestKey, job: string, field: string, value: JsonValue) =>
  key.sign({ purpose: PURPOSE, job, field, value });

export function digestSecrets(
  key: DigestKey,
  job: string,
  secrets: readonly ResolvedSecret[],
): SealedDigest[] {
  return secrets.map((s) => ({ field: s.field, keyId: key.id, hmac: signed(key, job, s.field, s.value) }));
}

export type ProofOutcome = 'match' | 'mismatch' | 'unknown-key';

/** Whether `value` is what a digest was made of; `unknown-key` when the key that made it is not in the keyring. */
export function proveDigest(
  keyring: DigestKeyring,
  job: string,
  digest: SealedDigest,
  value: JsonValue,
): ProofOutcome {
  const key = keyring.byId(digest.keyId);
  if (!key) return 'unknown-key';
  const expected = Buffer.from(signed(key, job, digest.field, value));
  const stored = Buffer.from(digest.hmac);
  return expected.length === stored.length && timingSafeEqual(expected, stored) ? 'match' : 'mismatch';
}

/**
 * A field as a person names it — `userData`, `extra.password`, `labels.db-token` (the first dot
 * splits the field from a label's or option's own key) or a JSON pointer — as the pointer digests use.
 */
export function fieldPointer(field: string): string {
  if (field.startsWith('/')) return pointerOf(pathOf(field));
  const dot = field.indexOf('.');
  return pointerOf(dot < 0 ? [field] : [field.slice(0, dot), field.slice(dot + 1)]);
}
