import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../functions/log.ts';
import type { Instance, ProviderId } from '../../functions/providers/port.ts';
import { providerFor, type Target } from '../../functions/runtime/accounts.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { own } from '../../functions/shared/keys.ts';
import { isStoreUnavailable } from '../../functions/store/dynamo.ts';
import { StoreValidationError } from '../../functions/store/errors.ts';
import { JOB_STATUSES, type Job, type JobStatus } from '../../functions/store/jobs.ts';
import { type HttpApiEvent, type HttpApiResult, json, problem } from '../../functions/webhooks/http-event.ts';
import type { HistoryEvent, LocalEngine, StateMachineInfo } from '../engine/index.ts';
import type { Route } from '../http-server.ts';

/**
 * The local dashboard: three static files (no framework, no build step) and the JSON routes they
 * poll. Local only: the state machine drawing reads the local engine's definitions and execution
 * history, which on AWS would come from the Step Functions console instead.
 *
 * Routes (all GET): `/` and `/dashboard/{file}` (the page), `/api/dashboard/jobs`,
 * `/api/dashboard/jobs/{id}`, `/api/dashboard/audit?job=|instance=`, `/api/dashboard/fleet`. The
 * schedule plan panel reads the schedule API's `GET /schedules/plan?days=7`; a 404 there (no config
 * file, or a build without schedules) shows as "no schedules configured".
 */

const log = createLogger({ component: 'dashboard' });
const ASSETS = dirname(fileURLToPath(import.meta.url));
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};
/** The page loads nothing from elsewhere and runs no inline script. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface DashboardOptions {
  engine: Pick<LocalEngine, 'stateMachines' | 'describeExecution' | 'getExecutionHistory'>;
  /** Where the fleet panel lists instances: one target per configured provider account. */
  fleetTargets: Target[];
}

export function dashboardRoutes(options: DashboardOptions): Route[] {
  const guard =
    (fn: (event: HttpApiEvent) => Promise<HttpApiResult>) =>
    async (event: HttpApiEvent): Promise<HttpApiResult> => {
      try {
        return await fn(event);
      } catch (error) {
        if (error instanceof StoreValidationError) return problem(400, 'invalid-query', error.message);
        if (isStoreUnavailable(error))
          return problem(503, 'store-unavailable', 'the job store cannot be read now; try again later', {
            'retry-after': '10',
          });
        // The message stays in the (redacted) log; the page gets the request id.
        log.error('dashboard route failed', {
          route: event.routeKey,
          error: (error as Error).name,
          message: (error as Error).message,
        });
        return problem(
          500,
          'internal-error',
          `internal error (request id ${event.requestContext.requestId})`,
        );
      }
    };
  return [
    { method: 'GET', path: '/', handler: guard(() => asset('index.html')) },
    {
      method: 'GET',
      path: '/dashboard/{file}',
      handler: guard(async (e) => asset(e.pathParameters?.file ?? '')),
    },
    { method: 'GET', path: '/api/dashboard/jobs', handler: guard(listJobs) },
    { method: 'GET', path: '/api/dashboard/jobs/{id}', handler: guard((e) => jobDetail(e, options)) },
    { method: 'GET', path: '/api/dashboard/audit', handler: guard(auditTrail) },
    { method: 'GET', path: '/api/dashboard/fleet', handler: guard(() => fleet(options.fleetTargets)) },
  ];
}

async function asset(file: string): Promise<HttpApiResult> {
  const type = own(FILES, file);
  if (!type) return problem(404, 'not-found', 'no such dashboard file');
  const body = await readFile(join(ASSETS, file), 'utf8');
  return { statusCode: 200, headers: { 'content-type': type, ...SECURITY_HEADERS }, body };
}

// ---- jobs --------------------------------------------------------------------------------------

export interface JobSummary {
  jobId: string;
  kind: string;
  status: JobStatus;
  trigger: string;
  createdAt: string;
  endedAt?: string;
  steps: number;
  targets: number;
  error?: string;
}

function summary(job: Job): JobSummary {
  return {
    jobId: job.jobId,
    kind: job.kind,
    status: job.status,
    trigger: `${job.trigger.type}:${job.trigger.actor}`,
    createdAt: job.createdAt,
    ...(job.endedAt && { endedAt: job.endedAt }),
    steps: job.steps.length,
    targets: Object.keys(job.results).length,
    ...(job.error && { error: `${job.error.code}: ${job.error.message}` }),
  };
}

