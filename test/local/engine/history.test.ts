import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../functions/log.ts';
import {
  type CfnTemplateJson,
  type ExecutionRecord,
  type HistoryEvent,
  LocalEngine,
  loadTemplate,
} from '../../../local/engine/index.ts';
import { synthQuotaFixture } from './fixtures/quota-stack.ts';
import { synthFixture } from './fixtures/stack.ts';

/**
 * The history the engine writes, in AWS's event types (API reference "HistoryEvent":
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html), one event
 * per step as AWS writes them, so an execution's count is the count the 25,000-event quota sees.
 */

const quiet = createLogger({}, 'silent');
let engine: LocalEngine;

beforeAll(() => {
  const fixture = loadTemplate(synthFixture() as CfnTemplateJson);
  const quota = loadTemplate(synthQuotaFixture() as CfnTemplateJson);
  engine = new LocalEngine(
    {
      stateMachines: [...fixture.stateMachines, ...quota.stateMachines],
      functions: { ...fixture.functions, ...quota.functions },
    },
    { logger: quiet, timeScale: 0.0001, timeoutScale: 0.1 },
  );
}, 240_000);

async function history(machine: string, input: unknown): Promise<[ExecutionRecord, HistoryEvent[]]> {
  const { executionArn } = await engine.startExecution({
    stateMachineArn: engine.stateMachineArn(machine),
    input: JSON.stringify(input),
  });
  const r = await engine.waitForExecution(executionArn);
  return [r, engine.getExecutionHistory(executionArn)];
}
const types = (events: HistoryEvent[]) => events.map((e) => e.type);
const enterChoice = ['ChoiceStateEntered', 'ChoiceStateExited'];

describe('history events per state', () => {
  it('lambda:invoke Task: Entered, Scheduled, Started, Succeeded, Exited', async () => {
    const [r, events] = await history('guarded', { mode: 'flaky', key: `h-${process.pid}-1`, failTimes: 0 });
    expect(types(events)).toEqual([
      'ExecutionStarted',
      ...enterChoice,
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    expect(r.historyEventCount).toBe(events.length);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    const scheduled = events.find((e) => e.type === 'TaskScheduled')!;
    expect(scheduled.taskScheduledEventDetails).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
      region: 'us-east-1',
    });
    expect(
      JSON.parse((scheduled.taskScheduledEventDetails as { parameters: string }).parameters),
    ).toMatchObject({
      FunctionName: expect.stringContaining('FlakyFn'),
    });
  });

  it('each retry adds Scheduled, Started and Failed', async () => {
    const [, events] = await history('guarded', { mode: 'flaky', key: `h-${process.pid}-2`, failTimes: 2 });
    expect(types(events).slice(4, -2)).toEqual([
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
    ]);
  });

  it('a caught failure writes Failed then Exited; a Lambda by ARN writes LambdaFunction* events', async () => {
    const [, events] = await history('guarded', { mode: 'boom' });
    expect(types(events)).toEqual([
      'ExecutionStarted',
      ...enterChoice,
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'TaskStateExited',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('a Task timeout writes TimedOut; a Fail state enters and ends the execution', async () => {
    const [, slow] = await history('guarded', { mode: 'slow', sleepMs: 3000 });
    expect(types(slow)).toContain('TaskTimedOut');
    expect(slow.find((e) => e.type === 'TaskTimedOut')?.taskTimedOutEventDetails).toMatchObject({
      error: 'States.Timeout',
    });
    const [, fail] = await history('guarded', { mode: 'nope' });
    expect(types(fail)).toEqual(['ExecutionStarted', ...enterChoice, 'FailStateEntered', 'ExecutionFailed']);
  });

  it('Map: Entered, Started {length}, 2 events around each iteration, Succeeded, Exited', async () => {
    const [, events] = await history('map-wide', { items: [1, 2, 3] });
    const t = types(events);
    expect(t.slice(0, 3)).toEqual(['ExecutionStarted', 'MapStateEntered', 'MapStateStarted']);
    expect(events[2]?.mapStateStartedEventDetails).toEqual({ length: 3 });
    expect(t.filter((x) => x === 'MapIterationStarted')).toHaveLength(3);
    expect(t.filter((x) => x === 'MapIterationSucceeded')).toHaveLength(3);
    // Each iteration: its two iteration events and a 5-event Task (entered, 3 task events, exited).
    expect(t).toHaveLength(1 + 4 + 3 * (2 + 5) + 1);
    expect(t.slice(-3)).toEqual(['MapStateSucceeded', 'MapStateExited', 'ExecutionSucceeded']);
  });

  it('Parallel: Entered, Started, branch events, then Failed when a branch fails (and Exited once caught)', async () => {
    const [, events] = await history('pass-caught', { blob: 'x'.repeat(140_000) });
    expect(types(events)).toEqual([
      'ExecutionStarted',
      'ParallelStateEntered',
      'ParallelStateStarted',
      'PassStateEntered',
      'ParallelStateFailed',
      'ParallelStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
  });
});
