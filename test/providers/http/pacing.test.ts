import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ExoscaleProvider } from '../../../functions/providers/exoscale/client.ts';
import { RequestPacer } from '../../../functions/providers/http/pacing.ts';
import { RetryBudget, RetryPolicy } from '../../../functions/providers/http/retry.ts';
import { ExoscaleSimulator, SIM_CREDENTIALS } from '../../../sim/exoscale/simulator.ts';

describe('RequestPacer', () => {
  afterEach(() => vi.useRealTimers());

  it('lets one second of requests less one go at once, then one per 1/rate seconds, in arrival order', async () => {
    vi.useFakeTimers();
    const pacer = new RequestPacer(5);
    const released: number[] = [];
    const all = Array.from({ length: 8 }, (_, i) => pacer.take().then(() => released.push(i)));
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toEqual([0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(200);
    expect(released).toEqual([0, 1, 2, 3, 4]);
    await vi.advanceTimersByTimeAsync(600);
    expect(released).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await Promise.all(all);
  });

  it('refills while idle, never beyond its burst', async () => {
    vi.useFakeTimers();
    const pacer = new RequestPacer(4);
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 3; i++) await pacer.take();
    await vi.advanceTimersByTimeAsync(10_000);
    let released = 0;
    for (let i = 0; i < 6; i++) void pacer.take().then(() => released++);
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toBe(3);
  });

  it('a rate of 1 a second still lets one request go at once', async () => {
    vi.useFakeTimers();
    let released = 0;
    const pacer = new RequestPacer(1);
    for (let i = 0; i < 2; i++) void pacer.take().then(() => released++);
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(released).toBe(2);
  });
});

describe('an account paced to its requestsPerSecond', () => {
  let sim: ExoscaleSimulator;
  // One attempt per call: a 429 fails the call, so every success is a call the provider accepted.
  const adapter = (zone: string, requestsPerSecond?: number) =>
    new ExoscaleProvider({
      zone,
      credentials: SIM_CREDENTIALS,
      endpoint: sim.endpoint(zone),
      retry: new RetryPolicy({ maxAttempts: 1, budget: new RetryBudget() }),
      ...(requestsPerSecond && { requestsPerSecond }),
    });
  let unpaced: ExoscaleProvider[];
  let paced: ExoscaleProvider[];
  beforeAll(async () => {
    sim = await new ExoscaleSimulator({ seed: 7, fleetSize: 1 }).start();
    unpaced = ['ch-gva-2', 'de-fra-1'].map((zone) => adapter(zone));
    // Paced at the provider's own 5/s.
    paced = ['ch-gva-2', 'de-fra-1'].map((zone) => adapter(zone, 5));
    // A first listing each loads the zone's catalogue: from then on a listing is one request.
    for (const a of [...unpaced, ...paced]) await a.list();
    sim.configure({ rateLimitRps: 5 });
  });
  afterAll(() => sim.close());

  const burst = async (adapters: ExoscaleProvider[]) => {
    await new Promise((r) => setTimeout(r, 1_100)); // the provider's bucket full again
    const calls = adapters.flatMap((a) => Array.from({ length: 6 }, () => a.list()));
    return (await Promise.allSettled(calls)).map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason.name));
  };

  it('unpaced, a burst beyond the rate meets 429s', async () => {
    const outcomes = await burst(unpaced);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'ProviderRateLimitError')).toHaveLength(7);
  });

  // Each location's client alone would send 5/s, 10/s together: one pacer per account holds both.
  it('paced, the same burst (two locations of one account) goes through without a 429', async () => {
    const outcomes = await burst(paced);
    expect(outcomes).toEqual(Array(12).fill('ok'));
  });
});
