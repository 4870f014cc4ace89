import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { LibraryChangedError } from './errors.ts';

/**
 * The one place the engine reaches inside aws-local-stepfunctions, which offers no hooks for
 * history, quotas or durability. Every run of the library — an execution, a Map iteration, a
 * Parallel branch — goes through `StateMachine.prototype.execute(input, options, cleanup)` with
 * its own event logger in `options.eventLogger`. Wrapping that method (the class is exported) and
 * replacing the logger's `dispatch*` methods on that run's logger instance gives the engine each
 * state's enter/exit/failure synchronously, in order, with the error object and the run
 * ("frame") it happened in — which the library's own asynchronous event log cannot. Runs the
 * engine did not start are left untouched. test/local/engine/library.test.ts fails if the
 * library changes any of this.
 */

/** Which Map or Parallel state (and iteration or branch) a nested run belongs to. */
export interface FrameOwner {
  state: string;
  kind: 'map' | 'parallel';
  /** Map: iteration index; Parallel: branch index. */
  index: number;
  /** The owner state's visit count in the parent frame (a Map in a loop runs more than once). */
  visit: number;
}

/** A nested definition (ItemProcessor/Iterator or a branch) → the state that runs it. */
export interface NestedDefinition {
  state: string;
  kind: 'map' | 'parallel';
  branch?: number;
}

export type FrameEnd =
  | { status: 'succeeded'; output: unknown }
  | { status: 'failed'; error: unknown }
  | { status: 'aborted' };

/** What an execution learns from its runs, synchronously and in order. */
export interface RunObserver {
  /** Before a nested run starts (may wait, e.g. for a Map concurrency slot, or throw to fail it). */
  frameStarting(frame: Frame, input: unknown): Promise<void> | void;
  /** After a nested run's execute returned (or never started), whatever its outcome. */
  frameFinished(frame: Frame): void;
  frameStarted(frame: Frame, input: unknown): void;
  frameEnded(frame: Frame, end: FrameEnd): void;
  stateEntered(frame: Frame, state: string, input: unknown): void;
  /** May throw: the run then fails with that error (the state's own Catch does not see it). */
  stateExited(frame: Frame, state: string, output: unknown): void;
  stateFailed(frame: Frame, state: string, error: unknown): void;
  stateRetried(frame: Frame, state: string): void;
  stateCaught(frame: Frame, state: string): void;
}

/** One run of the library inside an execution: the root, a Map iteration or a Parallel branch. */
export class Frame {
  /** Visits per state in this frame (a state in a loop is entered more than once). */
  readonly visits = new Map<string, number>();
  /** Attempts of the state being run (1, then one more per Retry). */
  attempt = 0;
  started = false;
  closed = false;
  /** The state that failed last and whether a Catch took it (so a caught Map is not "succeeded"). */
  failed?: string;
  caught?: string;
  /** The last state output and its JSON text (the next state's input: measured once). */
  lastOutput?: { value: unknown; text: string };
  /** Map concurrency caps of the Map states running in this frame, by state and visit. */
  readonly mapSlots = new Map<string, unknown>();
  /** Iterations started per nested StateMachine instance (one instance per Map visit). */
  readonly iterations = new WeakMap<object, number>();

  constructor(
    readonly run: RunHandle,
    /** Deterministic across runs of the same execution: `''`, `/Map#1[3]`, `/Map#1[3]/Par#2{0}`. */
    readonly path: string,
    readonly parent?: Frame,
    readonly owner?: FrameOwner,
  ) {}

  enter(state: string): number {
    const visit = (this.visits.get(state) ?? 0) + 1;
    this.visits.set(state, visit);
    this.attempt = 1;
    this.failed = undefined;
    this.caught = undefined;
    return visit;
  }
}

/** The engine's handle on one execution's runs; passed to the library in `runOptions`. */
export class RunHandle {
  root?: Frame;
  constructor(
    readonly observer: RunObserver,
    private readonly nested: ReadonlyMap<object, NestedDefinition>,
  ) {}

  frameFor(from: RunHandle | Frame, machine: object, definition: object): Frame {
    if (from instanceof RunHandle) {
      if (this.root) throw new LibraryChangedError('a second root run for one execution');
      this.root = new Frame(this, '');
      return this.root;
    }
    const nested = this.nested.get(definition);
    if (!nested)
      throw new LibraryChangedError('a nested run of a definition that is no Map/Parallel of this machine');
    const visit = from.visits.get(nested.state) ?? 0;
    let index: number;
    if (nested.kind === 'map') {
      // p-limit starts iterations in item order, each with run() on the Map visit's one instance.
      index = from.iterations.get(machine) ?? 0;
      from.iterations.set(machine, index + 1);
    } else {
      index = nested.branch ?? 0;
    }
    const step = nested.kind === 'map' ? `[${index}]` : `{${index}}`;
    return new Frame(this, `${from.path}/${nested.state}#${visit}${step}`, from, {
      state: nested.state,
      kind: nested.kind,
      index,
      visit,
    });
  }
}

const FRAME = Symbol.for('fleetflow.local-engine.frame');

