import * as z from 'zod';

/**
 * The `notifications` section of the config file: where fleetflow reports job ends and every
 * provider action. Secrets never sit in the file: a webhook names the environment variable that
 * holds its `whsec_…` secret, Slack the one that holds the incoming-webhook URL (its path is the
 * credential). SNS needs no secret: the Lambda role (or the SDK's usual chain) signs the call.
 *
 * ```yaml
 * notifications:
 *   - { type: webhook, url: https://ops.example.com/fleetflow, secretEnv: OPS_WEBHOOK_SECRET }
 *   - { type: slack, urlEnv: SLACK_WEBHOOK_URL, events: [job.ended] }
 *   - { type: sns, topicArn: arn:aws:sns:eu-central-1:123456789012:fleetflow }
 * ```
 *
 * The handlers read it from FLEETFLOW_NOTIFICATIONS (the same array as JSON), which the stack
 * sets on Lambda and the local runtime sets from the config file.
 */

export const NOTIFICATION_EVENTS = ['job.ended', 'instance.action', 'schedule.warning'] as const;
export type NotificationEventType = (typeof NOTIFICATION_EVENTS)[number];

const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name such as OPS_WEBHOOK_SECRET')
  .describe('name of the environment variable holding the value (never the value itself)');

const events = z
  .array(z.enum(NOTIFICATION_EVENTS))
  .min(1)
  .optional()
  .describe(`which events to send (default: all of ${NOTIFICATION_EVENTS.join(', ')})`);

export const notificationTargetSchema = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('webhook'),
      url: z.url({ protocol: /^https?$/ }).describe('receiver URL; events are signed with Standard Webhooks'),
      secretEnv: envName,
      events,
    })
    .describe('a generic outgoing webhook, signed with Standard Webhooks'),
  z.strictObject({ type: z.literal('slack'), urlEnv: envName, events }).describe('a Slack incoming webhook'),
  z
    .strictObject({
      type: z.literal('sns'),
      topicArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, 'an SNS topic ARN'),
      events,
    })
    .describe('an SNS topic (on AWS)'),
]);

export const notificationsSchema = z.array(notificationTargetSchema).default([]);

export type NotificationTarget = z.output<typeof notificationTargetSchema>;

export class NotificationConfigError extends Error {
  override name = 'NotificationConfigError';
  readonly hint = 'FLEETFLOW_NOTIFICATIONS holds the config file’s notifications array as JSON';
}

/** The targets in FLEETFLOW_NOTIFICATIONS; none when unset. */
export function notificationsFromEnv(env: NodeJS.ProcessEnv = process.env): NotificationTarget[] {
  const raw = env.FLEETFLOW_NOTIFICATIONS;
  if (!raw?.trim()) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new NotificationConfigError('FLEETFLOW_NOTIFICATIONS is not valid JSON');
  }
  const result = notificationsSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new NotificationConfigError(
      `FLEETFLOW_NOTIFICATIONS is invalid at ${issue.path.join('.') || '(top)'}: ${issue.message}`,
    );
  }
  return result.data;
}
