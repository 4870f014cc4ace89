import { logger } from '../log.ts';
import { remediationEventSchema } from '../remediation/events.ts';
import { PolicyError } from '../remediation/policy.ts';
import { policiesFromEnv } from '../remediation/source.ts';
import { remediateEvent } from '../remediation/start.ts';
import { isStoreUnavailable } from '../store/dynamo.ts';
import { type HttpApiEvent, type HttpApiResult, json, problem } from '../webhooks/http-event.ts';
import { summariseIssues } from '../webhooks/receive.ts';
import { eventAnswer } from './webhook-alert.ts';

const log = logger.child({ handler: 'remediation-event' });

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

/**
 * The EventBridge rule's target: one fleetflow event (source `fleetflow`, a remediation
 * detail-type). Invoked asynchronously, so an error goes to Lambda's retries and then the
 * dead-letter queue; an event that can never be valid is logged and dropped instead.
 */
export async function handler(event: unknown): Promise<Record<string, unknown>> {
  const parsed = remediationEventSchema.safeParse(event);
  if (!parsed.success) {
    log.warn('event dropped: not a remediation event', { issues: summariseIssues(parsed.error.issues) });
    return { dropped: true };
  }
  const trigger = {
    type: 'event',
    actor: 'eventbridge',
    source: `${parsed.data.source ?? 'event'} ${parsed.data['detail-type']}`.slice(0, 1024),
  };
  return eventAnswer(await remediateEvent(parsed.data, trigger, policiesFromEnv().policies));
}

/**
 * POST /events on the local runtime only (loopback, unsigned, like EventBridge's PutEvents from
 * inside the account): one event or an array of them, fed to the same path as EventBridge.
 */
export async function httpHandler(event: HttpApiEvent): Promise<HttpApiResult> {
  let body: unknown;
  try {
    body = JSON.parse(
      event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? ''),
    );
  } catch {
    return problem(400, 'malformed-json', 'the body is not valid JSON');
  }
  const list = Array.isArray(body) ? body : [body];
  const answers: Array<Record<string, unknown>> = [];
  try {
    const { policies } = policiesFromEnv();
    for (const [i, item] of list.entries()) {
      const parsed = remediationEventSchema.safeParse(item);
      if (!parsed.success)
        return problem(
          422,
          'invalid-body',
          `event ${i} does not match the schema:\n${summariseIssues(parsed.error.issues).join('\n')}`,
        );
      const trigger = {
        type: 'event',
        actor: 'local',
        source: `${parsed.data.source ?? 'event'} ${parsed.data['detail-type']}`.slice(0, 1024),
      };
      answers.push(eventAnswer(await remediateEvent(parsed.data, trigger, policies)));
    }
  } catch (error) {
    if (error instanceof PolicyError) return problem(500, 'policies-invalid', error.message);
    if (isStoreUnavailable(error))
      return problem(503, 'not-accepted', 'the event could not be accepted now; send it again', {
        'retry-after': '5',
      });
    log.error('event failed', { error: (error as Error).name, message: (error as Error).message });
    return problem(500, 'internal-error', 'internal error');
  }
  return json(202, Array.isArray(body) ? answers : answers[0]);
}
