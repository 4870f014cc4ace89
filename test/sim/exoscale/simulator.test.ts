import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderInvalidStateError, ProviderValidationError } from '../../../functions/providers/errors.ts';
import { authorizationHeader } from '../../../functions/providers/exoscale/auth.ts';
import { ExoscaleProvider, PROTECTION_LABEL } from '../../../functions/providers/exoscale/client.ts';
import { definition } from '../../../functions/providers/exoscale/index.ts';
import { RetryBudget, RetryPolicy } from '../../../functions/providers/http/retry.ts';
import { waitForOperation, waitForState } from '../../../functions/providers/wait.ts';
import { ExoscaleSimulator, parseLabelFilter, SIM_CREDENTIALS } from '../../../sim/exoscale/simulator.ts';

const FAST = { intervalMs: 10, maxIntervalMs: 50, timeoutMs: 10_000 };

let sim: ExoscaleSimulator;
const adapter = (zone = 'ch-gva-2') =>
  new ExoscaleProvider({
    zone,
    credentials: SIM_CREDENTIALS,
    endpoint: sim.endpoint(zone),
    retry: new RetryPolicy({ maxAttempts: 1, budget: new RetryBudget() }),
  });

/** A raw request, signed (or not) by hand: what any Exoscale client library would send. */
async function raw(
  method: string,
  pathAndQuery: string,
  options: { body?: string; sign?: boolean; expires?: number; secret?: string; header?: string } = {},
) {
  const url = new URL(`${sim.origin}${pathAndQuery}`);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.header !== undefined) headers.authorization = options.header;
  else if (options.sign !== false) {
    headers.authorization = authorizationHeader(
      SIM_CREDENTIALS.apiKey,
      options.secret ?? SIM_CREDENTIALS.apiSecret,
      {
        method,
        path: url.pathname,
        ...(options.body !== undefined && { body: options.body }),
        query: [...url.searchParams.entries()],
        expires: options.expires ?? Math.floor(Date.now() / 1000) + 600,
      },
    );
  }
  const res = await fetch(url, {
    method,
    headers,
    ...(options.body !== undefined && { body: options.body }),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, unknown> };
}

beforeAll(async () => {
  sim = await new ExoscaleSimulator({ seed: 3, fleetSize: 12, transitionMs: 15, operationMs: 15 }).start();
});
afterAll(async () => {
  await sim.close();
});

describe('authentication as the API does it', () => {
  it('answers a signed request', async () => {
    const res = await raw('GET', '/ch-gva-2/v2/zone');
    expect(res.status).toBe(200);
    expect((res.body.zones as Array<{ name: string }>).map((z) => z.name)).toContain('hr-zag-1');
  });
  it('401 {"message"} without an Authorization header or with a malformed one', async () => {
    const none = await raw('GET', '/ch-gva-2/v2/instance', { sign: false });
    expect(none.status).toBe(401);
    expect(typeof none.body.message).toBe('string');
    expect((await raw('GET', '/ch-gva-2/v2/instance', { header: 'Bearer nope' })).status).toBe(401);
  });
  it('403 "Invalid request signature" for a wrong secret, an expired or a far-future expiry', async () => {
    for (const options of [
      { secret: 'wrong-secret-wrong-secret-wrong-secret-xxxx' },
      { expires: Math.floor(Date.now() / 1000) - 5 },
      { expires: Math.floor(Date.now() / 1000) + 86_400 },
    ]) {
      const res = await raw('GET', '/ch-gva-2/v2/instance', options);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ message: 'Invalid request signature' });
    }
  });
  it('403 when a query parameter was added after signing', async () => {
    const url = new URL(`${sim.origin}/ch-gva-2/v2/instance`);
    const header = authorizationHeader(SIM_CREDENTIALS.apiKey, SIM_CREDENTIALS.apiSecret, {
      method: 'GET',
      path: url.pathname,
      expires: Math.floor(Date.now() / 1000) + 600,
    });
    const res = await raw('GET', '/ch-gva-2/v2/instance?ip-address=1.2.3.4', { header });
    expect(res.status).toBe(403);
  });
});

