import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../../functions/log.ts';
import { BodyTooLargeError, readBody } from '../../functions/shared/http-server.ts';
import { guardAwsEndpoint, TEST_KEY_PAIR } from '../auth/aws-endpoint.ts';
import type { AwsKeyPair } from '../auth/sigv4.ts';
import type { ExecutionRecord, ExecutionStatus, HistoryEvent, LocalEngine } from './engine.ts';
import { EngineClosedError, InvalidTokenError, SfnApiError, ValidationError } from './errors.ts';

/**
 * A Step Functions-compatible HTTP endpoint in front of the local engine, speaking the AWS JSON 1.0
 * protocol as @aws-sdk/client-sfn sends it (`POST /`, `X-Amz-Target: AWSStepFunctions.<Op>`), so
 * the product starts and inspects executions with the unchanged SDK pointed here by `endpoint`.
 *
 * Loopback only, and as on AWS every request must be signed (Signature Version 4) by the one key
 * pair the endpoint accepts, with an allowed Host (../auth/aws-endpoint.ts); anything else is
 * refused before an operation runs. The Authorization header is never logged.
 */

export interface SfnEndpointOptions {
  /** 127.0.0.1 (default), ::1 or localhost. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  logger?: Logger;
  /** The one key pair accepted (`fleetflow start`: the data folder's); the tests' local/local pair when absent. */
  credentials?: AwsKeyPair;
  /** Host names answered besides loopback (`fleetflow start --allow-host`). */
  allowHosts?: readonly string[];
}

export interface SfnEndpoint {
  /** e.g. `http://127.0.0.1:41234`, for `new SFNClient({ endpoint: url, ... })`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const MAX_BODY_BYTES = 1024 * 1024;
const TARGET_PREFIX = 'AWSStepFunctions.';
const STATUSES = new Set(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

type Body = Record<string, unknown>;
type Operation = (engine: LocalEngine, body: Body) => Promise<unknown> | unknown;

/** Epoch seconds: the JSON 1.0 protocol's timestamp format. */
const epoch = (d: Date | undefined): number | undefined => (d === undefined ? undefined : d.getTime() / 1000);

function str(body: Body, key: string, required: true): string;
function str(body: Body, key: string, required?: false): string | undefined;
function str(body: Body, key: string, required = false): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required)
      throw new ValidationError(
        `1 validation error detected: Value null at '${key}' failed to satisfy constraint: Member must not be null`,
      );
    return undefined;
  }
  if (typeof v !== 'string') throw new ValidationError(`'${key}' must be a string`);
  return v;
}

function pageSize(body: Body): number {
  const v = body.maxResults;
  if (v === undefined || v === null || v === 0) return 100;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1000) {
    throw new ValidationError("'maxResults' must be an integer from 0 to 1000");
  }
  return v;
}

/** Opaque page token bound to the query it came from, as AWS tokens are. */
function encodeToken(kind: string, cursor: string | number): string {
  return Buffer.from(JSON.stringify({ k: kind, c: cursor })).toString('base64url');
}

function decodeToken(body: Body, kind: string): string | number | undefined {
  const token = str(body, 'nextToken');
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      k?: unknown;
      c?: unknown;
    };
    if (parsed.k === kind && (typeof parsed.c === 'string' || typeof parsed.c === 'number')) return parsed.c;
  } catch {
    // falls through to InvalidToken
  }
  throw new InvalidTokenError('Invalid Token: the nextToken does not belong to this request');
}

const executionItem = (r: ExecutionRecord) => ({
  executionArn: r.executionArn,
  stateMachineArn: r.stateMachineArn,
  name: r.name,
  status: r.status,
  startDate: epoch(r.startDate),
  stopDate: epoch(r.stopDate),
});

