import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/config/load.ts';
import type { Instance, ProviderId } from '../../functions/providers/port.ts';
import type { Override } from '../../functions/schedule/overrides.ts';
import { type Candidate, decide, MAX_ACT_CONCURRENCY } from '../../functions/schedule/plan.ts';
import { previewPlan } from '../../functions/schedule/preview.ts';

const config = (schedule: Record<string, unknown> = {}, exoscaleRps?: number) =>
  validateConfig({
    accounts: [
      {
        provider: 'exoscale',
        locations: ['ch-gva-2'],
        ...(exoscaleRps && { requestsPerSecond: exoscaleRps }),
      },
      { provider: 'gcore', locations: ['1/76'] },
    ],
    prices: { exoscale: { 'standard.small': 0.5 } },
    schedules: {
      office: {
        timezone: 'UTC',
        periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', stop: '18:00' }],
        targets: [
          { provider: 'exoscale', labels: { env: 'dev' } },
          { provider: 'gcore', labels: { env: 'dev' } },
        ],
        ...schedule,
      },
    },
  });

let n = 0;
function vm(
  provider: ProviderId,
  state: Instance['state'],
  labels: Record<string, string> = {},
  extra: Partial<Instance> = {},
): Candidate {
  n++;
  const location = provider === 'gcore' ? '1/76' : 'ch-gva-2';
  return {
    target: { provider, account: 'default', location },
    instance: {
      id: `i-${String(n).padStart(3, '0')}`,
      name: `vm-${String(n).padStart(3, '0')}`,
      provider,
      location,
      state,
      providerState: state,
      type: 'standard.small',
      labels: { env: 'dev', ...labels },
      ipv4: [],
      ipv6: [],
      extra: {},
      ...extra,
    },
  };
}

// Monday 18:00 UTC: a stop edge; the next start is Tuesday 08:00 (14 h later).
const monday18 = new Date('2026-03-02T18:00:00Z');

