import { LOCAL_REGION, type TaskInfo } from './asl.ts';
import { LocalRuntimeError } from './errors.ts';
import { History, type HistoryEvent, payload, type TaskEvents, taskEvents } from './history.ts';
import type { Frame, FrameEnd, RunObserver } from './hooks.ts';
import type { PreparedMachine } from './prepare.ts';
import {
  DataLimitExceededError,
  dataLimitExceeded,
  HISTORY_LIMIT_FAILURE,
  MAX_INLINE_MAP_CONCURRENCY,
  MAX_PAYLOAD_BYTES,
  Slots,
  utf8Bytes,
} from './quotas.ts';

/**
 * One execution: its record, its history and the Task attempts in flight. It observes every run
 * of the library inside the execution (root, Map iterations, Parallel branches) through the hooks
 * and turns what happens into AWS history events, quota checks and Task attempts with
 * deterministic keys (frame path + state + visit + attempt).
 */

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One execution, as DescribeExecution shows it. `input`/`output` are JSON text, as on AWS. */
export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  /** Events in its history so far, counted as the 25,000-event quota counts them. */
  historyEventCount: number;
  /** The largest state input/output, Task parameters or result seen (UTF-8 bytes of its JSON). */
  maxPayloadBytes: number;
}

export interface Outcome {
  status: Exclude<ExecutionStatus, 'RUNNING'>;
  output?: string;
  error?: string;
  cause?: string;
}

/** One attempt of a Task state; `key` is the same on every run of the same execution. */
export interface Attempt {
  frame: Frame;
  state: string;
  visit: number;
  number: number;
  key: string;
  /** Until the attempt's outcome is written (by its work, or by the library's timeout). */
  open: boolean;
}

export interface TaskCall {
  state: string;
  task: TaskInfo;
  params: unknown;
  attempt: Attempt;
  /** For `.sync` work: the submission succeeded (writes TaskSubmitted). */
  submitted(output: unknown): void;
}

/** What an execution needs from the engine. */
export interface ExecutionHost {
  settle(exec: Execution, outcome: Outcome): void;
  work(exec: Execution, call: TaskCall): Promise<unknown>;
}

const jsonText = (value: unknown): string => (value === undefined ? 'null' : JSON.stringify(value));

function errorParts(error: unknown): { error: string; cause: string } {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return { error: error.name, cause: typeof cause === 'string' ? cause : error.message };
  }
  return { error: 'Error', cause: String(error) };
}

/** Evaluates a reference path (`$`, `.name`, `['name']`, `[n]`) — enough for InputPath/ItemsPath. */
function referencePath(value: unknown, path: unknown): unknown {
  if (path === undefined) return value;
  if (typeof path !== 'string' || !path.startsWith('$')) return undefined;
  let current = value;
  const step = /\.([A-Za-z_$][\w$-]*)|\['([^']*)'\]|\[(\d+)\]/gy;
  step.lastIndex = 1;
  while (step.lastIndex < path.length) {
    const m = step.exec(path);
    if (!m) return undefined;
    const key = m[1] ?? m[2] ?? Number(m[3]);
    current =
      current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[key] : undefined;
  }
  return current;
}

export class Execution implements RunObserver {
  readonly history: History;
  readonly stop = new AbortController();
  /** Running children started by this execution's `.sync` Tasks: they stop when it ends, as on AWS. */
  readonly children = new Set<Execution>();
  readonly finished: Promise<ExecutionRecord>;
  /** Whether onExecutionEnd listeners hear of its end (not when cut by close()). */
  notify = true;
  maxPayloadBytes = 0;
  abortRun?: () => void;
  timer?: { clear(): void };
  private resolveFinished!: (r: ExecutionRecord) => void;
  /** The Task attempt the library is about to hand to its handler (same tick as StateEntered/Retried). */
  private pending?: Attempt;
  private readonly openAttempts = new WeakMap<Frame, Attempt>();
  private readonly slotsHeld = new WeakMap<Frame, Slots>();
  private readonly eventsByState = new Map<string, TaskEvents>();

  constructor(
    private readonly host: ExecutionHost,
    readonly record: Omit<ExecutionRecord, 'historyEventCount' | 'maxPayloadBytes'>,
    readonly machine: PreparedMachine,
  ) {
    this.history = new History(() => host.settle(this, { status: 'FAILED', ...HISTORY_LIMIT_FAILURE }));
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
  }

