import {
  ProviderAuthenticationError,
  type ProviderError,
  type ProviderErrorDetails,
  ProviderInvalidStateError,
  ProviderNotFoundError,
  ProviderPermissionError,
  ProviderQuotaError,
  ProviderRateLimitError,
  ProviderTransientError,
  ProviderValidationError,
} from '../errors.ts';

/**
 * CloudStack's `errorcode` (ApiErrorCode, also the HTTP status) and `cserrorcode`
 * (CSExceptionErrorCode) → typed errors, in one table. CloudStack reports "not found" and "wrong
 * state" as parameter errors (431) or internal errors (530), so the text decides between them.
 */

type ErrorClass = new (message: string, details: ProviderErrorDetails) => ProviderError;

// "Invalid parameter id value=… due to incorrect long value format, or entity does not exist…",
// "Unable to find a virtual machine with specified vmId", "Unable to find … by id".
const NOT_FOUND_TEXT = /entity does not exist|unable to find|does not exist|not found|no such/i;
// "Unable to upgrade virtual machine … in state Running; make sure the virtual machine is stopped",
// "… is not in a valid state", "VM is already running", "Failed to reboot vm instance".
const WRONG_STATE_TEXT =
  /in state \w+|not in a valid state|invalid state|already (running|stopped|destroyed)|make sure the virtual machine is stopped|is not (running|stopped)|failed to reboot/i;

/** errorcode → class when the text says nothing more specific. */
export const ERROR_CODES: Record<number, ErrorClass> = {
  401: ProviderAuthenticationError, // UNAUTHORIZED: bad key, signature or expired request
  404: ProviderNotFoundError,
  405: ProviderValidationError, // METHOD_NOT_ALLOWED
  422: ProviderValidationError,
  429: ProviderRateLimitError, // API_LIMIT_EXCEED (cserrorcode 4545)
  430: ProviderValidationError, // MALFORMED_PARAMETER_ERROR
  431: ProviderValidationError, // PARAM_ERROR (InvalidParameterValueException, 4350)
  432: ProviderValidationError, // UNSUPPORTED_ACTION_ERROR: unknown command
  530: ProviderTransientError, // INTERNAL_ERROR
  531: ProviderPermissionError, // ACCOUNT_ERROR (PermissionDeniedException, 4365)
  532: ProviderQuotaError, // ACCOUNT_RESOURCE_LIMIT_ERROR
  533: ProviderQuotaError, // INSUFFICIENT_CAPACITY_ERROR
  534: ProviderTransientError, // RESOURCE_UNAVAILABLE_ERROR
  535: ProviderTransientError, // RESOURCE_ALLOCATION_ERROR
  536: ProviderInvalidStateError, // RESOURCE_IN_USE_ERROR
  537: ProviderInvalidStateError, // NETWORK_RULE_CONFLICT_ERROR
};

/** cserrorcode → class, where the exception class alone is decisive. */
export const CS_ERROR_CODES: Record<number, ErrorClass> = {
  4365: ProviderPermissionError, // PermissionDeniedException
  4545: ProviderRateLimitError, // RequestLimitException
};

/** Picks the error class for a CloudStack error (sync answer or failed job). */
export function classifyCloudStackError(
  errorcode: number,
  errortext: string,
  cserrorcode?: number,
): ErrorClass {
  if (errorcode === 401) return ProviderAuthenticationError;
  const byCs = cserrorcode !== undefined ? CS_ERROR_CODES[cserrorcode] : undefined;
  if (byCs) return byCs;
  if (errorcode === 431 || errorcode === 430 || errorcode === 530 || errorcode === 404) {
    if (NOT_FOUND_TEXT.test(errortext)) return ProviderNotFoundError;
    if (WRONG_STATE_TEXT.test(errortext)) return ProviderInvalidStateError;
  }
  const byCode = ERROR_CODES[errorcode];
  if (byCode) return byCode;
  return errorcode >= 500 ? ProviderTransientError : ProviderValidationError;
}

export function cloudStackError(
  errorcode: number,
  errortext: string,
  cserrorcode: number | undefined,
  details: ProviderErrorDetails,
): ProviderError {
  const Class = classifyCloudStackError(errorcode, errortext, cserrorcode);
  const code = cserrorcode !== undefined ? `${errorcode}/${cserrorcode}` : String(errorcode);
  return new Class(`exoscale-v1: ${errortext || `error ${errorcode}`} (errorcode ${code})`, {
    ...details,
    code,
  });
}
