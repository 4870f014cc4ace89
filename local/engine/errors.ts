/**
 * Errors of the local engine. Those extending `SfnApiError` carry the Step Functions API error
 * code as their `name`, so the HTTP endpoint returns them as `{"__type": name}` and
 * `@aws-sdk/client-sfn` rebuilds the same exception class a caller would get from AWS.
 */

export class SfnApiError extends Error {
  override name = 'SfnApiError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class ExecutionAlreadyExistsError extends SfnApiError {
  override name = 'ExecutionAlreadyExists';
}

export class ExecutionDoesNotExistError extends SfnApiError {
  override name = 'ExecutionDoesNotExist';
}

export class StateMachineDoesNotExistError extends SfnApiError {
  override name = 'StateMachineDoesNotExist';
}

export class InvalidNameError extends SfnApiError {
  override name = 'InvalidName';
}

export class InvalidArnError extends SfnApiError {
  override name = 'InvalidArn';
}

export class InvalidExecutionInputError extends SfnApiError {
  override name = 'InvalidExecutionInput';
}

export class InvalidTokenError extends SfnApiError {
  override name = 'InvalidToken';
}

export class ValidationError extends SfnApiError {
  override name = 'ValidationException';
}

/** Raised at engine construction: a Task would otherwise fall through to the real AWS service. */
export class UnboundTaskError extends Error {
  override name = 'UnboundTaskError';
}

/** A state machine definition the local engine refuses to run (invalid ASL, unsupported feature). */
export class InvalidDefinitionError extends Error {
  override name = 'InvalidDefinitionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** preloadHandlers() could not import one or more handlers; `cause` lists the errors. */
export class HandlerLoadError extends Error {
  override name = 'HandlerLoadError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** StartExecution after `close()`. */
export class EngineClosedError extends Error {
  override name = 'EngineClosedError';
}

/**
 * A service integration Task's failure as Step Functions reports it: Retry/Catch match `name`,
 * the error output's Cause is the message.
 */
export class TaskFailure extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** Neither retryable nor catchable, like the library's own States.Runtime errors. */
export class LocalRuntimeError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** aws-local-stepfunctions no longer behaves as the engine's hooks expect (see hooks.ts). */
export class LibraryChangedError extends Error {
  override name = 'LibraryChangedError';
  readonly isRetryable = false;
  readonly isCatchable = false;
}
