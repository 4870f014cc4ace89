import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';
// Deep imports keep the Lambda bundles to the pool and its HTTP/1 client: undici's index also
// brings fetch, WebSocket, caches and mocks (about 250 KB more). They are private paths, an
// upgrade hazard: undici is pinned to an exact version, and test/providers/http/client.test.ts
// fails if these modules stop being the very classes the package index exports.
import requestOn from 'undici/lib/api/api-request.js';
import undiciErrors from 'undici/lib/core/errors.js';
import PoolImpl from 'undici/lib/dispatcher/pool.js';
import { logger as defaultLogger, type Logger } from '../../log.ts';
import { redactText, registerSecret } from '../../shared/redact.ts';
import { type ProviderError, ProviderOutcomeUnknownError, ProviderTransientError } from '../errors.ts';
import type { Action, ProviderId } from '../port.ts';
import { pacerFor, type RequestPacer } from './pacing.ts';
import { parseRetryAfter, RetryPolicy } from './retry.ts';

/**
 * The HTTP core every adapter uses: a keep-alive pool per endpoint, connect/headers/body
 * timeouts, the shared retry policy, typed errors and redaction. Adapters supply only how to
 * authenticate a request and how to read their provider's error bodies.
 */

export type QueryValue = string | number | boolean | undefined;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path relative to the client's base URL, e.g. `/instance/123:start`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** JSON body, or a form body for CloudStack-style POSTs. */
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** The port action this request serves, for errors and logs. */
  action?: Action | string;
  /** Whether repeating the request is harmless. Defaults to true for GET/PUT/DELETE, false otherwise. */
  idempotent?: boolean;
}

/** A request with its final URL pieces, handed to the authenticator. */
export interface PreparedRequest {
  method: string;
  /** Full path including the base URL's path prefix, without the query string. */
  path: string;
  /** Query parameters in send order. */
  query: Array<[string, string]>;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, else undefined. */
  body: unknown;
  /** The body as text, with secrets redacted. */
  readonly text: string;
  requestId?: string;
}

export interface HttpClientOptions {
  provider: ProviderId;
  baseUrl: string;
  /** Signs or adds credentials; runs again on every attempt (signatures expire). */
  authenticate: (request: PreparedRequest) => PreparedRequest;
  /** Maps a non-2xx answer to a typed error. */
  mapError: (answer: HttpAnswer, request: HttpRequest) => ProviderError;
  /** Where the provider puts its request id, besides the usual headers. */
  requestIdFrom?: (answer: HttpAnswer) => string | undefined;
  /** Credential values to scrub from any text that leaves the client. */
  secrets?: Array<string | undefined>;
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  retry?: RetryPolicy;
  logger?: Logger;
  /** The account's `requestsPerSecond`: calls are paced to it (pacing.ts). Unpaced when absent. */
  requestsPerSecond?: number;
}

const pools = new Map<string, Pool>();

