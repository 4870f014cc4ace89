import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import {
  LOCAL_ACCOUNT,
  LOCAL_PARTITION,
  type ResolvedStateMachine,
  stateMachineArn,
  walkStates,
} from './asl.ts';
import { InvalidDefinitionError } from './errors.ts';
import type { NestedDefinition } from './hooks.ts';

/**
 * Turns a resolved state machine into what the library runs: validated as synthesized, refused
 * where the library would silently mis-run it, and scaled (waits, retry intervals, timeouts).
 */

export interface StateMachineInfo {
  stateMachineArn: string;
  name: string;
  type: 'STANDARD' | 'EXPRESS';
  /** The definition as synthesized (before any local scaling), JSON text. */
  definition: string;
  roleArn: string;
  creationDate: Date;
}

export interface PreparedMachine {
  source: ResolvedStateMachine;
  info: StateMachineInfo;
  runner: StateMachine;
  /** Original state types, so history shows a rewritten Wait as a Wait. */
  stateTypes: Map<string, string>;
  /** The state definitions the library runs, by name (names are unique across nesting). */
  states: Map<string, Record<string, unknown>>;
  /** Map processors and Parallel branches, as the objects the library runs them from. */
  nested: Map<object, NestedDefinition>;
  waitSeconds: Map<string, number>;
  waitTimestamps: Map<string, string>;
  /** SecondsPath/TimestampPath waits, rewritten into local wait Tasks. */
  pathWaits: Set<string>;
  /** Each Task's TimeoutSeconds as the library runs it (scaled), in ms. */
  taskTimeoutsMs: Map<string, number>;
  /** Each Task's TimeoutSeconds as written in the definition (history shows it). */
  declaredTimeouts: Map<string, number>;
  timeoutMs?: number;
}

