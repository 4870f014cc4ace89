import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../functions/log.ts';
import type { HttpApiEvent } from '../../../functions/webhooks/http-event.ts';
import { json } from '../../../functions/webhooks/http-event.ts';
import { type RunningHttpServer, startHttpServer } from '../../../local/http/server.ts';

const logLines: string[] = [];
const seen: HttpApiEvent[] = [];
let server: RunningHttpServer;
const TOKEN = 'fft_test-token-for-the-http-server-tests';
const AUTH = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

beforeAll(async () => {
  server = await startHttpServer({
    port: 0,
    apiToken: TOKEN,
    maxBodyBytes: 1024,
    handlerTimeoutMs: 300,
    logger: createLogger({ component: 'http' }, 'info', (line) => logLines.push(line)),
    routes: [
      {
        method: 'GET',
        path: '/jobs/{id}',
        handler: async (event) => {
          seen.push(event);
          return json(200, { id: event.pathParameters?.id });
        },
      },
      { method: 'GET', path: '/jobs/latest', handler: async () => json(200, { literal: true }) },
      { method: 'DELETE', path: '/jobs/{id}', handler: async () => ({ statusCode: 204 }) },
      {
        method: 'POST',
        path: '/echo',
        handler: async (event) => {
          seen.push(event);
          return json(
            201,
            { body: event.body, isBase64Encoded: event.isBase64Encoded },
            { 'x-answer': 'yes' },
          );
        },
      },
      {
        method: 'ANY',
        path: '/files/{path+}',
        handler: async (event) =>
          json(200, { path: event.pathParameters?.path, method: event.requestContext.http.method }),
      },
      {
        method: 'POST',
        path: '/boom',
        handler: async () => {
          throw new Error('db failed: password=hunter2-secret-value');
        },
      },
      {
        method: 'GET',
        path: '/slow',
        handler: () => new Promise((resolve) => setTimeout(() => resolve(json(200, {})), 2000)),
      },
    ],
  });
});

afterAll(async () => {
  await server.close();
});

async function call(
  method: string,
  path: string,
  init: { body?: string | Buffer; headers?: Record<string, string> } = {},
) {
  // State-changing calls carry the API token and a JSON type unless a test says otherwise.
  const headers = method === 'GET' ? init.headers : { ...AUTH, ...init.headers };
  const answer = await request(`${server.url}${path}`, {
    method: method as 'GET',
    ...init,
    ...(headers && { headers }),
  });
  const text = await answer.body.text();
  return {
    status: answer.statusCode,
    headers: answer.headers,
    text,
    body: text ? JSON.parse(text) : undefined,
  };
}

