import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ProviderId } from '../../functions/providers/port.ts';
import { jobIdFor } from '../../functions/provisioning/start.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { isSecretRef } from '../../functions/secrets/ref.ts';
import { secretStore } from '../../functions/secrets/store.ts';
import { createDynamo, localDynamoConfig } from '../../functions/store/dynamo.ts';
import { tableNames } from '../../functions/store/tables.ts';
import { generateSecret } from '../../functions/webhooks/standard-webhooks.ts';
import type { SimulatorBase } from '../../sim/kit/index.ts';
import type { TestRuntime } from '../e2e/support/runtime.ts';
import { filesRevealing, reveals } from './support/search.ts';

/**
 * Secrets never stored, end to end: a provisioning request carries a unique marker in userData, a
 * password, a credential-like label and a credential-like provider option; after the jobs ran
 * through the real runtime (local engine, dynalite on disk, simulators over HTTP), the marker is
 * searched in every place that stores or serves something of a job — and found only at the
 * providers, which must still receive every value.
 */

// Before any module reads it: every handler logs at debug, so the captured logs are the most a run can say.
vi.hoisted(() => {
  process.env.FLEETFLOW_LOG_LEVEL = 'debug';
});

const MARK = `zq${randomBytes(10).toString('hex')}`;
const SECRET = {
  userData: `#!/bin/sh\nexport DB_PASSWORD=${MARK}-userdata\n`,
  password: `${MARK}-password`,
  label: `${MARK}-label`,
  option: `${MARK}-option`,
};
/** A string the test itself stores, to show that the disk search sees what is written. */
const CONTROL = `zc${randomBytes(10).toString('hex')}`;

let t: TestRuntime;
let sfn: SFNClient;
let receiver: Server;
const notifications: string[] = [];
const logs: string[] = [];
const restoreWrites: Array<() => void> = [];
const jobs: Partial<Record<ProviderId, string>> = {};
const bodies: Partial<Record<ProviderId, Record<string, unknown>>> = {};
const webhookIds: Partial<Record<ProviderId, string>> = {};

function capture(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof stream.write;
  restoreWrites.push(() => {
    stream.write = write as typeof stream.write;
  });
}

const sim = (provider: ProviderId): SimulatorBase => {
  const s = t.runtime.simulators[provider];
  if (!s) throw new Error(`no simulator for ${provider}`);
  return s;
};

beforeAll(async () => {
  capture(process.stderr);
  capture(process.stdout);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      notifications.push(`${JSON.stringify(req.headers)}\n${body}`);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  process.env.SECRETS_TEST_NOTIFY_SECRET = generateSecret();
  process.env.FLEETFLOW_NOTIFICATIONS = JSON.stringify([
    {
      type: 'webhook',
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
      secretEnv: 'SECRETS_TEST_NOTIFY_SECRET',
    },
  ]);

  const { startTestRuntime } = await import('../e2e/support/runtime.ts');
  const { createLogger } = await import('../../functions/log.ts');
  t = await startTestRuntime({
    persist: true,
    providers: ['exoscale', 'genesiscloud'],
    logger: createLogger({ component: 'runtime' }, 'debug', (line) => logs.push(line)),
  });
  sfn = new SFNClient({
    endpoint: t.runtime.urls.sfn,
    region: 'us-east-1',
    credentials: t.runtime.credentials,
  });
  const { doc, destroy } = createDynamo({
    ...localDynamoConfig(t.runtime.urls.dynamodb),
    credentials: t.runtime.credentials,
  });
  await doc.send(
    new PutCommand({ TableName: tableNames().idempotency, Item: { id: 'control', value: CONTROL } }),
  );
  destroy();

  const { requestFor, sendWebhook, waitForJob, webhookId } = await import('../e2e/support/flow.ts');
  // Exoscale: user data (sent base64), a credential-like label and provider option (both sent as is).
  bodies.exoscale = requestFor('exoscale', sim('exoscale'), {
    name: 'secret-web-1',
    userData: SECRET.userData,
    labels: { team: 'web', 'db-token': SECRET.label },
    extra: { 'app-api-key': SECRET.option },
    snapshot: undefined,
    scaleTo: undefined,
  });
  // Genesis Cloud: a password instead of an SSH key, and user data as its startup script.
  bodies.genesiscloud = requestFor('genesiscloud', sim('genesiscloud'), {
    name: 'secret-gpu-1',
    sshKey: undefined,
    userData: SECRET.userData,
    labels: { deploy_secret: SECRET.label },
    extra: { password: SECRET.password },
    snapshot: undefined,
    scaleTo: undefined,
  });
  for (const provider of ['exoscale', 'genesiscloud'] as const) {
    webhookIds[provider] = webhookId(`secret-${provider}`);
    const sent = await sendWebhook(t.runtime, bodies[provider], { id: webhookIds[provider] });
    expect(sent.status, sent.text).toBe(202);
    jobs[provider] = jobIdFor(webhookIds[provider] as string);
  }
  for (const provider of ['exoscale', 'genesiscloud'] as const) {
    const view = await waitForJob(t.runtime, jobs[provider] as string);
    expect(view.job.status, JSON.stringify(view.job.error)).toBe('SUCCEEDED');
  }
}, 180_000);

