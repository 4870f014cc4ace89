import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * EXO2-HMAC-SHA256, as egoscale (`v2/api/security.go`, `v3/api.go`) and requests-exoscale-auth
 * sign Exoscale API v2 requests. The message is five lines joined by `\n`, no trailing newline:
 *   1. `<METHOD> <escaped path>`        (path only, `:` in `/instance/<id>:start` stays literal)
 *   2. the raw body as sent, or empty
 *   3. the values of the single-valued query parameters, sorted by name, concatenated
 *   4. signed header values: none today, always empty
 *   5. the expiry, UNIX seconds
 * The signature is base64(HMAC-SHA256(secret, message)).
 */

export const SCHEME = 'EXO2-HMAC-SHA256';
/** egoscale and the Python auth both sign for ten minutes. */
export const DEFAULT_TTL_SECONDS = 600;

export interface SignInput {
  method: string;
  /** The path exactly as it goes on the wire (already escaped), without the query string. */
  path: string;
  body?: string;
  /** Decoded query pairs in any order; repeated names are left out, as Go's signer does. */
  query?: Array<[string, string]>;
  /** UNIX seconds. */
  expires: number;
}

/** The names and values that take part in the signature: single-valued parameters, sorted by name. */
export function signedQuery(query: Array<[string, string]> = []): Array<[string, string]> {
  const counts = new Map<string, number>();
  for (const [k] of query) counts.set(k, (counts.get(k) ?? 0) + 1);
  return query.filter(([k]) => counts.get(k) === 1).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function stringToSign(input: SignInput): string {
  const values = signedQuery(input.query)
    .map(([, v]) => v)
    .join('');
  return [
    `${input.method.toUpperCase()} ${input.path}`,
    input.body ?? '',
    values,
    '',
    String(input.expires),
  ].join('\n');
}

export function signature(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message, 'utf8').digest('base64');
}

/** The full Authorization header value. */
export function authorizationHeader(apiKey: string, apiSecret: string, input: SignInput): string {
  const names = signedQuery(input.query).map(([k]) => k);
  const parts = [`credential=${apiKey}`];
  if (names.length > 0) parts.push(`signed-query-args=${names.join(';')}`);
  parts.push(`expires=${input.expires}`, `signature=${signature(apiSecret, stringToSign(input))}`);
  return `${SCHEME} ${parts.join(',')}`;
}

export interface ParsedAuthorization {
  credential: string;
  signedQueryArgs: string[];
  expires: number;
  signature: string;
}

/** Reads an Authorization header; undefined when it is missing or not a well-formed EXO2 header. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space) !== SCHEME) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('credential');
  const expires = fields.get('expires');
  const sig = fields.get('signature');
  if (!credential || !expires || !/^\d{1,12}$/.test(expires) || !sig) return undefined;
  const args = fields.get('signed-query-args');
  return {
    credential,
    signedQueryArgs: args ? args.split(';').filter(Boolean) : [],
    expires: Number(expires),
    signature: sig,
  };
}

export type VerifyOutcome =
  | 'ok'
  | 'unknown-credential'
  | 'bad-signature'
  | 'expired'
  | 'too-far-ahead'
  | 'unsigned-query';

export interface VerifyInput {
  auth: ParsedAuthorization;
  /** Looks up the secret for an API key. */
  secretFor: (apiKey: string) => string | undefined;
  method: string;
  path: string;
  body: string;
  query: Array<[string, string]>;
  nowSeconds: number;
  /** How far in the future `expires` may lie. */
  maxAheadSeconds: number;
}

/**
 * Verifies a request as the server does: the query values signed are those of the names the
 * client listed in `signed-query-args` that carry exactly one value (Python's signer lists
 * repeated names but skips their values; Go leaves them out); a single-valued, non-empty
 * parameter the client did not sign is refused, so nobody can add one to a signed request.
 */
export function verify(input: VerifyInput): VerifyOutcome {
  const { auth } = input;
  const secret = input.secretFor(auth.credential);
  if (secret === undefined) return 'unknown-credential';
  const values = new Map<string, string[]>();
  for (const [k, v] of input.query) values.set(k, [...(values.get(k) ?? []), v]);
  const listed = new Set(auth.signedQueryArgs);
  for (const [k, vs] of values)
    if (!listed.has(k) && vs.length === 1 && vs[0] !== '') return 'unsigned-query';
  const signedValues = [...listed]
    .sort()
    .map((k) => values.get(k))
    .filter((vs): vs is string[] => vs?.length === 1)
    .map((vs) => vs[0]!)
    .join('');
  const message = [
    `${input.method.toUpperCase()} ${input.path}`,
    input.body,
    signedValues,
    '',
    String(auth.expires),
  ].join('\n');
  const expected = Buffer.from(signature(secret, message));
  const given = Buffer.from(auth.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'bad-signature';
  if (auth.expires < input.nowSeconds) return 'expired';
  if (auth.expires > input.nowSeconds + input.maxAheadSeconds) return 'too-far-ahead';
  return 'ok';
}
/**
 * One Exoscale API key serves both APIs (v2 and the v1 CloudStack compute API), so both provider
 * definitions read it the same way, from the same variables.
 */
export const EXOSCALE_CREDENTIAL_ENV = ['EXOSCALE_API_KEY', 'EXOSCALE_API_SECRET'];

export function exoscaleCredentialsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> | undefined {
  const apiKey = env.EXOSCALE_API_KEY;
  const apiSecret = env.EXOSCALE_API_SECRET;
  return apiKey && apiSecret ? { apiKey, apiSecret } : undefined;
}
