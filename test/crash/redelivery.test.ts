import { createHash } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIdFor } from '../../functions/provisioning/start.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { createDynamo } from '../../functions/store/dynamo.ts';
import { payloadHash } from '../../functions/store/idempotency.ts';
import { tableNamesFromEnv } from '../../functions/store/tables.ts';
import { signedHeaders } from '../../functions/webhooks/standard-webhooks.ts';
import {
  liveInstancesNamed,
  requestFor,
  sendWebhook,
  targetFor,
  waitForJob,
  webhookId,
} from '../e2e/support/flow.ts';
import { startTestRuntime, type TestRuntime } from '../e2e/support/runtime.ts';

/**
 * Redelivery never fails: copies of one delivery — at once, or after a crash cut its acceptance —
 * answer 2xx with the same job (or the documented 409 + Retry-After while the first copy is still
 * being accepted), never 5xx; a changed body under a used id is 409, also once the claim expired.
 * The states a crash leaves are built exactly (a claim whose holder died, a job accepted but never
 * started), then the same delivery is sent again.
 */
let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime({ providers: ['exoscale'] });
});
afterAll(async () => {
  await rt?.close();
});

const request = (name: string) => requestFor('exoscale', rt.runtime.simulators.exoscale!, { name });
/** The claim key and hash the webhook handler uses for a delivery of this exact body. */
const claimOf = (id: string, body: unknown) => ({
  key: `webhook:${id}`,
  hash: payloadHash({ payloadHash: createHash('sha256').update(JSON.stringify(body)).digest('hex') }),
});

describe('copies of one delivery', () => {
  it('50 identical deliveries at once: all 202 (or 409 delivery-in-progress with Retry-After), one job, one instance', async () => {
    const body = request('copies-50');
    const id = webhookId('copies');
    const payload = JSON.stringify(body);
    const answers = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const res = await fetch(`${rt.runtime.urls.http}/webhooks/provision`, {
          method: 'POST',
          body: payload,
          headers: {
            'content-type': 'application/json',
            ...signedHeaders({ secrets: rt.runtime.webhookSecret, id, payload }),
          },
        });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json() };
      }),
    );

    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s !== 202 && s !== 409)).toEqual([]);
    for (const a of answers.filter((x) => x.status === 409)) {
      expect(a.json).toMatchObject({ error: { code: 'delivery-in-progress' } });
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
    }
    for (const a of answers.filter((x) => x.status === 202))
      expect(a.json).toEqual({ jobId: jobIdFor(id), statusUrl: `/jobs/${jobIdFor(id)}` });
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThan(0);

    const view = await waitForJob(rt.runtime, jobIdFor(id));
    expect(view.job.status).toBe('SUCCEEDED');
    expect(await liveInstancesNamed(targetFor(body), 'copies-50')).toHaveLength(1);
    const mine = [];
    for await (const job of stores().jobs.scanItems()) if (job.jobId.includes('copies')) mine.push(job.jobId);
    expect(mine).toEqual([jobIdFor(id)]);
  });

  it('a claim left by a crashed acceptance is taken over once stale: 202, the job is started and provisioned', async () => {
    const body = request('after-crash');
    const id = webhookId('cut');
    const jobId = jobIdFor(id);
    // What a kill between "job created" and "execution started" leaves: a claim and a QUEUED job.
    const claim = claimOf(id, body);
    await stores().idempotency.begin(claim.key, claim.hash, { inProgressMs: 1 });
    await stores().jobs.create({
      jobId,
      kind: 'provision',
      trigger: { type: 'webhook', actor: 'webhook-sender', source: `webhook-id ${id}` },
      request: { ...body, account: 'default' },
    });
    await new Promise((r) => setTimeout(r, 10));

    const again = await sendWebhook(rt.runtime, body, { id });
    expect(again.status, again.text).toBe(202);
    expect(again.json).toEqual({ jobId, statusUrl: `/jobs/${jobId}` });
    expect((await waitForJob(rt.runtime, jobId)).job.status).toBe('SUCCEEDED');
    expect(await liveInstancesNamed(targetFor(body), 'after-crash')).toHaveLength(1);
  });

  it('a job a restart ended before it ever started (no execution) is reopened by the redelivery and provisioned', async () => {
    const body = request('reopened');
    const id = webhookId('dead');
    const jobId = jobIdFor(id);
    const claim = claimOf(id, body);
    // An older runtime's recovery: accepted (claim completed), never started, ended "Interrupted".
    await stores().idempotency.begin(claim.key, claim.hash);
    await stores().idempotency.complete(claim.key, { jobId });
    await stores().jobs.create({
      jobId,
      kind: 'provision',
      trigger: { type: 'webhook', actor: 'webhook-sender', source: `webhook-id ${id}` },
      request: { ...body, account: 'default' },
    });
    await stores().jobs.transition(jobId, 'FAILED', { error: { code: 'Interrupted', message: 'lost' } });

    const again = await sendWebhook(rt.runtime, body, { id });
    expect(again.status, again.text).toBe(202);
    const view = await waitForJob(rt.runtime, jobId);
    expect(view.job.status).toBe('SUCCEEDED');
    expect(view.job.steps[0]).toMatchObject({
      name: 'reopen',
      detail: { reason: expect.stringMatching(/never started/) },
    });
    expect(await liveInstancesNamed(targetFor(body), 'reopened')).toHaveLength(1);
  });

  it('a changed body under a used id is 409, while the claim lives and after it expired; nothing starts for it', async () => {
    const body = request('first-body');
    const id = webhookId('reuse');
    expect((await sendWebhook(rt.runtime, body, { id })).status).toBe(202);
    const changed = { ...body, name: 'other-body' };
    const live = await sendWebhook(rt.runtime, changed, { id });
    expect(live.status).toBe(409);
    expect(live.json).toMatchObject({ error: { code: 'webhook-id-reused' } });

    // The claim expires (DynamoDB TTL or its expiry time): the job's stored request still decides.
    const { doc, destroy } = createDynamo({ endpoint: rt.runtime.urls.dynamodb, region: 'us-east-1' });
    await doc.send(
      new UpdateCommand({
        TableName: tableNamesFromEnv().idempotency,
        Key: { id: `webhook:${id}` },
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': 1 },
      }),
    );
    destroy();
    const expired = await sendWebhook(rt.runtime, changed, { id });
    expect(expired.status).toBe(409);
    expect(expired.json).toMatchObject({ error: { code: 'webhook-id-reused' } });
    expect((await waitForJob(rt.runtime, jobIdFor(id))).job.status).toBe('SUCCEEDED');
    expect(await liveInstancesNamed(targetFor(body), 'other-body')).toEqual([]);
  });
});
