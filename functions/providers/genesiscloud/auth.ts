import type { PreparedRequest } from '../http/client.ts';

/**
 * Genesis Cloud authenticates every request with one API token. The current docs specify
 * `Authorization: Bearer <token>` and call `X-Auth-Token: <token>` deprecated (the Go client and
 * the Python client still send the latter); we send the current form only.
 */

export interface GenesisCredentials {
  token: string;
}

export function credentialsFrom(raw: Record<string, string>): GenesisCredentials {
  const token = raw.token?.trim();
  if (!token) throw new TypeError('genesiscloud: credentials need a token (GENESISCLOUD_TOKEN)');
  return { token };
}

/** Adds the bearer token; any credential header already present is replaced, never duplicated. */
export function bearerAuthenticator(token: string): (request: PreparedRequest) => PreparedRequest {
  return (request) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers)) {
      const lower = k.toLowerCase();
      if (lower !== 'authorization' && lower !== 'x-auth-token') headers[k] = v;
    }
    headers.authorization = `Bearer ${token}`;
    return { ...request, headers };
  };
}

/**
 * Reads the token a request carries, as the API accepts it: `Authorization: Bearer <token>`
 * (scheme case-insensitive, RFC 9110) or the deprecated `X-Auth-Token`. Undefined when neither
 * header is usable. Used by the simulator.
 */
export function tokenFromHeaders(headers: Record<string, string | undefined>): string | undefined {
  const authorization = headers.authorization?.trim();
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    return match?.[1];
  }
  const legacy = headers['x-auth-token']?.trim();
  return legacy || undefined;
}
