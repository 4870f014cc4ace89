import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Canonical } from '../../functions/store/canonical-json.ts';
import { itemSizeBytes, MAX_ITEM_BYTES } from '../../functions/store/item-size.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the same text whatever the insertion order', () => {
    const one = { kind: 'intent', seq: 3, parameters: { size: 'large', force: true } };
    const two = { parameters: { force: true, size: 'large' }, seq: 3, kind: 'intent' };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
  });

  it('sorts by UTF-16 code units like RFC 8785, and escapes strings as JSON does', () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, '10': 4, '9': 5 })).toBe('{"10":4,"9":5,"Z":3,"z":2,"é":1}');
    expect(canonicalJson('line\n"quoted"\u0001')).toBe('"line\\n\\"quoted\\"\\u0001"');
  });

  it('writes numbers as JSON does (no trailing zeros, -0 as 0, exponents)', () => {
    expect(canonicalJson([1.5, -0, 1e21, 0.000001, 10])).toBe('[1.5,0,1e+21,0.000001,10]');
  });

  it('leaves out undefined properties, as the store does', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('refuses what would not survive a round trip', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/\$\.n/);
    expect(() => canonicalJson([1, undefined])).toThrow(/\$\[1\]/);
    expect(() => canonicalJson({ at: new Date(0) })).toThrow(/Date is not a plain object/);
    expect(() => canonicalJson(10n)).toThrow(/bigint/);
    expect(() => canonicalJson(() => 1)).toThrow(/function/);
  });

  it('hashes the canonical text with SHA-256', () => {
    const expected = createHash('sha256').update('{"a":1,"b":[true,null]}').digest('hex');
    expect(sha256Canonical({ b: [true, null], a: 1 })).toBe(expected);
    expect(sha256Canonical({ a: 1, b: [true, null] })).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('itemSizeBytes', () => {
  it('counts UTF-8 bytes of names and string values', () => {
    expect(itemSizeBytes({ id: 'abc' })).toBe(5);
    expect(itemSizeBytes({ id: 'é' })).toBe(4);
  });

  it('never counts less than the data it holds', () => {
    const item = { jobId: 'j', request: { blob: 'x'.repeat(MAX_ITEM_BYTES) } };
    expect(itemSizeBytes(item)).toBeGreaterThan(MAX_ITEM_BYTES);
    expect(itemSizeBytes({ list: [1, 2, 3], nested: { a: [{ b: true }] } })).toBeGreaterThan(20);
  });
});