/** runOptions for `StateMachine.run` that put the run under the engine's hooks. */
export function hookedRunOptions<T extends object>(options: T, handle: RunHandle): T {
  return Object.assign(options, { [FRAME]: handle });
}

type Logger = Record<string, unknown> & { close(): void };
interface ExecuteOptions {
  runOptions?: Record<PropertyKey, unknown>;
  abortSignal: AbortSignal;
  eventLogger: Logger;
}
type Execute = (
  this: StateMachine,
  input: unknown,
  options: ExecuteOptions,
  cleanup: () => void,
) => Promise<unknown>;

const LOGGER_METHODS = [
  'dispatch',
  'close',
  'forwardNestedMapEvent',
  'forwardNestedParallelEvent',
  'dispatchExecutionStartedEvent',
  'dispatchExecutionSucceededEvent',
  'dispatchExecutionFailedEvent',
  'dispatchExecutionAbortedEvent',
  'dispatchExecutionTimeoutEvent',
  'dispatchStateEnteredEvent',
  'dispatchStateExitedEvent',
  'dispatchStateFailedEvent',
  'dispatchStateRetriedEvent',
  'dispatchStateCaughtEvent',
] as const;

/** Routes one run's logger straight to the observer; nothing is queued or forwarded any more. */
function hookLogger(logger: Logger, frame: Frame): void {
  for (const m of LOGGER_METHODS) {
    if (typeof logger?.[m] !== 'function')
      throw new LibraryChangedError(`the run's event logger has no ${m}()`);
  }
  const o = frame.run.observer;
  const end = (e: FrameEnd) => {
    o.frameEnded(frame, e);
    logger.close();
  };
  Object.assign(logger, {
    dispatch: () => undefined,
    forwardNestedMapEvent: () => undefined,
    forwardNestedParallelEvent: () => undefined,
    dispatchExecutionStartedEvent: (input: unknown) => {
      frame.started = true;
      o.frameStarted(frame, input);
    },
    dispatchExecutionSucceededEvent: (output: unknown) => end({ status: 'succeeded', output }),
    dispatchExecutionFailedEvent: (error: unknown) => end({ status: 'failed', error }),
    dispatchExecutionAbortedEvent: () => end({ status: 'aborted' }),
    dispatchExecutionTimeoutEvent: () => end({ status: 'aborted' }),
    dispatchStateEnteredEvent: (name: string, _type: string, input: unknown) => {
      frame.enter(name);
      o.stateEntered(frame, name, input);
    },
    dispatchStateExitedEvent: (name: string, _type: string, _input: unknown, output: unknown) =>
      o.stateExited(frame, name, output),
    dispatchStateFailedEvent: (name: string, _type: string, _input: unknown, error: unknown) => {
      frame.failed = name;
      o.stateFailed(frame, name, error);
    },
    dispatchStateRetriedEvent: (name: string) => {
      frame.attempt += 1;
      frame.failed = undefined;
      o.stateRetried(frame, name);
    },
    dispatchStateCaughtEvent: (name: string) => {
      frame.caught = name;
      o.stateCaught(frame, name);
    },
  });
}

async function runFrame(
  frame: Frame,
  input: unknown,
  options: ExecuteOptions,
  cleanup: () => void,
  execute: () => Promise<unknown>,
): Promise<unknown> {
  if (!frame.parent) return execute();
  const observer = frame.run.observer;
  try {
    try {
      await observer.frameStarting(frame, input);
    } catch (error) {
      // Fail the run the way the library fails one: started, failed, cleaned up, ExecutionError.
      (options.eventLogger.dispatchExecutionStartedEvent as (i: unknown) => void)(input);
      (options.eventLogger.dispatchExecutionFailedEvent as (e: unknown) => void)(error);
      cleanup();
      throw new ExecutionError(error as never);
    }
    if (options.abortSignal.aborted) {
      // Cut short while waiting for its turn: the library already settled the run as aborted.
      cleanup();
      return null;
    }
    return await execute();
  } finally {
    observer.frameFinished(frame);
  }
}

let installed = false;

/** Installs the hook once per process; runs started without `hookedRunOptions` are unaffected. */
export function installHooks(): void {
  if (installed) return;
  const proto = StateMachine.prototype as unknown as { execute?: Execute };
  const original = proto.execute;
  if (typeof original !== 'function') {
    throw new LibraryChangedError('StateMachine.prototype.execute is gone');
  }
  proto.execute = function (this: StateMachine, input, options, cleanup) {
    const holder = options?.runOptions;
    const from = holder?.[FRAME] as RunHandle | Frame | undefined;
    if (from === undefined) return original.call(this, input, options, cleanup);
    const run = from instanceof RunHandle ? from : from.run;
    const definition = (this as unknown as { definition: object }).definition;
    const frame = run.frameFor(from, this, definition);
    // runOptions is this run's own copy: nested runs copy it again and find their parent here.
    (holder as Record<PropertyKey, unknown>)[FRAME] = frame;
    hookLogger(options.eventLogger, frame);
    return runFrame(frame, input, options, cleanup, () => original.call(this, input, options, cleanup));
  };
  installed = true;
}
