import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { validateConfig } from '../functions/config/load.ts';
import { handler as scheduleAct } from '../functions/handlers/schedule-act.ts';
import { handler as schedulePage } from '../functions/handlers/schedule-page.ts';
import { handler as schedulePlan } from '../functions/handlers/schedule-plan.ts';
import { handler as schedulePoll } from '../functions/handlers/schedule-poll.ts';
import { handler as scheduleResult } from '../functions/handlers/schedule-result.ts';
import { createLogger } from '../functions/log.ts';
import type { ProviderId } from '../functions/providers/port.ts';
import { providerDefinition } from '../functions/providers/registry.ts';
import {
  POWER_SCHEDULE_PAGE_MACHINE,
  runName,
  scheduleRunInput,
  startScheduleRun,
} from '../functions/schedule/run.ts';
import { signedHeaders } from '../functions/webhooks/standard-webhooks.ts';
import { FleetflowStack } from '../infra/fleetflow-stack.ts';
import type { HistoryEvent, LambdaHandler } from '../local/engine/index.ts';
import { type Runtime, startRuntime } from '../local/runtime.ts';
import { CONTRACT_FIXTURES } from '../test/contract/fixtures.ts';
import { startDynamoMeter } from './_dynamo-meter.ts';

/**
 * `npm run bench -- cost [--fleet 10000] [--memory-mb 256] [--aws-ms-per-call 400]`
 *
 * Measures what one provisioning costs in Step Functions state transitions and Lambda
 * invocations/durations, by running the real provisioning workflow on the local engine (the same
 * CDK app, every provider's simulator) and reading each execution's history; measures a schedule
 * stop and start of `--fleet` instances the same way (every execution, parent and pages; Lambda
 * time of each schedule handler; DynamoDB capacity units through a metering proxy); then prices
 * a month of fleetflow for that fleet on two schedule edges a day, 100 provisionings and 100
 * remediations (docs/cost.md explains every line).
 *
 * What is measured and what is estimated:
 *   - transitions: every `…StateEntered` event of the history (AWS bills one transition per state
 *     entered, retries included). MEASURED, except the number of polls: the simulators finish an
 *     operation in ~20 ms, a real cloud in tens of seconds, so the poll loops are re-counted with
 *     the poll handler's own back-off (2 s, ×1.5, at most 30 s) for assumed real durations;
 *   - Lambda: invocations = Task states entered (MEASURED); duration = Task entered → exited on the
 *     local engine (MEASURED, in-process against simulators) and, for AWS, an assumed
 *     --aws-ms-per-call per invocation (provider API latency dominates, cold starts included);
 *   - schedules: MEASURED at fleet scale (transitions, invocations, Lambda time, DynamoDB
 *     units); only the verify loop's ticks are re-counted for a real 30 s operation;
 *     remediations: ESTIMATED from the provisioning measurements
 *     (one action + its wait loop + a record per instance and edge; a remediation ≈ a plain
 *     provisioning's fixed transitions with one action).
 */

const PRICES = {
  /** Step Functions Standard, us-east-1, per state transition (first 4,000 a month free). */
  sfnTransition: 0.025 / 1000,
  /** Lambda, per request. */
  lambdaRequest: 0.2 / 1_000_000,
  /** Lambda arm64, per GB-second (first tier). */
  lambdaGbSecondArm: 0.0000133334,
  /** DynamoDB on-demand, per write / read request unit (us-east-1). */
  dynamoWrite: 0.625 / 1_000_000,
  dynamoRead: 0.125 / 1_000_000,
  /** Secrets Manager, per secret and month; per 10,000 API calls. */
  secret: 0.4,
  secretCalls: 0.05 / 10_000,
  /** CloudWatch Logs ingestion per GB; standard alarm per month. */
  logsGb: 0.5,
  alarm: 0.1,
  /** KMS customer-managed key (the alarms topic), per month. */
  kmsKey: 1,
  /** API Gateway HTTP API, per request. */
  httpApiRequest: 1 / 1_000_000,
};

/** Assumed real durations (seconds) of the provider operations the workflow waits for. */
const REAL_OPERATION_SECONDS: Record<string, number> = {
  create: 60,
  snapshot: 90,
  scale: 30,
  stop: 30,
  start: 45,
  default: 30,
};

