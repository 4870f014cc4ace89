import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What every HTTP server fleetflow runs on loopback shares — the local API (local/http), the
 * simulators (sim/kit): reading a request body with a cap, listening, closing with open
 * keep-alive connections. No deployed function imports this (Lambda runs no server).
 */

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`the body exceeds the ${limitBytes}-byte limit`);
  }
}

/** Reads the whole body, up to `maxBytes`; past it, stops reading and rejects with BodyTooLargeError. */
export function readBody(req: IncomingMessage, maxBytes = Number.POSITIVE_INFINITY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) return reject(new BodyTooLargeError(maxBytes));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.pause();
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface ListeningServer {
  /** `http://127.0.0.1:<port>` (IPv6 hosts in brackets), no trailing slash. */
  url: string;
  port: number;
  /** Stops listening and ends open keep-alive connections. */
  close(): Promise<void>;
}

/** Listens on host:port (0 = a free port); rejects with the listen error (EADDRINUSE…) as it comes. */
export async function listen(server: Server, port: number, host: string): Promise<ListeningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
