import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handler as awaitProgress } from '../../../functions/handlers/await-progress.ts';
import { handler as instanceCreate } from '../../../functions/handlers/instance-create.ts';
import { createLogger } from '../../../functions/log.ts';
import type { LambdaHandler } from '../../../local/engine/index.ts';
import { type Runtime, type RuntimeOptions, startRuntime } from '../../../local/runtime.ts';

/**
 * One embedded runtime for an end-to-end test file: the real CDK app on the local engine, dynalite
 * in memory, every provider's simulator, the HTTP server on a free port. Nothing is mocked: the
 * create and poll tasks run the real handlers, wrapped so a test can add a fault at an exact
 * point of one job (a crash after the provider call, someone deleting the instance mid-wait).
 */

/** Runs after the real create handler returned, before its answer reaches the workflow. */
export type AfterCreate = (event: { jobId: string }, result: unknown, call: number) => void | Promise<void>;
/** Runs before the real poll handler. */
export type BeforePoll = (event: {
  jobId: string;
  wait: { step: string; instanceId?: string };
}) => void | Promise<void>;

export interface FaultHooks {
  afterCreate: Map<string, AfterCreate>;
  beforePoll: Map<string, BeforePoll>;
}

export interface TestRuntime {
  runtime: Runtime;
  hooks: FaultHooks;
  dataDir: string;
  close(): Promise<void>;
}

/** A Lambda that crashed (or timed out) is reported to Step Functions as `Lambda.Unknown`. */
export class LambdaCrash extends Error {
  override name = 'Lambda.Unknown';
}

export const TIME_SCALE = 0.01;

export async function startTestRuntime(
  options: Partial<RuntimeOptions> & { dataDir?: string } = {},
): Promise<TestRuntime> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'fleetflow-e2e-'));
  const hooks: FaultHooks = { afterCreate: new Map(), beforePoll: new Map() };
  const createCalls = new Map<string, number>();

  const create: LambdaHandler = async (event: { jobId: string }) => {
    const call = (createCalls.get(event.jobId) ?? 0) + 1;
    createCalls.set(event.jobId, call);
    const result = await instanceCreate(event);
    await hooks.afterCreate.get(event.jobId)?.(event, result, call);
    return result;
  };
  const poll: LambdaHandler = async (event: Parameters<BeforePoll>[0]) => {
    await hooks.beforePoll.get(event.jobId)?.(event);
    return awaitProgress(event);
  };

  const runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: TIME_SCALE,
    simulator: { transitionMs: 20, operationMs: 20 },
    // Never the real APIs, whatever credentials the machine has in its environment.
    env: {},
    logger: createLogger({ component: 'runtime' }, 'silent'),
    handlerOverrides: {
      'functions/handlers/instance-create.ts': create,
      'functions/handlers/await-progress.ts': poll,
    },
    ...options,
  });
  return {
    runtime,
    hooks,
    dataDir,
    async close() {
      await runtime.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