describe('zones, catalogue and shapes', () => {
  it('keeps instances zone-local and describes one URL per zone', async () => {
    const gva = await adapter('ch-gva-2').list();
    const fra = await adapter('de-fra-1').list();
    expect(gva.length).toBe(12);
    expect(fra.length).toBeGreaterThan(0);
    expect(fra.every((i) => i.location === 'de-fra-1')).toBe(true);
    expect(gva.some((g) => fra.some((f) => f.id === g.id))).toBe(false);
    const zones = sim.describe().zones as Record<string, string>;
    expect(Object.keys(zones)).toHaveLength(8);
    expect(zones['bg-sof-1']).toBe(`${sim.origin}/bg-sof-1/v2`);
    expect((await raw('GET', '/xx-nope-9/v2/instance')).status).toBe(404);
  });

  it('names types family.size and templates by their Exoscale names', async () => {
    const p = adapter();
    const types = (await p.instanceTypes()).map((t) => t.name);
    expect(types).toEqual(
      expect.arrayContaining([
        'standard.micro',
        'standard.small',
        'standard.jumbo',
        'cpu.huge',
        'memory.extra-large',
      ]),
    );
    const templates = (await p.templates()).map((t) => t.name);
    expect(templates).toEqual(
      expect.arrayContaining(['Linux Ubuntu 24.04 LTS 64-bit', 'Linux Debian 12 (Bookworm) 64-bit']),
    );
    // Both visibilities are fetched: the private template is there too.
    expect(templates).toContain('acme-golden-image-2025-06');
  });

  it('returns instance references as objects and the operation object on mutations', async () => {
    const list = await raw('GET', '/ch-gva-2/v2/instance');
    const first = (list.body.instances as Array<Record<string, unknown>>)[0]!;
    expect(first['instance-type']).toEqual({ id: expect.any(String) });
    expect(first.template).toEqual({ id: expect.any(String) });
    const running = (list.body.instances as Array<{ id: string; state: string }>).find(
      (i) => i.state === 'running',
    )!;
    const op = await raw('PUT', `/ch-gva-2/v2/instance/${running.id}:reboot`);
    expect(op.status).toBe(200);
    expect(op.body).toEqual({
      id: expect.any(String),
      state: 'pending',
      reference: { id: running.id, link: `/v2/instance/${running.id}`, command: 'get-instance' },
    });
    await new Promise((r) => setTimeout(r, 40));
    expect((await raw('GET', `/ch-gva-2/v2/operation/${op.body.id}`)).body.state).toBe('success');
  });

  it('filters by labels on the server, every pair matching', async () => {
    expect(parseLabelFilter('env=prod team=web')).toEqual({ env: 'prod', team: 'web' });
    expect(parseLabelFilter('{"env":"prod"}')).toEqual({ env: 'prod' });
    expect(parseLabelFilter('novalue')).toBeUndefined();
    const res = await raw('GET', `/ch-gva-2/v2/instance?labels=${encodeURIComponent('env=prod team=web')}`);
    const found = res.body.instances as Array<{ labels?: Record<string, string> }>;
    expect(found.every((i) => i.labels?.env === 'prod' && i.labels?.team === 'web')).toBe(true);
    const all = (await raw('GET', '/ch-gva-2/v2/instance')).body.instances as Array<{
      labels?: Record<string, string>;
    }>;
    expect(found.length).toBe(all.filter((i) => i.labels?.env === 'prod' && i.labels?.team === 'web').length);
  });
});

