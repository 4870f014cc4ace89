import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, type AuditLogOptions } from '../../../functions/store/audit.ts';
import {
  type AuditEvent,
  CHECKPOINT_CHAIN,
  GENESIS_HASH,
  LINK_ACTION,
  SUB_CHAINS,
} from '../../../functions/store/audit-chains.ts';
import { AuditKeyError, auditKeyring } from '../../../functions/store/audit-keys.ts';
import { jobsSource } from '../../../functions/store/audit-verify.ts';
import { hmacCanonical, sha256Canonical } from '../../../functions/store/canonical-json.ts';
import { StoreValidationError } from '../../../functions/store/errors.ts';
import { JobStore } from '../../../functions/store/jobs.ts';
import { freshTables, type TestTables } from '../../support/dynamo-servers.ts';
import { newJobId, type StoreContext, trigger } from './context.ts';

const where = { provider: 'exoscale', account: 'acme-prod', location: 'ch-gva-2' };

const CHAIN_KEY = 'test-chain-key-0123456789abcdefghijklmnopqrstuvwxyz';
const CHECKPOINT_KEY = 'test-checkpoint-key-0123456789abcdefghijklmnopqrstuvwxyz';
const chainRing = auditKeyring({ key: CHAIN_KEY }, 'test chain key');
const checkpointRing = auditKeyring({ key: CHECKPOINT_KEY }, 'test checkpoint key');
/** The keys a writer and the verifier hold. */
export const testKeys: AuditLogOptions = {
  key: async () => chainRing,
  checkpointKey: async () => checkpointRing,
};

type Item = Record<string, unknown>;

