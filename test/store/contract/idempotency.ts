import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  IdempotencyInProgressError,
  IdempotencyMismatchError,
  StoreValidationError,
} from '../../../functions/store/errors.ts';
import { Idempotency, payloadHash } from '../../../functions/store/idempotency.ts';
import { newJobId, type StoreContext } from './context.ts';

export function idempotencyContract(ctx: StoreContext): void {
  describe('Idempotency', () => {
    let idem: Idempotency;
    beforeAll(() => {
      idem = new Idempotency(ctx.dynamo.doc, ctx.names.idempotency);
    });
    const at = (ms: number) => new Idempotency(ctx.dynamo.doc, ctx.names.idempotency, { now: () => ms });
    const record = async (id: string) =>
      (await ctx.dynamo.doc.send(new GetCommand({ TableName: ctx.names.idempotency, Key: { id } }))).Item;

    it('begin, complete, then replay the stored result', async () => {
      const key = newJobId('idem');
      const hash = payloadHash({ name: 'web-1', size: 'small' });

      expect(await idem.begin(key, hash)).toEqual({ state: 'started' });
      await expect(idem.begin(key, hash)).rejects.toThrow(IdempotencyInProgressError);
      await idem.complete(key, { instanceId: 'i-42', state: 'running' });

      expect(await idem.begin(key, hash)).toEqual({
        state: 'replay',
        result: { instanceId: 'i-42', state: 'running' },
      });
      expect(await record(key)).toMatchObject({ status: 'COMPLETED', payloadHash: hash });
    });

    it('refuses the same key with another payload, in progress or completed', async () => {
      const key = newJobId('mismatch');
      await idem.begin(key, payloadHash({ size: 'small' }));
      await expect(idem.begin(key, payloadHash({ size: 'large' }))).rejects.toThrow(IdempotencyMismatchError);
      await idem.complete(key, 'done');
      await expect(idem.begin(key, payloadHash({ size: 'large' }))).rejects.toThrow(IdempotencyMismatchError);
    });

    it('hashes payloads canonically: key order does not matter', () => {
      expect(payloadHash({ a: 1, b: { c: [1, 2] } })).toBe(payloadHash({ b: { c: [1, 2] }, a: 1 }));
      expect(payloadHash({ a: 1 })).not.toBe(payloadHash({ a: 2 }));
    });

    it('fail() releases the key so a retry runs again; it never removes a completed record', async () => {
      const key = newJobId('fail');
      const hash = payloadHash({ n: 1 });
      await idem.begin(key, hash);
      await idem.fail(key);
      expect(await record(key)).toBeUndefined();
      expect(await idem.begin(key, hash)).toEqual({ state: 'started' });

      await idem.complete(key, 7);
      await idem.fail(key);
      expect(await idem.begin(key, hash)).toEqual({ state: 'replay', result: 7 });
    });

    it('a crashed invocation blocks duplicates only until its in-progress expiry', async () => {
      const key = newJobId('crash');
      const hash = payloadHash({ n: 1 });
      const t0 = Date.UTC(2026, 5, 1);
      await at(t0).begin(key, hash, { inProgressMs: 60_000 });

      await expect(at(t0 + 59_000).begin(key, hash)).rejects.toThrow(IdempotencyInProgressError);
      // Taken over, and told the earlier holder began the same work and never finished it.
      expect(await at(t0 + 61_000).begin(key, hash)).toEqual({
        state: 'started',
        cutShort: { startedAt: new Date(t0).toISOString() },
      });
    });

    it('a claim whose holder is known dead is expired at once, and run() tells the work it was cut short', async () => {
      const key = newJobId('dead');
      const t0 = Date.now();
      await at(t0).begin(key, payloadHash({ n: 2 }), { inProgressMs: 600_000 });
      const claims = [];
      for await (const claim of idem.inProgress()) if (claim.id === key) claims.push(claim);
      expect(claims).toEqual([
        { id: key, createdAt: new Date(t0).toISOString(), inProgressExpiresAt: t0 + 600_000 },
      ]);

      expect(await idem.expireInProgress(claims[0]!)).toBe(true);
      expect(await idem.expireInProgress(claims[0]!)).toBe(false); // already changed since it was seen
      const seen: unknown[] = [];
      const redo = async (begun: unknown) => {
        seen.push(begun);
        return 'redone';
      };
      expect(await idem.run(key, { n: 2 }, redo)).toBe('redone');
      expect(seen).toEqual([{ cutShort: { startedAt: new Date(t0).toISOString() } }]);
      const after = [];
      for await (const claim of idem.inProgress()) if (claim.id === key) after.push(claim);
      expect(after).toEqual([]);
    });

    it('beginOrWait(): copies wait for the first holder and replay its result; one still busy is refused', async () => {
      const key = newJobId('wait');
      const hash = payloadHash({ n: 3 });
      expect(await idem.begin(key, hash)).toEqual({ state: 'started' });
      const copies = Promise.all([1, 2, 3].map(() => idem.beginOrWait(key, hash, {}, 5_000)));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await idem.complete(key, { jobId: 'j-1' });
      expect(await copies).toEqual([1, 2, 3].map(() => ({ state: 'replay', result: { jobId: 'j-1' } })));

      const busy = newJobId('busy');
      await idem.begin(busy, hash);
      await expect(idem.beginOrWait(busy, hash, {}, 150)).rejects.toThrow(IdempotencyInProgressError);
      await expect(idem.beginOrWait(busy, payloadHash({ n: 4 }), {}, 150)).rejects.toThrow(
        IdempotencyMismatchError,
      );
    });

    it('a completed record is replayed until it expires, then the key is free again', async () => {
      const key = newJobId('expire');
      const t0 = Date.UTC(2026, 5, 1);
      await at(t0).begin(key, payloadHash('a'), { expiresInSeconds: 10 });
      await at(t0 + 1000).complete(key, 'first', { expiresInSeconds: 10 });

      expect(await at(t0 + 5000).begin(key, payloadHash('a'))).toEqual({ state: 'replay', result: 'first' });
      expect(await at(t0 + 12_000).begin(key, payloadHash('b'))).toEqual({ state: 'started' });
    });

    it('run(): the work happens once for concurrent duplicates and replays afterwards; a failure lets a retry run', async () => {
      const key = newJobId('run');
      let calls = 0;
      const work = async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return { created: 'i-9' };
      };
      const settled = await Promise.allSettled([1, 2, 3].map(() => idem.run(key, { name: 'x' }, work)));

      expect(calls).toBe(1);
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
      for (const s of settled)
        if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(IdempotencyInProgressError);
      expect(await idem.run(key, { name: 'x' }, work)).toEqual({ created: 'i-9' });
      expect(calls).toBe(1);

      const flaky = newJobId('flaky');
      await expect(idem.run(flaky, 1, () => Promise.reject(new Error('provider down')))).rejects.toThrow(
        'provider down',
      );
      expect(await idem.run(flaky, 1, async () => 'second try')).toBe('second try');
    });

    it('rejects bad input and an oversized result with the record untouched', async () => {
      await expect(idem.begin('', 'h')).rejects.toThrow(StoreValidationError);
      await expect(idem.begin('k', 'h', { inProgressMs: -1 })).rejects.toThrow(StoreValidationError);
      await expect(idem.complete(newJobId('never'), 'x')).rejects.toThrow(StoreValidationError);

      const key = newJobId('big');
      await idem.begin(key, 'h');
      await expect(idem.complete(key, { blob: 'x'.repeat(410 * 1024) })).rejects.toThrow(
        StoreValidationError,
      );
      await expect(idem.complete(key, { n: Number.POSITIVE_INFINITY })).rejects.toThrow(StoreValidationError);
      expect(await record(key)).toMatchObject({ status: 'INPROGRESS' });
      expect(() => payloadHash({ f: () => 1 })).toThrow(StoreValidationError);
    });
  });
}
