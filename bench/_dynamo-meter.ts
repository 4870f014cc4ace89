import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * A metering proxy in front of a local DynamoDB server (dynalite), for the cost bench: every
 * request is forwarded with `ReturnConsumedCapacity: TOTAL`, and the capacity units the server
 * computes (DynamoDB's rules: writes per 1 KB, reads per 4 KB, half for eventually consistent
 * reads) are summed per table and kind. Point `AWS_ENDPOINT_URL_DYNAMODB` at `url` and every
 * handler's requests go through it; the rewritten request is signed again with the key pair the
 * server accepts (the AWS SDK's own signer).
 */

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export interface Meter {
  url: string;
  /** table → { writeUnits, readUnits, requests } */
  usage(): Record<string, { writeUnits: number; readUnits: number; requests: number }>;
  reset(): void;
  close(): Promise<void>;
}

export async function startDynamoMeter(
  target: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<Meter> {
  const upstream = new URL(target);
  const signer = new SignatureV4({ service: 'dynamodb', region: 'us-east-1', credentials, sha256: Sha256 });
  let tables: Record<string, { writeUnits: number; readUnits: number; requests: number }> = {};
  const of = (table: string) => {
    tables[table] ??= { writeUnits: 0, readUnits: 0, requests: 0 };
    return tables[table];
  };
  const add = (operation: string, consumed: unknown) => {
    for (const c of [consumed].flat()) {
      const { TableName, CapacityUnits } = (c ?? {}) as { TableName?: string; CapacityUnits?: number };
      if (!TableName || typeof CapacityUnits !== 'number') continue;
      const t = of(TableName);
      if (WRITES.has(operation)) t.writeUnits += CapacityUnits;
      else t.readUnits += CapacityUnits;
    }
  };
  const server = createServer(async (req, res) => {
    const body = await read(req);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    let payload = body;
    try {
      const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      parsed.ReturnConsumedCapacity = 'TOTAL';
      payload = Buffer.from(JSON.stringify(parsed));
      const tableOf = (parsed.TableName as string | undefined) ?? Object.keys(parsed.RequestItems ?? {})[0];
      if (tableOf) of(tableOf).requests++;
    } catch {
      // not JSON: forwarded as it came
    }
    const signed = await signer.sign({
      method: req.method ?? 'POST',
      protocol: 'http:',
      hostname: upstream.hostname,
      port: Number(upstream.port),
      path: req.url ?? '/',
      query: {},
      headers: {
        host: upstream.host,
        'content-type': String(req.headers['content-type'] ?? 'application/x-amz-json-1.0'),
        ...(req.headers['x-amz-target'] && { 'x-amz-target': String(req.headers['x-amz-target']) }),
      },
      body: payload.toString('utf8'),
    });
    const headers = {
      ...(signed.headers as Record<string, string>),
      'content-length': String(payload.length),
    };
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      async (answer) => {
        const text = await read(answer);
        try {
          add(
            operation,
            (JSON.parse(text.toString('utf8')) as { ConsumedCapacity?: unknown }).ConsumedCapacity,
          );
        } catch {
          // an error body
        }
        res.writeHead(answer.statusCode ?? 500, { ...answer.headers, 'content-length': String(text.length) });
        res.end(text);
      },
    );
    forward.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    forward.end(payload);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    usage: () => structuredClone(tables),
    reset: () => {
      tables = {};
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function read(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
