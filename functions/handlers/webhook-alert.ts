import { logger } from '../log.ts';
import { remediationEventSchema } from '../remediation/events.ts';
import { PolicyError } from '../remediation/policy.ts';
import { policiesFromEnv } from '../remediation/source.ts';
import { remediateEvent } from '../remediation/start.ts';
import { webhookSecrets } from '../runtime/webhook-secrets.ts';
import { isStoreUnavailable } from '../store/dynamo.ts';
import { type HttpApiEvent, type HttpApiResult, json, problem } from '../webhooks/http-event.ts';
import { receiveSignedJson, toHttpError, WebhookRequestError } from '../webhooks/receive.ts';

const log = logger.child({ handler: 'webhook-alert' });

/**
 * POST /webhooks/alert: a monitoring alert, signed like provisioning webhooks (Standard Webhooks),
 * carrying a fleetflow event (`detail-type` + `detail`). Answers 202 with the remediation jobs it
 * started or found (duplicates inside a policy's dedupe window share one job).
 */
export async function handler(event: HttpApiEvent): Promise<HttpApiResult> {
  try {
    const received = receiveSignedJson(event, {
      secrets: await webhookSecrets(),
      schema: remediationEventSchema,
    });
    const trigger = {
      type: 'webhook',
      actor: 'alert-sender',
      source: `alert ${received.body['detail-type']}`.slice(0, 1024),
    };
    const outcome = await remediateEvent(received.body, trigger, policiesFromEnv().policies);
    return json(202, eventAnswer(outcome));
  } catch (error) {
    if (error instanceof PolicyError) {
      log.error('policies unusable', { message: error.message });
      return problem(500, 'policies-invalid', error.message);
    }
    if (isStoreUnavailable(error)) {
      log.error('alert not accepted', { error: (error as Error).name, message: (error as Error).message });
      return problem(503, 'not-accepted', 'the alert could not be accepted now; send it again', {
        'retry-after': '5',
      });
    }
    if (error instanceof WebhookRequestError)
      log.info('alert rejected', { status: error.status, reason: error.message });
    else log.error('alert failed', { error: (error as Error).name, message: (error as Error).message });
    return toHttpError(error);
  }
}

export function eventAnswer(outcome: Awaited<ReturnType<typeof remediateEvent>>): Record<string, unknown> {
  return {
    jobs: outcome.jobs.map((j) => ({ ...j, statusUrl: `/jobs/${j.jobId}` })),
    ...(outcome.notMatching.length > 0 && { notMatching: outcome.notMatching }),
  };
}