  get running(): boolean {
    return this.record.status === 'RUNNING';
  }

  snapshot(): ExecutionRecord {
    const r = this.record;
    return {
      ...r,
      startDate: new Date(r.startDate),
      ...(r.stopDate ? { stopDate: new Date(r.stopDate) } : {}),
      historyEventCount: this.history.count,
      maxPayloadBytes: this.maxPayloadBytes,
    };
  }

  events(): HistoryEvent[] {
    return this.history.events();
  }

  /** Resolves `finished` (after the engine ran its listeners). */
  markFinished(): void {
    this.resolveFinished(this.snapshot());
  }

  // ---- Tasks -----------------------------------------------------------------------------------

  /**
   * Runs a Task's work as one attempt: checks its parameters and result against the payload
   * quota and writes its Scheduled/Started/(Submitted)/Succeeded|Failed events.
   */
  async runTask(state: string, task: TaskInfo, params: unknown): Promise<unknown> {
    const attempt = this.take(state);
    this.openAttempts.set(attempt.frame, attempt);
    const events = this.taskEvents(state, task);
    const p = this.measure(params);
    if (p.bytes > MAX_PAYLOAD_BYTES) {
      attempt.open = false;
      throw dataLimitExceeded(state, 'parameters');
    }
    const declared = this.machine.declaredTimeouts.get(state);
    this.write(attempt, events.scheduled(p.text, declared));
    this.write(attempt, events.started());
    let result: unknown;
    try {
      result = await this.host.work(this, {
        state,
        task,
        params,
        attempt,
        submitted: (output) => this.write(attempt, events.submitted(jsonText(output))),
      });
    } catch (error) {
      this.close(attempt, events.failed, error);
      throw error;
    }
    const r = this.measure(result);
    if (r.bytes > MAX_PAYLOAD_BYTES) {
      const error = dataLimitExceeded(state, 'result');
      this.close(attempt, events.failed, error);
      throw error;
    }
    if (attempt.open) {
      this.write(attempt, events.succeeded(r.text));
      attempt.open = false;
    }
    return result;
  }

  /**
   * The attempt the library is running: it calls a Task's handler synchronously right after
   * entering (or retrying) the state, so the attempt noted then is this call's.
   */
  take(state: string): Attempt {
    const attempt = this.pending;
    this.pending = undefined;
    if (!attempt || attempt.state !== state) {
      throw new LocalRuntimeError(
        'States.Runtime',
        `Task ${state} ran without the engine seeing it entered: aws-local-stepfunctions changed how it calls Task handlers`,
      );
    }
    if (!this.running || attempt.frame.closed) {
      // The library keeps retrying a failed Task after an abort (its retry sleep returns at
      // once): never run work for a stopped execution or a cut-short iteration.
      throw new LocalRuntimeError('States.Runtime', 'the execution was stopped');
    }
    return attempt;
  }

  private taskEvents(state: string, task: TaskInfo): TaskEvents {
    let events = this.eventsByState.get(state);
    if (!events) {
      events = taskEvents(task, LOCAL_REGION);
      this.eventsByState.set(state, events);
    }
    return events;
  }

  private write(attempt: Attempt, [type, details]: [string, Record<string, unknown>]): void {
    if (attempt.open && this.live(attempt.frame)) this.history.push(type, details);
  }

  private close(
    attempt: Attempt,
    event: (error: string, cause: string) => [string, Record<string, unknown>],
    error: unknown,
  ): void {
    if (!attempt.open) return;
    const { error: name, cause } = errorParts(error);
    this.write(attempt, event(name, cause));
    attempt.open = false;
  }

  // ---- the library's runs (hooks.RunObserver) -----------------------------------------------

  async frameStarting(frame: Frame, input: unknown): Promise<void> {
    const owner = frame.owner;
    if (owner?.kind !== 'map' || !frame.parent) return;
    // An inline Map runs at most 40 iterations at once, whatever its MaxConcurrency says.
    const key = `${owner.state}#${owner.visit}`;
    let slots = frame.parent.mapSlots.get(key) as Slots | undefined;
    if (!slots) {
      slots = new Slots(MAX_INLINE_MAP_CONCURRENCY);
      frame.parent.mapSlots.set(key, slots);
    }
    await slots.acquire();
    this.slotsHeld.set(frame, slots);
    const { bytes } = this.measure(input);
    if (bytes > MAX_PAYLOAD_BYTES) throw dataLimitExceeded(owner.state, 'input');
  }

