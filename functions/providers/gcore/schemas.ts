import * as z from 'zod';

/**
 * Gcore Cloud wire shapes, parsed leniently: unknown fields pass through, and where the sources
 * disagree (the May 2025 renames `instance_id`→`id`, `instance_name`→`name`,
 * `instance_created`→`created_at`; `tags` vs `metadata`/`metadata_detailed`) both spellings are
 * optional and the adapter reads whichever is present.
 */

/** `{"tasks":["<uuid>",…]}`: every asynchronous mutation answers with this. */
export const TaskListResponse = z.looseObject({ tasks: z.array(z.string()).min(1) });

export const TASK_STATES = ['NEW', 'RUNNING', 'FINISHED', 'ERROR'] as const;

export const Task = z.looseObject({
  id: z.string(),
  // Lenient: an unknown state is reported as pending, not as a parse failure.
  state: z.string(),
  task_type: z.string().optional(),
  error: z.string().nullish(),
  detailed_state: z.string().nullish(),
  created_resources: z.record(z.string(), z.array(z.string()).nullish()).nullish(),
});
export type Task = z.infer<typeof Task>;

export const MetadataItem = z.looseObject({
  key: z.string(),
  value: z.string(),
  read_only: z.boolean().optional(),
});
export type MetadataItem = z.infer<typeof MetadataItem>;

const Address = z.looseObject({ addr: z.string(), type: z.string().optional() });

export const Instance = z
  .looseObject({
    id: z.string().optional(),
    instance_id: z.string().optional(),
    name: z.string().optional(),
    instance_name: z.string().optional(),
    created_at: z.string().nullish(),
    instance_created: z.string().nullish(),
    status: z.string(),
    vm_state: z.string().nullish(),
    task_state: z.string().nullish(),
    task_id: z.string().nullish(),
    flavor: z.looseObject({ flavor_id: z.string().optional(), flavor_name: z.string().optional() }).nullish(),
    addresses: z.record(z.string(), z.array(Address)).nullish(),
    volumes: z
      .array(z.looseObject({ id: z.string(), delete_on_termination: z.boolean().optional() }))
      .nullish(),
    tags: z.array(MetadataItem).nullish(),
    metadata_detailed: z.array(MetadataItem).nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
  })
  .refine((i) => Boolean(i.id ?? i.instance_id), { message: 'an instance needs id or instance_id' });
export type Instance = z.infer<typeof Instance>;

/** Gcore's offset pages: `{"count":N,"results":[…]}`. */
export const page = <T extends z.ZodType>(item: T) =>
  z.looseObject({ count: z.number().int().nonnegative(), results: z.array(item) });

export const Flavor = z.looseObject({
  flavor_id: z.string(),
  flavor_name: z.string().optional(),
  vcpus: z.number().optional(),
  ram: z.number().optional(),
  disabled: z.boolean().optional(),
});

export const Image = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: z.string().optional(),
  os_distro: z.string().optional(),
  os_version: z.string().optional(),
  min_disk: z.number().optional(),
});

export const Volume = z.looseObject({
  id: z.string(),
  bootable: z.boolean().optional(),
  is_root_volume: z.boolean().optional(),
  attachments: z.array(z.looseObject({ server_id: z.string().nullish() })).nullish(),
});

/** The error body (gcorelabscloud-go `GcoreErrorType`); every field optional since no real sample was found. */
export const ErrorBody = z.looseObject({
  exception_class: z.string().nullish(),
  message: z.string().nullish(),
  traceback: z.string().nullish(),
  request_id: z.string().nullish(),
});

/**
 * One point of Get Instance Metrics (`POST /cloud/v1/instances/{project}/{region}/{id}/metrics`
 * with `{time_interval, time_unit: "hour" | "day"}`, answered as `{count, results}`): CPU in
 * percent (at most 100 however many cores), RAM in percent, network in bytes and packets per
 * second each way, per-disk figures. Every figure may be null.
 */
export const MetricsItem = z.looseObject({
  time: z.string(),
  cpu_util: z.number().nullish(),
  memory_util: z.number().nullish(),
  network_Bps_ingress: z.number().nullish(),
  network_Bps_egress: z.number().nullish(),
  network_pps_ingress: z.number().nullish(),
  network_pps_egress: z.number().nullish(),
  disks: z.array(z.looseObject({ disk_name: z.string().nullish() })).nullish(),
});
export type MetricsItem = z.infer<typeof MetricsItem>;