export function auditContract(ctx: StoreContext): void {
  describe('AuditLog', () => {
    let audit: AuditLog;
    beforeAll(() => {
      audit = new AuditLog(ctx.dynamo.doc, ctx.names.audit, testKeys);
    });

    /** Writes `count` intent/outcome events about one instance of a fresh job. */
    async function chainOf(count: number, log = audit, instanceId = `i-${newJobId('inst')}`) {
      const jobId = newJobId('chain');
      let intent: AuditEvent | undefined;
      let chain = '';
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
          chain = intent.chain;
        }
      }
      return { jobId, instanceId, chain };
    }

    it('chains events with keyed hashes: seq from 0, prevHash of the one before, HMAC over the canonical form', async () => {
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
        chain: expect.stringMatching(new RegExp(`^${jobId}#\\d+$`)),
        seq: 0,
        prevHash: GENESIS_HASH,
        kind: 'intent',
        action: 'scale',
        keyId: chainRing.current.id,
      });
      expect(intent.parameters).toEqual({
        type: 'standard.large',
        apiKey: '[REDACTED]',
        headers: { Authorization: '[REDACTED]' },
      });
      const { hash, ...unsigned } = intent;
      expect(hash).toBe(hmacCanonical(Buffer.from(CHAIN_KEY), unsigned));
      expect(hash).not.toBe(sha256Canonical(unsigned));
      // The outcome goes to its intent's chain.
      expect(outcome).toMatchObject({
        chain: intent.chain,
        seq: 1,
        prevHash: intent.hash,
        kind: 'outcome',
        intentSeq: 0,
        ...where,
      });
      const raw = await ctx.dynamo.doc.send(
        new GetCommand({ TableName: ctx.names.audit, Key: { chain: intent.chain, seq: 1 } }),
      );
      expect(raw.Item).toEqual(outcome);

      // The job's root chain names the sub-chain, with its first hash.
      const root = [];
      for await (const e of audit.chainEvents(jobId)) root.push(e);
      expect(root).toEqual([
        expect.objectContaining({
          seq: 0,
          kind: 'note',
          action: LINK_ACTION,
          parameters: { chain: intent.chain, first: intent.hash },
        }),
      ]);
      expect(await audit.verify({ jobId })).toMatchObject({ ok: true, checked: 3, chains: 2, broken: [] });
    });

    it('refuses to append or verify without the key, and writes nothing', async () => {
      const readOnly = new AuditLog(ctx.dynamo.doc, ctx.names.audit);
      const jobId = newJobId('nokey');
      await expect(readOnly.append({ kind: 'note', jobId, trigger, action: 'x' })).rejects.toThrow(
        AuditKeyError,
      );
      await expect(readOnly.verify({ jobId })).rejects.toThrow(AuditKeyError);
      expect((await readOnly.byJob(jobId)).items).toEqual([]);
    });

    it('never overwrites: 20 concurrent writers on one chain take seqs 0..19 once each, and the chain verifies', async () => {
      const jobId = newJobId('concurrent');
      // Separate AuditLog instances: no shared head cache, as with separate Lambda containers.
      const writers = Array.from(
        { length: 20 },
        () => new AuditLog(ctx.dynamo.doc, ctx.names.audit, testKeys),
      );
      const events = await Promise.all(
        writers.map((w, i) => w.append({ kind: 'note', jobId, trigger, action: `note-${i}` })),
      );

      expect(events.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(new Set(events.map((e) => e.action)).size).toBe(20);
      expect(await audit.verify({ jobId })).toMatchObject({ ok: true, checked: 20, chains: 1 });
    });

    it('many writers on one job: instances spread over sub-chains, every event once, every chain intact and linked', async () => {
      const jobId = newJobId('fleet');
      const instances = Array.from({ length: 120 }, (_, i) => `i-fleet-${i}`);
      const writers = Array.from(
        { length: 24 },
        () => new AuditLog(ctx.dynamo.doc, ctx.names.audit, testKeys),
      );
      const used = new Set<string>();
      let next = 0;
      await Promise.all(
        writers.map(async (w) => {
          for (let i = next++; i < instances.length; i = next++) {
            const intent: AuditEvent = await w.append({
              kind: 'intent',
              jobId,
              trigger,
              ...where,
              instanceId: instances[i]!,
              action: 'stop',
            });
            const outcome = await w.appendOutcome(intent, { result: { status: 'pending' } });
            // Next to its intent, or (the lane was taken) in another chain that names the intent's.
            expect(outcome.intentChain ?? outcome.chain).toBe(intent.chain);
            used.add(intent.chain).add(outcome.chain);
          }
        }),
      );

      const chains = await audit.chainsOfJob(jobId);
      expect([...chains].sort()).toEqual([jobId, ...used].sort());
      // Concurrent writers spread over several sub-chains; never more than there are.
      expect(used.size).toBeGreaterThan(4);
      expect(used.size).toBeLessThanOrEqual(SUB_CHAINS);
      const report = await audit.verify({ jobId });
      expect(report.broken).toEqual([]);
      expect(report.warnings.filter((w) => w.reason === 'unlinked')).toEqual([]);
      // 240 events and exactly one link per sub-chain.
      expect(report.checked).toBe(240 + used.size);
      expect(report.pendingIntents).toEqual([]);
      const all: AuditEvent[] = [];
      for await (const e of audit.jobEvents(jobId)) all.push(e);
      expect(
        all
          .filter((e) => e.kind === 'intent')
          .map((e) => e.instanceId)
          .sort(),
      ).toEqual([...instances].sort());
      expect(writers.reduce((n, w) => n + w.stats.appends, 0)).toBe(240 + used.size);
    });

    it("an outcome whose intent's chain another writer took meanwhile goes to its own lane and names the intent's chain", async () => {
      const jobId = newJobId('moved');
      const a = new AuditLog(ctx.dynamo.doc, ctx.names.audit, testKeys);
      const intent = await a.append({
        kind: 'intent',
        jobId,
        trigger,
        ...where,
        instanceId: 'i-m',
        action: 'stop',
      });
      // Another writer appends to that chain (a keyed event, as a Lambda container would).
      const head = (await a.head(intent.chain))!;
      const unsigned = {
        chain: intent.chain,
        seq: head.seq + 1,
        kind: 'note',
        jobId,
        trigger,
        instanceId: 'i-other',
        action: 'other-writer',
        at: new Date().toISOString(),
        prevHash: head.hash,
        keyId: chainRing.current.id,
      };
      await ctx.dynamo.doc.send(
        new PutCommand({
          TableName: ctx.names.audit,
          Item: { ...unsigned, hash: chainRing.current.sign(unsigned) },
        }),
      );

      const outcome = await a.appendOutcome(intent, { result: { status: 'pending' } });
      expect(a.stats.conflicts).toBeGreaterThanOrEqual(1);
      expect(outcome.chain).not.toBe(intent.chain);
      expect(outcome).toMatchObject({ kind: 'outcome', intentSeq: intent.seq, intentChain: intent.chain });
      expect(await audit.pendingIntents(jobId)).toEqual([]);
      const report = await audit.verify({ jobId });
      expect(report).toMatchObject({ ok: true, pendingIntents: [] });
      expect(report.chains).toBe(3); // the root, the intent's chain, the outcome's
    });

    it('lists a job in time order across its chains and pages, newest or oldest first; by instance across jobs', async () => {
      let tick = Date.UTC(2026, 0, 1);
      const log = new AuditLog(ctx.dynamo.doc, ctx.names.audit, {
        ...testKeys,
        now: () => {
          tick += 1000; // distinct, ordered timestamps
          return new Date(tick);
        },
      });
      const jobId = newJobId('paged');
      const shared = `i-${newJobId('shared')}`;
      const written: AuditEvent[] = [];
      for (let i = 0; i < 12; i++) {
        written.push(
          await log.append({
            kind: 'note',
            jobId,
            trigger,
            instanceId: i % 3 === 0 ? shared : `i-p${i}`,
            action: `n${i}`,
          }),
        );
      }
      const other = await chainOf(3, log, shared); // a second job on the same instance
      const expected = [...written]
        .concat(await collect(log.chainEvents(jobId)))
        .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

      for (const order of ['oldest', 'newest'] as const) {
        const seen: AuditEvent[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await log.byJob(jobId, { limit: 4, order, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items);
          cursor = page.cursor;
          pages++;
        } while (cursor);
        const want = order === 'oldest' ? expected : [...expected].reverse();
        expect(seen.map((e) => `${e.chain}/${e.seq}`)).toEqual(want.map((e) => `${e.chain}/${e.seq}`));
        expect(pages).toBeGreaterThanOrEqual(Math.ceil(want.length / 4));
      }
      await expect(log.byJob(other.jobId, { cursor: 'bm90LWEtY3Vyc29y' })).rejects.toThrow(
        StoreValidationError,
      );

      const byInstance: AuditEvent[] = [];
      let cursor: string | undefined;
      do {
        const page = await log.byInstance(shared, { limit: 4, ...(cursor ? { cursor } : {}) });
        byInstance.push(...page.items);
        cursor = page.cursor;
      } while (cursor);
      expect(byInstance).toHaveLength(4 + 3);
      const times = byInstance.map((e) => e.at);
      expect(times).toEqual([...times].sort().reverse());
      expect(new Set(byInstance.map((e) => e.jobId))).toEqual(new Set([jobId, other.jobId]));
      // The instance's sub-chains may hold other instances' events too: all of them are checked.
      const sharedChains = new Set(written.filter((e) => e.instanceId === shared).map((e) => e.chain));
      const inChain = written.filter((e) => sharedChains.has(e.chain)).length;
      expect(await log.verify({ instanceId: shared })).toMatchObject({
        ok: true,
        checked: inChain + 3,
        chains: 2,
      });
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
        { chain: b.chain, seq: b.seq, action: 'stop', instanceId: 'i-b', provider: 'exoscale', at: b.at },
      ]);
      const report = await audit.verify({ jobId });
      expect(report.ok).toBe(true);
      expect(report.pendingIntents).toEqual(pending);
    });

    it("a writer that stops between a sub-chain's first event and its link: checkpoints and a whole-trail verify still find the chain, and say so", async () => {
      const own = await freshTables(ctx.server, 'unlinked');
      try {
        const log = new AuditLog(own.dynamo.doc, own.names.audit, testKeys);
        // The link note's put fails, as if the process died right after the event's put.
        const failing = Object.create(own.dynamo.doc) as typeof own.dynamo.doc;
        failing.send = ((command: { input: { Item?: Item } }) =>
          command.input.Item?.action === LINK_ACTION
            ? Promise.reject(new Error('process killed'))
            : own.dynamo.doc.send(command as never)) as never;
        const crashed = new AuditLog(failing, own.names.audit, testKeys);
        const jobId = newJobId('unlinked');
        await log.append({ kind: 'note', jobId, trigger, action: 'started' });
        const intent = await crashed.append({
          kind: 'intent',
          jobId,
          trigger,
          ...where,
          instanceId: 'i-u',
          action: 'stop',
        });
        const unlinked = [expect.objectContaining({ chain: intent.chain, reason: 'unlinked' })];

        // A job's listing and verify read the root's links: the unlinked chain is not theirs to find…
        expect((await log.byJob(jobId)).items.map((e) => e.chain)).toEqual([jobId]);
        expect((await log.verify({ jobId })).chains).toBe(1);
        // …a whole-trail verify finds it,
        const all = await log.verify();
        expect(all.ok).toBe(true);
        expect(all.warnings.filter((w) => w.chain)).toEqual(unlinked);
        expect(all.pendingIntents).toEqual([expect.objectContaining({ chain: intent.chain, seq: 0 })]);
        // …and so does the periodic checkpoint, after which the job's own verify walks it too.
        await log.checkpoints.periodic();
        const report = await log.verify({ jobId });
        expect(report.chains).toBe(2);
        expect(report.warnings.filter((w) => w.chain)).toEqual(unlinked);
        expect(report.pendingIntents).toEqual([expect.objectContaining({ chain: intent.chain, seq: 0 })]);
      } finally {
        own.dynamo.destroy();
      }
    });

    it('rejects invalid and oversized events with nothing written', async () => {
      const jobId = newJobId('badevent');
      const bad = [
        { kind: 'outcome', jobId, trigger, action: 'stop' }, // an outcome must name its intent
        { kind: 'intent', jobId, trigger, action: 'stop', intentSeq: 0 },
        { kind: 'oops', jobId, trigger, action: 'stop' },
        { kind: 'note', jobId, trigger, action: '' },
        { kind: 'note', jobId: 'a#b', trigger, action: 'stop' }, // '#' is the sub-chain separator
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

    describe('checkpoints', () => {
      let tables: TestTables;
      let log: AuditLog;
      beforeAll(async () => {
        tables = await freshTables(ctx.server, 'checkpoint');
        log = new AuditLog(tables.dynamo.doc, tables.names.audit, testKeys);
      });
      afterAll(() => tables?.dynamo.destroy());

      it('the first adopts every chain; later ones record only what changed, each naming and signed after the one before', async () => {
        const a = await chainOf(4, log);
        const b = await chainOf(2, log);
        const [genesis, ...more] = await log.checkpoints.periodic();
        expect(more).toEqual([]);
        expect(genesis).toMatchObject({
          chain: CHECKPOINT_CHAIN,
          seq: 0,
          reason: 'adopt',
          keyId: checkpointRing.current.id,
        });
        expect(genesis!.prev).toBeUndefined();
        expect(genesis!.heads.map((h) => [h.chain, h.seq])).toEqual(
          byChain([
            [a.jobId, 0],
            [a.chain, 3],
            [b.jobId, 0],
            [b.chain, 1],
          ]),
        );
        const { signature, ...unsigned } = genesis!;
        expect(signature).toBe(hmacCanonical(Buffer.from(CHECKPOINT_KEY), unsigned));

        expect(await log.checkpoints.periodic()).toEqual([]); // nothing changed
        await log.append({ kind: 'note', jobId: a.jobId, trigger, instanceId: a.instanceId, action: 'more' });
        const [second] = await log.checkpoints.periodic();
        expect(second).toMatchObject({ seq: 1, reason: 'periodic', prev: { seq: 0, signature } });
        expect(second!.heads.map((h) => [h.chain, h.seq])).toEqual([[a.chain, 4]]);

        const [end] = await log.checkpoints.forJob(b.jobId);
        expect(end).toMatchObject({ seq: 2, reason: 'job-end', jobId: b.jobId, prev: { seq: 1 } });
        expect(end!.heads.map((h) => h.chain)).toEqual([b.jobId, b.chain]);

        const report = await log.verify();
        expect(report.ok).toBe(true);
        expect(report.checkpoints).toMatchObject({ checked: 3, last: { seq: 2, reason: 'job-end' } });
        expect(report.chainReports.find((r) => r.chain === a.chain)).toMatchObject({
          lastCheckpoint: { seq: 1, headSeq: 4 },
          uncheckpointed: 0,
          keying: 'keyed',
        });
      });

      it('concurrent checkpoint writers take consecutive seqs, each linked to the one before', async () => {
        const { jobId } = await chainOf(2, log);
        const writers = Array.from(
          { length: 6 },
          () => new AuditLog(tables.dynamo.doc, tables.names.audit, testKeys),
        );
        await Promise.all(writers.map((w) => w.checkpoints.forJob(jobId)));
        const seqs: number[] = [];
        for await (const cp of log.checkpoints.from(0)) seqs.push(cp.seq);
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
        expect((await log.verify()).broken).toEqual([]);
      });

      it('says when events are not covered by any checkpoint, and is quiet about fresh ones', async () => {
        const { chain } = await chainOf(2, log);
        const fresh = await log.verify();
        expect(fresh.chainReports.find((r) => r.chain === chain)).toMatchObject({ uncheckpointed: 2 });
        expect(fresh.warnings.filter((w) => w.chain === chain)).toEqual([]);
        const later = await log.verify({}, { now: () => new Date(Date.now() + 3_600_000) });
        expect(later.ok).toBe(true);
        expect(later.warnings).toContainEqual(expect.objectContaining({ chain, reason: 'not-checkpointed' }));
      });
    });

    describe('verify detects tampering and names it', () => {
      let tables: TestTables;
      let log: AuditLog;
      // Own tables: verify-all must see only what is tampered with here.
      beforeAll(async () => {
        tables = await freshTables(ctx.server, 'tamper');
        log = new AuditLog(tables.dynamo.doc, tables.names.audit, testKeys);
        await log.checkpoints.periodic(); // keying begins
      });
      afterAll(() => tables?.dynamo.destroy());

      const raw = {
        get: async (chain: string, seq: number) =>
          (
            await tables.dynamo.doc.send(
              new GetCommand({ TableName: tables.names.audit, Key: { chain, seq } }),
            )
          ).Item as Item,
        put: (item: Item) =>
          tables.dynamo.doc.send(new PutCommand({ TableName: tables.names.audit, Item: item })),
        delete: (chain: string, seq: number) =>
          tables.dynamo.doc.send(new DeleteCommand({ TableName: tables.names.audit, Key: { chain, seq } })),
        all: async (chain: string) =>
          ((
            await tables.dynamo.doc.send(
              new QueryCommand({
                TableName: tables.names.audit,
                KeyConditionExpression: 'chain = :c',
                ExpressionAttributeValues: { ':c': chain },
              }),
            )
          ).Items ?? []) as Item[],
      };
      /** Re-hashes an item the way an attacker would: `sign` over everything but the hash. */
      const rehash = (item: Item, sign: (unsigned: Item) => string) => {
        const { hash: _h, ...unsigned } = item;
        return { ...unsigned, hash: sign(unsigned) };
      };
      const plain = (u: Item) => sha256Canonical(u);
      const wrongKey = 'an-attacker-key-that-is-long-enough-0123456789';

      it('an intact trail verifies, by job, by instance and all together', async () => {
        const { jobId, instanceId } = await chainOf(6, log);
        await log.checkpoints.forJob(jobId);
        expect(await log.verify({ jobId })).toMatchObject({ ok: true, checked: 7, chains: 2, broken: [] });
        expect(await log.verify({ instanceId })).toMatchObject({ ok: true, checked: 6 });
        expect((await log.verify()).ok).toBe(true);
      });

      it('an altered event: its keyed hash no longer matches, named at that event', async () => {
        const { jobId, instanceId, chain } = await chainOf(6, log);
        await raw.put({ ...(await raw.get(chain, 2)), parameters: { force: true, note: 'quietly changed' } });

        const report = await log.verify({ jobId });
        expect(report.ok).toBe(false);
        expect(report.broken).toEqual([expect.objectContaining({ chain, seq: 2, reason: 'altered' })]);
        expect(report.firstBroken).toMatchObject({ chain, seq: 2, reason: 'altered' });
        expect((await log.verify({ instanceId })).broken).toEqual([
          expect.objectContaining({ chain, seq: 2 }),
        ]);
      });

      it('an added attribute counts as an alteration', async () => {
        const { jobId, chain } = await chainOf(4, log);
        await raw.put({ ...(await raw.get(chain, 1)), approvedBy: 'nobody' });
        expect((await log.verify({ jobId })).broken).toEqual([
          expect.objectContaining({ chain, seq: 1, reason: 'altered' }),
        ]);
      });

      it('the newest events deleted after a checkpoint: truncated, naming the checkpoint', async () => {
        const { jobId, chain } = await chainOf(6, log);
        const [cp] = await log.checkpoints.forJob(jobId);
        await raw.delete(chain, 5);
        await raw.delete(chain, 4);

        const report = await log.verify({ jobId });
        expect(report.broken).toEqual([
          expect.objectContaining({
            chain,
            seq: 4,
            reason: 'truncated',
            detail: expect.stringContaining(`checkpoint ${cp!.seq}`),
          }),
        ]);
        expect(report.pendingIntents).toEqual([]); // 0..3 are two closed pairs: only the checkpoint knows
      });

      it('a whole job deleted after a checkpoint: every chain named as deleted', async () => {
        const { jobId, chain } = await chainOf(4, log);
        await log.checkpoints.forJob(jobId);
        for (const c of [jobId, chain])
          for (const item of await raw.all(c)) await raw.delete(c, item.seq as number);

        const report = await log.verify({ jobId });
        expect(report.broken.map((b) => [b.chain, b.reason])).toEqual([
          [jobId, 'deleted-chain'],
          [chain, 'deleted-chain'],
        ]);
        expect((await log.verify()).broken).toEqual(expect.arrayContaining(report.broken));
      });

      it('a whole sub-chain deleted before any checkpoint saw it: its job names it', async () => {
        const { jobId, chain } = await chainOf(4, log);
        for (const item of await raw.all(chain)) await raw.delete(chain, item.seq as number);
        expect((await log.verify({ jobId })).broken).toEqual([
          expect.objectContaining({
            chain,
            seq: 0,
            reason: 'deleted-chain',
            detail: expect.stringContaining(jobId),
          }),
        ]);
      });

      it('a job with provider actions and no chain at all (deleted before any checkpoint): named from the jobs table', async () => {
        const jobs = new JobStore(tables.dynamo.doc, tables.names.jobs);
        const { jobId, chain } = await chainOf(2, log);
        await jobs.create({ jobId, kind: 'provision', trigger, request: {} });
        await jobs.appendStep(jobId, {
          name: 'create',
          status: 'STARTED',
          startedAt: new Date().toISOString(),
          detail: { operationId: 'op-1' },
        });
        const quiet = newJobId('quiet');
        await jobs.create({ jobId: quiet, kind: 'provision', trigger, request: {} }); // no provider call
        for (const c of [jobId, chain])
          for (const item of await raw.all(c)) await raw.delete(c, item.seq as number);

        const source = jobsSource(jobs);
        const one = await log.verify({ jobId }, { jobs: source });
        expect(one.broken).toEqual([expect.objectContaining({ chain: jobId, reason: 'job-without-chain' })]);
        const all = await log.verify({}, { jobs: source });
        expect(all.jobsChecked).toBeGreaterThanOrEqual(2);
        expect(all.broken.filter((b) => b.reason === 'job-without-chain').map((b) => b.chain)).toEqual([
          jobId,
        ]);
      });

      it('a hash recomputed with plain SHA-256: altered (keyId kept) or unkeyed (keyId dropped)', async () => {
        const first = await chainOf(6, log);
        const forged = { ...(await raw.get(first.chain, 3)), result: { state: 'running' } };
        await raw.put(rehash(forged, plain));
        expect((await log.verify({ jobId: first.jobId })).broken).toEqual([
          expect.objectContaining({ chain: first.chain, seq: 3, reason: 'altered' }),
        ]);

        const second = await chainOf(6, log);
        const { keyId: _k, ...bare }: Item = {
          ...(await raw.get(second.chain, 5)),
          result: { state: 'running' },
        };
        await raw.put(rehash(bare, plain));
        expect((await log.verify({ jobId: second.jobId })).broken).toEqual([
          expect.objectContaining({ chain: second.chain, seq: 5, reason: 'unkeyed' }),
        ]);
      });

      it('a whole chain re-hashed with plain SHA-256, links and all: unkeyed, checkpointed or not', async () => {
        for (const checkpointed of [false, true]) {
          const { jobId, chain } = await chainOf(4, log);
          if (checkpointed) await log.checkpoints.forJob(jobId);
          let prevHash = GENESIS_HASH;
          for (const item of await raw.all(chain)) {
            const { keyId: _k, ...bare }: Item = { ...item, prevHash, result: { state: 'forged' } };
            const next = rehash(bare, plain);
            await raw.put(next);
            prevHash = next.hash as string;
          }
          // (The root's link and any checkpoint name the old hashes as well; one problem per chain.)
          const reasons = (await log.verify({ jobId })).broken.map((b) => [b.chain, b.seq, b.reason]);
          expect(reasons).toEqual([[chain, 0, 'unkeyed']]);
        }
      });

      it('a hash recomputed with HMAC under a wrong key: unknown key, or altered when the keyId is copied', async () => {
        const wrong = auditKeyring({ key: wrongKey }, 'attacker');
        const first = await chainOf(4, log);
        const forged = {
          ...(await raw.get(first.chain, 1)),
          result: { state: 'running' },
          keyId: wrong.current.id,
        };
        await raw.put(rehash(forged, (u) => wrong.current.sign(u)));
        expect((await log.verify({ jobId: first.jobId })).broken).toEqual([
          expect.objectContaining({ chain: first.chain, seq: 1, reason: 'unknown-key' }),
        ]);

        const second = await chainOf(4, log);
        const copied = { ...(await raw.get(second.chain, 1)), result: { state: 'running' } };
        await raw.put(rehash(copied, (u) => hmacCanonical(Buffer.from(wrongKey), u)));
        expect((await log.verify({ jobId: second.jobId })).broken).toEqual([
          expect.objectContaining({ chain: second.chain, seq: 1, reason: 'altered' }),
        ]);
      });

      it('two chains broken at once: both named, each at its own event', async () => {
        const own = await freshTables(ctx.server, 'two');
        try {
          const two = new AuditLog(own.dynamo.doc, own.names.audit, testKeys);
          const a = await chainOf(6, two);
          const b = await chainOf(6, two);
          const c = await chainOf(4, two);
          await two.checkpoints.periodic();
          await own.dynamo.doc.send(
            new PutCommand({
              TableName: own.names.audit,
              Item: { ...(await getItem(own, a.chain, 1)), result: { state: 'running' } },
            }),
          );
          await own.dynamo.doc.send(
            new DeleteCommand({ TableName: own.names.audit, Key: { chain: b.chain, seq: 5 } }),
          );

          const report = await two.verify();
          expect(report.ok).toBe(false);
          expect(report.broken.map((x) => [x.chain, x.seq, x.reason])).toEqual(
            byChain([
              [a.chain, 1, 'altered'],
              [b.chain, 5, 'truncated'],
            ]),
          );
          expect(report.chainReports.find((r) => r.chain === c.chain)).toMatchObject({ ok: true, events: 4 });
        } finally {
          own.dynamo.destroy();
        }
      });

      it('a removed event in the middle: a seq gap at the missing event', async () => {
        const { jobId, chain } = await chainOf(6, log);
        await raw.delete(chain, 2);
        expect((await log.verify({ jobId })).broken).toEqual([
          expect.objectContaining({ chain, seq: 2, reason: 'missing' }),
        ]);
      });

      it('two events swapped, or one removed and the rest renumbered: a broken link', async () => {
        const swapped = await chainOf(6, log);
        const [e2, e3] = [await raw.get(swapped.chain, 2), await raw.get(swapped.chain, 3)];
        await raw.put({ ...e3, seq: 2 });
        await raw.put({ ...e2, seq: 3 });
        const broken = (await log.verify({ jobId: swapped.jobId })).broken;
        expect(broken).toEqual([expect.objectContaining({ chain: swapped.chain, seq: 2 })]);
        expect(['altered', 'broken-link']).toContain(broken[0]?.reason);

        const renumbered = await chainOf(5, log);
        const items = await Promise.all([3, 4].map((seq) => raw.get(renumbered.chain, seq)));
        await raw.delete(renumbered.chain, 4);
        for (const item of items) await raw.put({ ...item, seq: (item.seq as number) - 1 });
        expect((await log.verify({ jobId: renumbered.jobId })).broken).toEqual([
          expect.objectContaining({ seq: 2, reason: 'altered' }),
        ]);
      });

      it('checkpoints themselves: an altered one, a missing one, and the newest ones deleted', async () => {
        const own = await freshTables(ctx.server, 'cps');
        try {
          const l = new AuditLog(own.dynamo.doc, own.names.audit, testKeys);
          const cps = [];
          for (let i = 0; i < 5; i++) {
            const { jobId } = await chainOf(2, l);
            cps.push(...(await l.checkpoints.forJob(jobId)));
          }
          const last = cps.at(-1)!;
          await own.dynamo.doc.send(
            new PutCommand({
              TableName: own.names.audit,
              Item: { ...(await getItem(own, CHECKPOINT_CHAIN, 1)), reason: 'periodic' },
            }),
          );
          await own.dynamo.doc.send(
            new DeleteCommand({ TableName: own.names.audit, Key: { chain: CHECKPOINT_CHAIN, seq: 3 } }),
          );
          await own.dynamo.doc.send(
            new DeleteCommand({
              TableName: own.names.audit,
              Key: { chain: CHECKPOINT_CHAIN, seq: last.seq },
            }),
          );
          const report = await l.verify({}, { expectCheckpoint: last.seq });
          const found = report.broken.filter((b) => b.reason === 'checkpoint').map((b) => [b.seq, b.detail]);
          expect(found).toEqual([
            [1, expect.stringContaining('signature does not match')],
            [3, 'checkpoint 3 is gone'],
            [last.seq, expect.stringContaining('newest checkpoints were deleted')],
          ]);
        } finally {
          own.dynamo.destroy();
        }
      });

      it('chains written before keying: vouched for by the adopting checkpoint, and broken if they appear later', async () => {
        const own = await freshTables(ctx.server, 'legacy');
        try {
          const l = new AuditLog(own.dynamo.doc, own.names.audit, testKeys);
          /** An old-format chain: the job id as chain, plain SHA-256, no keyId. */
          const legacy = async (jobId: string) => {
            let prevHash = GENESIS_HASH;
            for (let seq = 0; seq < 3; seq++) {
              const unsigned = {
                chain: jobId,
                seq,
                kind: 'note',
                jobId,
                trigger,
                action: `old-${seq}`,
                at: new Date().toISOString(),
                prevHash,
              };
              const item = { ...unsigned, hash: sha256Canonical(unsigned) };
              await own.dynamo.doc.send(new PutCommand({ TableName: own.names.audit, Item: item }));
              prevHash = item.hash;
            }
          };
          const before = newJobId('legacy');
          await legacy(before);
          const early = await l.verify();
          expect(early.ok).toBe(true);
          expect(early.warnings.map((w) => w.reason).sort()).toEqual(['no-checkpoint', 'predates-keying']);

          await l.checkpoints.periodic(); // adopts it
          // An old-version writer continues it with keyed events: fine.
          await l.append({ kind: 'note', jobId: before, trigger, action: 'new' });
          const after = newJobId('late');
          await legacy(after); // written without the key after keying began

          const report = await l.verify();
          expect(report.broken).toEqual([
            expect.objectContaining({ chain: after, seq: 0, reason: 'unkeyed' }),
          ]);
          expect(report.chainReports.find((r) => r.chain === before)).toMatchObject({
            ok: true,
            keying: 'mixed',
          });

          // Re-hashing the adopted unkeyed events (plain SHA-256 is all they have) is caught by the
          // checkpoint that adopted them, and by the keyed event after them.
          let prevHash = GENESIS_HASH;
          for (const seq of [0, 1, 2]) {
            const { hash: _h, ...unsigned }: Item = {
              ...(await getItem(own, before, seq)),
              prevHash,
              action: 'forged',
            };
            const item = { ...unsigned, hash: sha256Canonical(unsigned) };
            await own.dynamo.doc.send(new PutCommand({ TableName: own.names.audit, Item: item }));
            prevHash = item.hash;
          }
          expect((await l.verify({ jobId: before })).broken).toEqual([
            expect.objectContaining({ chain: before, seq: 2, reason: 'rewritten' }),
          ]);
        } finally {
          own.dynamo.destroy();
        }
      });
    });
  });
}

/** Rows sorted by their first column (a chain name), as verify and checkpoints order chains. */
function byChain<T extends [string, ...unknown[]]>(rows: T[]): T[] {
  return [...rows].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

async function collect(events: AsyncGenerator<Record<string, unknown>>): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of events) out.push(e as unknown as AuditEvent);
  return out;
}

async function getItem(tables: TestTables, chain: string, seq: number): Promise<Item> {
  const { Item } = await tables.dynamo.doc.send(
    new GetCommand({ TableName: tables.names.audit, Key: { chain, seq } }),
  );
  return Item as Item;
}
