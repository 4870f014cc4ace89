import type { z } from 'zod';
import { logger } from '../log.ts';
import { ERROR_NAMES } from '../shared/error-names.ts';

/** Input that does not match a handler's schema; never retried by the workflows. */
export class InvalidInputError extends Error {
  override name: string = ERROR_NAMES.invalidInput;
}

/**
 * A Step Functions task handler: parse the input with zod, run the service call, return plain
 * JSON. Errors keep their `name`, because the workflows' Retry and Catch match on it.
 */
export function taskHandler<S extends z.ZodType, R>(
  name: string,
  schema: S,
  run: (input: z.output<S>) => Promise<R>,
) {
  const log = logger.child({ handler: name });
  return async (event: unknown): Promise<R> => {
    const parsed = schema.safeParse(event);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
      throw new InvalidInputError(`${name}: invalid input: ${issues.join('; ')}`);
    }
    try {
      return await run(parsed.data);
    } catch (error) {
      log.warn('task failed', { error: (error as Error).name, message: (error as Error).message });
      throw error;
    }
  };
}
