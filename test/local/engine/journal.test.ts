import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../functions/log.ts';
import {
  type CfnTemplateJson,
  ExecutionAlreadyExistsError,
  type LocalApp,
  LocalEngine,
  type LocalEngineOptions,
  loadTemplate,
} from '../../../local/engine/index.ts';
import {
  decodeRecords,
  encodeRecord,
  type JournalRecord,
  JournalStore,
} from '../../../local/engine/journal.ts';
import { synthNestedFixture } from './fixtures/nested-stack.ts';
import { synthFixture } from './fixtures/stack.ts';

const quiet = createLogger({}, 'silent');
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'fleetflow-journal-'));
  dirs.push(d);
  return d;
};
let app: LocalApp;

beforeAll(() => {
  app = loadTemplate(synthFixture() as CfnTemplateJson);
}, 240_000);
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const records: JournalRecord[] = [
  {
    t: 'start',
    arn: 'arn:aws:states:us-east-1:123456789012:execution:m:e',
    machine: 'arn:aws:states:us-east-1:123456789012:stateMachine:m',
    name: 'e',
    input: '{"é":"ü"}',
    startDate: 1,
    definition: 'd',
  },
  { t: 'task', key: '/A#1.1', ok: { value: 'ß'.repeat(40) } },
  { t: 'wait', key: '/W#1', until: 2 },
  { t: 'task', key: '/B#1.1', error: { name: 'Boom', cause: 'kaput' } },
];

describe('journal records', () => {
  it('reads back every whole record and ignores a last record torn at any byte', () => {
    const whole = Buffer.from(records.map(encodeRecord).join(''));
    const lastStart = whole.length - Buffer.byteLength(encodeRecord(records.at(-1)!));
    expect(decodeRecords(whole)).toEqual({ records, validBytes: whole.length });
    for (let cut = lastStart; cut < whole.length; cut++) {
      const torn = decodeRecords(whole.subarray(0, cut));
      expect(torn.records).toEqual(records.slice(0, -1));
      expect(torn.validBytes).toBe(lastStart);
    }
  });

  it('stops at a record whose checksum does not match', () => {
    const text = records.map(encodeRecord).join('');
    const second = text.indexOf('\n') + 1;
    const flipped = `${text.slice(0, second + 20)}${text[second + 20] === 'a' ? 'b' : 'a'}${text.slice(second + 21)}`;
    expect(decodeRecords(Buffer.from(flipped)).records).toEqual(records.slice(0, 1));
  });

  it('cuts a torn tail off the file so the next append is read back', async () => {
    const dir = tempDir();
    const store = new JournalStore(dir);
    const journal = await store.create(records[0] as Extract<JournalRecord, { t: 'start' }>);
    await journal.append(records[1]!);
    await journal.close();
    await store.close();
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.journal'));
    appendFileSync(join(dir, file!), '0000abcd {"t":"task","key":"/torn');
    const [loaded] = new JournalStore(dir).load();
    expect(loaded?.tasks.get('/A#1.1')).toEqual(records[1] && { ok: (records[1] as { ok: unknown }).ok });
    await loaded!.append({ t: 'task', key: '/C#1.1', ok: 3 });
    await loaded!.close();
    const [again] = new JournalStore(dir).load();
    expect([...again!.tasks.keys()]).toEqual(['/A#1.1', '/C#1.1']);
  });
});