function historyEvent(e: HistoryEvent, includeData: boolean): Body {
  const out: Body = { ...e, timestamp: epoch(e.timestamp) };
  if (includeData) return out;
  // includeExecutionData=false drops inputs and outputs from every event's details.
  for (const [k, v] of Object.entries(out)) {
    if (!k.endsWith('EventDetails') || typeof v !== 'object' || v === null) continue;
    const { input: _i, output: _o, inputDetails: _id, outputDetails: _od, ...rest } = v as Body;
    out[k] = rest;
  }
  return out;
}

const operations: Record<string, Operation> = {
  async StartExecution(engine, body) {
    const name = str(body, 'name');
    const input = str(body, 'input');
    const started = await engine.startExecution({
      stateMachineArn: str(body, 'stateMachineArn', true),
      ...(name !== undefined ? { name } : {}),
      ...(input !== undefined ? { input } : {}),
    });
    return { executionArn: started.executionArn, startDate: epoch(started.startDate) };
  },

  DescribeExecution(engine, body) {
    const r = engine.describeExecution(str(body, 'executionArn', true));
    return {
      ...executionItem(r),
      input: r.input,
      inputDetails: { included: true },
      ...(r.output !== undefined ? { output: r.output, outputDetails: { included: true } } : {}),
      ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.cause !== undefined ? { cause: r.cause } : {}),
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
  },

  ListExecutions(engine, body) {
    const stateMachineArn = str(body, 'stateMachineArn');
    const statusFilter = str(body, 'statusFilter');
    if (statusFilter !== undefined && !STATUSES.has(statusFilter)) {
      throw new ValidationError(`'statusFilter' must be one of ${[...STATUSES].join(', ')}`);
    }
    const limit = pageSize(body);
    const kind = `executions:${stateMachineArn ?? '*'}:${statusFilter ?? '*'}`;
    const all =
      statusFilter === 'PENDING_REDRIVE'
        ? []
        : engine.listExecutions({
            ...(stateMachineArn !== undefined ? { stateMachineArn } : {}),
            ...(statusFilter !== undefined ? { statusFilter: statusFilter as ExecutionStatus } : {}),
          });
    // The cursor is the last ARN returned: newer executions land in front of it, so pages never shift.
    const after = decodeToken(body, kind);
    let start = 0;
    if (after !== undefined) {
      const i = all.findIndex((r) => r.executionArn === after);
      if (i < 0) throw new InvalidTokenError('Invalid Token: the page cursor is gone');
      start = i + 1;
    }
    const page = all.slice(start, start + limit);
    const last = page.at(-1);
    const more = start + limit < all.length && last !== undefined;
    return {
      executions: page.map(executionItem),
      ...(more ? { nextToken: encodeToken(kind, last.executionArn) } : {}),
    };
  },

  StopExecution(engine, body) {
    const error = str(body, 'error');
    const cause = str(body, 'cause');
    const { stopDate } = engine.stopExecution(str(body, 'executionArn', true), {
      ...(error !== undefined ? { error } : {}),
      ...(cause !== undefined ? { cause } : {}),
    });
    return { stopDate: epoch(stopDate) };
  },

  GetExecutionHistory(engine, body) {
    const executionArn = str(body, 'executionArn', true);
    const reverse = body.reverseOrder === true;
    const includeData = body.includeExecutionData !== false;
    const limit = pageSize(body);
    const kind = `history:${executionArn}:${reverse ? 'desc' : 'asc'}`;
    const events = engine.getExecutionHistory(executionArn);
    if (reverse) events.reverse();
    // Cursor = last event id returned; ids only grow, so it survives events appended meanwhile.
    const after = decodeToken(body, kind);
    const rest =
      after === undefined
        ? events
        : events.filter((e) => (reverse ? e.id < Number(after) : e.id > Number(after)));
    const page = rest.slice(0, limit);
    const last = page.at(-1);
    const more = rest.length > limit && last !== undefined;
    return {
      events: page.map((e) => historyEvent(e, includeData)),
      ...(more ? { nextToken: encodeToken(kind, last.id) } : {}),
    };
  },

  ListStateMachines(engine, body) {
    const all = engine.stateMachines();
    const limit = pageSize(body);
    const start = Number(decodeToken(body, 'stateMachines') ?? 0);
    const page = all.slice(start, start + limit);
    return {
      stateMachines: page.map((m) => ({
        stateMachineArn: m.stateMachineArn,
        name: m.name,
        type: m.type,
        creationDate: epoch(m.creationDate),
      })),
      ...(start + limit < all.length ? { nextToken: encodeToken('stateMachines', start + limit) } : {}),
    };
  },

  DescribeStateMachine(engine, body) {
    const m = engine.describeStateMachine(str(body, 'stateMachineArn', true));
    return {
      stateMachineArn: m.stateMachineArn,
      name: m.name,
      status: 'ACTIVE',
      definition: m.definition,
      roleArn: m.roleArn,
      type: m.type,
      creationDate: epoch(m.creationDate),
    };
  },
};