describe('local HTTP server (API Gateway HTTP API v2 events)', () => {
  it('builds the event as API Gateway would', async () => {
    seen.length = 0;
    const answer = await call('GET', '/jobs/job%2042?state=RUNNING&tag=a&tag=b', {
      headers: { 'X-Custom-Header': 'One', Cookie: 'a=1; b=2', 'User-Agent': 'vitest' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ id: 'job 42' });
    const event = seen[0]!;
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('GET /jobs/{id}');
    expect(event.rawPath).toBe('/jobs/job%2042');
    expect(event.rawQueryString).toBe('state=RUNNING&tag=a&tag=b');
    expect(event.queryStringParameters).toEqual({ state: 'RUNNING', tag: 'a,b' });
    expect(event.pathParameters).toEqual({ id: 'job 42' });
    expect(event.headers['x-custom-header']).toBe('One');
    expect(event.headers.cookie).toBeUndefined();
    expect(event.cookies).toEqual(['a=1', 'b=2']);
    expect(event.requestContext.http).toMatchObject({
      method: 'GET',
      path: '/jobs/job%2042',
      sourceIp: '127.0.0.1',
    });
    expect(event.requestContext.http.userAgent).toBe('vitest');
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.headers['apigw-requestid']).toBe(event.requestContext.requestId);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(5000);
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
  });

  it('passes a UTF-8 body as text and writes status and headers back', async () => {
    seen.length = 0;
    const answer = await call('POST', '/echo', {
      body: '{"name":"wébhook"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(answer.status).toBe(201);
    expect(answer.headers['x-answer']).toBe('yes');
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.body).toEqual({ body: '{"name":"wébhook"}', isBase64Encoded: false });
    expect(seen[0]!.queryStringParameters).toBeUndefined();
    expect(seen[0]!.pathParameters).toBeUndefined();
  });

  it('passes bytes that are not UTF-8 as base64, losslessly', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const answer = await call('POST', '/echo', { body: bytes });
    expect(answer.body).toEqual({ body: bytes.toString('base64'), isBase64Encoded: true });
  });

  it('prefers a literal route over a parameter and supports greedy ANY routes', async () => {
    expect((await call('GET', '/jobs/latest')).body).toEqual({ literal: true });
    expect((await call('PUT', '/files/a/b/c.txt')).body).toEqual({ path: 'a/b/c.txt', method: 'PUT' });
    const empty = await call('DELETE', '/jobs/1');
    expect([empty.status, empty.text]).toEqual([204, '']);
  });

  it('404 for an unknown route and 405 for a wrong method, in the shared error shape', async () => {
    const missing = await call('GET', '/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'not-found', message: 'no route for /nope' } });
    const wrong = await call('POST', '/jobs/1', { body: '{}' });
    expect(wrong.status).toBe(405);
    expect(wrong.body.error.code).toBe('method-not-allowed');
    expect(wrong.headers.allow).toBe('GET, DELETE');
  });

  it('413 for a body over the limit, declared or streamed, without reading it all', async () => {
    const declared = await call('POST', '/echo', { body: 'x'.repeat(5000) });
    expect(declared.status).toBe(413);
    expect(declared.body).toEqual({
      error: { code: 'payload-too-large', message: 'the body exceeds the 1024-byte limit' },
    });
    // Chunked upload with no content-length: the limit is enforced while streaming.
    async function* chunks() {
      for (let i = 0; i < 8; i++) yield Buffer.alloc(512, 97);
    }
    const answer = await request(`${server.url}/echo`, {
      method: 'POST',
      headers: AUTH,
      body: Readable.from(chunks()),
    }).catch((error) => error);
    if (answer instanceof Error) {
      // The server may drop the socket before undici finishes writing; that is the point.
      expect(String(answer)).toMatch(/closed|reset|socket|EPIPE/i);
    } else {
      expect(answer.statusCode).toBe(413);
      await answer.body.dump();
    }
    // Exactly at the limit is fine.
    expect((await call('POST', '/echo', { body: 'y'.repeat(1024) })).status).toBe(201);
  });

  it('413 over a raw socket: the answer comes before the body is sent', async () => {
    const socket = connect(server.port, '127.0.0.1');
    socket.write(
      `POST /echo HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`,
    );
    const head = await new Promise<string>((resolve) => socket.once('data', (data) => resolve(String(data))));
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 413/);
    expect(head.toLowerCase()).toContain('connection: close');
  });

  it('a throwing handler gives a generic 500; details only in a redacted log line', async () => {
    logLines.length = 0;
    const answer = await call('POST', '/boom', { body: '{}' });
    expect(answer.status).toBe(500);
    expect(answer.body.error.code).toBe('internal-error');
    expect(answer.text).not.toContain('hunter2');
    expect(answer.text).not.toContain('db failed');
    expect(answer.body.error.message).toContain(answer.headers['apigw-requestid']);
    const failure = logLines.map((l) => JSON.parse(l)).find((l) => l.message === 'handler failed');
    expect(failure.error).toContain('db failed');
    expect(logLines.join('\n')).not.toContain('hunter2');
  });

  it('a handler over its time limit gives 503', async () => {
    const answer = await call('GET', '/slow');
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('handler-timeout');
  });

  it('writes one access log line per request: method, path, status, ms; no query, headers or body', async () => {
    logLines.length = 0;
    await call('POST', '/echo?token=abc123', { body: '{"secret":"body-value"}' });
    const lines = logLines.map((l) => JSON.parse(l)).filter((l) => l.message === 'http request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      method: 'POST',
      path: '/echo',
      status: 201,
      requestId: expect.any(String),
    });
    expect(typeof lines[0].ms).toBe('number');
    const text = logLines.join('\n');
    for (const leak of ['abc123', 'body-value', TOKEN, 'token']) expect(text).not.toContain(leak);
  });
});

