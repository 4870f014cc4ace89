import * as z from 'zod';
import { INSTANCE_STATES, PROVIDER_IDS } from '../providers/port.ts';
import { triggerSchema } from '../store/schemas.ts';

/** Shapes that travel between workflow states, validated at every handler's door. */
export const targetSchema = z.object({
  provider: z.enum(PROVIDER_IDS),
  account: z.string().min(1),
  location: z.string().min(1),
});

export const operationSchema = z
  .object({
    provider: z.enum(PROVIDER_IDS),
    location: z.string(),
    id: z.string().min(1),
    action: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    instanceId: z.string().optional(),
    resourceId: z.string().optional(),
    reason: z.string().optional(),
  })
  .passthrough();

export const progressSchema = z.object({
  step: z.string().min(1),
  op: operationSchema.optional(),
  instanceId: z.string().optional(),
  untilState: z.enum(INSTANCE_STATES).optional(),
  resourceId: z.string().optional(),
  attempt: z.number().int().min(0),
  waitSeconds: z.number().min(0),
  deadlineAt: z.string(),
  done: z.boolean(),
  journal: z.literal(false).optional(),
});

export const callContextSchema = {
  jobId: z.string().min(1),
  trigger: triggerSchema,
  target: targetSchema,
};
