import * as z from 'zod';
import { providerDefinition } from '../providers/registry.ts';
import type { Target } from '../runtime/accounts.ts';
import { secret, secretByKey, secretPositions } from '../secrets/marker.ts';
import { plainRecord } from '../shared/keys.ts';

/**
 * The provisioning request, as a webhook sends it. Each provider names its location its own way
 * (a zone, a project and region, a service code and environment); everything else is shared.
 *
 * What is secret is said here and only here: `secret()` fields and the credential-like keys
 * (CREDENTIAL_KEY) of `secretByKey()` maps are sealed when the request comes in and travel as
 * references; only the step that calls the provider sees the values (docs/security.md).
 */
const name = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/, 'letters, digits, dots and dashes; at most 63');
const labels = secretByKey(
  plainRecord(
    z.string().regex(/^[a-zA-Z0-9_.:/-]{1,63}$/, 'label keys: letters, digits and _.:/-'),
    z.string().max(255),
  ),
);
/** Provider-only create options, handed to the adapter as they are (e.g. Gcore's interfaces). */
const extraKey = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$/, 'option names: a letter, then letters, digits and _.-');
const extra = secretByKey(plainRecord(extraKey, z.json()));

const common = {
  account: z.string().min(1).max(64).default('default'),
  name,
  type: z.string().min(1).max(128),
  template: z.string().min(1).max(256),
  diskSize: z.number().int().min(10).max(51_200).optional(),
  labels: labels.optional(),
  sshKey: z.string().min(1).max(255).optional(),
  /** Cloud-init or a startup script: often carries credentials, so always sealed. */
  userData: secret(z.string().max(32_768)).optional(),
  extra: extra.optional(),
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
  z.strictObject({
    provider: z.literal('genesiscloud'),
    region: z.string().min(1),
    ...common,
    /** Genesis Cloud logs in with an SSH key (sshKey) or a password of 16 or more characters. */
    extra: secretByKey(
      z.object({ password: secret(z.string().min(16).max(128)).optional() }).catchall(z.json()),
    ).optional(),
  }),
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

/** Where the request keeps secrets, read from the schema's markers once. */
export const PROVISION_SECRET_POSITIONS = secretPositions(provisionRequestSchema);

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
