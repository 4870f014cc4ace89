import * as z from 'zod';
import { providerDefinition } from '../providers/registry.ts';
import type { Target } from '../runtime/accounts.ts';
import { plainRecord } from '../shared/keys.ts';

/**
 * The provisioning request, as a webhook sends it. Each provider names its location its own way
 * (a zone, a project and region, a service code and environment); everything else is shared.
 */
const name = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/, 'letters, digits, dots and dashes; at most 63');
const labels = plainRecord(
  z.string().regex(/^[a-zA-Z0-9_.:/-]{1,63}$/, 'label keys: letters, digits and _.:/-'),
  z.string().max(255),
);

const common = {
  account: z.string().min(1).max(64).default('default'),
  name,
  type: z.string().min(1).max(128),
  template: z.string().min(1).max(256),
  diskSize: z.number().int().min(10).max(51_200).optional(),
  labels: labels.optional(),
  sshKey: z.string().min(1).max(255).optional(),
  userData: z.string().max(32_768).optional(),
  snapshot: z.strictObject({ name }).optional(),
  scaleTo: z.string().min(1).max(128).optional(),
  /** What to do with a half-built instance when the flow fails. */
  onFailure: z.enum(['delete', 'keep']).default('delete'),
};

export const provisionRequestSchema = z.discriminatedUnion('provider', [
  z.strictObject({ provider: z.literal('exoscale'), zone: z.string().min(1), ...common }),
  z.strictObject({ provider: z.literal('exoscale-v1'), zone: z.string().min(1), ...common }),
  z.strictObject({
    provider: z.literal('gcore'),
    project: z.number().int().positive(),
    region: z.number().int().positive(),
    ...common,
  }),
  z.strictObject({ provider: z.literal('genesiscloud'), region: z.string().min(1), ...common }),
  z.strictObject({
    provider: z.literal('cloudca'),
    serviceCode: z.string().min(1),
    environment: z.string().min(1),
    /** The environment's network (tier) by name or id; required by cloud.ca when it has several. */
    network: z.string().min(1).max(128).optional(),
    ...common,
  }),
]);
export type ProvisionRequest = z.infer<typeof provisionRequestSchema>;

/** The adapter target a request names. */
export function targetOf(request: ProvisionRequest): Target {
  const def = providerDefinition(request.provider);
  const values: Record<string, string | undefined> = {};
  for (const { key } of def.locationOptions) {
    const v = (request as Record<string, unknown>)[key];
    values[key] = v === undefined ? undefined : String(v);
  }
  return { provider: request.provider, account: request.account, location: def.locationFrom(values) };
}
