import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { redactText } from '../shared/redact.ts';
import { type HttpApiEvent, type HttpApiResult, problem } from './http-event.ts';
import {
  HEADER_ID,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  headerValue,
  verify,
  WebhookVerificationError,
} from './standard-webhooks.ts';

/**
 * The front half of every webhook handler: size limit, signature, JSON, schema — in that order,
 * so a huge body costs no HMAC and an unauthenticated body is never parsed. Pure: no I/O, no
 * clock unless none is given, so each rejection is a unit test.
 *
 * Replays are not rejected here: the caller uses `webhookId` as the Step Functions execution
 * name, so a redelivery lands on the same job. `payloadHash` lets the caller tell a redelivery
 * (same id, same hash) from a conflicting reuse of an id (same id, different hash).
 */

export const DEFAULT_MAX_BYTES = 64 * 1024;
const MAX_ISSUE_LINES = 10;

/** A rejected delivery, with the HTTP status and error code it maps to. */
export class WebhookRequestError extends Error {
  override name = 'WebhookRequestError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(redactText(message), options);
  }
}

export class PayloadTooLargeError extends WebhookRequestError {
  override name = 'PayloadTooLargeError';
  constructor(readonly maxBytes: number) {
    super(413, 'payload-too-large', `the body exceeds the ${maxBytes}-byte limit`);
  }
}

export class MissingWebhookIdError extends WebhookRequestError {
  override name = 'MissingWebhookIdError';
  constructor() {
    super(400, 'missing-webhook-id', 'the webhook-id header is required: it makes a redelivery idempotent');
  }
}

/** 401 for the sender's signature problems; 500 when our own secret is unusable. */
export class WebhookSignatureError extends WebhookRequestError {
  override name = 'WebhookSignatureError';
  readonly reason: WebhookVerificationError['reason'];
  constructor(cause: WebhookVerificationError) {
    const ours = cause.reason === 'invalid-secret';
    super(
      ours ? 500 : 401,
      ours ? 'webhook-secret-misconfigured' : cause.reason,
      ours
        ? 'the webhook secret configured on this endpoint is unusable'
        : `signature check failed: ${cause.message}`,
      { cause },
    );
    this.reason = cause.reason;
  }
}

export class MalformedJsonError extends WebhookRequestError {
  override name = 'MalformedJsonError';
  constructor(cause: unknown) {
    // JSON.parse messages quote the input; keep only the position hint.
    const at = cause instanceof Error ? /position \d+/.exec(cause.message)?.[0] : undefined;
    super(400, 'malformed-json', `the body is not valid JSON${at ? ` (at ${at})` : ''}`);
  }
}

export class SchemaValidationError extends WebhookRequestError {
  override name = 'SchemaValidationError';
  constructor(readonly issues: string[]) {
    super(422, 'invalid-body', `the body does not match the schema:\n${issues.join('\n')}`);
  }
}

export interface ReceiveOptions<S extends z.ZodType> {
  /** Accepted secrets (`whsec_…`); more than one while rotating. */
  secrets: string[];
  maxBytes?: number;
  schema: S;
  now?: Date;
  toleranceSeconds?: number;
}

export interface ReceivedWebhook<T> {
  webhookId: string;
  /** `webhookId` when it is a valid Step Functions execution name, else a stable hash of it. */
  executionName: string;
  /** Unix seconds from `webhook-timestamp`. */
  timestamp: number;
  body: T;
  /** Hex SHA-256 of the raw body. */
  payloadHash: string;
}

/**
 * Step Functions execution names allow 1–80 of `[A-Za-z0-9_-]` (roughly); ids from other senders
 * may not fit, so they are hashed: the same id still gives the same name, hence the same job.
 */
export function executionNameFor(webhookId: string): string {
  if (/^[A-Za-z0-9_-]{1,80}$/.test(webhookId)) return webhookId;
  return `wh_${createHash('sha256').update(webhookId).digest('base64url').slice(0, 43)}`;
}

/** `path: message` lines, at most ten, for a 422 a person can fix. */
export function summariseIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string[] {
  const lines = issues.slice(0, MAX_ISSUE_LINES).map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.');
    return `${path.replace(/\.\[/g, '[') || '(root)'}: ${issue.message}`;
  });
  if (issues.length > MAX_ISSUE_LINES) lines.push(`… and ${issues.length - MAX_ISSUE_LINES} more`);
  return lines;
}

/** The raw body bytes, refusing anything over the limit before decoding or hashing it. */
function rawBody(event: HttpApiEvent, maxBytes: number): Buffer {
  const body = event.body ?? '';
  if (event.isBase64Encoded) {
    // base64 is 4 chars per 3 bytes: reject on length alone before decoding.
    if (Math.floor((body.length * 3) / 4) - 2 > maxBytes) throw new PayloadTooLargeError(maxBytes);
    const bytes = Buffer.from(body, 'base64');
    if (bytes.length > maxBytes) throw new PayloadTooLargeError(maxBytes);
    return bytes;
  }
  // UTF-8 needs at least one byte per UTF-16 unit, so length alone can already decide.
  if (body.length > maxBytes || Buffer.byteLength(body) > maxBytes) throw new PayloadTooLargeError(maxBytes);
  return Buffer.from(body, 'utf8');
}

/** Verifies and parses one Standard Webhooks delivery; throws a `WebhookRequestError` on rejection. */
export function receiveSignedJson<S extends z.ZodType>(
  event: HttpApiEvent,
  options: ReceiveOptions<S>,
): ReceivedWebhook<z.output<S>> {
  const payload = rawBody(event, options.maxBytes ?? DEFAULT_MAX_BYTES);

  const headers = event.headers ?? {};
  // A signed delivery without an id is a sender bug (400); with nothing at all it is unsigned (401).
  const signed =
    headerValue(headers, HEADER_SIGNATURE) !== undefined ||
    headerValue(headers, HEADER_TIMESTAMP) !== undefined;
  if (signed && headerValue(headers, HEADER_ID) === undefined) throw new MissingWebhookIdError();

  let verified: { id: string; timestamp: number };
  try {
    verified = verify({
      secrets: options.secrets,
      headers,
      payload,
      ...(options.now ? { now: options.now } : {}),
      ...(options.toleranceSeconds !== undefined ? { toleranceSeconds: options.toleranceSeconds } : {}),
    });
  } catch (error) {
    if (error instanceof WebhookVerificationError) throw new WebhookSignatureError(error);
    throw error;
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    throw new MalformedJsonError(error);
  }
  const result = options.schema.safeParse(parsed);
  if (!result.success) throw new SchemaValidationError(summariseIssues(result.error.issues));

  return {
    webhookId: verified.id,
    executionName: executionNameFor(verified.id),
    timestamp: verified.timestamp,
    body: result.data,
    payloadHash: createHash('sha256').update(payload).digest('hex'),
  };
}

/**
 * Maps a rejection to its answer in the shared error shape. Anything else is a 500 with a generic
 * message: details belong in the (redacted) log, not in the answer.
 */
export function toHttpError(error: unknown): HttpApiResult {
  if (error instanceof WebhookRequestError) return problem(error.status, error.code, error.message);
  if (error instanceof WebhookVerificationError) return toHttpError(new WebhookSignatureError(error));
  return problem(500, 'internal-error', 'internal error');
}
