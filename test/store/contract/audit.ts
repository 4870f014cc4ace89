import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, AuditLog, GENESIS_HASH } from '../../../functions/store/audit.ts';
import { sha256Canonical } from '../../../functions/store/canonical-json.ts';
import { StoreValidationError } from '../../../functions/store/errors.ts';
import { freshTables, type TestTables } from '../../support/dynamo-servers.ts';
import { newJobId, type StoreContext, trigger } from './context.ts';

const where = { provider: 'exoscale', account: 'acme-prod', location: 'ch-gva-2' };

export function auditContract(ctx: StoreContext): void {
  describe('AuditLog', () => {
    let audit: AuditLog;
    beforeAll(() => {
      audit = new AuditLog(ctx.dynamo.doc, ctx.names.audit);
    });

    /** Writes `count` intent/outcome events on a fresh job's chain. */
    async function chainOf(count: number, log = audit, instanceId = `i-${newJobId('inst')}`) {
      const jobId = newJobId('chain');
      let intent: AuditEvent | undefined;
      for (let i = 0; i < count; i++) {
        if (intent) {
          await log.appendOutcome(intent, { result: { state: 'stopped' }, providerRequestId: `req-${i}` });
          intent = undefined;
        } else {
          intent = await log.append({
            kind: 'intent',
            jobId,
            trigger,
            ...where,
            instanceId,
            action: 'stop',
            parameters: { force: i % 4 === 0 },
          });
        }
      }
      return { jobId, instanceId };
    }

    it('chains events: seq from 0, prevHash of the previous event, hash over the canonical form', async () => {
      const jobId = newJobId('basic');
      const intent = await audit.append({
        kind: 'intent',
        jobId,
        trigger,
        ...where,
        instanceId: 'i-basic',
        action: 'scale',
        parameters: {
          type: 'standard.large',
          apiKey: 'EXO1234567890',
          headers: { Authorization: 'Bearer abcdefgh' },
        },
      });
      const outcome = await audit.appendOutcome(intent, {
        result: { operationId: 'op-1' },
        providerRequestId: 'rq-1',
      });

      expect(intent).toMatchObject({
        chain: jobId,
        seq: 0,
        prevHash: GENESIS_HASH,
        kind: 'intent',
        action: 'scale',
      });
      expect(intent.parameters).toEqual({
        type: 'standard.large',
        apiKey: '[REDACTED]',
        headers: { Authorization: '[REDACTED]' },
      });
      const { hash, ...unsigned } = intent;
      expect(hash).toBe(sha256Canonical(unsigned));
      expect(outcome).toMatchObject({
        seq: 1,
        prevHash: intent.hash,
        kind: 'outcome',
        intentSeq: 0,
        ...where,
      });
      expect(outcome.instanceId).toBe('i-basic');

      const raw = await ctx.dynamo.doc.send(
        new GetCommand({ TableName: ctx.names.audit, Key: { chain: jobId, seq: 1 } }),
      );
      expect(raw.Item).toEqual(outcome);
    });

    it('never overwrites: 20 concurrent writers on one chain take seqs 0..19 once each, and the chain verifies', async () => {
      const jobId = newJobId('concurrent');
      // Separate AuditLog instances: no shared head cache, as with separate Lambda containers.
      const writers = Array.from({ length: 20 }, () => new AuditLog(ctx.dynamo.doc, ctx.names.audit));
      const events = await Promise.all(
        writers.map((w, i) => w.append({ kind: 'note', jobId, trigger, action: `note-${i}` })),
      );

      expect(events.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(new Set(events.map((e) => e.action)).size).toBe(20);
      expect(await audit.verify({ jobId })).toMatchObject({ ok: true, checked: 20, chains: 1 });
    });

    it('queries by job and by instance, newest first, across pages', async () => {
      const instanceId = `i-${newJobId('paged')}`;
      const { jobId } = await chainOf(10, audit, instanceId);
      const other = await chainOf(3, audit, instanceId); // a second job on the same instance

      const byJob: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await audit.byJob(jobId, { limit: 3, ...(cursor ? { cursor } : {}) });
        byJob.push(...page.items.map((e) => e.seq));
        cursor = page.cursor;
      } while (cursor);
      expect(byJob).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);

      const byInstance: AuditEvent[] = [];
      do {
        const page = await audit.byInstance(instanceId, { limit: 4, ...(cursor ? { cursor } : {}) });
        byInstance.push(...page.items);
        cursor = page.cursor;
      } while (cursor);
      expect(byInstance).toHaveLength(13);
      const times = byInstance.map((e) => e.at);
      expect(times).toEqual([...times].sort().reverse());
      expect(new Set(byInstance.map((e) => e.chain))).toEqual(new Set([jobId, other.jobId]));

      const verified = await audit.verify({ instanceId });
      expect(verified).toMatchObject({ ok: true, checked: 13, chains: 2 });
    });

    it('shows intents without an outcome (a crash between the provider call and its outcome)', async () => {
      const jobId = newJobId('pending');
      const a = await audit.append({
        kind: 'intent',
        jobId,
        trigger,
        ...where,
        instanceId: 'i-a',
        action: 'stop',
      });
      await audit.appendOutcome(a, { result: { ok: true } });
      const b = await audit.append({
        kind: 'intent',
        jobId,
        trigger,
        ...where,
        instanceId: 'i-b',
        action: 'stop',
      });
      await audit.append({ kind: 'note', jobId, trigger, action: 'worker-restarted' });

      const pending = await audit.pendingIntents(jobId);
      expect(pending).toEqual([
        { chain: jobId, seq: b.seq, action: 'stop', instanceId: 'i-b', provider: 'exoscale', at: b.at },
      ]);
      const report = await audit.verify({ jobId });
      expect(report.ok).toBe(true);
      expect(report.pendingIntents).toEqual(pending);
    });

    it('rejects invalid and oversized events with nothing written', async () => {
      const jobId = newJobId('badevent');
      const bad = [
        { kind: 'outcome', jobId, trigger, action: 'stop' }, // an outcome must name its intent
        { kind: 'intent', jobId, trigger, action: 'stop', intentSeq: 0 },
        { kind: 'oops', jobId, trigger, action: 'stop' },
        { kind: 'note', jobId, trigger, action: '' },
        { kind: 'note', jobId, trigger: { actor: 'x' }, action: 'stop' },
        { kind: 'note', jobId, trigger, action: 'stop', parameters: { when: new Date() } },
        { kind: 'note', jobId, trigger, action: 'stop', parameters: { blob: 'b'.repeat(401 * 1024) } },
      ];
      for (const input of bad)
        await expect(audit.append(input as never)).rejects.toThrow(StoreValidationError);
      await expect(audit.appendOutcome({ kind: 'note' } as AuditEvent, {})).rejects.toThrow(
        StoreValidationError,
      );
      expect((await audit.byJob(jobId)).items).toEqual([]);
    });

    describe('verify detects tampering', () => {
      let tables: TestTables;
      let log: AuditLog;
      // Own tables, so that "verify everything" sees only the chains tampered with here.
      beforeAll(async () => {
        tables = await freshTables(ctx.server, 'tamper');
        log = new AuditLog(tables.dynamo.doc, tables.names.audit);
      });
      afterAll(() => tables?.dynamo.destroy());

      const raw = {
        get: async (chain: string, seq: number) =>
          (
            await tables.dynamo.doc.send(
              new GetCommand({ TableName: tables.names.audit, Key: { chain, seq } }),
            )
          ).Item as Record<string, unknown>,
        put: (item: Record<string, unknown>) =>
          tables.dynamo.doc.send(new PutCommand({ TableName: tables.names.audit, Item: item })),
        delete: (chain: string, seq: number) =>
          tables.dynamo.doc.send(new DeleteCommand({ TableName: tables.names.audit, Key: { chain, seq } })),
      };

      it('an intact chain verifies, by job, by instance and all together', async () => {
        const { jobId, instanceId } = await chainOf(6, log);
        expect(await log.verify({ jobId })).toMatchObject({ ok: true, checked: 6, chains: 1 });
        expect(await log.verify({ instanceId })).toMatchObject({ ok: true, checked: 6 });
        expect((await log.verify()).ok).toBe(true);
      });

      it('an altered event: hash mismatch at that event', async () => {
        const { jobId, instanceId } = await chainOf(6, log);
        const event = await raw.get(jobId, 2);
        await raw.put({ ...event, parameters: { force: true, note: 'quietly changed' } });

        const report = await log.verify({ jobId });
        expect(report.ok).toBe(false);
        expect(report.firstBroken).toMatchObject({ chain: jobId, seq: 2, reason: 'altered' });
        expect(report.checked).toBe(3);
        expect((await log.verify({ instanceId })).firstBroken).toMatchObject({ chain: jobId, seq: 2 });
        expect((await log.verify()).ok).toBe(false);
      });

      it('an added attribute counts as an alteration', async () => {
        const { jobId } = await chainOf(4, log);
        await raw.put({ ...(await raw.get(jobId, 1)), approvedBy: 'nobody' });
        expect((await log.verify({ jobId })).firstBroken).toMatchObject({ seq: 1, reason: 'altered' });
      });

      it('an altered event with its own hash recomputed: the next event no longer links to it', async () => {
        const { jobId } = await chainOf(6, log);
        const { hash: _old, ...content } = await raw.get(jobId, 3);
        const forged = { ...content, result: { state: 'running' } };
        await raw.put({ ...forged, hash: sha256Canonical(forged) });

        expect((await log.verify({ jobId })).firstBroken).toMatchObject({
          chain: jobId,
          seq: 4,
          reason: 'broken-link',
        });
      });

      it('a removed event: a seq gap at the missing event', async () => {
        const { jobId } = await chainOf(6, log);
        await raw.delete(jobId, 2);
        expect((await log.verify({ jobId })).firstBroken).toMatchObject({
          chain: jobId,
          seq: 2,
          reason: 'missing',
        });

        const second = await chainOf(3, log);
        await raw.delete(second.jobId, 0);
        expect((await log.verify({ jobId: second.jobId })).firstBroken).toMatchObject({
          seq: 0,
          reason: 'missing',
        });
      });

      it('two events swapped: broken at the first of them', async () => {
        const { jobId } = await chainOf(6, log);
        const [e2, e3] = [await raw.get(jobId, 2), await raw.get(jobId, 3)];
        await raw.put({ ...e3, seq: 2 });
        await raw.put({ ...e2, seq: 3 });

        const broken = (await log.verify({ jobId })).firstBroken;
        expect(broken).toMatchObject({ chain: jobId, seq: 2 });
        expect(['altered', 'broken-link']).toContain(broken?.reason);
      });

      it('a removed event renumbered to hide the gap: broken link', async () => {
        const { jobId } = await chainOf(5, log);
        // Delete event 2, move 3 and 4 down by one, each with a correct hash of its new content.
        const items = await Promise.all([3, 4].map((seq) => raw.get(jobId, seq)));
        await raw.delete(jobId, 4);
        for (const item of items) {
          const { hash: _h, ...content } = item!;
          const moved = { ...content, seq: (item!.seq as number) - 1 };
          await raw.put({ ...moved, hash: sha256Canonical(moved) });
        }

        expect((await log.verify({ jobId })).firstBroken).toMatchObject({ seq: 2, reason: 'broken-link' });
      });

      it('a new writer continues a chain it has never seen from the stored head', async () => {
        const { jobId } = await chainOf(3, log);
        const fresh = new AuditLog(tables.dynamo.doc, tables.names.audit);
        const next = await fresh.append({ kind: 'note', jobId, trigger, action: 'resume' });
        const head = await tables.dynamo.doc.send(
          new QueryCommand({
            TableName: tables.names.audit,
            KeyConditionExpression: 'chain = :c',
            ExpressionAttributeValues: { ':c': jobId },
            ScanIndexForward: false,
            Limit: 2,
          }),
        );
        expect(next.seq).toBe(3);
        expect(next.prevHash).toBe(head.Items?.[1]?.hash);
        expect((await fresh.verify({ jobId })).ok).toBe(true);
      });
    });
  });
}
