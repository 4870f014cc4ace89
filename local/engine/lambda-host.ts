import { randomUUID } from 'node:crypto';
import { isAbsolute, relative, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../../functions/log.ts';
import { type LambdaFunctionInfo, type LocalApp, lambdaArn } from './asl.ts';
import { HandlerLoadError } from './errors.ts';

/**
 * Runs the app's Lambda handlers in-process, as Lambda would: the module named by the function's
 * `fleetflow:entry` metadata, a Lambda context with the function's deadline, JSON in and out, and
 * failures reported as Lambda reports them to Step Functions.
 */

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

export interface LambdaHostOptions {
  rootDir: string;
  handlers?: Record<string, LambdaHandler>;
  resolveHandler?: HandlerResolver;
  timeoutScale: number;
  log: Logger;
}

/**
 * A handler's failure as Lambda reports it to Step Functions: the error name is the thrown
 * error's `name` (what Retry/Catch match), the cause is the runtime's JSON
 * `{errorType, errorMessage, trace}`. No `cause` property: the library would report it instead.
 */
export class LambdaFunctionError extends Error {
  constructor(errorType: string, payload: string) {
    super(payload);
    this.name = errorType;
  }
}

export function toLambdaError(error: unknown): LambdaFunctionError {
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

/** A deep copy through JSON, as a value crossing the Lambda boundary is; undefined becomes null. */
export function jsonCopy(value: unknown, what: string): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(value));
  } catch (error) {
    throw new LambdaRuntimeError('Runtime.MarshalError', `${what} is not JSON-serializable`, {
      cause: error,
    });
  }
}

export class LambdaHost {
  private readonly cache = new Map<string, Promise<LambdaHandler>>();

  constructor(
    private readonly app: LocalApp,
    private readonly options: LambdaHostOptions,
  ) {}

  /** Whether a Task invoking this function can run: a handler is mapped, resolved or marked. */
  isBound(logicalId: string): boolean {
    return Boolean(
      this.options.handlers?.[logicalId] ||
        this.options.resolveHandler ||
        this.app.functions[logicalId]?.entry !== undefined,
    );
  }

  /** Calls the function with a JSON copy of `payload`; resolves to a JSON copy of its result. */
  async invoke(logicalId: string, payload: unknown): Promise<unknown> {
    const fn = this.app.functions[logicalId];
    try {
      const handler = await this.handlerFor(logicalId);
      return jsonCopy(
        await handler(jsonCopy(payload, 'Payload'), this.context(logicalId, fn, randomUUID())),
        'handler result',
      );
    } catch (error) {
      if (error instanceof LambdaRuntimeError && error.name !== 'Runtime.MarshalError') {
        this.options.log.error('handler could not be loaded', { function: logicalId, error: error.message });
      }
      throw toLambdaError(error);
    }
  }

  /** Imports the handlers now: a bad entry fails at startup, and loading stays out of Task timeouts. */
  async preload(logicalIds: Iterable<string>): Promise<void> {
    const list = [...new Set(logicalIds)];
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

  private context(logicalId: string, fn: LambdaFunctionInfo | undefined, requestId: string): LambdaContext {
    const deadline = Date.now() + (fn?.timeoutSeconds ?? 3) * 1000 * this.options.timeoutScale;
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
    let cached = this.cache.get(logicalId);
    if (!cached) {
      cached = this.load(logicalId);
      this.cache.set(logicalId, cached);
      // A failed load is retried on the next invocation (the file may have been fixed).
      cached.catch(() => this.cache.delete(logicalId));
    }
    return cached;
  }

  private async load(logicalId: string): Promise<LambdaHandler> {
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
    const { rootDir } = this.options;
    const file = resolvePath(rootDir, ref.entry);
    const rel = relative(rootDir, file);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new LambdaRuntimeError('Runtime.ImportModuleError', `${ref.entry} is outside ${rootDir}`);
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
}