/** One keep-alive pool per origin, shared by every client of that endpoint in the process. */
function poolFor(origin: string, timeouts: Required<NonNullable<HttpClientOptions['timeouts']>>): Pool {
  const key = `${origin}|${timeouts.connectMs}|${timeouts.headersMs}|${timeouts.bodyMs}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new PoolImpl(origin, {
      connections: 32,
      keepAliveTimeout: 10_000,
      connect: { timeout: timeouts.connectMs },
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.bodyMs,
    });
    pools.set(key, pool);
  }
  return pool;
}

/** Closes every pool (tests and CLI exit). */
export async function closeAllPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close().catch(() => undefined)));
}

const REQUEST_ID_HEADERS = ['x-request-id', 'request-id', 'x-correlation-id', 'x-amzn-requestid'];

/** Errors raised before any byte of the request reached the server. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

export class HttpClient {
  readonly provider: ProviderId;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly pool: Pool;
  private readonly retry: RetryPolicy;
  private readonly log: Logger;
  private readonly pacer: RequestPacer | undefined;

  constructor(private readonly options: HttpClientOptions) {
    this.provider = options.provider;
    const url = new URL(options.baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/$/, '');
    for (const s of options.secrets ?? []) registerSecret(s);
    this.pool = poolFor(this.origin, {
      connectMs: options.timeouts?.connectMs ?? 5_000,
      headersMs: options.timeouts?.headersMs ?? 30_000,
      bodyMs: options.timeouts?.bodyMs ?? 30_000,
    });
    this.retry = options.retry ?? new RetryPolicy();
    this.log = (options.logger ?? defaultLogger).child({ provider: options.provider });
    this.pacer = options.requestsPerSecond
      ? pacerFor(options.provider, options.secrets ?? [], options.requestsPerSecond)
      : undefined;
  }

  /** Sends the request with retries; resolves with the 2xx answer or rejects with a typed error. */
  async send(request: HttpRequest): Promise<HttpAnswer> {
    const idempotent = request.idempotent ?? (request.method !== 'POST' && request.method !== 'PATCH');
    for (let attempt = 1; ; attempt++) {
      let answer: HttpAnswer;
      await this.pacer?.take();
      try {
        answer = await this.once(request);
      } catch (error) {
        const code = networkCode(error);
        const maybeSent = !NOT_SENT_CODES.has(code);
        const decision = this.retry.decide(attempt, { kind: 'network', maybeSent }, idempotent);
        this.log.debug('network error', { action: request.action, code, attempt, decision: decision.reason });
        if (decision.retry) {
          await sleep(decision.delayMs);
          continue;
        }
        const where = `${request.method} ${this.basePath}${request.path}`;
        if (maybeSent && !idempotent) {
          throw new ProviderOutcomeUnknownError(
            `${this.provider}: ${where} failed after sending (${code}); the outcome is unknown`,
            {
              provider: this.provider,
              action: request.action,
              code,
              cause: error,
            },
          );
        }
        throw new ProviderTransientError(`${this.provider}: ${where} failed: ${code} (${decision.reason})`, {
          provider: this.provider,
          action: request.action,
          code,
          cause: error,
        });
      }

      if (answer.status >= 200 && answer.status < 300) {
        this.retry.succeeded();
        return answer;
      }
      const error = this.options.mapError(answer, request);
      const retryAfterMs = parseRetryAfter(answer.headers);
      const decision = this.retry.decide(
        attempt,
        {
          kind: 'status',
          status: answer.status,
          transient: error.retryable,
          ...(retryAfterMs !== undefined && { retryAfterMs }),
        },
        idempotent,
      );
      this.log.debug('provider error', {
        action: request.action,
        status: answer.status,
        requestId: answer.requestId,
        attempt,
        decision: decision.reason,
      });
      if (decision.retry) {
        await sleep(decision.delayMs);
        continue;
      }
      if (!idempotent && !error.retryable && [500, 502, 504].includes(answer.status)) {
        throw new ProviderOutcomeUnknownError(`${error.message} (the request may have been applied)`, {
          provider: this.provider,
          action: request.action,
          status: answer.status,
          ...(error.requestId !== undefined && { requestId: error.requestId }),
          cause: error,
        });
      }
      throw error;
    }
  }

  /** Sends and returns the JSON body. */
  async json<T = unknown>(request: HttpRequest): Promise<T> {
    return (await this.send(request)).body as T;
  }

  private async once(request: HttpRequest): Promise<HttpAnswer> {
    const query: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(request.query ?? {})) if (v !== undefined) query.push([k, String(v)]);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'fleetflow/0.1',
      ...request.headers,
    };
    let body: string | undefined;
    if (request.form) {
      body = new URLSearchParams(request.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['content-type'] = 'application/json';
    }
    const prepared = this.options.authenticate({
      method: request.method,
      path: `${this.basePath}${request.path}`,
      query,
      headers,
      ...(body !== undefined && { body }),
    });
    const qs = prepared.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    const response = await requestOn.call(this.pool, {
      method: prepared.method as 'GET',
      path: qs ? `${prepared.path}?${qs}` : prepared.path,
      headers: prepared.headers,
      ...(prepared.body !== undefined && { body: prepared.body }),
    });
    const text = await response.body.text();
    const responseHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(response.headers)) {
      if (v !== undefined) responseHeaders[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    let parsed: unknown;
    if (text && /json/.test(responseHeaders['content-type'] ?? 'json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    // Only error paths read the text: it is redacted when first read, so a large listing is not
    // scanned for secrets on every call.
    let redacted: string | undefined;
    const answer: HttpAnswer = {
      status: response.statusCode,
      headers: responseHeaders,
      body: parsed,
      get text() {
        redacted ??= redactText(text);
        return redacted;
      },
    };
    const requestId =
      this.options.requestIdFrom?.(answer) ?? REQUEST_ID_HEADERS.map((h) => responseHeaders[h]).find(Boolean);
    if (requestId) answer.requestId = requestId;
    return answer;
  }
}

function networkCode(error: unknown): string {
  if (error instanceof undiciErrors.UndiciError) return (error as { code?: string }).code ?? error.name;
  const e = error as { code?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code ?? (error instanceof Error ? error.name : 'UNKNOWN');
}

/** Builds the usual error for an answer: subclasses pick the class, this fills the details. */
export function errorDetails(provider: ProviderId, answer: HttpAnswer, request: HttpRequest, code?: string) {
  const retryAfterMs = parseRetryAfter(answer.headers);
  return {
    provider,
    status: answer.status,
    ...(request.action !== undefined && { action: request.action }),
    ...(code !== undefined && { code }),
    ...(answer.requestId !== undefined && { requestId: answer.requestId }),
    ...(retryAfterMs !== undefined && { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) }),
  };
}
