import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../functions/log.ts';
import { type CfnTemplateJson, type LocalApp, loadTemplate } from '../../../local/engine/asl.ts';
import { type ExecutionRecord, LocalEngine, type LocalEngineOptions } from '../../../local/engine/engine.ts';
import {
  EngineClosedError,
  ExecutionAlreadyExistsError,
  ExecutionDoesNotExistError,
  HandlerLoadError,
  InvalidDefinitionError,
  InvalidExecutionInputError,
  InvalidNameError,
  StateMachineDoesNotExistError,
  UnboundTaskError,
} from '../../../local/engine/errors.ts';
import { flakyAttempts, itemConcurrency, pollCount } from './fixtures/handlers.ts';
import { synthFixture } from './fixtures/stack.ts';

const quiet = createLogger({}, 'silent');
let app: LocalApp;
let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

// CDK synth takes seconds, far more on a busy shared machine.
beforeAll(() => {
  app = loadTemplate(synthFixture() as CfnTemplateJson);
}, 240_000);

const engineWith = (options: LocalEngineOptions = {}, source: LocalApp = app) =>
  new LocalEngine(source, { logger: quiet, ...options });

async function run(
  engine: LocalEngine,
  machine: string,
  input: unknown,
  name?: string,
): Promise<ExecutionRecord> {
  const { executionArn } = await engine.startExecution({
    stateMachineArn: engine.stateMachineArn(machine),
    input: JSON.stringify(input),
    ...(name !== undefined ? { name } : {}),
  });
  return engine.waitForExecution(executionArn);
}

const output = (r: ExecutionRecord) => JSON.parse(r.output ?? 'null') as Record<string, unknown>;
const logicalIdOf = (exportName: string) =>
  Object.values(app.functions).find((f) => f.exportName === exportName)!.logicalId;

