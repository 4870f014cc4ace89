import * as z from 'zod';
import { StoreValidationError } from './errors.ts';
import { fragmentSizeBytes, itemSizeBytes, MAX_ITEM_BYTES } from './item-size.ts';

/** Identifiers that end up in keys, CLI arguments and execution names. */
export const identifier = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9_.:@/+=-]+$/, 'letters, digits and _ . : @ / + = - only');

/** ISO-8601 UTC timestamps, normalised to `toISOString()` so they sort as strings. */
export const isoTimestamp = z.iso.datetime().transform((s) => new Date(s).toISOString());

/** Who or what asked for the work: a webhook sender, a schedule, an event rule, a person on the CLI. */
export const triggerSchema = z.strictObject({
  type: z.string().min(1).max(64),
  actor: z.string().min(1).max(256),
  source: z.string().min(1).max(1024).optional(),
});
export type Trigger = z.infer<typeof triggerSchema>;

export const errorInfoSchema = z.strictObject({
  code: z.string().min(1).max(128),
  message: z.string().max(4096),
});
export type ErrorInfo = z.infer<typeof errorInfoSchema>;

/** Any JSON value (no undefined, NaN or class instances): what DynamoDB stores and gives back unchanged. */
export const jsonValue = z.json();
export type JsonValue = z.infer<typeof jsonValue>;

/** Parses or throws StoreValidationError listing every issue; the message names the record. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new StoreValidationError(`invalid ${what}: ${issues.join('; ')}`, issues, { cause: parsed.error });
}

/** Refuses an item over DynamoDB's 400 KB limit before it is sent. */
export function assertItemSize(item: Record<string, unknown>, what: string): void {
  const bytes = itemSizeBytes(item);
  if (bytes > MAX_ITEM_BYTES) {
    throw new StoreValidationError(
      `${what} is ${bytes} bytes, over DynamoDB's ${MAX_ITEM_BYTES}-byte item limit`,
    );
  }
}

/** Refuses a fragment (a step, a result) bigger than its share of an item. */
export function assertFragmentSize(value: unknown, limit: number, what: string): void {
  const bytes = fragmentSizeBytes(value);
  if (bytes > limit)
    throw new StoreValidationError(`${what} is ${bytes} bytes, over its ${limit}-byte limit`);
}
