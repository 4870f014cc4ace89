import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderId } from '../port.ts';

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
}

/** Faults to inject; counters are consumed one request (or operation) at a time. */
export interface Faults {
  /** The next N requests answer with `serverErrorStatus` in the provider's error shape. */
  serverErrors: number;
  serverErrorStatus: number;
  /** The next N requests get 429 with `Retry-After: retryAfterSeconds`. */
  rateLimited: number;
  retryAfterSeconds: number;
  /** The next N requests have their connection destroyed before anything is applied. */
  resets: number;
  /** The next N mutating requests are applied, then their connection is destroyed (ambiguous outcome). */
  resetsAfterApply: number;
  /** Every answer is delayed by this much more. */
  slowMs: number;
  /** The next N asynchronous operations end in failure. */
  failOperations: number;
  /** The next N asynchronous operations never finish. */
  stuckOperations: number;
}

export const NO_FAULTS: Faults = {
  serverErrors: 0,
  serverErrorStatus: 503,
  rateLimited: 0,
  retryAfterSeconds: 1,
  resets: 0,
  resetsAfterApply: 0,
  slowMs: 0,
  failOperations: 0,
  stuckOperations: 0,
};

export interface SimRequest {
  method: string;
  /** Path without the query string, percent-decoded per segment left as received. */
  path: string;
  /** Query pairs in the order received (decoded). */
  queryPairs: Array<[string, string]>;
  query: Record<string, string>;
  headers: Record<string, string>;
  rawBody: string;
  /** The body parsed as JSON, or form pairs for form bodies. */
  json?: unknown;
  form?: Array<[string, string]>;
}

export interface SimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** True for requests that change something at the provider (creates, actions, deletes). */
  mutation: boolean;
}

/** What `fleetflow sim` prints as its one ready line. */
export interface SimulatorDescription {
  provider: ProviderId;
  url: string;
  credentials: Record<string, string>;
  [extra: string]: unknown;
}

