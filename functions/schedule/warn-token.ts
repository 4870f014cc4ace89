import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';

/**
 * The signed, single-purpose tokens in a warning's snooze links. A token says, and its signature
 * binds together: which schedule (or policy) it is about, which stop (the edge, an instant), which
 * choice the link makes (keep running 1 h / 2 h / until tomorrow's stop, skip this stop), which
 * warning group (the instances listed in one notice) and who it was issued to, and until when it
 * is good. Changing any of it breaks the signature; a token for one schedule cannot act on
 * another, and none acts once its stop has passed.
 *
 * Format: base64url(JSON payload) "." base64url(HMAC-SHA256(key, "fleetflow-snooze.v1." + payload)).
 * Hand-written (a dozen lines of node:crypto): a JWT library would bring algorithm negotiation
 * this needs none of. Keys are held by reference (warn-key.ts); several are accepted while one
 * is rotated, the first signs.
 */

export const SNOOZE_CHOICES = ['1h', '2h', 'tomorrow', 'skip'] as const;
export type SnoozeChoice = (typeof SNOOZE_CHOICES)[number];

const payloadSchema = z.strictObject({
  v: z.literal(1),
  /** s: a schedule's stop edge; p: a policy's stop (idle stop with warn). */
  k: z.enum(['s', 'p']),
  /** The schedule or policy name. */
  n: z.string().min(1).max(48),
  /** The stop this warns about, epoch seconds. */
  e: z.number().int().positive(),
  c: z.enum(SNOOZE_CHOICES),
  /** The warning group (one notice's instances). */
  g: z.string().regex(/^[a-z0-9-]{1,64}$/),
  /** Who the notice went to (the owner label's value), when known. */
  o: z.string().max(256).optional(),
  /** Good until, epoch seconds. */
  x: z.number().int().positive(),
  /** A nonce: two notices never share a token. */
  r: z.string().regex(/^[A-Za-z0-9_-]{8,32}$/),
});
export type SnoozeClaims = z.output<typeof payloadSchema>;

const DOMAIN = 'fleetflow-snooze.v1.';
/** The largest token accepted: a bound before any parsing or hashing. */
export const MAX_TOKEN_LENGTH = 1024;

export type TokenProblem = 'malformed' | 'bad-signature' | 'expired';

export class SnoozeTokenError extends Error {
  override name = 'SnoozeTokenError';
  constructor(
    readonly problem: TokenProblem,
    message: string,
    /** For an expired token: what it was (its signature held), so the page can say which stop passed. */
    readonly claims?: SnoozeClaims,
  ) {
    super(message);
  }
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(DOMAIN).update(payload).digest();
}

/** Signs the claims with the first key. */
export function signSnoozeToken(claims: Omit<SnoozeClaims, 'v' | 'r'>, keys: readonly Buffer[]): string {
  const key = keys[0];
  if (!key) throw new Error('no snooze signing key');
  const full = payloadSchema.parse({ v: 1, ...claims, r: randomBytes(9).toString('base64url') });
  const payload = Buffer.from(JSON.stringify(full)).toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/**
 * Verifies a token: shape, signature (with any accepted key, in constant time), then expiry.
 * Throws SnoozeTokenError saying which; nothing in a token is trusted before its signature holds.
 */
export function verifySnoozeToken(token: string, keys: readonly Buffer[], now = Date.now()): SnoozeClaims {
  if (
    typeof token !== 'string' ||
    token.length > MAX_TOKEN_LENGTH ||
    !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/.test(token)
  )
    throw new SnoozeTokenError(
      'malformed',
      'this link is not a fleetflow snooze link (it may have been cut short)',
    );
  const [payload, signature] = token.split('.') as [string, string];
  const given = Buffer.from(signature, 'base64url');
  // One spelling per signature: base64url's spare bits in the last character must be zero.
  if (
    given.toString('base64url') !== signature ||
    !keys.some((key) => timingSafeEqual(mac(key, payload), given))
  )
    throw new SnoozeTokenError('bad-signature', 'this link was altered or was not issued by this fleetflow');
  let claims: SnoozeClaims;
  try {
    claims = payloadSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    throw new SnoozeTokenError('malformed', 'this link carries no valid snooze request');
  }
  if (claims.x * 1000 <= now)
    throw new SnoozeTokenError(
      'expired',
      `this link expired at ${new Date(claims.x * 1000).toISOString()}`,
      claims,
    );
  return claims;
}
