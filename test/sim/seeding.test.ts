import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetryBudget, RetryPolicy } from '../../functions/providers/http/retry.ts';
import type { ProviderId } from '../../functions/providers/port.ts';
import { PROVIDERS } from '../../functions/providers/registry.ts';
import { waitForOperation, waitForState } from '../../functions/providers/wait.ts';
import { createSimulator } from '../../sim/index.ts';
import type { SimulatorBase } from '../../sim/kit/index.ts';

const FAST = { intervalMs: 10, maxIntervalMs: 50, timeoutMs: 10_000 };

/** Per simulator: the type a seeded instance has, another location, locations it does not know. */
const CASES: Array<{ provider: ProviderId; type: string; elsewhere: string; unknown: string[] }> = [
  { provider: 'exoscale', type: 'standard.small', elsewhere: 'de-fra-1', unknown: ['mars-1'] },
  { provider: 'exoscale-v1', type: 'Small', elsewhere: 'de-fra-1', unknown: ['mars-1'] },
  {
    provider: 'gcore',
    type: 'g1-standard-1-2',
    elsewhere: '1/38',
    unknown: ['1/999', '9/76', 'Luxembourg-2'],
  },
  { provider: 'genesiscloud', type: 'vcpu-2_memory-4g', elsewhere: 'EUC-DE-MUC-1', unknown: ['MARS-1'] },
  {
    provider: 'cloudca',
    type: '1vCPU.1GB',
    elsewhere: 'compute-on/production',
    unknown: ['compute-qc/nowhere'],
  },
];

describe.each(CASES)('$provider simulator: seeding helper (tests and benches)', (c) => {
  let sim: SimulatorBase;
  const labelled = PROVIDERS[c.provider].capabilities.labels.supported;
  const adapter = (location = sim.defaultLocation) =>
    PROVIDERS[c.provider].createAdapter({
      location,
      credentials: sim.credentials,
      endpoint: sim.endpoint(location),
      retry: new RetryPolicy({ maxAttempts: 1, budget: new RetryBudget() }),
    });
  beforeAll(async () => {
    sim = await createSimulator(c.provider, {
      seed: 5,
      fleetSize: 4,
      transitionMs: 15,
      operationMs: 15,
    }).start();
  });
  afterAll(async () => sim?.close());

  it('adds instances, running or stopped, that list, filter and start/stop like created ones', async () => {
    const logged = sim.requestLog.length;
    const labels = { seeded: 'yes', team: 'bench' };
    const running = sim.seedInstances({ count: 7, namePrefix: 'seeded-', labels });
    const stopped = sim.seedInstances({ count: 2, namePrefix: 'parked-', labels, state: 'stopped' });
    expect(new Set([...running, ...stopped]).size).toBe(9);
    // No request went through the API.
    expect(sim.requestLog.length).toBe(logged);

    const listed = (await adapter().list(labelled ? { labels: { seeded: 'yes' } } : {})).filter((i) =>
      /^(seeded|parked)-/.test(i.name),
    );
    expect(listed.map((i) => `${i.name} ${i.state}`).sort()).toEqual([
      'parked-0 stopped',
      'parked-1 stopped',
      ...Array.from({ length: 7 }, (_, n) => `seeded-${n} running`),
    ]);
    for (const i of listed) {
      expect(i.type).toBe(c.type);
      // Labels where the provider has them (and its listing filters by them); none elsewhere.
      expect(i.labels).toMatchObject(labelled ? labels : {});
      if (!labelled) expect(i.labels).toEqual({});
    }

    const stop = await adapter().stop(running[0]!);
    await waitForOperation(adapter(), stop, FAST);
    expect((await waitForState(adapter(), running[0]!, 'stopped', FAST))?.state).toBe('stopped');
    const start = await adapter().start(stopped[0]!);
    await waitForOperation(adapter(), start, FAST);
    expect((await waitForState(adapter(), stopped[0]!, 'running', FAST))?.state).toBe('running');
  });

  it('seeds in another location only there, and refuses a location it does not know', async () => {
    expect(sim.seedInstances({ count: 3, namePrefix: 'away-', location: c.elsewhere })).toHaveLength(3);
    expect((await adapter(c.elsewhere).list()).filter((i) => i.name.startsWith('away-'))).toHaveLength(3);
    expect((await adapter().list()).some((i) => i.name.startsWith('away-'))).toBe(false);
    for (const location of c.unknown)
      expect(() => sim.seedInstances({ count: 1, namePrefix: 'x', location })).toThrow(RangeError);
  });
});