describe('planning a run', () => {
  it('decides per instance with a reason', () => {
    const overrides: Override[] = [
      {
        id: 'ovr-1',
        kind: 'keep-running',
        scope: { schedule: 'office', instanceId: 'KEEP' },
        until: '2026-03-02T23:00:00.000Z',
        createdAt: '2026-03-02T10:00:00.000Z',
        createdBy: 't',
      },
    ];
    const c = [
      vm('exoscale', 'running'),
      vm('exoscale', 'stopped'),
      vm('exoscale', 'running', { 'fleetflow-opt-out': 'true' }),
      vm('exoscale', 'running', { 'fleetflow-schedule': 'other' }),
      vm('exoscale', 'running', {}, { protected: true }),
      vm('gcore', 'running', {}, { id: 'KEEP' }),
      vm('gcore', 'error'),
    ];
    const plan = decide({
      config: config(),
      schedule: 'office',
      action: 'stop',
      candidates: c,
      overrides,
      at: monday18,
    });
    expect(plan.decisions.map((d) => `${d.decision}: ${d.reason}`)).toEqual([
      'stop: stop edge',
      'skip: already stopped',
      'skip: opted out (label fleetflow-opt-out)',
      'skip: follows schedule other (label fleetflow-schedule)',
      'skip: protected',
      'skip: override ovr-1 (keep-running) until 2026-03-02T23:00:00.000Z',
      'skip: state error: stop needs running',
    ]);
    expect(plan.decisions[0]).toMatchObject({ hoursSaved: 14, saved: 7 });
    expect(plan.savings).toEqual({ instanceHours: 14, money: 7, currency: 'EUR' });
    // Once the override has expired, the instance is stopped like the others.
    const later = decide({
      config: config(),
      schedule: 'office',
      action: 'stop',
      candidates: [c[5]!],
      overrides,
      at: new Date('2026-03-03T18:00:00Z'),
    });
    expect(later.decisions[0]!.decision).toBe('stop');
  });

  it('orders tiers: start 1 → 2, stop in reverse; accounts grouped with a concurrency from their rate limit', () => {
    const c = [
      vm('exoscale', 'stopped', { 'fleetflow-tier': '2' }),
      vm('gcore', 'stopped', { 'fleetflow-tier': '1' }),
      vm('exoscale', 'stopped', { 'fleetflow-tier': '1' }),
    ];
    const start = decide({
      // exoscale: 100 requests/s configured; gcore: its default of 20.
      config: config({}, 100),
      schedule: 'office',
      action: 'start',
      candidates: c,
      overrides: [],
      at: monday18,
    });
    expect(
      start.tiers.map((t) => [
        t.tier,
        t.groups.map((g) => `${g.provider}/${g.account}:${g.items.length}:${g.maxConcurrency}`),
      ]),
    ).toEqual([
      // rate × 0.3 s (one act's round trip) in flight: 100/s → 30, 20/s → 6.
      [1, ['gcore/default:1:6', 'exoscale/default:1:30']],
      [2, ['exoscale/default:1:30']],
    ]);
    // Step Functions runs at most 40 inline Map iterations at once, whatever the rate.
    const fast = decide({
      config: config({}, 1000),
      schedule: 'office',
      action: 'start',
      candidates: c,
      overrides: [],
      at: monday18,
    });
    expect(fast.tiers[0]!.groups.find((g) => g.provider === 'exoscale')!.maxConcurrency).toBe(
      MAX_ACT_CONCURRENCY,
    );
    const stop = decide({
      config: config(),
      schedule: 'office',
      action: 'stop',
      candidates: c.map((x) => ({ ...x, instance: { ...x.instance, state: 'running' as const } })),
      overrides: [],
      at: monday18,
    });
    expect(stop.tiers.map((t) => t.tier)).toEqual([2, 1]);
  });

  it('blast-radius cap: abort acts on none, truncate on the first ones, percent of the selection', () => {
    const c = Array.from({ length: 10 }, () => vm('exoscale', 'running'));
    const abort = decide({
      config: config({ maxActions: 3 }),
      schedule: 'office',
      action: 'stop',
      candidates: c,
      overrides: [],
      at: monday18,
    });
    expect(abort.tiers).toEqual([]);
    expect(abort.cap).toEqual({ limit: 3, planned: 10, mode: 'abort', exceeded: true });
    expect(
      abort.decisions.every((d) => d.decision === 'skip' && d.reason.startsWith('blast-radius cap')),
    ).toBe(true);
    const truncate = decide({
      config: config({ maxActions: '40%', overCap: 'truncate' }),
      schedule: 'office',
      action: 'stop',
      candidates: c,
      overrides: [],
      at: monday18,
    });
    expect(truncate.counts).toEqual({ selected: 10, act: 4, skip: 6 });
    const under = decide({
      config: config({ maxActions: 10 }),
      schedule: 'office',
      action: 'stop',
      candidates: c,
      overrides: [],
      at: monday18,
    });
    expect(under.cap?.exceeded).toBe(false);
    expect(under.counts.act).toBe(10);
  });

  it('enforce sweeps stop what runs in a stop window, never in an on-period', () => {
    const c = [vm('exoscale', 'running')];
    expect(
      decide({
        config: config(),
        schedule: 'office',
        action: 'enforce',
        candidates: c,
        overrides: [],
        at: new Date('2026-03-02T20:30:00Z'),
      }).decisions[0]!.decision,
    ).toBe('stop');
    expect(
      decide({
        config: config(),
        schedule: 'office',
        action: 'enforce',
        candidates: c,
        overrides: [],
        at: new Date('2026-03-02T10:30:00Z'),
      }).decisions[0]!.reason,
    ).toBe('inside an on-period');
  });
});

describe('plan preview', () => {
  it('lists each edge per instance with holidays and overrides, hours and money saved', async () => {
    const cfg = config({ holidays: ['2026-03-04'] });
    const a = vm('exoscale', 'running');
    const b = vm('gcore', 'running');
    const overrides: Override[] = [
      {
        id: 'ovr-2',
        kind: 'skip-next',
        action: 'stop',
        scope: { schedule: 'office', instanceId: b.instance.id },
        until: '2026-03-02T19:00:00.000Z',
        createdAt: '2026-03-01T00:00:00.000Z',
        createdBy: 't',
      },
    ];
    const preview = await previewPlan({
      config: cfg,
      days: 7,
      now: new Date('2026-03-02T00:00:00Z'),
      overrides,
      list: async (target) =>
        [a, b]
          .filter((c) => c.target.provider === target.provider && c.target.location === target.location)
          .map((c) => c.instance),
    });
    const [pa, pb] = preview.instances;
    // Mon-Fri 10 h on, Wednesday a holiday: 40 h on, 128 h stopped of 168.
    expect(pa!.events.filter((e) => !e.skipped)).toHaveLength(9);
    expect(pa!.events.find((e) => e.skipped)).toEqual({
      at: '2026-03-04T08:00:00.000Z',
      action: 'start',
      skipped: 'holiday 2026-03-04',
    });
    expect(pa).toMatchObject({ hoursSaved: 128, saved: 64 });
    // b skips Monday's stop: it runs on until Tuesday 08:00 (14 h more).
    expect(pb!.events[1]).toEqual({
      at: '2026-03-02T18:00:00.000Z',
      action: 'stop',
      skipped: 'override ovr-2 (skip-next)',
    });
    expect(pb!.hoursSaved).toBe(114);
    expect(preview.totals).toEqual({ instances: 2, hoursSaved: 242, saved: 64 });
  });
});
