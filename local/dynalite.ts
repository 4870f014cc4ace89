import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';

/**
 * dynalite in-process: the embedded DynamoDB of `fleetflow start`, the CLI and the tests.
 * Listens on 127.0.0.1 with a port the OS picks (its CLI would turn port 0 into 4567).
 * With `path` the tables persist in LevelDB under that folder (e.g. `.fleetflow/dynamo`);
 * LevelDB allows one process per folder, which is why `fleetflow start` publishes its endpoint.
 */

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
type DynaliteFactory = (options: DynaliteOptions) => Server & { closeAllConnections?: () => void };

// dynalite is CommonJS without type declarations.
const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  close(): Promise<void>;
}

export interface StartDynaliteOptions {
  /** Folder for the LevelDB files; in memory when absent. */
  path?: string;
  /** Port to listen on; 0 (default) lets the OS pick a free one. */
  port?: number;
}

export async function startDynalite(options: StartDynaliteOptions = {}): Promise<LocalDynamo> {
  if (options.path) mkdirSync(options.path, { recursive: true });
  const server = dynalite({
    ...(options.path ? { path: options.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Idle keep-alive sockets from SDK clients would hold close() open.
        server.closeAllConnections?.();
      });
      return closed;
    },
  };
}
