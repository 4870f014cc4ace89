import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../functions/log.ts';
import {
  type CfnTemplateJson,
  type ExecutionRecord,
  InvalidExecutionInputError,
  type LocalApp,
  LocalEngine,
  loadTemplate,
  MAX_HISTORY_EVENTS,
  MAX_PAYLOAD_BYTES,
} from '../../../local/engine/index.ts';
import { callCount, mapConcurrency } from './fixtures/handlers.ts';
import { synthQuotaFixture } from './fixtures/quota-stack.ts';

/**
 * Step Functions' quotas on the local engine, as AWS documents them:
 * - 262,144 bytes (UTF-8) per state input/output, Task parameters/result, execution input:
 *   https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
 * - States.DataLimitExceeded is "a terminal error that can't be caught by the States.ALL error
 *   type"; a catcher that names it catches it:
 *   https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 * - 25,000 history events; the 25,000th may only be ExecutionSucceeded, otherwise ExecutionFailed:
 *   https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html
 * - an inline Map runs at most 40 iterations concurrently:
 *   https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
 */

const quiet = createLogger({}, 'silent');
let app: LocalApp;
let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;
/** A string whose JSON doubles to just over the quota once a state copies it twice. */
const blob = 'x'.repeat(MAX_PAYLOAD_BYTES / 2 + 10);

beforeAll(() => {
  app = loadTemplate(synthQuotaFixture() as CfnTemplateJson);
}, 240_000);

const engineWith = () => new LocalEngine(app, { logger: quiet, timeScale: 0.001 });

async function run(engine: LocalEngine, machine: string, input: unknown): Promise<ExecutionRecord> {
  const { executionArn } = await engine.startExecution({
    stateMachineArn: engine.stateMachineArn(machine),
    input: JSON.stringify(input),
  });
  return engine.waitForExecution(executionArn);
}
const types = (engine: LocalEngine, r: ExecutionRecord) =>
  engine.getExecutionHistory(r.executionArn).map((e) => e.type);

describe('payloads over 262,144 bytes: States.DataLimitExceeded', () => {
  it('a Pass whose output is over the quota fails the execution', async () => {
    const engine = engineWith();
    const r = await run(engine, 'pass-alone', { blob });
    expect(r).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(r.cause).toMatch(/DoubleAlone/);
    expect(types(engine, r)).toEqual(['ExecutionStarted', 'PassStateEntered', 'ExecutionFailed']);
  });

  it('is caught by a catcher that names it, and not by States.ALL', async () => {
    const engine = engineWith();
    const byName = await run(engine, 'pass-caught', { blob });
    expect(byName.status).toBe('SUCCEEDED');
    expect(JSON.parse(byName.output ?? '{}')).toEqual({ recovered: true });
    expect(types(engine, byName)).toContain('ParallelStateFailed');

    const byAll = await run(engine, 'pass-wildcard', { blob });
    expect(byAll).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
  });

  it('a Task result over the quota is caught by name; States.ALL neither retries nor catches it', async () => {
    const engine = engineWith();
    const key = unique('big');
    const byName = await run(engine, 'task-caught', { key, bytes: MAX_PAYLOAD_BYTES });
    expect(byName.status).toBe('SUCCEEDED');
    const failed = engine.getExecutionHistory(byName.executionArn).find((e) => e.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails).toMatchObject({ error: 'States.DataLimitExceeded' });

    const other = unique('big');
    const byAll = await run(engine, 'task-wildcard', { key: other, bytes: MAX_PAYLOAD_BYTES });
    expect(byAll).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(callCount(other)).toBe(1);
  });

  it('a result just under the quota passes', async () => {
    const engine = engineWith();
    // The Lambda envelope and the JSON quoting add a little; stay clear of the limit by 1 KiB.
    const r = await run(engine, 'task-wildcard', { key: unique('fits'), bytes: MAX_PAYLOAD_BYTES - 1024 });
    expect(r.status).toBe('SUCCEEDED');
    expect(r.maxPayloadBytes).toBeGreaterThan(MAX_PAYLOAD_BYTES - 1024);
    expect(r.maxPayloadBytes).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
  });

  it('Task parameters over the quota fail before the Task is scheduled: the Lambda never runs', async () => {
    const engine = engineWith();
    const key = unique('params');
    const r = await run(engine, 'task-parameters', { key, blob });
    expect(r.status).toBe('SUCCEEDED');
    expect(callCount(key)).toBe(0);
    expect(types(engine, r)).not.toContain('TaskScheduled');
  });

  it('a Map ItemSelector output over the quota fails the iteration, caught by the Map by name', async () => {
    const engine = engineWith();
    const r = await run(engine, 'map-selector', { blob, items: [1, 2] });
    expect(r.status).toBe('SUCCEEDED');
    expect(JSON.parse(r.output ?? '{}')).toEqual({ recovered: true });
    const t = types(engine, r);
    expect(t).toContain('MapIterationFailed');
    expect(t).toContain('MapStateFailed');
  });

  it('an execution input over the quota is refused by StartExecution', async () => {
    const engine = engineWith();
    const tooBig = JSON.stringify({ blob: 'x'.repeat(MAX_PAYLOAD_BYTES) });
    await expect(
      engine.startExecution({ stateMachineArn: engine.stateMachineArn('loop'), input: tooBig }),
    ).rejects.toBeInstanceOf(InvalidExecutionInputError);
    // Multi-byte characters count as UTF-8 bytes, not characters.
    const wide = JSON.stringify({ s: 'é'.repeat(MAX_PAYLOAD_BYTES / 2) });
    expect(wide.length).toBeLessThan(MAX_PAYLOAD_BYTES);
    await expect(
      engine.startExecution({ stateMachineArn: engine.stateMachineArn('loop'), input: wide }),
    ).rejects.toBeInstanceOf(InvalidExecutionInputError);
  });
});

