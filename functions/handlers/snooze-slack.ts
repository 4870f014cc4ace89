import { logger } from '../log.ts';
import { readSecretJson } from '../runtime/secrets.ts';
import { applySnooze, SnoozeBusyError, snoozeEffect } from '../schedule/snooze.ts';
import { registerSecret } from '../shared/redact.ts';
import type { HttpApiEvent, HttpApiResult } from '../webhooks/http-event.ts';
import { problem } from '../webhooks/http-event.ts';
import { verifySlack } from '../webhooks/other-senders.ts';
import { postJson } from '../webhooks/send.ts';
import { WebhookVerificationError } from '../webhooks/standard-webhooks.ts';
import { resolve } from './snooze.ts';

const log = logger.child({ handler: 'snooze-slack' });

/**
 * POST /snooze/slack: Slack's interactivity request URL, for a Slack app whose warnings carry
 * buttons. Slack POSTs the click itself (no page in between), signed with the app's signing secret
 * (`X-Slack-Signature`, five minutes' tolerance); the button's value is the same signed snooze
 * token as the link, so the click is checked twice: Slack's signature says it came from Slack,
 * the token says what it may do. The clicker is known here (Slack's user), and audited. The answer
 * is an ephemeral message through the `response_url` Slack gave.
 */
export async function handler(event: HttpApiEvent): Promise<HttpApiResult> {
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  try {
    verifySlack({ secrets: await slackSigningSecrets(), headers: event.headers, payload: raw });
  } catch (error) {
    if (error instanceof WebhookVerificationError) {
      log.info('slack click refused', { reason: error.reason });
      return problem(401, error.reason, error.message);
    }
    throw error;
  }
  let payload: SlackPayload;
  try {
    payload = JSON.parse(new URLSearchParams(raw).get('payload') ?? '') as SlackPayload;
  } catch {
    return problem(400, 'invalid-payload', 'the body carries no Slack interaction payload');
  }
  const action = payload.actions?.find((a) => a.action_id?.startsWith('fleetflow_snooze_'));
  // Not one of ours (another button of the same app): acknowledged, nothing done.
  if (payload.type !== 'block_actions' || !action?.value) return { statusCode: 200 };
  const who = payload.user?.username ?? payload.user?.name ?? payload.user?.id ?? 'unknown';
  let text: string;
  const resolved = await resolve(action.value);
  if ('refusal' in resolved) {
    const answer = resolved.refusal(true);
    text = `Nothing was changed: ${(JSON.parse(answer.body ?? '{}') as { error?: { message?: string } }).error?.message ?? 'the link is not valid'}`;
  } else {
    try {
      const outcome = await applySnooze(resolved.claims, resolved.record, {
        actor: `slack:${who}${payload.user?.id ? ` (${payload.user.id})` : ''}`,
        via: `Slack button${payload.team?.domain ? ` in ${payload.team.domain}` : ''}`,
      });
      const effect = snoozeEffect(resolved.record, resolved.claims.c);
      text = `${outcome.applied ? 'Done' : 'Already done'}: ${effect.label.toLowerCase()} for ${outcome.instances.join(', ')}. ${effect.after}`;
    } catch (error) {
      if (!(error instanceof SnoozeBusyError)) throw error;
      text = error.message;
    }
  }
  if (payload.response_url && allowedResponseUrl(payload.response_url)) {
    registerSecret(payload.response_url);
    await postJson({
      url: payload.response_url,
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
      timeoutMs: 2000,
    }).catch((error) => log.warn('slack response not delivered', { error: (error as Error).name }));
  }
  return { statusCode: 200 };
}

interface SlackPayload {
  type?: string;
  user?: { id?: string; username?: string; name?: string };
  team?: { domain?: string };
  actions?: Array<{ action_id?: string; value?: string }>;
  response_url?: string;
}

/** Slack's own host (or loopback, for a local stand-in): a response URL is never anything else. */
function allowedResponseUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (
      (u.protocol === 'https:' && u.hostname === 'hooks.slack.com') ||
      (u.protocol === 'http:' && u.hostname === '127.0.0.1')
    );
  } catch {
    return false;
  }
}

/**
 * The Slack app's signing secrets: FLEETFLOW_SLACK_SIGNING_SECRET (space or comma separated) or
 * the Secrets Manager secret FLEETFLOW_SLACK_SIGNING_SECRET_ARN names, `{"secrets":["…"]}`.
 */
export async function slackSigningSecrets(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  let secrets: string[] = [];
  if (env.FLEETFLOW_SLACK_SIGNING_SECRET)
    secrets = env.FLEETFLOW_SLACK_SIGNING_SECRET.split(/[\s,]+/).filter(Boolean);
  else if (env.FLEETFLOW_SLACK_SIGNING_SECRET_ARN) {
    const value = (await readSecretJson(env.FLEETFLOW_SLACK_SIGNING_SECRET_ARN)) as { secrets?: unknown };
    if (Array.isArray(value.secrets))
      secrets = value.secrets.filter((s): s is string => typeof s === 'string');
  }
  for (const s of secrets) registerSecret(s);
  return secrets;
}
