import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/config/load.ts';
import { createLogger } from '../../functions/log.ts';
import { NotificationConfigError, notificationsFromEnv } from '../../functions/notify/config.ts';
import { actionEvent, createNotifiers, jobEndedEvent, notify } from '../../functions/notify/notifier.ts';
import type { AuditEvent } from '../../functions/store/audit.ts';
import type { Job, JobWithResults } from '../../functions/store/jobs.ts';
import { generateSecret, signedHeaders, verify } from '../../functions/webhooks/standard-webhooks.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';

/** A local receiver on port 0: records every request, and verifies Standard Webhooks signatures. */
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
}

async function receiver(
  secret: string,
  answer: (r: Received) => { status: number; body?: string; type?: string } = () => ({ status: 204 }),
) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = false;
      try {
        verify({ secrets: [secret], headers: req.headers, payload: body });
        verified = true;
      } catch {
        verified = false;
      }
      const r = { path: req.url ?? '/', headers: req.headers, body, verified };
      received.push(r);
      const a = answer(r);
      res.writeHead(a.status, { 'content-type': a.type ?? 'text/plain' });
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const job: JobWithResults = {
  jobId: 'prov-msg_1',
  kind: 'provision',
  trigger: { type: 'webhook', actor: 'webhook-sender' },
  status: 'SUCCEEDED',
  request: {},
  steps: [],
  results: {
    'i-1': { status: 'SUCCEEDED', at: '2026-01-01T00:00:01Z', provider: 'exoscale', instanceId: 'i-1' },
  },
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:02Z',
  endedAt: '2026-01-01T00:00:02Z',
};

describe('notifiers', () => {
  const secret = generateSecret();
  let rx: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    rx = await receiver(secret);
  });
  afterAll(() => rx.close());
  afterEach(() => {
    rx.received.length = 0;
  });

  it('posts a job end to a webhook, signed with Standard Webhooks, with a stable id', async () => {
    const [webhook] = createNotifiers([{ type: 'webhook', url: `${rx.url}/hook`, secretEnv: 'OPS_SECRET' }], {
      env: { OPS_SECRET: secret },
    });
    const event = jobEndedEvent(job);
    const result = await webhook!.send(event);
    expect(result).toMatchObject({ ok: true, status: 204, attempts: 1 });
    expect(rx.received).toHaveLength(1);
    const got = rx.received[0]!;
    expect(got.verified).toBe(true);
    expect(got.headers['webhook-id']).toBe(event.id);
    expect(jobEndedEvent(job).id).toBe(event.id);
    expect(JSON.parse(got.body)).toMatchObject({
      type: 'job.ended',
      data: { jobId: 'prov-msg_1', status: 'SUCCEEDED', results: [{ target: 'i-1', instanceId: 'i-1' }] },
    });
  });

  it('posts a summary line to Slack', async () => {
    const [slack] = createNotifiers([{ type: 'slack', urlEnv: 'SLACK_URL' }], {
      env: { SLACK_URL: `${rx.url}/services/T/B/X` },
    });
    expect((await slack!.send(jobEndedEvent(job))).ok).toBe(true);
    expect(JSON.parse(rx.received[0]!.body)).toEqual({
      text: 'fleetflow: provision job prov-msg_1 SUCCEEDED (by webhook:webhook-sender)',
    });
  });

  it('publishes to SNS with a SigV4-signed Publish call', async () => {
    const sns = await receiver(secret, () => ({
      status: 200,
      type: 'text/xml',
      body: '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>',
    }));
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SNS: sns.url,
      AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
      AWS_SECRET_ACCESS_KEY: 'local-secret',
    });
    try {
      const [topic] = createNotifiers([
        { type: 'sns', topicArn: 'arn:aws:sns:eu-central-1:123456789012:fleetflow' },
      ]);
      expect(await topic!.send(jobEndedEvent(job))).toMatchObject({ ok: true });
      const form = new URLSearchParams(sns.received[0]!.body);
      expect(form.get('Action')).toBe('Publish');
      expect(form.get('TopicArn')).toBe('arn:aws:sns:eu-central-1:123456789012:fleetflow');
      expect(JSON.parse(form.get('Message')!)).toMatchObject({
        type: 'job.ended',
        data: { jobId: 'prov-msg_1' },
      });
      expect(String(sns.received[0]!.headers.authorization)).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDLOCAL\/\d{8}\/eu-central-1\/sns\//,
      );
    } finally {
      process.env = saved;
      await sns.close();
    }
  });

  it('reports a missing secret by its variable name and never throws', async () => {
    const notifiers = createNotifiers(
      [{ type: 'webhook', url: `${rx.url}/hook`, secretEnv: 'NOT_SET_ANYWHERE' }],
      { env: {} },
    );
    const [delivery] = await notify(jobEndedEvent(job), notifiers);
    expect(delivery!.result).toEqual({ ok: false, attempts: 0, error: 'NOT_SET_ANYWHERE is not set' });
    expect(rx.received).toHaveLength(0);
  });

  it('sends each target only the events it asked for', async () => {
    const notifiers = createNotifiers(
      [{ type: 'webhook', url: `${rx.url}/jobs-only`, secretEnv: 'S', events: ['job.ended'] }],
      {
        env: { S: secret },
      },
    );
    const outcome = {
      chain: 'j',
      seq: 1,
      kind: 'outcome',
      jobId: 'j',
      trigger: { type: 'schedule', actor: 'office-hours' },
      action: 'stop',
      instanceId: 'i-9',
      provider: 'gcore',
      intentSeq: 0,
      at: '2026-01-01T00:00:00Z',
      prevHash: 'x',
      hash: 'y',
      result: { status: 'pending' },
    } as AuditEvent;
    expect(await notify(actionEvent(outcome), notifiers)).toEqual([]);
    expect(await notify(jobEndedEvent(job), notifiers)).toHaveLength(1);
  });

  it('reads the notifications section of the config file', () => {
    const config = parseConfig(
      [
        'accounts: [{ provider: exoscale, locations: [ch-gva-2] }]',
        'notifications:',
        '  - { type: webhook, url: "https://ops.example.com/fleetflow", secretEnv: OPS_WEBHOOK_SECRET }',
        '  - { type: slack, urlEnv: SLACK_WEBHOOK_URL, events: [job.ended] }',
      ].join('\n'),
      'fleetflow.config.yaml',
    );
    expect(config.notifications.map((n) => n.type)).toEqual(['webhook', 'slack']);
    expect(() =>
      parseConfig(
        'accounts: [{ provider: exoscale, locations: [a] }]\nnotifications: [{ type: slack, url: "https://x" }]',
        'f.yaml',
      ),
    ).toThrow(/notifications\.0/);
  });

  it('validates FLEETFLOW_NOTIFICATIONS and names what is wrong', () => {
    expect(notificationsFromEnv({})).toEqual([]);
    expect(() => notificationsFromEnv({ FLEETFLOW_NOTIFICATIONS: '{' })).toThrow(NotificationConfigError);
    expect(() =>
      notificationsFromEnv({
        FLEETFLOW_NOTIFICATIONS: '[{"type":"slack","urlEnv":"https://hooks.slack.com/x"}]',
      }),
    ).toThrow(/at 0\.urlEnv: an environment variable name/);
    expect(
      notificationsFromEnv({
        FLEETFLOW_NOTIFICATIONS: '[{"type":"sns","topicArn":"arn:aws:sns:us-east-1:123456789012:ops"}]',
      }),
    ).toEqual([{ type: 'sns', topicArn: 'arn:aws:sns:us-east-1:123456789012:ops' }]);
  });
});

