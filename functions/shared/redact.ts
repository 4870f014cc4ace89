import { isSecretRef } from './secret-ref.ts';

/**
 * Redaction: no key, secret, signature, token or Authorization header may reach a log line or an
 * error message. Two layers: known secret values registered by the clients that hold them, and
 * patterns that catch credentials by their shape even when nobody registered them.
 */

const REDACTED = '[REDACTED]';
const registered = new Set<string>();

/** Registers a secret value (API key, secret, token) so that it is scrubbed wherever it appears. */
export function registerSecret(value: string | undefined): void {
  // Very short values would scrub ordinary words; real credentials are long.
  if (value && value.length >= 6) registered.add(value);
}

/** Values scrubbed only while a call that holds them runs, counted so overlapping calls can share one. */
const scoped = new Map<string, number>();

/**
 * Runs `fn` with these values (secrets resolved for one provider call) scrubbed from every log line
 * and error message it produces, and stops scrubbing them afterwards so the list does not grow
 * with every job a long-lived process serves.
 */
export async function withSecretsRedacted<T>(values: readonly string[], fn: () => Promise<T>): Promise<T> {
  const held = [...new Set(values.filter((v) => v.length >= 6))];
  for (const v of held) scoped.set(v, (scoped.get(v) ?? 0) + 1);
  try {
    return await fn();
  } finally {
    for (const v of held) {
      const n = (scoped.get(v) ?? 1) - 1;
      if (n > 0) scoped.set(v, n);
      else scoped.delete(v);
    }
  }
}

const PATTERNS: Array<[RegExp, string]> = [
  // Authorization / auth-bearing headers, in any of the schemes the five providers use.
  [
    /\b(authorization|x-auth-token|mc-api-key|x-api-key)(["']?\s*[:=]\s*["']?)[^"',\n}]+/gi,
    `$1$2${REDACTED}`,
  ],
  [/\b(EXO2-HMAC-SHA256|Bearer|APIKey|Basic)\s+[^\s"',}]+(?:[^\s"'}]*)/g, `$1 ${REDACTED}`],
  // Query or form parameters that carry credentials or signatures.
  [
    /\b(signature|apikey|api_key|secret|secretkey|token|access_token|client_secret|password)=([^&\s"',]+)/gi,
    `$1=${REDACTED}`,
  ],
  // JSON fields that carry credentials.
  [
    /("(?:apiKey|apikey|api_key|secret|apiSecret|token|password|signature|webhookSecret)"\s*:\s*")[^"]*"/gi,
    `$1${REDACTED}"`,
  ],
  // Standard Webhooks secrets and signatures.
  [/whsec_[A-Za-z0-9+/=]+/g, `whsec_${REDACTED}`],
  [/\bv1,[A-Za-z0-9+/=]{20,}/g, `v1,${REDACTED}`],
];

/** Returns the text with every registered secret and every credential-shaped fragment removed. */
export function redactText(text: string): string {
  let out = text;
  // Most text holds no secret: looking first spares a split and a join per secret and string.
  for (const secret of registered) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  for (const secret of scoped.keys()) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * THE pattern for keys that name a credential, used wherever fleetflow decides by a key's name:
 * provisioning seals label and `extra` entries whose key matches it, and redaction blanks the value
 * under such a key in logs, jobs, audit events and events. Matched anywhere in the key, any case,
 * with `-`, `_`, `.` or nothing between words: password, passwd, passphrase, secret, token,
 * api key, private key, access key, credential(s), authorization, signature (so `DB_PASSWORD`,
 * `github-token`, `app.apiKey`, `ssh_private_key` all match; `team` or `env` do not).
 */
export const CREDENTIAL_KEY =
  /pass(?:word|wd|phrase)|secret|token|api[-_.]?key|private[-_.]?key|access[-_.]?key|credential|authorization|signature/i;

/** True when a key's name says its value is a credential (see CREDENTIAL_KEY). */
export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEY.test(key);
}

/**
 * Deep copy of a value with sensitive fields replaced; used for logs, job requests and audit
 * parameters. A secret reference (`{"$secret": …}`) is kept as it is: it names a sealed value,
 * it is not one.
 */
export function redactValue<T>(value: T): T {
  if (isSecretRef(value)) return value;
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = isCredentialKey(k) && !isSecretRef(v) ? REDACTED : redactValue(v);
    }
    return out as T;
  }
  return value;
}
