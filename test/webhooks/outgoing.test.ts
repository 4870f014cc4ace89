import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/log.ts';
import { sendSlack, sendWebhookEvent } from '../../functions/notify/outgoing.ts';
import type { HttpApiEvent, HttpApiResult } from '../../functions/webhooks/http-event.ts';
import { json, problem } from '../../functions/webhooks/http-event.ts';
import { generateSecret, verify } from '../../functions/webhooks/standard-webhooks.ts';
import { type RunningHttpServer, startHttpServer } from '../../local/http/server.ts';

const secret = generateSecret();
const logLines: string[] = [];
const logger = createLogger({ component: 'notify' }, 'debug', (line) => logLines.push(line));
const fast = { baseDelayMs: 5, maxDelayMs: 20, logger };

/** Every delivery the receiver got, with the result of verifying its signature. */
const deliveries: Array<{
  route: string;
  id?: string;
  timestamp?: number;
  verified: boolean;
  body: unknown;
}> = [];
const counters = new Map<string, number>();
let receiver: RunningHttpServer;

function count(route: string): number {
  const n = (counters.get(route) ?? 0) + 1;
  counters.set(route, n);
  return n;
}

/** A receiver that verifies like a real one, then answers with the scripted status for attempt n. */
function signedRoute(path: string, script: (n: number) => HttpApiResult | Promise<HttpApiResult>) {
  return {
    method: 'POST',
    path,
    access: 'signed' as const,
    handler: async (event: HttpApiEvent) => {
      const n = count(path);
      try {
        const ok = verify({ secrets: [secret], headers: event.headers, payload: event.body ?? '' });
        deliveries.push({ route: path, ...ok, verified: true, body: JSON.parse(event.body ?? 'null') });
      } catch {
        deliveries.push({ route: path, verified: false, body: undefined });
        return problem(401, 'invalid-signature', 'signature check failed');
      }
      return script(n);
    },
  };
}

