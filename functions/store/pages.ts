import { StoreValidationError } from './errors.ts';

/** One page of a query, newest first unless said otherwise; `cursor` is absent on the last page. */
export interface Page<T> {
  items: T[];
  cursor?: string;
}

export interface PageOptions {
  /** Page size (1-1000). */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

export const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

export function pageSize(limit: number | undefined): number {
  const size = limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new StoreValidationError(`page limit must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${limit}`);
  }
  return size;
}

/** Opaque cursor: the LastEvaluatedKey, as base64url JSON. */
export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key), 'utf8').toString('base64url') : undefined;
}

/** A cursor's JSON object, whatever its fields (a listing that keeps more than a key checks them itself). */
export function decodeCursorObject(cursor: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
  } catch (error) {
    throw new StoreValidationError('invalid page cursor', [], { cause: error });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new StoreValidationError('invalid page cursor');
  return value as Record<string, unknown>;
}

/**
 * The key a cursor carries. With `keys`, it must hold exactly those attributes (the table's and
 * the index's key) with string or number values, as a LastEvaluatedKey of that query does: anything
 * else is StoreValidationError, never a request DynamoDB would refuse.
 */
export function decodeCursor(
  cursor: string | undefined,
  keys?: readonly string[],
): Record<string, unknown> | undefined {
  if (cursor === undefined) return undefined;
  const key = decodeCursorObject(cursor);
  const entries = Object.entries(key);
  const shaped =
    entries.length > 0 &&
    entries.every(([, v]) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) &&
    (keys === undefined || (entries.length === keys.length && keys.every((k) => Object.hasOwn(key, k))));
  if (!shaped) throw new StoreValidationError('invalid page cursor');
  return key;
}
