import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ProviderId } from '../../functions/providers/port.ts';
import { type ListeningServer, listen, readBody } from '../../functions/shared/http-server.ts';
import { Timeline } from './clock.ts';
import { type Faults, NO_FAULTS, nextOperationOutcome } from './faults.ts';
import { parseRequest, type SimRequest, type SimResponse } from './http.ts';
import { seededRandom, seededUuid } from './ids.ts';
import { type Load, type LoadLevel, LoadModel, parseLoad } from './load.ts';
import { TokenBucket } from './rate-limit.ts';
import type { RouteTable, SimHandler } from './routes.ts';

/**
 * What every provider simulator shares: an HTTP server on loopback, a request log, a seeded
 * random source, timed transitions, and the knobs (latency, rate limit, injected faults). Each
 * provider's simulator adds only its API: authentication, routes, shapes and error bodies.
 */

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Seeds the demo fleet and ids, so two runs with one seed look alike. */
  seed?: number;
  /** How many instances to seed (the demo fleet). */
  fleetSize?: number;
  /** Added to every answer. */
  latencyMs?: number;
  /** Requests per second before 429 + Retry-After. */
  rateLimitRps?: number;
  /** How long instance state transitions take (starting → running…). */
  transitionMs?: number;
  /** How long asynchronous operations/jobs/tasks take to finish. */
  operationMs?: number;
  /** Largest page the simulator returns, where the provider paginates (forces paging in tests). */
  maxPageSize?: number;
  /** Share of instances that are idle until the load knob says otherwise (0..1; default 0: all busy). */
  idleShare?: number;
  /** Spacing of the metric history, where the provider keeps one (Gcore: default 60 s). */
  metricsStepMs?: number;
}

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** True for requests that change something at the provider (creates, actions, deletes). */
  mutation: boolean;
  /** The raw body of a mutation, as received (what a caller really sent). */
  body?: string;
}

/** What `seedInstances` adds: `count` instances named `<namePrefix><n>` (n from 0), all in one state. */
export interface SeedRequest {
  count: number;
  namePrefix: string;
  labels?: Record<string, string>;
  /** Default: the simulator's default location. */
  location?: string;
  state?: 'running' | 'stopped';
}

/** The simulator offers no seeding helper: create the instances through its API. */
export class SeedingNotSupportedError extends Error {
  override name = 'SeedingNotSupportedError';
  constructor(readonly provider: ProviderId) {
    super(`the ${provider} simulator has no seeding helper; create instances through its API`);
  }
}

/** What `fleetflow sim` prints as its one ready line. */
export interface SimulatorDescription {
  provider: ProviderId;
  url: string;
  credentials: Record<string, string>;
  [extra: string]: unknown;
}

export abstract class SimulatorBase {
  abstract readonly provider: ProviderId;
  /** Credentials the simulator accepts; printed by `fleetflow sim`. */
  abstract readonly credentials: Record<string, string>;
  /** A location that exists in the seeded catalogue. */
  abstract readonly defaultLocation: string;

  readonly faults: Faults = { ...NO_FAULTS };
  /** What each instance is doing, for the providers that report usage (see load.ts). */
  readonly load: LoadModel;
  /** Guards the simulator's own admin routes (`/_sim/…`); printed by describe(). */
  readonly adminToken = randomBytes(16).toString('hex');
  readonly requestLog: RequestLogEntry[] = [];
  protected readonly options: Required<Omit<SimulatorOptions, 'port' | 'host'>> & {
    port: number;
    host: string;
  };
  protected readonly random: () => number;
  private listening?: ListeningServer;
  private readonly timeline = new Timeline();
  private bucket: TokenBucket;

  constructor(options: SimulatorOptions = {}) {
    this.options = {
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
      seed: options.seed ?? 1,
      fleetSize: options.fleetSize ?? 6,
      latencyMs: options.latencyMs ?? 0,
      rateLimitRps: options.rateLimitRps ?? 0,
      transitionMs: options.transitionMs ?? 1_500,
      operationMs: options.operationMs ?? 1_000,
      maxPageSize: options.maxPageSize ?? 100,
      idleShare: options.idleShare ?? 0,
      metricsStepMs: options.metricsStepMs ?? 60_000,
    };
    this.load = new LoadModel({ startedAt: Date.now(), idleShare: this.options.idleShare });
    this.random = seededRandom(this.options.seed);
    this.bucket = new TokenBucket(this.options.rateLimitRps);
  }