export interface PrepareOptions {
  timeScale: number;
  timeoutScale: number;
  /** Throws when a Task has nothing to run it locally. */
  checkBound(sm: ResolvedStateMachine, stateName: string): void;
  /** A Lambda Task without TimeoutSeconds is bounded by its function's Timeout. */
  functionTimeoutSeconds(logicalId: string): number | undefined;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/** Node timers overflow above 2^31-1 ms (~24.8 days) and fire at once: never hand the library more. */
export const MAX_TASK_TIMEOUT_S = Math.floor(MAX_TIMER_MS / 1000);
export const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::fleetflow:localWait';

/** setTimeout without the 24.8-day overflow. */
export function longTimeout(fn: () => void, ms: number): { clear(): void } {
  let handle: NodeJS.Timeout;
  const arm = (left: number) => {
    handle = setTimeout(
      () => (left > MAX_TIMER_MS ? arm(left - MAX_TIMER_MS) : fn()),
      Math.min(left, MAX_TIMER_MS),
    );
  };
  arm(Math.max(0, ms));
  return { clear: () => clearTimeout(handle) };
}

/** Definitions already validated in this process: asl-validator compiles its schemas on every call (~1 s). */
const validated = new Set<string>();

function validateOnce(sm: ResolvedStateMachine): void {
  const key = JSON.stringify(sm.definition);
  if (validated.has(key)) return;
  try {
    // Validate what was synthesized; the scaled copy is run without validation because
    // fractional seconds are not valid ASL.
    new StateMachine(sm.definition, { validationOptions: { checkArn: true, checkPaths: true } });
  } catch (error) {
    throw new InvalidDefinitionError(`state machine ${sm.name} is not valid ASL`, { cause: error });
  }
  validated.add(key);
}

/** What aws-local-stepfunctions would run wrongly without saying so (local-stack-notes §2). */
function refuseUnsupported(sm: ResolvedStateMachine): void {
  const refuse = (what: string) => {
    throw new InvalidDefinitionError(
      `state machine ${sm.name}: ${what} is not supported by the local engine`,
    );
  };
  if ((sm.definition as { QueryLanguage?: unknown }).QueryLanguage === 'JSONata') refuse('JSONata');
  walkStates(sm.definition, (name, state) => {
    if (state.QueryLanguage === 'JSONata') refuse(`JSONata (state ${name})`);
    if ('Assign' in state) refuse(`Assign/Variables (state ${name})`);
    if ('ItemReader' in state || 'ResultWriter' in state)
      refuse(`a distributed Map reader/writer (state ${name})`);
    const processor = state.ItemProcessor as { QueryLanguage?: unknown } | undefined;
    if (processor?.QueryLanguage === 'JSONata') refuse(`JSONata (Map ${name})`);
  });
}

export function prepareMachine(sm: ResolvedStateMachine, options: PrepareOptions): PreparedMachine {
  refuseUnsupported(sm);
  validateOnce(sm);
  const { timeScale, timeoutScale } = options;
  const taskTimeout = (seconds: number): number =>
    // 0 would make the library fall back to its 60 s default.
    Math.min(Math.max(seconds * timeoutScale, 0.001), MAX_TASK_TIMEOUT_S);
  const definition = structuredClone(sm.definition) as StateMachineDefinition & Record<string, unknown>;
  const prepared: Omit<PreparedMachine, 'info' | 'runner'> = {
    source: sm,
    stateTypes: new Map(),
    states: new Map(),
    nested: new Map(),
    waitSeconds: new Map(),
    waitTimestamps: new Map(),
    pathWaits: new Set(),
    taskTimeoutsMs: new Map(),
    declaredTimeouts: new Map(),
  };

  walkStates(definition, (name, state) => {
    prepared.stateTypes.set(name, String(state.Type));
    prepared.states.set(name, state);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (state.Type === 'Map' && typeof processor === 'object' && processor !== null) {
      prepared.nested.set(processor, { state: name, kind: 'map' });
    }
    if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
      state.Branches.forEach((branch: object, i: number) => {
        prepared.nested.set(branch, { state: name, kind: 'parallel', branch: i });
      });
    }
    if (Array.isArray(state.Retry)) {
      for (const retrier of state.Retry as Record<string, unknown>[]) {
        // Scaling the definition (not retryIntervalOverrides, which replaces the computed
        // interval with a constant) keeps BackoffRate, MaxDelaySeconds and full jitter.
        const interval = typeof retrier.IntervalSeconds === 'number' ? retrier.IntervalSeconds : 1;
        retrier.IntervalSeconds = interval * timeScale;
        if (typeof retrier.MaxDelaySeconds === 'number') retrier.MaxDelaySeconds *= timeScale;
      }
    }
    if (state.Type === 'Task') {
      options.checkBound(sm, name);
      const task = sm.tasks[name];
      if (typeof state.TimeoutSeconds === 'number') {
        prepared.declaredTimeouts.set(name, state.TimeoutSeconds);
        state.TimeoutSeconds = taskTimeout(state.TimeoutSeconds);
      } else if (state.TimeoutSecondsPath === undefined) {
        // The library defaults to 60 s; on AWS a Lambda Task is bounded by the function's Timeout.
        const fnTimeout =
          task?.lambda !== undefined ? options.functionTimeoutSeconds(task.lambda) : undefined;
        state.TimeoutSeconds = fnTimeout !== undefined ? taskTimeout(fnTimeout) : MAX_TASK_TIMEOUT_S;
      }
      if (typeof state.TimeoutSeconds === 'number')
        prepared.taskTimeoutsMs.set(name, state.TimeoutSeconds * 1000);
    }
    if (state.Type === 'Wait') {
      if (typeof state.Seconds === 'number') prepared.waitSeconds.set(name, state.Seconds);
      else if (typeof state.Timestamp === 'string') prepared.waitTimestamps.set(name, state.Timestamp);
      else {
        // The library reads SecondsPath/TimestampPath itself and offers no per-input override:
        // turn the Wait into a local Task that evaluates the path (via Parameters) and sleeps,
        // scaled and with its deadline journaled.
        const key = state.SecondsPath !== undefined ? 'seconds.$' : 'timestamp.$';
        const path = state.SecondsPath ?? state.TimestampPath;
        delete state.SecondsPath;
        delete state.TimestampPath;
        Object.assign(state, {
          Type: 'Task',
          Resource: LOCAL_WAIT_RESOURCE,
          Parameters: { [key]: path, 'input.$': '$' },
          TimeoutSeconds: MAX_TASK_TIMEOUT_S,
        });
        prepared.pathWaits.add(name);
      }
    }
  });

  let timeoutMs: number | undefined;
  if (typeof definition.TimeoutSeconds === 'number') {
    // Enforced by the engine (not the library) to scale it and to report TIMED_OUT itself.
    timeoutMs = definition.TimeoutSeconds * 1000 * timeoutScale;
    delete definition.TimeoutSeconds;
  }
  const info: StateMachineInfo = {
    stateMachineArn: stateMachineArn(sm.name),
    name: sm.name,
    type: sm.type,
    definition: JSON.stringify(sm.definition),
    roleArn: sm.roleArn ?? `arn:${LOCAL_PARTITION}:iam::${LOCAL_ACCOUNT}:role/${sm.logicalId}Role`,
    creationDate: new Date(),
  };
  const runner = new StateMachine(definition, { validationOptions: { noValidate: true } });
  return { ...prepared, info, runner, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
}
