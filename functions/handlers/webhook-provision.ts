import { logger } from '../log.ts';
import { provisionRequestSchema } from '../provisioning/request.ts';
import { startProvisioning } from '../provisioning/start.ts';
import { webhookSecrets } from '../runtime/webhook-secrets.ts';
import { IdempotencyMismatchError } from '../store/errors.ts';
import { type HttpApiEvent, type HttpApiResult, json, problem } from '../webhooks/http-event.ts';
import { receiveSignedJson, toHttpError, WebhookRequestError } from '../webhooks/receive.ts';

const log = logger.child({ handler: 'webhook-provision' });

/** POST /webhooks/provision: verify → validate → start (or find) the job → 202 {jobId, statusUrl}. */
export async function handler(event: HttpApiEvent): Promise<HttpApiResult> {
  try {
    const received = receiveSignedJson(event, {
      secrets: await webhookSecrets(),
      schema: provisionRequestSchema,
    });
    const { jobId } = await startProvisioning({
      webhookId: received.webhookId,
      request: received.body,
      payloadHash: received.payloadHash,
      trigger: {
        type: 'webhook',
        actor: 'webhook-sender',
        source: `webhook-id ${received.webhookId}`.slice(0, 1024),
      },
    });
    return json(202, { jobId, statusUrl: `/jobs/${jobId}` });
  } catch (error) {
    if (error instanceof IdempotencyMismatchError) {
      return problem(409, 'webhook-id-reused', 'this webhook-id was already delivered with a different body');
    }
    if (error instanceof WebhookRequestError)
      log.info('webhook rejected', { status: error.status, reason: error.message });
    else log.error('webhook failed', { error: (error as Error).name, message: (error as Error).message });
    return toHttpError(error);
  }
}
