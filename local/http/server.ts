import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createLogger, type Logger } from '../../functions/log.ts';
import {
  BodyTooLargeError,
  type ListeningServer,
  listen,
  readBody,
} from '../../functions/shared/http-server.ts';
import { type RouteMatch, RouteTable } from '../../functions/shared/routes.ts';
import type { HttpApiEvent, HttpApiResult } from '../../functions/webhooks/http-event.ts';
import { problem } from '../../functions/webhooks/http-event.ts';
import { createGuard, defaultAccess, type RouteAccess } from './guard.ts';

/**
 * The local stand-in for API Gateway (HTTP API, payload format 2.0): it turns a Node request into
 * the event API Gateway would hand a Lambda, runs the handler, and writes its result. Handlers
 * therefore run unchanged here and on AWS. Deliberate API Gateway behaviours kept: lower-case
 * headers joined with commas, cookies split out, repeated query keys joined with commas, a body
 * that is not UTF-8 passed as base64, a request id in `apigw-requestid`, a handler time limit.
 * In front of every route, the rules of ./guard.ts: an allowed Host always; for state-changing
 * routes, no foreign Origin, and the local API token with a JSON body unless the route is a signed
 * webhook. A refused request never reaches its handler, and its body is not read.
 */

export type RouteHandler = (event: HttpApiEvent) => Promise<HttpApiResult>;

export interface Route {
  /** `GET`, `POST`…, or `ANY`. */
  method: string;
  /** API Gateway route syntax: `/jobs/{id}`, `/files/{path+}` (greedy, last segment only). */
  path: string;
  handler: RouteHandler;
  /** Who may call it; by default GET and HEAD are `read` and every other method needs the token. */
  access?: RouteAccess;
}

export interface HttpServerOptions {
  port?: number;
  host?: string;
  routes: Route[];
  /** Requests with a bigger body get 413 and are not read further. API Gateway's own cap is 10 MB. */
  maxBodyBytes?: number;
  /** API Gateway gives an integration at most 30 s, then answers 503. */
  handlerTimeoutMs?: number;
  logger?: Logger;
  /** The local API token the `token` routes require; without one they are all refused. */
  apiToken?: string;
  /** Host names answered besides loopback and the bound address (`fleetflow start --allow-host`). */
  allowHosts?: readonly string[];
}

export interface RunningHttpServer extends ListeningServer {
  /** Every route with the access rule it is served under. */
  routes: Array<{ method: string; path: string; access: RouteAccess }>;
}

function toEvent(
  req: IncomingMessage,
  body: Buffer,
  hit: RouteMatch<RouteHandler>,
  access: RouteAccess,
): HttpApiEvent {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const rawQueryString = q === -1 ? '' : target.slice(q + 1);
  const method = (req.method ?? 'GET').toUpperCase();

  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (!values) continue;
    // The local API token stops here: no handler, log or stored request ever sees it.
    if (name === 'authorization' && access === 'token') continue;
    if (name === 'cookie') cookies = values.flatMap((v) => v.split(/;\s*/)).filter(Boolean);
    else headers[name] = values.join(',');
  }

  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString) {
    queryStringParameters = {};
    for (const [key, value] of new URLSearchParams(rawQueryString)) {
      const prior = queryStringParameters[key];
      queryStringParameters[key] = prior === undefined ? value : `${prior},${value}`;
    }
  }

  const pathParameters = Object.keys(hit.params).length > 0 ? hit.params : undefined;

  const now = new Date();
  const routeKey = `${hit.route.method.toUpperCase()} ${hit.route.path}`;
  const text = isUtf8(body);
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    ...(cookies ? { cookies } : {}),
    ...(queryStringParameters ? { queryStringParameters } : {}),
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
        ...(headers['user-agent'] ? { userAgent: headers['user-agent'] } : {}),
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}

function write(res: ServerResponse, result: HttpApiResult, requestId: string, close = false): void {
  const body =
    result.body === undefined
      ? undefined
      : result.isBase64Encoded
        ? Buffer.from(result.body, 'base64')
        : Buffer.from(result.body, 'utf8');
  const headers: Record<string, string | number> = {
    ...(result.headers ?? {}),
    'apigw-requestid': requestId,
  };
  if (body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  headers['content-length'] = body?.length ?? 0;
  if (close) headers.connection = 'close';
  res.writeHead(result.statusCode, headers);
  res.end(body);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
const TIMED_OUT = Symbol('timed out');

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const routes = new RouteTable<RouteHandler>(options.routes);
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const handlerTimeoutMs = options.handlerTimeoutMs ?? 30_000;
  const log = options.logger ?? createLogger({ component: 'http' });
  const guard = createGuard({
    ...(options.apiToken !== undefined && { apiToken: options.apiToken }),
    ...(options.allowHosts && { allowHosts: options.allowHosts }),
  });

  const server = createServer(async (req, res) => {
    const started = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const rawPath = (req.url ?? '/').split('?')[0]!;
    let requestId: string = randomUUID();
    let status = 500;
    const answer = (result: HttpApiResult, close = false) => {
      status = result.statusCode;
      write(res, result, requestId, close);
    };
    // The access log has the path only: a query string or headers may carry tokens.
    res.on('finish', () => {
      log.info('http request', {
        method,
        path: rawPath,
        status,
        ms: Math.round(performance.now() - started),
        requestId,
      });
    });

    try {
      const misdirected = guard.host(req);
      if (misdirected) {
        req.resume();
        return answer(misdirected);
      }
      const found = routes.lookup(method, rawPath);
      if (!found.hit) {
        req.resume();
        if (found.status === 404) return answer(problem(404, 'not-found', `no route for ${rawPath}`));
        const allow = found.allow.join(', ');
        return answer(
          problem(405, 'method-not-allowed', `${method} is not allowed on ${rawPath}; use ${allow}`, {
            allow,
          }),
        );
      }

      const access = (found.hit.route as Route).access ?? defaultAccess(method);
      const refused = guard.access(req, access);
      if (refused) {
        req.resume();
        return answer(refused);
      }

      let body: Buffer;
      try {
        body = await readBody(req, maxBodyBytes);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        answer(problem(413, 'payload-too-large', `the body exceeds the ${maxBodyBytes}-byte limit`), true);
        // Stop reading: drop the connection once the answer is out instead of draining the rest.
        res.once('finish', () => req.socket.destroySoon());
        return;
      }

      const event = toEvent(req, body, found.hit, access);
      requestId = event.requestContext.requestId;
      const result = await withTimeout(found.hit.handler(event), handlerTimeoutMs);
      if (result === TIMED_OUT) {
        log.error('handler timed out', { routeKey: event.routeKey, requestId, timeoutMs: handlerTimeoutMs });
        return answer(
          problem(503, 'handler-timeout', `the handler did not answer within ${handlerTimeoutMs} ms`),
        );
      }
      return answer(result);
    } catch (error) {
      // Details go to the (redacted) log only; the caller gets the request id to quote.
      log.error('handler failed', {
        method,
        path: rawPath,
        requestId,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      if (!res.headersSent) {
        answer(problem(500, 'internal-error', `internal error (request id ${requestId})`));
      } else {
        res.destroy();
      }
    }
  });

  const listening = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  return {
    ...listening,
    routes: options.routes.map((r) => ({
      method: r.method.toUpperCase(),
      path: r.path,
      access: r.access ?? defaultAccess(r.method),
    })),
  };
}
