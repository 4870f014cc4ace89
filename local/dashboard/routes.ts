import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FleetflowConfig } from '../../functions/config/schema.ts';
import { scheduleApi } from '../../functions/handlers/schedule-api.ts';
import { createLogger } from '../../functions/log.ts';
import type { Instance, ProviderId } from '../../functions/providers/port.ts';
import { providerFor, type Target } from '../../functions/runtime/accounts.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { JOB_STATUSES, type Job, type JobStatus } from '../../functions/store/jobs.ts';
import { type HttpApiEvent, type HttpApiResult, json, problem } from '../../functions/webhooks/http-event.ts';
import type { HistoryEvent, LocalEngine, StateMachineInfo } from '../engine/index.ts';
import type { Route } from '../http/server.ts';

/**
 * The local dashboard: three static files (no framework, no build step), the graph layout library
 * ELK (elkjs, served from node_modules: the page loads nothing from elsewhere) and the JSON routes
 * they poll. Local only: the state machine drawing reads the local engine's definitions and
 * execution history, which on AWS would come from the Step Functions console instead.
 *
 * Routes (all GET): `/` and `/dashboard/{file}` (the page), `/api/dashboard/jobs`,
 * `/api/dashboard/jobs/{id}`, `/api/dashboard/audit?job=|instance=`, `/api/dashboard/fleet`,
 * `/api/dashboard/plan?days=7` (the schedule API's plan, or `{"configured":false}` when fleetflow
 * runs without a config file, so that the page never asks for what is not there).
 */

const log = createLogger({ component: 'dashboard' });
const ASSETS = dirname(fileURLToPath(import.meta.url));
const resolvePackage = createRequire(import.meta.url).resolve;
const FILES: Record<string, { type: string; path: () => string }> = {
  'index.html': { type: 'text/html; charset=utf-8', path: () => join(ASSETS, 'index.html') },
  'app.js': { type: 'text/javascript; charset=utf-8', path: () => join(ASSETS, 'app.js') },
  'style.css': { type: 'text/css; charset=utf-8', path: () => join(ASSETS, 'style.css') },
  // ELK's layered layout, the one Eclipse and many graph tools use; the bundle runs without a worker.
  'elk.bundled.js': {
    type: 'text/javascript; charset=utf-8',
    path: () => resolvePackage('elkjs/lib/elk.bundled.js'),
  },
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
  /** The config file fleetflow runs with, for the schedule plan panel. */
  config?: FleetflowConfig;
  /**
   * The local API token, written into the page itself: a page of another site can neither read it
   * (the same-origin policy; no CORS here) nor frame it (frame-ancestors 'none'), and a rebinding
   * name never gets the page (Host allow-list).
   */
  apiToken?: string;
}

