import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Frame,
  hookedRunOptions,
  installHooks,
  RunHandle,
  type RunObserver,
} from '../../../local/engine/hooks.ts';

/**
 * What the engine's hooks (local/engine/hooks.ts) rely on inside aws-local-stepfunctions, checked
 * against the installed library so an upgrade that changes any of it fails here first:
 * - every run (execution, Map iteration, Parallel branch) goes through StateMachine.prototype.execute
 *   with its own event logger whose dispatch* methods the hooks replace;
 * - a Task handler is called in the same tick as its StateEntered / StateRetried event;
 * - Map iterations are separate runs of one StateMachine per Map visit, started in item order,
 *   and Parallel branches are runs of the branch objects of the definition;
 * - the error a state fails with reaches the failure event and the Retry/Catch matching as the
 *   same object, which the library asks `isRetryable` / `isCatchable`;
 * - runs the engine did not start keep the library's own event log.
 */

type Call = [string, ...unknown[]];

/** Records what the hooks report; `entered` is the state entered in the current tick only. */
class Recorder implements RunObserver {
  readonly calls: Call[] = [];
  entered?: string;
  frameStarting(frame: Frame, input: unknown) {
    this.calls.push(['starting', frame.path, input]);
  }
  frameFinished() {}
  frameStarted(frame: Frame) {
    this.calls.push(['started', frame.path]);
  }
  frameEnded(frame: Frame, end: { status: string }) {
    this.calls.push(['ended', frame.path, end.status]);
  }
  private mark(state: string) {
    this.entered = state;
    queueMicrotask(() => {
      this.entered = undefined;
    });
  }
  stateEntered(frame: Frame, state: string) {
    this.calls.push(['entered', frame.path, state]);
    this.mark(state);
  }
  stateExited(frame: Frame, state: string) {
    this.calls.push(['exited', frame.path, state]);
  }
  stateFailed(frame: Frame, state: string, error: unknown) {
    this.calls.push(['failed', frame.path, state, error]);
  }
  stateRetried(frame: Frame, state: string) {
    this.calls.push(['retried', frame.path, state]);
    this.mark(state);
  }
  stateCaught(frame: Frame, state: string) {
    this.calls.push(['caught', frame.path, state]);
  }
}

function nestedOf(definition: StateMachineDefinition) {
  const nested = new Map<object, { state: string; kind: 'map' | 'parallel'; branch?: number }>();
  for (const [name, s] of Object.entries(
    definition.States as unknown as Record<string, Record<string, unknown>>,
  )) {
    if (s.Type === 'Map') nested.set((s.ItemProcessor ?? s.Iterator) as object, { state: name, kind: 'map' });
    if (s.Type === 'Parallel') {
      (s.Branches as object[]).forEach((b, i) => {
        nested.set(b, { state: name, kind: 'parallel', branch: i });
      });
    }
  }
  return nested;
}

async function hookedRun(
  definition: StateMachineDefinition,
  input: unknown,
  handlers: Record<string, (input: unknown) => unknown>,
  recorder = new Recorder(),
) {
  const machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
  const run = machine.run(
    input as never,
    hookedRunOptions(
      { overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides: { Flaky: 0 } } },
      new RunHandle(recorder, nestedOf(definition)),
    ),
  );
  const result = await run.result.catch((e: unknown) => e);
  return { recorder, result };
}

const task = (extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f',
  ...extra,
});

beforeAll(() => installHooks());

