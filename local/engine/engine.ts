import { randomUUID } from 'node:crypto';
import { isAbsolute, relative, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { createLogger, type Logger } from '../../functions/log.ts';
import {
  type LambdaFunctionInfo,
  LOCAL_ACCOUNT,
  LOCAL_PARTITION,
  LOCAL_REGION,
  type LocalApp,
  lambdaArn,
  type ResolvedStateMachine,
  stateMachineArn,
  type TaskInfo,
  walkStates,
} from './asl.ts';
import {
  EngineClosedError,
  ExecutionAlreadyExistsError,
  ExecutionDoesNotExistError,
  HandlerLoadError,
  InvalidArnError,
  InvalidDefinitionError,
  InvalidExecutionInputError,
  InvalidNameError,
  SfnApiError,
  StateMachineDoesNotExistError,
  UnboundTaskError,
} from './errors.ts';

/**
 * The local orchestration engine: runs the synthesized state machines with aws-local-stepfunctions,
 * every Task bound in-process to its Lambda handler, and keeps Step Functions-shaped execution
 * records for the SFN-compatible endpoint (sfn-endpoint.ts).
 *
 * Executions live in memory only. A restart loses them: the runtime uses `knownExecutionArns()`
 * to find its jobs whose executions are gone and marks them INTERRUPTED.
 *
 * Limits (on top of the library's, see local-stack-notes §2):
 * - JSONPath only: JSONata, Variables (`Assign`), distributed Map readers/writers, callback
 *   (`.waitForTaskToken`) Tasks and `.sync` Tasks of other services are refused at construction,
 *   not silently mis-run.
 * - Nested executions: `states:startExecution` (request-response, `.sync`, `.sync:2`) starts a real
 *   execution of a machine of this engine, with its own history; `.sync` children stop when their
 *   parent ends. A child whose Task was abandoned inside a Map iteration or Parallel branch that
 *   was cut short runs on until the parent execution ends.
 * - `$$.State.*` and `$$.Task.Token` are not available; `$$.Execution.Input` inside a Map
 *   iteration is the item, not the execution input (library behaviour).
 * - Scaling: `timeScale` covers Seconds, Timestamp, SecondsPath and TimestampPath waits (the
 *   library only offers fixed per-state overrides, so path waits are run by a local Task that
 *   reads the path and sleeps scaled; history still shows them as Wait states) and Retry
 *   intervals. `timeoutScale` covers Task and machine TimeoutSeconds; `TimeoutSecondsPath` and
 *   `HeartbeatSeconds` are not scaled (the library reads the first and ignores the second).
 *   Scaled waits do not move the clock: Choice rules on timestamps still see wall time.
 * - Node timers cap a single Wait or Task timeout handed to the library at ~24.8 days.
 * - A Lambda Task without TimeoutSeconds is bounded by the function's Timeout (as on AWS), but
 *   reports `States.Timeout`, not a Lambda timeout error. Handlers are not killed on timeout or
 *   stop; the engine only refuses to call them again for a stopped execution.
 * - No 256 KB limit on state payloads; EXPRESS machines get the STANDARD name semantics.
 * - History is a subset of AWS event types (Execution*, <Type>StateEntered/Exited, TaskFailed,
 *   TaskTimedOut, LambdaFunctionFailed/TimedOut, MapIteration*); previousEventId is the
 *   preceding event.
 */

type Overrides = NonNullable<RunOptions['overrides']>;
type LocalTaskHandler = NonNullable<Overrides['taskResourceLocalHandlers']>[string];
type RunResult = ReturnType<StateMachine['run']>;
type EventLog = RunResult['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

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
}

/** A GetExecutionHistory event: AWS field names, a subset of AWS event types. */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

export interface StateMachineInfo {
  stateMachineArn: string;
  name: string;
  type: 'STANDARD' | 'EXPRESS';
  /** The definition as synthesized (before any local scaling), JSON text. */
  definition: string;
  roleArn: string;
  creationDate: Date;
}

/** The subset of the Lambda context object handlers may rely on. */
export interface LambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

// biome-ignore lint/suspicious/noExplicitAny: handlers type their own events, as Lambda handlers do.
export type LambdaHandler = (event: any, context: LambdaContext) => unknown;

export interface HandlerRef {
  logicalId: string;
  entry?: string;
  exportName: string;
}

export type HandlerResolver = (ref: HandlerRef) => LambdaHandler | Promise<LambdaHandler>;

/** Handler for a non-Lambda Task (e.g. `arn:aws:states:::dynamodb:putItem`): gets the resolved Parameters. */
export type ServiceIntegration = (parameters: unknown) => unknown;

export type ExecutionEndListener = (execution: ExecutionRecord) => void | Promise<void>;

export interface LocalEngineOptions {
  /** Repository root that `fleetflow:entry` paths are relative to. Defaults to this repository. */
  rootDir?: string;
  /**
   * Handlers by Lambda logical id, by `entry#export`, or by `entry` (for the `handler` export).
   * Checked before `resolveHandler` and before importing the entry module.
   */
  handlers?: Record<string, LambdaHandler>;
  /** Replaces the default `import()` of the entry module. */
  resolveHandler?: HandlerResolver;
  /** Handlers for non-Lambda Tasks, keyed by their Resource ARN. */
  serviceIntegrations?: Record<string, ServiceIntegration>;
  /**
   * Scales the time a machine spends idle: Wait states (all four forms) and Retry intervals and
   * max delays. 0.001 turns a 30 s Wait into 30 ms. Default 1.
   */
  timeScale?: number;
  /**
   * Scales deadlines that race real work: Task TimeoutSeconds (and the function Timeout used when
   * a Lambda Task has none) and the machine's TimeoutSeconds. Separate from timeScale because
   * handlers run in real time: a scaled deadline can expire while a handler is still importing.
   * Default 1.
   */
  timeoutScale?: number;
  /** Called once per execution when it reaches a terminal status (not for executions cut by close()). */
  onExecutionEnd?: ExecutionEndListener;
  /**
   * Asked before a name is used for the first time in this process, so names stay unique across
   * restarts as on AWS (90 days): return true when the runtime knows the name was used before.
   */
  executionNameInUse?: (executionArn: string) => boolean | Promise<boolean>;
  /**
   * How many closed executions (with their history) stay in memory, oldest dropped first, so a
   * long-running `fleetflow start` does not grow without end. Default 1,000. The job records in
   * DynamoDB keep the lasting trace; names stay taken through `executionNameInUse`.
   */
  retainClosedExecutions?: number;
  logger?: Logger;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/** Node timers overflow above 2^31-1 ms (~24.8 days) and fire at once: never hand the library more. */
const MAX_TASK_TIMEOUT_S = Math.floor(MAX_TIMER_MS / 1000);
const MAX_INPUT_BYTES = 262_144;
const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::fleetflow:localWait';
const INVALID_NAME_CHARS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/u;
/** AWS rules: 1-80 characters, no whitespace, brackets, wildcards, special or control characters. */
const isValidName = (name: string): boolean =>
  name.length >= 1 &&
  name.length <= 80 &&
  !INVALID_NAME_CHARS.test(name) &&
  ![...name].some((c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
  });
const EXECUTION_ARN_RE = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;
const STATE_MACHINE_ARN_RE = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A handler's failure as Lambda reports it to Step Functions: the error name is the thrown
 * error's `name` (what Retry/Catch match), the cause is the runtime's JSON
 * `{errorType, errorMessage, trace}`. No `cause` property: the library would report it instead.
 */
class LambdaFunctionError extends Error {
  constructor(errorType: string, payload: string) {
    super(payload);
    this.name = errorType;
  }
}

function toLambdaError(error: unknown): LambdaFunctionError {
  const errorType = error instanceof Error && error.name ? error.name : 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  const trace = error instanceof Error && error.stack ? error.stack.split('\n') : [];
  return new LambdaFunctionError(errorType, JSON.stringify({ errorType, errorMessage, trace }));
}

/** A Lambda runtime failure before the handler runs (bad entry, missing export), named as Lambda names it. */
class LambdaRuntimeError extends Error {
  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

/**
 * A service integration Task's failure as Step Functions reports it: Retry/Catch match `name`,
 * the error output's Cause is the message.
 */
class TaskFailure extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/**
 * A Step Functions API refusal seen by a `states:startExecution` Task, named and worded as the
 * optimized integration reports it (`StepFunctions.<Code>Exception`, the SDK's error message).
 */
function apiFailure(error: SfnApiError): TaskFailure {
  const details = [
    'Service: AWSStepFunctions',
    'Status Code: 400',
    `Error Code: ${error.name}`,
    `Request ID: ${randomUUID()}`,
    'Proxy: null',
  ];
  return new TaskFailure(`StepFunctions.${error.name}Exception`, `${error.message} (${details.join('; ')})`);
}

/** The cause AWS gives a resource whose managing Task was stopped with its execution. */
const managingTaskAborted = (parentArn: string): string =>
  `The Task state in AWS Step Functions execution [${parentArn}] which was managing this resource was aborted`;

/**
 * A child execution as `startExecution.sync` (payloads as JSON text) and `.sync:2` (payloads as
 * JSON) return it: DescribeExecution in PascalCase, keys in alphabetical order, dates in epoch
 * milliseconds.
 */
function executionEnvelope(r: ExecutionRecord, jsonPayloads: boolean): Record<string, unknown> {
  const payload = (text: string): unknown => (jsonPayloads ? JSON.parse(text) : text);
  return {
    ...(r.cause !== undefined ? { Cause: r.cause } : {}),
    ...(r.error !== undefined ? { Error: r.error } : {}),
    ExecutionArn: r.executionArn,
    Input: payload(r.input),
    InputDetails: { Included: true },
    Name: r.name,
    ...(r.output !== undefined ? { Output: payload(r.output), OutputDetails: { Included: true } } : {}),
    RedriveCount: 0,
    RedriveStatus: 'NOT_REDRIVABLE',
    RedriveStatusReason: `Execution is ${r.status} and cannot be redriven`,
    StartDate: r.startDate.getTime(),
    StateMachineArn: r.stateMachineArn,
    Status: r.status,
    ...(r.stopDate ? { StopDate: r.stopDate.getTime() } : {}),
  };
}

/** Neither retryable nor catchable, like the library's own States.Runtime errors. */
class LocalRuntimeError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

function jsonCopy(value: unknown, what: string): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(value));
  } catch (error) {
    throw new LambdaRuntimeError('Runtime.MarshalError', `${what} is not JSON-serializable`, {
      cause: error,
    });
  }
}

