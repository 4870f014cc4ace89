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
  for (const secret of registered) out = out.split(secret).join(REDACTED);
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

const SENSITIVE_KEY =
  /^(authorization|x-auth-token|mc-api-key|api[-_]?key|api[-_]?secret|secret|token|password|signature|credentials?|webhook[-_]?secret)$/i;

/** Deep copy of a value with sensitive fields replaced; used for logs, job requests and audit parameters. */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SENSITIVE_KEY.test(k) ? REDACTED : redactValue(v);
    }
    return out as T;
  }
  return value;
}
