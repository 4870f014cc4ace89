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
 * The default HTTP status → error class map (Stripe's generateV1Error idea). Adapters call it
 * after reading their provider's body, and override only where their provider differs (e.g.
 * CloudStack's 431, cloud.ca's error 2012, Gcore's 409 lock).
 */
export function errorForStatus(
  status: number,
  message: string,
  details: ProviderErrorDetails,
): ProviderError {
  if (status === 401) return new ProviderAuthenticationError(message, details);
  if (status === 403) return new ProviderPermissionError(message, details);
  if (status === 404) return new ProviderNotFoundError(message, details);
  if (status === 409 || status === 412) return new ProviderInvalidStateError(message, details);
  if (status === 429) return new ProviderRateLimitError(message, details);
  if (status === 402) return new ProviderQuotaError(message, details);
  if (status >= 500) return new ProviderTransientError(message, details);
  return new ProviderValidationError(message, details);
}
