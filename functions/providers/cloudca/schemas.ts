import * as z from 'zod';

/**
 * cloud.ca wire shapes (api-docs and go-cloudca). Parsed leniently: unknown fields pass through
 * and fields we do not rely on are optional, so a richer answer never breaks us.
 */

const code = z.union([z.number(), z.string()]);

/** One error. The docs say `code` (a number); go-cloudca reads `errorCode` (a string). */
export const ErrorItem = z.looseObject({
  code: code.optional(),
  errorCode: code.optional(),
  message: z.string().optional(),
  context: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorItem = z.infer<typeof ErrorItem>;

export const ErrorBody = z.looseObject({ errors: z.array(ErrorItem) });

export const PublicIp = z.looseObject({ id: z.string().optional(), ipAddress: z.string().optional() });

export const Instance = z.looseObject({
  id: z.string(),
  name: z.string(),
  state: z.string(),
  templateId: z.string().optional(),
  templateName: z.string().optional(),
  computeOfferingId: z.string().optional(),
  computeOfferingName: z.string().optional(),
  cpuCount: z.number().optional(),
  memoryInMB: z.number().optional(),
  networkId: z.string().optional(),
  networkName: z.string().optional(),
  vpcId: z.string().optional(),
  vpcName: z.string().optional(),
  zoneId: z.string().optional(),
  zoneName: z.string().optional(),
  hostname: z.string().optional(),
  username: z.string().optional(),
  ipAddress: z.string().optional(),
  macAddress: z.string().optional(),
  isPasswordEnabled: z.boolean().optional(),
  affinityGroupIds: z.array(z.string()).optional(),
  userData: z.string().optional(),
  // The docs spell it publicIps; go-cloudca's struct tag says publicIPs.
  publicIps: z.array(PublicIp).optional(),
  publicIPs: z.array(PublicIp).optional(),
  nics: z.array(z.unknown()).optional(),
  created: z.string().optional(),
});
export type Instance = z.infer<typeof Instance>;

/** Paging metadata; only recordCount appears in the docs' examples (paging itself is UNCONFIRMED). */
export const Metadata = z.looseObject({
  recordCount: z.number().optional(),
  pageSize: z.number().optional(),
  pageCurrent: z.number().optional(),
});

export const ListEnvelope = z.looseObject({
  data: z.array(z.unknown()).nullish(),
  metadata: Metadata.nullish(),
});

export const ItemEnvelope = z.looseObject({ data: z.unknown() });

/** What a mutation answers: a task to poll (PENDING), or the result right away (SUCCESS + data). */
export const AsyncAnswer = z.looseObject({
  taskId: z.string().optional(),
  taskStatus: z.string().optional(),
  data: z.unknown().optional(),
});

/**
 * `GET /v1/tasks/{id}`. The docs show `{taskId, taskStatus, result}`; go-cloudca parses
 * `data: {id, status, created, result}`. Both are accepted.
 */
export const TaskAnswer = z.looseObject({
  taskId: z.string().optional(),
  taskStatus: z.string().optional(),
  result: z.unknown().optional(),
  data: z
    .looseObject({
      id: z.string().optional(),
      status: z.string().optional(),
      created: z.string().optional(),
      result: z.unknown().optional(),
    })
    .nullish(),
});

export const ComputeOffering = z.looseObject({
  id: z.string(),
  name: z.string(),
  custom: z.boolean().optional(),
  cpuCount: z.number().optional(),
  memoryInMB: z.number().optional(),
  availableCpuCountValues: z.array(z.number()).optional(),
  availableMemoryInMBValues: z.array(z.number()).optional(),
  maxMemoryInMBToCpuRatio: z.number().optional(),
});
export type ComputeOffering = z.infer<typeof ComputeOffering>;

export const Template = z.looseObject({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  isReady: z.boolean().optional(),
  isPublic: z.boolean().optional(),
  osType: z.string().optional(),
  size: z.number().optional(),
});

export const Network = z.looseObject({ id: z.string(), name: z.string() });