/** `?status=&kind=&limit=`: newest first; `kinds` lists every kind seen, for the filter. */
async function listJobs(event: HttpApiEvent): Promise<HttpApiResult> {
  const q = event.queryStringParameters ?? {};
  if (q.status && !JOB_STATUSES.includes(q.status as JobStatus)) {
    return problem(400, 'invalid-status', `status must be one of ${JOB_STATUSES.join(', ')}`);
  }
  const limit = q.limit ? Number(q.limit) : 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    return problem(400, 'invalid-limit', 'limit must be 1-500');
  const { jobs } = stores();
  const items: JobSummary[] = [];
  const kinds = new Set<string>();
  let scanned = 0;
  // Kind has no index: read newest first and filter, within a bound.
  for await (const job of jobs.listAll(q.status ? { status: q.status as JobStatus } : {}, {
    pageSize: 100,
  })) {
    kinds.add(job.kind);
    if (!q.kind || job.kind === q.kind) items.push(summary(job));
    if (items.length >= limit || ++scanned >= 1000) break;
  }
  return json(200, { items, kinds: [...kinds].sort(), statuses: JOB_STATUSES });
}

async function jobDetail(event: HttpApiEvent, options: DashboardOptions): Promise<HttpApiResult> {
  const id = event.pathParameters?.id ?? '';
  const { jobs, audit } = stores();
  const job = await jobs.get(id);
  if (!job) return problem(404, 'job-not-found', `no job ${id}`);
  const [events, verification] = await Promise.all([
    audit.byJob(id, { limit: 200, order: 'oldest' }),
    audit.verify({ jobId: id }),
  ]);
  return json(200, { job, audit: events.items, verification, machine: machineFor(job, options.engine) });
}

// ---- the state machine drawing --------------------------------------------------------------------

export interface MachineNode {
  name: string;
  type: string;
  /** Row in the drawing: the shortest distance from StartAt. */
  layer: number;
  /** Column within the row. */
  column: number;
  visited: boolean;
  failed: boolean;
  /** The state the execution is in now (entered, not exited, execution running). */
  current: boolean;
}

export interface MachineGraph {
  stateMachine: string;
  startAt: string;
  nodes: MachineNode[];
  edges: Array<{ from: string; to: string; kind: 'next' | 'choice' | 'catch' }>;
  execution?: { status: string; visited: number; note?: string };
}

type Engine = DashboardOptions['engine'];

function machineFor(job: Job, engine: Engine): MachineGraph | undefined {
  const machines = engine.stateMachines();
  let history: HistoryEvent[] | undefined;
  let status: string | undefined;
  let info: StateMachineInfo | undefined;
  if (job.executionArn) {
    try {
      const execution = engine.describeExecution(job.executionArn);
      status = execution.status;
      info = machines.find((m) => m.stateMachineArn === execution.stateMachineArn);
      history = engine.getExecutionHistory(job.executionArn);
    } catch {
      // Executions live in memory: after a restart only the definition is left.
      const name = job.executionArn.split(':').at(-2);
      info = machines.find((m) => m.name === name);
    }
  }
  info ??= machines.find((m) => m.name === job.kind);
  if (!info) return undefined;
  const graph = machineGraph(info.name, info.definition, history);
  graph.execution = history
    ? { status: status ?? 'UNKNOWN', visited: graph.nodes.filter((n) => n.visited).length }
    : {
        status: 'UNKNOWN',
        visited: 0,
        note: 'the execution history is gone (the runtime restarted since); the job steps still show what ran',
      };
  return graph;
}

interface AslState {
  Type: string;
  Next?: string;
  Default?: string;
  Choices?: Array<{ Next?: string }>;
  Catch?: Array<{ Next?: string }>;
}

