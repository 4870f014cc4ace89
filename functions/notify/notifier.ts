import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { createLogger } from '../log.ts';
import { stores } from '../runtime/stores.ts';
import { redactValue, registerSecret } from '../shared/redact.ts';
import type { AuditEvent } from '../store/audit.ts';
import { isTerminal, type Job, type JobWithResults } from '../store/jobs.ts';
import { webhookIdFor } from '../webhooks/send.ts';
import { type NotificationEventType, type NotificationTarget, notificationsFromEnv } from './config.ts';
import { type DeliveryOptions, type DeliveryResult, sendSlack, sendWebhookEvent } from './outgoing.ts';

/**
 * One small interface in front of every place fleetflow reports to: a Standard Webhooks-signed
 * outgoing webhook, a Slack incoming webhook, an SNS topic. Events follow the Standard Webhooks
 * recommendation `{type, timestamp, data}` and carry a stable id (the same job end or the same
 * audited action always has the same id, so a receiver can drop a repeat).
 *
 * Sending never throws and never fails the job it reports on: a notifier that cannot deliver
 * logs a warning (no secret, no URL path) and the result says why.
 */

export interface NotificationEvent {
  /** Stable per fact: `job.ended:<jobId>:<status>`, `instance.action:<jobId>:<seq>`. */
  id: string;
  type: NotificationEventType;
  timestamp: string;
  /** A line for people (Slack, the SNS subject). */
  summary: string;
  data: Record<string, unknown>;
  /** Plain text for people (email-ready: SNS sends it as the message instead of the JSON event). */
  text?: string;
  /** Slack Block Kit blocks (buttons); Slack gets `summary` as the fallback text. */
  slackBlocks?: unknown[];
  /** String attributes a subscriber may filter on (SNS message attributes), e.g. the owner. */
  attributes?: Record<string, string>;
}

export interface Notifier {
  /** `webhook https://host`, `slack`, `sns arn:…`: for logs, never a secret. */
  readonly name: string;
  accepts(type: NotificationEventType): boolean;
  send(event: NotificationEvent): Promise<DeliveryResult>;
}

export interface NotifierOptions {
  env?: NodeJS.ProcessEnv;
  delivery?: DeliveryOptions;
}

const log = createLogger({ component: 'notify' });

function accepts(target: NotificationTarget) {
  return (type: NotificationEventType) => !target.events || target.events.includes(type);
}

function missing(variable: string): DeliveryResult {
  return { ok: false, attempts: 0, error: `${variable} is not set` };
}

class WebhookNotifier implements Notifier {
  readonly name: string;
  readonly accepts: Notifier['accepts'];
  constructor(
    private readonly target: Extract<NotificationTarget, { type: 'webhook' }>,
    private readonly options: NotifierOptions,
  ) {
    this.name = `webhook ${new URL(target.url).origin}`;
    this.accepts = accepts(target);
  }
  async send(event: NotificationEvent): Promise<DeliveryResult> {
    const secret = (this.options.env ?? process.env)[this.target.secretEnv]?.trim();
    if (!secret) return missing(this.target.secretEnv);
    registerSecret(secret);
    return sendWebhookEvent({
      ...this.options.delivery,
      url: this.target.url,
      secret,
      id: event.id,
      event: { type: event.type, timestamp: event.timestamp, data: event.data },
    });
  }
}

class SlackNotifier implements Notifier {
  readonly name = 'slack';
  readonly accepts: Notifier['accepts'];
  constructor(
    private readonly target: Extract<NotificationTarget, { type: 'slack' }>,
    private readonly options: NotifierOptions,
  ) {
    this.accepts = accepts(target);
  }
  async send(event: NotificationEvent): Promise<DeliveryResult> {
    const url = (this.options.env ?? process.env)[this.target.urlEnv]?.trim();
    if (!url) return missing(this.target.urlEnv);
    return sendSlack({
      ...this.options.delivery,
      url,
      text: event.summary,
      ...(event.slackBlocks && { blocks: event.slackBlocks }),
    });
  }
}