describe('who may call it: Host, Origin, API token, JSON', () => {
  const FOREIGN = 'rebind.attacker.example';
  let signed: RunningHttpServer;
  let tokenless: RunningHttpServer;
  let named: RunningHttpServer;
  const signedSeen: HttpApiEvent[] = [];

  beforeAll(async () => {
    const echo = (into: HttpApiEvent[]) => async (event: HttpApiEvent) => {
      into.push(event);
      return json(202, { ok: true });
    };
    signed = await startHttpServer({
      port: 0,
      apiToken: TOKEN,
      routes: [{ method: 'POST', path: '/webhooks/in', access: 'signed', handler: echo(signedSeen) }],
    });
    tokenless = await startHttpServer({
      port: 0,
      routes: [{ method: 'POST', path: '/echo', handler: echo([]) }],
    });
    named = await startHttpServer({
      port: 0,
      apiToken: TOKEN,
      allowHosts: ['fleetflow.test', 'proxy.test:8443'],
      routes: [{ method: 'GET', path: '/jobs', handler: async () => json(200, { items: [] }) }],
    });
  });

  afterAll(async () => {
    await Promise.all([signed.close(), tokenless.close(), named.close()]);
  });

  async function send(
    target: RunningHttpServer,
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ) {
    const answer = await request(`${target.url}${path}`, {
      method: method as 'GET',
      headers,
      ...(body !== undefined && { body }),
    });
    const text = await answer.body.text();
    return { status: answer.statusCode, headers: answer.headers, body: text ? JSON.parse(text) : undefined };
  }

  it('answers every route, and every unknown path, only under its own Host (421 otherwise)', async () => {
    seen.length = 0;
    const paths = [
      ...server.routes.map((r) => ({
        method: r.method === 'ANY' ? 'PUT' : r.method,
        path: r.path.replace(/\{[^}]+\}/g, 'x'),
      })),
      { method: 'GET', path: '/nope' },
    ];
    for (const { method, path } of paths) {
      for (const host of [
        FOREIGN,
        `${FOREIGN}:${server.port}`,
        `127.0.0.1:${server.port + 1}`,
        'localhost',
      ]) {
        const answer = await send(
          server,
          method,
          path,
          { ...AUTH, host },
          method === 'GET' ? undefined : '{}',
        );
        expect([`${method} ${path} Host ${host}`, answer.status, answer.body.error.code]).toEqual([
          `${method} ${path} Host ${host}`,
          421,
          'misdirected-request',
        ]);
      }
    }
    expect(seen).toEqual([]);
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `[::1]:${server.port}`]) {
      expect((await send(server, 'GET', '/jobs/7', { host })).status, host).toBe(200);
    }
  });

  it('refuses a request without Host (HTTP/1.0 over a raw socket)', async () => {
    const socket = connect(server.port, '127.0.0.1');
    socket.write('GET /jobs/1 HTTP/1.0\r\n\r\n');
    const head = await new Promise<string>((resolve) => socket.once('data', (data) => resolve(String(data))));
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.[01] 421/);
  });

  it('admits the names given with allowHosts, at this port or at the port given', async () => {
    for (const host of [`fleetflow.test:${named.port}`, `FLEETFLOW.TEST.:${named.port}`, 'proxy.test:8443']) {
      expect((await send(named, 'GET', '/jobs', { host })).status, host).toBe(200);
    }
    for (const host of [
      'fleetflow.test:1',
      'proxy.test',
      `proxy.test:${named.port}`,
      `evil.fleetflow.test:${named.port}`,
    ]) {
      expect((await send(named, 'GET', '/jobs', { host })).status, host).toBe(421);
    }
  });

  it('a state-changing route needs the token and JSON; a foreign Origin is refused even with both', async () => {
    seen.length = 0;
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['no token', { 'content-type': 'application/json' }, 401, 'unauthorized'],
      [
        'another token',
        { 'content-type': 'application/json', authorization: 'Bearer fft_guess' },
        401,
        'unauthorized',
      ],
      [
        'the token in another scheme',
        { 'content-type': 'application/json', authorization: `Basic ${TOKEN}` },
        401,
        'unauthorized',
      ],
      [
        'text/plain (a "simple" request)',
        { ...AUTH, 'content-type': 'text/plain' },
        415,
        'unsupported-media-type',
      ],
      [
        'a form',
        { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' },
        415,
        'unsupported-media-type',
      ],
      ['no content type', { authorization: AUTH.authorization }, 415, 'unsupported-media-type'],
      ['a foreign Origin', { ...AUTH, origin: 'http://attacker.example' }, 403, 'foreign-origin'],
      ['a sandboxed page (Origin null)', { ...AUTH, origin: 'null' }, 403, 'foreign-origin'],
      [
        'another local origin',
        { ...AUTH, origin: `http://127.0.0.1:${server.port + 1}` },
        403,
        'foreign-origin',
      ],
    ];
    for (const [label, headers, status, code] of cases) {
      const answer = await send(server, 'POST', '/echo', headers, '{"a":1}');
      expect([label, answer.status, answer.body.error.code]).toEqual([label, status, code]);
      if (status === 401) expect(answer.headers['www-authenticate']).toBe('Bearer realm="fleetflow"');
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect(seen).toEqual([]);

    // The dashboard's own origin, with the token and JSON: accepted; the handler never sees the token.
    const own = await send(
      server,
      'POST',
      '/echo',
      { ...AUTH, origin: `http://127.0.0.1:${server.port}` },
      '{"a":1}',
    );
    expect(own.status).toBe(201);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(JSON.stringify(seen[0])).not.toContain(TOKEN);
    // A bodiless DELETE needs no content type, but the token all the same.
    expect((await send(server, 'DELETE', '/jobs/1', { authorization: AUTH.authorization })).status).toBe(204);
    expect((await send(server, 'DELETE', '/jobs/1', {})).status).toBe(401);
  });

  it('a signed webhook needs no token (its handler checks the signature) but refuses a foreign Origin', async () => {
    signedSeen.length = 0;
    const plain = { 'content-type': 'application/json', 'webhook-signature': 'v1,sig' };
    expect((await send(signed, 'POST', '/webhooks/in', plain, '{}')).status).toBe(202);
    expect(signedSeen[0]!.headers['webhook-signature']).toBe('v1,sig');
    const foreign = await send(
      signed,
      'POST',
      '/webhooks/in',
      { ...plain, origin: 'https://attacker.example' },
      '{}',
    );
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'foreign-origin']);
    const rebound = await send(signed, 'POST', '/webhooks/in', { ...plain, host: FOREIGN }, '{}');
    expect(rebound.status).toBe(421);
    expect(signedSeen).toHaveLength(1);
  });

  it('a server given no token refuses every state-changing route (it never falls open)', async () => {
    const answer = await send(tokenless, 'POST', '/echo', { 'content-type': 'application/json' }, '{}');
    expect([answer.status, answer.body.error.code]).toEqual([401, 'unauthorized']);
    const guessed = await send(
      tokenless,
      'POST',
      '/echo',
      { 'content-type': 'application/json', authorization: 'Bearer ' },
      '{}',
    );
    expect(guessed.status).toBe(401);
  });

  it('lists each route with the rule it is served under', () => {
    expect(signed.routes).toEqual([{ method: 'POST', path: '/webhooks/in', access: 'signed' }]);
    expect(server.routes.find((r) => r.path === '/echo')).toEqual({
      method: 'POST',
      path: '/echo',
      access: 'token',
    });
    expect(server.routes.find((r) => r.path === '/jobs/{id}' && r.method === 'GET')?.access).toBe('read');
  });
});
