import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderDefinition } from '../../functions/providers/definition.ts';
import {
  ProviderAuthenticationError,
  ProviderError,
  ProviderInvalidStateError,
  ProviderNotFoundError,
  UnsupportedActionError,
} from '../../functions/providers/errors.ts';
import { RetryBudget, RetryPolicy } from '../../functions/providers/http/retry.ts';
import type { ComputeProvider, Instance } from '../../functions/providers/port.ts';
import { ACTIONS, IDEMPOTENCY_LABEL, INSTANCE_STATES } from '../../functions/providers/port.ts';
import { waitForOperation, waitForState } from '../../functions/providers/wait.ts';
import { createSimulator } from '../../sim/index.ts';
import type { SimulatorBase } from '../../sim/kit/index.ts';
import { CONTRACT_FIXTURES } from './fixtures.ts';

const FAST = { intervalMs: 10, maxIntervalMs: 50, timeoutMs: 10_000 };

/**
 * The one contract every adapter must meet, run against its simulator over real HTTP on
 * loopback. Each provider has a three-line test file that calls this with its definition.
 */
export function runContractSuite(def: ProviderDefinition): void {
  const fixture = CONTRACT_FIXTURES[def.id];
  describe(`contract: ${def.id}`, () => {
    let sim: SimulatorBase;
    let provider: ComputeProvider;
    const adapter = (credentials = sim.credentials) =>
      def.createAdapter({
        location: sim.defaultLocation,
        credentials,
        endpoint: sim.endpoint(sim.defaultLocation),
        // Fast backoff keeps the suite quick; Retry-After is still honoured as sent.
        retry: new RetryPolicy({ baseDelayMs: 5, maxDelayMs: 50, budget: new RetryBudget() }),
      });

    beforeAll(async () => {
      sim = await createSimulator(def.id, {
        seed: 7,
        fleetSize: 23,
        transitionMs: 20,
        operationMs: 20,
        maxPageSize: 5,
      }).start();
      provider = adapter();
    });
    afterAll(async () => {
      await sim.close();
    });

    it('declares a capability for every action and a location', () => {
      expect(provider.provider).toBe(def.id);
      expect(provider.location).toBe(sim.defaultLocation);
      for (const action of ACTIONS) {
        expect(typeof provider.capabilities[action].supported).toBe('boolean');
      }
      expect(def.capabilities).toEqual(provider.capabilities);
    });

    it('lists every instance across all pages, normalised', async () => {
      const all = await provider.list();
      expect(all.length).toBeGreaterThanOrEqual(23);
      expect(new Set(all.map((i) => i.id)).size).toBe(all.length);
      for (const i of all) {
        expect(i.provider).toBe(def.id);
        expect(i.location).toBe(sim.defaultLocation);
        expect(INSTANCE_STATES).toContain(i.state);
        expect(i.providerState).toBeTruthy();
        expect(i.type).toBeTruthy();
        expect(typeof i.labels).toBe('object');
        expect(Array.isArray(i.ipv4)).toBe(true);
      }
      expect(all.some((i) => i.state === 'running')).toBe(true);
    });

    it('filters by state and by label', async () => {
      const all = await provider.list();
      const running = await provider.list({ states: ['running'] });
      expect(running.length).toBe(all.filter((i) => i.state === 'running').length);
      expect(running.every((i) => i.state === 'running')).toBe(true);
      if (!provider.capabilities.labels.supported) {
        expect(all.every((i) => Object.keys(i.labels).length === 0)).toBe(true);
        return;
      }
      const labelled = all.find((i) => Object.keys(i.labels).length > 0);
      expect(labelled, 'the seeded fleet carries labels').toBeDefined();
      const [key, value] = Object.entries(labelled!.labels)[0]!;
      const byLabel = await provider.list({ labels: { [key]: value } });
      expect(byLabel.map((i) => i.id)).toContain(labelled!.id);
      expect(byLabel.every((i) => i.labels[key] === value)).toBe(true);
    });

    it('gets one instance, and a typed not-found for an unknown id', async () => {
      const [first] = await provider.list();
      const one = await provider.get(first!.id);
      expect(one.id).toBe(first!.id);
      expect(one.name).toBe(first!.name);
      await expect(provider.get('00000000-0000-4000-a000-000000000000')).rejects.toBeInstanceOf(
        ProviderNotFoundError,
      );
    });

    it('resolves types and templates by name through the catalogue', async () => {
      const types = await provider.instanceTypes();
      const templates = await provider.templates();
      expect(types.map((t) => t.name)).toContain(fixture.createSpec.type);
      expect(templates.map((t) => t.name)).toContain(fixture.createSpec.template);
    });

    it('rejects an unknown type before sending any mutation', async () => {
      const before = sim.mutations().length;
      await expect(
        provider.create({ ...fixture.createSpec, name: 'bad-type', type: 'no-such-type' }),
      ).rejects.toThrow(/no-such-type/);
      expect(sim.mutations().length).toBe(before);
    });

    let created: Instance;
    it('creates an instance and reports the new id through the operation', async () => {
      const op = await provider.create({
        ...fixture.createSpec,
        name: 'contract-web-1',
        labels: { team: 'contract' },
      });
      const done = await waitForOperation(provider, op, FAST);
      expect(done.status).toBe('succeeded');
      const id = done.status === 'succeeded' ? done.resourceId : undefined;
      expect(id).toBeTruthy();
      const running = await waitForState(provider, id!, 'running', FAST);
      created = running!;
      expect(created.name).toBe('contract-web-1');
      if (provider.capabilities.labels.supported) expect(created.labels.team).toBe('contract');
    });

    it('stops, starts and reboots, each through its asynchronous completion', async () => {
      await waitForOperation(provider, await provider.stop(created.id), FAST);
      expect((await waitForState(provider, created.id, 'stopped', FAST))!.state).toBe('stopped');
      await waitForOperation(provider, await provider.start(created.id), FAST);
      expect((await waitForState(provider, created.id, 'running', FAST))!.state).toBe('running');
      await waitForOperation(provider, await provider.reboot(created.id), FAST);
      expect((await waitForState(provider, created.id, 'running', FAST))!.state).toBe('running');
    });

    it('rejects an action in the wrong state as the provider does', async () => {
      // Starting a running instance is refused by every provider's API (or is a no-op for some);
      // stopping a stopped one is the portable check.
      await waitForOperation(provider, await provider.stop(created.id), FAST);
      await waitForState(provider, created.id, 'stopped', FAST);
      const outcome = await provider.stop(created.id).then(
        (op) =>
          waitForOperation(provider, op, FAST).then(
            () => 'accepted',
            (e) => e,
          ),
        (e) => e,
      );
      expect(outcome).toBeInstanceOf(ProviderError);
      expect((outcome as Error).name).toMatch(/InvalidState|OperationFailed/);
      await waitForOperation(provider, await provider.start(created.id), FAST);
      await waitForState(provider, created.id, 'running', FAST);
    });

    it('scales as declared: honouring its precondition, or refusing at once', async () => {
      const cap = provider.capabilities.scale;
      if (!cap.supported) {
        const before = sim.requestLog.length;
        await expect(provider.scale(created.id, fixture.scaleTo)).rejects.toBeInstanceOf(
          UnsupportedActionError,
        );
        await expect(provider.scale(created.id, fixture.scaleTo)).rejects.toThrow(
          new RegExp(`${def.id}.*scale`),
        );
        expect(sim.requestLog.length).toBe(before);
        return;
      }
      if (cap.requiresState?.includes('stopped')) {
        await expect(
          provider.scale(created.id, fixture.scaleTo).then((op) => waitForOperation(provider, op, FAST)),
        ).rejects.toBeInstanceOf(ProviderError);
        await waitForOperation(provider, await provider.stop(created.id), FAST);
        await waitForState(provider, created.id, 'stopped', FAST);
      }
      await waitForOperation(provider, await provider.scale(created.id, fixture.scaleTo), FAST);
      const types = await provider.instanceTypes();
      const target = types.find((t) => t.name === fixture.scaleTo)!;
      const after = await provider.get(created.id);
      expect([target.name, target.id]).toContain(after.type);
      if (after.state !== 'running') {
        await waitForOperation(provider, await provider.start(created.id), FAST);
        await waitForState(provider, created.id, 'running', FAST);
      }
    });

    it('snapshots and reports the snapshot id', async () => {
      if (!provider.capabilities.snapshot.supported) {
        await expect(provider.snapshot(created.id, 's')).rejects.toBeInstanceOf(UnsupportedActionError);
        return;
      }
      const done = await waitForOperation(
        provider,
        await provider.snapshot(created.id, 'contract-snap'),
        FAST,
      );
      expect(done.status === 'succeeded' && done.resourceId).toBeTruthy();
    });

    it('turns protection on and off where the provider has it', async () => {
      if (!provider.capabilities.protection.supported) {
        await expect(provider.setProtection(created.id, true)).rejects.toBeInstanceOf(UnsupportedActionError);
        return;
      }
      await waitForOperation(provider, await provider.setProtection(created.id, true), FAST);
      expect((await provider.get(created.id)).protected).toBe(true);
      await waitForOperation(provider, await provider.setProtection(created.id, false), FAST);
      expect((await provider.get(created.id)).protected).toBe(false);
    });

    it('sets and removes labels where the provider has them', async () => {
      if (!provider.capabilities.labels.supported) {
        await expect(provider.setLabels(created.id, { a: 'b' })).rejects.toBeInstanceOf(
          UnsupportedActionError,
        );
        return;
      }
      await waitForOperation(
        provider,
        await provider.setLabels(created.id, { env: 'test', team: null }),
        FAST,
      );
      const labels = (await provider.get(created.id)).labels;
      expect(labels.env).toBe('test');
      expect(labels.team).toBeUndefined();
    });

    it('reports a failed operation with a reason', async () => {
      sim.faults.failOperations = 1;
      const op = await provider.reboot(created.id);
      let last = op;
      for (let i = 0; i < 200 && last.status === 'pending'; i++) {
        await new Promise((r) => setTimeout(r, 10));
        last = await provider.operation(last);
      }
      expect(last.status).toBe('failed');
      expect(last.status === 'failed' && last.reason).toBeTruthy();
      sim.faults.failOperations = 0;
      // A failed action may leave the instance in error (Genesis Cloud reports failures that
      // way): bring it back with stop + start, as an operator would.
      if ((await provider.get(created.id)).state === 'error') {
        await waitForOperation(provider, await provider.stop(created.id), FAST);
        await waitForState(provider, created.id, 'stopped', FAST);
        await waitForOperation(provider, await provider.start(created.id), FAST);
      }
      await waitForState(provider, created.id, 'running', FAST);
    });

    it('retries a 429, honouring Retry-After', async () => {
      sim.faults.rateLimited = 1;
      sim.faults.retryAfterSeconds = 1;
      const t0 = Date.now();
      const all = await provider.list();
      expect(all.length).toBeGreaterThan(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
      expect(sim.requestLog.some((e) => e.status === 429)).toBe(true);
    });

    it('recovers from a burst of 5xx answers', async () => {
      sim.faults.serverErrors = 2;
      const one = await provider.get(created.id);
      expect(one.id).toBe(created.id);
      expect(sim.faults.serverErrors).toBe(0);
    });

    it('never creates a twin when a create fails after it was applied', async () => {
      sim.faults.resetsAfterApply = 1;
      const op = await provider.create({
        ...fixture.createSpec,
        name: 'contract-ambiguous',
        idempotencyKey: 'idem-contract-1',
      });
      const done = await waitForOperation(provider, op, FAST);
      const id = done.status === 'succeeded' ? done.resourceId : undefined;
      expect(id).toBeTruthy();
      // And a plain retry by the caller with the same key returns the same instance.
      const again = await waitForOperation(
        provider,
        await provider.create({
          ...fixture.createSpec,
          name: 'contract-ambiguous',
          idempotencyKey: 'idem-contract-1',
        }),
        FAST,
      );
      expect(again.status === 'succeeded' && again.resourceId).toBe(id);
      await waitForState(provider, id!, 'running', FAST);
      const twins = (await provider.list()).filter((i) => i.name === 'contract-ambiguous');
      expect(twins).toHaveLength(1);
      expect(twins[0]!.labels[IDEMPOTENCY_LABEL] ?? 'idem-contract-1').toBe('idem-contract-1');
    });

    it('answers bad credentials with a typed error that carries no secret', async () => {
      const bad = adapter(fixture.badCredentials);
      const error = await bad.list().catch((e) => e);
      expect(error).toBeInstanceOf(ProviderAuthenticationError);
      const text = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
      for (const secret of [...Object.values(fixture.badCredentials), ...Object.values(sim.credentials)]) {
        expect(text).not.toContain(secret);
      }
    });

    it('deletes an instance', async () => {
      await waitForOperation(provider, await provider.delete(created.id), FAST);
      await waitForState(provider, created.id, 'deleted', FAST);
      const after = await provider.get(created.id).then(
        (i) => i.state,
        (e) => e,
      );
      if (after instanceof Error) expect(after).toBeInstanceOf(ProviderNotFoundError);
      else expect(after).toBe('deleted');
    });

    it('refuses a wrong-state request from the simulator itself, not only from the adapter', async () => {
      // Deleting twice: the second request must reach the simulator and be refused there.
      const outcome = await provider.delete(created.id).then(
        (op) =>
          waitForOperation(provider, op, FAST).then(
            () => 'accepted',
            (e) => e,
          ),
        (e) => e,
      );
      expect(outcome).toBeInstanceOf(ProviderError);
      expect(outcome instanceof ProviderNotFoundError || outcome instanceof ProviderInvalidStateError).toBe(
        true,
      );
    });
  });
}
