import type { IncomingMessage } from 'node:http';

export interface SimRequest {
  method: string;
  /** Path without the query string, percent-decoded per segment left as received. */
  path: string;
  /** Query pairs in the order received (decoded). */
  queryPairs: Array<[string, string]>;
  query: Record<string, string>;
  headers: Record<string, string>;
  rawBody: string;
  /** The body parsed as JSON, or form pairs for form bodies. */
  json?: unknown;
  form?: Array<[string, string]>;
}

export interface SimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A Node request and its body as the simulators read it. */
export function parseRequest(req: IncomingMessage, rawBody: string): SimRequest {
  const url = new URL(req.url ?? '/', 'http://sim');
  const queryPairs = [...url.searchParams.entries()];
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  const request: SimRequest = {
    method: req.method ?? 'GET',
    path: url.pathname,
    queryPairs,
    query: Object.fromEntries(queryPairs),
    headers,
    rawBody,
  };
  const type = headers['content-type'] ?? '';
  if (rawBody && type.includes('application/x-www-form-urlencoded')) {
    request.form = [...new URLSearchParams(rawBody).entries()];
  } else if (rawBody) {
    try {
      request.json = JSON.parse(rawBody);
    } catch {
      // left undefined: the route answers 400 in the provider's shape
    }
  }
  return request;
}
