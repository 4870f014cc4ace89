import { describe, expect, it } from 'vitest';
import {
  decodeSecret,
  generateSecret,
  type HeaderBag,
  sign,
  signedHeaders,
  verify,
  WebhookVerificationError,
  type WebhookVerificationReason,
} from '../../functions/webhooks/standard-webhooks.ts';

// The vector shared by every Standard Webhooks reference library ("sign function works").
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  expected: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const AT_VECTOR = new Date(VECTOR.timestamp * 1000);

function vectorHeaders(signature = VECTOR.expected): HeaderBag {
  return {
    'webhook-id': VECTOR.id,
    'webhook-timestamp': String(VECTOR.timestamp),
    'webhook-signature': signature,
  };
}

function failure(fn: () => unknown): WebhookVerificationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return error as WebhookVerificationError;
  }
  throw new Error('expected a WebhookVerificationError');
}

function expectReason(fn: () => unknown, reason: WebhookVerificationReason): WebhookVerificationError {
  const error = failure(fn);
  expect(error.reason).toBe(reason);
  expect(error.name).toBe('WebhookVerificationError');
  return error;
}

describe('Standard Webhooks: published vector', () => {
  it('signs the vector exactly', () => {
    expect(sign(VECTOR)).toBe(VECTOR.expected);
  });

  it('verifies the vector', () => {
    expect(
      verify({ secrets: [VECTOR.secret], headers: vectorHeaders(), payload: VECTOR.payload, now: AT_VECTOR }),
    ).toEqual({
      id: VECTOR.id,
      timestamp: VECTOR.timestamp,
    });
  });

  it('accepts the secret as raw base64 and the payload as bytes', () => {
    const raw = VECTOR.secret.slice('whsec_'.length);
    expect(sign({ ...VECTOR, secret: raw, payload: Buffer.from(VECTOR.payload) })).toBe(VECTOR.expected);
    expect(decodeSecret(VECTOR.secret)).toHaveLength(24);
  });

  it('reads headers whatever their case', () => {
    const headers = {
      'Webhook-Id': VECTOR.id,
      'WEBHOOK-TIMESTAMP': String(VECTOR.timestamp),
      'Webhook-Signature': VECTOR.expected,
    };
    expect(verify({ secrets: [VECTOR.secret], headers, payload: VECTOR.payload, now: AT_VECTOR }).id).toBe(
      VECTOR.id,
    );
  });
});

describe('Standard Webhooks: rotation', () => {
  const oldSecret = generateSecret();
  const newSecret = generateSecret();
  const payload = '{"provider":"exoscale"}';
  const now = new Date('2026-11-25T12:00:00Z');

  it('passes when any of several signatures matches', () => {
    const headers = signedHeaders({ secrets: [oldSecret, newSecret], id: 'msg_1', timestamp: now, payload });
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verify({ secrets: [newSecret], headers, payload, now }).id).toBe('msg_1');
    expect(verify({ secrets: [oldSecret], headers, payload, now }).id).toBe('msg_1');
  });

  it('passes when the receiver accepts several secrets and the sender signed with one', () => {
    const headers = signedHeaders({ secrets: oldSecret, id: 'msg_2', timestamp: now, payload });
    expect(verify({ secrets: [newSecret, oldSecret], headers, payload, now }).id).toBe('msg_2');
    expectReason(() => verify({ secrets: [newSecret], headers, payload, now }), 'no-matching-signature');
  });

  it('skips other schemes and malformed entries next to a good one', () => {
    const good = sign({ secret: newSecret, id: 'msg_3', timestamp: now, payload });
    const headers = {
      'webhook-id': 'msg_3',
      'webhook-timestamp': String(now.getTime() / 1000),
      'webhook-signature': `v1a,AAAA garbage v1,short ${good}`,
    };
    expect(verify({ secrets: [newSecret], headers, payload, now }).id).toBe('msg_3');
  });

  it('generates whsec_ secrets of 32 random bytes', () => {
    expect(oldSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(decodeSecret(oldSecret)).toHaveLength(32);
    expect(oldSecret).not.toBe(newSecret);
  });
});

