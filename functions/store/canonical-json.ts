import { createHash, createHmac } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted by UTF-16 code units (as RFC 8785 does), no whitespace, numbers
 * and strings as JSON.stringify writes them. The audit hash chain depends on it, so it refuses
 * anything that would not survive a round trip through DynamoDB unchanged (undefined inside
 * arrays, non-finite numbers, bigints, class instances) instead of guessing.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`${path}: a ${typeof value} has no JSON form`);
  }
  if (Array.isArray(value)) {
    return `[${value
      .map((item, i) => {
        if (item === undefined) throw new TypeError(`${path}[${i}]: undefined inside an array`);
        return write(item, `${path}[${i}]`);
      })
      .join(',')}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`${path}: ${proto?.constructor?.name ?? 'object'} is not a plain object`);
  }
  const entries = Object.entries(value as Record<string, unknown>)
    // Absent and undefined are the same thing once stored (removeUndefinedValues).
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v, `${path}.${k}`)}`).join(',')}}`;
}

/** Lower-case hex SHA-256 of the canonical JSON of a value. */
export function sha256Canonical(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}

/** Lower-case hex HMAC-SHA256, keyed with `key`, of the canonical JSON of a value. */
export function hmacCanonical(key: Uint8Array, value: unknown): string {
  return createHmac('sha256', key).update(canonicalJson(value), 'utf8').digest('hex');
}
