import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
} from 'aws-local-stepfunctions';
import { createLogger, type Logger } from '../../functions/log.ts';
import {
  LOCAL_ACCOUNT,
  LOCAL_PARTITION,
  LOCAL_REGION,
  type LocalApp,
  type ResolvedStateMachine,
  stateMachineArn,
} from './asl.ts';
import {
  EngineClosedError,
  ExecutionAlreadyExistsError,
  ExecutionDoesNotExistError,
  InvalidArnError,
  InvalidExecutionInputError,
  InvalidNameError,
  LocalRuntimeError,
  StateMachineDoesNotExistError,
  UnboundTaskError,
} from './errors.ts';
import {
  Execution,
  type ExecutionRecord,
  type ExecutionStatus,
  type Outcome,
  type TaskCall,
} from './execution.ts';
import type { HistoryEvent } from './history.ts';
import { hookedRunOptions, installHooks, RunHandle } from './hooks.ts';
import { definitionDigest, type ExecutionJournal, JournalStore } from './journal.ts';
import { type HandlerResolver, jsonCopy, type LambdaHandler, LambdaHost } from './lambda-host.ts';
import { type ChildHost, managingTaskAborted, runChildExecution, type StartRequest } from './nested.ts';
import { longTimeout, type PreparedMachine, prepareMachine, type StateMachineInfo } from './prepare.ts';
import { MAX_PAYLOAD_BYTES, utf8Bytes } from './quotas.ts';

export type { ExecutionRecord, ExecutionStatus } from './execution.ts';
export type { HistoryEvent } from './history.ts';
export type { HandlerRef, HandlerResolver, LambdaContext, LambdaHandler } from './lambda-host.ts';
export type { StateMachineInfo } from './prepare.ts';
export { MAX_HISTORY_EVENTS, MAX_INLINE_MAP_CONCURRENCY, MAX_PAYLOAD_BYTES } from './quotas.ts';

/**
 * The local orchestration engine: runs the synthesized state machines with aws-local-stepfunctions,
 * every Task bound in-process to its Lambda handler (or a child execution, or a service
 * integration the caller provides), and keeps Step Functions-shaped execution records for the
 * SFN-compatible endpoint (sfn-endpoint.ts). docs/local-engine.md says what it runs, which AWS
 * quotas it enforces and how, and where it differs from AWS.
 *
 * With `journalDir`, executions survive a restart (journal.ts): `recover()` on the next engine
 * resumes every execution that had not ended, replaying recorded Task outcomes and Wait deadlines,
 * and answers for the closed ones. Without it, executions live in memory only.
 */

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
  /**
   * Folder of the execution journals (`<dataDir>/executions` under `fleetflow start`): every
   * execution is recorded there as it runs, and `recover()` resumes them after a restart.
   */
  journalDir?: string;
  /** Closed journals kept on disk, oldest removed first; their names stay taken. Default 1,000. */
  retainJournals?: number;
  logger?: Logger;
}

/** What `recover()` did with the journals a previous engine left. */
export interface Recovery {
  /** Executions that had not ended and run again from their journal. */
  resumed: string[];
  /** Executions that cannot resume (closed ABORTED with error `Local.Interrupted`), with why. */
  interrupted: Array<{ executionArn: string; reason: string }>;
  /** Executions that had ended; they answer Describe/List, their history keeps its first and last events. */
  closed: string[];
}

type Overrides = NonNullable<RunOptions['overrides']>;
type LocalTaskHandler = NonNullable<Overrides['taskResourceLocalHandlers']>[string];

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

export class LocalEngine {
  private readonly machines = new Map<string, PreparedMachine>();
  private readonly executions = new Map<string, Execution>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly listeners = new Set<ExecutionEndListener>();
  private readonly lambdas: LambdaHost;
  private readonly journals?: JournalStore;
  private readonly timeScale: number;
  private readonly log: Logger;
  /** What executions and child Tasks call back into; kept off the public surface. */
  private readonly host: ChildHost & { work(exec: Execution, call: TaskCall): Promise<unknown> };
  private closed = false;

