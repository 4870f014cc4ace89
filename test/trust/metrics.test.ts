import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageStore } from '../../functions/metrics/store.ts';
import { counterSamples, readUsage, summarize } from '../../functions/metrics/usage.ts';
import { UnsupportedActionError } from '../../functions/providers/errors.ts';
import type { ComputeProvider, ProviderId } from '../../functions/providers/port.ts';
import { PROVIDERS } from '../../functions/providers/registry.ts';
import { evaluateFilter } from '../../functions/remediation/filters/index.ts';
import { metricsRefusal } from '../../functions/remediation/metrics-check.ts';
import { parsePolicies } from '../../functions/remediation/policy.ts';
import { createDynamo, type Dynamo, ensureTables, localDynamoConfig } from '../../functions/store/dynamo.ts';
import { type TableNames, tableNames } from '../../functions/store/tables.ts';
import { startDynalite } from '../../local/store/dynalite.ts';
import { createSimulator } from '../../sim/index.ts';
import type { SimulatorBase } from '../../sim/kit/index.ts';

/**
 * Usage figures from the providers' own APIs, through the real adapters against the simulators
 * over HTTP: Gcore's metric history, CloudStack's counters sampled into a store on dynalite, the
 * load knob that makes an instance busy or idle, and the idle filter's verdict and explanation.
 */

const sims: Partial<Record<ProviderId, SimulatorBase>> = {};
let dynamo: Dynamo;
let names: TableNames;
let closeDynamo: () => Promise<void>;

function adapter(provider: ProviderId): ComputeProvider {
  const sim = sims[provider]!;
  return PROVIDERS[provider].createAdapter({
    location: sim.defaultLocation,
    credentials: sim.credentials,
    endpoint: sim.endpoint(sim.defaultLocation),
  });
}

beforeAll(async () => {
  for (const provider of ['gcore', 'exoscale-v1', 'genesiscloud'] as const)
    sims[provider] = await createSimulator(provider, { seed: 3, fleetSize: 3, metricsStepMs: 100 }).start();
  const server = await startDynalite();
  closeDynamo = server.close;
  dynamo = createDynamo(localDynamoConfig(server.endpoint));
  names = tableNames('metrics-test');
  await ensureTables(dynamo.client, names);
});

