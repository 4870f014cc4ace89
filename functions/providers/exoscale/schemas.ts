import * as z from 'zod';

/**
 * Exoscale API v2 wire shapes (egoscale `v3/generator/source.yaml`). Parsed leniently: unknown
 * fields pass through, and fields the docs leave open (how much of a reference is embedded) are
 * optional. What the adapter relies on (ids, state, operation state) is validated.
 */

const ref = z.looseObject({ id: z.string() });

export const operationSchema = z.looseObject({
  id: z.string(),
  state: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
  reference: z
    .looseObject({ id: z.string().optional(), link: z.string().optional(), command: z.string().optional() })
    .optional(),
});
export type WireOperation = z.infer<typeof operationSchema>;

export const instanceSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  state: z.string().optional(),
  // UNCONFIRMED whether the API embeds more than the id; family/size are used when present.
  'instance-type': z
    .looseObject({ id: z.string(), family: z.string().optional(), size: z.string().optional() })
    .optional(),
  template: ref.optional(),
  labels: z.record(z.string(), z.string()).nullish(),
  'public-ip': z.string().nullish(),
  'ipv6-address': z.string().nullish(),
  'created-at': z.string().optional(),
  'disk-size': z.number().optional(),
  'mac-address': z.string().optional(),
  'public-ip-assignment': z.string().optional(),
  'security-groups': z.array(ref).nullish(),
  'private-networks': z.array(ref).nullish(),
  'elastic-ips': z.array(ref).nullish(),
  'anti-affinity-groups': z.array(ref).nullish(),
  snapshots: z.array(ref).nullish(),
  'ssh-key': z.looseObject({ name: z.string() }).nullish(),
  'ssh-keys': z.array(z.looseObject({ name: z.string() })).nullish(),
  manager: z.looseObject({ id: z.string().optional(), type: z.string().optional() }).nullish(),
  'deploy-target': ref.nullish(),
  'secureboot-enabled': z.boolean().optional(),
  'tpm-enabled': z.boolean().optional(),
});
export type WireInstance = z.infer<typeof instanceSchema>;

export const instanceListSchema = z.looseObject({ instances: z.array(instanceSchema).nullish() });

export const instanceTypeSchema = z.looseObject({
  id: z.string(),
  family: z.string(),
  size: z.string(),
  cpus: z.number().optional(),
  gpus: z.number().optional(),
  memory: z.number().optional(),
  authorized: z.boolean().optional(),
  zones: z.array(z.string()).optional(),
});
export const instanceTypeListSchema = z.looseObject({
  'instance-types': z.array(instanceTypeSchema).nullish(),
});

export const templateSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  family: z.string().optional(),
  visibility: z.string().optional(),
  'password-enabled': z.boolean().optional(),
  'default-user': z.string().optional(),
  'boot-mode': z.string().optional(),
  size: z.number().optional(),
});
export const templateListSchema = z.looseObject({ templates: z.array(templateSchema).nullish() });

export const passwordSchema = z.looseObject({ password: z.string() });

/** Classic `{"message"}`, egoscale's `{"error"}` fallback, or RFC 9457 problem details. */
export const errorBodySchema = z.looseObject({
  message: z.string().optional(),
  error: z.string().optional(),
  type: z.string().optional(),
  title: z.string().optional(),
  detail: z.string().optional(),
  status: z.number().optional(),
  errors: z
    .array(
      z.union([
        z.string(),
        z.looseObject({ detail: z.string().optional(), location: z.string().optional() }),
      ]),
    )
    .optional(),
});