  // ---- what each provider implements -----------------------------------------------------
  /** Returns an error response when the request is not authenticated as the provider requires. */
  protected abstract authenticate(req: SimRequest): SimResponse | undefined;
  protected abstract route(req: SimRequest): SimResponse | Promise<SimResponse>;
  /** An error answer in the provider's own shape. */
  protected abstract errorResponse(status: number, message: string, code?: string): SimResponse;
  /** The answer when no route has the request's path, in the provider's error shape. */
  protected notFound(_req: SimRequest): SimResponse {
    return this.errorResponse(404, 'Not Found');
  }

  /** The answer when routes have the path but none takes the method. */
  protected methodNotAllowed(_req: SimRequest, _allow: string[]): SimResponse {
    return this.errorResponse(405, 'Method Not Allowed');
  }

  /** Runs a request through a route table (method + path → handler), or answers the miss. */
  protected dispatch(
    table: RouteTable<SimHandler>,
    req: SimRequest,
    path: string = req.path,
  ): SimResponse | Promise<SimResponse> {
    const found = table.lookup(req.method, path);
    if (found.hit) return found.hit.handler(req, found.hit.params);
    return found.status === 404 ? this.notFound(req) : this.methodNotAllowed(req, found.allow);
  }

  /** Whether a request changes state (for resetsAfterApply and the request log). */
  protected isMutation(req: SimRequest): boolean {
    return req.method !== 'GET';
  }

