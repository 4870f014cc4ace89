import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createLogger } from '../../functions/log.ts';
import { json } from '../../functions/webhooks/http-event.ts';
import { receiveSignedJson, toHttpError } from '../../functions/webhooks/receive.ts';
import { sendSigned } from '../../functions/webhooks/send.ts';
import { generateSecret, signedHeaders } from '../../functions/webhooks/standard-webhooks.ts';
import { type RunningHttpServer, startHttpServer } from '../../local/http/server.ts';

// Issue 5, "Bad input", over real HTTP: every rejection is a 4xx in the shared shape with a
// specific code, the handler's work (here: `accepted`) never runs, and nothing leaks.
const secret = generateSecret();
const schema = z.object({ provider: z.enum(['exoscale', 'gcore']), name: z.string().min(1) }).strict();
const accepted: string[] = [];
const logLines: string[] = [];
let server: RunningHttpServer;

beforeAll(async () => {
  server = await startHttpServer({
    port: 0,
    logger: createLogger({}, 'info', (line) => logLines.push(line)),
    routes: [
      {
        method: 'POST',
        path: '/webhooks/provision',
        access: 'signed',
        handler: async (event) => {
          try {
            const delivery = receiveSignedJson(event, { secrets: [secret], schema });
            accepted.push(delivery.webhookId);
            return json(202, { jobId: delivery.webhookId, statusUrl: `/jobs/${delivery.webhookId}` });
          } catch (error) {
            return toHttpError(error);
          }
        },
      },
    ],
  });
});

afterAll(async () => {
  await server.close();
});

const url = () => `${server.url}/webhooks/provision`;
const good = '{"provider":"exoscale","name":"web-1"}';

async function post(body: string, headers: Record<string, string>) {
  const answer = await request(url(), {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  const text = await answer.body.text();
  return { status: answer.statusCode, text, error: (JSON.parse(text) as { error?: { code: string } }).error };
}

const sign = (body: string, id = 'msg_1', at: Date = new Date(), key = secret) =>
  signedHeaders({ secrets: key, id, timestamp: at, payload: body });

describe('bad webhooks over HTTP', () => {
  const stale = () => new Date(Date.now() - 6 * 60_000);
  const future = () => new Date(Date.now() + 6 * 60_000);
  const invalid = '{"provider":"aws","extra":1}';
  it.each<[string, number, string, () => ReturnType<typeof post>]>([
    ['unsigned', 401, 'missing-headers', () => post(good, {})],
    [
      'wrongly signed',
      401,
      'no-matching-signature',
      () => post(good, sign(good, 'm', new Date(), generateSecret())),
    ],
    ['stale', 401, 'timestamp-too-old', () => post(good, sign(good, 'msg_1', stale()))],
    ['from the future', 401, 'timestamp-in-future', () => post(good, sign(good, 'msg_1', future()))],
    ['tampered', 401, 'no-matching-signature', () => post(good.replace('web-1', 'web-2'), sign(good))],
    [
      'malformed signature',
      401,
      'malformed-signature',
      () => post(good, { ...sign(good), 'webhook-signature': 'x' }),
    ],
    ['without webhook-id', 400, 'missing-webhook-id', () => post(good, { ...sign(good), 'webhook-id': '' })],
    ['oversized', 413, 'payload-too-large', () => post(`{"pad":"${'x'.repeat(70_000)}"}`, {})],
    ['malformed JSON', 400, 'malformed-json', () => post('{"provider":', sign('{"provider":'))],
    ['schema-invalid', 422, 'invalid-body', () => post(invalid, sign(invalid))],
  ])('%s → %i %s', async (_name, status, code, send) => {
    accepted.length = 0;
    logLines.length = 0;
    const answer = await send();
    expect(answer.status).toBe(status);
    expect(answer.error?.code).toBe(code);
    expect(accepted).toEqual([]);
    expect(answer.text + logLines.join('\n')).not.toContain(secret.slice(6));
    expect(logLines.some((l) => l.includes(`"status":${status}`))).toBe(true);
  });

  it('a replay of the same delivery is accepted again with the same id (the caller dedupes on it)', async () => {
    accepted.length = 0;
    const first = await sendSigned({ url: url(), secret, payload: good });
    const again = await sendSigned({ url: url(), secret, payload: good });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.json).toEqual(first.json);
    expect(accepted).toEqual([first.webhookId, first.webhookId]);
  });
});
