/**
 * DynamoDB's 400 KB item limit, checked before a write so an oversized record fails with a typed
 * error and nothing is sent. The estimate follows DynamoDB's documented sizing (UTF-8 name and
 * value bytes, about one byte per two significant digits of a number, 3 bytes plus one per
 * element of a list or map) and rounds up where unsure, so it never under-counts.
 */
export const MAX_ITEM_BYTES = 400 * 1024;

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

function valueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8(value);
  if (typeof value === 'number') {
    const digits = String(Math.abs(value))
      .replace(/e.*$/, '')
      .replace(/[^0-9]/g, '')
      .replace(/^0+/, '');
    return Math.ceil(Math.max(digits.length, 1) / 2) + 2;
  }
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) {
    let sum = 0;
    for (const v of value) sum += valueBytes(v);
    return sum;
  }
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + 1 + valueBytes(v), 3);
  if (typeof value === 'object') {
    let sum = 3;
    for (const [k, v] of Object.entries(value)) if (v !== undefined) sum += 1 + utf8(k) + valueBytes(v);
    return sum;
  }
  return utf8(String(value));
}

/** Estimated stored size of an item (top-level attributes) in bytes. */
export function itemSizeBytes(item: Record<string, unknown>): number {
  let sum = 0;
  for (const [name, value] of Object.entries(item))
    if (value !== undefined) sum += utf8(name) + valueBytes(value);
  return sum;
}

/** Size of a fragment (a step, a result, a map value) as it will count inside an item. */
export function fragmentSizeBytes(value: unknown): number {
  return valueBytes(value);
}
