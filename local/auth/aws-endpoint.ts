import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { BodyTooLargeError, readBody } from '../../functions/shared/http-server.ts';
import { hostAllowList } from './hosts.ts';
import { type AwsKeyPair, SigV4Verifier } from './sigv4.ts';

/**
 * What stands in front of the local AWS-compatible endpoints (the Step Functions endpoint and
 * dynalite): the Host allow-list, then Signature Version 4 against the one key pair the endpoint
 * accepts. Only a request that passes both reaches the service, which then reads it as if it had
 * come straight from the socket. A refusal is answered in the AWS JSON protocol's error shape and
 * the service never sees the request: nothing is started, written or read.
 */

/** The pair the tests' clients sign with, accepted when an endpoint is started without its own. */
export const TEST_KEY_PAIR: Readonly<AwsKeyPair> = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface AwsEndpointGuardOptions {
  /** SigV4 signing name: `states`, `dynamodb`. */
  service: string;
  credentials: AwsKeyPair;
  /** Host names allowed besides the loopback ones (`fleetflow start --allow-host`). */
  allowHosts?: readonly string[];
  /** Larger bodies get 413 before any check (the service's own limit). */
  maxBodyBytes: number;
}

function refuse(res: ServerResponse, status: number, type: string, message: string): void {
  const text = JSON.stringify({ __type: `com.amazon.coral.service#${type}`, message });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': type,
  });
  res.end(text);
}

/** The request again, its body replayed, for a service that reads it from the stream. */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const stream = Readable.from(body.length > 0 ? [body] : []);
  return Object.assign(stream, {
    method: req.method,
    url: req.url,
    headers: req.headers,
    httpVersion: req.httpVersion,
    socket: req.socket,
  }) as unknown as IncomingMessage;
}

/** Wraps a service's request listener so that only allowed, correctly signed requests reach it. */
export function guardAwsEndpoint(inner: RequestListener, options: AwsEndpointGuardOptions): RequestListener {
  const verifier = new SigV4Verifier({ service: options.service, credentials: options.credentials });
  let hosts: ReturnType<typeof hostAllowList> | undefined;
  return (req, res) => {
    void (async () => {
      hosts ??= hostAllowList(req.socket.localAddress ?? '127.0.0.1', options.allowHosts);
      if (!hosts.allows(req.headers.host, req.socket.localPort ?? 0)) {
        req.resume();
        return refuse(
          res,
          421,
          'MisdirectedRequestException',
          `this endpoint does not answer to ${req.headers.host ?? 'a request without Host'}`,
        );
      }
      let body: Buffer;
      try {
        body = await readBody(req, options.maxBodyBytes);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        refuse(
          res,
          413,
          'RequestEntityTooLargeException',
          `request body is larger than ${options.maxBodyBytes} bytes`,
        );
        res.once('finish', () => req.socket.destroySoon());
        return;
      }
      const refusal = await verifier.verify({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body,
      });
      if (refusal) return refuse(res, refusal.status, refusal.type, refusal.message);
      inner(replay(req, body), res);
    })().catch(() => {
      if (!res.headersSent) refuse(res, 500, 'InternalFailure', 'internal error');
      else res.destroy();
    });
  };
}
