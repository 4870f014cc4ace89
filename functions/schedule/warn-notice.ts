import type { NotificationEvent } from '../notify/notifier.ts';
import { webhookIdFor } from '../webhooks/send.ts';
import { localTime, snoozeEffect } from './snooze.ts';
import type { WarningRecord } from './warn-store.ts';
import { SNOOZE_CHOICES, type SnoozeChoice, signSnoozeToken } from './warn-token.ts';

/**
 * The notice of one warning group, in every shape a notifier sends: the Standard Webhooks event
 * (`schedule.warning`, its data carrying the links and an email-ready subject and text), Slack
 * blocks with one button per choice, and plain text with the links (SNS, email). Every link is
 * `<public URL>/snooze?t=<token>`: opening it shows what it would do and one button to do it.
 */

/** At most this many instances are named in a notice; the rest are counted. */
const LISTED = 50;

export interface NoticeLink {
  choice: SnoozeChoice;
  label: string;
  url: string;
  until: string;
}

export function noticeLinks(record: WarningRecord, keys: readonly Buffer[], publicUrl: string): NoticeLink[] {
  const base = publicUrl.replace(/\/+$/, '');
  return SNOOZE_CHOICES.map((choice) => {
    const effect = snoozeEffect(record, choice);
    const token = signSnoozeToken(
      {
        k: record.kind,
        n: record.name,
        e: record.stopAt,
        c: choice,
        g: record.group,
        ...(record.owner && { o: record.owner.slice(0, 256) }),
        // Good until the stop: after it, there is nothing left to keep from happening.
        x: record.stopAt,
      },
      keys,
    );
    return {
      choice,
      label: effect.label,
      url: `${base}/snooze?t=${token}`,
      until: effect.until.toISOString(),
    };
  });
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export function warningNotice(
  record: WarningRecord,
  links: NoticeLink[],
  now = Date.now(),
): NotificationEvent {
  const stop = record.stopAt * 1000;
  const when = `${localTime(stop, record.timezone)} (${record.timezone})`;
  const minutes = Math.max(0, Math.round((stop - now) / 60_000));
  const count = record.wholeSchedule ? undefined : record.instances.length;
  const what = record.kind === 's' ? `schedule ${record.name}` : `policy ${record.name}`;
  const subject = `fleetflow: ${what} stops ${count === undefined ? 'its instances' : `${count} instance${count === 1 ? '' : 's'}`} at ${when}`;
  const listed = record.instances.slice(0, LISTED);
  const more = record.instances.length - listed.length;
  const lines = listed.map((i) => `- ${i.name} (${i.provider} ${i.location}, ${i.instanceId})`);
  if (more > 0) lines.push(`- and ${more} more`);
  if (record.wholeSchedule) lines.push(`- every instance of ${record.name} (too many to list)`);
  const text = [
    record.owner ? `Hello ${record.owner},` : 'Hello,',
    '',
    `The ${what} will stop ${record.owner ? 'your' : 'these'} instances at ${when}, in ${minutes} minute${minutes === 1 ? '' : 's'}:`,
    ...lines,
    '',
    'Still using them? Each link keeps them running (it works until the stop):',
    ...links.map((l) => `${l.label}: ${l.url}`),
    '',
    'A link opens a page that says what it will do; nothing changes until you press its button.',
  ].join('\n');
  const blocks = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${subject.replace(/^fleetflow: /, '')}*${record.owner ? ` (for ${escapeSlack(record.owner)})` : ''}\n${lines
          .slice(0, 20)
          .map(escapeSlack)
          .join('\n')}${lines.length > 20 ? `\n…and ${lines.length - 20} more` : ''}`.slice(0, 2900),
      },
    },
    {
      type: 'actions',
      block_id: `fleetflow_snooze_${record.group}`.slice(0, 255),
      elements: links.map((l) => ({
        type: 'button',
        text: { type: 'plain_text', text: l.label.slice(0, 75) },
        action_id: `fleetflow_snooze_${l.choice}`,
        // Opens the confirmation page; an app with interactivity on POST /snooze/slack gets the token too.
        url: l.url,
        value: new URL(l.url).searchParams.get('t')!,
      })),
    },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Links work until ${escapeSlack(when)}.` }],
    },
  ];
  return {
    id: webhookIdFor(`schedule.warning:${record.kind}:${record.name}:${record.stopAt}:${record.group}`),
    type: 'schedule.warning',
    timestamp: new Date().toISOString(),
    summary: `${subject}${record.owner ? ` (for ${record.owner})` : ''}`,
    text,
    slackBlocks: blocks,
    ...(record.owner && { attributes: { owner: record.owner } }),
    data: {
      kind: record.kind === 's' ? 'schedule' : 'policy',
      name: record.name,
      ...(record.kind === 's' && { schedule: record.name }),
      stopAt: new Date(stop).toISOString(),
      timezone: record.timezone,
      group: record.group,
      ...(record.owner && { owner: record.owner }),
      instances: listed,
      ...(more > 0 && { more }),
      ...(record.wholeSchedule && { wholeSchedule: true }),
      links: Object.fromEntries(links.map((l) => [l.choice, { label: l.label, url: l.url, until: l.until }])),
      linksExpireAt: new Date(stop).toISOString(),
      email: { ...(record.owner && EMAIL.test(record.owner) && { to: record.owner }), subject, text },
    },
  };
}

/** Slack mrkdwn: &, < and > are its control characters. */
function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