describe('aws-local-stepfunctions as the engine hooks it', () => {
  it('calls a Task handler in the same tick as StateEntered, and again after StateRetried', async () => {
    const recorder = new Recorder();
    const seen: (string | undefined)[] = [];
    let attempts = 0;
    const definition = {
      StartAt: 'Flaky',
      States: { Flaky: task({ Retry: [{ ErrorEquals: ['Boom'], MaxAttempts: 2 }], End: true }) },
    } as unknown as StateMachineDefinition;
    const { result } = await hookedRun(
      definition,
      {},
      {
        Flaky: () => {
          seen.push(recorder.entered);
          attempts += 1;
          if (attempts < 3) throw Object.assign(new Error('again'), { name: 'Boom' });
          return { ok: true };
        },
      },
      recorder,
    );
    expect(result).toEqual({ ok: true });
    expect(seen).toEqual(['Flaky', 'Flaky', 'Flaky']);
    expect(recorder.calls.map((c) => c[0])).toEqual([
      'started',
      'entered',
      'failed',
      'retried',
      'failed',
      'retried',
      'exited',
      'ended',
    ]);
  });

  it('runs each Map item as its own run, in item order, and Parallel branches as runs of their branch', async () => {
    const definition = {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          MaxConcurrency: 2,
          ItemProcessor: { StartAt: 'Item', States: { Item: task({ End: true }) } },
          Next: 'Both',
        },
        Both: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'Left', States: { Left: { Type: 'Pass', End: true } } },
            { StartAt: 'Right', States: { Right: { Type: 'Pass', End: true } } },
          ],
          End: true,
        },
      },
    } as unknown as StateMachineDefinition;
    const items = [10, 11, 12, 13, 14];
    const { recorder, result } = await hookedRun(definition, items, {
      Item: async (v) => {
        await new Promise((resolve) => setTimeout(resolve, 5 * (15 - Number(v))));
        return v;
      },
    });
    expect(result).toEqual([items, items]);
    const starting = recorder.calls.filter((c) => c[0] === 'starting');
    expect(starting.filter((c) => String(c[1]).startsWith('/Each')).map((c) => [c[1], c[2]])).toEqual(
      items.map((v, i) => [`/Each#1[${i}]`, v]),
    );
    expect(starting.filter((c) => String(c[1]).startsWith('/Both')).map((c) => c[1])).toEqual([
      '/Both#1{0}',
      '/Both#1{1}',
    ]);
    // Each iteration's own states are reported in its own frame.
    expect(recorder.calls).toContainEqual(['entered', '/Each#1[3]', 'Item']);
    expect(recorder.calls).toContainEqual(['entered', '/Both#1{1}', 'Right']);
  });

  it('passes the failing error object through Retry/Catch matching and out of a Map', async () => {
    const asked: string[] = [];
    class Probe extends Error {
      override name = 'Probe';
      get isRetryable() {
        asked.push('retry');
        return false;
      }
      get isCatchable() {
        asked.push('catch');
        return true;
      }
    }
    const probe = new Probe('x');
    const definition = {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemProcessor: { StartAt: 'Item', States: { Item: task({ End: true }) } },
          Retry: [{ ErrorEquals: ['States.ALL'] }],
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Done' }],
          Next: 'Done',
        },
        Done: { Type: 'Pass', End: true },
      },
    } as unknown as StateMachineDefinition;
    const { recorder, result } = await hookedRun(definition, [1], {
      Item: () => {
        throw probe;
      },
    });
    expect(result).toMatchObject({ Error: 'Probe' });
    const failures = recorder.calls.filter((c) => c[0] === 'failed');
    expect(failures.map((c) => [c[1], c[2]])).toEqual([
      ['/Each#1[0]', 'Item'],
      ['', 'Each'],
    ]);
    expect(failures.every((c) => c[3] === probe)).toBe(true);
    expect(asked).toEqual(['retry', 'catch']);
  });

  it('leaves runs it did not start to the library, with their own event log', async () => {
    const machine = new StateMachine(
      { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } as unknown as StateMachineDefinition,
      { validationOptions: { noValidate: true } },
    );
    const run = machine.run({ a: 1 } as never);
    const types: string[] = [];
    for await (const e of run.eventLogs) types.push(e.type);
    expect(await run.result).toEqual({ a: 1 });
    expect(types).toEqual(['ExecutionStarted', 'StateEntered', 'StateExited', 'ExecutionSucceeded']);
  });
});