/** The request body as text; past MAX_BODY_BYTES, the 413 the SFN API answers. */
async function readText(req: IncomingMessage): Promise<string> {
  try {
    return (await readBody(req, MAX_BODY_BYTES)).toString('utf8');
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    req.resume();
    throw new HttpError(
      413,
      'RequestEntityTooLargeException',
      `request body is larger than ${MAX_BODY_BYTES} bytes`,
    );
  }
}

function send(
  res: ServerResponse,
  status: number,
  payload: unknown,
  requestId: string,
  errorType?: string,
): void {
  // JSON.stringify drops undefined members, as the SDK expects absent optional fields.
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
    ...(errorType !== undefined ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}

async function handle(
  engine: LocalEngine,
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const requestId = randomUUID();
  let op = '?';
  try {
    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      throw new HttpError(404, 'UnknownOperationException', 'only POST / is served');
    }
    const target = req.headers['x-amz-target'];
    if (typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) {
      throw new HttpError(400, 'UnknownOperationException', 'missing or foreign X-Amz-Target');
    }
    op = target.slice(TARGET_PREFIX.length);
    const operation = Object.hasOwn(operations, op) ? operations[op] : undefined;
    if (!operation)
      throw new HttpError(400, 'UnknownOperationException', `${op} is not supported by the local endpoint`);
    const text = await readText(req);
    let body: unknown;
    try {
      body = text.length === 0 ? {} : JSON.parse(text);
    } catch {
      throw new HttpError(400, 'SerializationException', 'the request body is not JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HttpError(400, 'SerializationException', 'the request body must be a JSON object');
    }
    const result = await operation(engine, body as Body);
    send(res, 200, result, requestId);
    log.debug('sfn request', { op, status: 200 });
  } catch (error) {
    let status = 500;
    let type = 'InternalFailure';
    let message = 'internal error';
    if (error instanceof HttpError) {
      ({ status, type, message } = error);
    } else if (error instanceof SfnApiError) {
      status = 400;
      type = error.name;
      message = error.message;
    } else if (error instanceof EngineClosedError) {
      status = 503;
      type = 'ServiceUnavailable';
      message = error.message;
    } else {
      log.error('sfn request failed', { op, error: error instanceof Error ? error.message : String(error) });
    }
    log.debug('sfn request', { op, status, type });
    if (!res.headersSent) send(res, status, { __type: type, message }, requestId, type);
  }
}

/** Starts the endpoint; `await endpoint.close()` stops it (open keep-alive connections included). */
export async function startSfnEndpoint(
  engine: LocalEngine,
  options: SfnEndpointOptions = {},
): Promise<SfnEndpoint> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new RangeError(`the SFN endpoint only listens on loopback, not ${host}`);
  const log = options.logger ?? createLogger({ component: 'sfn-endpoint' });
  const server = createServer(
    guardAwsEndpoint(
      (req, res) => {
        void handle(engine, log, req, res);
      },
      {
        service: 'states',
        credentials: options.credentials ?? TEST_KEY_PAIR,
        ...(options.allowHosts && { allowHosts: options.allowHosts }),
        maxBodyBytes: MAX_BODY_BYTES,
      },
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '::1' ? '[::1]' : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