/** Polls the poll handler's back-off needs to see an operation of `seconds` finish. */
export function pollsFor(seconds: number): number {
  let waited = 0;
  let wait = 2;
  let polls = 0;
  while (waited < seconds) {
    waited += wait;
    polls++;
    wait = Math.min(30, Math.ceil(wait * 1.5));
  }
  return polls;
}

interface Measured {
  provider: ProviderId;
  variant: 'full' | 'plain';
  status: string;
  transitions: number;
  taskInvocations: number;
  lambdaMs: number;
  /** label → polls measured on the simulator */
  polls: Record<string, number>;
  /** Transitions with the poll loops re-counted for real operation durations. */
  awsTransitions: number;
  awsPolls: number;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function requestFor(
  provider: ProviderId,
  location: string,
  variant: 'full' | 'plain',
): Record<string, unknown> {
  const def = providerDefinition(provider);
  const spec = CONTRACT_FIXTURES[def.id].createSpec;
  let where: Record<string, unknown>;
  if (provider === 'gcore') {
    const [project, region] = location.split('/').map(Number);
    where = { project, region };
  } else if (provider === 'cloudca') {
    const [serviceCode, environment] = location.split('/');
    where = { serviceCode, environment };
  } else if (provider === 'genesiscloud') where = { region: location };
  else where = { zone: location };
  return {
    provider,
    ...where,
    name: spec.name,
    type: spec.type,
    template: spec.template,
    ...(spec.diskSize && { diskSize: Math.max(spec.diskSize, 10) }),
    ...(spec.sshKey && { sshKey: spec.sshKey }),
    // cloud.ca environments with several networks need one named (the request's `network`).
    ...((spec as { extra?: { network?: string } }).extra?.network && {
      network: (spec as { extra?: { network?: string } }).extra?.network,
    }),
    ...(variant === 'full' &&
      def.capabilities.snapshot.supported && { snapshot: { name: `${spec.name}-base` } }),
    ...(variant === 'full' && { scaleTo: CONTRACT_FIXTURES[def.id].scaleTo }),
    onFailure: 'delete',
  };
}

/** Which operation a poll loop waits for, from its state-name label (`Create: poll` → create). */
function operationOf(label: string): string {
  const l = label.toLowerCase();
  if (l.startsWith('create')) return 'create';
  if (l.startsWith('snapshot')) return 'snapshot';
  if (l.startsWith('stop')) return 'stop';
  if (l.startsWith('start')) return 'start';
  if (l.startsWith('scale')) return 'scale';
  return 'default';
}

function analyse(
  provider: ProviderId,
  variant: 'full' | 'plain',
  status: string,
  history: HistoryEvent[],
): Measured {
  const entered = history.filter((e) => e.type.endsWith('StateEntered'));
  const name = (e: HistoryEvent) =>
    (e.stateEnteredEventDetails as { name: string } | undefined)?.name ??
    (e.stateExitedEventDetails as { name: string } | undefined)?.name ??
    '';
  const polls: Record<string, number> = {};
  for (const e of entered) {
    const m = /^(.*): poll$/.exec(name(e));
    if (m) polls[m[1]!] = (polls[m[1]!] ?? 0) + 1;
  }
  // Lambda duration: a Task state's entry to its exit (or failure) on the local engine.
  let lambdaMs = 0;
  let open: { at: number } | undefined;
  for (const e of history) {
    if (e.type === 'TaskStateEntered') open = { at: e.timestamp.getTime() };
    else if (
      open &&
      (e.type === 'TaskStateExited' ||
        e.type === 'TaskFailed' ||
        e.type === 'TaskTimedOut' ||
        e.type === 'LambdaFunctionFailed')
    ) {
      lambdaMs += Math.max(1, e.timestamp.getTime() - open.at);
      open = undefined;
    }
  }
  const measuredPolls = Object.values(polls).reduce((a, b) => a + b, 0);
  const awsPolls = Object.keys(polls).reduce(
    (a, label) => a + pollsFor(REAL_OPERATION_SECONDS[operationOf(label)]!),
    0,
  );
  // Each poll iteration is Wait + poll Task + Choice: three transitions.
  const awsTransitions = entered.length + 3 * (awsPolls - measuredPolls);
  return {
    provider,
    variant,
    status,
    transitions: entered.length,
    taskInvocations: entered.filter((e) => e.type === 'TaskStateEntered').length,
    lambdaMs,
    polls,
    awsTransitions,
    awsPolls,
  };
}

async function provisionOnce(
  runtime: Runtime,
  provider: ProviderId,
  variant: 'full' | 'plain',
): Promise<Measured> {
  const sim = runtime.simulators[provider];
  if (!sim) throw new Error(`no simulator for ${provider}`);
  const payload = JSON.stringify(requestFor(provider, sim.defaultLocation, variant));
  const id = `msg_cost_${provider.replace(/\W/g, '')}_${variant}_${randomUUID().slice(0, 8)}`;
  const before = new Set(runtime.engine.knownExecutionArns());
  const res = await fetch(`${runtime.urls.http}/webhooks/provision`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...signedHeaders({ secrets: runtime.webhookSecret, id, payload }),
    },
    body: payload,
  });
  if (res.status !== 202) throw new Error(`${provider}: webhook answered ${res.status}: ${await res.text()}`);
  let arn: string | undefined;
  for (let i = 0; i < 200 && !arn; i++) {
    arn = runtime.engine.knownExecutionArns().find((a) => !before.has(a));
    if (!arn) await new Promise((r) => setTimeout(r, 25));
  }
  if (!arn) throw new Error(`${provider}: no execution started`);
  const done = await runtime.engine.waitForExecution(arn);
  return analyse(provider, variant, done.status, runtime.engine.getExecutionHistory(arn));
}

