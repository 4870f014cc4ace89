import * as z from 'zod';
import { PROVIDER_IDS } from '../providers/port.ts';
import { EVENT_DETAIL_TYPES } from './policy.ts';

/**
 * The event that asks for a remediation, whatever carried it (EventBridge, POST /webhooks/alert,
 * POST /events, `fleetflow event send`): EventBridge's envelope with a fleetflow detail.
 *
 *   {"source": "fleetflow", "detail-type": "Instance Unhealthy",
 *    "detail": {"provider": "exoscale", "account": "default", "location": "ch-gva-2",
 *               "instanceId": "…", "reason": "HTTP check failed 3 times"}}
 *
 * `location` is the adapter's location string (`ch-gva-2`, Gcore `1/76`, cloud.ca
 * `compute-qc/production`, Genesis Cloud `NORD-NO-KRS-1`). Only the instance's identity is taken
 * from the event: the workflow reads the instance itself and never trusts a copy in the event.
 */
export const eventDetailSchema = z.object({
  provider: z.enum(PROVIDER_IDS),
  account: z.string().min(1).max(64).default('default'),
  location: z.string().min(1).max(256),
  instanceId: z.string().min(1).max(256),
  reason: z.string().max(1024).optional(),
});

export const remediationEventSchema = z.preprocess(
  (raw) => {
    // `detailType` (PutEvents' DetailType, camel-cased) is accepted for hand-written events.
    if (raw && typeof raw === 'object' && !('detail-type' in raw) && 'detailType' in raw) {
      const { detailType, ...rest } = raw as Record<string, unknown>;
      return { ...rest, 'detail-type': detailType };
    }
    return raw;
  },
  z.object({
    source: z.string().max(256).optional(),
    'detail-type': z
      .string()
      .min(1)
      .max(128)
      .describe(`e.g. ${EVENT_DETAIL_TYPES.join(', ')}`),
    id: z.string().max(256).optional(),
    time: z.string().max(64).optional(),
    detail: eventDetailSchema,
  }),
);

export type RemediationEvent = z.output<typeof remediationEventSchema>;
export type EventDetail = z.output<typeof eventDetailSchema>;

/** The EventBridge pattern the AWS rule uses and users point their monitoring at. */
export function eventPattern(detailTypes: readonly string[] = EVENT_DETAIL_TYPES): {
  source: string[];
  'detail-type': string[];
} {
  return { source: ['fleetflow'], 'detail-type': [...detailTypes] };
}
