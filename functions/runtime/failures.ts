import { own } from '../shared/keys.ts';

/**
 * Turns a Step Functions error (name + cause) into a reason a person can act on. On AWS the cause
 * is Lambda's JSON (`{"errorMessage", "errorType"}`); on the local engine it is the message.
 */
const ADVICE: Record<string, string> = {
  DeadlineExceeded:
    'the provider did not finish in time; check the instance in the provider console, then retry',
  InstanceVanished: 'the instance was deleted by someone else while fleetflow was working on it',
  ProviderOperationFailedError:
    'the provider reported the operation as failed; see the reason, fix it, then retry',
  ProviderAuthenticationError:
    'the provider rejected the credentials; check the account secret or environment variables',
  ProviderPermissionError:
    'the credentials are not allowed to do this; grant the permission or use another account',
  ProviderNotFoundError:
    'something named in the request does not exist at the provider (type, template or instance)',
  ProviderValidationError: 'the provider rejected the parameters; correct the request',
  ProviderInputError: 'the request is invalid; correct it and send it again',
  ProviderQuotaError:
    'a quota or resource limit was reached at the provider; free capacity or raise the limit',
  ProviderInvalidStateError: 'the instance was in a state that does not allow this action',
  ProviderTransientError: 'the provider kept failing or rate-limiting after retries; try again later',
  ProviderRateLimitError: 'the provider kept rate-limiting after retries; try again later',
  ProviderOutcomeUnknownError:
    'the provider did not answer a change request; check the instance before retrying',
  UnsupportedActionError: 'the provider does not support this action',
  InvalidInput: 'the request is invalid; correct it and send it again',
  'States.Timeout': 'a step took longer than its timeout',
  SecretUnavailableError: "the request's sealed secrets were deleted or expired; send the request again",
  SecretIntegrityError:
    "the request's sealed secrets do not open (altered, or sealed with another key); send the request again",
  SecretKeyError: 'the key that seals secrets is missing or unreadable; check FLEETFLOW_SECRETS_KEY',
  SecretReferenceError:
    'a secret reference is not in its place or belongs to another job; send the request again',
};

export function explainFailure(name: string, cause?: string): { code: string; message: string } {
  let detail = cause ?? '';
  try {
    const parsed = JSON.parse(detail) as { errorMessage?: string };
    if (parsed && typeof parsed.errorMessage === 'string') detail = parsed.errorMessage;
  } catch {
    // a plain message (local engine)
  }
  const advice = own(ADVICE, name) ?? 'an unexpected error stopped the workflow';
  return { code: name, message: (detail ? `${detail} — ${advice}` : advice).slice(0, 4000) };
}