describe('history quota: 25,000 events', () => {
  // 1 ExecutionStarted + 4 per round (Pass and Choice, entered and exited) + 2 Succeed + 1 ExecutionSucceeded.
  const eventsFor = (rounds: number) => 4 * rounds + 4;

  it('succeeds when ExecutionSucceeded is the 25,000th event', async () => {
    const engine = engineWith();
    const rounds = (MAX_HISTORY_EVENTS - 4) / 4;
    expect(eventsFor(rounds)).toBe(MAX_HISTORY_EVENTS);
    const r = await run(engine, 'loop', { i: 0, n: rounds });
    expect(r.status).toBe('SUCCEEDED');
    expect(r.historyEventCount).toBe(MAX_HISTORY_EVENTS);
    expect(engine.getExecutionHistory(r.executionArn).at(-1)?.type).toBe('ExecutionSucceeded');
  });

  it('fails with ExecutionFailed as the 25,000th event when the execution would go on', async () => {
    const engine = engineWith();
    const r = await run(engine, 'loop', { i: 0, n: (MAX_HISTORY_EVENTS - 4) / 4 + 1 });
    expect(r).toMatchObject({
      status: 'FAILED',
      error: 'States.Runtime',
      cause: 'The execution reached the maximum number of history events (25000).',
    });
    const history = engine.getExecutionHistory(r.executionArn);
    expect(history).toHaveLength(MAX_HISTORY_EVENTS);
    expect(history.at(-1)).toMatchObject({ id: MAX_HISTORY_EVENTS, type: 'ExecutionFailed' });
    expect(r.historyEventCount).toBe(MAX_HISTORY_EVENTS);
  });
});

describe('inline Map concurrency', () => {
  it.each([
    ['map-wide', 'MaxConcurrency 100'],
    ['map-unlimited', 'MaxConcurrency 0'],
  ])('%s (%s) runs at most 40 iterations at once', async (machine) => {
    const engine = engineWith();
    mapConcurrency.max = 0;
    const items = Array.from({ length: 90 }, (_, i) => i);
    const r = await run(engine, machine, { items });
    expect(r.cause).toBeUndefined();
    expect(r.status).toBe('SUCCEEDED');
    expect(JSON.parse(r.output ?? '[]')).toEqual(items);
    expect(mapConcurrency.max).toBe(40);
  });
});