describe('state rules and protection', () => {
  it('refuses to scale a running instance (409) and across families (400)', async () => {
    const p = adapter();
    const running = (await p.list({ states: ['running'] }))[0]!;
    await expect(p.scale(running.id, 'standard.large')).rejects.toBeInstanceOf(ProviderInvalidStateError);
    const stopped = (await p.list({ states: ['stopped'] })).find((i) => i.type.startsWith('standard.'))!;
    await expect(p.scale(stopped.id, 'memory.huge')).rejects.toBeInstanceOf(ProviderValidationError);
    await expect(p.start((await p.list({ states: ['running'] }))[0]!.id)).rejects.toBeInstanceOf(
      ProviderInvalidStateError,
    );
  });

  it('mirrors protection in a label, and the simulator refuses to delete a protected instance', async () => {
    const p = adapter();
    const target = (await p.list({ states: ['stopped'] }))[0]!;
    await waitForOperation(p, await p.setProtection(target.id, true), FAST);
    expect(sim.peek(target.id)?.protected).toBe(true);
    const after = await p.get(target.id);
    expect(after.protected).toBe(true);
    expect(after.labels[PROTECTION_LABEL]).toBe('true');
    const refused = await p.delete(target.id).catch((e) => e);
    expect(refused).toBeInstanceOf(ProviderInvalidStateError);
    expect(refused.status).toBe(403);
    await waitForOperation(p, await p.setProtection(target.id, false), FAST);
    expect(sim.peek(target.id)?.protected).toBe(false);
    expect((await p.get(target.id)).protected).toBe(false);
  });

  it('reports protection set elsewhere (not through fleetflow) as unknown rather than guessing', async () => {
    const p = adapter();
    const target = (await p.list()).find((i) => !(PROTECTION_LABEL in i.labels))!;
    expect(target.protected).toBeUndefined();
    // Another client (the exo CLI, Terraform) protects it: the API gives no way to read that back.
    expect((await raw('PUT', `/ch-gva-2/v2/instance/${target.id}:add-protection`)).status).toBe(200);
    expect(sim.peek(target.id)?.protected).toBe(true);
    expect((await p.get(target.id)).protected).toBeUndefined();
    expect((await raw('PUT', `/ch-gva-2/v2/instance/${target.id}:remove-protection`)).status).toBe(200);
  });

  it('keeps a stuck operation pending and fails a failing one with a reason', async () => {
    const p = adapter();
    const running = (await p.list({ states: ['running'] }))[0]!;
    sim.faults.stuckOperations = 1;
    const stuck = await p.stop(running.id);
    await new Promise((r) => setTimeout(r, 60));
    expect((await p.operation(stuck)).status).toBe('pending');
    expect((await p.get(running.id)).state).toBe('stopping');

    const other = (await p.list({ states: ['stopped'] }))[0]!;
    sim.faults.failOperations = 1;
    const failing = await p.start(other.id);
    await new Promise((r) => setTimeout(r, 60));
    const done = await p.operation(failing);
    expect(done.status).toBe('failed');
    expect(done.status === 'failed' && done.reason).toMatch(/^fault: /);
    // The failed start rolled the instance back.
    expect((await p.get(other.id)).state).toBe('stopped');
  });

  it('create sends the documented body and lands the instance in its zone', async () => {
    const p = adapter('at-vie-2');
    const op = await p.create({
      name: 'vie-web-1',
      type: 'standard.tiny',
      template: 'Linux Debian 12 (Bookworm) 64-bit',
      labels: { app: 'web' },
      userData: '#cloud-config\n',
      extra: { 'public-ip-assignment': 'dual' },
    });
    expect(op.instanceId).toBeTruthy();
    const done = await waitForOperation(p, op, FAST);
    const id = done.status === 'succeeded' ? done.resourceId! : '';
    const vm = (await waitForState(p, id, 'running', FAST))!;
    expect(vm.type).toBe('standard.tiny');
    expect(vm.extra.templateName).toBe('Linux Debian 12 (Bookworm) 64-bit');
    expect(vm.extra.diskSize).toBe(50);
    expect(vm.ipv4).toHaveLength(1);
    expect(vm.ipv6).toHaveLength(1);
    expect((await adapter('ch-gva-2').list({ name: 'vie-web-1' })).length).toBe(0);
    const wire = await raw('GET', `/at-vie-2/v2/instance/${id}`);
    expect(wire.body['user-data']).toBe(Buffer.from('#cloud-config\n').toString('base64'));
  });
});

describe('definition', () => {
  it('reads credentials and zones', () => {
    expect(definition.credentialsFromEnv({ EXOSCALE_API_KEY: 'EXOabc', EXOSCALE_API_SECRET: 's' })).toEqual({
      apiKey: 'EXOabc',
      apiSecret: 's',
    });
    expect(definition.credentialsFromEnv({ EXOSCALE_API_KEY: 'EXOabc' })).toBeUndefined();
    expect(definition.locationFrom({})).toBe('ch-gva-2');
    expect(definition.locationFrom({ zone: 'de-muc-1' })).toBe('de-muc-1');
    expect(() => definition.locationFrom({ zone: 'us-east-1' })).toThrow(/unknown zone 'us-east-1'/);
    expect(definition.defaultEndpoint('at-vie-1')).toBe('https://api-at-vie-1.exoscale.com/v2');
    expect(definition.capabilities.scale.requiresState).toEqual(['stopped']);
  });
});