/** A deterministic PRNG (mulberry32): seeded fleets and ids without a dependency. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export abstract class SimulatorBase {
  abstract readonly provider: ProviderId;
  /** Credentials the simulator accepts; printed by `fleetflow sim`. */
  abstract readonly credentials: Record<string, string>;
  /** A location that exists in the seeded catalogue. */
  abstract readonly defaultLocation: string;

  readonly faults: Faults = { ...NO_FAULTS };
  readonly requestLog: RequestLogEntry[] = [];
  protected readonly options: Required<Omit<SimulatorOptions, 'port' | 'host'>> & {
    port: number;
    host: string;
  };
  protected readonly random: () => number;
  private server?: Server;
  private baseUrl?: string;
  private timeline: Array<{ at: number; apply: () => void }> = [];
  private bucket = { tokens: 0, at: 0 };

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
    };
    this.random = seededRandom(this.options.seed);
    this.bucket.tokens = this.options.rateLimitRps;
  }

  // ---- what each provider implements -----------------------------------------------------
  /** Returns an error response when the request is not authenticated as the provider requires. */
  protected abstract authenticate(req: SimRequest): SimResponse | undefined;
  protected abstract route(req: SimRequest): SimResponse | Promise<SimResponse>;
  /** An error answer in the provider's own shape. */
  protected abstract errorResponse(status: number, message: string, code?: string): SimResponse;
  /** Whether a request changes state (for resetsAfterApply and the request log). */
  protected isMutation(req: SimRequest): boolean {
    return req.method !== 'GET';
  }

  // ---- lifecycle -------------------------------------------------------------------------
  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        if (!res.headersSent)
          this.write(res, this.errorResponse(500, `simulator error: ${(error as Error).message}`));
      });
    });
    this.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (error: NodeJS.ErrnoException) => {
        this.server = undefined;
        reject(
          error.code === 'EADDRINUSE'
            ? Object.assign(
                new Error(`port ${this.options.port} is already in use on ${this.options.host}`),
                {
                  hint: 'pick another with --port, or --port 0 for a free one',
                },
              )
            : error,
        );
      });
      this.server!.listen(this.options.port, this.options.host, resolve);
    });
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://${this.options.host}:${port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** The server's origin, e.g. `http://127.0.0.1:39123`. */
  get origin(): string {
    if (!this.baseUrl) throw new Error('simulator not started');
    return this.baseUrl;
  }

  /** The base URL an adapter should use for a location (providers differ: per zone, one URL…). */
  abstract endpoint(location?: string): string;

  describe(): SimulatorDescription {
    return {
      provider: this.provider,
      url: this.endpoint(),
      credentials: this.credentials,
      location: this.defaultLocation,
    };
  }

  /** Requests that changed something, for tests asserting "no mutation happened". */
  mutations(): RequestLogEntry[] {
    return this.requestLog.filter((e) => e.mutation && e.status < 400);
  }

  // ---- helpers for provider simulators ---------------------------------------------------
  /** Runs `apply` once `afterMs` has passed (evaluated lazily at the start of each request). */
  protected later(afterMs: number, apply: () => void): void {
    this.timeline.push({ at: Date.now() + afterMs, apply });
    this.timeline.sort((a, b) => a.at - b.at);
  }

  /** Applies every due transition; also call it from reads that happen outside requests. */
  settle(): void {
    const now = Date.now();
    while (this.timeline.length && this.timeline[0]!.at <= now) this.timeline.shift()!.apply();
  }

  /**
   * Decides how the next asynchronous operation ends, consuming failOperations/stuckOperations.
   * Returns 'fail', 'stuck' or 'ok'.
   */
  protected nextOperationOutcome(): 'ok' | 'fail' | 'stuck' {
    if (this.faults.stuckOperations > 0) {
      this.faults.stuckOperations--;
      return 'stuck';
    }
    if (this.faults.failOperations > 0) {
      this.faults.failOperations--;
      return 'fail';
    }
    return 'ok';
  }

  protected uuid(): string {
    // Seeded where the test asked for determinism in the fleet; random after that is fine.
    return randomUUID();
  }

  protected seededUuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.random() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  protected pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  // ---- the request pipeline --------------------------------------------------------------
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const request = parseRequest(req, rawBody);
    const mutation = this.isMutation(request);
    const log = (status: number) =>
      this.requestLog.push({
        at: Date.now(),
        method: request.method,
        path: request.path,
        query: request.query,
        status,
        mutation,
      });

    const delay = this.options.latencyMs + this.faults.slowMs;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));

    if (this.faults.resets > 0) {
      this.faults.resets--;
      log(0);
      req.socket.destroy();
      return;
    }
    if (this.faults.rateLimited > 0 || !this.takeToken()) {
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

  private takeToken(): boolean {
    const rps = this.options.rateLimitRps;
    if (!rps) return true;
    const now = Date.now();
    this.bucket.tokens = Math.min(rps, this.bucket.tokens + ((now - this.bucket.at) / 1000) * rps);
    this.bucket.at = now;
    if (this.bucket.tokens < 1) return false;
    this.bucket.tokens -= 1;
    return true;
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

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseRequest(req: IncomingMessage, rawBody: string): SimRequest {
  const url = new URL(req.url ?? '/', 'http://sim');
  const queryPairs = [...url.searchParams.entries()];
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  const request: SimRequest = {
    method: req.method ?? 'GET',
    path: url.pathname,
    queryPairs,
    query: Object.fromEntries(queryPairs),
    headers,
    rawBody,
  };
  const type = headers['content-type'] ?? '';
  if (rawBody && type.includes('application/x-www-form-urlencoded')) {
    request.form = [...new URLSearchParams(rawBody).entries()];
  } else if (rawBody) {
    try {
      request.json = JSON.parse(rawBody);
    } catch {
      // left undefined: the route answers 400 in the provider's shape
    }
  }
  return request;
}
