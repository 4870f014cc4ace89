import { describe, expect, it } from 'vitest';
import {
  authorizationHeader,
  parseAuthorization,
  signedQuery,
  stringToSign,
  verify,
} from '../../../functions/providers/exoscale/auth.ts';

// Published vectors: egoscale v2/api/security_test.go and requests-exoscale-auth tests.
const KEY = 'EXOxxxxxxxxxxxxxxxxxxxxxxxx';
const SECRET = 'X'.repeat(43);
const EXPIRES = 3376684800; // 2077-01-01T00:00:00Z

describe('EXO2-HMAC-SHA256 published vectors', () => {
  it('GET /v2/zone: string to sign and header', () => {
    const input = { method: 'GET', path: '/v2/zone', expires: EXPIRES };
    expect(stringToSign(input)).toBe('GET /v2/zone\n\n\n\n3376684800');
    expect(authorizationHeader(KEY, SECRET, input)).toBe(
      'EXO2-HMAC-SHA256 credential=EXOxxxxxxxxxxxxxxxxxxxxxxxx,expires=3376684800,signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY=',
    );
  });

  it('GET /v2/zone?k1=v1&k2=v2: string to sign and header with signed-query-args', () => {
    const input = {
      method: 'GET',
      path: '/v2/zone',
      query: [
        ['k1', 'v1'],
        ['k2', 'v2'],
      ] as Array<[string, string]>,
      expires: EXPIRES,
    };
    expect(stringToSign(input)).toBe('GET /v2/zone\n\nv1v2\n\n3376684800');
    expect(authorizationHeader(KEY, SECRET, input)).toBe(
      'EXO2-HMAC-SHA256 credential=EXOxxxxxxxxxxxxxxxxxxxxxxxx,signed-query-args=k1;k2,expires=3376684800,signature=iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY=',
    );
  });

  it('sorts query parameters by name whatever the send order', () => {
    const shuffled = {
      method: 'GET',
      path: '/v2/zone',
      query: [
        ['k2', 'v2'],
        ['k1', 'v1'],
      ] as Array<[string, string]>,
      expires: EXPIRES,
    };
    expect(authorizationHeader(KEY, SECRET, shuffled)).toContain('signed-query-args=k1;k2,');
    expect(authorizationHeader(KEY, SECRET, shuffled)).toContain(
      'signature=iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY=',
    );
  });
});

describe('EXO2-HMAC-SHA256 message details', () => {
  it('puts the body on line 2 and leaves lines 3-4 empty (the docs POST example)', () => {
    expect(
      stringToSign({
        method: 'POST',
        path: '/v2/security-group',
        body: '{"name": "my-security-group"}',
        expires: 1599140767,
      }),
    ).toBe('POST /v2/security-group\n{"name": "my-security-group"}\n\n\n1599140767');
  });

  it('keeps a colon in the path literal and upper-cases the method', () => {
    expect(stringToSign({ method: 'put', path: '/v2/instance/abc:start', expires: 1 })).toBe(
      'PUT /v2/instance/abc:start\n\n\n\n1',
    );
  });

  it('leaves repeated parameters out, as Go does, and keeps an empty single value', () => {
    const q: Array<[string, string]> = [
      ['b', '2'],
      ['a', 'x'],
      ['a', 'y'],
      ['c', ''],
    ];
    expect(signedQuery(q)).toEqual([
      ['b', '2'],
      ['c', ''],
    ]);
    expect(
      authorizationHeader(KEY, SECRET, { method: 'GET', path: '/v2/x', query: q, expires: 5 }),
    ).toContain('signed-query-args=b;c,');
  });

  it('parses its own header back', () => {
    const header = authorizationHeader(KEY, SECRET, {
      method: 'GET',
      path: '/v2/zone',
      query: [['k1', 'v1']],
      expires: EXPIRES,
    });
    expect(parseAuthorization(header)).toEqual({
      credential: KEY,
      signedQueryArgs: ['k1'],
      expires: EXPIRES,
      signature: header.split('signature=')[1],
    });
    expect(parseAuthorization('Bearer abc')).toBeUndefined();
    expect(parseAuthorization('EXO2-HMAC-SHA256 credential=a,signature=b')).toBeUndefined();
    expect(parseAuthorization(undefined)).toBeUndefined();
  });
});

describe('server-side verification', () => {
  const now = 1_700_000_000;
  const request = (expires: number, query: Array<[string, string]> = [['labels', 'env=prod']]) => ({
    method: 'GET',
    path: '/ch-gva-2/v2/instance',
    body: '',
    query,
    nowSeconds: now,
    maxAheadSeconds: 3600,
    secretFor: (k: string) => (k === KEY ? SECRET : undefined),
    auth: parseAuthorization(
      authorizationHeader(KEY, SECRET, { method: 'GET', path: '/ch-gva-2/v2/instance', query, expires }),
    )!,
  });

  it('accepts a fresh signature', () => {
    expect(verify(request(now + 600))).toBe('ok');
  });
  it('refuses an expired one, and one too far ahead', () => {
    expect(verify(request(now - 1))).toBe('expired');
    expect(verify(request(now + 7200))).toBe('too-far-ahead');
  });
  it('refuses a tampered query, an unsigned parameter and an unknown key', () => {
    expect(verify({ ...request(now + 600), query: [['labels', 'env=dev']] })).toBe('bad-signature');
    expect(
      verify({
        ...request(now + 600),
        query: [
          ['labels', 'env=prod'],
          ['ip-address', '1.2.3.4'],
        ],
      }),
    ).toBe('unsigned-query');
    expect(verify({ ...request(now + 600), secretFor: () => undefined })).toBe('unknown-credential');
  });
  it('refuses a signature made for another path or body', () => {
    expect(verify({ ...request(now + 600), path: '/de-fra-1/v2/instance' })).toBe('bad-signature');
    expect(verify({ ...request(now + 600), body: '{}' })).toBe('bad-signature');
  });
});
