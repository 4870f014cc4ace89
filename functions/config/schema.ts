import * as z from 'zod';
import { notificationsSchema } from '../notify/config.ts';
import { PROVIDER_IDS } from '../providers/port.ts';
import { policiesSchema } from '../remediation/policy.ts';
import { warnSchema } from '../schedule/warn-config.ts';
import { parseDurationSeconds } from '../shared/duration.ts';
import { isReservedKey, RESERVED_KEY_MESSAGE } from '../shared/keys.ts';

/**
 * The fleetflow config file (`fleetflow.config.yaml` or `.json`): where fleetflow looks
 * (accounts) and what it does on a timetable (schedules). `fleetflow config schema` writes the
 * JSON Schema of this for editors (docs/schema/fleetflow.config.schema.json).
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const time = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM (24 h), e.g. "08:00"')
  .describe('local time of day in the schedule timezone, HH:MM');

const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
  .refine(
    (s) =>
      !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s),
    'not a real date',
  );

const timezone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'an IANA timezone such as Europe/Zurich or America/Toronto');

const label = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:/-]+$/, 'letters, digits and _ . : / - only')
  .refine((k) => !isReservedKey(k), RESERVED_KEY_MESSAGE);

export const periodSchema = z
  .strictObject({
    days: z.array(z.enum(WEEKDAYS)).min(1).describe('weekdays on which the period starts'),
    start: time.describe('instances are started at this time (HH:MM)'),
    stop: time.describe('instances are stopped at this time (HH:MM); earlier than start means the next day'),
  })
  .refine((p) => p.start !== p.stop, { message: 'start and stop must differ', path: ['stop'] })
  .describe('one on-period: running from start to stop on the given days');

export const holidaySchema = z.union([
  date,
  z
    .strictObject({ from: date, to: date, name: z.string().max(128).optional() })
    .refine((h) => h.from <= h.to, {
      message: '"from" must not be after "to"',
      path: ['to'],
    }),
]);

export const targetSchema = z
  .strictObject({
    provider: z.enum(PROVIDER_IDS),
    account: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('default: every configured account of the provider'),
    locations: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('default: every location of the account'),
    labels: z
      .record(label, z.string().max(256))
      .optional()
      .describe('every label must match (providers with labels only)'),
    namePrefix: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe('instances whose name starts with this (for providers without labels)'),
  })
  .describe('where a schedule looks and which instances it selects');

const cap = z.union([
  z.number().int().min(0),
  z.string().regex(/^(100|[1-9]?\d)%$/, 'a count or a percentage such as "25%"'),
]);

export const MANUAL_START_RULES = ['respect-until-next-edge', 'enforce'] as const;

export { type WarnConfig, warnSchema } from '../schedule/warn-config.ts';

export const scheduleSchema = z
  .strictObject({
    description: z.string().max(512).optional(),
    timezone: timezone.describe('IANA timezone the periods and holidays are read in'),
    periods: z.array(periodSchema).min(1),
    holidays: z
      .array(holidaySchema)
      .default([])
      .describe('dates (or ranges) when instances stay stopped all day: start edges are skipped'),
    targets: z
      .array(targetSchema)
      .default([])
      .describe(
        'explicit selections; instances labelled with the schedule label naming this schedule are added',
      ),
    dryRun: z.boolean().default(false).describe('plan and record, change nothing'),
    maxActions: cap
      .optional()
      .describe('blast-radius cap: at most this many (or this share of selected) instances acted on per run'),
    overCap: z
      .enum(['abort', 'truncate'])
      .default('abort')
      .describe('abort: act on none when over the cap; truncate: act on the first ones'),
    tierLabel: label
      .default('fleetflow-tier')
      .describe('label holding an ordering tier (1, 2, …): start 1 → 2, stop in reverse'),
    defaultTier: z.number().int().min(0).max(99).default(1),
    manualStart: z
      .enum(MANUAL_START_RULES)
      .default('respect-until-next-edge')
      .describe(
        'an instance started by hand during a stop window: respect-until-next-edge leaves it running until the next stop edge; enforce stops it at the next hourly sweep',
      ),
    skipProtected: z.boolean().default(true).describe('leave instances with deletion protection alone'),
    warn: warnSchema.optional(),
  })
  // A schedule's warnings are cron times like its edges: whole minutes before the stop.
  .refine((s) => !s.warn || (parseDurationSeconds(s.warn.before) ?? 0) % 60 === 0, {
    message: 'a schedule warns a whole number of minutes before its stops (1m to 24h)',
    path: ['warn'],
  })
  .describe('a power schedule');

export const accountSchema = z
  .strictObject({
    provider: z.enum(PROVIDER_IDS),
    account: z.string().min(1).max(64).default('default'),
    locations: z.array(z.string().min(1)).min(1),
    endpoint: z
      .url()
      .optional()
      .describe(
        "the provider API's base URL, when not the public one (a proxy, a simulator); `{location}` in it is replaced by the location",
      ),
    requestsPerSecond: z
      .number()
      .positive()
      .max(10_000)
      .optional()
      .describe(
        "the provider API's rate limit for this account: a schedule run acts on about this many instances a second (default: the provider's known limit, 20); when set, `fleetflow start` also paces the account's calls to it",
      ),
    credentialsEnv: z
      .record(
        z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/, 'a credential field such as apiKey'),
        z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'an environment variable name such as EXO_KEY'),
      )
      .optional()
      .describe(
        "fleetflow start: where this account's credentials are read from, credential field → environment variable (default: the provider's own variables, account default only); on AWS they are in the account's Secrets Manager secret",
      ),
  })
  .describe('a provider account and the locations fleetflow may act in');

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    accounts: z.array(accountSchema).min(1),
    scheduleLabel: label
      .default('fleetflow-schedule')
      .describe('label whose value names the schedule an instance follows'),
    optOutLabel: label
      .default('fleetflow-opt-out')
      .describe('instances with this label (any value but "false") are never touched'),
    currency: z.string().min(1).max(8).default('EUR'),
    prices: z
      .partialRecord(z.enum(PROVIDER_IDS), z.record(z.string(), z.number().min(0)))
      .default({})
      .describe('hourly price per instance type, per provider, for savings figures'),
    notifications: notificationsSchema.describe(
      'where job ends and provider actions are reported: signed webhook, Slack, SNS (functions/notify/config.ts)',
    ),
    schedules: z
      .record(
        z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'lower-case letters, digits and - (at most 48)')
          .refine((k) => !isReservedKey(k), RESERVED_KEY_MESSAGE),
        scheduleSchema,
      )
      .default({}),
    // Remediation policies (functions/remediation/policy.ts).
    policies: policiesSchema,
  })
  .describe('fleetflow configuration');

export type FleetflowConfig = z.output<typeof configSchema>;
export type ScheduleConfig = z.output<typeof scheduleSchema>;
export type Period = z.output<typeof periodSchema>;
export type Holiday = z.output<typeof holidaySchema>;
export type ScheduleTarget = z.output<typeof targetSchema>;
export type AccountEntry = z.output<typeof accountSchema>;

/** The JSON Schema editors use (input side: defaults are optional). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}
