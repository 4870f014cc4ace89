import * as z from 'zod';

/**
 * Keys that a plain JavaScript object cannot hold as data: Object.prototype's own names
 * (`constructor`, `__proto__`, `toString`, …). Looked up they read through to the prototype; stored
 * they are dropped (`__proto__`) or break DynamoDB marshalling (`constructor`). fleetflow refuses
 * them wherever a user names a key (labels, label names) and looks records up by own keys only.
 */
const RESERVED = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

export function isReservedKey(key: string): boolean {
  return RESERVED.has(key);
}

export const RESERVED_KEY_MESSAGE = 'is a reserved name (constructor, __proto__, toString… cannot be keys)';

/** `record[key]` when it is the record's own entry, never something inherited. */
export function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * z.record that refuses reserved keys. The check runs on the input itself: zod's record would drop
 * a `__proto__` key silently before a key schema could see it.
 */
export function plainRecord<K extends z.ZodType<string>, V extends z.ZodType>(key: K, value: V) {
  return z
    .unknown()
    .superRefine((input, ctx) => {
      if (input === null || typeof input !== 'object') return;
      for (const k of Object.keys(input))
        if (isReservedKey(k))
          ctx.addIssue({ code: 'custom', path: [k], message: `'${k}' ${RESERVED_KEY_MESSAGE}` });
    })
    .pipe(z.record(key, value));
}
