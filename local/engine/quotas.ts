/**
 * Step Functions' quotas, enforced as AWS reports them (docs/local-engine.md has each one and
 * how it is counted):
 * - 262,144 bytes (UTF-8) for an execution's input, any state's input or output, a Task's
 *   parameters and result, and each Map iteration's input (the ItemSelector output):
 *   `States.DataLimitExceeded`, which Retry/Catch match only when they name it — `States.ALL`
 *   and `States.TaskFailed` do not (AWS "Handling errors in Step Functions workflows").
 * - 25,000 events in an execution's history: the 25,000th event may only be ExecutionSucceeded,
 *   anything else ends the execution FAILED (AWS "Avoid reaching the history quota").
 * - 40 concurrent iterations of an inline Map, whatever its MaxConcurrency.
 */

export const MAX_PAYLOAD_BYTES = 262_144;
export const MAX_HISTORY_EVENTS = 25_000;
export const MAX_INLINE_MAP_CONCURRENCY = 40;

/** How an execution that reached the history quota fails (the cause is AWS's wording). */
export const HISTORY_LIMIT_FAILURE = {
  error: 'States.Runtime',
  cause: `The execution reached the maximum number of history events (${MAX_HISTORY_EVENTS}).`,
} as const;

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

type Handlers = unknown;

/** True when a Retry or Catch list has an entry that names States.DataLimitExceeded itself. */
function namesDataLimit(list: Handlers): boolean {
  return (
    Array.isArray(list) &&
    list.some(
      (h) =>
        Array.isArray((h as { ErrorEquals?: unknown })?.ErrorEquals) &&
        (h as { ErrorEquals: unknown[] }).ErrorEquals.includes('States.DataLimitExceeded'),
    )
  );
}

/**
 * States.DataLimitExceeded. The library asks an error whether it is retryable/catchable before
 * matching a state's retriers/catchers; `state` is the state the error is failing right now (set
 * as it passes each state), so only a retrier/catcher that names it explicitly applies.
 */
export class DataLimitExceededError extends Error {
  override name = 'States.DataLimitExceeded';
  state?: { Retry?: Handlers; Catch?: Handlers };
  get isRetryable(): boolean {
    return namesDataLimit(this.state?.Retry);
  }
  get isCatchable(): boolean {
    return namesDataLimit(this.state?.Catch);
  }
}

export type PayloadKind = 'input' | 'output' | 'parameters' | 'result';

/** The error, worded as AWS words it ("…returned a result with a size exceeding…"). */
export function dataLimitExceeded(stateName: string, kind: PayloadKind): DataLimitExceededError {
  const what =
    kind === 'result' || kind === 'output'
      ? 'returned a result with a size exceeding the maximum number of bytes service limit.'
      : `has ${kind} with a size exceeding the maximum number of bytes service limit.`;
  return new DataLimitExceededError(`The state/task '${stateName}' ${what}`);
}

/** A counting semaphore: at most `size` holders at once, waiters served in arrival order. */
export class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly size: number) {}

  acquire(): Promise<void> {
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.used--;
  }
}
