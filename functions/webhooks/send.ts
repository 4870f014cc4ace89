import { createHash } from 'node:crypto';
import { redactText } from '../shared/redact.ts';
import { signedHeaders } from './standard-webhooks.ts';

/**
 * The sending side of Standard Webhooks: one signed POST, no retries (callers that need them, like
 * notify/outgoing.ts, loop around it and keep the same webhook-id so the receiver can dedupe).
 * Errors name only the origin: a webhook URL's path often is the credential (Slack, Teams…).
 */

export class WebhookSendError extends Error {
  override name = 'WebhookSendError';
  constructor(
    message: string,
    readonly code: 'network' | 'timeout',
    options?: { cause?: unknown },
  ) {
    super(redactText(message), options);
  }
}

export interface PostAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** Parsed body when it is JSON. */
  json?: unknown;
}

export interface PostOptions {
  url: string;
  body: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the webhook URL';
  }
}

/**
 * One JSON POST with a whole-request timeout; throws `WebhookSendError` when no answer came.
 * Node's built-in fetch (undici inside): no bundle cost for the Lambdas that notify.
 */
export async function postJson(options: PostOptions): Promise<PostAnswer> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  let answer: Response;
  let text: string;
  try {
    answer = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: options.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await answer.text();
  } catch (error) {
    // fetch wraps network failures in a TypeError whose cause carries the system code.
    const cause = (error as { cause?: { code?: string } }).cause;
    const code = cause?.code ?? (error as { code?: string }).code;
    const timedOut =
      (error as Error).name === 'TimeoutError' ||
      code === 'UND_ERR_HEADERS_TIMEOUT' ||
      code === 'UND_ERR_BODY_TIMEOUT';
    throw new WebhookSendError(
      timedOut
        ? `no answer from ${originOf(options.url)} within ${timeoutMs} ms`
        : `could not reach ${originOf(options.url)} (${code ?? (error as Error).name})`,
      timedOut ? 'timeout' : 'network',
      { cause: error },
    );
  }
  const headers: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    headers[name] = value;
  });
  let json: unknown;
  if (text && /json/i.test(headers['content-type'] ?? '')) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: answer.status, headers, text, ...(json === undefined ? {} : { json }) };
}

/** `msg_` + a hash of the content: the same content gives the same id, so re-sending is a redelivery. */
export function webhookIdFor(payload: string | Uint8Array): string {
  return `msg_${createHash('sha256').update(payload).digest('base64url').slice(0, 27)}`;
}

export interface SendSignedOptions {
  url: string;
  /** `whsec_…`; several sign with each (key rotation). */
  secret: string | string[];
  /** The exact body to send. */
  payload: string;
  /** Defaults to `webhookIdFor(payload)`. */
  id?: string;
  /** Defaults to now; a retry must re-sign with a fresh timestamp. */
  timestamp?: number | Date;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export interface SignedDelivery extends PostAnswer {
  webhookId: string;
  timestamp: number;
}

/** Signs the payload with Standard Webhooks and POSTs it once. */
export async function sendSigned(options: SendSignedOptions): Promise<SignedDelivery> {
  const id = options.id ?? webhookIdFor(options.payload);
  const signed = signedHeaders({
    secrets: options.secret,
    id,
    payload: options.payload,
    ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
  });
  const answer = await postJson({
    url: options.url,
    body: options.payload,
    headers: { ...options.headers, ...signed },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  return { ...answer, webhookId: id, timestamp: Number(signed['webhook-timestamp']) };
}
