/**
 * The subset of the API Gateway HTTP API (payload format 2.0) event and result that our handlers
 * use. The local HTTP server (local/http/server.ts) builds exactly this shape, so a handler runs
 * unchanged behind API Gateway and on one machine.
 *
 * Error shape — every error answer of every fleetflow HTTP endpoint:
 *
 *   HTTP 4xx/5xx, content-type: application/json
 *   {"error": {"code": "timestamp-too-old", "message": "webhook-timestamp is 412 s old, …"}}
 *
 * `code` is a stable kebab-case identifier for scripts; `message` is one sentence for a person.
 * Neither ever holds a secret, a signature, a token or the request body.
 */

export interface HttpApiEvent {
  version: '2.0';
  /** `POST /webhooks/provision`: method and route pattern. */
  routeKey: string;
  /** The request path as sent, without the query string. */
  rawPath: string;
  /** Everything after `?`, undecoded; '' when there is none. */
  rawQueryString: string;
  /** Lower-case names; repeated headers joined with a comma, as API Gateway does. */
  headers: Record<string, string>;
  cookies?: string[];
  queryStringParameters?: Record<string, string>;
  pathParameters?: Record<string, string>;
  requestContext: {
    http: { method: string; path: string; protocol?: string; sourceIp: string; userAgent?: string };
    requestId: string;
    routeKey?: string;
    stage?: string;
    time?: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

export interface HttpApiResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}

/** A JSON answer. */
export function json(
  statusCode: number,
  value: unknown,
  headers: Record<string, string> = {},
): HttpApiResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(value),
  };
}

/** An error answer in the one fleetflow error shape: `{"error":{"code","message"}}`. */
export function problem(
  statusCode: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): HttpApiResult {
  return json(statusCode, { error: { code, message } }, headers);
}
