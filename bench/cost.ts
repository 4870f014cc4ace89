import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../functions/log.ts';
import type { ProviderId } from '../functions/providers/port.ts';
import { providerDefinition } from '../functions/providers/registry.ts';
import { signedHeaders } from '../functions/webhooks/standard-webhooks.ts';
import type { HistoryEvent } from '../local/engine/index.ts';
import { type Runtime, startRuntime } from '../local/runtime.ts';
import { CONTRACT_FIXTURES } from '../test/contract/fixtures.ts';

/**
 * `npm run bench -- cost [--memory-mb 256] [--aws-ms-per-call 400]`
 *
 * Measures what one provisioning costs in Step Functions state transitions and Lambda
 * invocations/durations, by running the real provisioning workflow on the local engine (the same
 * CDK app, every provider's simulator) and reading each execution's history; then prices a month
 * of fleetflow for 1,000 instances on two schedule edges a day, 100 provisionings and 100
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
 *   - schedules: derived from the batched workflow's shape (per instance measured by `bench -- fleet`);
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

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const r2 = (n: number) => Math.round(n * 100) / 100;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'memory-mb': { type: 'string', default: '256' },
      'aws-ms-per-call': { type: 'string', default: '400' },
    },
  });
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
  // The batched power-schedule workflow (workflows/power-schedule.ts): per instance one act Task
  // inside the group's Map (`npm run bench -- fleet` measured 1.07 transitions per instance,
  // everything included); per run: plan, tier and group Maps, and per provider group one
  // wait → verify → settled? loop for the operation's real duration, then one batch record.
  const actionPolls = pollsFor(REAL_OPERATION_SECONDS.stop!);
  const groups = 5; // one per provider
  const perInstanceEdge = { transitions: 1, invocations: 1 };
  const perScheduleRunOverhead = {
    transitions: 6 + groups * (2 + 3 * actionPolls + 2),
    invocations: 2 + groups * (actionPolls + 1),
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
  const instances = 1000;
  const edgesPerMonth = 2 * 30;
  const schedules = 10; // schedule runs per edge (one per configured schedule); overhead only
  const month = {
    provisioning: {
      count: 100,
      transitions: 100 * perProvisioning.transitions,
      invocations: 100 * perProvisioning.invocations,
    },
    schedules: {
      count: instances * edgesPerMonth,
      transitions:
        instances * edgesPerMonth * perInstanceEdge.transitions +
        schedules * edgesPerMonth * perScheduleRunOverhead.transitions,
      invocations:
        instances * edgesPerMonth * perInstanceEdge.invocations +
        schedules * edgesPerMonth * perScheduleRunOverhead.invocations,
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
  const gbSeconds = ((invocations * Math.max(awsMsPerCall, measuredMsPerInvocation)) / 1000) * memoryGb;
  // DynamoDB: ~2 writes and ~2 reads per invocation (job update + audit intent/outcome), estimate.
  const dynamoWrites = invocations * 2;
  const dynamoReads = invocations * 2;
  // Logs: Step Functions ALL with execution data ≈ 2 events × 1 KB per transition; Lambda ≈ 1 KB per invocation.
  const logsGb = (transitions * 2 * 1024 + invocations * 1024) / 1024 ** 3;
  const secrets = 6; // 5 provider accounts + the webhook secret
  const alarms = 39; // counted in the synthesized template: state machines × 2, functions × 2, the dead-letter queue
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
        instances,
        edgesPerMonth,
      },
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
