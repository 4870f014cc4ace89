import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_KEY_HEADER,
  apiKeyAuthenticator,
  readCredentials,
} from '../../../functions/providers/cloudca/auth.ts';
import { ProviderAuthenticationError, ProviderInputError } from '../../../functions/providers/errors.ts';
import type { CloudcaSimulator } from '../../../sim/cloudca/simulator.ts';
import { adapterFor, raw, startSim } from './helpers.ts';

describe('cloud.ca authentication', () => {
  it('adds MC-Api-Key to every request and leaves the rest alone', () => {
    const sign = apiKeyAuthenticator({ apiKey: 'key-123456' });
    const prepared = sign({
      method: 'GET',
      path: '/v1/tasks/x',
      query: [['a', 'b']],
      headers: { accept: 'application/json' },
    });
    expect(API_KEY_HEADER).toBe('MC-Api-Key');
    expect(prepared.headers).toEqual({ accept: 'application/json', 'MC-Api-Key': 'key-123456' });
    expect(prepared.query).toEqual([['a', 'b']]);
    expect(prepared.path).toBe('/v1/tasks/x');
  });

  it('refuses missing credentials before any request', () => {
    expect(() => readCredentials({})).toThrow(ProviderInputError);
    expect(() => readCredentials({ apiKey: '  ' })).toThrow(/CLOUDCA_API_KEY/);
    expect(readCredentials({ apiKey: ' k-1 ' })).toEqual({ apiKey: 'k-1' });
  });

  describe('against the simulator', () => {
    let sim: CloudcaSimulator;
    beforeAll(async () => {
      sim = await startSim();
    });
    afterAll(async () => {
      await sim.close();
    });

    it('answers a missing key with 403 in the errors envelope', async () => {
      const answer = await raw(sim, 'GET', '/services/compute-qc/production/instances', undefined, null);
      expect(answer.status).toBe(403);
      expect(answer.body.errors[0]).toMatchObject({
        code: 403,
        message: expect.stringMatching(/MC-Api-Key/),
      });
    });

    it('answers a wrong key with 403, and the adapter reads it as an authentication error without the key', async () => {
      const answer = await raw(
        sim,
        'GET',
        '/services/compute-qc/production/instances',
        undefined,
        'wrong-key-000000',
      );
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual({ errors: [{ code: 403, message: 'Invalid API key' }] });
      const bad = adapterFor(sim, { credentials: { apiKey: 'cca-wrong-key-1234567890' } });
      const error = await bad.list().catch((e) => e);
      expect(error).toBeInstanceOf(ProviderAuthenticationError);
      expect(error.status).toBe(403);
      expect(error.code).toBe('403');
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain('cca-wrong-key-1234567890');
    });

    it('accepts the right key', async () => {
      const answer = await raw(sim, 'GET', '/services/compute-qc/production/instances');
      expect(answer.status).toBe(200);
    });
  });
});
