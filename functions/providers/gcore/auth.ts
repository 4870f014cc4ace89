import { ProviderInputError } from '../errors.ts';
import type { PreparedRequest } from '../http/client.ts';

/**
 * Gcore authenticates every Cloud API call with a permanent API token in
 * `Authorization: APIKey <token>` (gcore-python `auth_headers`, gcorelabscloud-go
 * `provider_client.go`). Tokens look like `<id>$<secret>`; the format is not enforced by us.
 */

export const CREDENTIAL_ENV = 'GCORE_API_KEY';

export interface GcoreCredentials {
  apiKey: string;
}

/** Validates and normalises the credentials; accepts a value pasted with its `APIKey ` prefix. */
export function gcoreCredentials(raw: Record<string, string | undefined>): GcoreCredentials {
  const apiKey = raw.apiKey?.trim().replace(/^apikey\s+/i, '');
  if (!apiKey)
    throw new ProviderInputError('gcore: an API key is required (GCORE_API_KEY)', { provider: 'gcore' });
  // A header value with whitespace or control characters would be rejected or, worse, split.
  if (/[\s\p{Cc}]/u.test(apiKey)) {
    throw new ProviderInputError('gcore: the API key contains whitespace or control characters', {
      provider: 'gcore',
    });
  }
  return { apiKey };
}

export function authorizationHeader(credentials: GcoreCredentials): string {
  return `APIKey ${credentials.apiKey}`;
}

/** The HttpClient `authenticate` hook: adds the header on every attempt. */
export function authenticator(credentials: GcoreCredentials): (request: PreparedRequest) => PreparedRequest {
  const header = authorizationHeader(credentials);
  return (request) => ({ ...request, headers: { ...request.headers, authorization: header } });
}

export function credentialsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> | undefined {
  const apiKey = env[CREDENTIAL_ENV]?.trim();
  return apiKey ? { apiKey } : undefined;
}
