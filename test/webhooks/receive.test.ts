import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { HttpApiEvent } from '../../functions/webhooks/http-event.ts';
import {
  executionNameFor,
  MalformedJsonError,
  PayloadTooLargeError,
  receiveSignedJson,
  SchemaValidationError,
  summariseIssues,
  toHttpError,
  WebhookRequestError,
  WebhookSignatureError,
} from '../../functions/webhooks/receive.ts';
import { generateSecret, signedHeaders } from '../../functions/webhooks/standard-webhooks.ts';

const secret = generateSecret();
const now = new Date('2026-11-25T12:00:00Z');
const schema = z.object({
  provider: z.enum(['exoscale', 'gcore']),
  name: z.string().min(1),
  diskSize: z.number().int().positive().optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

function event(body: string, headers: Record<string, string>, isBase64Encoded = false): HttpApiEvent {
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/provision',
    rawPath: '/webhooks/provision',
    rawQueryString: '',
    headers,
    requestContext: {
      http: { method: 'POST', path: '/webhooks/provision', sourceIp: '127.0.0.1' },
      requestId: 'req-1',
      timeEpoch: now.getTime(),
    },
    body,
    isBase64Encoded,
  };
}

function signed(body: string, id = 'msg_abc', at = now): HttpApiEvent {
  return event(body, signedHeaders({ secrets: secret, id, timestamp: at, payload: body }));
}

function rejection(
  e: HttpApiEvent,
  extra: { maxBytes?: number; secrets?: string[] } = {},
): WebhookRequestError {
  try {
    receiveSignedJson(e, { secrets: [secret], schema, now, ...extra });
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookRequestError);
    return error as WebhookRequestError;
  }
  throw new Error('expected a rejection');
}

const good = '{"provider":"exoscale","name":"web-1","diskSize":50,"labels":{"team":"web"}}';

