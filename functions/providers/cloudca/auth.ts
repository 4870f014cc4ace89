import { ProviderInputError } from '../errors.ts';
import type { PreparedRequest } from '../http/client.ts';

/** cloud.ca authenticates every request with one header (api-docs "Authentication"; go-cloudca `API_KEY_HEADER`). */
export const API_KEY_HEADER = 'MC-Api-Key';

export interface CloudcaCredentials {
  apiKey: string;
}

/** Reads `{apiKey}`; a missing key is our input error, caught before any request. */
export function readCredentials(credentials: Record<string, string | undefined>): CloudcaCredentials {
  const apiKey = credentials.apiKey?.trim();
  if (!apiKey) {
    throw new ProviderInputError('cloudca: credentials need an apiKey (CLOUDCA_API_KEY)', {
      provider: 'cloudca',
    });
  }
  return { apiKey };
}

/** Adds the key header on every attempt; the key never goes into the URL. */
export function apiKeyAuthenticator(
  credentials: CloudcaCredentials,
): (request: PreparedRequest) => PreparedRequest {
  return (request) => ({ ...request, headers: { ...request.headers, [API_KEY_HEADER]: credentials.apiKey } });
}