  constructor(
    private readonly app: LocalApp,
    private readonly options: LocalEngineOptions = {},
  ) {
    installHooks();
    this.timeScale = options.timeScale ?? 1;
    const timeoutScale = options.timeoutScale ?? 1;
    for (const [k, v] of [
      ['timeScale', this.timeScale],
      ['timeoutScale', timeoutScale],
    ] as const) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`${k} must be a finite number >= 0`);
    }
    this.log = options.logger ?? createLogger({ component: 'local-engine' });
    if (options.onExecutionEnd) this.listeners.add(options.onExecutionEnd);
    this.lambdas = new LambdaHost(app, {
      rootDir: options.rootDir ?? fileURLToPath(new URL('../..', import.meta.url)),
      ...(options.handlers ? { handlers: options.handlers } : {}),
      ...(options.resolveHandler ? { resolveHandler: options.resolveHandler } : {}),
      timeoutScale,
      log: this.log,
    });
    if (options.journalDir)
      this.journals = new JournalStore(options.journalDir, options.retainJournals ?? 1_000);
    this.host = {
      start: (request, parent) => this.start(request, parent),
      attach: (arn, parent) => {
        const child = this.executions.get(arn);
        if (child && parent) this.adopt(parent, child);
        return child;
      },
      settle: (exec, outcome) => this.settle(exec, outcome),
      work: (exec, call) => this.work(exec, call),
    };
    for (const sm of app.stateMachines) {
      const prepared = prepareMachine(sm, {
        timeScale: this.timeScale,
        timeoutScale,
        checkBound: (m, state) => this.checkBound(m, state),
        functionTimeoutSeconds: (id) => app.functions[id]?.timeoutSeconds,
      });
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

  describeExecution(executionArn: string): ExecutionRecord {
    return this.executionByArn(executionArn).snapshot();
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
      out.push(e.snapshot());
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

  /** The execution's events, oldest first, in AWS's types and detail fields (see history.ts). */
  getExecutionHistory(executionArn: string): HistoryEvent[] {
    return this.executionByArn(executionArn).events();
  }

  /** Resolves when the execution is closed and every onExecutionEnd listener has run. */
  waitForExecution(executionArn: string): Promise<ExecutionRecord> {
    return this.executionByArn(executionArn).finished;
  }

  /** Every execution this engine instance knows (all statuses). Lost on restart: see the module comment. */
  knownExecutionArns(): string[] {
    return [...this.executions.keys()];
  }

  /**
   * Imports every bound handler now instead of on first invocation: a bad entry fails at startup,
   * and module loading stays out of Task timeouts.
   */
  preloadHandlers(): Promise<void> {
    const ids: string[] = [];
    for (const m of this.machines.values()) {
      for (const t of Object.values(m.source.tasks)) if (t.lambda !== undefined) ids.push(t.lambda);
    }
    return this.lambdas.preload(ids);
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
    const running = [...this.executions.values()].filter((e) => e.running);
    // Cut, not ended: a journaled execution keeps no end record and resumes on the next start.
    // All are marked first, so a parent's stop does not end its `.sync` child.
    for (const exec of running) {
      exec.notify = false;
      exec.cut = true;
    }
    for (const exec of running) {
      this.settle(exec, {
        status: 'ABORTED',
        error: 'Local.EngineClosed',
        cause: 'the local engine was closed',
      });
    }
    await Promise.all(running.map((e) => e.finished));
    await Promise.all([...this.executions.values()].map((e) => e.journal?.close()));
    await this.journals?.close();
  }

  /**
   * Resumes what a previous engine on the same journal folder left: each execution without an end
   * runs again from its input, recorded Task outcomes replayed (their work is not called again),
   * recorded Wait deadlines kept, child executions re-attached; the first unrecorded step runs for
   * real. An execution whose machine is gone or whose definition changed cannot be replayed: it
   * is closed ABORTED (`Local.Interrupted`) and reported. Call once, before new executions start.
   */
  async recover(): Promise<Recovery> {
    const recovery: Recovery = { resumed: [], interrupted: [], closed: [] };
    if (!this.journals) return recovery;
    const resumable: Array<{ exec: Execution; parsed: unknown }> = [];
    for (const journal of this.journals.load()) {
      const { start } = journal;
      const machine = this.machines.get(start.machine);
      const exec = new Execution(
        this.host,
        {
          executionArn: start.arn,
          stateMachineArn: start.machine,
          name: start.name,
          status: 'RUNNING',
          input: start.input,
          startDate: new Date(start.startDate),
        },
        machine ?? this.placeholderMachine(start.machine),
        journal,
      );
      this.executions.set(start.arn, exec);
      exec.history.push(
        'ExecutionStarted',
        { executionStartedEventDetails: { input: start.input, inputDetails: { truncated: false } } },
        start.startDate,
      );
      if (journal.end) {
        exec.loadEnd(journal.end);
        recovery.closed.push(start.arn);
        continue;
      }
      const reason = !machine
        ? `its state machine ${start.machine} no longer exists`
        : definitionDigest(machine.info.definition) !== start.definition
          ? `the definition of ${machine.info.name} changed since it started`
          : undefined;
      if (reason) {
        exec.notify = false;
        this.settle(exec, {
          status: 'ABORTED',
          error: 'Local.Interrupted',
          cause: `cannot resume: ${reason}`,
        });
        recovery.interrupted.push({ executionArn: start.arn, reason });
        continue;
      }
      resumable.push({ exec, parsed: JSON.parse(start.input) });
    }
    // Every execution is known before any runs, so a resuming parent finds its resuming child.
    for (const { exec } of resumable) {
      const parentArn = exec.journal?.start.parent;
      const parent = parentArn ? this.executions.get(parentArn) : undefined;
      if (parent) this.adopt(parent, exec);
    }
    for (const { exec, parsed } of resumable) {
      this.run(exec, parsed);
      recovery.resumed.push(exec.record.executionArn);
    }
    this.journals.prune();
    this.forgetOldClosed();
    this.log.info('executions recovered', {
      resumed: recovery.resumed.length,
      interrupted: recovery.interrupted.length,
      closed: recovery.closed.length,
    });
    return recovery;
  }

  // ---- starting -------------------------------------------------------------------------------

  /** StartExecution for the API and for `states:startExecution` Tasks (`parent` set for `.sync`). */
  private async start(request: StartRequest, parent?: Execution): Promise<Execution> {
    if (this.closed) throw new EngineClosedError('the local engine is closed');
    const machine = this.machineByArn(request.stateMachineArn);
    const name = request.name ?? randomUUID();
    if (!isValidName(name)) throw new InvalidNameError(`Invalid Name: '${name}'`);
    const input = request.input ?? '{}';
    const parsed = this.parseInput(input);
    const executionArn = `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${machine.info.name}:${name}`;

    for (;;) {
      const existing = this.executions.get(executionArn);
      if (existing) {
        if (existing.running && existing.record.input === input) {
          if (parent) this.adopt(parent, existing);
          return existing;
        }
        throw new ExecutionAlreadyExistsError(`Execution Already Exists: '${executionArn}'`);
      }
      const pending = this.starting.get(executionArn);
      if (!pending) break;
      await pending;
    }

    if (this.journals?.nameTaken(executionArn)) {
      throw new ExecutionAlreadyExistsError(`Execution Already Exists: '${executionArn}'`);
    }
    const guard = this.options.executionNameInUse;
    if (!guard && !this.journals) return this.launch(machine, executionArn, name, input, parsed, parent);
    let release!: () => void;
    this.starting.set(executionArn, new Promise<void>((r) => (release = r)));
    try {
      if (await guard?.(executionArn)) {
        throw new ExecutionAlreadyExistsError(`Execution Already Exists: '${executionArn}'`);
      }
      if (this.closed) throw new EngineClosedError('the local engine is closed');
      // StartExecution answers only once the start is on disk.
      const startDate = new Date();
      const journal = await this.journals?.create({
        t: 'start',
        arn: executionArn,
        machine: machine.info.stateMachineArn,
        name,
        input,
        startDate: startDate.getTime(),
        definition: definitionDigest(machine.info.definition),
        ...(parent ? { parent: parent.record.executionArn } : {}),
      });
      if (this.closed) throw new EngineClosedError('the local engine is closed');
      return this.launch(machine, executionArn, name, input, parsed, parent, journal, startDate);
    } finally {
      this.starting.delete(executionArn);
      release();
    }
  }

  private parseInput(input: string): unknown {
    if (utf8Bytes(input) > MAX_PAYLOAD_BYTES) {
      throw new InvalidExecutionInputError(`input is larger than ${MAX_PAYLOAD_BYTES} bytes`);
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
    journal?: ExecutionJournal,
    startDate = new Date(),
  ): Execution {
    const exec = new Execution(
      this.host,
      {
        executionArn,
        stateMachineArn: machine.info.stateMachineArn,
        name,
        status: 'RUNNING',
        input,
        startDate,
      },
      machine,
      journal,
    );
    this.executions.set(executionArn, exec);
    exec.history.push(
      'ExecutionStarted',
      {
        executionStartedEventDetails: {
          input,
          inputDetails: { truncated: false },
          roleArn: machine.info.roleArn,
        },
      },
      startDate.getTime(),
    );
    this.run(exec, parsed);
    this.log.debug('execution started', { executionArn });
    if (parent) this.adopt(parent, exec);
    return exec;
  }

  /** Runs (or, after a restart, re-runs) an execution from its input. */
  private run(exec: Execution, parsed: unknown): void {
    const { machine, record } = exec;
    exec.measure(parsed);
    // $$.Execution.Input and StartTime are filled in by the library; the rest only via context.
    const context = {
      Execution: {
        Id: record.executionArn,
        Name: record.name,
        RoleArn: machine.info.roleArn,
        RedriveCount: 0,
      },
      StateMachine: { Id: machine.info.stateMachineArn, Name: machine.info.name },
    };
    const runOptions = hookedRunOptions(
      { overrides: this.overridesFor(exec), context },
      new RunHandle(exec, machine.nested),
    );
    const run = machine.runner.run(parsed as never, runOptions);
    exec.abortRun = run.abort;
    if (machine.timeoutMs !== undefined) {
      // A resumed execution keeps its original deadline.
      exec.timer = longTimeout(
        () =>
          this.settle(exec, {
            status: 'TIMED_OUT',
            error: 'States.Timeout',
            cause: 'The execution exceeded the state machine TimeoutSeconds',
          }),
        machine.timeoutMs - (Date.now() - record.startDate.getTime()),
      );
    }
    run.result.then(
      (output) => this.settle(exec, { status: 'SUCCEEDED', output: JSON.stringify(output ?? null) }),
      (error: unknown) => this.settle(exec, this.failure(error)),
    );
  }

  /** A `.sync` child stops with its parent; a parent that already ended stops it at once. */
  private adopt(parent: Execution, child: Execution): void {
    parent.children.add(child);
    if (!parent.running) {
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

  // ---- Task work --------------------------------------------------------------------------------

  private overridesFor(exec: Execution): Overrides {
    const m = exec.machine;
    const taskResourceLocalHandlers: Record<string, LocalTaskHandler> = {};
    for (const [stateName, task] of Object.entries(m.source.tasks)) {
      taskResourceLocalHandlers[stateName] = (params) => exec.runTask(stateName, task, params) as never;
    }
    for (const stateName of m.pathWaits)
      taskResourceLocalHandlers[stateName] = this.waitHandler(exec, stateName);
    // Read by the library when a Wait starts / before a retry's backoff: the execution keeps
    // (or replays) the Wait's deadline and skips backoffs whose retry outcome is recorded.
    const waitTimeOverrides: Record<string, number> = {};
    for (const [stateName, seconds] of m.waitSeconds) {
      Object.defineProperty(waitTimeOverrides, stateName, {
        enumerable: true,
        get: () => exec.waitMs(stateName, seconds * 1000 * this.timeScale),
      });
    }
    for (const [stateName, ts] of m.waitTimestamps) {
      Object.defineProperty(waitTimeOverrides, stateName, {
        enumerable: true,
        get: () => exec.waitMs(stateName, (Date.parse(ts) - Date.now()) * this.timeScale),
      });
    }
    const retryIntervalOverrides: Record<string, number> = {};
    for (const [stateName, state] of m.states) {
      if (!Array.isArray(state.Retry)) continue;
      Object.defineProperty(retryIntervalOverrides, stateName, {
        enumerable: true,
        get: () => exec.retryDelayMs(stateName),
      });
    }
    return { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides };
  }

  /** The work behind one Task attempt, by how the Task reaches it. */
  private async work(exec: Execution, call: TaskCall): Promise<unknown> {
    const { task, params } = call;
    switch (task.style) {
      case 'service': {
        const integration = this.options.serviceIntegrations?.[task.resource];
        return jsonCopy(await integration?.(jsonCopy(params, 'Parameters')), 'service result');
      }
      case 'execution':
        return runChildExecution(this.host, exec, call);
      case 'direct':
        return this.lambdas.invoke(task.lambda ?? '', params ?? {});
      case 'invoke': {
        const payload = (params as Record<string, unknown> | null)?.Payload ?? {};
        const result = await this.lambdas.invoke(task.lambda ?? '', payload);
        return {
          ExecutedVersion: '$LATEST',
          Payload: result,
          SdkHttpMetadata: { HttpStatusCode: 200 },
          SdkResponseMetadata: { RequestId: randomUUID() },
          StatusCode: 200,
        };
      }
    }
  }

  /** A SecondsPath/TimestampPath Wait run as a local Task so its time can be scaled. */
  private waitHandler(exec: Execution, stateName: string): LocalTaskHandler {
    return async (raw) => {
      const attempt = exec.take(stateName);
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
      await sleep(await exec.waitFor(attempt, ms), exec.stop.signal);
      return input as never;
    };
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
    if (this.lambdas.isBound(id)) return;
    throw new UnboundTaskError(
      this.app.functions[id]
        ? `${sm.name}: Task ${stateName} invokes ${id}, which has no fleetflow:entry metadata (use markHandler)`
        : `${sm.name}: Task ${stateName} invokes ${id}, which is not a Lambda of this app`,
    );
  }

  // ---- completion -------------------------------------------------------------------------------

  /** First terminal outcome wins (a stop racing a natural end is resolved in call order). */
  private settle(exec: Execution, outcome: Outcome): void {
    if (!exec.running) return;
    Object.assign(exec.record, outcome, { stopDate: new Date() });
    exec.timer?.clear();
    exec.stop.abort();
    if (outcome.status === 'ABORTED' || outcome.status === 'TIMED_OUT') exec.abortRun?.();
    for (const child of exec.children) {
      this.settle(child, { status: 'ABORTED', cause: managingTaskAborted(exec.record.executionArn) });
    }
    exec.children.clear();
    const r = exec.record;
    const errorDetails = {
      ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.cause !== undefined ? { cause: r.cause } : {}),
    };
    const terminal = {
      SUCCEEDED: [
        'ExecutionSucceeded',
        { executionSucceededEventDetails: { output: r.output, outputDetails: { truncated: false } } },
      ],
      FAILED: ['ExecutionFailed', { executionFailedEventDetails: errorDetails }],
      ABORTED: ['ExecutionAborted', { executionAbortedEventDetails: errorDetails }],
      TIMED_OUT: ['ExecutionTimedOut', { executionTimedOutEventDetails: errorDetails }],
    } as const;
    const [type, details] = terminal[outcome.status];
    exec.history.push(type, details);
    const journal = exec.journal;
    const written =
      journal && !exec.cut
        ? journal
            .append({
              t: 'end',
              status: outcome.status,
              ...(r.output !== undefined ? { output: r.output } : {}),
              ...(r.error !== undefined ? { error: r.error } : {}),
              ...(r.cause !== undefined ? { cause: r.cause } : {}),
              stopDate: (r.stopDate ?? new Date()).getTime(),
              historyEventCount: exec.history.count,
              maxPayloadBytes: exec.maxPayloadBytes,
            })
            .then(async () => {
              this.journals?.closed(journal);
              await journal.close();
            })
            .catch((error: unknown) =>
              this.log.error('could not record the end of an execution', {
                executionArn: r.executionArn,
                error: String(error),
              }),
            )
        : Promise.resolve();
    void this.finish(exec, written);
  }

  private async finish(exec: Execution, written: Promise<void>): Promise<void> {
    // Listeners (and `.sync` parents) hear of the end only once it is on disk.
    await written;
    const r = exec.snapshot();
    this.log.debug('execution ended', { executionArn: r.executionArn, status: r.status });
    if (exec.notify) {
      for (const listener of this.listeners) {
        try {
          await listener(exec.snapshot());
        } catch (error) {
          this.log.warn('onExecutionEnd listener failed', {
            executionArn: r.executionArn,
            error: String(error),
          });
        }
      }
    }
    exec.markFinished();
    this.forgetOldClosed();
  }

  /** Drops the oldest closed executions beyond the retention cap (Map order is start order). */
  private forgetOldClosed(): void {
    const keep = this.options.retainClosedExecutions ?? 1_000;
    let closed = 0;
    for (const e of this.executions.values()) if (!e.running) closed++;
    for (const [arn, e] of this.executions) {
      if (closed <= keep) break;
      if (e.running) continue;
      this.executions.delete(arn);
      closed--;
    }
  }

  /** Stands in for a machine that no longer exists, so its journaled executions still answer. */
  private placeholderMachine(arn: string): PreparedMachine {
    const name = arn.slice(arn.lastIndexOf(':') + 1);
    return prepareMachine(
      {
        logicalId: name,
        name,
        type: 'STANDARD',
        definition: { StartAt: 'Gone', States: { Gone: { Type: 'Succeed' } } } as never,
        lambdaByTask: {},
        tasks: {},
      },
      { timeScale: 1, timeoutScale: 1, checkBound: () => undefined, functionTimeoutSeconds: () => undefined },
    );
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
