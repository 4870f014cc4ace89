import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { createLogger } from '../log.ts';
import { redactValue } from '../shared/redact.ts';

/**
 * fleetflow's own events (source `fleetflow`), one per action, for notifications to hang off.
 * One small interface; which sink is used comes from the environment, never from an "if local":
 * - FLEETFLOW_EVENT_BUS (a bus name or ARN): EventBridge PutEvents (on AWS);
 * - FLEETFLOW_EVENT_LOG (a file path): one JSON line per event, appended (the local runtime);
 * - neither: the event is logged at info level.
 */
export interface FleetflowEvent {
  /** e.g. `Instance Stopped`, `Instance Started`, `Instance Action Failed`, `Schedule Run Finished`. */
  detailType: string;
  detail: Record<string, unknown>;
  /** ARN-ish ids of what the event is about (instance ids). */
  resources?: string[];
}

export interface EventSink {
  emit(events: FleetflowEvent[]): Promise<void>;
}

export const EVENT_SOURCE = 'fleetflow';

export class EventDeliveryError extends Error {
  override name = 'EventDeliveryError';
}

/** Appends events as JSON lines; each line is written in one call, so lines never interleave. */
export class FileEventSink implements EventSink {
  constructor(private readonly file: string) {}
  async emit(events: FleetflowEvent[]): Promise<void> {
    if (events.length === 0) return;
    const time = new Date().toISOString();
    const lines = events.map((e) =>
      JSON.stringify({
        source: EVENT_SOURCE,
        'detail-type': e.detailType,
        time,
        resources: e.resources ?? [],
        detail: redactValue(e.detail),
      }),
    );
    await appendFile(this.file, `${lines.join('\n')}\n`);
  }
}

/**
 * EventBridge PutEvents, signed with SigV4 by the SDK's own signer and credential chain (the
 * Lambda runtime provides both), so no EventBridge client has to be bundled.
 */
export class EventBridgeSink implements EventSink {
  constructor(
    private readonly bus: string,
    private readonly region = process.env.AWS_REGION ?? 'us-east-1',
  ) {}
  async emit(events: FleetflowEvent[]): Promise<void> {
    const { SignatureV4 } = await import('@smithy/signature-v4');
    const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
    const signer = new SignatureV4({
      service: 'events',
      region: this.region,
      credentials: defaultProvider(),
      sha256: Sha256,
    });
    // PutEvents takes at most 10 entries per call.
    for (let i = 0; i < events.length; i += 10) {
      const body = JSON.stringify({
        Entries: events.slice(i, i + 10).map((e) => ({
          Source: EVENT_SOURCE,
          DetailType: e.detailType,
          Detail: JSON.stringify(redactValue(e.detail)),
          Resources: e.resources ?? [],
          EventBusName: this.bus,
        })),
      });
      const host = `events.${this.region}.amazonaws.com`;
      const signed = await signer.sign({
        method: 'POST',
        protocol: 'https:',
        hostname: host,
        path: '/',
        headers: {
          host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'AWSEvents.PutEvents',
        },
        body,
      });
      const res = await fetch(`https://${host}/`, {
        method: 'POST',
        headers: signed.headers as Record<string, string>,
        body,
      });
      const answer = (await res.json().catch(() => ({}))) as { FailedEntryCount?: number };
      if (!res.ok || (answer.FailedEntryCount ?? 0) > 0) {
        throw new EventDeliveryError(
          `EventBridge PutEvents failed (HTTP ${res.status}, ${answer.FailedEntryCount ?? '?'} entries failed)`,
        );
      }
    }
  }
}

/** The hash interface SigV4 wants, from node:crypto (HMAC when given a key). */
class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

class LogEventSink implements EventSink {
  private readonly log = createLogger({ component: 'events' });
  async emit(events: FleetflowEvent[]): Promise<void> {
    for (const e of events) this.log.info(e.detailType, e.detail);
  }
}

let cached: { key: string; sink: EventSink } | undefined;

export function eventSinkFromEnv(env: NodeJS.ProcessEnv = process.env): EventSink {
  const key = `${env.FLEETFLOW_EVENT_BUS ?? ''}|${env.FLEETFLOW_EVENT_LOG ?? ''}`;
  if (cached?.key === key) return cached.sink;
  const sink = env.FLEETFLOW_EVENT_BUS
    ? new EventBridgeSink(env.FLEETFLOW_EVENT_BUS)
    : env.FLEETFLOW_EVENT_LOG
      ? new FileEventSink(env.FLEETFLOW_EVENT_LOG)
      : new LogEventSink();
  cached = { key, sink };
  return sink;
}