class SnsNotifier implements Notifier {
  readonly name: string;
  readonly accepts: Notifier['accepts'];
  #client: SNSClient | undefined;
  constructor(
    private readonly target: Extract<NotificationTarget, { type: 'sns' }>,
    private readonly options: NotifierOptions,
  ) {
    this.name = `sns ${target.topicArn}`;
    this.accepts = accepts(target);
  }
  async send(event: NotificationEvent): Promise<DeliveryResult> {
    // The topic's region; AWS_ENDPOINT_URL_SNS (the SDK's own setting) points it elsewhere.
    const region = this.target.topicArn.split(':')[3]!;
    this.#client ??= new SNSClient({ region, maxAttempts: 1 + (this.options.delivery?.maxRetries ?? 3) });
    const fifo = this.target.topicArn.endsWith('.fifo');
    try {
      await this.#client.send(
        new PublishCommand({
          TopicArn: this.target.topicArn,
          Subject: event.summary.replace(/[^\x20-\x7e]/g, '').slice(0, 99) || event.type,
          // Text for people where the event has it (an email subscription shows it as the mail).
          Message:
            event.text ??
            JSON.stringify({
              id: event.id,
              type: event.type,
              timestamp: event.timestamp,
              data: event.data,
            }),
          MessageAttributes: {
            type: { DataType: 'String', StringValue: event.type },
            ...Object.fromEntries(
              Object.entries(event.attributes ?? {}).map(([k, v]) => [
                k,
                { DataType: 'String', StringValue: v },
              ]),
            ),
          },
          ...(fifo && {
            MessageGroupId: String(event.data.jobId ?? 'fleetflow'),
            MessageDeduplicationId: event.id,
          }),
        }),
        { abortSignal: AbortSignal.timeout(this.options.delivery?.timeoutMs ?? 15_000) },
      );
      return { ok: true, status: 200, attempts: 1 };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      return {
        ok: false,
        attempts: 1,
        ...(status && { status }),
        error: `SNS publish failed: ${(error as Error).name}`,
      };
    }
  }
}

export function createNotifiers(targets: NotificationTarget[], options: NotifierOptions = {}): Notifier[] {
  return targets.map((t): Notifier => {
    if (t.type === 'webhook') return new WebhookNotifier(t, options);
    if (t.type === 'slack') return new SlackNotifier(t, options);
    return new SnsNotifier(t, options);
  });
}

export interface Delivery {
  notifier: string;
  result: DeliveryResult;
}

/** Handlers wait for their notifications: short timeouts and one retry keep a task quick. */
const HANDLER_DELIVERY: DeliveryOptions = { timeoutMs: 5000, maxRetries: 1, baseDelayMs: 250 };
let cached: { key: string; notifiers: Notifier[] } | undefined;

/** The notifiers FLEETFLOW_NOTIFICATIONS configures, built once per configuration. */
export function notifiersFromEnv(env: NodeJS.ProcessEnv = process.env): Notifier[] {
  const key = env.FLEETFLOW_NOTIFICATIONS ?? '';
  if (cached?.key !== key)
    cached = {
      key,
      notifiers: createNotifiers(notificationsFromEnv(env), { env, delivery: HANDLER_DELIVERY }),
    };
  return cached.notifiers;
}

/** Sends an event to every notifier that wants it, in parallel. Never throws. */
export async function notify(event: NotificationEvent, notifiers?: Notifier[]): Promise<Delivery[]> {
  let list: Notifier[];
  try {
    list = notifiers ?? notifiersFromEnv();
  } catch (error) {
    log.warn('notifications are misconfigured; nothing sent', { message: (error as Error).message });
    return [];
  }
  const wanted = list.filter((n) => n.accepts(event.type));
  const results = await Promise.all(
    wanted.map(async (n): Promise<Delivery> => {
      try {
        return { notifier: n.name, result: await n.send(event) };
      } catch (error) {
        return { notifier: n.name, result: { ok: false, attempts: 0, error: (error as Error).name } };
      }
    }),
  );
  for (const { notifier, result } of results) {
    if (!result.ok)
      log.warn('notification not delivered', {
        notifier,
        event: event.type,
        id: event.id,
        error: result.error,
      });
  }
  return results;
}

