import { logger } from '../log.ts';
import { provisionRequestSchema } from '../provisioning/request.ts';
import {
  DeliveryConflictError,
  DeliveryInProgressError,
  StartFailedError,
  startProvisioning,
} from '../provisioning/start.ts';
import { webhookSecrets } from '../runtime/webhook-secrets.ts';
import { isStoreUnavailable } from '../store/dynamo.ts';
import { type HttpApiEvent, type HttpApiResult, json, problem } from '../webhooks/http-event.ts';
import { receiveSignedJson, toHttpError, WebhookRequestError } from '../webhooks/receive.ts';

const log = logger.child({ handler: 'webhook-provision' });

/**
 * POST /webhooks/provision: verify → validate → start (or find) the job → 202 {jobId, statusUrl}.
 * Copies of a delivery answer 202 with the same job; 409 `delivery-in-progress` with Retry-After
 * while the first copy is still being accepted; 409 `webhook-id-reused` for another body under a
 * used id; 503 with Retry-After when the workflow or the store cannot take it now (send it again).
 */
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
    if (error instanceof DeliveryConflictError) {
      return problem(409, 'webhook-id-reused', 'this webhook-id was already delivered with a different body');
    }
    if (error instanceof DeliveryInProgressError) {
      return problem(
        409,
        'delivery-in-progress',
        'another copy of this delivery is still being accepted; send it again after Retry-After seconds',
        { 'retry-after': '2' },
      );
    }
    if (error instanceof StartFailedError || isStoreUnavailable(error)) {
      log.error('webhook not accepted', { error: (error as Error).name, message: (error as Error).message });
      return problem(503, 'not-accepted', 'the delivery could not be accepted now; send it again', {
        'retry-after': '5',
      });
    }
    if (error instanceof WebhookRequestError)
      log.info('webhook rejected', { status: error.status, reason: error.message });
    else log.error('webhook failed', { error: (error as Error).name, message: (error as Error).message });
    return toHttpError(error);
  }
}
