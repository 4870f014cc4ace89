import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../functions/config/load.ts';
import { jobIdFor } from '../../functions/provisioning/start.ts';
import { PolicyError, parsePolicies } from '../../functions/remediation/policy.ts';
import { httpGet, requestFor, sendWebhook, webhookId } from '../e2e/support/flow.ts';
import { startTestRuntime, type TestRuntime } from '../e2e/support/runtime.ts';
import { runCli } from '../support/cli.ts';

/**
 * Inputs that used to answer 500 (or worse, pass silently) answer the specific 4xx, start nothing
 * and write nothing: keys that are Object.prototype's names (a label `constructor` broke the
 * DynamoDB marshaller, `__proto__` was dropped, a path `constructor` read through the prototype),
 * page cursors that are not ours, bodies that are not objects.
 */
let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime({ providers: ['exoscale'] });
  const sim = rt.runtime.simulators.exoscale!;
  const config = validateConfig({
    accounts: [{ provider: 'exoscale', locations: [sim.defaultLocation] }],
    schedules: {
      office: {
        timezone: 'Europe/Zurich',
        periods: [{ days: ['mon'], start: '08:00', stop: '18:00' }],
        targets: [{ provider: 'exoscale', labels: { team: 'web' } }],
      },
    },
  });
  await rt.close();
  rt = await startTestRuntime({ providers: ['exoscale'], config, scheduler: false });
});
afterAll(async () => {
  await rt?.close();
});

const post = (path: string, body: string) =>
  fetch(`${rt.runtime.urls.http}${path}`, {
    method: 'POST',
    body,
    // The data folder's API token: the body is what is refused here, not the caller.
    headers: { 'content-type': 'application/json', authorization: `Bearer ${rt.runtime.apiToken}` },
  }).then(async (r) => ({
    status: r.status,
    json: (await r.json()) as { error?: { code: string; message: string } },
  }));

describe('reserved names as keys', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'a label key %s is 422 with the field named, and no job exists',
    async (key) => {
      const id = webhookId('reserved');
      const raw = JSON.stringify(
        requestFor('exoscale', rt.runtime.simulators.exoscale!, { name: 'reserved' }),
      ).replace('"labels":{', `"labels":{"${key}":"x",`);
      const answer = await sendWebhook(rt.runtime, undefined, { id, raw });
      expect(answer.status, answer.text).toBe(422);
      expect(answer.json).toMatchObject({
        error: { code: 'invalid-body', message: expect.stringContaining(`labels.${key}`) },
      });
      expect((await httpGet(rt.runtime, `/jobs/${jobIdFor(id)}`)).status).toBe(404);
    },
  );

  it.each(['constructor', '__proto__', 'toString'])(
    'GET /dashboard/%s is 404, not a file read',
    async (file) => {
      const answer = await httpGet(rt.runtime, `/dashboard/${file}`);
      expect(answer.status).toBe(404);
      expect(answer.json).toMatchObject({ error: { code: 'not-found' } });
    },
  );

  it('a schedule named constructor is no schedule: the plan and a skip-next override are 400', async () => {
    const plan = await httpGet(rt.runtime, '/schedules/plan?schedule=constructor');
    expect(plan.status).toBe(400);
    expect(plan.text).toMatch(/no schedule 'constructor'/);
    const override = await post(
      '/overrides',
      JSON.stringify({ kind: 'skip-next', scope: { schedule: 'constructor' } }),
    );
    expect(override.status).toBe(400);
    expect((await httpGet(rt.runtime, '/overrides')).json).toEqual({ overrides: [] });
  });

  it('config and policies refuse reserved names for labels and schedules', () => {
    const base = { accounts: [{ provider: 'exoscale', locations: ['ch-gva-2'] }] };
    expect(() => validateConfig({ ...base, scheduleLabel: 'constructor' })).toThrow(ConfigError);
    const schedule = { timezone: 'UTC', periods: [{ days: ['mon'], start: '08:00', stop: '18:00' }] };
    expect(() => validateConfig({ ...base, schedules: { constructor: schedule } })).toThrow(/reserved/);
    expect(() => validateConfig({ ...base, schedules: { office: schedule } })).not.toThrow();
    expect(() =>
      parsePolicies([
        {
          name: 'p',
          mode: 'event',
          events: ['Instance Unhealthy'],
          filters: { labelPresent: 'toString' },
          actions: ['reboot'],
        },
      ]),
    ).toThrow(PolicyError);
  });

  it('a provider named constructor is an unknown provider (exit 1), not a crash', async () => {
    const answer = await runCli('sim', 'constructor');
    expect(answer.code).toBe(1);
    expect(answer.stderr).toMatch(/unknown provider 'constructor'/);
  });
});

describe('page cursors', () => {
  const cursor = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
  it.each([
    ['not base64 JSON', 'AAAA'],
    ['JSON, not an object', cursor([1, 2])],
    ['an object of other keys', cursor({ a: 1 })],
    ['a key of another listing', cursor({ jobId: 'j', recordType: 'job', createdAt: 'x' })],
    ['a key with a nested value', cursor({ jobId: { S: 'j' }, recordType: 'job', createdAt: 'x' })],
  ])('GET /jobs?cursor= %s is 400 invalid-query', async (_label, value) => {
    const answer = await httpGet(rt.runtime, `/jobs?status=QUEUED&cursor=${value}`);
    expect(answer.status, answer.text).toBe(400);
    expect(answer.json).toMatchObject({ error: { code: 'invalid-query' } });
  });

  it('a cursor the API gave is accepted', async () => {
    for (const name of ['page-1', 'page-2']) {
      const id = webhookId('page');
      const res = await sendWebhook(
        rt.runtime,
        requestFor('exoscale', rt.runtime.simulators.exoscale!, { name }),
        { id },
      );
      expect(res.status).toBe(202);
    }
    const first = await httpGet(rt.runtime, '/jobs?limit=1');
    const next = (first.json as { cursor: string }).cursor;
    expect(next).toBeTruthy();
    expect((await httpGet(rt.runtime, `/jobs?limit=1&cursor=${next}`)).status).toBe(200);
  });
});

describe('bodies that are not objects', () => {
  it.each(['null', '[]', '1', '"text"', 'true'])(
    'POST /overrides %s is 400 and stores nothing',
    async (body) => {
      const answer = await post('/overrides', body);
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ error: { code: 'invalid-override' } });
      expect((await httpGet(rt.runtime, '/overrides?all=true')).json).toEqual({ overrides: [] });
    },
  );

  it.each(['null', '[1]', '"text"'])('POST /events %s is 422', async (body) => {
    const answer = await post('/events', body);
    expect(answer.status).toBe(422);
  });
});
