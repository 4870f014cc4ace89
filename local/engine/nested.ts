import { randomUUID } from 'node:crypto';
import { LocalRuntimeError, SfnApiError, TaskFailure } from './errors.ts';
import type { Execution, ExecutionRecord, Outcome, TaskCall } from './execution.ts';
import { longTimeout } from './prepare.ts';

/**
 * `states:startExecution[.sync[:2]]` Tasks: a child execution of a machine of the same engine,
 * started with the Task's resolved Parameters `{StateMachineArn, Input, Name}`. Request-response
 * returns the StartExecution answer; `.sync` and `.sync:2` wait for the child and return its
 * description, or fail with States.TaskFailed and that description as the cause when it did not
 * succeed (AWS: "Start a new AWS Step Functions state machine from a running execution").
 */

export interface StartRequest {
  stateMachineArn: string;
  name?: string;
  input?: string;
}

export interface ChildHost {
  /** StartExecution with the API's rules; `parent` makes the child stop when the parent ends. */
  start(request: StartRequest, parent?: Execution): Promise<Execution>;
  /** An execution this engine knows (running, ended, or resumed after a restart). */
  attach(executionArn: string, parent?: Execution): Execution | undefined;
  settle(exec: Execution, outcome: Outcome): void;
}

/** The cause AWS gives a resource whose managing Task was stopped with its execution. */
export const managingTaskAborted = (parentArn: string): string =>
  `The Task state in AWS Step Functions execution [${parentArn}] which was managing this resource was aborted`;

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

/**
 * The StartExecution request a Task makes from its resolved Parameters: an `Input` that is a
 * string is passed as JSON text (as the API takes it), any other value is serialized; no Input
 * is `{}`. A Parameters shape the API cannot take is a States.Runtime error.
 */
export function childRequest(stateName: string, raw: unknown): StartRequest {
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

/**
 * A child execution as `.sync` (payloads as JSON text) and `.sync:2` (payloads as JSON) return
 * it: DescribeExecution in PascalCase, keys in alphabetical order, dates in epoch milliseconds.
 */
export function executionEnvelope(r: ExecutionRecord, jsonPayloads: boolean): Record<string, unknown> {
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

/** The work of a `states:startExecution` Task. */
export async function runChildExecution(
  host: ChildHost,
  parent: Execution,
  call: TaskCall,
): Promise<unknown> {
  const integration = call.task.integration ?? 'request';
  const request = childRequest(call.state, call.params);
  const waits = integration === 'request' ? undefined : parent;
  // The child's name is on the parent's journal before the child starts: a replay of this Task
  // finds that child (running, ended or resumed) instead of starting a second one.
  const key = call.attempt.key;
  const recorded = parent.journal?.children.get(key);
  const name = recorded ?? request.name ?? randomUUID();
  if (recorded === undefined) await parent.journal?.append({ t: 'child', key, name });
  const machineName = request.stateMachineArn.slice(request.stateMachineArn.lastIndexOf(':') + 1);
  const arn = request.stateMachineArn.replace(/:stateMachine:[^:]+$/, `:execution:${machineName}:${name}`);
  let child = recorded === undefined ? undefined : host.attach(arn, waits);
  if (!child) {
    try {
      child = await host.start({ ...request, name }, waits);
    } catch (error) {
      if (error instanceof SfnApiError) throw apiFailure(error);
      throw error;
    }
  }
  const started = {
    ExecutionArn: child.record.executionArn,
    SdkHttpMetadata: { HttpStatusCode: 200 },
    SdkResponseMetadata: { RequestId: randomUUID() },
    StartDate: child.record.startDate.getTime(),
  };
  if (integration === 'request') return started;
  call.submitted({ ExecutionArn: started.ExecutionArn, StartDate: started.StartDate });
  // The library's own TimeoutSeconds race cannot reach the child: stop it at the same deadline.
  const deadline = parent.machine.taskTimeoutsMs.get(call.state);
  const stopChild = () =>
    host.settle(child, { status: 'ABORTED', cause: managingTaskAborted(parent.record.executionArn) });
  const timer = deadline === undefined ? undefined : longTimeout(stopChild, deadline);
  let record: ExecutionRecord;
  try {
    record = await child.finished;
  } finally {
    timer?.clear();
    parent.children.delete(child);
  }
  const envelope = executionEnvelope(record, integration === 'sync2');
  if (record.status === 'SUCCEEDED') return envelope;
  throw new TaskFailure('States.TaskFailed', JSON.stringify(envelope));
}