describe('notifications from a running fleetflow', () => {
  const secret = generateSecret();
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-notify-'));
  let rx: Awaited<ReturnType<typeof receiver>>;
  let runtime: Runtime;
  const saved = { ...process.env };

  beforeAll(async () => {
    rx = await receiver(secret);
    process.env.FLEETFLOW_TEST_RECEIVER_SECRET = secret;
    process.env.FLEETFLOW_NOTIFICATIONS = JSON.stringify([
      { type: 'webhook', url: `${rx.url}/fleetflow`, secretEnv: 'FLEETFLOW_TEST_RECEIVER_SECRET' },
    ]);
    runtime = await startRuntime({
      dataDir,
      port: 0,
      persist: false,
      timeScale: 0.01,
      simulator: { transitionMs: 20, operationMs: 20 },
      env: {},
      logger: createLogger({ component: 'runtime' }, 'silent'),
    });
  });
  afterAll(async () => {
    await runtime?.close();
    await rx.close();
    process.env = saved;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reports every provider action and the job end to a receiver that verifies each signature', async () => {
    const payload = readFileSync('examples/provision.json', 'utf8');
    const response = await fetch(`${runtime.urls.http}/webhooks/provision`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signedHeaders({ secrets: runtime.webhookSecret, id: 'msg_notify_1', payload }),
      },
      body: payload,
    });
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    const { job: started } = (await (await fetch(`${runtime.urls.http}/jobs/${jobId}`)).json()) as {
      job: Job;
    };
    const execution = await runtime.engine.waitForExecution(started.executionArn!);
    expect(execution.status).toBe('SUCCEEDED');

    const events = rx.received.map((r) => ({
      ...r,
      json: JSON.parse(r.body) as { type: string; data: Record<string, unknown> },
    }));
    expect(events.every((e) => e.verified)).toBe(true);
    const ended = events.filter((e) => e.json.type === 'job.ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]!.json.data).toMatchObject({ jobId, status: 'SUCCEEDED', kind: 'provision' });
    const actions = events.filter((e) => e.json.type === 'instance.action').map((e) => e.json.data.action);
    // examples/provision.json: create, snapshot, then scale with a stop and a start around it.
    expect(actions).toEqual(['create', 'snapshot', 'stop', 'scale', 'start']);
    expect(new Set(events.map((e) => e.headers['webhook-id'])).size).toBe(events.length);
    // No secret travels in an event.
    for (const e of events) expect(e.body).not.toContain(secret.slice(6));
  });
});
