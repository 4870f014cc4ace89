import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { main } from '../../cli/main.ts';
import { json } from '../../functions/webhooks/http-event.ts';
import { receiveSignedJson, toHttpError } from '../../functions/webhooks/receive.ts';
import { generateSecret } from '../../functions/webhooks/standard-webhooks.ts';
import { type RunningHttpServer, startHttpServer } from '../../local/http/server.ts';

const secret = generateSecret();
const schema = z.object({ provider: z.string(), name: z.string() });
const received: Array<{ webhookId: string; payloadHash: string; body: unknown }> = [];
let server: RunningHttpServer;
let dir: string;
let out: string[];
let err: string[];
const envSecret = process.env.FLEETFLOW_WEBHOOK_SECRET;

beforeAll(async () => {
  // A tiny provisioning endpoint: the real receive path, answering like the real handler.
  server = await startHttpServer({
    port: 0,
    routes: [
      {
        method: 'POST',
        path: '/webhooks/provision',
        access: 'signed',
        handler: async (event) => {
          try {
            const delivery = receiveSignedJson(event, { secrets: [secret], schema });
            received.push(delivery);
            return json(202, { jobId: delivery.webhookId, statusUrl: `/jobs/${delivery.webhookId}` });
          } catch (error) {
            return toHttpError(error);
          }
        },
      },
      {
        method: 'POST',
        path: '/stage/webhooks/provision',
        access: 'signed',
        handler: async () => json(202, { staged: true }),
      },
    ],
  });
  dir = await mkdtemp(join(tmpdir(), 'fleetflow-webhook-'));
  await writeFile(join(dir, 'provision.json'), '{"provider":"exoscale","name":"web-1"}\n');
  await writeFile(join(dir, 'invalid.json'), '{"provider":"exoscale"}');
  await writeFile(join(dir, 'broken.json'), '{"provider":');
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
  if (envSecret !== undefined) process.env.FLEETFLOW_WEBHOOK_SECRET = envSecret;
});

beforeEach(() => {
  out = [];
  err = [];
  received.length = 0;
  delete process.env.FLEETFLOW_WEBHOOK_SECRET;
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.FLEETFLOW_WEBHOOK_SECRET;
});

const url = () => `${server.url}/webhooks/provision`;
const file = (name = 'provision.json') => join(dir, name);

describe('fleetflow webhook send', () => {
  it('signs and posts the file; re-sending the same file is a redelivery with the same id', async () => {
    const args = [
      'webhook',
      'send',
      file(),
      '--url',
      url(),
      '--secret',
      secret,
      '--data-dir',
      join(dir, 'none'),
    ];
    expect(await main(args)).toBe(0);
    expect(await main(args)).toBe(0);
    expect(received).toHaveLength(2);
    expect(received[0]!.webhookId).toMatch(/^msg_[A-Za-z0-9_-]{27}$/);
    expect(received[1]!.webhookId).toBe(received[0]!.webhookId);
    expect(received[1]!.payloadHash).toBe(received[0]!.payloadHash);
    expect(received[0]!.body).toEqual({ provider: 'exoscale', name: 'web-1' });
    const text = out.join('');
    expect(text).toContain('202 Accepted');
    expect(text).toContain(`"jobId": "${received[0]!.webhookId}"`);
    expect(text + err.join('')).not.toContain(secret.slice(6));
  });

  it('--id and --json', async () => {
    const code = await main([
      'webhook',
      'send',
      file(),
      '--url',
      url(),
      '--secret',
      secret,
      '--id',
      'msg_custom',
      '--json',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual({
      ok: true,
      status: 202,
      webhookId: 'msg_custom',
      url: url(),
      body: { jobId: 'msg_custom', statusUrl: '/jobs/msg_custom' },
    });
  });

  it('takes the secret from FLEETFLOW_WEBHOOK_SECRET', async () => {
    process.env.FLEETFLOW_WEBHOOK_SECRET = secret;
    expect(await main(['webhook', 'send', file(), '--url', url(), '--data-dir', join(dir, 'none')])).toBe(0);
    expect(received).toHaveLength(1);
  });

  it('takes the secret and the URL from the data folder of `fleetflow start`', async () => {
    const dataDir = join(dir, 'data');
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'webhook-secret'), `${secret}\n`);
    await writeFile(join(dataDir, 'endpoints.json'), JSON.stringify({ http: server.url }));
    expect(await main(['webhook', 'send', file(), '--data-dir', dataDir])).toBe(0);
    expect(received).toHaveLength(1);
    // A base URL with a path (an API Gateway stage) keeps its prefix.
    await writeFile(join(dataDir, 'endpoints.json'), JSON.stringify({ http: `${server.url}/stage` }));
    expect(await main(['webhook', 'send', file(), '--data-dir', dataDir, '--json'])).toBe(0);
    expect(JSON.parse(out.at(-1)!).body).toEqual({ staged: true });
  });

  it('a rejection exits 1 with one clear line and no secret', async () => {
    const wrong = generateSecret();
    const code = await main(['webhook', 'send', file(), '--url', url(), '--secret', wrong]);
    expect(code).toBe(1);
    expect(received).toHaveLength(0);
    const line = err.join('');
    expect(line).toMatch(
      /^fleetflow: webhook rejected with 401 no-matching-signature: signature check failed: .+\n$/,
    );
    expect(line.split('\n').filter(Boolean)).toHaveLength(1);
    expect(out.join('') + line).not.toContain(wrong.slice(6));
  });

  it('schema-invalid and malformed files', async () => {
    expect(await main(['webhook', 'send', file('invalid.json'), '--url', url(), '--secret', secret])).toBe(1);
    expect(err.join('')).toContain('webhook rejected with 422 invalid-body');
    err.length = 0;
    expect(await main(['webhook', 'send', file('broken.json'), '--url', url(), '--secret', secret])).toBe(1);
    expect(err.join('')).toContain('broken.json is not valid JSON');
  });

  it('explains what to do when there is no secret or no server', async () => {
    expect(await main(['webhook', 'send', file(), '--url', url(), '--data-dir', join(dir, 'none')])).toBe(1);
    expect(err.join('')).toContain('no webhook secret');
    expect(err.join('')).toContain('hint: start the server first');
    err.length = 0;
    const closed = await startHttpServer({ port: 0, routes: [] });
    await closed.close();
    const code = await main([
      'webhook',
      'send',
      file(),
      '--url',
      `${closed.url}/webhooks/provision`,
      '--secret',
      secret,
    ]);
    expect(code).toBe(1);
    expect(err.join('')).toMatch(/could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(err.join('')).toContain('is `fleetflow start` running?');
  });
});
