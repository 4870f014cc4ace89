import * as z from 'zod';
import type { Check, FilterDefinition, Subject, Truth } from './define.ts';
import { FILTERS } from './registry.ts';

export type { Subject, Truth } from './define.ts';
export { hasPublicIp } from './registry.ts';

type FilterKey = keyof typeof FILTERS;
type ValueOf<K extends FilterKey> = (typeof FILTERS)[K] extends FilterDefinition<infer V> ? V : never;

/** A policy's `filters:`: every registered key given must hold (an implicit "all"); all/any/not nest. */
export type Filter = { [K in FilterKey]?: ValueOf<K> } & {
  all?: Filter[];
  any?: Filter[];
  not?: Filter;
};

const ENTRIES = Object.entries(FILTERS) as Array<[FilterKey, FilterDefinition<unknown>]>;

/** An empty filter matches everything. Built from the registry, so a new filter needs no edit here. */
export const filterSchema: z.ZodType<Filter> = z.lazy(() => {
  let object: z.ZodType<Filter> = z.strictObject({
    all: z.array(filterSchema).min(1).optional(),
    any: z.array(filterSchema).min(1).optional(),
    not: filterSchema.optional(),
    ...Object.fromEntries(ENTRIES.map(([key, def]) => [key, def.schema])),
  }) as unknown as z.ZodType<Filter>;
  for (const [key, def] of ENTRIES) {
    const refine = def.refine;
    if (!refine) continue;
    object = object.refine(
      (f) =>
        (f as Record<string, unknown>)[key] === undefined ||
        refine.check((f as Record<string, unknown>)[key]),
      { message: refine.message, path: [key] },
    );
  }
  return object;
});

export interface FilterResult {
  match: Truth;
  /** One line per condition, each saying what was compared and how it came out. */
  reasons: string[];
}

const and = (values: Truth[]): Truth =>
  values.includes(false) ? false : values.includes(undefined) ? undefined : true;
const or = (values: Truth[]): Truth =>
  values.includes(true) ? true : values.includes(undefined) ? undefined : false;
const show = (t: Truth) => (t === undefined ? '?' : t ? '✓' : '✗');

/**
 * Evaluates a filter on a subject. Fields missing from a partial subject make their conditions
 * unknown, so `evaluateFilter(filter, {provider, account, location})` tells whether an event can
 * possibly match before anything is read from the provider.
 */
export function evaluateFilter(filter: Filter, subject: Partial<Subject>, now = Date.now()): FilterResult {
  const checks: Check[] = [];
  for (const [key, def] of ENTRIES) {
    const value = filter[key];
    if (value !== undefined) checks.push(...def.evaluate(value, subject, now));
  }
  const nested = (f: Filter) => evaluateFilter(f, subject, now);
  if (filter.all) {
    const inner = filter.all.map(nested);
    checks.push({
      truth: and(inner.map((r) => r.match)),
      text: `all of: (${inner.flatMap((r) => r.reasons).join('; ')})`,
    });
  }
  if (filter.any) {
    const inner = filter.any.map(nested);
    checks.push({
      truth: or(inner.map((r) => r.match)),
      text: `any of: (${inner.flatMap((r) => r.reasons).join('; ')})`,
    });
  }
  if (filter.not) {
    const inner = nested(filter.not);
    checks.push({
      truth: inner.match === undefined ? undefined : !inner.match,
      text: `not: (${inner.reasons.join('; ')})`,
    });
  }
  const reasons = checks.map((c) => `${show(c.truth)} ${c.text}`);
  if (checks.length === 0) reasons.push('✓ no filters: every instance');
  return { match: and(checks.map((c) => c.truth)), reasons };
}