describe('receiveSignedJson', () => {
  it('returns the id, timestamp, validated body and payload hash', () => {
    const received = receiveSignedJson(signed(good), { secrets: [secret], schema, now });
    expect(received).toEqual({
      webhookId: 'msg_abc',
      executionName: 'msg_abc',
      timestamp: now.getTime() / 1000,
      body: { provider: 'exoscale', name: 'web-1', diskSize: 50, labels: { team: 'web' } },
      payloadHash: createHash('sha256').update(good).digest('hex'),
    });
  });

  it('a redelivery is not an error and has the same hash; a different body under the same id has another', () => {
    const first = receiveSignedJson(signed(good), { secrets: [secret], schema, now });
    const again = receiveSignedJson(signed(good, 'msg_abc', new Date(now.getTime() + 60_000)), {
      secrets: [secret],
      schema,
      now,
    });
    expect(again.webhookId).toBe(first.webhookId);
    expect(again.payloadHash).toBe(first.payloadHash);
    const other = receiveSignedJson(signed(good.replace('web-1', 'web-2')), {
      secrets: [secret],
      schema,
      now,
    });
    expect(other.webhookId).toBe(first.webhookId);
    expect(other.payloadHash).not.toBe(first.payloadHash);
  });

  it('derives a valid, stable Step Functions execution name from any webhook-id', () => {
    expect(executionNameFor('msg_2KWPBgLlAfxdpx2AI54pPJ85f4W')).toBe('msg_2KWPBgLlAfxdpx2AI54pPJ85f4W');
    const odd = executionNameFor('evt:2026/11/25 #1');
    expect(odd).toMatch(/^wh_[A-Za-z0-9_-]{43}$/);
    expect(executionNameFor('evt:2026/11/25 #1')).toBe(odd);
    expect(executionNameFor('x'.repeat(81))).toMatch(/^wh_/);
    expect(receiveSignedJson(signed(good, 'a.b'), { secrets: [secret], schema, now }).executionName).toMatch(
      /^wh_/,
    );
  });

  it('handles base64 bodies and signs their decoded bytes', () => {
    const headers = signedHeaders({ secrets: secret, id: 'msg_b64', timestamp: now, payload: good });
    const received = receiveSignedJson(event(Buffer.from(good).toString('base64'), headers, true), {
      secrets: [secret],
      schema,
      now,
    });
    expect(received.body.name).toBe('web-1');
  });

  it('413 before any signature work, for plain and base64 bodies', () => {
    const big = JSON.stringify({ provider: 'exoscale', name: 'x'.repeat(70 * 1024) });
    // Unsigned and oversized: the size is what is reported, so no HMAC ran.
    const error = rejection(event(big, {}));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.status).toBe(413);
    expect(rejection(event(Buffer.from(big).toString('base64'), {}, true)).status).toBe(413);
    // Multi-byte characters count in bytes, not characters.
    const wide = JSON.stringify({ provider: 'exoscale', name: 'é'.repeat(600) });
    expect(wide.length).toBeLessThan(1024);
    expect(rejection(signed(wide), { maxBytes: 1024 }).status).toBe(413);
    // Exactly at the limit passes.
    expect(
      receiveSignedJson(signed(good), { secrets: [secret], schema, now, maxBytes: good.length }).webhookId,
    ).toBe('msg_abc');
  });

  it('401 for unsigned, wrongly signed and stale deliveries, with which check failed', () => {
    const unsigned = rejection(event(good, {}));
    expect([unsigned.status, unsigned.code]).toEqual([401, 'missing-headers']);
    expect(unsigned.message).toContain('webhook-signature');

    const wrong = rejection(
      event(good, signedHeaders({ secrets: generateSecret(), id: 'm', timestamp: now, payload: good })),
    );
    expect([wrong.status, wrong.code]).toEqual([401, 'no-matching-signature']);

    const stale = rejection(signed(good, 'msg_old', new Date(now.getTime() - 10 * 60_000)));
    expect([stale.status, stale.code]).toEqual([401, 'timestamp-too-old']);

    const tampered = signed(good);
    tampered.body = good.replace('web-1', 'web-9');
    expect(rejection(tampered).code).toBe('no-matching-signature');
    expect(rejection(tampered)).toBeInstanceOf(WebhookSignatureError);
  });

  it('400 when a signed delivery has no webhook-id', () => {
    const headers = signedHeaders({ secrets: secret, id: 'msg_x', timestamp: now, payload: good });
    delete headers['webhook-id'];
    const error = rejection(event(good, headers));
    expect([error.status, error.code]).toEqual([400, 'missing-webhook-id']);
  });

  it('500 (our fault, not the sender’s) when the configured secret is unusable', () => {
    const error = rejection(signed(good), { secrets: ['whsec_***'] });
    expect([error.status, error.code]).toEqual([500, 'webhook-secret-misconfigured']);
  });

  it('400 for malformed JSON, without echoing the body', () => {
    const body = '{"provider":"exoscale", "name": "sekrit-value"';
    const error = rejection(signed(body));
    expect(error).toBeInstanceOf(MalformedJsonError);
    expect([error.status, error.code]).toEqual([400, 'malformed-json']);
    expect(error.message).not.toContain('sekrit');
  });

  it('422 with path: message lines, capped', () => {
    const error = rejection(signed('{"provider":"aws","diskSize":-1,"labels":{"team":7}}'));
    expect(error).toBeInstanceOf(SchemaValidationError);
    expect(error.status).toBe(422);
    const issues = (error as SchemaValidationError).issues;
    expect(issues.map((l) => l.split(':')[0])).toEqual(['provider', 'name', 'diskSize', 'labels.team']);

    const many = Array.from({ length: 25 }, (_, i) => ({ path: ['items', i, 'name'], message: 'Required' }));
    const lines = summariseIssues(many);
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe('items[0].name: Required');
    expect(lines[10]).toBe('… and 15 more');
    expect(summariseIssues([{ path: [], message: 'Invalid input' }])).toEqual(['(root): Invalid input']);
  });

  it('toHttpError maps to the shared error shape; unknown errors become a generic 500', () => {
    const answer = toHttpError(rejection(signed(good, 'msg_old', new Date(0))));
    expect(answer.statusCode).toBe(401);
    expect(answer.headers?.['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(answer.body!);
    expect(body).toEqual({
      error: { code: 'timestamp-too-old', message: expect.stringContaining('tolerance') },
    });

    const hidden = toHttpError(new Error(`database password=${secret} exploded`));
    expect(hidden.statusCode).toBe(500);
    expect(JSON.parse(hidden.body!)).toEqual({
      error: { code: 'internal-error', message: 'internal error' },
    });
  });

  it('no answer ever contains the secret, a signature or the body', () => {
    const e = signed(good);
    const signature = e.headers['webhook-signature']!;
    const cases = [
      rejection(e, { secrets: [generateSecret()] }),
      rejection(e, { secrets: ['whsec_***'] }),
      rejection(signed('{"provider":"aws","name":"web-1"}')),
    ];
    for (const error of cases) {
      const text = JSON.stringify(toHttpError(error)) + error.message;
      for (const leak of [secret.slice(6), signature.slice(3), 'web-1']) expect(text).not.toContain(leak);
    }
  });
});
