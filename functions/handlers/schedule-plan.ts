import * as z from 'zod';
import { ConfigError, validateConfig } from '../config/load.ts';
import type { FleetflowConfig } from '../config/schema.ts';
import { eventSinkFromEnv } from '../events/emitter.ts';
import { providerFor } from '../runtime/accounts.ts';
import { InvalidInputError, taskHandler } from '../runtime/handler.ts';
import { stores } from '../runtime/stores.ts';
import { overrideStore } from '../schedule/context.ts';
import { decide, selectCandidates } from '../schedule/plan.ts';
import { cutIntoPages } from '../schedule/work.ts';
import { own } from '../shared/keys.ts';
import type { NewResult } from '../store/results.ts';
import { triggerSchema } from '../store/schemas.ts';

const run = z.object({
  schedule: z.string().min(1),
  action: z.enum(['start', 'stop', 'enforce']),
  dryRun: z.boolean().optional(),
  trigger: triggerSchema,
  config: z.unknown(),
  /** The moment the run plans for (tests, previews); now by default. */
  at: z.iso.datetime().optional(),
});
const input = z
  .object({ jobId: z.string().min(1), executionArn: z.string().min(1), run })
  .transform(({ run: r, ...rest }) => ({ ...rest, ...r }));

/**
 * First step of a schedule run: open the job, list the schedule's instances (all pages, label
 * filters sent to the provider where it has them), decide per instance with a reason, apply the
 * blast-radius cap and order the actions into tiers. Every skipped instance is recorded with its
 * reason; a dry run records what it would do and hands the workflow nothing to act on. The work
 * is stored in pages (job items); the workflow gets only tiers → accounts → page keys.
 */
export const handler = taskHandler('schedule-plan', input, async (event) => {
  let config: FleetflowConfig;
  try {
    config = validateConfig(event.config, 'execution input config');
  } catch (error) {
    if (error instanceof ConfigError) throw new InvalidInputError(error.message);
    throw error;
  }
  if (!own(config.schedules, event.schedule))
    throw new InvalidInputError(`no schedule '${event.schedule}' in the execution input`);
  const dryRun = event.dryRun ?? config.schedules[event.schedule]!.dryRun;
  const { jobs } = stores();
  await jobs.create({
    jobId: event.jobId,
    kind: 'power-schedule',
    trigger: event.trigger,
    request: { schedule: event.schedule, action: event.action, dryRun },
  });
  await jobs.transition(event.jobId, 'RUNNING', { executionArn: event.executionArn });

  const at = event.at ? new Date(event.at) : new Date();
  const candidates = await selectCandidates(config, event.schedule, async (target, filter) =>
    (await providerFor(target)).list(filter),
  );
  const plan = decide({
    config,
    schedule: event.schedule,
    action: event.action,
    candidates,
    overrides: await overrideStore().list(),
    at,
  });

  const acting = new Set(
    plan.tiers.flatMap((t) => t.groups.flatMap((g) => g.items.map((i) => i.instanceId))),
  );
  const aborted = plan.cap?.exceeded === true && plan.cap.mode === 'abort';
  const work = cutIntoPages(dryRun || aborted ? [] : plan.tiers);
  await jobs.results.putWorkPages(event.jobId, work.pages);
  await jobs.results.recordMany(
    event.jobId,
    plan.decisions
      .filter((d) => dryRun || !acting.has(d.instanceId))
      .map((d): [string, NewResult] => [
        d.instanceId,
        {
          status: 'SKIPPED',
          provider: d.target.provider,
          instanceId: d.instanceId,
          detail:
            dryRun && d.decision !== 'skip'
              ? {
                  dryRun: true,
                  would: d.decision,
                  ...(d.hoursSaved !== undefined ? { hoursSaved: d.hoursSaved } : {}),
                }
              : { reason: d.reason },
        },
      ]),
  );
  const now = new Date().toISOString();
  await jobs.appendStep(event.jobId, {
    name: 'plan',
    status: 'SUCCEEDED',
    startedAt: now,
    endedAt: now,
    detail: {
      schedule: event.schedule,
      action: event.action,
      dryRun,
      at: plan.at,
      counts: plan.counts,
      tiers: work.tiers.map((t) => ({
        tier: t.tier,
        instances: t.groups.reduce((n, g) => n + g.instances, 0),
        pages: t.groups.reduce((n, g) => n + g.pages.length, 0),
      })),
      savings: plan.savings,
      ...(plan.cap && { cap: plan.cap }),
    },
  });
  if (dryRun) {
    await eventSinkFromEnv().emit([
      {
        detailType: 'Schedule Run Planned',
        detail: {
          jobId: event.jobId,
          schedule: event.schedule,
          action: event.action,
          counts: plan.counts,
          savings: plan.savings,
        },
      },
    ]);
  }
  return {
    jobId: event.jobId,
    trigger: event.trigger,
    schedule: event.schedule,
    action: event.action === 'start' ? 'start' : 'stop',
    dryRun,
    tiers: work.tiers,
  };
});