describe('Standard Webhooks: failures', () => {
  const verifyVector = (headers: HeaderBag, extra: Partial<Parameters<typeof verify>[0]> = {}) =>
    verify({ secrets: [VECTOR.secret], headers, payload: VECTOR.payload, now: AT_VECTOR, ...extra });

  it('missing-headers names the missing ones', () => {
    const error = expectReason(() => verifyVector({ 'webhook-id': VECTOR.id }), 'missing-headers');
    expect(error.message).toBe('missing header(s): webhook-timestamp, webhook-signature');
    expectReason(() => verifyVector({ ...vectorHeaders(), 'webhook-signature': '  ' }), 'missing-headers');
  });

  it('invalid-timestamp', () => {
    for (const ts of ['soon', '1614265330.5', '-1', '1e9', '']) {
      const headers = { ...vectorHeaders(), 'webhook-timestamp': ts };
      expectReason(() => verifyVector(headers), ts === '' ? 'missing-headers' : 'invalid-timestamp');
    }
  });

  it('tolerance edges: exactly 300 s either way passes, 301 s fails', () => {
    const at = (offsetSeconds: number) => new Date((VECTOR.timestamp + offsetSeconds) * 1000);
    expect(verifyVector(vectorHeaders(), { now: at(300) }).id).toBe(VECTOR.id);
    expect(verifyVector(vectorHeaders(), { now: at(-300) }).id).toBe(VECTOR.id);
    expectReason(() => verifyVector(vectorHeaders(), { now: at(301) }), 'timestamp-too-old');
    expectReason(() => verifyVector(vectorHeaders(), { now: at(-301) }), 'timestamp-in-future');
    // A custom tolerance is honoured.
    expectReason(
      () => verifyVector(vectorHeaders(), { now: at(11), toleranceSeconds: 10 }),
      'timestamp-too-old',
    );
  });

  it('a stale timestamp is rejected before the signature is looked at', () => {
    expectReason(() => verifyVector(vectorHeaders('v1,nonsense'), { now: new Date() }), 'timestamp-too-old');
  });

  it('a body changed by one byte fails', () => {
    const changed = VECTOR.payload.replace('4}', '5}');
    expect(changed).toHaveLength(VECTOR.payload.length);
    expectReason(() => verifyVector(vectorHeaders(), { payload: changed }), 'no-matching-signature');
    expectReason(
      () => verifyVector(vectorHeaders(), { payload: `${VECTOR.payload} ` }),
      'no-matching-signature',
    );
  });

  it('a changed id or timestamp fails (both are signed)', () => {
    expectReason(
      () => verifyVector({ ...vectorHeaders(), 'webhook-id': 'msg_other' }),
      'no-matching-signature',
    );
    const ts = String(VECTOR.timestamp + 1);
    expectReason(
      () => verifyVector({ ...vectorHeaders(), 'webhook-timestamp': ts }),
      'no-matching-signature',
    );
  });

  it('malformed-signature', () => {
    for (const signature of [
      'g0hM9SsE+OTPJTGt',
      'v1,',
      'v1,!!!notbase64!!!',
      'v1,AAAA',
      ',abc',
      'v1a,AAAA',
    ]) {
      expectReason(() => verifyVector(vectorHeaders(signature)), 'malformed-signature');
    }
  });

  it('invalid-secret', () => {
    for (const secret of ['whsec_', 'whsec_not base64!', 'whsec_A', '']) {
      expectReason(() => verifyVector(vectorHeaders(), { secrets: [secret] }), 'invalid-secret');
    }
    expectReason(() => verifyVector(vectorHeaders(), { secrets: [] }), 'invalid-secret');
    expectReason(() => sign({ ...VECTOR, secret: 'whsec_!' }), 'invalid-secret');
  });

  it('error messages never contain the secret, the signatures or the body', () => {
    const other = generateSecret();
    const attempts: Array<() => unknown> = [
      () => verifyVector(vectorHeaders(), { secrets: [other] }),
      () => verifyVector(vectorHeaders(), { payload: '{"test": 1}' }),
      () => verifyVector(vectorHeaders(`${VECTOR.expected.slice(0, -4)}AAA=`)),
      () => verifyVector(vectorHeaders('v1,g0hM9SsE+OTPJTGt')),
      () => verifyVector(vectorHeaders(), { secrets: [`${VECTOR.secret}!`] }),
      () => verifyVector(vectorHeaders(), { now: new Date() }),
    ];
    const secretBody = VECTOR.secret.slice('whsec_'.length);
    for (const attempt of attempts) {
      const error = failure(attempt);
      const text = `${error.message} ${String(error.stack)} ${JSON.stringify(error)}`;
      for (const leak of [secretBody, other.slice(6), 'g0hM9SsE', VECTOR.payload, '2432232314']) {
        expect(text).not.toContain(leak);
      }
    }
  });
});
