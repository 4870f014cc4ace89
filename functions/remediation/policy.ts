import * as z from 'zod';
import { PROVIDER_IDS } from '../providers/port.ts';
import { warnSchema } from '../schedule/warn-config.ts';
import { durationSchema, parseDurationSeconds } from '../shared/duration.ts';
import { actionSchema } from './actions/index.ts';
import { filterSchema } from './filters/index.ts';

/**
 * Remediation policies as code, in the spirit of Cloud Custodian: filters on the LIVE instance,
 * combined with all/any/not (./filters/, one registry entry per filter); ordered actions
 * (./actions/, one registry entry per action); mode `event` (an alert or drift event names the
 * instance) or `periodic` (a sweep lists the fleet); dry-run; a blast-radius cap; a cooldown per
 * instance. Everything here is pure: the workflow's handlers feed it a fresh instance and the
 * provider's declared capabilities.
 */

/** A count, or a share of the instances in scope such as "10%". */
const capSchema = z.union([
  z.number().int().min(0),
  z.string().regex(/^(100|[1-9]?\d)%$/, 'a count or a percentage such as "10%"'),
]);

export class PolicyError extends Error {
  override name = 'PolicyError';
}

// ---- policies ---------------------------------------------------------------------------------

/** The custom `fleetflow` events remediation reacts to (EventBridge detail-type). */
export const EVENT_DETAIL_TYPES = [
  'Instance Unhealthy',
  'Instance Degraded',
  'Drift Detected',
  'Remediation Requested',
] as const;

export const scopeSchema = z
  .strictObject({
    provider: z.enum(PROVIDER_IDS),
    account: z.string().min(1).max(64).default('default'),
    locations: z.array(z.string().min(1)).min(1),
  })
  .describe('where a periodic sweep lists instances');

export const policySchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'lower-case letters, digits and - (at most 48)'),
    description: z.string().max(512).optional(),
    mode: z.enum(['event', 'periodic']),
    events: z
      .array(z.string().min(1).max(128))
      .min(1)
      .optional()
      .describe(
        `event mode: the detail-types it reacts to, e.g. ${EVENT_DETAIL_TYPES.map((d) => `"${d}"`).join(', ')}`,
      ),
    every: durationSchema.default('1h').describe('periodic mode: how often the sweep runs'),
    scope: z
      .array(scopeSchema)
      .min(1)
      .optional()
      .describe('periodic mode: where to look (default: the config accounts)'),
    filters: filterSchema
      .default({})
      .describe('evaluated on the instance as read from the provider, never on the event'),
    actions: z.array(actionSchema).min(1).max(20),
    dryRun: z.boolean().default(false).describe('record the plan, change nothing'),
    maxTargets: capSchema
      .default(5)
      .describe(
        'blast-radius cap. periodic: at most this many (or this share of the instances in scope) per sweep, else none; event: at most this many instances per hour (a count)',
      ),
    cooldown: durationSchema
      .default('30m')
      .describe('after a remediation, the same instance is left alone by this policy for this long'),
    dedupeWindow: durationSchema
      .default('5m')
      .describe('events for one instance within one window start one remediation'),
    allowDeleteWithoutSnapshot: z.boolean().default(false),
    warn: warnSchema
      .optional()
      .describe(
        'periodic policies that stop: warn the owners this long before a stop, with links to keep the instances running; the stop happens at the first sweep after that',
      ),
  })
  .superRefine((p, ctx) => {
    if (p.mode === 'event' && !p.events)
      ctx.addIssue({
        code: 'custom',
        path: ['events'],
        message: 'an event-mode policy names the events (detail-types) it reacts to',
      });
    if (p.mode === 'event' && typeof p.maxTargets === 'string') {
      ctx.addIssue({
        code: 'custom',
        path: ['maxTargets'],
        message: 'an event-mode policy caps with a count (instances per hour); a percentage needs a sweep',
      });
    }
    if (p.warn && (p.mode !== 'periodic' || !p.actions.some((a) => a.action === 'stop')))
      ctx.addIssue({
        code: 'custom',
        path: ['warn'],
        message: 'warn is for periodic policies that stop instances (a sweep warns, a later sweep stops)',
      });
    const deleteAt = p.actions.findIndex((a) => a.action === 'delete');
    if (
      deleteAt >= 0 &&
      !p.allowDeleteWithoutSnapshot &&
      !p.actions.slice(0, deleteAt).some((a) => a.action === 'snapshot')
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['actions', deleteAt],
        message: 'delete needs a snapshot before it (or allowDeleteWithoutSnapshot: true)',
      });
    }
    const seconds = (d: string) => parseDurationSeconds(d) ?? Number.NaN;
    if (seconds(p.cooldown) > 366 * 86_400)
      ctx.addIssue({ code: 'custom', path: ['cooldown'], message: 'at most 366d' });
    if (seconds(p.dedupeWindow) < 1)
      ctx.addIssue({ code: 'custom', path: ['dedupeWindow'], message: 'at least 1s' });
  })
  .describe('a remediation policy');

/** The `policies:` section of the config file. */
export const policiesSchema = z
  .array(policySchema)
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((p, i) => {
      if (seen.has(p.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `policy ${p.name} is defined twice` });
      seen.add(p.name);
    });
  })
  .describe('remediation policies');

export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

/** The blast-radius cap as a number of instances, given how many are in scope. */
export function capCount(cap: number | string, inScope: number): number {
  if (typeof cap === 'number') return cap;
  return Math.floor((inScope * Number(cap.slice(0, -1))) / 100);
}

/** Parses and validates a list of policies (from the config file or the environment). */
export function parsePolicies(raw: unknown, where = 'policies'): Policy[] {
  const parsed = policiesSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PolicyError(
      `${where}${issue.path.length ? `.${issue.path.map(String).join('.')}` : ''}: ${issue.message}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}
