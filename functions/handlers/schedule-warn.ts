import * as z from 'zod';
import { ConfigError, validateConfig } from '../config/load.ts';
import { notificationsSchema } from '../notify/config.ts';
import { InvalidInputError, taskHandler } from '../runtime/handler.ts';
import { runWarning } from '../schedule/warn-run.ts';
import { triggerSchema } from '../store/schemas.ts';

const input = z.object({
  executionArn: z.string().min(1),
  run: z.object({
    schedule: z.string().min(1),
    trigger: triggerSchema,
    at: z.iso.datetime().optional(),
    config: z.record(z.string(), z.unknown()),
  }),
});

/**
 * The warn run of a schedule, before one of its stops (EventBridge Scheduler on AWS, the local
 * scheduler in `fleetflow start`): plans that stop and sends each owner group one notice with
 * signed snooze links (functions/schedule/warn-run.ts).
 */
export const handler = taskHandler('schedule-warn', input, async (event) => {
  const { notifications, ...rest } = event.run.config;
  let config: ReturnType<typeof validateConfig>;
  let targets: z.output<typeof notificationsSchema>;
  try {
    config = validateConfig(rest, 'execution input config');
    targets = notificationsSchema.parse(notifications ?? []);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof z.ZodError)
      throw new InvalidInputError(`schedule-warn: ${(error as Error).message}`);
    throw error;
  }
  if (!config.schedules[event.run.schedule]?.warn)
    throw new InvalidInputError(
      `schedule-warn: schedule '${event.run.schedule}' is not in the input or has no warn`,
    );
  return runWarning({
    config,
    schedule: event.run.schedule,
    trigger: event.run.trigger,
    at: event.run.at ? new Date(event.run.at) : new Date(),
    executionArn: event.executionArn,
    notifications: targets,
  });
});