afterAll(async () => {
  for (const restore of restoreWrites) restore();
  sfn?.destroy();
  await t?.close();
  await new Promise((r) => receiver?.close(r));
  delete process.env.FLEETFLOW_NOTIFICATIONS;
  delete process.env.SECRETS_TEST_NOTIFY_SECRET;
  delete process.env.FLEETFLOW_LOG_LEVEL;
});

/** Each place that holds a marker, by name. */
function leaks(places: Record<string, string>): string[] {
  return Object.entries(places)
    .filter(([, text]) => reveals(text, MARK))
    .map(([where]) => where);
}

async function scanAll(): Promise<Record<string, string>> {
  const { doc, destroy } = createDynamo({
    ...localDynamoConfig(t.runtime.urls.dynamodb),
    credentials: t.runtime.credentials,
  });
  try {
    const out: Record<string, string> = {};
    for (const [id, table] of Object.entries(tableNames())) {
      const items: unknown[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      out[`${id} table`] = JSON.stringify(items);
    }
    return out;
  } finally {
    destroy();
  }
}

describe('a provisioning request with secrets', () => {
  it('reaches the providers with every secret value', () => {
    const sentTo = (provider: ProviderId) =>
      sim(provider)
        .requestLog.filter((e) => e.mutation && e.method === 'POST')
        .map((e) => `${e.body ?? ''} ${JSON.stringify(e.query)}`)
        .join('\n');
    const exoscale = sentTo('exoscale');
    expect(exoscale).toContain(Buffer.from(SECRET.userData).toString('base64'));
    expect(exoscale).toContain(SECRET.label);
    expect(exoscale).toContain(SECRET.option);
    const genesis = sentTo('genesiscloud');
    expect(genesis).toContain(SECRET.password);
    expect(genesis).toContain(JSON.stringify(SECRET.userData).slice(1, -1));
  });

  it('is kept as references by the job and the workflow', async () => {
    const { httpGet } = await import('../e2e/support/flow.ts');
    const view = (await httpGet(t.runtime, `/jobs/${jobs.genesiscloud}`)).json as {
      job: { request: Record<string, Record<string, unknown>> };
    };
    expect(isSecretRef(view.job.request.userData)).toBe(true);
    expect(view.job.request.userData).toEqual({ $secret: `${jobs.genesiscloud}#/userData` });
    const execution = await sfn.send(
      new DescribeExecutionCommand({
        executionArn: t.runtime.engine.listExecutions().find((e) => e.name === jobs.genesiscloud)!
          .executionArn,
      }),
    );
    const input = JSON.parse(execution.input ?? '{}') as { request: Record<string, Record<string, unknown>> };
    expect(input.request.extra?.password).toEqual({ $secret: `${jobs.genesiscloud}#/extra/password` });
    expect(input.request.labels?.deploy_secret).toEqual({
      $secret: `${jobs.genesiscloud}#/labels/deploy_secret`,
    });
  });

  it('is in no table: jobs, audit, idempotency, and the sealed records are gone once the jobs ended', async () => {
    const tables = await scanAll();
    expect(leaks(tables)).toEqual([]);
    // The control value the test wrote is found: the scan sees what is stored.
    expect(reveals(tables['idempotency table'] ?? '', CONTROL)).toBe(true);
    const sealed = JSON.parse(tables['secrets table'] ?? '[]') as Array<{ id: string }>;
    expect(sealed.map((s) => s.id).filter((id) => Object.values(jobs).includes(id))).toEqual([]);
  });

  it('can be proven afterwards from the keyed digests of its audit intent, and a wrong value is refused', async () => {
    const { runCli } = await import('../support/cli.ts');
    const dir = mkdtempSync(join(tmpdir(), 'fleetflow-prove-'));
    const prove = async (field: string, value: string) => {
      writeFileSync(join(dir, 'value'), value, { mode: 0o600 });
      const args = ['--data-dir', t.dataDir, '--job', jobs.exoscale!, '--field', field];
      const r = await runCli('audit', 'prove', ...args, '--value-file', join(dir, 'value'), '--json');
      return { code: r.code, out: JSON.parse(r.stdout) as { matched: boolean; proofs: unknown[] } };
    };
    try {
      const right = await prove('userData', SECRET.userData);
      expect(right).toMatchObject({ code: 0, out: { matched: true } });
      expect(right.out.proofs).toHaveLength(1);
      expect(await prove('labels.db-token', SECRET.label)).toMatchObject({ code: 0, out: { matched: true } });
      // Same field, another value; the right value under another field: both refused.
      expect(await prove('userData', `${SECRET.userData} `)).toMatchObject({
        code: 1,
        out: { matched: false },
      });
      expect(await prove('labels.db-token', SECRET.userData)).toMatchObject({
        code: 1,
        out: { matched: false },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is served by no API: GET /jobs, GET /jobs/{id}, the dashboard', async () => {
    const { httpGet } = await import('../e2e/support/flow.ts');
    const paths = [
      '/jobs',
      '/jobs?status=SUCCEEDED',
      '/api/dashboard/jobs',
      '/api/dashboard/fleet',
      ...Object.values(jobs).flatMap((id) => [
        `/jobs/${id}`,
        `/api/dashboard/jobs/${id}`,
        `/api/dashboard/audit?job=${id}`,
      ]),
    ];
    const answers: Record<string, string> = {};
    for (const path of paths) {
      const answer = await httpGet(t.runtime, path);
      expect(answer.status, `${path}: ${answer.text.slice(0, 200)}`).toBe(200);
      answers[path] = answer.text;
    }
    // The answers name the jobs (the search is looking at the right thing).
    expect(answers['/jobs']).toContain(jobs.exoscale);
    expect(leaks(answers)).toEqual([]);
  });

  it('is in no execution: DescribeExecution and GetExecutionHistory of every execution, children included', async () => {
    const places: Record<string, string> = {};
    const { stateMachines } = await sfn.send(new ListStateMachinesCommand({}));
    let executions = 0;
    for (const machine of stateMachines ?? []) {
      const { executions: list } = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn }),
      );
      for (const e of list ?? []) {
        executions++;
        places[`describe ${e.name}`] = JSON.stringify(
          await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn })),
        );
        let nextToken: string | undefined;
        const events: unknown[] = [];
        do {
          const page = await sfn.send(
            new GetExecutionHistoryCommand({ executionArn: e.executionArn, ...(nextToken && { nextToken }) }),
          );
          events.push(...(page.events ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
        places[`history ${e.name}`] = JSON.stringify(events);
      }
    }
    expect(executions).toBeGreaterThanOrEqual(2);
    expect(leaks(places)).toEqual([]);
  });

  it('is in no event, notification or log line', () => {
    const eventLog = `${t.dataDir}/events.jsonl`;
    expect(notifications.length).toBeGreaterThan(0);
    expect(logs.join('').length).toBeGreaterThan(0);
    expect(
      leaks({
        events: existsSync(eventLog) ? readFileSync(eventLog, 'utf8') : '',
        notifications: notifications.join('\n'),
        logs: logs.join(''),
      }),
    ).toEqual([]);
  });

  it('is in no file of the data folder (LevelDB tables and logs, journals, keys)', () => {
    // What the test stored is found, and so are the execution journals (they name the job).
    expect(filesRevealing(t.dataDir, CONTROL).length).toBeGreaterThan(0);
    expect(filesRevealing(join(t.dataDir, 'executions'), jobs.exoscale as string).length).toBeGreaterThan(0);
    expect(filesRevealing(t.dataDir, MARK)).toEqual([]);
  });
});

describe('redeliveries of a request with secrets', () => {
  it('the same body under the same webhook-id is the same delivery: the same job, nothing new built', async () => {
    const { sendWebhook } = await import('../e2e/support/flow.ts');
    const creates = sim('exoscale').requestLog.filter((e) => e.mutation).length;
    const again = await sendWebhook(t.runtime, bodies.exoscale, { id: webhookIds.exoscale });
    expect(again.status, again.text).toBe(202);
    expect((again.json as { jobId: string }).jobId).toBe(jobs.exoscale);
    expect(sim('exoscale').requestLog.filter((e) => e.mutation).length).toBe(creates);
  });

  it('a changed secret under a used webhook-id is refused with 409, and nothing is sealed or started', async () => {
    const { sendWebhook } = await import('../e2e/support/flow.ts');
    const executions = t.runtime.engine.listExecutions().length;
    const changed = { ...bodies.exoscale, userData: `${SECRET.userData}# changed\n` };
    const answer = await sendWebhook(t.runtime, changed, { id: webhookIds.exoscale });
    expect(answer.status, answer.text).toBe(409);
    expect(t.runtime.engine.listExecutions().length).toBe(executions);
    const sealed = JSON.parse((await scanAll())['secrets table'] ?? '[]') as Array<{ id: string }>;
    expect(sealed.map((s) => s.id)).not.toContain(jobs.exoscale);
  });
});

describe('a provisioning workflow started by hand, not through the webhook', () => {
  const VICTIM = `zv${randomBytes(10).toString('hex')}`;

  /** Starts the provision machine directly and waits for it to end; returns its status and history. */
  async function startByHand(name: string, jobId: string, request: unknown) {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: t.runtime.engine.stateMachineArn('provision'),
        name,
        input: JSON.stringify({ jobId, trigger: { type: 'manual', actor: 'someone' }, request }),
      }),
    );
    for (;;) {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (d.status !== 'RUNNING') {
        const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
        return { status: d.status, history: JSON.stringify(history.events) };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("cannot use another job's sealed secrets, under its own name or under the other job's id", async () => {
    const victim = `prov-victim-${randomBytes(4).toString('hex')}`;
    // A job waiting for its workflow, with its secrets sealed (as between ingest and create).
    await secretStore().seal(victim, { '/userData': `${VICTIM}-userdata` });
    await stores().jobs.create({
      jobId: victim,
      kind: 'provision',
      trigger: { type: 'webhook', actor: 'webhook-sender' },
      request: { userData: { $secret: `${victim}#/userData` } },
    });
    const creates = sim('exoscale').requestLog.filter((e) => e.mutation).length;
    const request = { ...bodies.exoscale, name: 'stolen-1', userData: { $secret: `${victim}#/userData` } };

    // Its own job id, the victim's reference: refused by owner, the victim's secrets untouched.
    const attacker = `prov-attacker-${randomBytes(4).toString('hex')}`;
    const own = await startByHand(attacker, attacker, request);
    expect(await secretStore().open(victim)).toEqual({ '/userData': `${VICTIM}-userdata` });
    // The victim's job id under another execution name: refused too, names bind references. (Anyone
    // who may start executions can still fail a queued job this way: the endpoint's guard matters.)
    const claimed = await startByHand(`prov-attacker-${randomBytes(4).toString('hex')}`, victim, request);

    for (const run of [own, claimed]) {
      expect(run.status).toBe('FAILED');
      expect(run.history).toContain('SecretReferenceError');
      expect(reveals(run.history, VICTIM)).toBe(false);
    }
    expect(sim('exoscale').requestLog.filter((e) => e.mutation).length).toBe(creates);
    await secretStore().forget(victim);
  });
});
