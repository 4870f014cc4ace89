import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { App } from 'aws-cdk-lib';
import type { FleetflowConfig } from '../functions/config/schema.ts';
import { handler as jobsApi } from '../functions/handlers/jobs-api.ts';
import { httpHandler as postEvents } from '../functions/handlers/remediation-event.ts';
import { scheduleApi } from '../functions/handlers/schedule-api.ts';
import { handler as snooze } from '../functions/handlers/snooze.ts';
import { handler as snoozeSlack } from '../functions/handlers/snooze-slack.ts';
import { handler as webhookAlert } from '../functions/handlers/webhook-alert.ts';
import { handler as webhookProvision } from '../functions/handlers/webhook-provision.ts';
import { createLogger, type Logger } from '../functions/log.ts';
import { notifyJobEnd } from '../functions/notify/notifier.ts';
import { closeAllPools } from '../functions/providers/http/client.ts';
import type { ProviderId } from '../functions/providers/port.ts';
import { PROVIDERS } from '../functions/providers/registry.ts';
import { readPolicyFile } from '../functions/remediation/policy-file.ts';
import { REMEDIATE_MACHINE, SWEEP_MACHINE } from '../functions/remediation/start.ts';
import type { AccountConfig } from '../functions/runtime/accounts.ts';
import { stores } from '../functions/runtime/stores.ts';
import { POWER_SCHEDULE_MACHINE } from '../functions/schedule/run.ts';
import { WARN_MACHINE } from '../functions/schedule/warn.ts';
import { generateSnoozeKey } from '../functions/schedule/warn-key.ts';
import { createDynamo, ensureTables, localDynamoConfig } from '../functions/store/dynamo.ts';
import { isTerminal } from '../functions/store/jobs.ts';
import { tableNames } from '../functions/store/tables.ts';
import { generateSecret } from '../functions/webhooks/standard-webhooks.ts';
import { FleetflowStack } from '../infra/fleetflow-stack.ts';
import { createSimulator } from '../sim/index.ts';
import type { SimulatorBase, SimulatorOptions } from '../sim/kit/index.ts';
import {
  API_TOKEN_FILE,
  AWS_CREDENTIALS_FILE,
  ensureApiToken,
  ensureLocalKeyPair,
  secureDataFolder,
  tightenedLine,
} from './auth/data-folder.ts';
import type { AwsKeyPair } from './auth/sigv4.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import {
  type ExecutionRecord,
  type LambdaHandler,
  LocalEngine,
  loadApp,
  type Recovery,
  startSfnEndpoint,
} from './engine/index.ts';
import { type RunningHttpServer, startHttpServer } from './http/server.ts';
import { startSweepTimers } from './remediation-sweeps.ts';
import { type LocalScheduler, type SchedulerClock, startLocalScheduler } from './scheduler.ts';
import { startDynalite } from './store/dynalite.ts';

/**
 * The embedded runtime behind `fleetflow start`: the same CDK app synthesized and its state
 * machines run by the local engine, dynalite for DynamoDB, the webhook and jobs handlers behind a
 * local HTTP server, and each provider either the real API (credentials in the environment) or
 * its simulator. Handlers find all of it through the same configuration they read on Lambda
 * (table names, AWS_ENDPOINT_URL_*, FLEETFLOW_ACCOUNTS), never through an "if local" branch.
 */
