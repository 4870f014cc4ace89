import * as z from 'zod';

/**
 * Genesis Cloud compute v1 wire shapes (developers.genesiscloud.com/instances, genesiscloud-go
 * `types.gen.go`, genesiscloud-js models). Parsed leniently: unknown fields pass through and fields
 * the sources disagree on are optional. What the adapter relies on (ids, status) is validated.
 */

const named = z.looseObject({ id: z.string(), name: z.string().optional() });

export const instanceSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  hostname: z.string().optional(),
  dns_name: z.string().nullish(),
  type: z.string(),
  region: z.string().optional(),
  placement_option: z.string().nullish(),
  status: z.string(),
  image: z.looseObject({ id: z.string().optional(), name: z.string().optional() }).nullish(),
  floating_ip: named.nullish(),
  ssh_keys: z.array(named).nullish(),
  security_groups: z.array(named).nullish(),
  volumes: z.array(named).nullish(),
  // The seed page types it as a String, the clients as a boolean: accept both.
  is_protected: z.union([z.boolean(), z.string()]).nullish(),
  private_ip: z.string().nullish(),
  public_ip: z.string().nullish(),
  // UNCONFIRMED: the Go client has `public_ipv6` on create only; read it when present.
  public_ipv6: z.union([z.string(), z.boolean()]).nullish(),
  disk_size: z.number().nullish(),
  os_type: z.string().nullish(),
  reservation_id: z.string().nullish(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
});
export type WireInstance = z.infer<typeof instanceSchema>;

export const singleInstanceSchema = z.looseObject({ instance: instanceSchema });

const page = {
  total_count: z.number().optional(),
  page: z.number().optional(),
  per_page: z.number().optional(),
};

export const instanceListSchema = z.looseObject({ instances: z.array(instanceSchema).nullish(), ...page });

export const snapshotSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  status: z.string(),
  // `resource_id` on the seed page and the old OpenAPI file, `source_instance_id` in the Go client.
  resource_id: z.string().nullish(),
  source_instance_id: z.string().nullish(),
  region: z.string().optional(),
  size: z.union([z.number(), z.string()]).nullish(),
  created_at: z.string().optional(),
});
export const singleSnapshotSchema = z.looseObject({ snapshot: snapshotSchema });

export const imageSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  type: z.string().optional(),
  family: z.string().nullish(),
  slug: z.string().nullish(),
  versions: z.array(z.string()).nullish(),
  os_type: z.string().nullish(),
  regions: z.array(z.string()).nullish(),
  created_at: z.string().optional(),
});
export const imageListSchema = z.looseObject({ images: z.array(imageSchema).nullish(), ...page });

/** `GET /availability/{region}/instances` (genesiscloud-go `InstancesAvailability`). */
export const availabilitySchema = z.looseObject({
  availability: z.looseObject({
    type: z.string().optional(),
    region: z.string().optional(),
    placement: z.string().nullish(),
    instance_types: z.array(
      z.looseObject({ type: z.string(), available: z.boolean().optional(), count: z.number().nullish() }),
    ),
  }),
});

export const actionsSchema = z.looseObject({ actions: z.array(z.string()) });

/** The error body of every operation (`Error`: both fields required by the spec; read leniently). */
export const errorSchema = z.looseObject({
  code: z.union([z.string(), z.number()]).optional(),
  message: z.string().optional(),
});