/** Lays out a definition's top-level states in rows by distance from StartAt and marks what ran. */
export function machineGraph(name: string, definition: string, history: HistoryEvent[] = []): MachineGraph {
  const def = JSON.parse(definition) as { StartAt: string; States: Record<string, AslState> };
  const edges: MachineGraph['edges'] = [];
  for (const [from, s] of Object.entries(def.States)) {
    const add = (to: string | undefined, kind: 'next' | 'choice' | 'catch') => {
      if (to && def.States[to] && !edges.some((e) => e.from === from && e.to === to))
        edges.push({ from, to, kind });
    };
    add(s.Next, 'next');
    for (const c of s.Choices ?? []) add(c.Next, 'choice');
    add(s.Default, 'choice');
    for (const c of s.Catch ?? []) add(c.Next, 'catch');
  }
  // Rows: breadth first from StartAt along normal edges first, catches last, so the happy path reads top down.
  const layer = new Map<string, number>([[def.StartAt, 0]]);
  const queue = [def.StartAt];
  for (const kinds of [
    ['next', 'choice'],
    ['next', 'choice', 'catch'],
  ]) {
    for (let i = 0; i < queue.length; i++) {
      const at = queue[i]!;
      for (const e of edges) {
        if (e.from !== at || !kinds.includes(e.kind) || layer.has(e.to)) continue;
        layer.set(e.to, layer.get(at)! + 1);
        queue.push(e.to);
      }
    }
    if (kinds.length === 2) queue.splice(0, queue.length, ...layer.keys());
  }
  let deepest = Math.max(0, ...layer.values());
  for (const state of Object.keys(def.States)) if (!layer.has(state)) layer.set(state, ++deepest);

  const entered = new Set<string>();
  const exited = new Set<string>();
  const failed = new Set<string>();
  let lastEntered: string | undefined;
  let running = history.length > 0;
  for (const event of history) {
    const entry = event.stateEnteredEventDetails as { name?: string } | undefined;
    const exit = event.stateExitedEventDetails as { name?: string } | undefined;
    if (entry?.name) {
      entered.add(entry.name);
      lastEntered = entry.name;
    }
    if (exit?.name) exited.add(exit.name);
    if (/^(LambdaFunction|Task)(Failed|TimedOut)$|StateFailed$/.test(event.type) && lastEntered)
      failed.add(lastEntered);
    if (/^Execution(Succeeded|Failed|Aborted|TimedOut)$/.test(event.type)) running = false;
  }
  for (const [state, s] of Object.entries(def.States))
    if (s.Type === 'Fail' && entered.has(state)) failed.add(state);

  const columns = new Map<number, number>();
  const nodes = Object.entries(def.States)
    .map(([state, s]) => ({ state, s, l: layer.get(state)! }))
    .sort((a, b) => a.l - b.l)
    .map(({ state, s, l }): MachineNode => {
      const column = columns.get(l) ?? 0;
      columns.set(l, column + 1);
      return {
        name: state,
        type: s.Type,
        layer: l,
        column,
        visited: entered.has(state),
        failed: failed.has(state),
        current: running && state === lastEntered && !exited.has(state),
      };
    });
  return { stateMachine: name, startAt: def.StartAt, nodes, edges };
}

// ---- audit -----------------------------------------------------------------------------------------

/** `?job=ID` or `?instance=ID`: the events (oldest first for a job, newest first for an instance) and the chain check. */
async function auditTrail(event: HttpApiEvent): Promise<HttpApiResult> {
  const q = event.queryStringParameters ?? {};
  if (Boolean(q.job) === Boolean(q.instance))
    return problem(400, 'invalid-scope', 'give exactly one of ?job= or ?instance=');
  const { audit } = stores();
  const [page, verification] = await Promise.all([
    q.job
      ? audit.byJob(q.job, { limit: 200, order: 'oldest' })
      : audit.byInstance(q.instance!, { limit: 200 }),
    audit.verify(q.job ? { jobId: q.job } : { instanceId: q.instance! }),
  ]);
  return json(200, {
    scope: q.job ? { job: q.job } : { instance: q.instance },
    events: page.items,
    verification,
  });
}

// ---- fleet -------------------------------------------------------------------------------------------

export interface FleetProvider {
  provider: ProviderId;
  account: string;
  location: string;
  instances?: Array<Pick<Instance, 'id' | 'name' | 'state' | 'type' | 'labels'> & { ip?: string }>;
  error?: string;
}

/** Every configured account's instances, listed in parallel; one provider failing does not hide the others. */
async function fleet(targets: Target[]): Promise<HttpApiResult> {
  const providers = await Promise.all(
    targets.map(async (target): Promise<FleetProvider> => {
      try {
        const adapter = await providerFor(target);
        const list = await adapter.list({});
        return {
          ...target,
          instances: list.map((i) => ({
            id: i.id,
            name: i.name,
            state: i.state,
            type: i.type,
            labels: i.labels,
            ...(i.ipv4[0] && { ip: i.ipv4[0] }),
          })),
        };
      } catch (error) {
        // The adapters' messages are already redacted and name no secret.
        return { ...target, error: `${(error as Error).name}: ${(error as Error).message}` };
      }
    }),
  );
  return json(200, { providers, at: new Date().toISOString() });
}