describe('a journaled engine across restarts', () => {
  const engineOn = (dir: string, options: LocalEngineOptions = {}, source = app) =>
    new LocalEngine(source, { logger: quiet, journalDir: dir, ...options });

  it('answers for closed executions after a restart, prunes old journals and keeps their names taken', async () => {
    const dir = tempDir();
    const first = engineOn(dir, { retainJournals: 1 });
    const names = ['old-1', 'old-2', 'old-3'];
    for (const name of names) {
      const { executionArn } = await first.startExecution({
        stateMachineArn: first.stateMachineArn('guarded'),
        name,
        input: JSON.stringify({ mode: 'nope' }),
      });
      await first.waitForExecution(executionArn);
    }
    await first.close();
    expect(readdirSync(dir).filter((f) => f.endsWith('.journal'))).toHaveLength(1);

    const second = engineOn(dir);
    const recovery = await second.recover();
    expect(recovery).toMatchObject({ resumed: [], interrupted: [] });
    expect(recovery.closed).toHaveLength(1);
    const kept = second.describeExecution(recovery.closed[0]!);
    expect(kept).toMatchObject({ name: 'old-3', status: 'FAILED', error: 'UnknownMode' });
    expect(kept.historyEventCount).toBe(5);
    expect(second.getExecutionHistory(kept.executionArn).map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'ExecutionFailed',
    ]);
    for (const name of names) {
      await expect(
        second.startExecution({ stateMachineArn: second.stateMachineArn('guarded'), name, input: '{}' }),
      ).rejects.toBeInstanceOf(ExecutionAlreadyExistsError);
    }
    await second.close();
  });

  it('resumes an execution cut by close() with its Wait deadline, and interrupts one whose definition changed', async () => {
    const dir = tempDir();
    const first = engineOn(dir);
    const until = new Date(Date.now() + 60 * 60_000).toISOString();
    const waiting = await first.startExecution({
      stateMachineArn: first.stateMachineArn('sleeper'),
      name: 'napping',
      input: JSON.stringify({ until }),
    });
    const polling = await first.startExecution({
      stateMachineArn: first.stateMachineArn('Poller'),
      name: 'polling',
      input: JSON.stringify({ name: 'polling', readyAfter: 1, items: [] }),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await first.close();

    // The same app, except that Poller's first Wait is longer now.
    const changed: LocalApp = {
      ...app,
      stateMachines: app.stateMachines.map((m) =>
        m.name === 'Poller'
          ? {
              ...m,
              definition: {
                ...m.definition,
                States: {
                  ...m.definition.States,
                  InitialWait: { ...m.definition.States.InitialWait, Seconds: 301 },
                },
              } as never,
            }
          : m,
      ),
    };
    const second = engineOn(dir, {}, changed);
    const recovery = await second.recover();
    expect(recovery.resumed).toEqual([waiting.executionArn]);
    expect(recovery.interrupted).toEqual([
      { executionArn: polling.executionArn, reason: 'the definition of Poller changed since it started' },
    ]);
    expect(second.describeExecution(polling.executionArn)).toMatchObject({
      status: 'ABORTED',
      error: 'Local.Interrupted',
    });
    expect(second.describeExecution(waiting.executionArn).status).toBe('RUNNING');
    // The replay reaches the Wait again and waits there.
    const last = () => second.getExecutionHistory(waiting.executionArn).at(-1)?.type;
    for (let i = 0; i < 200 && last() !== 'WaitStateEntered'; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(last()).toBe('WaitStateEntered');
    expect(second.describeExecution(waiting.executionArn).status).toBe('RUNNING');
    await second.close();
    // The file holds the Wait's deadline, written once, in the first life.
    const [journal] = new JournalStore(dir).load().filter((j) => j.start.arn === waiting.executionArn);
    expect([...journal!.waits.values()]).toHaveLength(1);
    expect(journal!.waits.values().next().value).toBeGreaterThan(Date.now() + 59 * 60_000);
  });

  it('close() leaves a parent and its .sync child both resumable, the child not ended', async () => {
    const nested = loadTemplate(synthNestedFixture() as CfnTemplateJson);
    const dir = tempDir();
    const first = engineOn(dir, {}, nested);
    const parent = await first.startExecution({
      stateMachineArn: first.stateMachineArn('parent-waits'),
      name: 'waiting-parent',
      input: '{}',
    });
    const childArns = () =>
      first
        .listExecutions({ stateMachineArn: first.stateMachineArn('child-slow') })
        .map((e) => e.executionArn);
    for (let i = 0; i < 500 && childArns().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const [child] = childArns();
    await first.close();

    const second = engineOn(dir, {}, nested);
    const recovery = await second.recover();
    expect(recovery.resumed.sort()).toEqual([child, parent.executionArn].sort());
    expect(second.describeExecution(child!).status).toBe('RUNNING');
    // Stopping the resumed parent still stops its child: the link survived the restart.
    second.stopExecution(parent.executionArn);
    expect((await second.waitForExecution(child!)).status).toBe('ABORTED');
    await second.close();
  });

  it('keeps nothing on disk without a journal folder', async () => {
    const engine = new LocalEngine(app, { logger: quiet });
    expect(await engine.recover()).toEqual({ resumed: [], interrupted: [], closed: [] });
  });

  it('refuses a name that names.log holds after its journal was pruned', async () => {
    const dir = tempDir();
    const store = new JournalStore(dir);
    store.load();
    writeFileSync(
      join(dir, 'names.log'),
      encodeRecord({ t: 'name', arn: 'arn:aws:states:us-east-1:123456789012:execution:sleeper:gone' }),
    );
    const engine = engineOn(dir);
    await engine.recover();
    await expect(
      engine.startExecution({ stateMachineArn: engine.stateMachineArn('sleeper'), name: 'gone' }),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExistsError);
    expect(readFileSync(join(dir, 'names.log'), 'utf8')).toContain(':gone');
    await engine.close();
  });
});
