import { ERROR_NAMES } from '../shared/error-names.ts';
import { redactText } from '../shared/redact.ts';
import type { Action, ProviderId } from './port.ts';

/**
 * Typed provider errors. Each class sets `name` to its own name because Step Functions Retry and
 * Catch match on the error name a Lambda throws: `ProviderTransientError` is retried by the
 * workflows, `ProviderInvalidStateError` is not. Messages are redacted at construction, so no
 * secret can ride out on an error however it is logged.
 */

export interface ProviderErrorDetails {
  provider: ProviderId;
  action?: Action | string;
  /** HTTP status, when the error came from an HTTP answer. */
  status?: number;
  /** The provider's own error code (`errorcode`, `code`, `exception_class`…). */
  code?: string;
  /** The provider's request id, for support tickets. */
  requestId?: string;
  /** Seconds the provider asked us to wait (Retry-After). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly provider: ProviderId;
  readonly action?: string;
  readonly status?: number;
  readonly code?: string;
  readonly requestId?: string;
  readonly retryAfterSeconds?: number;
  /** Whether repeating the same request later may succeed. */
  readonly retryable: boolean = false;

  constructor(message: string, details: ProviderErrorDetails) {
    super(redactText(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.provider = details.provider;
    if (details.action !== undefined) this.action = details.action;
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
    if (details.requestId !== undefined) this.requestId = details.requestId;
    if (details.retryAfterSeconds !== undefined) this.retryAfterSeconds = details.retryAfterSeconds;
  }

  /** Plain JSON for job records and Step Functions causes (no stack, no cause chain). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      provider: this.provider,
      action: this.action,
      status: this.status,
      code: this.code,
      requestId: this.requestId,
    };
  }
}

/** The credentials were missing, malformed or rejected (401/403 on authentication). */
export class ProviderAuthenticationError extends ProviderError {
  override name = 'ProviderAuthenticationError';
}

/** The credentials are valid but not allowed to do this. */
export class ProviderPermissionError extends ProviderError {
  override name = 'ProviderPermissionError';
}

/** The instance, type, template or operation does not exist. */
export class ProviderNotFoundError extends ProviderError {
  override name = 'ProviderNotFoundError';
}

/** The request was well-formed but the provider rejected its parameters. */
export class ProviderValidationError extends ProviderError {
  override name = 'ProviderValidationError';
}

/** The instance is in a state in which the provider refuses the action (e.g. scale while running). */
export class ProviderInvalidStateError extends ProviderError {
  override name = 'ProviderInvalidStateError';
}

/** A quota or resource limit was reached. */
export class ProviderQuotaError extends ProviderError {
  override name = 'ProviderQuotaError';
}

/** Rate limited, 5xx, network failure or a resource briefly locked: trying again later may work. */
export class ProviderTransientError extends ProviderError {
  override name: string = ERROR_NAMES.providerTransient;
  override readonly retryable = true;
}

/** Rate limited (429); carries Retry-After when the provider sent it. */
export class ProviderRateLimitError extends ProviderTransientError {
  override name: string = ERROR_NAMES.providerRateLimit;
}

/**
 * A non-idempotent request (a create) may or may not have been applied: the connection failed or
 * timed out after the request was sent. Never re-sent blindly; callers look the result up first.
 */
export class ProviderOutcomeUnknownError extends ProviderError {
  override name = 'ProviderOutcomeUnknownError';
}

/** The provider cannot do this action at all; raised before any request is made. */
export class UnsupportedActionError extends ProviderError {
  override name = 'UnsupportedActionError';
  constructor(provider: ProviderId, action: Action, note?: string) {
    super(`${provider} does not support '${action}'${note ? `: ${note}` : ''}`, { provider, action });
  }
}

/** Asynchronous work at the provider ended in failure. */
export class ProviderOperationFailedError extends ProviderError {
  override name = 'ProviderOperationFailedError';
}

/** Our own input was invalid (bad id, unknown type name…); nothing was sent. */
export class ProviderInputError extends ProviderError {
  override name = 'ProviderInputError';
}
