import { serviceParts, type TaskInfo } from './asl.ts';
import { MAX_HISTORY_EVENTS } from './quotas.ts';

/**
 * An execution's history, in AWS's event types and detail fields (API reference: HistoryEvent),
 * counted the way the 25,000-event quota counts it: every event, nested Map iterations and
 * Parallel branches included, one list per execution (a child execution has its own).
 *
 * What each state writes (see docs/local-engine.md for the table):
 * - every state: `<Type>StateEntered` and `<Type>StateExited` (a Fail state only enters);
 * - Task: Scheduled, Started, then Succeeded / Failed / TimedOut per attempt (`.sync` adds
 *   Submitted); a Lambda called by ARN writes LambdaFunction* instead of Task*;
 * - Map: Started after Entered, MapIterationStarted/Succeeded|Failed|Aborted around each
 *   iteration's own events, then Succeeded or Failed;
 * - Parallel: Started after Entered, the branches' events, then Succeeded or Failed.
 */

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

const TERMINAL = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionAborted', 'ExecutionTimedOut']);

export const lowerFirst = (s: string): string => `${s.charAt(0).toLowerCase()}${s.slice(1)}`;

export class History {
  private readonly list: HistoryEvent[] = [];

  /** `onLimit` ends the execution when an event other than ExecutionSucceeded would be the last one allowed. */
  constructor(private readonly onLimit: () => void) {}

  get count(): number {
    return this.list.length;
  }

  events(): HistoryEvent[] {
    return this.list.map((e) => ({ ...e }));
  }

  /** Appends an event; false when the quota refused it (the execution is then being failed). */
  push(type: string, details: Record<string, unknown> = {}, timestamp = Date.now()): boolean {
    if (this.list.length >= MAX_HISTORY_EVENTS) return false;
    if (this.list.length === MAX_HISTORY_EVENTS - 1 && !TERMINAL.has(type)) {
      this.onLimit();
      return false;
    }
    const id = this.list.length + 1;
    this.list.push({ id, previousEventId: id - 1, timestamp: new Date(timestamp), type, ...details });
    return true;
  }
}

/** A payload in event details, with its `…Details: {truncated}` (the engine never truncates). */
export function payload(key: 'input' | 'output', text: string): Record<string, unknown> {
  return { [key]: text, [`${key}Details`]: { truncated: false } };
}

/** The names and details of the events a Task writes, by how it reaches its work. */
export interface TaskEvents {
  scheduled(parameters: string, timeoutSeconds?: number): [string, Record<string, unknown>];
  started(): [string, Record<string, unknown>];
  submitted(output: string): [string, Record<string, unknown>];
  succeeded(output: string): [string, Record<string, unknown>];
  failed(error: string, cause: string): [string, Record<string, unknown>];
  timedOut(error: string, cause: string): [string, Record<string, unknown>];
}

export function taskEvents(task: TaskInfo, region: string): TaskEvents {
  if (task.style === 'direct') {
    // A Lambda named by ARN in Resource: AWS writes LambdaFunction* events.
    const d = (
      type: string,
      details: Record<string, unknown> | undefined,
    ): [string, Record<string, unknown>] => [
      type,
      details ? { [`${lowerFirst(type)}EventDetails`]: details } : {},
    ];
    return {
      scheduled: (parameters, timeoutSeconds) =>
        d('LambdaFunctionScheduled', {
          resource: task.resource,
          ...payload('input', parameters),
          ...(timeoutSeconds !== undefined ? { timeoutInSeconds: timeoutSeconds } : {}),
        }),
      started: () => d('LambdaFunctionStarted', undefined),
      submitted: (output) => d('LambdaFunctionSucceeded', payload('output', output)),
      succeeded: (output) => d('LambdaFunctionSucceeded', payload('output', output)),
      failed: (error, cause) => d('LambdaFunctionFailed', { error, cause }),
      timedOut: (error, cause) => d('LambdaFunctionTimedOut', { error, cause }),
    };
  }
  const [resourceType, resource] = serviceParts(task.resource);
  const d = (type: string, details: Record<string, unknown> = {}): [string, Record<string, unknown>] => [
    type,
    { [`${lowerFirst(type)}EventDetails`]: { resourceType, resource, ...details } },
  ];
  return {
    scheduled: (parameters, timeoutSeconds) =>
      d('TaskScheduled', {
        region,
        parameters,
        ...(timeoutSeconds !== undefined ? { timeoutInSeconds: timeoutSeconds } : {}),
      }),
    started: () => d('TaskStarted'),
    submitted: (output) => d('TaskSubmitted', payload('output', output)),
    succeeded: (output) => d('TaskSucceeded', payload('output', output)),
    failed: (error, cause) => d('TaskFailed', { error, cause }),
    timedOut: (error, cause) => d('TaskTimedOut', { error, cause }),
  };
}
