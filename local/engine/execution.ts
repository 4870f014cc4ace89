import { LOCAL_REGION, type TaskInfo } from './asl.ts';
import { LocalRuntimeError, TaskFailure } from './errors.ts';
import { History, type HistoryEvent, payload, type TaskEvents, taskEvents } from './history.ts';
import type { Frame, FrameEnd, RunObserver } from './hooks.ts';
import type { EndRecord, ExecutionJournal, TaskOutcome } from './journal.ts';
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
 * deterministic keys (frame path + state + visit + attempt). With a journal, each attempt's
 * outcome and each Wait's deadline are recorded before the run moves on, and a replay of the
 * execution returns recorded outcomes instead of calling the work again.
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
  /** Cut by the engine's close(): not an end, its journal stays open for the next start. */
  cut = false;
  /** For an execution that ended before a restart: its history's count when it ended. */
  private endedWithEvents?: number;
  maxPayloadBytes = 0;
  abortRun?: () => void;
  timer?: { clear(): void };
  private resolveFinished!: (r: ExecutionRecord) => void;
  /** The Task attempt the library is about to hand to its handler (same tick as StateEntered/Retried). */
  private pending?: Attempt;
  private readonly openAttempts = new WeakMap<Frame, Attempt>();
  private readonly slotsHeld = new WeakMap<Frame, Slots>();
  private readonly eventsByState = new Map<string, TaskEvents>();
  /** The Wait the library is about to read its override for (same tick as StateEntered). */
  private pendingWait?: { frame: Frame; state: string; visit: number };
  /** The state whose Retry the library is matching (same tick as StateFailed). */
  private failing?: { frame: Frame; state: string };

  constructor(
    private readonly host: ExecutionHost,
    readonly record: Omit<ExecutionRecord, 'historyEventCount' | 'maxPayloadBytes'>,
    readonly machine: PreparedMachine,
    /** Where outcomes are recorded and replayed from; absent for executions kept in memory only. */
    readonly journal?: ExecutionJournal,
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
      historyEventCount: this.endedWithEvents ?? this.history.count,
      maxPayloadBytes: this.maxPayloadBytes,
    };
  }

  events(): HistoryEvent[] {
    return this.history.events();
  }

  /**
   * An execution that had ended before a restart: its outcome from the journal, its history down
   * to its first and last events (the journal keeps outcomes, not every event).
   */
  loadEnd(end: EndRecord): void {
    Object.assign(this.record, {
      status: end.status,
      stopDate: new Date(end.stopDate),
      ...(end.output !== undefined ? { output: end.output } : {}),
      ...(end.error !== undefined ? { error: end.error } : {}),
      ...(end.cause !== undefined ? { cause: end.cause } : {}),
    });
    this.maxPayloadBytes = end.maxPayloadBytes;
    this.endedWithEvents = end.historyEventCount;
    const details = {
      ...(end.error !== undefined ? { error: end.error } : {}),
      ...(end.cause !== undefined ? { cause: end.cause } : {}),
    };
    const terminal: Record<EndRecord['status'], [string, Record<string, unknown>]> = {
      SUCCEEDED: [
        'ExecutionSucceeded',
        { executionSucceededEventDetails: { output: end.output, outputDetails: { truncated: false } } },
      ],
      FAILED: ['ExecutionFailed', { executionFailedEventDetails: details }],
      ABORTED: ['ExecutionAborted', { executionAbortedEventDetails: details }],
      TIMED_OUT: ['ExecutionTimedOut', { executionTimedOutEventDetails: details }],
    };
    const [type, eventDetails] = terminal[end.status];
    this.history.push(type, eventDetails, end.stopDate);
    this.markFinished();
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
    const recorded = this.journal?.tasks.get(attempt.key);
    let outcome: TaskOutcome;
    if (recorded) {
      outcome = recorded;
    } else {
      try {
        outcome = {
          ok: await this.host.work(this, {
            state,
            task,
            params,
            attempt,
            submitted: (output) => this.write(attempt, events.submitted(jsonText(output))),
          }),
        };
      } catch (error) {
        if (error instanceof LocalRuntimeError) {
          this.close(attempt, events.failed, error);
          throw error;
        }
        const { error: name, cause } = errorParts(error);
        outcome = { error: { name, cause } };
      }
      // On disk before the run moves on: a replay returns it instead of running the work again.
      // An attempt the library already timed out keeps its timeout on record.
      if (attempt.open) await this.journal?.append({ t: 'task', key: attempt.key, ...outcome });
    }
    if ('error' in outcome) {
      const error = new TaskFailure(outcome.error.name, outcome.error.cause);
      this.close(attempt, events.failed, error);
      throw error;
    }
    const result = outcome.ok;
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
   * How long a Wait visit still waits: its recorded deadline when replaying, else now + `plannedMs`
   * (recorded). Called by the library through the Wait's override right after entering it.
   */
  waitMs(state: string, plannedMs: number): number {
    const wait = this.pendingWait;
    this.pendingWait = undefined;
    if (!wait || wait.state !== state) return Math.max(0, plannedMs);
    const key = `${wait.frame.path}/${state}#${wait.visit}`;
    let until = this.journal?.waits.get(key);
    if (until === undefined) {
      until = Date.now() + Math.max(0, plannedMs);
      // Not awaited (the library reads the override synchronously): a crash within the
      // group commit's few milliseconds restarts this Wait in full.
      void this.journal?.append({ t: 'wait', key, until }).catch(() => undefined);
    }
    return Math.max(0, until - Date.now());
  }

  /** The same for a SecondsPath/TimestampPath Wait run as a local Task (its attempt is its visit). */
  async waitFor(attempt: Attempt, plannedMs: number): Promise<number> {
    let until = this.journal?.waits.get(attempt.key);
    if (until === undefined) {
      until = Date.now() + Math.max(0, plannedMs);
      await this.journal?.append({ t: 'wait', key: attempt.key, until });
    }
    return Math.max(0, until - Date.now());
  }

  /** 0 when the retry the library is about to wait for has its outcome recorded (no need to wait). */
  retryDelayMs(state: string): number | undefined {
    const failing = this.failing;
    if (!this.journal || !failing || failing.state !== state) return undefined;
    const { frame } = failing;
    const next = `${frame.path}/${state}#${frame.visits.get(state) ?? 1}.${frame.attempt + 1}`;
    return this.journal.tasks.has(next) ? 0 : undefined;
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
    const runAs = this.machine.states.get(state)?.Type;
    if (runAs === 'Task') this.pending = this.attempt(frame, state, visit, 1);
    if (runAs === 'Wait') this.pendingWait = { frame, state, visit };
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
    this.failing = { frame, state };
    if (!this.live(frame)) return;
    const attempt = this.openAttempts.get(frame);
    if (attempt?.open && attempt.state === state) {
      // Failed outside its work: the library's TimeoutSeconds race.
      const task = this.machine.source.tasks[state];
      if (task) {
        const events = this.taskEvents(state, task);
        const parts = errorParts(error);
        this.close(attempt, parts.error === 'States.Timeout' ? events.timedOut : events.failed, error);
        void this.journal
          ?.append({ t: 'task', key: attempt.key, error: { name: parts.error, cause: parts.cause } })
          .catch(() => undefined);
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
