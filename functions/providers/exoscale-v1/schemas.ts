import * as z from 'zod';

/**
 * CloudStack wire shapes, parsed leniently: unknown fields pass through, and only what the
 * adapter relies on is required. Field names are CloudStack's (all lower-case).
 */

/** The wrapper key of a command's answer: `listvirtualmachinesresponse`, with egoscale's exceptions. */
const RESPONSE_KEY_EXCEPTIONS: Record<string, string> = {
  addiptonic: 'addiptovmnicresponse',
  activateip6: 'activateip6nicresponse',
  restorevirtualmachine: 'restorevmresponse',
  updatevmaffinitygroup: 'updatevirtualmachineresponse',
};

export function responseKey(command: string): string {
  const lower = command.toLowerCase();
  return RESPONSE_KEY_EXCEPTIONS[lower] ?? `${lower}response`;
}

export const Tag = z
  .object({
    key: z.string(),
    value: z.string().optional().default(''),
    resourcetype: z.string().optional(),
    resourceid: z.string().optional(),
  })
  .loose();

export const Nic = z
  .object({
    id: z.string().optional(),
    ipaddress: z.string().optional(),
    ip6address: z.string().optional(),
    isdefault: z.boolean().optional(),
  })
  .loose();

export const VirtualMachine = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    displayname: z.string().optional(),
    state: z.string(),
    serviceofferingid: z.string().optional(),
    serviceofferingname: z.string().optional(),
    templateid: z.string().optional(),
    templatename: z.string().optional(),
    zoneid: z.string().optional(),
    zonename: z.string().optional(),
    created: z.string().optional(),
    cpunumber: z.number().optional(),
    cpuspeed: z.number().optional(),
    memory: z.number().optional(),
    keypair: z.string().optional(),
    /** CPU use as the hypervisor last measured it, a percentage string such as "0.22%". */
    cpuused: z.string().optional(),
    /** Network traffic since the VM started, in KiB, each way: running counters. */
    networkkbsread: z.number().optional(),
    networkkbswrite: z.number().optional(),
    nic: z.array(Nic).optional().default([]),
    tags: z.array(Tag).optional().default([]),
  })
  .loose();
export type VirtualMachine = z.infer<typeof VirtualMachine>;

/** A list answer: `{count, <entity>: [...]}`, or `{}` when empty. */
export function listOf<T extends z.ZodType>(entity: string, item: T) {
  return z
    .object({ count: z.number().optional(), [entity]: z.array(item).optional() })
    .loose()
    .transform((v) => ({
      count: v.count as number | undefined,
      items: ((v as Record<string, unknown>)[entity] ?? []) as z.infer<T>[],
    }));
}

export const Zone = z.object({ id: z.string(), name: z.string() }).loose();

export const ServiceOffering = z
  .object({
    id: z.string(),
    name: z.string(),
    displaytext: z.string().optional(),
    cpunumber: z.number().optional(),
    cpuspeed: z.number().optional(),
    memory: z.number().optional(),
    authorized: z.boolean().optional(),
  })
  .loose();

export const Template = z
  .object({
    id: z.string(),
    name: z.string(),
    displaytext: z.string().optional(),
    zoneid: z.string().optional(),
    size: z.number().optional(),
    isready: z.boolean().optional(),
  })
  .loose();

export const Volume = z
  .object({ id: z.string(), type: z.string().optional(), virtualmachineid: z.string().optional() })
  .loose();

/** The immediate answer to an async command: a job id, plus the new entity's id for creates. */
export const AsyncAccepted = z.object({ jobid: z.string(), id: z.string().optional() }).loose();

/** queryAsyncJobResult: jobstatus 0 pending, 1 succeeded, 2 failed. */
export const AsyncJob = z
  .object({
    jobid: z.string(),
    jobstatus: z.number(),
    jobresultcode: z.number().optional(),
    jobinstanceid: z.string().optional(),
    jobinstancetype: z.string().optional(),
    jobresult: z.unknown().optional(),
    cmd: z.string().optional(),
  })
  .loose();
export type AsyncJob = z.infer<typeof AsyncJob>;

export const ErrorBody = z
  .object({
    errorcode: z.number(),
    errortext: z.string().optional().default(''),
    cserrorcode: z.number().optional(),
    uuidList: z.array(z.unknown()).optional(),
  })
  .loose();
export type ErrorBody = z.infer<typeof ErrorBody>;
