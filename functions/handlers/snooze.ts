import { logger } from '../log.ts';
import { applySnooze, localTime, SnoozeBusyError, snoozeEffect } from '../schedule/snooze.ts';
import { confirmPage, donePage, refusalPage } from '../schedule/snooze-page.ts';
import { snoozeKeys } from '../schedule/warn-key.ts';
import { type WarningRecord, warningStore } from '../schedule/warn-store.ts';
import { type SnoozeClaims, SnoozeTokenError, verifySnoozeToken } from '../schedule/warn-token.ts';
import type { HttpApiEvent, HttpApiResult } from '../webhooks/http-event.ts';
import { json } from '../webhooks/http-event.ts';

const log = logger.child({ handler: 'snooze' });

/**
 * GET/POST /snooze: the links in a warning. No API token and no IAM: the link itself is the
 * credential, a signed, single-purpose, expiring token (schedule/warn-token.ts). GET only shows
 * what the link would do, with one button that POSTs the same token: a link prefetcher or a mail
 * scanner that follows the URL changes nothing. POST creates the override (audited with the
 * owner the notice went to) and says what happens now. Refusals are specific and change nothing:
 * 400 not a snooze link, 403 altered or foreign, 410 expired, 404 unknown warning.
 * `Accept: application/json` gets the same answers as JSON.
 */
export async function handler(event: HttpApiEvent): Promise<HttpApiResult> {
  const asJson = /application\/json/.test(event.headers.accept ?? '');
  const method = event.requestContext.http.method;
  try {
    const token = method === 'POST' ? tokenFromBody(event) : event.queryStringParameters?.t;
    if (!token)
      return refuse(
        asJson,
        400,
        'not-a-snooze-link',
        'Not a snooze link',
        'This address carries no snooze request.',
      );
    const resolved = await resolve(token);
    if ('refusal' in resolved) return resolved.refusal(asJson);
    const { claims, record } = resolved;
    const effect = snoozeEffect(record, claims.c);
    const instances = record.wholeSchedule
      ? [`every instance of ${record.name}`]
      : record.instances.map((i) => i.name);
    if (method === 'GET') {
      const what = `${record.kind === 's' ? `The schedule ${record.name}` : `The policy ${record.name}`} will stop these instances at ${localTime(record.stopAt * 1000, record.timezone)} (${record.timezone}).`;
      if (asJson)
        return json(200, { what, instances, choice: claims.c, label: effect.label, after: effect.after });
      return confirmPage({
        action: event.rawPath,
        token,
        label: effect.label,
        what,
        instances,
        after: effect.after,
        expires: `${localTime(claims.x * 1000, record.timezone)} (${record.timezone})`,
      });
    }
    const outcome = await applySnooze(claims, record, {
      actor: claims.o ? `owner:${claims.o}` : 'notice recipient',
      via: `snooze link opened from ${event.requestContext.http.sourceIp || 'an unknown address'}`,
    });
    log.info('snooze applied', {
      name: record.name,
      stopAt: outcome.stopAt,
      choice: claims.c,
      applied: outcome.applied,
      overrides: outcome.overrides.length,
    });
    if (asJson) return json(outcome.applied ? 201 : 200, outcome);
    return donePage({ applied: outcome.applied, label: effect.label, instances, after: effect.after });
  } catch (error) {
    if (error instanceof SnoozeBusyError)
      return refuse(asJson, 409, 'snooze-in-progress', 'One moment', error.message);
    log.error('snooze failed', { error: (error as Error).name, message: (error as Error).message });
    return refuse(
      asJson,
      500,
      'internal-error',
      'Something went wrong',
      'The snooze could not be applied; try the link again in a minute.',
    );
  }
}

type Resolved =
  | { claims: SnoozeClaims; record: WarningRecord }
  | { refusal: (asJson: boolean) => HttpApiResult };

/** A token's claims and its warning record, or the refusal to answer with. */
export async function resolve(token: string): Promise<Resolved> {
  let claims: SnoozeClaims;
  try {
    claims = verifySnoozeToken(token, await snoozeKeys());
  } catch (error) {
    if (!(error instanceof SnoozeTokenError)) throw error;
    const e = error;
    log.info('snooze link refused', { problem: e.problem });
    const [status, code, title] =
      e.problem === 'expired'
        ? ([410, 'link-expired', 'This link has expired'] as const)
        : e.problem === 'bad-signature'
          ? ([403, 'link-altered', 'This link is not valid'] as const)
          : ([400, 'not-a-snooze-link', 'Not a snooze link'] as const);
    const detail =
      e.problem === 'expired' && e.claims
        ? `It was good until the stop it warned about, ${new Date(e.claims.x * 1000).toISOString()}; that stop has run.`
        : e.message;
    return { refusal: (asJson) => refuse(asJson, status, code, title, detail) };
  }
  const record = await warningStore().get({
    kind: claims.k,
    name: claims.n,
    stopAt: claims.e,
    group: claims.g,
  });
  if (!record)
    return {
      refusal: (asJson) =>
        refuse(
          asJson,
          404,
          'warning-unknown',
          'Unknown warning',
          'fleetflow has no record of the warning this link came from.',
        ),
    };
  return { claims, record };
}

function refuse(asJson: boolean, status: number, code: string, title: string, detail: string): HttpApiResult {
  return asJson ? json(status, { error: { code, message: detail } }) : refusalPage(status, title, detail);
}

/** `t` from a form post (the page's button) or a JSON body. */
function tokenFromBody(event: HttpApiEvent): string | undefined {
  if (!event.body || event.body.length > 4096) return undefined;
  const body = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (/application\/json/.test(event.headers['content-type'] ?? '')) {
    try {
      const parsed = JSON.parse(body) as { t?: unknown };
      return typeof parsed.t === 'string' ? parsed.t : undefined;
    } catch {
      return undefined;
    }
  }
  return new URLSearchParams(body).get('t') ?? undefined;
}