  frameFinished(frame: Frame): void {
    this.slotsHeld.get(frame)?.release();
    this.slotsHeld.delete(frame);
  }

  frameStarted(frame: Frame): void {
    const owner = frame.owner;
    if (owner?.kind === 'map' && this.live(frame)) {
      this.history.push('MapIterationStarted', {
        mapIterationStartedEventDetails: { name: owner.state, index: owner.index },
      });
    }
  }

  frameEnded(frame: Frame, end: FrameEnd): void {
    const wasLive = this.live(frame) && frame.started;
    frame.closed = true;
    const owner = frame.owner;
    if (!wasLive || owner?.kind !== 'map') return;
    const type =
      end.status === 'succeeded'
        ? 'MapIterationSucceeded'
        : end.status === 'failed'
          ? 'MapIterationFailed'
          : 'MapIterationAborted';
    this.history.push(type, {
      [`${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`]: {
        name: owner.state,
        index: owner.index,
      },
    });
  }

  stateEntered(frame: Frame, state: string, input: unknown): void {
    const visit = frame.visits.get(state) ?? 1;
    if (this.machine.states.get(state)?.Type === 'Task') this.pending = this.attempt(frame, state, visit, 1);
    if (!this.live(frame)) return;
    const type = this.type(state);
    const last = frame.lastOutput;
    const text = last && last.value === input ? last.text : this.measure(input).text;
    this.history.push(`${type}StateEntered`, {
      stateEnteredEventDetails: { name: state, ...payload('input', text) },
    });
    if (type === 'Map') {
      const def = this.machine.states.get(state) ?? {};
      const items = referencePath(referencePath(input, def.InputPath), def.ItemsPath);
      this.history.push('MapStateStarted', {
        mapStateStartedEventDetails: Array.isArray(items) ? { length: items.length } : {},
      });
    }
    if (type === 'Parallel') this.history.push('ParallelStateStarted');
  }

  stateExited(frame: Frame, state: string, output: unknown): void {
    if (!this.live(frame)) return;
    const { text, bytes } = this.measure(output);
    if (bytes > MAX_PAYLOAD_BYTES) throw dataLimitExceeded(state, 'output');
    frame.lastOutput = { value: output, text };
    const type = this.type(state);
    if ((type === 'Map' || type === 'Parallel') && frame.caught !== state) {
      this.history.push(`${type}StateSucceeded`);
    }
    this.history.push(`${type}StateExited`, {
      stateExitedEventDetails: { name: state, ...payload('output', text) },
    });
  }

  stateFailed(frame: Frame, state: string, error: unknown): void {
    // The quota error asks the state it is failing whether a retrier/catcher names it.
    if (error instanceof DataLimitExceededError) error.state = this.machine.states.get(state);
    if (!this.live(frame)) return;
    const attempt = this.openAttempts.get(frame);
    if (attempt?.open && attempt.state === state) {
      // Failed outside its work: the library's TimeoutSeconds race.
      const task = this.machine.source.tasks[state];
      if (task) {
        const events = this.taskEvents(state, task);
        const { error: name } = errorParts(error);
        this.close(attempt, name === 'States.Timeout' ? events.timedOut : events.failed, error);
      }
    }
    const type = this.type(state);
    if (type === 'Map' || type === 'Parallel') this.history.push(`${type}StateFailed`);
  }

  stateRetried(frame: Frame, state: string): void {
    if (this.machine.states.get(state)?.Type === 'Task') {
      this.pending = this.attempt(frame, state, frame.visits.get(state) ?? 1, frame.attempt);
    }
  }

  stateCaught(): void {}

  // ---- helpers -------------------------------------------------------------------------------

  private attempt(frame: Frame, state: string, visit: number, number: number): Attempt {
    return { frame, state, visit, number, key: `${frame.path}/${state}#${visit}.${number}`, open: true };
  }

  private live(frame: Frame): boolean {
    return this.running && !frame.closed;
  }

  private type(state: string): string {
    return this.machine.stateTypes.get(state) ?? 'Task';
  }

  /** JSON text and UTF-8 size of a payload; keeps the largest seen. */
  measure(value: unknown): { text: string; bytes: number } {
    const text = jsonText(value);
    const bytes = utf8Bytes(text);
    if (bytes > this.maxPayloadBytes) this.maxPayloadBytes = bytes;
    return { text, bytes };
  }
}