export function dashboardRoutes(options: DashboardOptions): Route[] {
  const guard =
    (fn: (event: HttpApiEvent) => Promise<HttpApiResult>) =>
    async (event: HttpApiEvent): Promise<HttpApiResult> => {
      try {
        return await fn(event);
      } catch (error) {
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
    { method: 'GET', path: '/', handler: guard(() => asset('index.html', options.apiToken)) },
    {
      method: 'GET',
      path: '/dashboard/{file}',
      handler: guard(async (e) => asset(e.pathParameters?.file ?? '', options.apiToken)),
    },
    { method: 'GET', path: '/api/dashboard/jobs', handler: guard(listJobs) },
    { method: 'GET', path: '/api/dashboard/jobs/{id}', handler: guard((e) => jobDetail(e, options)) },
    { method: 'GET', path: '/api/dashboard/audit', handler: guard(auditTrail) },
    { method: 'GET', path: '/api/dashboard/fleet', handler: guard(() => fleet(options.fleetTargets)) },
    { method: 'GET', path: '/api/dashboard/plan', handler: guard((e) => plan(e, options.config)) },
  ];
}

const TOKEN_META = '<meta name="fleetflow-api-token" content="">';

async function asset(file: string, apiToken = ''): Promise<HttpApiResult> {
  const known = Object.hasOwn(FILES, file) ? FILES[file] : undefined;
  if (!known) return problem(404, 'not-found', 'no such dashboard file');
  let body = await readFile(known.path(), 'utf8');
  if (file === 'index.html') {
    const escaped = apiToken.replace(/[^A-Za-z0-9_-]/g, (c) => `&#${c.charCodeAt(0)};`);
    body = body.replace(TOKEN_META, `<meta name="fleetflow-api-token" content="${escaped}">`);
  }
  return { statusCode: 200, headers: { 'content-type': known.type, ...SECURITY_HEADERS }, body };
}

/** The schedule plan, through the schedule API itself; without a config file, says so with a 200. */
async function plan(event: HttpApiEvent, config: FleetflowConfig | undefined): Promise<HttpApiResult> {
  if (!config) return json(200, { configured: false, reason: 'fleetflow runs without a config file' });
  const answer = await scheduleApi(config)({ ...event, rawPath: '/schedules/plan' });
  if (answer.statusCode !== 200) return answer;
  const body = JSON.parse(String(answer.body)) as Record<string, unknown>;
  return json(200, { configured: true, ...body });
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

/**
 * A definition as a graph for the page to lay out (with ELK, top down) and draw: every state, those
 * inside a Map or Parallel with their `parent`; every transition, Choice rules as labels; what the
 * execution visited, the transitions it took, where it failed and where it is now.
 */
export interface MachineNode {
  name: string;
  type: string;
  /** The Map or Parallel state this state runs inside. */
  parent?: string;
  /** StartAt of the machine (or of its Map or Parallel). */
  start: boolean;
  visited: boolean;
  failed: boolean;
  /** Entered and not left yet, while the execution runs. */
  current: boolean;
}

export interface MachineEdge {
  from: string;
  to: string;
  kind: 'next' | 'choice' | 'default' | 'catch';
  /** A Choice rule in short (`scalePlan.mode = "direct"`), `default`, or the errors a Catch takes. */
  label?: string;
  /** The execution went this way. */
  taken: boolean;
}

export interface MachineGraph {
  stateMachine: string;
  startAt: string;
  nodes: MachineNode[];
  edges: MachineEdge[];
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

interface ChoiceRule {
  Variable?: string;
  Next?: string;
  And?: ChoiceRule[];
  Or?: ChoiceRule[];
  Not?: ChoiceRule;
  [operator: string]: unknown;
}

interface AslState {
  Type: string;
  Next?: string;
  Default?: string;
  Choices?: ChoiceRule[];
  Catch?: Array<{ Next?: string; ErrorEquals?: string[] }>;
  ItemProcessor?: AslMachine;
  Iterator?: AslMachine;
  Branches?: AslMachine[];
}

interface AslMachine {
  StartAt: string;
  States: Record<string, AslState>;
}

const OPERATORS: Array<[RegExp, string]> = [
  [/GreaterThanEquals(Path)?$/, '≥'],
  [/LessThanEquals(Path)?$/, '≤'],
  [/Equals(Path)?$/, '='],
  [/GreaterThan(Path)?$/, '>'],
  [/LessThan(Path)?$/, '<'],
  [/^StringMatches$/, 'matches'],
];

/** A Choice rule in a few words: `wait.done = true`, `scalePlan.mode = "direct"`, `a > 3 and b present`. */
export function choiceLabel(rule: ChoiceRule): string {
  if (rule.And) return rule.And.map(choiceLabel).join(' and ');
  if (rule.Or) return rule.Or.map(choiceLabel).join(' or ');
  if (rule.Not) return `not (${choiceLabel(rule.Not)})`;
  const variable = (rule.Variable ?? '').replace(/^\$\.?/, '') || '$';
  for (const [key, value] of Object.entries(rule)) {
    if (key === 'Variable' || key === 'Next') continue;
    if (key === 'IsPresent') return `${variable} ${value ? 'present' : 'absent'}`;
    if (key === 'IsNull') return `${variable} ${value ? 'is' : 'is not'} null`;
    if (key.startsWith('Is')) return `${variable} ${value ? 'is' : 'is not'} ${key.slice(2).toLowerCase()}`;
    const op = OPERATORS.find(([re]) => re.test(key))?.[1] ?? key;
    const shown = key.endsWith('Path') ? String(value).replace(/^\$\.?/, '') : JSON.stringify(value);
    return `${variable} ${op} ${shown}`;
  }
  return variable;
}

/** Every state of a definition (Map and Parallel insides too), its transitions, and what the history says ran. */
export function machineGraph(name: string, definition: string, history: HistoryEvent[] = []): MachineGraph {
  const def = JSON.parse(definition) as AslMachine;
  const nodes: MachineNode[] = [];
  const edges: MachineEdge[] = [];
  const walk = (machine: AslMachine, parent?: string) => {
    for (const [state, s] of Object.entries(machine.States)) {
      nodes.push({
        name: state,
        type: s.Type,
        ...(parent && { parent }),
        start: state === machine.StartAt,
        visited: false,
        failed: false,
        current: false,
      });
      const add = (to: string | undefined, kind: MachineEdge['kind'], label?: string) => {
        if (!to || !machine.States[to]) return;
        const same = edges.find((e) => e.from === state && e.to === to);
        // Two rules into one state: one arrow, both rules on it.
        if (same) same.label = [same.label, label].filter(Boolean).join(' | ');
        else edges.push({ from: state, to, kind, ...(label && { label }), taken: false });
      };
      add(s.Next, 'next');
      for (const rule of s.Choices ?? []) add(rule.Next, 'choice', choiceLabel(rule));
      add(s.Default, 'default', 'default');
      for (const c of s.Catch ?? []) add(c.Next, 'catch', (c.ErrorEquals ?? []).join(', ') || undefined);
      const inner = s.ItemProcessor ?? s.Iterator;
      if (inner) walk(inner, state);
      for (const branch of s.Branches ?? []) walk(branch, state);
    }
  };
  walk(def);

  const byName = new Map(nodes.map((n) => [n.name, n]));
  const open = new Map<string, number>(); // entered minus left, per state
  const left: string[] = []; // states left and not yet followed by the state they led to
  const enteredOrder: string[] = [];
  let running = history.length > 0;
  const leave = (state: string) => {
    open.set(state, Math.max(0, (open.get(state) ?? 0) - 1));
    left.push(state);
    if (left.length > 64) left.shift();
  };
  for (const event of history) {
    const entered = (event.stateEnteredEventDetails as { name?: string } | undefined)?.name;
    const exited = (event.stateExitedEventDetails as { name?: string } | undefined)?.name;
    if (entered) {
      const node = byName.get(entered);
      if (node) node.visited = true;
      open.set(entered, (open.get(entered) ?? 0) + 1);
      enteredOrder.push(entered);
      // The transition taken: from the most recently left state that has one into this state.
      for (let i = left.length - 1; i >= 0; i--) {
        const edge = edges.find((e) => e.from === left[i] && e.to === entered);
        if (!edge) continue;
        edge.taken = true;
        left.splice(i, 1);
        break;
      }
    }
    if (exited) leave(exited);
    if (/^(LambdaFunction|Task)(Failed|TimedOut)$|StateFailed$/.test(event.type)) {
      // The failing state is the last one entered and still open.
      const failing = enteredOrder.findLast((state) => (open.get(state) ?? 0) > 0);
      if (failing) {
        const node = byName.get(failing);
        if (node) node.failed = true;
        leave(failing);
      }
    }
    if (/^Execution(Succeeded|Failed|Aborted|TimedOut)$/.test(event.type)) running = false;
  }
  for (const node of nodes) {
    if (node.type === 'Fail' && node.visited) node.failed = true;
    node.current = running && (open.get(node.name) ?? 0) > 0 && node.type !== 'Fail';
  }
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
