/**
 * A direct line to a DynamoDB server in this process: the embedded runtime's dynalite registers
 * one for its endpoint, and a client built for that endpoint hands its requests over as plain
 * values instead of opening sockets (the HTTP parsing and the signature check on the server side
 * cost about as much CPU as the work itself), and unsigned (signing was a fifth of the client's
 * CPU per call). Only code in this process can use it, so nothing outside the process reaches the
 * server without a signature. Clients in other processes (the CLI, a Lambda) use the endpoint over
 * HTTP, signed, as before: the requests and answers are the same.
 */

/** A request as the AWS SDK built it (unsigned), and the server's answer to it. */
export interface DirectRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: Record<string, string>;
  body: string;
}
export interface DirectResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}
export type DirectLine = (request: DirectRequest) => Promise<DirectResponse>;

const lines = new Map<string, DirectLine>();

/** Registers the line for an endpoint (`http://127.0.0.1:<port>`); the returned function removes it. */
export function registerDirectLine(endpoint: string, line: DirectLine): () => void {
  const key = normalize(endpoint);
  lines.set(key, line);
  return () => {
    if (lines.get(key) === line) lines.delete(key);
  };
}

/** The line registered for an endpoint, if any. */
export function directLineFor(endpoint: string | undefined): DirectLine | undefined {
  return endpoint ? lines.get(normalize(endpoint)) : undefined;
}

function normalize(endpoint: string): string {
  return endpoint.replace(/\/+$/, '');
}

/**
 * The auth scheme of a client on a direct line: no identity, no signature (the SDK's own
 * `smithy.api#noAuth`; its signer returns the request as it is).
 */
export const DIRECT_LINE_AUTH = {
  schemes: [
    {
      schemeId: 'smithy.api#noAuth',
      identityProvider: () => async () => ({}),
      signer: { sign: async <T>(request: T): Promise<T> => request },
    },
  ],
  provider: () => [{ schemeId: 'smithy.api#noAuth' }],
};

/** The AWS SDK's request handler interface, as much of it as a client calls. */
interface SdkHttpRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/**
 * An AWS SDK request handler over a direct line: the SDK serializes as usual, the line answers,
 * and the SDK reads the answer as it reads an HTTP response.
 */
export class DirectRequestHandler {
  constructor(private readonly line: DirectLine) {}

  async handle(request: SdkHttpRequest): Promise<{ response: unknown }> {
    const query = Object.entries(request.query ?? {}).flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x ?? '')}`),
    );
    const body =
      typeof request.body === 'string'
        ? request.body
        : request.body instanceof Uint8Array
          ? Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString(
              'utf8',
            )
          : '';
    const answer = await this.line({
      method: request.method,
      url: query.length > 0 ? `${request.path}?${query.join('&')}` : request.path,
      headers: request.headers,
      body,
    });
    return {
      response: {
        statusCode: answer.status,
        headers: answer.headers,
        body: Buffer.from(answer.body, 'utf8'),
      },
    };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {}
}