interface FleetRun {
  action: 'stop' | 'start';
  status: string;
  seconds: number;
  executions: number;
  transitions: number;
  /** Lambda invocations and their summed duration, per schedule handler. */
  lambda: Record<string, { invocations: number; ms: number }>;
  /** DynamoDB capacity units, per table (the table's suffix). */
  dynamo: Record<string, { writeUnits: number; readUnits: number; requests: number }>;
  verifyPolls: number;
}

/**
 * A schedule stop and start of `fleet` instances (Exoscale simulator, no rate limit, 20 ms
 * operations) through the real workflows, measured per run.
 */
async function scheduleAtScale(fleet: number): Promise<FleetRun[]> {
  const lambda: Record<string, { invocations: number; ms: number }> = {};
  const timed =
    (name: string, fn: LambdaHandler): LambdaHandler =>
    async (event, context) => {
      const t0 = performance.now();
      try {
        return await fn(event, context);
      } finally {
        lambda[name] ??= { invocations: 0, ms: 0 };
        const l = lambda[name];
        l.invocations++;
        l.ms += performance.now() - t0;
      }
    };
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const dataDir = mkdtempSync(join(ROOT, '.tmp', 'bench-cost-fleet-'));
  const runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.01,
    providers: ['exoscale'],
    simulator: { transitionMs: 20, operationMs: 20, fleetSize: 1 },
    env: {},
    logger: createLogger({ component: 'bench-cost' }, 'silent'),
    scheduler: false,
    handlerOverrides: {
      'functions/handlers/schedule-plan.ts': timed('plan', schedulePlan),
      'functions/handlers/schedule-page.ts': timed('page', schedulePage),
      'functions/handlers/schedule-act.ts': timed('act', scheduleAct),
      'functions/handlers/schedule-poll.ts': timed('poll', schedulePoll),
      'functions/handlers/schedule-result.ts': timed('result', scheduleResult),
    },
  });
  const meter = await startDynamoMeter(runtime.urls.dynamodb, runtime.credentials);
  const dynalite = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  // From here on every handler reaches DynamoDB through the meter.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = meter.url;
  const out: FleetRun[] = [];
  try {
    const sim = runtime.simulators.exoscale!;
    sim.seedInstances({ count: fleet, namePrefix: 'cost-', labels: { cost: 'fleet' } });
    const config = validateConfig({
      accounts: [{ provider: 'exoscale', locations: [sim.defaultLocation], requestsPerSecond: 1000 }],
      schedules: {
        fleet: {
          timezone: 'UTC',
          periods: [{ days: ['mon'], start: '08:00', stop: '18:00' }],
          targets: [{ provider: 'exoscale', labels: { cost: 'fleet' } }],
        },
      },
    });
    for (const action of ['stop', 'start'] as const) {
      meter.reset();
      for (const k of Object.keys(lambda)) delete lambda[k];
      const name = runName('fleet', action, new Date(), true);
      const since = Date.now();
      const t0 = performance.now();
      const { executionArn } = await startScheduleRun({
        stateMachineArn: runtime.engine.stateMachineArn('power-schedule'),
        input: scheduleRunInput(config, 'fleet', action),
        name,
      });
      const done = await runtime.engine.waitForExecution(executionArn);
      const seconds = (performance.now() - t0) / 1000;
      const pages = runtime.engine
        .listExecutions({ stateMachineArn: runtime.engine.stateMachineArn(POWER_SCHEDULE_PAGE_MACHINE) })
        .filter(
          (e) => e.startDate.getTime() >= since && (JSON.parse(e.input) as { jobId?: string }).jobId === name,
        );
      let transitions = 0;
      let verifyPolls = 0;
      for (const arn of [executionArn, ...pages.map((p) => p.executionArn)]) {
        for (const e of runtime.engine.getExecutionHistory(arn)) {
          if (!e.type.endsWith('StateEntered')) continue;
          transitions++;
          if (/^Verify group/.test((e.stateEnteredEventDetails as { name?: string } | undefined)?.name ?? ''))
            verifyPolls++;
        }
      }
      const usage = meter.usage();
      out.push({
        action,
        status: done.status,
        seconds: r2(seconds),
        executions: 1 + pages.length,
        transitions,
        lambda: structuredClone(lambda),
        dynamo: Object.fromEntries(
          Object.entries(usage).map(([table, u]) => [table.replace(/^fleetflow-/, ''), u]),
        ),
        verifyPolls,
      });
    }
  } finally {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynalite;
    await runtime.close();
    await meter.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return out;
}

