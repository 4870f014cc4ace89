import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearerAuthenticator,
  credentialsFrom,
  tokenFromHeaders,
} from '../../../functions/providers/genesiscloud/auth.ts';
import { GenesisCloudSimulator, SIM_CREDENTIALS } from '../../../sim/genesiscloud/simulator.ts';

describe('genesiscloud auth: the adapter side', () => {
  it('sends Authorization: Bearer <token> and drops any other credential header', () => {
    const sign = bearerAuthenticator('tok-123456');
    const out = sign({
      method: 'GET',
      path: '/compute/v1/instances',
      query: [],
      headers: { accept: 'application/json', 'X-Auth-Token': 'old', Authorization: 'Basic x' },
    });
    expect(out.headers).toEqual({ accept: 'application/json', authorization: 'Bearer tok-123456' });
    expect(out.path).toBe('/compute/v1/instances');
  });

  it('requires a token in the credentials', () => {
    expect(credentialsFrom({ token: ' abc ' })).toEqual({ token: 'abc' });
    expect(() => credentialsFrom({})).toThrow(/GENESISCLOUD_TOKEN/);
    expect(() => credentialsFrom({ token: '  ' })).toThrow(TypeError);
  });

  it('reads the token as the API accepts it: Bearer (any case) or the deprecated X-Auth-Token', () => {
    expect(tokenFromHeaders({ authorization: 'Bearer abc' })).toBe('abc');
    expect(tokenFromHeaders({ authorization: 'bearer   abc' })).toBe('abc');
    expect(tokenFromHeaders({ 'x-auth-token': 'abc' })).toBe('abc');
    expect(tokenFromHeaders({ authorization: 'Basic abc' })).toBeUndefined();
    expect(tokenFromHeaders({ authorization: 'Bearer' })).toBeUndefined();
    expect(tokenFromHeaders({ authorization: 'Bearer a b' })).toBeUndefined();
    expect(tokenFromHeaders({})).toBeUndefined();
  });
});

describe('genesiscloud auth: the simulator side', () => {
  let sim: GenesisCloudSimulator;
  const get = (headers: Record<string, string>) =>
    fetch(`${sim.endpoint()}/instances?per_page=1`, { headers });

  beforeAll(async () => {
    sim = await new GenesisCloudSimulator({ fleetSize: 2 }).start();
  });
  afterAll(() => sim.close());

  it('accepts the current Bearer header', async () => {
    const res = await get({ Authorization: `Bearer ${SIM_CREDENTIALS.token}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ total_count: 3, page: 1, per_page: 1 });
  });

  it('accepts the deprecated X-Auth-Token header the Go and Python clients still send', async () => {
    const res = await get({ 'X-Auth-Token': SIM_CREDENTIALS.token });
    expect(res.status).toBe(200);
  });

  it.each([
    ['no credentials', {}, 'Missing authentication token'],
    [
      'a wrong bearer token',
      { Authorization: 'Bearer 0badc0de0badc0de0badc0de0badc0de' },
      'Invalid authentication token',
    ],
    ['a wrong X-Auth-Token', { 'X-Auth-Token': 'nope-nope-nope' }, 'Invalid authentication token'],
    ['another scheme', { Authorization: `Token ${SIM_CREDENTIALS.token}` }, 'Invalid authentication token'],
  ])('answers %s with 401 in the {code, message} shape', async (_what, headers, message) => {
    const res = await get(headers as Record<string, string>);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/json/);
    expect(await res.json()).toEqual({ code: 'unauthorized', message });
  });
});
