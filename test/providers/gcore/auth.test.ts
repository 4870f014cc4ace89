import { describe, expect, it } from 'vitest';
import { ProviderInputError } from '../../../functions/providers/errors.ts';
import {
  authenticator,
  authorizationHeader,
  credentialsFromEnv,
  gcoreCredentials,
} from '../../../functions/providers/gcore/auth.ts';
import { parseLocation } from '../../../functions/providers/gcore/client.ts';
import { definition } from '../../../functions/providers/gcore/index.ts';

// Gcore publishes no signing vectors: its auth is a static header, so these pin its exact form.
describe('gcore auth', () => {
  it('sends `Authorization: APIKey <token>` on every request', () => {
    const auth = authenticator({ apiKey: '123$abcdef' });
    const prepared = auth({
      method: 'GET',
      path: '/cloud/v1/tasks/x',
      query: [],
      headers: { accept: 'application/json' },
    });
    expect(prepared.headers.authorization).toBe('APIKey 123$abcdef');
    expect(prepared.headers.accept).toBe('application/json');
    expect(authorizationHeader({ apiKey: 'k-123456' })).toBe('APIKey k-123456');
  });

  it('accepts a token pasted with its scheme, and refuses empty or header-breaking ones', () => {
    expect(gcoreCredentials({ apiKey: '  APIKey 42$secret ' }).apiKey).toBe('42$secret');
    expect(() => gcoreCredentials({})).toThrow(ProviderInputError);
    expect(() => gcoreCredentials({ apiKey: '   ' })).toThrow(/API key is required/);
    expect(() => gcoreCredentials({ apiKey: '42$sec\r\nX-Evil: 1' })).toThrow(/whitespace or control/);
  });

  it('reads GCORE_API_KEY from the environment', () => {
    expect(credentialsFromEnv({ GCORE_API_KEY: '42$abc' })).toEqual({ apiKey: '42$abc' });
    expect(credentialsFromEnv({})).toBeUndefined();
    expect(definition.credentialEnv).toEqual(['GCORE_API_KEY']);
  });
});

describe('gcore location', () => {
  it('is <project>/<region> from --project and --region, both integers', () => {
    expect(definition.locationOptions.map((o) => o.flag)).toEqual(['--project', '--region']);
    expect(definition.locationFrom({ project: '1', region: '76' })).toBe('1/76');
    expect(definition.locationFrom({ project: ' 012 ', region: '38' })).toBe('12/38');
    expect(() => definition.locationFrom({ region: '76' })).toThrow(/--project required/);
    expect(() => definition.locationFrom({})).toThrow(/--project and --region required/);
    expect(() => definition.locationFrom({ project: '1', region: 'ed-8' })).toThrow(
      /--region must be an integer/,
    );
    expect(() => definition.locationFrom({ project: 'my-project', region: '76' })).toThrow(
      ProviderInputError,
    );
  });

  it('parses and refuses location strings', () => {
    expect(parseLocation('1/76')).toEqual({ project: 1, region: 76 });
    for (const bad of ['76', '1/', '/76', '1/76/2', 'a/b', '0/76', '1/-3', '']) {
      expect(() => parseLocation(bad), bad).toThrow(/<project>\/<region>/);
    }
  });

  it('points at the real API host; paths carry /cloud', () => {
    expect(definition.defaultEndpoint('1/76')).toBe('https://api.gcore.com');
  });
});
