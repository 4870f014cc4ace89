import * as z from 'zod';
import type { UsageHistory } from '../../metrics/usage.ts';
import type { Instance } from '../../providers/port.ts';
import { isReservedKey, RESERVED_KEY_MESSAGE } from '../../shared/keys.ts';

/**
 * What a filter sees: the live instance and the account it was read with, and its usage once
 * read (only for filters that need it: see `usageWindow` in ./idle.ts).
 */
export type Subject = Instance & { account: string; usage?: UsageHistory };

/** true / false, or undefined when a field the filter needs is not known (pre-filtering an event). */
export type Truth = boolean | undefined;

/** One condition as evaluated: its outcome and a line saying what was compared. */
export interface Check {
  truth: Truth;
  text: string;
}

/**
 * One filter kind, registered once (Cloud Custodian's filter registry): its schema in the config
 * file, how it evaluates on a (possibly partial) subject, and the explanation of each condition.
 * A field the filter needs that the subject lacks makes its condition unknown, never a guess.
 */
export interface FilterDefinition<V> {
  /** The value's schema, optional (a filter key may be left out); its description goes to the JSON Schema. */
  schema: z.ZodType<V | undefined>;
  /** The conditions this filter adds for `value` (usually one). */
  evaluate(value: V, subject: Partial<Subject>, now: number): Check[];
  /** Checked once the whole filter object parsed (e.g. a /regex/ that compiles); the message names the problem. */
  refine?: { check: (value: V) => boolean; message: string };
}

export const defineFilter = <V>(definition: FilterDefinition<V>): FilterDefinition<V> => definition;

// ---- helpers the filter kinds share --------------------------------------------------------------

export const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);
export const labelKey = z
  .string()
  .min(1)
  .max(128)
  .refine((k) => !isReservedKey(k), RESERVED_KEY_MESSAGE);
export const list = <T>(v: T | readonly T[]): T[] => (Array.isArray(v) ? [...v] : [v as T]);

/** The condition's truth when the subject has the field, undefined when it does not. */
export const known = <T>(v: T | undefined, f: (v: T) => boolean): Truth =>
  v === undefined ? undefined : f(v);

/** A "field in [wanted values]" condition, the shape most filters take. */
export function oneOf<T extends string>(field: string, have: T | undefined, want: readonly T[]): Check {
  return {
    truth: known(have, (h) => want.includes(h)),
    text: `${field} ${have ?? '?'} in [${want.join(', ')}]`,
  };
}