beforeAll(async () => {
  receiver = await startHttpServer({
    port: 0,
    routes: [
      signedRoute('/ok', () => json(202, { received: true })),
      signedRoute('/flaky', (n) => (n <= 2 ? problem(503, 'unavailable', 'try later') : json(200, {}))),
      signedRoute('/down', () => problem(500, 'internal-error', 'internal error')),
      signedRoute('/bad', () => problem(400, 'bad', 'no')),
      signedRoute('/gone', () => problem(410, 'gone', 'gone')),
      signedRoute('/throttled', (n) =>
        n === 1 ? problem(429, 'slow-down', 'slow down', { 'retry-after': '1' }) : json(200, {}),
      ),
      signedRoute('/throttled-long', () => problem(429, 'slow-down', 'slow down', { 'retry-after': '120' })),
      signedRoute(
        '/slow',
        (n) => new Promise((resolve) => setTimeout(() => resolve(json(200, {})), n === 1 ? 1000 : 0)),
      ),
      {
        method: 'POST',
        path: '/services/T000/B000/slack-token-XYZ123',
        access: 'signed',
        handler: async (event) => {
          const n = count('slack');
          deliveries.push({ route: 'slack', verified: false, body: JSON.parse(event.body ?? 'null') });
          return n === 1
            ? problem(502, 'bad-gateway', 'bad gateway')
            : { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
        },
      },
    ],
  });
});

afterAll(async () => {
  await receiver.close();
});

const at = (path: string) => `${receiver.url}${path}`;
const event = { type: 'job.succeeded', timestamp: '2026-11-25T12:00:00Z', data: { jobId: 'job-1' } };
const of = (route: string) => deliveries.filter((d) => d.route === route);

describe('outgoing webhook (Standard Webhooks)', () => {
  it('delivers a signed event that the receiver verifies', async () => {
    const result = await sendWebhookEvent({ url: at('/ok'), secret, event, id: 'msg_job-1-end', ...fast });
    expect(result).toEqual({ ok: true, status: 202, attempts: 1, webhookId: 'msg_job-1-end' });
    expect(of('/ok')).toEqual([
      { route: '/ok', id: 'msg_job-1-end', timestamp: expect.any(Number), verified: true, body: event },
    ]);
  });

  it('signs with every secret during rotation', async () => {
    const result = await sendWebhookEvent({
      url: at('/ok'),
      secret: [generateSecret(), secret],
      event,
      ...fast,
    });
    expect(result.ok).toBe(true);
    expect(result.webhookId).toMatch(/^msg_/);
  });

  it('retries 5xx with the same webhook-id, re-signed each time', async () => {
    const result = await sendWebhookEvent({ url: at('/flaky'), secret, event, ...fast });
    expect(result).toMatchObject({ ok: true, status: 200, attempts: 3 });
    const seen = of('/flaky');
    expect(seen).toHaveLength(3);
    expect(seen.every((d) => d.verified && d.id === result.webhookId)).toBe(true);
  });

  it('gives up after 3 retries and says why', async () => {
    const result = await sendWebhookEvent({ url: at('/down'), secret, event, ...fast });
    expect(result).toMatchObject({ ok: false, status: 500, attempts: 4 });
    expect(result.error).toBe(`${receiver.url} answered 500`);
  });

  it('does not retry other 4xx; 410 says the receiver wants the endpoint disabled', async () => {
    expect(await sendWebhookEvent({ url: at('/bad'), secret, event, ...fast })).toMatchObject({
      ok: false,
      status: 400,
      attempts: 1,
    });
    const gone = await sendWebhookEvent({ url: at('/gone'), secret, event, ...fast });
    expect(gone).toMatchObject({ ok: false, status: 410, attempts: 1 });
    expect(gone.error).toContain('disable');
  });

  it('honours Retry-After; one beyond the cap is not waited for', async () => {
    const started = Date.now();
    const result = await sendWebhookEvent({ url: at('/throttled'), secret, event, ...fast });
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    const long = await sendWebhookEvent({
      url: at('/throttled-long'),
      secret,
      event,
      ...fast,
      retryAfterCapMs: 5000,
    });
    expect(long).toMatchObject({ ok: false, status: 429, attempts: 1 });
    expect(long.error).toContain('Retry-After 120 s exceeds the cap');
  });

  it('a slow receiver times out and is retried', async () => {
    const result = await sendWebhookEvent({ url: at('/slow'), secret, event, ...fast, timeoutMs: 300 });
    expect(result).toMatchObject({ ok: true, attempts: 2 });
  });

  it('network errors are retried, then reported without secrets', async () => {
    const closed = await startHttpServer({ port: 0, routes: [] });
    await closed.close();
    logLines.length = 0;
    const result = await sendWebhookEvent({ url: `${closed.url}/hook?token=abc`, secret, event, ...fast });
    expect(result).toMatchObject({ ok: false, attempts: 4 });
    expect(result.status).toBeUndefined();
    expect(result.error).toMatch(/^could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
    const everything = JSON.stringify(result) + logLines.join('\n');
    for (const leak of [secret.slice(6), 'token=abc', '/hook']) expect(everything).not.toContain(leak);
    expect(logLines.some((l) => l.includes('retrying'))).toBe(true);
  });
});

describe('Slack incoming webhook', () => {
  it('posts {text, blocks}, retries a 502, never reveals the URL path', async () => {
    logLines.length = 0;
    const url = at('/services/T000/B000/slack-token-XYZ123');
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*job-1* succeeded' } }];
    const result = await sendSlack({ url, text: 'job-1 succeeded', blocks, ...fast });
    expect(result).toEqual({ ok: true, status: 200, attempts: 2 });
    expect(of('slack').map((d) => d.body)).toEqual([
      { text: 'job-1 succeeded', blocks },
      { text: 'job-1 succeeded', blocks },
    ]);
    expect(logLines.join('\n')).not.toContain('slack-token-XYZ123');
  });
});