afterAll(async () => {
  for (const sim of Object.values(sims)) await sim.close();
  dynamo?.destroy();
  await closeDynamo?.();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Gcore: Get Instance Metrics', () => {
  it('reads the history the simulator keeps, figures as the knob set them', async () => {
    const gcore = adapter('gcore');
    const [instance] = await gcore.list({ states: ['running'] });
    await sleep(300);
    const idleFrom = Date.now();
    sims.gcore!.setLoad(instance!.id, 'idle');
    await sleep(450);
    const reading = await gcore.usage(instance!.id, { since: new Date(idleFrom - 1000) });
    expect(reading.kind).toBe('series');
    if (reading.kind !== 'series') return;
    const before = reading.samples.filter((s) => Date.parse(s.to) < idleFrom);
    expect(before.length).toBeGreaterThanOrEqual(2);
    for (const s of before) expect(s.cpuPercent).toBe(42);
    const recent = reading.samples.filter((s) => Date.parse(s.from) >= idleFrom);
    expect(recent.length).toBeGreaterThanOrEqual(3);
    for (const s of recent) {
      expect(s.cpuPercent).toBe(1.5);
      expect(s.networkKBps).toBeCloseTo(0.4, 2);
      expect(Date.parse(s.to) - Date.parse(s.from)).toBe(100);
    }
    // The request was a POST with the span in whole hours, as Gcore takes it.
    const call = sims.gcore!.requestLog.findLast((r) => r.path.endsWith('/metrics'));
    expect(call).toMatchObject({ method: 'POST', status: 200 });
  });

  it('answers a bad span with 400 in its own error shape', async () => {
    const sim = sims.gcore!;
    const [instance] = await adapter('gcore').list();
    const res = await fetch(`${sim.origin}/cloud/v1/instances/1/76/${instance!.id}/metrics`, {
      method: 'POST',
      headers: { authorization: `APIKey ${sim.credentials.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ time_interval: 0, time_unit: 'week' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ exception_class: 'ValidationError' });
  });
});

describe('Exoscale v1: CloudStack counters', () => {
  it('cpuused and the network counters advance with the load', async () => {
    const v1 = adapter('exoscale-v1');
    const [instance] = await v1.list({ states: ['running'] });
    sims['exoscale-v1']!.setLoad(instance!.id, 'busy');
    const first = await v1.usage(instance!.id, { since: new Date() });
    await sleep(300);
    const second = await v1.usage(instance!.id, { since: new Date() });
    expect(first.kind).toBe('counters');
    if (first.kind !== 'counters' || second.kind !== 'counters') return;
    expect(second.cpuPercent).toBe(42);
    const rate =
      (second.networkKB! - first.networkKB!) / ((Date.parse(second.at) - Date.parse(first.at)) / 1000);
    expect(rate).toBeGreaterThan(100);
    expect(rate).toBeLessThan(260);
  });

  it('a listed instance carries its figures: no second call', async () => {
    const v1 = adapter('exoscale-v1');
    const [instance] = await v1.list({ states: ['running'] });
    const before = sims['exoscale-v1']!.requestLog.length;
    const reading = await v1.usage(instance!.id, { since: new Date(), seen: instance! });
    expect(reading).toMatchObject({ kind: 'counters', cpuPercent: expect.any(Number) });
    expect(sims['exoscale-v1']!.requestLog.length).toBe(before);
  });
});

describe('Genesis Cloud: no metrics', () => {
  it('declares the capability unsupported and refuses the call with a typed error', async () => {
    const genesis = adapter('genesiscloud');
    expect(genesis.capabilities.metrics.supported).toBe(false);
    const [instance] = await genesis.list();
    await expect(genesis.usage(instance!.id, { since: new Date() })).rejects.toBeInstanceOf(
      UnsupportedActionError,
    );
    const usage = await readUsage({
      provider: genesis,
      target: { provider: 'genesiscloud', account: 'default', location: genesis.location },
      instance: instance!,
      windowSeconds: 3600,
    });
    expect(usage).toEqual({ unavailable: expect.stringMatching(/^genesiscloud reports no usage figures/) });
  });
});

describe('the usage store', () => {
  it('keeps one point per spacing, rates between them, and loses nothing to concurrent sweeps', async () => {
    let now = 1_000_000_000_000;
    const store = new UsageStore(dynamo.doc, names.idempotency, () => now);
    const key = `exoscale-v1#default#ch-gva-2#vm-${Date.now()}`;
    await store.record(key, { at: now, cpu: 2, kb: 100 }, { minSpacingMs: 1000 });
    // Too close to the last point: not kept.
    expect(await store.record(key, { at: now + 10, cpu: 3, kb: 101 }, { minSpacingMs: 1000 })).toHaveLength(
      1,
    );
    now += 60_000;
    // Two sweeps at once: both points survive (version condition, re-read on conflict).
    await Promise.all([
      store.record(key, { at: now, cpu: 1, kb: 160 }, { minSpacingMs: 0 }),
      store.record(key, { at: now + 5000, cpu: 1, kb: 165 }, { minSpacingMs: 0 }),
    ]);
    const points = await store.read(key);
    expect(points.map((p) => p.kb).sort()).toEqual([100, 160, 165]);
    const samples = counterSamples(points);
    expect(samples[0]).toMatchObject({ cpuPercent: 1, networkKBps: 1 });
    // Expired (no sweep for longer than it keeps points): read as empty.
    now += 9 * 86_400_000;
    expect(await store.read(key)).toEqual([]);
  });

  it('a counter that went down (a restart) leaves that interval without a network figure', () => {
    const samples = counterSamples([
      { at: 0, cpu: 5, kb: 500 },
      { at: 10_000, cpu: 6, kb: 20 },
    ]);
    expect(samples).toEqual([
      { from: new Date(0).toISOString(), to: new Date(10_000).toISOString(), cpuPercent: 6 },
    ]);
  });
});

describe('the idle filter', () => {
  const [policy] = parsePolicies([
    {
      name: 'idle-stop',
      mode: 'periodic',
      filters: { idle: { cpuBelow: '5%', networkBelowKBps: 10, for: '2h' } },
      actions: ['stop'],
    },
  ]);
  const at = Date.parse('2026-12-01T12:00:00Z');
  const sample = (fromMin: number, toMin: number, cpu: number, net: number) => ({
    from: new Date(at - fromMin * 60_000).toISOString(),
    to: new Date(at - toMin * 60_000).toISOString(),
    cpuPercent: cpu,
    networkKBps: net,
  });
  const subject = (samples: ReturnType<typeof sample>[]) => ({
    id: 'i-1',
    provider: 'gcore' as const,
    usage: { source: 'provider' as const, samples, asOf: new Date(at).toISOString() },
  });

  it('holds when every sample of a covered window is below the thresholds, with the figures', () => {
    const r = evaluateFilter(
      policy!.filters,
      subject([sample(120, 60, 1.2, 0.5), sample(60, 0, 3.9, 2)]),
      at,
    );
    expect(r.match).toBe(true);
    expect(r.reasons[0]).toBe(
      '✓ idle for 2h (cpu < 5%, network < 10 KiB/s): cpu max 3.9%, network max 2 KiB/s (2 samples covering 2h of 2h, provider history)',
    );
  });

  it('fails on one busy sample, and on too little history (saying how much)', () => {
    const busy = evaluateFilter(
      policy!.filters,
      subject([sample(120, 60, 1, 0.5), sample(60, 0, 40, 0.5)]),
      at,
    );
    expect(busy.match).toBe(false);
    expect(busy.reasons[0]).toContain('cpu max 40%');
    const young = evaluateFilter(policy!.filters, subject([sample(60, 0, 1, 0.5)]), at);
    expect(young.match).toBe(false);
    expect(young.reasons[0]).toContain('not enough history yet: 1 sample covering 1h of 2h');
  });

  it('is unknown before usage is read, and false with the reason where there is none', () => {
    expect(evaluateFilter(policy!.filters, { provider: 'gcore' }, at).match).toBeUndefined();
    const none = evaluateFilter(
      policy!.filters,
      { id: 'x', provider: 'genesiscloud', usage: { unavailable: 'genesiscloud reports no usage figures' } },
      at,
    );
    expect(none).toEqual({
      match: false,
      reasons: ['✗ idle for 2h (cpu < 5%, network < 10 KiB/s): genesiscloud reports no usage figures'],
    });
  });

  it('summarize merges overlapping samples and clips them to the window', () => {
    const s = summarize([sample(200, 100, 1, 1), sample(110, 50, 2, 1), sample(50, 0, 3, 1)], 7200, at, {
      cpu: true,
      network: true,
    });
    expect(s).toMatchObject({ coveredSeconds: 7200, samples: 3, cpuMaxPercent: 3, networkMaxKBps: 1 });
  });

  it('is refused where a provider of the config has no metrics, unless the policy leaves it out', () => {
    const accounts = [{ provider: 'gcore' as const }, { provider: 'genesiscloud' as const }];
    expect(metricsRefusal(policy!, accounts)).toMatch(
      /^policy idle-stop: its idle filter needs instance metrics, and genesiscloud has none \(Genesis Cloud's API reports no usage figures/,
    );
    const [narrowed, either] = parsePolicies([
      {
        ...policyInput(),
        name: 'narrowed',
        filters: { provider: 'gcore', idle: policyInput().filters.idle },
      },
      {
        ...policyInput(),
        name: 'either',
        filters: { any: [{ idle: policyInput().filters.idle }, { name: 'x-*' }] },
      },
    ]);
    expect(metricsRefusal(narrowed!, accounts)).toBeUndefined();
    expect(metricsRefusal(either!, accounts)).toBeUndefined();
  });
});

function policyInput() {
  return {
    name: 'p',
    mode: 'periodic' as const,
    filters: { idle: { cpuBelow: 5, for: '1h' } },
    actions: ['stop'],
  };
}

describe('the load knob over HTTP', () => {
  it('needs the admin token, checks the body, and changes what the provider reports', async () => {
    const sim = sims['exoscale-v1']!;
    const [instance] = await adapter('exoscale-v1').list({ states: ['running'] });
    const url = `${sim.origin}/_sim/load/${instance!.id}`;
    const put = (body: unknown, token?: string) =>
      fetch(url, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...(token && { 'x-sim-admin-token': token }) },
        body: JSON.stringify(body),
      });
    expect((await put({ level: 'idle' })).status).toBe(401);
    expect((await put({ level: 'sleepy' }, sim.adminToken)).status).toBe(400);
    expect((await put({ cpuPercent: 7.25, networkKBps: 3 }, sim.adminToken)).status).toBe(200);
    expect((await adapter('exoscale-v1').get(instance!.id)).extra.cpuused).toBe('7.25%');
    expect(sim.describe()).toMatchObject({ admin: { url: `${sim.origin}/_sim`, token: sim.adminToken } });
  });
});