  // ---- lifecycle -------------------------------------------------------------------------
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        if (!res.headersSent)
          this.write(res, this.errorResponse(500, `simulator error: ${(error as Error).message}`));
      });
    });
    server.keepAliveTimeout = 5_000;
    this.listening = await listen(server, this.options.port, this.options.host).catch(
      (error: NodeJS.ErrnoException) => {
        throw error.code === 'EADDRINUSE'
          ? Object.assign(new Error(`port ${this.options.port} is already in use on ${this.options.host}`), {
              hint: 'pick another with --port, or --port 0 for a free one',
            })
          : error;
      },
    );
    return this;
  }

  async close(): Promise<void> {
    const listening = this.listening;
    this.listening = undefined;
    await listening?.close();
  }

  /** The server's origin, e.g. `http://127.0.0.1:39123`. */
  get origin(): string {
    if (!this.listening) throw new Error('simulator not started');
    return this.listening.url;
  }

  /** The base URL an adapter should use for a location (providers differ: per zone, one URL…). */
  abstract endpoint(location?: string): string;

  describe(): SimulatorDescription {
    return {
      provider: this.provider,
      url: this.endpoint(),
      credentials: this.credentials,
      location: this.defaultLocation,
      admin: { url: `${this.origin}/_sim`, token: this.adminToken },
    };
  }

  /**
   * Changes the timing knobs of a running simulator (benches seed fast, then measure under the
   * stated latency and rate limit). A new rate limit starts with a full bucket.
   */
  configure(
    knobs: Partial<Pick<SimulatorOptions, 'latencyMs' | 'rateLimitRps' | 'transitionMs' | 'operationMs'>>,
  ): void {
    Object.assign(this.options, knobs);
    if (knobs.rateLimitRps !== undefined) this.bucket = new TokenBucket(knobs.rateLimitRps);
  }

  /**
   * Seeding helper for tests and benchmarks that need a large fleet fast (thousands of instances
   * in a second rather than thousands of creates): adds instances as if each had been created
   * and had finished booting, without requests, operations or request-log entries. Returns their
   * ids. A simulator without it throws SeedingNotSupportedError.
   */
  seedInstances(_request: SeedRequest): string[] {
    throw new SeedingNotSupportedError(this.provider);
  }

  /** The load knob: makes an instance idle, busy, or any load, from now on. */
  setLoad(instanceId: string, load: Load | LoadLevel): Load {
    return this.load.set(instanceId, load);
  }

  /** Requests that changed something, for tests asserting "no mutation happened". */
  mutations(): RequestLogEntry[] {
    return this.requestLog.filter((e) => e.mutation && e.status < 400);
  }

  // ---- helpers for provider simulators ---------------------------------------------------
  /** Runs `apply` once `afterMs` has passed (evaluated lazily at the start of each request). */
  protected later(afterMs: number, apply: () => void): void {
    this.timeline.later(afterMs, apply);
  }

  /** Applies every due transition; also call it from reads that happen outside requests. */
  settle(): void {
    this.timeline.settle();
  }

  /**
   * Decides how the next asynchronous operation ends, consuming failOperations/stuckOperations.
   * Returns 'fail', 'stuck' or 'ok'.
   */
  protected nextOperationOutcome(): 'ok' | 'fail' | 'stuck' {
    return nextOperationOutcome(this.faults);
  }

  protected uuid(): string {
    // Seeded where the test asked for determinism in the fleet; random after that is fine.
    return randomUUID();
  }

  protected seededUuid(): string {
    return seededUuid(this.random);
  }

  protected pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  // ---- the request pipeline --------------------------------------------------------------
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = (await readBody(req)).toString('utf8');
    const request = parseRequest(req, rawBody);
    if (request.path.startsWith('/_sim/')) {
      this.write(res, this.admin(request));
      return;
    }
    const mutation = this.isMutation(request);
    const log = (status: number) =>
      this.requestLog.push({
        at: Date.now(),
        method: request.method,
        path: request.path,
        query: request.query,
        status,
        mutation,
        ...(mutation && rawBody && { body: rawBody }),
      });

    const delay = this.options.latencyMs + this.faults.slowMs;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));

    if (this.faults.resets > 0) {
      this.faults.resets--;
      log(0);
      req.socket.destroy();
      return;
    }
    if (this.faults.rateLimited > 0 || !this.bucket.take()) {
      if (this.faults.rateLimited > 0) this.faults.rateLimited--;
      const response = this.errorResponse(429, 'Too many requests', 'rate-limited');
      response.headers = { ...response.headers, 'retry-after': String(this.faults.retryAfterSeconds) };
      log(429);
      this.write(res, response);
      return;
    }
    if (this.faults.serverErrors > 0) {
      this.faults.serverErrors--;
      log(this.faults.serverErrorStatus);
      this.write(res, this.errorResponse(this.faults.serverErrorStatus, 'Service temporarily unavailable'));
      return;
    }

    this.settle();
    const denied = this.authenticate(request);
    if (denied) {
      log(denied.status);
      this.write(res, denied);
      return;
    }
    const response = await this.route(request);
    log(response.status);
    if (mutation && response.status < 400 && this.faults.resetsAfterApply > 0) {
      // Applied, but the client never hears back: the ambiguous failure creates must survive.
      this.faults.resetsAfterApply--;
      req.socket.destroy();
      return;
    }
    this.write(res, response);
  }

  /**
   * The simulator's own routes, outside the provider's API (no provider auth, no faults, no rate
   * limit), guarded by the admin token: `PUT /_sim/load/{instanceId}` with
   * `{"level":"idle"|"busy"}` or `{"cpuPercent","networkKBps"}`.
   */
  private admin(req: SimRequest): SimResponse {
    const given = Buffer.from(req.headers['x-sim-admin-token'] ?? '');
    const token = Buffer.from(this.adminToken);
    if (given.length !== token.length || !timingSafeEqual(given, token))
      return {
        status: 401,
        body: { error: "x-sim-admin-token is missing or wrong (see the simulator's description)" },
      };
    const m = /^\/_sim\/load\/([A-Za-z0-9._:-]{1,128})$/.exec(req.path);
    if (!m) return { status: 404, body: { error: `no simulator route ${req.path}` } };
    if (req.method !== 'PUT') return { status: 405, headers: { allow: 'PUT' }, body: { error: 'use PUT' } };
    const load = parseLoad(req.json);
    if (!load)
      return {
        status: 400,
        body: { error: 'body: {"level":"idle"|"busy"} or {"cpuPercent":0-100,"networkKBps":>=0}' },
      };
    return { status: 200, body: { instanceId: m[1], load: this.setLoad(m[1]!, load) } };
  }

  private write(res: ServerResponse, response: SimResponse): void {
    const headers: Record<string, string> = { 'x-request-id': this.uuid(), ...response.headers };
    if (response.body === undefined) {
      res.writeHead(response.status, headers);
      res.end();
      return;
    }
    const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
    res.writeHead(response.status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  }
}
