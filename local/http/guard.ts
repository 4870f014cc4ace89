import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type HttpApiResult, problem } from '../../functions/webhooks/http-event.ts';
import { type HostAllowList, hostAllowList } from '../auth/hosts.ts';

/**
 * Who may use the local HTTP API, even on loopback — the rules a browser's own defences rely on:
 *   1. Every route: the Host must be one of ours (421 otherwise), which defeats DNS rebinding.
 *   2. State-changing routes: an Origin header, when present, must be the server's own (403), so a
 *      page of another site cannot act through the operator's browser.
 *   3. State-changing routes that are not signed webhooks: the local API token as
 *      `Authorization: Bearer …` (401), and a JSON body (415): a "simple" cross-site request
 *      (a form, text/plain) can never carry either.
 * Signed webhooks (Standard Webhooks) authenticate by their signature, checked by their handler.
 */

/** `read`: Host only. `token`: the API token and JSON. `signed`: a signed webhook (its handler checks). */
export type RouteAccess = 'read' | 'token' | 'signed';

/** What a route needs when it does not say: reads are GET and HEAD; anything else changes state. */
export function defaultAccess(method: string): RouteAccess {
  return ['GET', 'HEAD'].includes(method.toUpperCase()) ? 'read' : 'token';
}

export interface GuardOptions {
  /** The local API token; without one, every `token` route is refused. */
  apiToken?: string;
  /** Host names allowed besides loopback (`fleetflow start --allow-host`). */
  allowHosts?: readonly string[];
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** `application/json`, `application/problem+json`…, with or without parameters. */
const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

/** The Origin names the same host the request came to (any scheme, its default port implied). */
function sameOrigin(origin: string, host: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // `null` (a sandboxed frame, a file) or garbage: not ours
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const defaultPort = url.protocol === 'https:' ? '443' : '80';
  const normalise = (h: string) => h.toLowerCase().replace(new RegExp(`:${defaultPort}$`), '');
  return normalise(url.host) === normalise(host);
}

export interface RequestGuard {
  /** A refusal for a request whose Host is not ours, else undefined. */
  host(req: IncomingMessage): HttpApiResult | undefined;
  /** A refusal for a request the route's access rule does not admit, else undefined. */
  access(req: IncomingMessage, access: RouteAccess): HttpApiResult | undefined;
}

export function createGuard(options: GuardOptions = {}): RequestGuard {
  const expected = options.apiToken ? digest(options.apiToken) : undefined;
  let hosts: HostAllowList | undefined;
  return {
    host(req) {
      hosts ??= hostAllowList(req.socket.localAddress ?? '127.0.0.1', options.allowHosts);
      if (hosts.allows(req.headers.host, req.socket.localPort ?? 0)) return undefined;
      const name = (req.headers.host ?? '').slice(0, 100);
      return problem(
        421,
        'misdirected-request',
        name
          ? `this server does not answer to ${name}; to reach it by that name, start it with --allow-host ${name.replace(/:\d+$/, '')}`
          : 'the request has no Host header',
      );
    },

    access(req, access) {
      if (access === 'read') return undefined;
      const origin = req.headers.origin;
      if (origin !== undefined && !sameOrigin(origin, req.headers.host ?? '')) {
        return problem(403, 'foreign-origin', 'requests from another site are refused');
      }
      if (access === 'signed') return undefined;

      const authorization = req.headers.authorization ?? '';
      const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
      if (!expected || !given || !timingSafeEqual(digest(given), expected)) {
        return problem(
          401,
          'unauthorized',
          given
            ? 'the API token is not this fleetflow start’s'
            : 'this route needs the local API token: Authorization: Bearer <token> (in <data-dir>/api-token; the CLI and the dashboard send it)',
          { 'www-authenticate': 'Bearer realm="fleetflow"' },
        );
      }

      const type = req.headers['content-type'];
      const hasBody =
        req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
      const needsJson = ['POST', 'PUT', 'PATCH'].includes((req.method ?? '').toUpperCase()) || hasBody;
      if ((needsJson || type !== undefined) && !JSON_TYPE.test(type ?? '')) {
        return problem(
          415,
          'unsupported-media-type',
          'the body must be JSON (Content-Type: application/json)',
        );
      }
      return undefined;
    },
  };
}
