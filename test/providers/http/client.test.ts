import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ProviderAuthenticationError,
  ProviderNotFoundError,
  ProviderOutcomeUnknownError,
  ProviderTransientError,
} from '../../../functions/providers/errors.ts';
import { errorDetails, HttpClient } from '../../../functions/providers/http/client.ts';
import { RetryPolicy } from '../../../functions/providers/http/retry.ts';
import { errorForStatus } from '../../../functions/providers/http/status-errors.ts';

// A real server on port 0 whose next answers a test scripts.
type Script = (req: {
  method: string;
  url: string;
  headers: Record<string, unknown>;
  body: string;
}) => { status: number; body?: unknown; headers?: Record<string, string> } | 'reset';
let script: Script[] = [];
const seen: Array<{ method: string; url: string; headers: Record<string, unknown>; body: string }> = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const r = { method: req.method!, url: req.url!, headers: req.headers, body };
    seen.push(r);
    const next: Script = script.shift() ?? (() => ({ status: 200, body: { ok: true } }));
    const answer = next(r);
    if (answer === 'reset') return req.socket.destroy();
    res.writeHead(answer.status, {
      'content-type': 'application/json',
      'x-request-id': `req-${seen.length}`,
      ...answer.headers,
    });
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => {
  script = [];
  seen.length = 0;
});

const client = () =>
  new HttpClient({
    provider: 'exoscale',
    baseUrl: url,
    secrets: ['super-secret-key-1'],
    authenticate: (req) => ({
      ...req,
      headers: { ...req.headers, authorization: 'Bearer super-secret-key-1' },
    }),
    mapError: (answer, request) =>
      errorForStatus(
        answer.status,
        `HTTP ${answer.status}: ${(answer.body as { message?: string })?.message ?? ''}`,
        errorDetails('exoscale', answer, request),
      ),
    retry: new RetryPolicy({ baseDelayMs: 1, maxDelayMs: 5 }),
  });

describe('undici deep imports', () => {
  it('are the same classes and method the package index exports (an upgrade that moves them fails here)', async () => {
    const undici = await import('undici');
    const pool = (await import('undici/lib/dispatcher/pool.js')).default;
    const errors = (await import('undici/lib/core/errors.js')).default;
    const request = (await import('undici/lib/api/api-request.js')).default;
    expect(pool).toBe(undici.Pool);
    expect(errors).toBe(undici.errors);
    expect(request).toBe(undici.Dispatcher.prototype.request);
  });
});

describe('HttpClient against a real local server', () => {
  it('sends JSON with auth and returns the parsed body and request id', async () => {
    script = [() => ({ status: 200, body: { instances: [] } })];
    const answer = await client().send({
      method: 'POST',
      path: '/instance',
      json: { name: 'a' },
      query: { zone: 'x', skip: undefined },
    });
    expect(answer.body).toEqual({ instances: [] });
    expect(answer.requestId).toBe('req-1');
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/instance?zone=x', body: '{"name":"a"}' });
    expect(seen[0]!.headers.authorization).toBe('Bearer super-secret-key-1');
  });

  it('retries a 5xx burst on idempotent requests', async () => {
    script = [() => ({ status: 503 }), () => ({ status: 502 }), () => ({ status: 200, body: { ok: 1 } })];
    expect((await client().send({ method: 'GET', path: '/x' })).body).toEqual({ ok: 1 });
    expect(seen).toHaveLength(3);
  });

  it('honours Retry-After on 429', async () => {
    script = [() => ({ status: 429, headers: { 'retry-after': '1' } }), () => ({ status: 200, body: {} })];
    const t0 = Date.now();
    await client().send({ method: 'POST', path: '/x', json: {} });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
    expect(seen).toHaveLength(2);
  });

  it('maps statuses to typed errors with status, request id and no secret', async () => {
    script = [() => ({ status: 401, body: { message: 'bad key super-secret-key-1' } })];
    const error = await client()
      .send({ method: 'GET', path: '/x', action: 'list' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ProviderAuthenticationError);
    expect(error).toMatchObject({ status: 401, requestId: 'req-1', provider: 'exoscale', action: 'list' });
    expect(error.message).not.toContain('super-secret-key-1');
    script = [() => ({ status: 404, body: { message: 'Instance not found' } })];
    await expect(client().send({ method: 'GET', path: '/x' })).rejects.toBeInstanceOf(ProviderNotFoundError);
    expect(seen).toHaveLength(2); // 401 and 404 are not retried
  });

  it('reports an unknown outcome for a create whose connection dropped after sending', async () => {
    script = [() => 'reset'];
    const error = await client()
      .send({ method: 'POST', path: '/instance', json: {} })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ProviderOutcomeUnknownError);
    expect(seen).toHaveLength(1);
  });

  it('retries a dropped connection for idempotent requests', async () => {
    script = [() => 'reset', () => ({ status: 200, body: { ok: 2 } })];
    expect((await client().send({ method: 'GET', path: '/x' })).body).toEqual({ ok: 2 });
  });

  it('gives up with a transient error when nothing answers', async () => {
    const dead = new HttpClient({
      provider: 'gcore',
      baseUrl: 'http://127.0.0.1:1',
      authenticate: (r) => r,
      mapError: (a, r) => errorForStatus(a.status, 'x', errorDetails('gcore', a, r)),
      retry: new RetryPolicy({ baseDelayMs: 1, maxAttempts: 2 }),
    });
    await expect(dead.send({ method: 'GET', path: '/' })).rejects.toBeInstanceOf(ProviderTransientError);
  });
});
