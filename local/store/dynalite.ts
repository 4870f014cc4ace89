import { mkdirSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import { Readable } from 'node:stream';
import type { DirectRequest, DirectResponse } from '../../functions/store/direct.ts';
import { guardAwsEndpoint, TEST_KEY_PAIR } from '../auth/aws-endpoint.ts';
import type { AwsKeyPair } from '../auth/sigv4.ts';
import { type DamageListener, guardAgainstDamage, openLevel } from './level.ts';

export { DataFolderLockedError } from './level.ts';

/**
 * dynalite in-process: the embedded DynamoDB of `fleetflow start`, the CLI and the tests.
 * Listens on 127.0.0.1 with a port the OS picks (its CLI would turn port 0 into 4567).
 * With `path` the tables persist in LevelDB under that folder (e.g. `.fleetflow/dynamo`);
 * LevelDB allows one process per folder, which is why `fleetflow start` publishes its endpoint.
 * As DynamoDB does, it answers only requests signed (Signature Version 4) by the one key pair it
 * accepts, with an allowed Host: dynalite itself checks that a signature is there, never that it
 * is right, so ../auth/aws-endpoint.ts checks it before dynalite sees the request.
 */

/** dynalite's own limit on a request body. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
type DynaliteFactory = (
  options: DynaliteOptions,
) => Server & { closeAllConnections?: () => void; closeIdleConnections?: () => void };

// dynalite is CommonJS without type declarations.
const require = createRequire(import.meta.url);

// In memory, dynalite keeps every key and value as a Buffer sliced from Node's shared 8 KB
// allocation pool, so a few stored items pin whole slabs: at 3,000 instances a schedule run's
// job items held ~150 MB of mostly empty slabs. Stored as exact-size views instead (same byte
// order), memory follows the data. Patched before dynalite loads memory-level.
const memoryLevel = createRequire(require.resolve('dynalite'))('memory-level') as {
  MemoryLevel: new (options?: Record<string, unknown>) => object;
};
const { MemoryLevel } = memoryLevel;
memoryLevel.MemoryLevel = class extends MemoryLevel {
  constructor(options: Record<string, unknown> = {}) {
    super({ storeEncoding: 'view', ...options });
  }
};
const dynalite = require('dynalite') as DynaliteFactory;

/**
 * dynalite opens LevelDB lazily and throws an uncatchable error from a callback when the folder
 * is locked, which would kill this process; opening it once here first turns that into an error.
 */
async function assertFolderFree(path: string): Promise<void> {
  await (await openLevel(path)).close();
}

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /**
   * The same server for callers in this process, without sockets, Host or signature checks (see
   * functions/store/direct.ts): what reaches it here never came from outside the process.
   */
  direct?(request: DirectRequest): Promise<DirectResponse>;
  close(): Promise<void>;
}

export interface StartDynaliteOptions {
  /** Folder for the LevelDB files; in memory when absent. */
  path?: string;
  /** Port to listen on; 0 (default) lets the OS pick a free one. */
  port?: number;
  /**
   * Told once when a data file of `path` turns out damaged. Reads of the damaged part then fail
   * with a DynamoDB InternalServerError naming the file and `fleetflow doctor`; the rest works.
   */
  onDamage?: DamageListener;
  /** The one key pair accepted (`fleetflow start`: the data folder's); the tests' local/local pair when absent. */
  credentials?: AwsKeyPair;
  /** Host names answered besides loopback (`fleetflow start --allow-host`). */
  allowHosts?: readonly string[];
}

export async function startDynalite(options: StartDynaliteOptions = {}): Promise<LocalDynamo> {
  if (options.path) {
    mkdirSync(options.path, { recursive: true });
    await assertFolderFree(options.path);
  }
  const unguard = options.path
    ? guardAgainstDamage(options.path, options.onDamage ?? (() => undefined))
    : () => undefined;
  const server = dynalite({
    ...(options.path ? { path: options.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  // dynalite's own handler now runs only behind the signature check.
  const [inner] = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on(
    'request',
    guardAwsEndpoint(inner!, {
      service: 'dynamodb',
      credentials: options.credentials ?? TEST_KEY_PAIR,
      ...(options.allowHosts && { allowHosts: options.allowHosts }),
      maxBodyBytes: MAX_REQUEST_BYTES,
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  // Requests being answered: dynalite throws (and kills the process) when its database closes
  // between two steps of one request, so close() lets them finish first.
  let active = 0;
  let drained: (() => void) | undefined;
  server.on('request', (_req, res) => {
    active++;
    res.once('close', () => {
      if (--active === 0) drained?.();
    });
  });
  // Direct requests under way: no socket holds the server open for them, so close() waits for
  // them before the server (and with it the database) closes.
  let directActive = 0;
  let directDrained: (() => void) | undefined;
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async direct(request) {
      if (closed) throw new Error('the local DynamoDB server is closed');
      directActive++;
      try {
        return await answerDirectly(inner!, request);
      } finally {
        if (--directActive === 0) directDrained?.();
      }
    },
    close() {
      closed ??= (async () => {
        if (directActive > 0)
          await new Promise<void>((resolve) => {
            directDrained = resolve;
            setTimeout(resolve, 5_000).unref();
          });
        const done = new Promise<void>((resolve, reject) =>
          server.close((error) => (error ? reject(error) : resolve())),
        );
        // Idle keep-alive sockets from SDK clients would hold close() open; busy ones finish first.
        server.closeIdleConnections?.();
        if (active > 0)
          await new Promise<void>((resolve) => {
            drained = resolve;
            setTimeout(resolve, 5_000).unref();
          });
        server.closeAllConnections?.();
        await done;
        unguard();
      })();
      return closed;
    },
  };
}

/**
 * dynalite's own handler for one request given as values: the body replayed as the request stream,
 * and an answer object with what dynalite's handler uses of a response (status, headers, end).
 */
function answerDirectly(handler: RequestListener, request: DirectRequest): Promise<DirectResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    // dynalite wants a signature to be there (never checks it); the line's requests carry none.
    headers.authorization ??= 'AWS4-HMAC-SHA256 Credential=direct-line, SignedHeaders=host, Signature=none';
    headers['x-amz-date'] ??= new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const req = Object.assign(Readable.from(request.body ? [Buffer.from(request.body, 'utf8')] : []), {
      method: request.method,
      url: request.url,
      headers,
    });
    const answer: Record<string, string> = {};
    const res = {
      statusCode: 200,
      setHeader(name: string, value: unknown) {
        answer[name.toLowerCase()] = String(value);
      },
      getHeader: (name: string) => answer[name.toLowerCase()],
      end(body?: string | Buffer) {
        resolve({ status: res.statusCode, headers: answer, body: body === undefined ? '' : body.toString() });
      },
    };
    req.once('error', reject);
    handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  });
}
