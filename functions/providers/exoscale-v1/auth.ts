import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CloudStack request signing (HMAC-SHA1), exactly as `ApiServer.verifyRequest` checks it:
 * every parameter but `signature`, names sorted case-sensitively (Java String order), values
 * encoded like Java's `URLEncoder` with `+` → `%20`, pairs joined with `&`, the whole string
 * lower-cased, then base64(HMAC-SHA1(secret, string)).
 */

export type Params = Array<[string, string]>;

/** Java `URLEncoder.encode(v, "UTF-8")` followed by `+` → `%20`: only `A-Z a-z 0-9 . - _ *` stay. */
export function javaUrlEncode(value: string): string {
  // encodeURIComponent also leaves ! ~ ' ( ) unescaped; Java escapes them.
  return encodeURIComponent(value).replace(
    /[!~'()]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Code-unit order, as Java's `String.compareTo` (uppercase before lowercase). */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The string CloudStack signs: sorted, encoded, joined, lower-cased. */
export function stringToSign(params: Params): string {
  return params
    .filter(([name]) => name.toLowerCase() !== 'signature')
    .sort(([a], [b]) => compareNames(a, b))
    .map(([name, value]) => `${name}=${javaUrlEncode(value)}`)
    .join('&')
    .toLowerCase();
}

export function signParams(params: Params, secret: string): string {
  return createHmac('sha1', secret).update(stringToSign(params), 'utf8').digest('base64');
}

/** Constant-time comparison of two base64 signatures. */
export function signaturesMatch(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `expires` as cs writes it (`%Y-%m-%dT%H:%M:%S%z`, UTC): e.g. `2024-05-01T10:00:00+0000`. */
export function formatExpires(at: Date): string {
  return `${at.toISOString().slice(0, 19)}+0000`;
}

/**
 * Parses `expires` as the server does (`yyyy-MM-dd'T'HH:mm:ssZ` or an ISO offset such as
 * `+01:00` / `Z`); undefined when unreadable.
 */
export function parseExpires(value: string): Date | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$/.exec(value);
  if (!m) return undefined;
  const zone = m[2] === 'Z' ? 'Z' : `${m[2]!.slice(0, 3)}:${m[2]!.slice(-2)}`;
  const date = new Date(`${m[1]}${zone}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export interface SignOptions {
  apiKey: string;
  apiSecret: string;
  /** Signature lifetime; CloudStack's signature version 3. */
  expiresInMs?: number;
  now?: Date;
}

/**
 * Adds `apikey`, `signatureversion=3`, `expires` and `signature` to the parameters. Names stay
 * lower-case so that every client's sort order agrees with the server's.
 */
export function signRequest(params: Params, options: SignOptions): Params {
  const now = options.now ?? new Date();
  const expires = new Date(now.getTime() + (options.expiresInMs ?? 600_000));
  const withAuth: Params = [
    ...params.filter(
      ([k]) => !['apikey', 'signature', 'signatureversion', 'expires'].includes(k.toLowerCase()),
    ),
    ['apikey', options.apiKey],
    ['signatureversion', '3'],
    ['expires', formatExpires(expires)],
  ];
  return [...withAuth, ['signature', signParams(withAuth, options.apiSecret)]];
}
