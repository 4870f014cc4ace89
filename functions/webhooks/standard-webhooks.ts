import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (v1.0.0, HMAC-SHA256 `v1` scheme): the signed content is
 * `${webhook-id}.${webhook-timestamp}.${raw body}`, the key is the `whsec_` secret base64-decoded,
 * and `webhook-signature` is a space-separated list of `v1,<base64>` so a sender can sign with the
 * old and the new key while a secret is being rotated. Done with node:crypto; the npm package adds
 * a JSON parse and a fixed tolerance that we do not want.
 *
 * Errors never carry a secret, a signature or the body: only which check failed.
 */

export const HEADER_ID = 'webhook-id';
export const HEADER_TIMESTAMP = 'webhook-timestamp';
export const HEADER_SIGNATURE = 'webhook-signature';

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const SIGNATURE_BYTES = 32;
/** Bounds the work an attacker can ask for with a header of thousands of signatures. */
const MAX_SIGNATURES = 10;
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type WebhookVerificationReason =
  | 'missing-headers'
  | 'invalid-timestamp'
  | 'timestamp-too-old'
  | 'timestamp-in-future'
  | 'no-matching-signature'
  | 'malformed-signature'
  | 'invalid-secret';

export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
  readonly reason: WebhookVerificationReason;
  constructor(reason: WebhookVerificationReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

export type Payload = string | Uint8Array;
export type HeaderBag = Record<string, string | string[] | undefined>;

/** Strips `whsec_` and base64-decodes; raw base64 is accepted too. Throws `invalid-secret`. */
export function decodeSecret(secret: string): Buffer {
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!BASE64.test(body) || body.length % 4 === 1) {
    throw new WebhookVerificationError('invalid-secret', 'the webhook secret is not whsec_<base64>');
  }
  const key = Buffer.from(body, 'base64');
  if (key.length === 0) throw new WebhookVerificationError('invalid-secret', 'the webhook secret is empty');
  return key;
}

/** A new secret: 32 random bytes (the spec asks for 24 to 64), `whsec_` + base64. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

function toSeconds(timestamp: number | Date): number {
  return timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : Math.floor(timestamp);
}

function mac(key: Buffer, id: string, timestamp: number, payload: Payload): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(payload).digest();
}

export interface SignInput {
  secret: string;
  id: string;
  /** Unix seconds, or a Date. */
  timestamp: number | Date;
  /** The exact bytes that will be sent. */
  payload: Payload;
}

/** Returns the `v1,<base64>` signature for one secret. */
export function sign(input: SignInput): string {
  const key = decodeSecret(input.secret);
  return `v1,${mac(key, input.id, toSeconds(input.timestamp), input.payload).toString('base64')}`;
}

/**
 * The three headers for a delivery. Several secrets give several signatures (rotation: sign with
 * the old and the new key until every receiver has the new one).
 */
export function signedHeaders(input: {
  secrets: string | string[];
  id: string;
  timestamp?: number | Date;
  payload: Payload;
}): Record<string, string> {
  const timestamp = toSeconds(input.timestamp ?? new Date());
  const secrets = Array.isArray(input.secrets) ? input.secrets : [input.secrets];
  const signatures = secrets.map((secret) =>
    sign({ secret, id: input.id, timestamp, payload: input.payload }),
  );
  return {
    [HEADER_ID]: input.id,
    [HEADER_TIMESTAMP]: String(timestamp),
    [HEADER_SIGNATURE]: signatures.join(' '),
  };
}

/** Case-insensitive header lookup; a repeated header counts as its first value. */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : headers[key];
  }
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === '' ? undefined : first.trim();
}

export interface VerifyInput {
  /** Every secret currently accepted (more than one while a secret is being rotated). */
  secrets: string[];
  headers: HeaderBag;
  /** The raw body exactly as received: re-serialised JSON would not match. */
  payload: Payload;
  now?: Date;
  toleranceSeconds?: number;
}

export interface VerifiedWebhook {
  id: string;
  /** Unix seconds from `webhook-timestamp`. */
  timestamp: number;
}

/** Checks headers, timestamp window and signature; throws `WebhookVerificationError` on any failure. */
export function verify(input: VerifyInput): VerifiedWebhook {
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  // Keys first: a misconfigured receiver must say so, not blame the sender.
  if (input.secrets.length === 0) {
    throw new WebhookVerificationError('invalid-secret', 'no webhook secret is configured');
  }
  const keys = input.secrets.map(decodeSecret);

  const id = headerValue(input.headers, HEADER_ID);
  const rawTimestamp = headerValue(input.headers, HEADER_TIMESTAMP);
  const rawSignature = headerValue(input.headers, HEADER_SIGNATURE);
  const missing = [
    id === undefined ? HEADER_ID : undefined,
    rawTimestamp === undefined ? HEADER_TIMESTAMP : undefined,
    rawSignature === undefined ? HEADER_SIGNATURE : undefined,
  ].filter((h): h is string => h !== undefined);
  if (id === undefined || rawTimestamp === undefined || rawSignature === undefined) {
    throw new WebhookVerificationError('missing-headers', `missing header(s): ${missing.join(', ')}`);
  }

  if (!/^\d{1,15}$/.test(rawTimestamp)) {
    throw new WebhookVerificationError(
      'invalid-timestamp',
      'webhook-timestamp is not an integer of Unix seconds',
    );
  }
  const timestamp = Number(rawTimestamp);
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000);
  if (now - timestamp > tolerance) {
    throw new WebhookVerificationError(
      'timestamp-too-old',
      `webhook-timestamp is ${now - timestamp} s old, beyond the ${tolerance} s tolerance`,
    );
  }
  if (timestamp - now > tolerance) {
    throw new WebhookVerificationError(
      'timestamp-in-future',
      `webhook-timestamp is ${timestamp - now} s in the future, beyond the ${tolerance} s tolerance`,
    );
  }

  const candidates: Buffer[] = [];
  let malformed = 0;
  for (const entry of rawSignature.split(' ').filter(Boolean).slice(0, MAX_SIGNATURES)) {
    const comma = entry.indexOf(',');
    if (comma <= 0) {
      malformed += 1;
      continue;
    }
    // Other schemes (v1a is ed25519) are skipped, as the spec asks.
    if (entry.slice(0, comma) !== 'v1') continue;
    const value = entry.slice(comma + 1);
    const bytes = BASE64.test(value) ? Buffer.from(value, 'base64') : undefined;
    if (bytes?.length === SIGNATURE_BYTES) candidates.push(bytes);
    else malformed += 1;
  }
  if (candidates.length === 0) {
    throw new WebhookVerificationError(
      'malformed-signature',
      malformed > 0
        ? 'webhook-signature holds no well-formed v1,<base64 HMAC-SHA256> entry'
        : 'webhook-signature holds no v1 signature',
    );
  }

  for (const key of keys) {
    const expected = mac(key, id, timestamp, input.payload);
    for (const candidate of candidates) {
      if (timingSafeEqual(expected, candidate)) return { id, timestamp };
    }
  }
  throw new WebhookVerificationError(
    'no-matching-signature',
    'no signature in webhook-signature matches the body and an accepted secret',
  );
}
