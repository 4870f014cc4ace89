import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '../log.ts';
import { parseRetryAfter } from '../providers/http/retry.ts';
import { registerSecret } from '../shared/redact.ts';
import { type PostAnswer, postJson, sendSigned, WebhookSendError, webhookIdFor } from '../webhooks/send.ts';

/**
 * Outgoing notifications: a generic webhook signed with Standard Webhooks, and a Slack incoming
 * webhook. Both retry 429, 5xx and network failures a few times with full-jitter backoff, honour
 * Retry-After up to a cap (a longer wait is given up on: a notification is not worth holding a
 * Lambda for), and return a result instead of throwing: a failed notification must never fail the
 * job it reports on. Nothing returned or logged holds a secret or a webhook URL's path.
 */

export interface DeliveryResult {
  ok: boolean;
  /** Last HTTP status, when an answer came. */
  status?: number;
  attempts: number;
  /** Why it failed, for a person; no secret, no URL path. */
  error?: string;
  webhookId?: string;
}

export interface DeliveryOptions {
  /** Per attempt. The Standard Webhooks spec suggests 15–30 s. */
  timeoutMs?: number;
  /** Retries after the first attempt. */
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The longest Retry-After we wait for. */
  retryAfterCapMs?: number;
  random?: () => number;
  logger?: Logger;
}

type Attempt = () => Promise<PostAnswer>;

const log = createLogger({ component: 'notify' });

function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid URL';
  }
}

async function deliver(target: string, attempt: Attempt, options: DeliveryOptions): Promise<DeliveryResult> {
  const maxAttempts = 1 + (options.maxRetries ?? 3);
  const base = options.baseDelayMs ?? 500;
  const cap = options.maxDelayMs ?? 10_000;
  const retryAfterCap = options.retryAfterCapMs ?? 30_000;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? log;

  let last: DeliveryResult = { ok: false, attempts: 0 };
  for (let n = 1; n <= maxAttempts; n++) {
    let waitMs: number | undefined;
    try {
      const answer = await attempt();
      if (answer.status >= 200 && answer.status < 300)
        return { ok: true, status: answer.status, attempts: n };
      last = { ok: false, status: answer.status, attempts: n, error: `${target} answered ${answer.status}` };
      if (answer.status === 410) {
        // The spec's signal to stop delivering to this endpoint.
        return { ...last, error: `${target} answered 410 Gone: the receiver asks to disable this endpoint` };
      }
      if (!retryable(answer.status)) return last;
      waitMs = parseRetryAfter(answer.headers);
      if (waitMs !== undefined && waitMs > retryAfterCap) {
        return { ...last, error: `${last.error}; Retry-After ${Math.ceil(waitMs / 1000)} s exceeds the cap` };
      }
    } catch (error) {
      if (!(error instanceof WebhookSendError)) throw error;
      last = { ok: false, attempts: n, error: error.message };
    }
    if (n === maxAttempts) break;
    const backoff = Math.floor(random() * Math.min(cap, base * 2 ** (n - 1)));
    const delay = Math.max(waitMs ?? 0, backoff);
    logger.warn('notification attempt failed; retrying', {
      target,
      attempt: n,
      status: last.status,
      delayMs: delay,
    });
    await sleep(delay);
  }
  logger.warn('notification not delivered', { target, attempts: last.attempts, status: last.status });
  return last;
}

export interface WebhookEventOptions extends DeliveryOptions {
  url: string;
  /** `whsec_…`; several while rotating. */
  secret: string | string[];
  /** Any JSON value; Standard Webhooks recommends `{type, timestamp, data}`. */
  event: unknown;
  /** Stays the same on every retry so the receiver can dedupe. Default: a hash of the event. */
  id?: string;
}

/** POSTs a JSON event signed with Standard Webhooks; each attempt is re-signed with a fresh timestamp. */
export async function sendWebhookEvent(options: WebhookEventOptions): Promise<DeliveryResult> {
  const payload = JSON.stringify(options.event);
  const id = options.id ?? webhookIdFor(payload);
  const attempt = () =>
    sendSigned({
      url: options.url,
      secret: options.secret,
      payload,
      id,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  const result = await deliver(originOf(options.url), attempt, options);
  return { ...result, webhookId: id };
}

export interface SlackMessageOptions extends DeliveryOptions {
  /** The incoming-webhook URL; its path is the credential. */
  url: string;
  text: string;
  blocks?: unknown[];
}

/**
 * Posts `{text, blocks?}` to a Slack incoming webhook. Slack has no idempotency key, so a 5xx
 * after Slack applied the message may show it twice: acceptable for a notification.
 */
export async function sendSlack(options: SlackMessageOptions): Promise<DeliveryResult> {
  registerSecret(options.url);
  const body = JSON.stringify({ text: options.text, ...(options.blocks ? { blocks: options.blocks } : {}) });
  const attempt = () =>
    postJson({
      url: options.url,
      body,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  return deliver(originOf(options.url), attempt, options);
}