// ---- the events ---------------------------------------------------------------------------------------

/** Results a job-end notification lists; the counts cover the rest. */
const RESULTS_IN_NOTIFICATION = 50;

/** A job reached a terminal status: its counts, and its first results when they were read. */
export function jobEndedEvent(job: Job | JobWithResults): NotificationEvent {
  const listed = 'results' in job ? Object.entries(job.results).slice(0, RESULTS_IN_NOTIFICATION) : [];
  const results = listed.map(([target, r]) => ({
    target,
    status: r.status,
    ...(r.provider && { provider: r.provider }),
    ...(r.instanceId && { instanceId: r.instanceId }),
    ...(r.error && { error: r.error }),
  }));
  const by = `${job.trigger.type}:${job.trigger.actor}`;
  return {
    id: webhookIdFor(`job.ended:${job.jobId}:${job.status}`),
    type: 'job.ended',
    timestamp: job.endedAt ?? new Date().toISOString(),
    summary: `fleetflow: ${job.kind} job ${job.jobId} ${job.status}${job.error ? ` (${job.error.code}: ${job.error.message})` : ''} (by ${by})`,
    data: redactValue({
      jobId: job.jobId,
      kind: job.kind,
      status: job.status,
      trigger: job.trigger,
      createdAt: job.createdAt,
      ...(job.endedAt && { endedAt: job.endedAt }),
      ...(job.error && { error: job.error }),
      ...(job.counts && { counts: job.counts }),
      results,
    }) as Record<string, unknown>,
  };
}

/** A provider action finished (its audit outcome was written), successfully or not. */
export function actionEvent(outcome: AuditEvent): NotificationEvent {
  const result = (outcome.result ?? {}) as { error?: { name?: string; message?: string } };
  const ok = !result.error;
  const where = [outcome.provider, outcome.account, outcome.location].filter(Boolean).join('/');
  return {
    id: webhookIdFor(`instance.action:${outcome.chain}:${outcome.seq}`), // seq counts per chain, not per job
    type: 'instance.action',
    timestamp: outcome.at,
    summary:
      `fleetflow: ${outcome.action} ${outcome.instanceId ?? ''} on ${where} ${ok ? 'requested' : `failed (${result.error?.name})`} (job ${outcome.jobId}, by ${outcome.trigger.type}:${outcome.trigger.actor})`.replace(
        /\s+/g,
        ' ',
      ),
    data: redactValue({
      jobId: outcome.jobId,
      action: outcome.action,
      ok,
      trigger: outcome.trigger,
      ...(outcome.provider && { provider: outcome.provider }),
      ...(outcome.account && { account: outcome.account }),
      ...(outcome.location && { location: outcome.location }),
      ...(outcome.instanceId && { instanceId: outcome.instanceId }),
      ...(outcome.result !== undefined && { result: outcome.result }),
      audit: { chain: outcome.chain, seq: outcome.seq, intentSeq: outcome.intentSeq, hash: outcome.hash },
    }) as Record<string, unknown>,
  };
}

/**
 * Reports a job end. Called right after the transition to a terminal status by the two writers
 * of job ends: the workflows' recorder task (`job-record`, the same Lambda on AWS and locally)
 * and, for an execution that ended without reaching it (timeout, abort), the local runtime's
 * settle step. Not terminal: nothing is sent.
 */
export async function notifyJobEnd(job: Job): Promise<Delivery[]> {
  if (!isTerminal(job.status)) return [];
  const view = await stores()
    .jobs.view(job.jobId, { results: RESULTS_IN_NOTIFICATION })
    .catch(() => undefined);
  return notify(jobEndedEvent(view ?? job));
}