export interface RuntimeOptions {
  dataDir: string;
  port?: number;
  /**
   * Keep DynamoDB data in <dataDir>/dynamo and execution journals in <dataDir>/executions
   * (default: executions then survive a restart), or both in memory (tests).
   */
  persist?: boolean;
  /** Scales Wait states and retry intervals (tests use ~0.001); deadlines follow. */
  timeScale?: number;
  /** Simulator timing for providers without credentials. */
  simulator?: Pick<
    SimulatorOptions,
    | 'transitionMs'
    | 'operationMs'
    | 'fleetSize'
    | 'seed'
    | 'idleShare'
    | 'metricsStepMs'
    | 'latencyMs'
    | 'rateLimitRps'
  >;
  /** Only these providers (default: all five). */
  providers?: ProviderId[];
  /** Where credentials are looked up; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /**
   * Task handlers to use instead of the synthesized ones, keyed as LocalEngine's `handlers` (Lambda
   * logical id, `entry#export`, or `entry`). For tests that wrap a real handler to inject a fault
   * at an exact point (e.g. a crash after the provider call); `fleetflow start` never sets it.
   */
  handlerOverrides?: Record<string, LambdaHandler>;
  /** The loaded config file: its schedules run on the local scheduler (`scheduler: false` to not). */
  config?: FleetflowConfig;
  scheduler?: boolean;
  /** The local scheduler's clock (tests run schedules on a scaled one); the real one by default. */
  schedulerClock?: SchedulerClock;
  /** Host names the local endpoints answer to besides loopback (`fleetflow start --allow-host`). */
  allowHosts?: readonly string[];
}

export interface Runtime {
  urls: { http: string; sfn: string; dynamodb: string };
  webhookSecret: string;
  /** The local API token the HTTP API's state-changing routes require (<dataDir>/api-token). */
  apiToken: string;
  /** The one AWS key pair the local Step Functions and DynamoDB endpoints accept (<dataDir>/aws-credentials). */
  credentials: AwsKeyPair;
  /** The HTTP API's routes and the access rule each is served under. */
  httpRoutes: RunningHttpServer['routes'];
  /** Provider → the simulator serving it (absent when the real API is used). */
  simulators: Partial<Record<ProviderId, SimulatorBase>>;
  accounts: AccountConfig[];
  engine: LocalEngine;
  /** Present when a config with schedules was given. */
  scheduler?: LocalScheduler;
  close(): Promise<void>;
}

