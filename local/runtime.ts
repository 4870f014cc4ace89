import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { App } from 'aws-cdk-lib';
import type { AccountEntry, FleetflowConfig } from '../functions/config/schema.ts';
import { handler as jobsApi } from '../functions/handlers/jobs-api.ts';
import { httpHandler as postEvents } from '../functions/handlers/remediation-event.ts';
import { scheduleApi } from '../functions/handlers/schedule-api.ts';
import { handler as snooze } from '../functions/handlers/snooze.ts';
import { handler as snoozeSlack } from '../functions/handlers/snooze-slack.ts';
import { handler as webhookAlert } from '../functions/handlers/webhook-alert.ts';
import { handler as webhookProvision } from '../functions/handlers/webhook-provision.ts';
import { createLogger, type Logger } from '../functions/log.ts';
import { notifyJobEnd } from '../functions/notify/notifier.ts';
import type { ProviderDefinition } from '../functions/providers/definition.ts';
import { closeAllPools } from '../functions/providers/http/client.ts';
import type { ProviderId } from '../functions/providers/port.ts';
import { PROVIDERS } from '../functions/providers/registry.ts';
import { readPolicyFile } from '../functions/remediation/policy-file.ts';
import { REMEDIATE_MACHINE, SWEEP_MACHINE } from '../functions/remediation/start.ts';
import { type AccountConfig, AccountConfigError } from '../functions/runtime/accounts.ts';
import { AUDIT_KEY_ENV, ensureLocalAuditKeys } from '../functions/runtime/audit-key.ts';
import { stores } from '../functions/runtime/stores.ts';
import { POWER_SCHEDULE_MACHINE } from '../functions/schedule/run.ts';
import { WARN_MACHINE } from '../functions/schedule/warn.ts';
import { generateSnoozeKey } from '../functions/schedule/warn-key.ts';
import { ensureLocalSecretsKey, SECRETS_KEY_ENV } from '../functions/secrets/keys.ts';
import { registerDirectLine } from '../functions/store/direct.ts';
import {
  createDynamo,
  ensureTables,
  isStoreUnavailable,
  localDynamoConfig,
} from '../functions/store/dynamo.ts';
import { isTerminal } from '../functions/store/jobs.ts';
import { tableNames } from '../functions/store/tables.ts';
import { generateSecret } from '../functions/webhooks/standard-webhooks.ts';
import { FleetflowStack } from '../infra/fleetflow-stack.ts';
import { createSimulator } from '../sim/index.ts';
import type { SimulatorBase, SimulatorOptions } from '../sim/kit/index.ts';
import { startCheckpointTimer } from './audit-checkpoints.ts';
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
import { damageLine, prepareDataFolder } from './store/doctor.ts';
import { startDynaliteThread } from './store/dynalite-thread.ts';
import {
  cleanUpProvisioning,
  expireDeadClaims,
  type RecoveryContext,
  type RecoveryReport,
  recoverJobs,
  summarize,
} from './store/recovery.ts';

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
  /** How often the audit trail is checkpointed (default every 5 minutes; also at each job's end). */
  checkpointEveryMs?: number;
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
  /** What this start did with the jobs the last runtime left unfinished. */
  recovery: RecoveryReport;
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
    // Before dynalite opens the folder: its indexes are rebuilt from its items where a kill left
    // them apart. Claims older than this moment belong to a process that is gone.
    const bootTime = new Date();
    const dynamoPath = options.persist === false ? undefined : join(dataDir, 'dynamo');
    let damaged = false;
    if (dynamoPath) damaged = (await prepareDataFolder(dynamoPath, log)) === undefined;
    // On its own thread: the engine and the handlers keep this one (see dynalite-thread.ts).
    const dynamo = await startDynaliteThread({
      ...(dynamoPath && { path: dynamoPath }),
      credentials,
      allowHosts,
      // A damaged data file: one line naming it; reads of that part answer 503, the rest works.
      onDamage: (damage) => {
        damaged = true;
        log.error(damageLine(damage, dataDir));
      },
    });
    closers.push(() => dynamo.close());
    // This process's handlers reach it without sockets (functions/store/direct.ts); others by HTTP.
    if (dynamo.direct) {
      const unregister = registerDirectLine(dynamo.endpoint, dynamo.direct);
      closers.push(async () => unregister());
    }
    const names = tableNames('fleetflow');
    const admin = createDynamo({ ...localDynamoConfig(dynamo.endpoint), credentials });
    try {
      await ensureTables(admin.client, names, { timeoutMs: damaged ? 2_000 : 30_000 });
    } catch (error) {
      // A damaged table still lets the server up: what it holds answers 503 (the damage is logged).
      if (!damaged && !isStoreUnavailable(error)) throw error;
    } finally {
      admin.destroy();
    }

    // ---- providers: as the config's accounts say (endpoint, credentials), else the real API
    // where credentials are set, else a simulator in this process -----------------------------
    const simulators: Partial<Record<ProviderId, SimulatorBase>> = {};
    const accounts: AccountConfig[] = [];
    const locations = new Map<string, string>();
    for (const def of Object.values(PROVIDERS)) {
      if (options.providers && !options.providers.includes(def.id)) continue;
      const configured = (options.config?.accounts ?? []).filter((a) => a.provider === def.id);
      if (configured.some((a) => a.endpoint || a.credentialsEnv)) {
        for (const a of configured) {
          accounts.push(configuredAccount(a, def, env));
          locations.set(`${a.provider}/${a.account}`, a.locations[0]!);
        }
        continue;
      }
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

    // An account's requestsPerSecond paces its calls: this process sends all of them.
    for (const a of accounts) {
      const rate = options.config?.accounts?.find(
        (c) => c.provider === a.provider && c.account === a.account,
      )?.requestsPerSecond;
      if (rate) a.requestsPerSecond = rate;
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

    // ---- the audit keys, by reference: the user's, else 0600 key files in the data folder ---
    let auditKeys = { chain: env[AUDIT_KEY_ENV.chain], checkpoint: env[AUDIT_KEY_ENV.checkpoint] };
    if (!auditKeys.chain || !auditKeys.checkpoint) {
      const local = ensureLocalAuditKeys(dataDir);
      auditKeys = {
        chain: auditKeys.chain ?? local.chain,
        checkpoint: auditKeys.checkpoint ?? local.checkpoint,
      };
    }
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
      FLEETFLOW_JOB_ITEMS_TABLE: names.jobItems,
      FLEETFLOW_AUDIT_TABLE: names.audit,
      FLEETFLOW_IDEMPOTENCY_TABLE: names.idempotency,
      FLEETFLOW_ACCOUNTS: JSON.stringify(accounts),
      FLEETFLOW_WEBHOOK_SECRET: webhookSecret,
      // Provisioning secrets are sealed with the user's key reference, else a 0600 key file here.
      [SECRETS_KEY_ENV]: env[SECRETS_KEY_ENV] ?? ensureLocalSecretsKey(dataDir),
      [AUDIT_KEY_ENV.chain]: auditKeys.chain,
      [AUDIT_KEY_ENV.checkpoint]: auditKeys.checkpoint,
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

    // ---- audit checkpoints: now (before resumed executions run), every few minutes, at each
    // workflow's end, and at stop -------------------------------------------------------------
    const checkpoints = await startCheckpointTimer({
      log,
      ...(options.checkpointEveryMs && { everyMs: options.checkpointEveryMs }),
    });
    const stopListening = engine.onExecutionEnd((execution) => checkpoints.executionEnded(execution));
    closers.push(async () => {
      stopListening();
      await checkpoints.stop();
    });

    // Claims held by the dead process are expired first, so resumed steps take them over at once;
    // then executions resume (handlers need the environment above); then each unfinished job is
    // brought in line with its execution: resumed, closed, started, or ended with the reason.
    const claimsExpired = await expireDeadClaims(stores(), bootTime, log);
    const resumed = await engine.recover();
    const recovery = await recoverJobs({
      stores: stores(),
      executionOf: executionLookup(engine, resumed, log),
      cleanup: (job) => (job.kind === 'provision' ? cleanUpProvisioning(job) : Promise.resolve(undefined)),
      log,
    });
    recovery.claimsExpired = claimsExpired;
    if (recovery.jobs.length || recovery.claimsExpired || recovery.unreadable.length)
      log.info('recovered after a restart', summarize(recovery));

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
        { method: 'GET', path: '/jobs/{id}/results', handler: jobsApi },
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
            const location =
              locations.get(`${a.provider}/${a.account}`) ??
              simulators[a.provider]?.defaultLocation ??
              PROVIDERS[a.provider].defaultLocation;
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
      recovery,
      ...(scheduler && { scheduler }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * A provider account of the config file that says where its API is (`endpoint`, e.g. simulators
 * run by `fleetflow sim --all`, which keep their state across restarts of this runtime) or where
 * its credentials are (`credentialsEnv`). Credentials are read from the environment here, never
 * from the file.
 */
function configuredAccount(a: AccountEntry, def: ProviderDefinition, env: NodeJS.ProcessEnv): AccountConfig {
  const name = `${a.provider} account '${a.account}'`;
  let credentials: Record<string, string> | undefined;
  if (a.credentialsEnv) {
    credentials = {};
    for (const [field, variable] of Object.entries(a.credentialsEnv)) {
      const value = env[variable];
      if (!value)
        throw new AccountConfigError(
          `${name}: the environment variable ${variable} (its ${field}) is not set`,
        );
      credentials[field] = value;
    }
  } else if (a.account === 'default') credentials = def.credentialsFromEnv(env);
  if (!credentials)
    throw new AccountConfigError(
      `${name} has no credentials: set ${def.credentialEnv.join(' and ')}, or name the variables in its credentialsEnv`,
    );
  return {
    provider: a.provider,
    account: a.account,
    ...(a.endpoint && { endpoint: a.endpoint }),
    credentials,
  };
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
 * The engine's view of a job's execution after `recover()`: found by the job's execution ARN, else
 * by name (= job id: a job cut before its first step had not recorded its execution yet).
 */
function executionLookup(
  engine: LocalEngine,
  recovered: Recovery,
  log: Logger,
): RecoveryContext['executionOf'] {
  const cannotResume = new Map(recovered.interrupted.map((i) => [i.executionArn, i.reason]));
  const known = new Map<string, ExecutionRecord>();
  for (const arn of engine.knownExecutionArns()) {
    const record = engine.describeExecution(arn);
    known.set(arn, record);
    if (!known.has(record.name)) known.set(record.name, record);
  }
  return (job) => {
    const execution = known.get(job.executionArn ?? job.jobId) ?? known.get(job.jobId);
    if (!execution) return undefined;
    const reason = cannotResume.get(execution.executionArn);
    if (reason !== undefined) return { state: 'interrupted', reason };
    if (execution.status === 'RUNNING') return { state: 'running' };
    // It ended before the restart and its end listener was cut short: close the job now.
    return { state: 'ended', settle: () => settleJob(execution, log) };
  };
}
