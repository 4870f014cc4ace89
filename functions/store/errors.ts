import { ERROR_NAMES } from '../shared/error-names.ts';

/**
 * Typed errors of the data layer. Each is raised *before* anything is written unless its doc says
 * otherwise, so a caller can catch it and know the store is unchanged.
 */

/** Input failed validation (schema, size, cursor): nothing was written. */
export class StoreValidationError extends Error {
  override name = 'StoreValidationError';
  constructor(
    message: string,
    readonly issues: string[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The job does not exist. */
export class JobNotFoundError extends Error {
  override name = 'JobNotFoundError';
  constructor(
    readonly jobId: string,
    options?: ErrorOptions,
  ) {
    super(`job ${jobId} not found`, options);
  }
}

/** A job with this id already exists with a different kind or request: the create was refused. */
export class JobConflictError extends Error {
  override name = 'JobConflictError';
  constructor(
    readonly jobId: string,
    options?: ErrorOptions,
  ) {
    super(`job ${jobId} already exists with a different kind or request`, options);
  }
}

/** The status change is not allowed from the job's current status (e.g. a finished job). */
export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  constructor(
    readonly jobId: string,
    readonly from: string | undefined,
    readonly to: string,
    reason?: string,
    options?: ErrorOptions,
  ) {
    super(`job ${jobId}: illegal transition ${from ?? '?'} → ${to}${reason ? ` (${reason})` : ''}`, options);
  }
}

/** The job already has a different execution attached. */
export class ExecutionConflictError extends Error {
  override name = 'ExecutionConflictError';
  constructor(
    readonly jobId: string,
    readonly existingArn: string,
    options?: ErrorOptions,
  ) {
    super(`job ${jobId} is already bound to execution ${existingArn}`, options);
  }
}

/** An audit append lost the race for the chain head too many times in a row. */
export class AuditAppendConflictError extends Error {
  override name = 'AuditAppendConflictError';
  constructor(
    readonly chain: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(`audit chain ${chain}: gave up appending after ${attempts} conflicting attempts`, options);
  }
}

/** The same idempotency key was used with a different payload. */
export class IdempotencyMismatchError extends Error {
  override name = 'IdempotencyMismatchError';
  constructor(
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`idempotency key ${key} was already used with a different payload`, options);
  }
}

/** Another invocation holds this idempotency key and has not finished (nor expired) yet. */
export class IdempotencyInProgressError extends Error {
  override name: string = ERROR_NAMES.idempotencyInProgress;
  constructor(
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`idempotency key ${key} is in progress in another invocation`, options);
  }
}
