import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  DEFAULT_TOLERANCE_SECONDS,
  type HeaderBag,
  headerValue,
  type Payload,
  WebhookVerificationError,
} from './standard-webhooks.ts';

/**
 * Verifiers for senders that predate Standard Webhooks, so a GitHub or Slack hook can trigger a
 * flow too. Same error type and reasons as Standard Webhooks; secrets are used as UTF-8 text.
 */

const HEX_SHA256 = /^[0-9a-f]{64}$/;

function matches(expectedHex: Buffer, givenHex: string): boolean {
  return HEX_SHA256.test(givenHex) && timingSafeEqual(expectedHex, Buffer.from(givenHex, 'hex'));
}

function requireSecrets(secrets: string[]): void {
  if (secrets.length === 0 || secrets.some((s) => s.length === 0)) {
    throw new WebhookVerificationError('invalid-secret', 'no webhook secret is configured');
  }
}

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC of the raw body>`. GitHub signs no timestamp, so
 * replays are caught only by deduplicating on `X-GitHub-Delivery` (returned as `id`).
 */
export function verifyGitHub(input: { secrets: string[]; headers: HeaderBag; payload: Payload }): {
  id?: string;
} {
  requireSecrets(input.secrets);
  const header = headerValue(input.headers, 'x-hub-signature-256');
  if (header === undefined)
    throw new WebhookVerificationError('missing-headers', 'missing header(s): x-hub-signature-256');
  if (!header.startsWith('sha256=') || !HEX_SHA256.test(header.slice(7))) {
    throw new WebhookVerificationError(
      'malformed-signature',
      'x-hub-signature-256 is not sha256=<64 hex digits>',
    );
  }
  for (const secret of input.secrets) {
    if (matches(createHmac('sha256', secret).update(input.payload).digest(), header.slice(7))) {
      const id = headerValue(input.headers, 'x-github-delivery');
      return id === undefined ? {} : { id };
    }
  }
  throw new WebhookVerificationError('no-matching-signature', 'x-hub-signature-256 does not match the body');
}

/** Slack: `X-Slack-Signature: v0=<hex HMAC of "v0:ts:body">` with `X-Slack-Request-Timestamp`, ±5 min. */
export function verifySlack(input: {
  secrets: string[];
  headers: HeaderBag;
  payload: Payload;
  now?: Date;
  toleranceSeconds?: number;
}): { timestamp: number } {
  requireSecrets(input.secrets);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const signature = headerValue(input.headers, 'x-slack-signature');
  const rawTimestamp = headerValue(input.headers, 'x-slack-request-timestamp');
  if (signature === undefined || rawTimestamp === undefined) {
    const missing = [
      signature ? undefined : 'x-slack-signature',
      rawTimestamp ? undefined : 'x-slack-request-timestamp',
    ];
    throw new WebhookVerificationError(
      'missing-headers',
      `missing header(s): ${missing.filter(Boolean).join(', ')}`,
    );
  }
  if (!/^\d{1,15}$/.test(rawTimestamp)) {
    throw new WebhookVerificationError('invalid-timestamp', 'x-slack-request-timestamp is not Unix seconds');
  }
  const timestamp = Number(rawTimestamp);
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000);
  if (now - timestamp > tolerance) {
    throw new WebhookVerificationError(
      'timestamp-too-old',
      `x-slack-request-timestamp is beyond the ${tolerance} s tolerance`,
    );
  }
  if (timestamp - now > tolerance) {
    throw new WebhookVerificationError(
      'timestamp-in-future',
      `x-slack-request-timestamp is beyond the ${tolerance} s tolerance`,
    );
  }
  if (!signature.startsWith('v0=') || !HEX_SHA256.test(signature.slice(3))) {
    throw new WebhookVerificationError('malformed-signature', 'x-slack-signature is not v0=<64 hex digits>');
  }
  for (const secret of input.secrets) {
    const mac = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(input.payload).digest();
    if (matches(mac, signature.slice(3))) return { timestamp };
  }
  throw new WebhookVerificationError('no-matching-signature', 'x-slack-signature does not match the body');
}