/** setTimeout without the 24.8-day overflow. */
function longTimeout(fn: () => void, ms: number): { clear(): void } {
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = longTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      timer.clear();
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
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

interface Outcome {
  status: Exclude<ExecutionStatus, 'RUNNING'>;
  output?: string;
  error?: string;
  cause?: string;
}

interface PreparedMachine {
  source: ResolvedStateMachine;
  info: StateMachineInfo;
  runner: StateMachine;
  /** Original state types, so history shows a rewritten Wait as a Wait. */
  stateTypes: Map<string, string>;
  waitSeconds: Map<string, number>;
  waitTimestamps: Map<string, string>;
  /** SecondsPath/TimestampPath waits, rewritten into local wait Tasks when time is scaled. */
  pathWaits: Set<string>;
  /** Each Task's TimeoutSeconds as the library runs it (scaled), in ms. */
  taskTimeoutsMs: Map<string, number>;
  timeoutMs?: number;
}

interface Execution {
  record: ExecutionRecord;
  machine: PreparedMachine;
  history: HistoryEvent[];
  /** Cancels local waits and refuses handler calls once the execution is stopped. */
  stop: AbortController;
  /** Running children started by this execution's `.sync` Tasks: they stop when it ends, as on AWS. */
  children: Set<Execution>;
  abortRun?: () => void;
  timer?: { clear(): void };
  eventsDrained?: Promise<void>;
  notify: boolean;
  finished: Promise<ExecutionRecord>;
  resolveFinished: (r: ExecutionRecord) => void;
}

interface StartRequest {
  stateMachineArn: string;
  name?: string;
  input?: string;
}

/**
 * The StartExecution request a `states:startExecution` Task makes from its resolved Parameters:
 * an `Input` that is a string is passed as JSON text (as the API takes it), any other value is
 * serialized; no Input is `{}`. A Parameters shape the API cannot take is a States.Runtime error.
 */
function childRequest(stateName: string, raw: unknown): StartRequest {
  const params = (raw ?? {}) as Record<string, unknown>;
  const { StateMachineArn: arn, Name: name, Input: input } = params;
  if (typeof arn !== 'string') {
    throw new LocalRuntimeError('States.Runtime', `${stateName}: StateMachineArn must be a string`);
  }
  if (name !== undefined && typeof name !== 'string') {
    throw new LocalRuntimeError('States.Runtime', `${stateName}: Name must be a string`);
  }
  return {
    stateMachineArn: arn,
    ...(name !== undefined ? { name } : {}),
    input:
      input === undefined || input === null
        ? '{}'
        : typeof input === 'string'
          ? input
          : JSON.stringify(input),
  };
}

const copyRecord = (r: ExecutionRecord): ExecutionRecord => ({
  ...r,
  startDate: new Date(r.startDate),
  ...(r.stopDate ? { stopDate: new Date(r.stopDate) } : {}),
});

export class LocalEngine {
  private readonly machines = new Map<string, PreparedMachine>();
  private readonly executions = new Map<string, Execution>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly handlerCache = new Map<string, Promise<LambdaHandler>>();
  private readonly listeners = new Set<ExecutionEndListener>();
  private readonly rootDir: string;
  private readonly timeScale: number;
  private readonly timeoutScale: number;
  private readonly log: Logger;
  private closed = false;

  constructor(
    private readonly app: LocalApp,
    private readonly options: LocalEngineOptions = {},
  ) {
    this.rootDir = options.rootDir ?? fileURLToPath(new URL('../..', import.meta.url));
    this.timeScale = options.timeScale ?? 1;
    this.timeoutScale = options.timeoutScale ?? 1;
    for (const [k, v] of [
      ['timeScale', this.timeScale],
      ['timeoutScale', this.timeoutScale],
    ] as const) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`${k} must be a finite number >= 0`);
    }
    this.log = options.logger ?? createLogger({ component: 'local-engine' });
    if (options.onExecutionEnd) this.listeners.add(options.onExecutionEnd);
    for (const sm of app.stateMachines) {
      const prepared = this.prepare(sm);
      this.machines.set(prepared.info.stateMachineArn, prepared);
    }
  }

  // ---- state machines -------------------------------------------------------------------------

  stateMachines(): StateMachineInfo[] {
    return [...this.machines.values()].map((m) => ({ ...m.info }));
  }

  describeStateMachine(arn: string): StateMachineInfo {
    return { ...this.machineByArn(arn).info };
  }

  /** The ARN of a machine by its local name (see ResolvedStateMachine.name). */
  stateMachineArn(name: string): string {
    const arn = stateMachineArn(name);
    if (!this.machines.has(arn))
      throw new StateMachineDoesNotExistError(`State Machine Does Not Exist: '${arn}'`);
    return arn;
  }

  // ---- executions -----------------------------------------------------------------------------

  /**
   * StartExecution, idempotent by name as on AWS: the same name and input while the execution
   * runs returns the original answer; a closed execution or a different input is
   * ExecutionAlreadyExists.
   */
  async startExecution(request: StartRequest): Promise<{ executionArn: string; startDate: Date }> {
    const exec = await this.start(request);
    return { executionArn: exec.record.executionArn, startDate: new Date(exec.record.startDate) };
  }

  /** StartExecution for the API and for `states:startExecution` Tasks (`parent` set for `.sync`). */
  private async start(request: StartRequest, parent?: Execution): Promise<Execution> {
    if (this.closed) throw new EngineClosedError('the local engine is closed');
    const machine = this.machineByArn(request.stateMachineArn);
    const name = request.name ?? randomUUID();
    if (!isValidName(name)) {
      throw new InvalidNameError(`Invalid Name: '${name}'`);
    }
    const input = request.input ?? '{}';
    const parsed = this.parseInput(input);
    const executionArn = `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${machine.info.name}:${name}`;

    for (;;) {
      const existing = this.executions.get(executionArn);
      if (existing) {
        if (existing.record.status === 'RUNNING' && existing.record.input === input) {
          if (parent) this.adopt(parent, existing);
          return existing;
        }
        throw new ExecutionAlreadyExistsError(`Execution Already Exists: '${executionArn}'`);
      }
      const pending = this.starting.get(executionArn);
      if (!pending) break;
      await pending;
    }

    const guard = this.options.executionNameInUse;
    if (!guard) return this.launch(machine, executionArn, name, input, parsed, parent);
    let release!: () => void;
    this.starting.set(executionArn, new Promise<void>((r) => (release = r)));
    try {
      if (await guard(executionArn)) {
        throw new ExecutionAlreadyExistsError(`Execution Already Exists: '${executionArn}'`);
      }
      if (this.closed) throw new EngineClosedError('the local engine is closed');
      return this.launch(machine, executionArn, name, input, parsed, parent);
    } finally {
      this.starting.delete(executionArn);
      release();
    }
  }

  describeExecution(executionArn: string): ExecutionRecord {
    return copyRecord(this.executionByArn(executionArn).record);
  }

  /** Newest first, as AWS lists them. */
  listExecutions(
    filter: { stateMachineArn?: string; statusFilter?: ExecutionStatus } = {},
  ): ExecutionRecord[] {
    if (filter.stateMachineArn !== undefined) this.machineByArn(filter.stateMachineArn);
    const out: ExecutionRecord[] = [];
    for (const e of this.executions.values()) {
      if (filter.stateMachineArn !== undefined && e.record.stateMachineArn !== filter.stateMachineArn)
        continue;
      if (filter.statusFilter !== undefined && e.record.status !== filter.statusFilter) continue;
      out.push(copyRecord(e.record));
    }
    // Map order is start order; a stable sort keeps later starts first on equal dates.
    return out.reverse().sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
  }

  /** StopExecution: the execution is ABORTED at once; a closed execution is left as it is. */
  stopExecution(executionArn: string, details: { error?: string; cause?: string } = {}): { stopDate: Date } {
    const exec = this.executionByArn(executionArn);
    this.settle(exec, {
      status: 'ABORTED',
      ...(details.error !== undefined ? { error: details.error } : {}),
      ...(details.cause !== undefined ? { cause: details.cause } : {}),
    });
    return { stopDate: new Date(exec.record.stopDate ?? Date.now()) };
  }

  getExecutionHistory(executionArn: string): HistoryEvent[] {
    return this.executionByArn(executionArn).history.map((e) => ({ ...e }));
  }

  /** Resolves when the execution is closed and every onExecutionEnd listener has run. */
  waitForExecution(executionArn: string): Promise<ExecutionRecord> {
    return this.executionByArn(executionArn).finished.then(copyRecord);
  }

  /** Every execution this engine instance knows (all statuses). Lost on restart: see the module comment. */
  knownExecutionArns(): string[] {
    return [...this.executions.keys()];
  }

  /**
   * Imports every bound handler now instead of on first invocation: a bad entry fails at startup,
   * and module loading stays out of Task timeouts.
   */
  async preloadHandlers(): Promise<void> {
    const ids = new Set<string>();
    for (const m of this.machines.values()) {
      for (const t of Object.values(m.source.tasks)) if (t.lambda !== undefined) ids.add(t.lambda);
    }
    const list = [...ids];
    const results = await Promise.allSettled(list.map((id) => this.handlerFor(id)));
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ id: list[i], error: r.reason }] : [],
    );
    if (failures.length > 0) {
      const summary = failures.map(
        (f) => `${f.id}: ${f.error instanceof Error ? f.error.message : String(f.error)}`,
      );
      throw new HandlerLoadError(`cannot load ${failures.length} handler(s): ${summary.join('; ')}`, {
        cause: failures.map((f) => f.error),
      });
    }
  }

  /** Adds a listener for terminal executions; returns a function that removes it. */
  onExecutionEnd(listener: ExecutionEndListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stops every running execution (status ABORTED, error `Local.EngineClosed`) without calling the
   * onExecutionEnd listeners: for the runtime they are lost, as after a crash, and become
   * INTERRUPTED on the next start. Refuses new executions.
   */
  async close(): Promise<void> {
    this.closed = true;
    const running = [...this.executions.values()].filter((e) => e.record.status === 'RUNNING');
    for (const exec of running) {
      exec.notify = false;
      this.settle(exec, {
        status: 'ABORTED',
        error: 'Local.EngineClosed',
        cause: 'the local engine was closed',
      });
    }
    await Promise.all(running.map((e) => e.finished));
  }

  // ---- preparation ----------------------------------------------------------------------------

  private prepare(sm: ResolvedStateMachine): PreparedMachine {
    refuseUnsupported(sm);
    validateOnce(sm);
    const definition = structuredClone(sm.definition) as StateMachineDefinition & Record<string, unknown>;
    const stateTypes = new Map<string, string>();
    const waitSeconds = new Map<string, number>();
    const waitTimestamps = new Map<string, string>();
    const pathWaits = new Set<string>();
    const taskTimeoutsMs = new Map<string, number>();
    const scaled = this.timeScale !== 1;

    walkStates(definition, (name, state) => {
      stateTypes.set(name, String(state.Type));
      if (Array.isArray(state.Retry)) {
        for (const retrier of state.Retry as Record<string, unknown>[]) {
          // Scaling the definition (not retryIntervalOverrides, which replaces the computed
          // interval with a constant) keeps BackoffRate, MaxDelaySeconds and full jitter.
          const interval = typeof retrier.IntervalSeconds === 'number' ? retrier.IntervalSeconds : 1;
          retrier.IntervalSeconds = interval * this.timeScale;
          if (typeof retrier.MaxDelaySeconds === 'number') retrier.MaxDelaySeconds *= this.timeScale;
        }
      }
      if (state.Type === 'Task') {
        this.checkBound(sm, name);
        const task = sm.tasks[name];
        if (typeof state.TimeoutSeconds === 'number') {
          state.TimeoutSeconds = this.taskTimeout(state.TimeoutSeconds);
        } else if (state.TimeoutSecondsPath === undefined) {
          // The library defaults to 60 s; on AWS a Lambda Task is bounded by the function's Timeout.
          const fn = task?.lambda !== undefined ? this.app.functions[task.lambda] : undefined;
          state.TimeoutSeconds = fn ? this.taskTimeout(fn.timeoutSeconds) : MAX_TASK_TIMEOUT_S;
        }
        if (typeof state.TimeoutSeconds === 'number') taskTimeoutsMs.set(name, state.TimeoutSeconds * 1000);
      }
      if (state.Type === 'Wait') {
        if (typeof state.Seconds === 'number') waitSeconds.set(name, state.Seconds);
        else if (typeof state.Timestamp === 'string') waitTimestamps.set(name, state.Timestamp);
        else if (scaled) {
          // The library reads SecondsPath/TimestampPath itself and offers no per-input override:
          // turn the Wait into a local Task that evaluates the path (via Parameters) and sleeps scaled.
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
          pathWaits.add(name);
        }
      }
    });

    let timeoutMs: number | undefined;
    if (typeof definition.TimeoutSeconds === 'number') {
      // Enforced by the engine (not the library) to scale it and to report TIMED_OUT itself.
      timeoutMs = definition.TimeoutSeconds * 1000 * this.timeoutScale;
      delete definition.TimeoutSeconds;
    }
    const arn = stateMachineArn(sm.name);
    const info: StateMachineInfo = {
      stateMachineArn: arn,
      name: sm.name,
      type: sm.type,
      definition: JSON.stringify(sm.definition),
      roleArn: sm.roleArn ?? `arn:${LOCAL_PARTITION}:iam::${LOCAL_ACCOUNT}:role/${sm.logicalId}Role`,
      creationDate: new Date(),
    };
    const runner = new StateMachine(definition, { validationOptions: { noValidate: true } });
    return {
      source: sm,
      info,
      runner,
      stateTypes,
      waitSeconds,
      waitTimestamps,
      pathWaits,
      taskTimeoutsMs,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    };
  }

  private taskTimeout(seconds: number): number {
    // 0 would make the library fall back to its 60 s default.
    return Math.min(Math.max(seconds * this.timeoutScale, 0.001), MAX_TASK_TIMEOUT_S);
  }

  /** Fails fast on a Task that has no local handler: unbound, it would call the real AWS service. */
  private checkBound(sm: ResolvedStateMachine, stateName: string): void {
    const task = sm.tasks[stateName];
    if (!task) throw new UnboundTaskError(`${sm.name}: Task ${stateName} was not classified`);
    if (task.style === 'execution') return;
    if (task.style === 'service') {
      if (this.options.serviceIntegrations?.[task.resource]) return;
      throw new UnboundTaskError(
        `${sm.name}: Task ${stateName} uses ${task.resource}; pass a serviceIntegrations handler for it`,
      );
    }
    if (task.resource.includes('.waitForTaskToken') || task.resource.includes('.sync')) {
      throw new UnboundTaskError(
        `${sm.name}: Task ${stateName} uses ${task.resource}, which the local engine cannot run`,
      );
    }
    const id = task.lambda ?? '';
    const fn = this.app.functions[id];
    const handlers = this.options.handlers ?? {};
    if (handlers[id] || this.options.resolveHandler) return;
    if (fn?.entry !== undefined) return;
    throw new UnboundTaskError(
      fn
        ? `${sm.name}: Task ${stateName} invokes ${id}, which has no fleetflow:entry metadata (use markHandler)`
        : `${sm.name}: Task ${stateName} invokes ${id}, which is not a Lambda of this app`,
    );
  }

  // ---- running --------------------------------------------------------------------------------

  private parseInput(input: string): unknown {
    if (Buffer.byteLength(input, 'utf8') > MAX_INPUT_BYTES) {
      throw new InvalidExecutionInputError(`input is larger than ${MAX_INPUT_BYTES} bytes`);
    }
    try {
      return JSON.parse(input);
    } catch (error) {
      throw new InvalidExecutionInputError('Invalid State Machine Execution Input: input is not valid JSON', {
        cause: error,
      });
    }
  }

  private launch(
    machine: PreparedMachine,
    executionArn: string,
    name: string,
    input: string,
    parsed: unknown,
    parent?: Execution,
  ): Execution {
    let resolveFinished!: (r: ExecutionRecord) => void;
    const finished = new Promise<ExecutionRecord>((r) => (resolveFinished = r));
    const startDate = new Date();
    const exec: Execution = {
      record: {
        executionArn,
        stateMachineArn: machine.info.stateMachineArn,
        name,
        status: 'RUNNING',
        input,
        startDate,
      },
      machine,
      history: [],
      stop: new AbortController(),
      children: new Set(),
      notify: true,
      finished,
      resolveFinished,
    };
    this.executions.set(executionArn, exec);
    this.pushEvent(exec, 'ExecutionStarted', {
      executionStartedEventDetails: {
        input,
        inputDetails: { truncated: false },
        roleArn: machine.info.roleArn,
      },
    });

    // $$.Execution.Input and StartTime are filled in by the library; the rest only via context.
    const context = {
      Execution: { Id: executionArn, Name: name, RoleArn: machine.info.roleArn, RedriveCount: 0 },
      StateMachine: { Id: machine.info.stateMachineArn, Name: machine.info.name },
    };
    const run = machine.runner.run(parsed as never, { overrides: this.overridesFor(exec), context });
    exec.abortRun = run.abort;
    exec.eventsDrained = this.consume(exec, run.eventLogs);
    if (machine.timeoutMs !== undefined) {
      exec.timer = longTimeout(
        () =>
          this.settle(exec, {
            status: 'TIMED_OUT',
            error: 'States.Timeout',
            cause: 'The execution exceeded the state machine TimeoutSeconds',
          }),
        machine.timeoutMs,
      );
    }
    run.result.then(
      (output) => this.settle(exec, { status: 'SUCCEEDED', output: JSON.stringify(output ?? null) }),
      (error: unknown) => this.settle(exec, this.failure(error)),
    );
    this.log.debug('execution started', { executionArn });
    if (parent) this.adopt(parent, exec);
    return exec;
  }

  /** A `.sync` child stops with its parent; a parent that already ended stops it at once. */
  private adopt(parent: Execution, child: Execution): void {
    parent.children.add(child);
    if (parent.record.status !== 'RUNNING') {
      this.settle(child, { status: 'ABORTED', cause: managingTaskAborted(parent.record.executionArn) });
    }
  }

  private failure(error: unknown): Outcome {
    if (error instanceof ExecutionAbortedError) return { status: 'ABORTED' };
    if (error instanceof ExecutionTimeoutError) return { status: 'TIMED_OUT', error: 'States.Timeout' };
    const cause = error instanceof ExecutionError ? error.cause : error;
    if (cause instanceof Error) return { status: 'FAILED', error: cause.name, cause: cause.message };
    return { status: 'FAILED', error: 'States.Runtime', cause: String(cause) };
  }

  private overridesFor(exec: Execution): Overrides {
    const m = exec.machine;
    const taskResourceLocalHandlers: Record<string, LocalTaskHandler> = {};
    for (const [stateName, task] of Object.entries(m.source.tasks)) {
      taskResourceLocalHandlers[stateName] =
        task.style === 'execution'
          ? this.childExecutionHandler(exec, stateName, task)
          : this.taskHandler(exec, task);
    }
    for (const stateName of m.pathWaits)
      taskResourceLocalHandlers[stateName] = this.waitHandler(exec, stateName);
    const overrides: Overrides = { taskResourceLocalHandlers };
    if (this.timeScale !== 1) {
      const waitTimeOverrides: Record<string, number> = {};
      for (const [stateName, s] of m.waitSeconds) waitTimeOverrides[stateName] = s * 1000 * this.timeScale;
      for (const [stateName, ts] of m.waitTimestamps) {
        // Read when the Wait starts, so the remaining time is measured then.
        Object.defineProperty(waitTimeOverrides, stateName, {
          enumerable: true,
          get: () => Math.max(0, (Date.parse(ts) - Date.now()) * this.timeScale),
        });
      }
      overrides.waitTimeOverrides = waitTimeOverrides;
    }
    return overrides;
  }

  private taskHandler(exec: Execution, task: TaskInfo): LocalTaskHandler {
    const refuseAfterStop = () => {
      // The library keeps retrying a failed Task after abort (its retry sleep returns at once):
      // never call a handler for a stopped execution.
      if (exec.stop.signal.aborted)
        throw new LocalRuntimeError('States.Runtime', 'the execution was stopped');
    };
    if (task.style === 'service') {
      const integration = this.options.serviceIntegrations?.[task.resource];
      return async (input) => {
        refuseAfterStop();
        return jsonCopy(await integration?.(jsonCopy(input, 'Parameters')), 'service result') as never;
      };
    }
    const logicalId = task.lambda ?? '';
    const fn = this.app.functions[logicalId];
    return async (input) => {
      refuseAfterStop();
      const payload =
        task.style === 'invoke' ? ((input as Record<string, unknown> | null)?.Payload ?? {}) : (input ?? {});
      const requestId = randomUUID();
      let result: unknown;
      try {
        const handler = await this.handlerFor(logicalId);
        result = jsonCopy(
          await handler(jsonCopy(payload, 'Payload'), this.lambdaContext(logicalId, fn, requestId)),
          'handler result',
        );
      } catch (error) {
        if (error instanceof LambdaRuntimeError && error.name !== 'Runtime.MarshalError') {
          this.log.error('handler could not be loaded', { function: logicalId, error: error.message });
        }
        throw toLambdaError(error);
      }
      if (task.style === 'direct') return result as never;
      return {
        ExecutedVersion: '$LATEST',
        Payload: result,
        SdkHttpMetadata: { HttpStatusCode: 200 },
        SdkResponseMetadata: { RequestId: requestId },
        StatusCode: 200,
      } as never;
    };
  }

  /**
   * `states:startExecution[.sync[:2]]`: starts a child execution of a machine of this engine with
   * the Task's resolved Parameters `{StateMachineArn, Input, Name}`. Request-response returns the
   * StartExecution answer; `.sync` and `.sync:2` wait for the child and return its description,
   * or fail with States.TaskFailed and that description as the cause when it did not succeed.
   */
  private childExecutionHandler(exec: Execution, stateName: string, task: TaskInfo): LocalTaskHandler {
    const integration = task.integration ?? 'request';
    return async (raw) => {
      if (exec.stop.signal.aborted)
        throw new LocalRuntimeError('States.Runtime', 'the execution was stopped');
      const request = childRequest(stateName, raw);
      let child: Execution;
      try {
        child = await this.start(request, integration === 'request' ? undefined : exec);
      } catch (error) {
        if (error instanceof SfnApiError) throw apiFailure(error);
        throw error;
      }
      if (integration === 'request') {
        return {
          ExecutionArn: child.record.executionArn,
          SdkHttpMetadata: { HttpStatusCode: 200 },
          SdkResponseMetadata: { RequestId: randomUUID() },
          StartDate: child.record.startDate.getTime(),
        } as never;
      }
      // The library's own TimeoutSeconds race cannot reach the child: stop it at the same deadline.
      const deadline = exec.machine.taskTimeoutsMs.get(stateName);
      const timer =
        deadline === undefined
          ? undefined
          : longTimeout(
              () =>
                this.settle(child, {
                  status: 'ABORTED',
                  cause: managingTaskAborted(exec.record.executionArn),
                }),
              deadline,
            );
      let record: ExecutionRecord;
      try {
        record = await child.finished;
      } finally {
        timer?.clear();
        exec.children.delete(child);
      }
      const envelope = executionEnvelope(record, integration === 'sync2');
      if (record.status === 'SUCCEEDED') return envelope as never;
      throw new TaskFailure('States.TaskFailed', JSON.stringify(envelope));
    };
  }

  private waitHandler(exec: Execution, stateName: string): LocalTaskHandler {
    return async (raw) => {
      const { seconds, timestamp, input } = (raw ?? {}) as {
        seconds?: unknown;
        timestamp?: unknown;
        input?: unknown;
      };
      let ms: number;
      if (seconds !== undefined) {
        if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
          throw new LocalRuntimeError(
            'States.Runtime',
            `${stateName}: SecondsPath must select a non-negative integer`,
          );
        }
        ms = seconds * 1000 * this.timeScale;
      } else {
        if (typeof timestamp !== 'string' || !RFC3339.test(timestamp)) {
          throw new LocalRuntimeError(
            'States.Runtime',
            `${stateName}: TimestampPath must select an RFC 3339 timestamp`,
          );
        }
        ms = (Date.parse(timestamp) - Date.now()) * this.timeScale;
      }
      await sleep(ms, exec.stop.signal);
      return input as never;
    };
  }

  private lambdaContext(
    logicalId: string,
    fn: LambdaFunctionInfo | undefined,
    requestId: string,
  ): LambdaContext {
    const deadline = Date.now() + (fn?.timeoutSeconds ?? 3) * 1000 * this.timeoutScale;
    return {
      functionName: logicalId,
      functionVersion: '$LATEST',
      invokedFunctionArn: lambdaArn(logicalId),
      memoryLimitInMB: String(fn?.memorySize ?? 128),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${logicalId}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
  }

  private handlerFor(logicalId: string): Promise<LambdaHandler> {
    let cached = this.handlerCache.get(logicalId);
    if (!cached) {
      cached = this.loadHandler(logicalId);
      this.handlerCache.set(logicalId, cached);
      // A failed load is retried on the next invocation (the file may have been fixed).
      cached.catch(() => this.handlerCache.delete(logicalId));
    }
    return cached;
  }

  private async loadHandler(logicalId: string): Promise<LambdaHandler> {
    const fn = this.app.functions[logicalId];
    const ref: HandlerRef = {
      logicalId,
      exportName: fn?.exportName ?? 'handler',
      ...(fn?.entry !== undefined ? { entry: fn.entry } : {}),
    };
    const handlers = this.options.handlers ?? {};
    const mapped =
      handlers[logicalId] ??
      (ref.entry !== undefined
        ? (handlers[`${ref.entry}#${ref.exportName}`] ??
          (ref.exportName === 'handler' ? handlers[ref.entry] : undefined))
        : undefined);
    if (mapped) return mapped;
    if (this.options.resolveHandler) return this.options.resolveHandler(ref);
    if (ref.entry === undefined) {
      throw new LambdaRuntimeError('Runtime.HandlerNotFound', `${logicalId} has no fleetflow:entry metadata`);
    }
    const file = resolvePath(this.rootDir, ref.entry);
    const rel = relative(this.rootDir, file);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new LambdaRuntimeError('Runtime.ImportModuleError', `${ref.entry} is outside ${this.rootDir}`);
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (error) {
      throw new LambdaRuntimeError(
        'Runtime.ImportModuleError',
        `Cannot load ${ref.entry}: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    const handler = mod[ref.exportName];
    if (typeof handler !== 'function') {
      throw new LambdaRuntimeError(
        'Runtime.HandlerNotFound',
        `${ref.entry}.${ref.exportName} is not an exported function`,
      );
    }
    return handler as LambdaHandler;
  }

  // ---- completion and history -----------------------------------------------------------------

  /** First terminal outcome wins (a stop racing a natural end is resolved in call order). */
  private settle(exec: Execution, outcome: Outcome): void {
    if (exec.record.status !== 'RUNNING') return;
    Object.assign(exec.record, outcome, { stopDate: new Date() });
    exec.timer?.clear();
    exec.stop.abort();
    if (outcome.status === 'ABORTED' || outcome.status === 'TIMED_OUT') exec.abortRun?.();
    for (const child of exec.children) {
      this.settle(child, { status: 'ABORTED', cause: managingTaskAborted(exec.record.executionArn) });
    }
    exec.children.clear();
    void this.finish(exec);
  }

  private async finish(exec: Execution): Promise<void> {
    // The library closes its event log on every ending (succeeded, failed, aborted): drain it
    // first so the terminal event is last.
    await exec.eventsDrained;
    const r = exec.record;
    const errorDetails = {
      ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.cause !== undefined ? { cause: r.cause } : {}),
    };
    switch (r.status) {
      case 'SUCCEEDED':
        this.pushEvent(exec, 'ExecutionSucceeded', {
          executionSucceededEventDetails: { output: r.output, outputDetails: { truncated: false } },
        });
        break;
      case 'FAILED':
        this.pushEvent(exec, 'ExecutionFailed', { executionFailedEventDetails: errorDetails });
        break;
      case 'ABORTED':
        this.pushEvent(exec, 'ExecutionAborted', { executionAbortedEventDetails: errorDetails });
        break;
      case 'TIMED_OUT':
        this.pushEvent(exec, 'ExecutionTimedOut', { executionTimedOutEventDetails: errorDetails });
        break;
    }
    this.log.debug('execution ended', { executionArn: r.executionArn, status: r.status });
    if (exec.notify) {
      for (const listener of this.listeners) {
        try {
          await listener(copyRecord(r));
        } catch (error) {
          this.log.warn('onExecutionEnd listener failed', {
            executionArn: r.executionArn,
            error: String(error),
          });
        }
      }
    }
    exec.resolveFinished(copyRecord(r));
    this.forgetOldClosed();
  }

  /** Drops the oldest closed executions beyond the retention cap (Map order is start order). */
  private forgetOldClosed(): void {
    const keep = this.options.retainClosedExecutions ?? 1_000;
    let closed = 0;
    for (const e of this.executions.values()) if (e.record.status !== 'RUNNING') closed++;
    for (const [arn, e] of this.executions) {
      if (closed <= keep) break;
      if (e.record.status === 'RUNNING') continue;
      this.executions.delete(arn);
      closed--;
    }
  }

  private async consume(exec: Execution, logs: AsyncGenerator<EventLog>): Promise<void> {
    try {
      for await (const event of logs) this.recordEvent(exec, event);
    } catch (error) {
      this.log.warn('event log failed', { executionArn: exec.record.executionArn, error: String(error) });
    }
  }

  private pushEvent(
    exec: Execution,
    type: string,
    details: Record<string, unknown>,
    timestamp = Date.now(),
  ): void {
    const id = exec.history.length + 1;
    exec.history.push({ id, previousEventId: id - 1, timestamp: new Date(timestamp), type, ...details });
  }

  /** Maps the library's event log onto AWS history event types (a minimal subset). */
  private recordEvent(exec: Execution, event: EventLog): void {
    const at = event.timestamp;
    switch (event.type) {
      case 'StateEntered':
      case 'StateExited': {
        const type = exec.machine.stateTypes.get(event.state.name) ?? event.state.type;
        if (event.type === 'StateEntered') {
          this.pushEvent(
            exec,
            `${type}StateEntered`,
            {
              stateEnteredEventDetails: {
                name: event.state.name,
                input: JSON.stringify(event.state.input ?? null),
                inputDetails: { truncated: false },
              },
            },
            at,
          );
        } else if (type !== 'Fail') {
          this.pushEvent(
            exec,
            `${type}StateExited`,
            {
              stateExitedEventDetails: {
                name: event.state.name,
                output: JSON.stringify(event.state.output ?? null),
                outputDetails: { truncated: false },
              },
            },
            at,
          );
        }
        return;
      }
      case 'StateFailed': {
        const type = exec.machine.stateTypes.get(event.state.name) ?? event.state.type;
        const error = String(event.Error);
        const cause = typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause ?? null);
        const timedOut = error === 'States.Timeout';
        const task = exec.machine.source.tasks[event.state.name];
        if (type === 'Task' && task?.style === 'direct') {
          // A Lambda called by ARN reports as LambdaFunction* events in AWS history.
          const t = timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed';
          this.pushEvent(exec, t, { [`${lowerFirst(t)}EventDetails`]: { error, cause } }, at);
        } else if (type === 'Task') {
          const [resourceType, resource] = serviceParts(task?.resource);
          const t = timedOut ? 'TaskTimedOut' : 'TaskFailed';
          this.pushEvent(
            exec,
            t,
            { [`${lowerFirst(t)}EventDetails`]: { resourceType, resource, error, cause } },
            at,
          );
        } else if (type === 'Map' || type === 'Parallel') {
          this.pushEvent(exec, `${type}StateFailed`, {}, at);
        }
        return;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const details = { name: event.parentState.name, index: event.index };
        this.pushEvent(exec, event.type, { [`${lowerFirst(event.type)}EventDetails`]: details }, at);
        return;
      }
      default:
        // Execution* events are written by the engine; retries, catches and Parallel branches
        // have no event of their own in AWS history.
        return;
    }
  }

  // ---- lookups --------------------------------------------------------------------------------

  private machineByArn(arn: string): PreparedMachine {
    if (typeof arn !== 'string' || !STATE_MACHINE_ARN_RE.test(arn))
      throw new InvalidArnError(`Invalid Arn: '${arn}'`);
    const m = this.machines.get(arn);
    if (!m) throw new StateMachineDoesNotExistError(`State Machine Does Not Exist: '${arn}'`);
    return m;
  }

  private executionByArn(arn: string): Execution {
    if (typeof arn !== 'string' || !EXECUTION_ARN_RE.test(arn))
      throw new InvalidArnError(`Invalid Arn: '${arn}'`);
    const e = this.executions.get(arn);
    if (!e) throw new ExecutionDoesNotExistError(`Execution Does Not Exist: '${arn}'`);
    return e;
  }
}

const lowerFirst = (s: string): string => `${s.charAt(0).toLowerCase()}${s.slice(1)}`;

/** `arn:aws:states:::dynamodb:putItem` → ['dynamodb', 'putItem']. */
function serviceParts(resource: string | undefined): [string, string] {
  const m = /^arn:aws[a-z-]*:states:::([^:]+):(.+)$/.exec(resource ?? '');
  return m?.[1] && m[2] ? [m[1], m[2]] : ['unknown', resource ?? 'unknown'];
}