describe('LocalEngine on the fixture machines', () => {
  it('runs Wait → poll → Choice with a 300 s Wait and growing SecondsPath waits, then a Map, scaled', async () => {
    const engine = engineWith({ timeScale: 0.0001 });
    itemConcurrency.max = 0;
    const name = unique('poll');
    const started = Date.now();
    const r = await run(engine, 'Poller', { name, readyAfter: 3, items: [1, 2, 3, 4, 5] }, name);
    const elapsed = Date.now() - started;

    expect(r.status).toBe('SUCCEEDED');
    expect(output(r)).toEqual({
      jobId: `job-${name}`,
      count: 5,
      results: [1, 2, 3, 4, 5].map((v, index) => ({ index, doubled: v * 2 })),
      executionName: name,
      executionId: r.executionArn,
      machineName: 'Poller',
    });
    expect(pollCount(`job-${name}`)).toBe(3);
    // 300 s + 120 s + 240 s of waiting unscaled.
    expect(elapsed).toBeLessThan(10_000);
    expect(itemConcurrency.max).toBeLessThanOrEqual(2);
    expect(itemConcurrency.max).toBeGreaterThanOrEqual(1);

    const history = engine.getExecutionHistory(r.executionArn);
    const waits = history
      .filter((e) => e.type === 'WaitStateEntered')
      .map((e) => (e.stateEnteredEventDetails as { name: string }).name);
    expect(waits).toEqual(['InitialWait', 'GrowingWait', 'GrowingWait']);
    expect(history.filter((e) => e.type === 'MapIterationStarted')).toHaveLength(5);
    expect(history[0]?.type).toBe('ExecutionStarted');
    expect(history.at(-1)?.type).toBe('ExecutionSucceeded');
    expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
  });

  it('honours an unscaled Wait: at timeScale 1 the 300 s Wait is still pending', async () => {
    const engine = engineWith();
    const { executionArn } = await engine.startExecution({
      stateMachineArn: engine.stateMachineArn('Poller'),
      input: JSON.stringify({ name: unique('real'), readyAfter: 1, items: [] }),
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(engine.describeExecution(executionArn).status).toBe('RUNNING');
    expect(engine.getExecutionHistory(executionArn).at(-1)?.type).toBe('WaitStateEntered');
    engine.stopExecution(executionArn);
    expect((await engine.waitForExecution(executionArn)).status).toBe('ABORTED');
  });

  it('retries a custom error name with scaled backoff, then succeeds', async () => {
    const engine = engineWith({ timeScale: 0.001 });
    const key = unique('flaky');
    const started = Date.now();
    const r = await run(engine, 'guarded', { mode: 'flaky', key, failTimes: 2 });
    expect(r.status).toBe('SUCCEEDED');
    expect(output(r)).toEqual({ key, attempts: 3 });
    expect(flakyAttempts(key)).toBe(3);
    // 10 s then 20 s of backoff, scaled to 10 ms + 20 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
    const failed = engine.getExecutionHistory(r.executionArn).filter((e) => e.type === 'TaskFailed');
    expect(failed.map((e) => (e.taskFailedEventDetails as { error: string }).error)).toEqual([
      'TransientError',
      'TransientError',
    ]);
  });

  it('fails the execution with the handler error name once retries are exhausted', async () => {
    const engine = engineWith({ timeScale: 0.001 });
    const key = unique('flaky');
    const r = await run(engine, 'guarded', { mode: 'flaky', key, failTimes: 99 });
    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('TransientError');
    expect(JSON.parse(r.cause ?? '{}')).toMatchObject({
      errorType: 'TransientError',
      errorMessage: 'attempt 4 failed',
    });
    expect(flakyAttempts(key)).toBe(4);
    expect(engine.getExecutionHistory(r.executionArn).at(-1)).toMatchObject({
      type: 'ExecutionFailed',
      executionFailedEventDetails: { error: 'TransientError' },
    });
  });

  it('catches an error by name into a recovery state, with a Lambda-shaped cause', async () => {
    const r = await run(engineWith(), 'guarded', { mode: 'boom' });
    expect(r.status).toBe('SUCCEEDED');
    expect(output(r)).toMatchObject({
      recovered: true,
      error: 'ProviderError',
      cause: { errorType: 'ProviderError', errorMessage: 'kaput' },
    });
  });

  it('times a Task out after its TimeoutSeconds (scaled by timeoutScale) and catches States.Timeout', async () => {
    const engine = engineWith({ timeoutScale: 0.1 });
    const started = Date.now();
    const r = await run(engine, 'guarded', { mode: 'slow', sleepMs: 3000 });
    expect(r.status).toBe('SUCCEEDED');
    expect(output(r)).toEqual({ timedOut: true });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(engine.getExecutionHistory(r.executionArn).some((e) => e.type === 'TaskTimedOut')).toBe(true);
  });

  it("times the execution out after the machine's TimeoutSeconds, scaled by timeoutScale", async () => {
    const engine = engineWith({ timeScale: 0.001, timeoutScale: 0.001 });
    const r = await run(engine, 'sleeper', {});
    expect(r.status).toBe('TIMED_OUT');
    expect(r.error).toBe('States.Timeout');
    expect(r.stopDate!.getTime() - r.startDate.getTime()).toBeLessThan(10_000);
    expect(engine.getExecutionHistory(r.executionArn).at(-1)?.type).toBe('ExecutionTimedOut');
  });

  it('scales a TimestampPath wait', async () => {
    const engine = engineWith({ timeScale: 0.001 });
    const started = Date.now();
    const r = await run(engine, 'sleeper', { until: new Date(Date.now() + 30_000).toISOString() });
    expect(r.status).toBe('SUCCEEDED');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('passes a Lambda context to handlers', async () => {
    const r = await run(engineWith(), 'guarded', { mode: 'whoami' });
    expect(output(r)).toEqual({ functionName: logicalIdOf('whoami'), remainingPositive: true });
  });

  it('fails with the Fail state error and cause', async () => {
    const r = await run(engineWith(), 'guarded', { mode: 'nope' });
    expect(r).toMatchObject({
      status: 'FAILED',
      error: 'UnknownMode',
      cause: 'mode must be flaky, boom, slow or whoami',
    });
  });
});

describe('memory over a long run', () => {
  it('keeps only the newest closed executions, as retainClosedExecutions says', async () => {
    const engine = engineWith({ retainClosedExecutions: 2 });
    const records = [];
    for (let i = 0; i < 3; i++) records.push(await run(engine, 'guarded', { mode: 'nope' }, unique('keep')));
    const [oldest, ...newest] = records.map((r) => r.executionArn);
    expect(() => engine.describeExecution(oldest!)).toThrow(ExecutionDoesNotExistError);
    for (const arn of newest) expect(engine.describeExecution(arn).status).toBe('FAILED');
    expect(engine.knownExecutionArns()).toEqual(newest);
  });
});

describe('StartExecution semantics', () => {
  it('is idempotent by name and input while running, and refuses reuse otherwise', async () => {
    const engine = engineWith();
    const stateMachineArn = engine.stateMachineArn('sleeper');
    const name = unique('idem');
    const first = await engine.startExecution({ stateMachineArn, name, input: '{"a":1}' });
    const again = await engine.startExecution({ stateMachineArn, name, input: '{"a":1}' });
    expect(again).toEqual(first);
    await expect(engine.startExecution({ stateMachineArn, name, input: '{"a":2}' })).rejects.toBeInstanceOf(
      ExecutionAlreadyExistsError,
    );
    engine.stopExecution(first.executionArn);
    await expect(engine.startExecution({ stateMachineArn, name, input: '{"a":1}' })).rejects.toThrow(
      /Already Exists/,
    );
  });

  it('validates names, input and the state machine', async () => {
    const engine = engineWith();
    const stateMachineArn = engine.stateMachineArn('sleeper');
    for (const name of ['', 'a b', 'x'.repeat(81), 'a/b', 'a:b', 'tab\there', 'ctl\u0085']) {
      await expect(engine.startExecution({ stateMachineArn, name })).rejects.toBeInstanceOf(InvalidNameError);
    }
    await expect(engine.startExecution({ stateMachineArn, input: '{nope' })).rejects.toBeInstanceOf(
      InvalidExecutionInputError,
    );
    await expect(
      engine.startExecution({ stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:ghost' }),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExistError);
  });

  it('asks executionNameInUse once per new name, and concurrent starts share one execution', async () => {
    const asked: string[] = [];
    const engine = engineWith({
      executionNameInUse: async (arn) => {
        asked.push(arn);
        await new Promise((resolve) => setTimeout(resolve, 20));
        return arn.endsWith(':used-before');
      },
    });
    const stateMachineArn = engine.stateMachineArn('sleeper');
    await expect(engine.startExecution({ stateMachineArn, name: 'used-before' })).rejects.toBeInstanceOf(
      ExecutionAlreadyExistsError,
    );
    const [a, b] = await Promise.all([
      engine.startExecution({ stateMachineArn, name: 'fresh' }),
      engine.startExecution({ stateMachineArn, name: 'fresh' }),
    ]);
    expect(a).toEqual(b);
    expect(asked.filter((x) => x.endsWith(':fresh'))).toHaveLength(1);
    await engine.close();
  });
});

describe('stop, hooks and close', () => {
  it('stops at once, records the reason and never calls the handler again', async () => {
    const ended: ExecutionRecord[] = [];
    const engine = engineWith({ onExecutionEnd: (r) => void ended.push(r) });
    const key = unique('stop');
    const { executionArn } = await engine.startExecution({
      stateMachineArn: engine.stateMachineArn('guarded'),
      input: JSON.stringify({ mode: 'flaky', key, failTimes: 99 }),
    });
    while (flakyAttempts(key) < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    const { stopDate } = engine.stopExecution(executionArn, { error: 'Operator', cause: 'changed my mind' });
    expect(engine.describeExecution(executionArn)).toMatchObject({
      status: 'ABORTED',
      error: 'Operator',
      stopDate,
    });
    const final = await engine.waitForExecution(executionArn);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The 10 s retry would have run again without the guard: the library's retry sleep ends on abort.
    expect(flakyAttempts(key)).toBe(1);
    expect(final.status).toBe('ABORTED');
    expect(ended.map((r) => [r.executionArn, r.status])).toEqual([[executionArn, 'ABORTED']]);
    expect(engine.getExecutionHistory(executionArn).at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Operator', cause: 'changed my mind' },
    });
  });

  it('reports every ending to onExecutionEnd and knows its executions', async () => {
    const engine = engineWith({ timeScale: 0.001 });
    const seen: string[] = [];
    const off = engine.onExecutionEnd(async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push(`${r.name}:${r.status}`);
    });
    const ok = await run(engine, 'guarded', { mode: 'whoami' }, 'hook-ok');
    const ko = await run(engine, 'guarded', { mode: 'nope' }, 'hook-ko');
    // waitForExecution resolves after the listeners ran.
    expect(seen).toEqual(['hook-ok:SUCCEEDED', 'hook-ko:FAILED']);
    off();
    await run(engine, 'guarded', { mode: 'whoami' }, 'hook-off');
    expect(seen).toHaveLength(2);
    expect(engine.knownExecutionArns()).toEqual(expect.arrayContaining([ok.executionArn, ko.executionArn]));
    expect(engine.listExecutions({ statusFilter: 'FAILED' }).map((r) => r.name)).toEqual(['hook-ko']);
    expect(
      engine.listExecutions({ stateMachineArn: engine.stateMachineArn('guarded') }).map((r) => r.name),
    ).toEqual(['hook-off', 'hook-ko', 'hook-ok']);
  });

  it('close() aborts running executions without notifying and refuses new ones', async () => {
    const seen: string[] = [];
    const engine = engineWith({ onExecutionEnd: (r) => void seen.push(r.status) });
    const { executionArn } = await engine.startExecution({
      stateMachineArn: engine.stateMachineArn('sleeper'),
    });
    await engine.close();
    expect(engine.describeExecution(executionArn)).toMatchObject({
      status: 'ABORTED',
      error: 'Local.EngineClosed',
    });
    expect(seen).toEqual([]);
    await expect(
      engine.startExecution({ stateMachineArn: engine.stateMachineArn('sleeper') }),
    ).rejects.toBeInstanceOf(EngineClosedError);
  });
});

describe('handler binding', () => {
  it('takes handlers from a map by logical id or by entry#export', async () => {
    const byId = engineWith({ handlers: { [logicalIdOf('whoami')]: () => ({ from: 'map' }) } });
    expect(output(await run(byId, 'guarded', { mode: 'whoami' }))).toEqual({ from: 'map' });
    const byEntry = engineWith({
      handlers: { 'test/local/engine/fixtures/handlers.ts#whoami': (e: unknown) => ({ echo: e }) },
    });
    expect(output(await run(byEntry, 'guarded', { mode: 'whoami', x: 1 }))).toEqual({
      echo: { mode: 'whoami', x: 1 },
    });
  });

  it('refuses a Task whose Lambda has no entry, at construction', () => {
    const id = logicalIdOf('recover');
    const { entry: _entry, ...unmarked } = app.functions[id]!;
    const broken: LocalApp = { ...app, functions: { ...app.functions, [id]: unmarked } };
    expect(() => engineWith({}, broken)).toThrow(UnboundTaskError);
    expect(() => engineWith({}, broken)).toThrow(/guarded: Task Recover invokes .* no fleetflow:entry/);
  });

  it('fails a Task with Runtime.ImportModuleError when the entry cannot be imported', async () => {
    const id = logicalIdOf('whoami');
    const moved: LocalApp = {
      ...app,
      functions: {
        ...app.functions,
        [id]: { ...app.functions[id]!, entry: 'test/local/engine/fixtures/missing.ts' },
      },
    };
    const engine = engineWith({}, moved);
    const r = await run(engine, 'guarded', { mode: 'whoami' });
    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('Runtime.ImportModuleError');
    await expect(engine.preloadHandlers()).rejects.toThrow(/cannot load 1 handler\(s\): WhoAmIFn/);
    await expect(engine.preloadHandlers()).rejects.toBeInstanceOf(HandlerLoadError);
  });

  it('preloads every bound handler', async () => {
    await expect(engineWith().preloadHandlers()).resolves.toBeUndefined();
  });

  it('refuses what the library would silently mis-run: JSONata and Variables', () => {
    const machine = (definition: unknown): LocalApp => ({
      functions: {},
      stateMachines: [
        {
          logicalId: 'M',
          name: 'm',
          type: 'STANDARD',
          definition: definition as never,
          lambdaByTask: {},
          tasks: {},
        },
      ],
    });
    const jsonata = {
      QueryLanguage: 'JSONata',
      StartAt: 'P',
      States: { P: { Type: 'Pass', Output: '{% 1 %}', End: true } },
    };
    expect(() => engineWith({}, machine(jsonata))).toThrow(/JSONata is not supported/);
    const assign = { StartAt: 'P', States: { P: { Type: 'Pass', Assign: { x: 1 }, End: true } } };
    expect(() => engineWith({}, machine(assign))).toThrow(InvalidDefinitionError);
  });

  it('binds non-Lambda Tasks only through serviceIntegrations', async () => {
    const template: CfnTemplateJson = {
      Resources: {
        Table: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'jobs' } },
        Recorder: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: {
            DefinitionString: {
              'Fn::Join': [
                '',
                [
                  '{"StartAt":"Put","States":{"Put":{"Type":"Task","Resource":"arn:',
                  { Ref: 'AWS::Partition' },
                  ':states:::dynamodb:putItem","Parameters":{"TableName":"',
                  { Ref: 'Table' },
                  '","Item":{"pk":{"S.$":"$.id"}}},"ResultPath":null,"End":true}}}',
                ],
              ],
            },
          },
        },
      },
    };
    const recorder = loadTemplate(template);
    expect(() => engineWith({}, recorder)).toThrow(/pass a serviceIntegrations handler/);
    const puts: unknown[] = [];
    const engine = engineWith(
      { serviceIntegrations: { 'arn:aws:states:::dynamodb:putItem': (p) => void puts.push(p) } },
      recorder,
    );
    const r = await run(engine, 'Recorder', { id: 'j-1' });
    expect(r.status).toBe('SUCCEEDED');
    expect(puts).toEqual([{ TableName: 'jobs', Item: { pk: { S: 'j-1' } } }]);
  });
});