/** Secrets and alarms of the stack as `cdk synth` builds it (no bundling). */
function countTemplate(): { secrets: number; alarms: number } {
  const outdir = mkdtempSync(join(ROOT, '.tmp', 'bench-cost-synth-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const resources = Object.values(
      Template.fromStack(new FleetflowStack(app, 'Fleetflow')).toJSON().Resources as Record<
        string,
        { Type: string }
      >,
    );
    const count = (type: string) => resources.filter((r) => r.Type === type).length;
    return { secrets: count('AWS::SecretsManager::Secret'), alarms: count('AWS::CloudWatch::Alarm') };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const r2 = (n: number) => Math.round(n * 100) / 100;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      fleet: { type: 'string', default: '10000' },
      'memory-mb': { type: 'string', default: '256' },
      'aws-ms-per-call': { type: 'string', default: '400' },
    },
  });
  const fleet = Number(values.fleet);
  if (!Number.isInteger(fleet) || fleet < 1) throw new RangeError('--fleet must be a whole number ≥ 1');
  const memoryGb = Number(values['memory-mb']) / 1024;
  const awsMsPerCall = Number(values['aws-ms-per-call']);
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const dataDir = mkdtempSync(join(ROOT, '.tmp', 'bench-cost-'));
  const runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.01,
    simulator: { transitionMs: 20, operationMs: 20 },
    env: {},
    logger: createLogger({ component: 'bench-cost' }, 'silent'),
  });
  const measured: Measured[] = [];
  try {
    for (const provider of Object.keys(runtime.simulators) as ProviderId[]) {
      for (const variant of ['plain', 'full'] as const) {
        const m = await provisionOnce(runtime, provider, variant);
        measured.push(m);
        console.log(
          `${provider.padEnd(13)} ${variant.padEnd(5)} ${m.status.padEnd(9)} transitions ${String(m.transitions).padStart(3)} (polls ${JSON.stringify(m.polls)}) → on AWS ≈ ${m.awsTransitions} with ${m.awsPolls} polls; Lambda ${m.taskInvocations} invocations, ${m.lambdaMs} ms`,
        );
      }
    }
  } finally {
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const ok = measured.filter((m) => m.status === 'SUCCEEDED');
  if (ok.length === 0) throw new Error('no provisioning succeeded: nothing to price');
  const plain = ok.filter((m) => m.variant === 'plain');
  const full = ok.filter((m) => m.variant === 'full');

  // ---- per workflow, on AWS --------------------------------------------------------------------
  const perProvisioning = {
    transitions: avg(full.map((m) => m.awsTransitions)),
    invocations:
      avg(
        full.map((m) => m.taskInvocations + (m.awsPolls - Object.values(m.polls).reduce((a, b) => a + b, 0))),
      ) + 1, // + the webhook function
  };
  // ---- schedules, measured at fleet scale ------------------------------------------------------
  process.stdout.write(
    `\nschedule stop and start of ${fleet} instances (one account, pages as child executions)…\n`,
  );
  const fleetRuns = await scheduleAtScale(fleet);
  for (const f of fleetRuns) {
    const inv = Object.values(f.lambda).reduce((a, l) => a + l.invocations, 0);
    const units = Object.values(f.dynamo);
    console.log(
      `  ${f.action} ${f.status} in ${f.seconds} s: ${f.executions} executions, ${f.transitions} transitions (${r2(f.transitions / fleet)}/instance), ${inv} Lambda invocations (${Object.entries(
        f.lambda,
      )
        .map(([k, l]) => `${k} ${l.invocations}`)
        .join(
          ', ',
        )}), DynamoDB ${r2(units.reduce((a, u) => a + u.writeUnits, 0))} WCU / ${r2(units.reduce((a, u) => a + u.readUnits, 0))} RCU (${Object.entries(
        f.dynamo,
      )
        .map(([t, u]) => `${t} ${r2(u.writeUnits)}/${r2(u.readUnits)}`)
        .join(', ')})`,
    );
  }
  if (fleetRuns.some((f) => f.status !== 'SUCCEEDED'))
    throw new Error('a schedule run did not succeed: nothing to price');
  // On AWS the verify loop waits for a real stop/start (30-45 s): re-count its ticks (Wait, poll, Choice).
  const awsTicks = pollsFor(REAL_OPERATION_SECONDS.start!);
  const perEdgeRun = {
    transitions: avg(fleetRuns.map((f) => f.transitions + 3 * Math.max(0, awsTicks - f.verifyPolls))),
    invocations: avg(
      fleetRuns.map(
        (f) =>
          Object.values(f.lambda).reduce((a, l) => a + l.invocations, 0) +
          Math.max(0, awsTicks - f.verifyPolls),
      ),
    ),
    // Provider-calling handlers are priced at the assumed AWS call time (locally they also wait
    // for the shared CPU and DynamoDB server); the others (DynamoDB only) as measured.
    lambdaMs: avg(
      fleetRuns.map((f) =>
        Object.entries(f.lambda).reduce(
          (a, [k, l]) => a + (['act', 'poll', 'plan'].includes(k) ? l.invocations * awsMsPerCall : l.ms),
          0,
        ),
      ),
    ),
    writeUnits: avg(fleetRuns.map((f) => Object.values(f.dynamo).reduce((a, u) => a + u.writeUnits, 0))),
    readUnits: avg(fleetRuns.map((f) => Object.values(f.dynamo).reduce((a, u) => a + u.readUnits, 0))),
  };
  const perInstanceEdge = {
    transitions: r2(perEdgeRun.transitions / fleet),
    invocations: r2(perEdgeRun.invocations / fleet),
    writeUnits: r2(perEdgeRun.writeUnits / fleet),
    readUnits: r2(perEdgeRun.readUnits / fleet),
  };
  const perRemediation = {
    transitions: avg(plain.map((m) => m.awsTransitions)),
    invocations:
      avg(
        plain.map(
          (m) => m.taskInvocations + (m.awsPolls - Object.values(m.polls).reduce((a, b) => a + b, 0)),
        ),
      ) + 1,
  };

  // ---- a month -----------------------------------------------------------------------------------
  const edgesPerMonth = 2 * 30;
  const month = {
    provisioning: {
      count: 100,
      transitions: 100 * perProvisioning.transitions,
      invocations: 100 * perProvisioning.invocations,
    },
    schedules: {
      count: fleet * edgesPerMonth,
      transitions: edgesPerMonth * perEdgeRun.transitions,
      invocations: edgesPerMonth * perEdgeRun.invocations,
    },
    remediation: {
      count: 100,
      transitions: 100 * perRemediation.transitions,
      invocations: 100 * perRemediation.invocations,
    },
  };
  const transitions =
    month.provisioning.transitions + month.schedules.transitions + month.remediation.transitions;
  const invocations =
    month.provisioning.invocations + month.schedules.invocations + month.remediation.invocations;
  const measuredMsPerInvocation = avg(ok.map((m) => m.lambdaMs / Math.max(1, m.taskInvocations)));
  const otherInvocations = month.provisioning.invocations + month.remediation.invocations;
  const gbSeconds =
    ((otherInvocations * Math.max(awsMsPerCall, measuredMsPerInvocation) +
      edgesPerMonth * perEdgeRun.lambdaMs) /
      1000) *
    memoryGb;
  // DynamoDB: schedules MEASURED (capacity units); provisioning and remediation ~2 writes and
  // ~2 reads per invocation (job update + audit intent/outcome), an estimate.
  const dynamoWrites = edgesPerMonth * perEdgeRun.writeUnits + otherInvocations * 2;
  const dynamoReads = edgesPerMonth * perEdgeRun.readUnits + otherInvocations * 2;
  // Logs: Step Functions ALL with execution data ≈ 2 events × 1 KB per transition; Lambda ≈ 1 KB per invocation.
  const logsGb = (transitions * 2 * 1024 + invocations * 1024) / 1024 ** 3;
  // Counted in the synthesized template: provider accounts and the webhook (secrets); each state
  // machine and function × 2 and the dead-letter queue (alarms).
  const { secrets, alarms } = countTemplate();
  const cost = {
    stepFunctions: Math.max(0, transitions - 4000) * PRICES.sfnTransition,
    lambdaRequests: invocations * PRICES.lambdaRequest,
    lambdaCompute: gbSeconds * PRICES.lambdaGbSecondArm,
    dynamodb: dynamoWrites * PRICES.dynamoWrite + dynamoReads * PRICES.dynamoRead,
    secretsManager: secrets * PRICES.secret + 100_000 * PRICES.secretCalls,
    cloudwatchLogs: logsGb * PRICES.logsGb,
    cloudwatchAlarms: alarms * PRICES.alarm,
    kms: PRICES.kmsKey,
    apiGateway: 1000 * PRICES.httpApiRequest,
  };
  const total = Object.values(cost).reduce((a, b) => a + b, 0);

  console.log('\nper workflow on AWS (polls re-counted for real operation times):');
  console.log(
    `  provisioning (create + snapshot + scale): ${r2(perProvisioning.transitions)} transitions, ${r2(perProvisioning.invocations)} invocations (measured, polls estimated)`,
  );
  console.log(
    `  one instance on one schedule edge: ${perInstanceEdge.transitions} transitions, ${perInstanceEdge.invocations} invocations (batched workflow: one act per instance)`,
  );
  console.log(
    `  remediation ≈ plain provisioning: ${r2(perRemediation.transitions)} transitions, ${r2(perRemediation.invocations)} invocations (ESTIMATE)`,
  );
  console.log(
    `\na month: ${Math.round(transitions)} transitions, ${Math.round(invocations)} invocations, ${r2(gbSeconds)} GB-s`,
  );
  for (const [k, v] of Object.entries(cost)) console.log(`  ${k.padEnd(18)} $${v.toFixed(2)}`);
  console.log(`  ${'total'.padEnd(18)} $${total.toFixed(2)}`);
  console.log(
    JSON.stringify({
      bench: 'cost',
      prices: PRICES,
      assumptions: {
        realOperationSeconds: REAL_OPERATION_SECONDS,
        awsMsPerCall,
        memoryMb: Number(values['memory-mb']),
        instances: fleet,
        edgesPerMonth,
        secrets,
        alarms,
      },
      fleetRuns,
      measured,
      perWorkflow: {
        provisioning: perProvisioning,
        instanceEdge: perInstanceEdge,
        remediation: perRemediation,
      },
      month: {
        ...month,
        transitions: Math.round(transitions),
        invocations: Math.round(invocations),
        gbSeconds: r2(gbSeconds),
        logsGb: r2(logsGb),
      },
      costUsd: Object.fromEntries(Object.entries(cost).map(([k, v]) => [k, r2(v)])),
      totalUsd: r2(total),
    }),
  );
}