let publicUrlWeSet: string | undefined;

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const env = options.env ?? process.env;
  const log = options.logger ?? createLogger({ component: 'runtime' });
  const dataDir = resolve(options.dataDir);
  // Private to this user before anything is read or written: folders 0700, files 0600.
  const tightened = secureDataFolder(dataDir);
  const line = tightenedLine(options.dataDir, tightened);
  if (line) log.warn(line);
  // The endpoints' credentials; a copy others could read is replaced, not trusted.
  const exposed = new Set(tightened.paths);
  const credentials = ensureLocalKeyPair(dataDir, { replace: exposed.has(AWS_CREDENTIALS_FILE) });
  const apiToken = ensureApiToken(dataDir, { replace: exposed.has(API_TOKEN_FILE) });
  const allowHosts = options.allowHosts ?? [];
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await closeAllPools();
  };

  try {
    // ---- DynamoDB ----------------------------------------------------------------------
    const dynamo = await startDynalite({
      ...(options.persist !== false && { path: join(dataDir, 'dynamo') }),
      credentials,
      allowHosts,
    });
    closers.push(() => dynamo.close());
    const names = tableNames('fleetflow');
    const admin = createDynamo({ ...localDynamoConfig(dynamo.endpoint), credentials });
    await ensureTables(admin.client, names);
    admin.destroy();

    // ---- providers: the real API where credentials are set, else the simulator -----------
    const simulators: Partial<Record<ProviderId, SimulatorBase>> = {};
    const accounts: AccountConfig[] = [];
    for (const def of Object.values(PROVIDERS)) {
      if (options.providers && !options.providers.includes(def.id)) continue;
      if (def.credentialsFromEnv(env)) {
        accounts.push({ provider: def.id, account: 'default' });
        continue;
      }
      const sim = await createSimulator(def.id, { seed: 42, ...options.simulator }).start();
      closers.push(() => sim.close());
      simulators[def.id] = sim;
      accounts.push({
        provider: def.id,
        account: 'default',
        endpoint: sim.endpoint(sim.defaultLocation),
        credentials: sim.credentials,
      });
    }

    // ---- the webhook secret: the user's, else one kept in the data folder ------------------
    const secretFile = join(dataDir, 'webhook-secret');
    const webhookSecret =
      env.FLEETFLOW_WEBHOOK_SECRET ??
      (existsSync(secretFile)
        ? readFileSync(secretFile, 'utf8').trim()
        : (() => {
            const s = generateSecret();
            writeFileSync(secretFile, `${s}\n`, { mode: 0o600 });
            return s;
          })());

    // ---- the key that signs snooze links: the user's, else one kept in the data folder -------
    const snoozeKeyFile = join(dataDir, 'snooze-key');
    const snoozeKey =
      env.FLEETFLOW_SNOOZE_KEY ??
      (existsSync(snoozeKeyFile)
        ? readFileSync(snoozeKeyFile, 'utf8').trim()
        : (() => {
            const k = generateSnoozeKey();
            writeFileSync(snoozeKeyFile, `${k}\n`, { mode: 0o600 });
            return k;
          })());

    // ---- the handlers' configuration, exactly the variables Lambda would have -------------
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      // The handlers' SDK clients sign with the data folder's key pair, as a Lambda's role would.
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      FLEETFLOW_JOBS_TABLE: names.jobs,
      FLEETFLOW_AUDIT_TABLE: names.audit,
      FLEETFLOW_IDEMPOTENCY_TABLE: names.idempotency,
      FLEETFLOW_ACCOUNTS: JSON.stringify(accounts),
      FLEETFLOW_WEBHOOK_SECRET: webhookSecret,
      FLEETFLOW_SNOOZE_KEY: snoozeKey,
      FLEETFLOW_TIME_SCALE: String(options.timeScale ?? 1),
      FLEETFLOW_EVENT_LOG: join(dataDir, 'events.jsonl'),
      // The config file's notifications, unless the environment already says where they go.
      ...(options.config?.notifications.length && !process.env.FLEETFLOW_NOTIFICATIONS
        ? { FLEETFLOW_NOTIFICATIONS: JSON.stringify(options.config.notifications) }
        : {}),
    });
    // A session token of the user's own AWS credentials would ride along with the key pair above
    // (the SDK reads both from the environment) and the local endpoints would refuse it.
    delete process.env.AWS_SESSION_TOKEN;

    // ---- the same app as on AWS, its state machines on the local engine --------------------
    // No bundling and no built-in template validation (8 s of WebAssembly per synth): the local
    // engine needs only the definitions; `cdk synth` and the infra tests still run both.
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [] },
      outdir: join(dataDir, 'cdk.out'),
      builtinCloudFormationValidation: false,
    });
    new FleetflowStack(app, 'Fleetflow');
    const engine = new LocalEngine(loadApp(app), {
      timeScale: options.timeScale ?? 1,
      ...(options.handlerOverrides && { handlers: options.handlerOverrides }),
      onExecutionEnd: (execution) => settleJob(execution, log),
      // Executions are journaled as they run, and the next start resumes them.
      ...(options.persist === false ? {} : { journalDir: join(dataDir, 'executions') }),
      // Execution names stay taken across restarts, as on AWS: a job that recorded this
      // execution means it already ran, so a redelivery cannot start it twice.
      executionNameInUse: async (executionArn) => {
        const job = await stores().jobs.get(executionArn.slice(executionArn.lastIndexOf(':') + 1));
        return job?.executionArn === executionArn;
      },
    });
    // A handler that cannot load fails the start, not the first webhook.
    await engine.preloadHandlers();
    closers.push(() => engine.close());
    const sfn = await startSfnEndpoint(engine, { credentials, allowHosts });
    closers.push(() => sfn.close());
    process.env.AWS_ENDPOINT_URL_SFN = sfn.url;
    process.env.FLEETFLOW_PROVISION_STATE_MACHINE_ARN = engine.stateMachineArn('provision');
    process.env.FLEETFLOW_POWER_SCHEDULE_STATE_MACHINE_ARN = engine.stateMachineArn(POWER_SCHEDULE_MACHINE);
    process.env.FLEETFLOW_REMEDIATE_STATE_MACHINE_ARN = engine.stateMachineArn(REMEDIATE_MACHINE);
    process.env.FLEETFLOW_SWEEP_STATE_MACHINE_ARN = engine.stateMachineArn(SWEEP_MACHINE);
    process.env.FLEETFLOW_WARN_STATE_MACHINE_ARN = engine.stateMachineArn(WARN_MACHINE);
    // The remediation policies reach the handlers as FLEETFLOW_POLICIES, as on Lambda: from the
    // environment as given, else the file FLEETFLOW_CONFIG names, else the runtime's config.
    if (!process.env.FLEETFLOW_POLICIES) {
      const policies = process.env.FLEETFLOW_CONFIG
        ? readPolicyFile(process.env.FLEETFLOW_CONFIG).policies.map((p) => p.raw)
        : (options.config as { policies?: unknown[] } | undefined)?.policies;
      if (policies?.length) process.env.FLEETFLOW_POLICIES = JSON.stringify(policies);
    }

    // Executions that were running when the last runtime stopped resume (handlers need the
    // environment above); jobs whose execution cannot resume or was lost are INTERRUPTED.
    const recovery = await engine.recover();
    await reconcileJobs(engine, recovery, log);

    const http = await startHttpServer({
      port: options.port ?? 8787,
      apiToken,
      allowHosts,
      // GET routes read; every other route needs the API token, but the signed webhooks.
      routes: [
        { method: 'POST', path: '/webhooks/provision', handler: webhookProvision, access: 'signed' },
        { method: 'POST', path: '/webhooks/alert', handler: webhookAlert, access: 'signed' },
        { method: 'POST', path: '/events', handler: postEvents },
        { method: 'GET', path: '/jobs', handler: jobsApi },
        { method: 'GET', path: '/jobs/{id}', handler: jobsApi },
        { method: 'GET', path: '/overrides', handler: scheduleApi(options.config) },
        { method: 'POST', path: '/overrides', handler: scheduleApi(options.config) },
        { method: 'DELETE', path: '/overrides/{id}', handler: scheduleApi(options.config) },
        { method: 'GET', path: '/schedules/plan', handler: scheduleApi(options.config) },
        // Snooze links from warnings: no API token (they are opened from a notice), but each carries
        // its own signed token, which the handler checks like a webhook's signature. GET only shows.
        { method: 'GET', path: '/snooze', handler: snooze },
        { method: 'POST', path: '/snooze', handler: snooze, access: 'signed' },
        // A Slack app's interactivity URL: signed by Slack, and each button carries its token.
        { method: 'POST', path: '/snooze/slack', handler: snoozeSlack, access: 'signed' },
        // The dashboard at `/`: each configured account listed at its simulator's (or the default) location.
        ...dashboardRoutes({
          engine,
          apiToken,
          fleetTargets: accounts.flatMap((a) => {
            const location = simulators[a.provider]?.defaultLocation ?? PROVIDERS[a.provider].defaultLocation;
            return location ? [{ provider: a.provider, account: a.account, location }] : [];
          }),
          ...(options.config && { config: options.config }),
        }),
      ],
    });
    closers.push(() => http.close());
    // The base of the snooze links in warnings: this server, unless the user says otherwise
    // (a value an earlier runtime of this process set is not the user's).
    const given = env.FLEETFLOW_PUBLIC_URL;
    process.env.FLEETFLOW_PUBLIC_URL = given && given !== publicUrlWeSet ? given : http.url;
    publicUrlWeSet = process.env.FLEETFLOW_PUBLIC_URL === given ? publicUrlWeSet : http.url;

    // ---- the config's schedules, started through the Step Functions API as on AWS ----------
    let scheduler: LocalScheduler | undefined;
    if (options.config && options.scheduler !== false && Object.keys(options.config.schedules).length > 0) {
      const client = new SFNClient({ endpoint: sfn.url, region: 'us-east-1', credentials });
      scheduler = startLocalScheduler({
        config: options.config,
        sfn: client,
        stateMachineArn: engine.stateMachineArn(POWER_SCHEDULE_MACHINE),
        warnStateMachineArn: engine.stateMachineArn(WARN_MACHINE),
        log,
        ...(options.schedulerClock && { clock: options.schedulerClock }),
      });
      closers.push(async () => {
        scheduler?.stop();
        client.destroy();
      });
    }

    // Periodic policies' sweeps on timers (EventBridge Scheduler on AWS).
    if (options.scheduler !== false) {
      const sweeps = startSweepTimers({ log });
      closers.push(async () => sweeps.stop());
    }

    const urls = { http: http.url, sfn: sfn.url, dynamodb: dynamo.endpoint };
    writeFileSync(join(dataDir, 'endpoints.json'), `${JSON.stringify(urls, null, 2)}\n`, { mode: 0o600 });
    closers.push(async () => writeFileSync(join(dataDir, 'endpoints.json'), '{}\n'));
    // The simulators and the demo credentials they accept, for `fleetflow instances` and `policy check`.
    const simulatorsFile = join(dataDir, 'simulators.json');
    const described = Object.fromEntries(Object.entries(simulators).map(([id, sim]) => [id, sim.describe()]));
    writeFileSync(simulatorsFile, `${JSON.stringify(described, null, 2)}\n`, { mode: 0o600 });
    closers.push(async () => writeFileSync(simulatorsFile, '{}\n'));
    return {
      urls,
      webhookSecret,
      apiToken,
      credentials,
      httpRoutes: http.routes,
      simulators,
      accounts,
      engine,
      ...(scheduler && { scheduler }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** An execution that ended without its job being closed (a machine timeout, an abort) closes it. */
async function settleJob(execution: ExecutionRecord, log: Logger): Promise<void> {
  if (execution.status === 'SUCCEEDED') return;
  const jobId = execution.name;
  try {
    const { jobs } = stores();
    const job = await jobs.get(jobId);
    if (!job || isTerminal(job.status)) return;
    // Only the job's own execution closes it, never a child execution that happens to share its name
    // (a job cut before its first step recorded no execution yet).
    if (job.executionArn !== undefined && job.executionArn !== execution.executionArn) return;
    const to = execution.status === 'ABORTED' ? 'CANCELLED' : 'FAILED';
    const ended = await jobs.transition(
      jobId,
      job.status === 'QUEUED' && to === 'CANCELLED' ? 'CANCELLED' : to,
      {
        error: {
          code: execution.error ?? execution.status,
          message: `the workflow ended ${execution.status.toLowerCase()}`,
        },
      },
    );
    // The recorder task never ran for this job, so its job-end notification goes out here.
    await notifyJobEnd(ended);
  } catch (error) {
    log.warn('could not settle job after execution end', { jobId, message: (error as Error).message });
  }
}

/**
 * After a restart, brings each job that was QUEUED or RUNNING in line with its execution: a resumed
 * execution carries on; one that ended before the restart (its listener cut short) closes its job;
 * one that cannot resume, or that was never journaled, leaves its job INTERRUPTED with the reason.
 */
async function reconcileJobs(engine: LocalEngine, recovery: Recovery, log: Logger): Promise<void> {
  const { jobs } = stores();
  const cannotResume = new Map(recovery.interrupted.map((i) => [i.executionArn, i.reason]));
  const known = new Map<string, ExecutionRecord>();
  for (const arn of engine.knownExecutionArns()) {
    const record = engine.describeExecution(arn);
    known.set(arn, record);
    // A job cut before its first step recorded its execution is found by name (= job id).
    if (!known.has(record.name)) known.set(record.name, record);
  }
  for (const status of ['RUNNING', 'QUEUED'] as const) {
    const found = [];
    for await (const job of jobs.listAll({ status })) found.push(job);
    for (const job of found) {
      const execution = known.get(job.executionArn ?? job.jobId);
      const reason = execution ? cannotResume.get(execution.executionArn) : undefined;
      if (execution && reason === undefined) {
        if (execution.status !== 'RUNNING') await settleJob(execution, log);
        continue;
      }
      const error = {
        code: 'Interrupted',
        message: reason
          ? `the runtime restarted and this job's execution cannot resume: ${reason}`
          : 'the runtime stopped while this job ran; its execution was lost',
      };
      await jobs.transition(job.jobId, status === 'RUNNING' ? 'INTERRUPTED' : 'FAILED', { error });
      log.warn('job interrupted by a restart', { jobId: job.jobId, reason: error.message });
    }
  }
}
