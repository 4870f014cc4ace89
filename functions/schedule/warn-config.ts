import * as z from 'zod';
import { notificationTargetSchema } from '../notify/config.ts';
import { durationSchema, parseDurationSeconds } from '../shared/duration.ts';

/** The config's `warn` setting, shared by schedules and (periodic) policies. */

const ownerLabel = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:/-]+$/, 'letters, digits and _ . : / - only')
  .default('owner');

const warnBefore = durationSchema.refine((d) => {
  const s = parseDurationSeconds(d) ?? 0;
  return s >= 1 && s <= 86_400;
}, 'at most 24h');

/**
 * A notice before each stop (functions/schedule/warn.ts): `warn: 30m`, or the long form. The
 * short form means the defaults: owners by the `owner` label, notices to the config's
 * notifications.
 */
export const warnSchema = z
  .union([
    warnBefore,
    z.strictObject({
      before: warnBefore.describe('how long before each stop the notice goes out'),
      ownerLabel: ownerLabel.describe(
        'label naming who owns an instance; each owner gets one notice for their instances',
      ),
      notifications: z
        .array(notificationTargetSchema)
        .min(1)
        .optional()
        .describe("where the notices go (default: the config's notifications that take schedule.warning)"),
    }),
  ])
  .transform((w) => (typeof w === 'string' ? { before: w, ownerLabel: 'owner' } : w))
  .describe(
    'before each stop, one notice per owner listing the instances that will stop, with signed links to keep them running',
  );
export type WarnConfig = z.output<typeof warnSchema>;
