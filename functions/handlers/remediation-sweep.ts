import * as z from 'zod';
import { PROVIDER_IDS } from '../providers/port.ts';
import type { Subject } from '../remediation/filters/index.ts';
import { capCount, type Policy, PolicyError } from '../remediation/policy.ts';
import { policyFromInput } from '../remediation/source.ts';
import { type Started, startRemediation, windowStart } from '../remediation/start.ts';
import { evaluateWithUsage } from '../remediation/usage.ts';
import { warnBeforeStopping } from '../remediation/warn.ts';
import { providerFor, type Target } from '../runtime/accounts.ts';
import { InvalidInputError, taskHandler } from '../runtime/handler.ts';
import { stores } from '../runtime/stores.ts';
import { durationSeconds } from '../shared/duration.ts';
import { ExecutionConflictError } from '../store/errors.ts';
import { triggerSchema } from '../store/schemas.ts';

const input = z.object({
  policy: z.unknown(),
  scope: z.array(
    z.object({
      provider: z.enum(PROVIDER_IDS),
      account: z.string().min(1).default('default'),
      locations: z.array(z.string().min(1)).min(1),
    }),
  ),
  trigger: triggerSchema,
  executionArn: z.string().min(1),
});

/**
 * A periodic policy's sweep: one job per policy and window (a second sweep in the same window is a
 * no-op), every instance in scope listed and evaluated, the matches counted against the cap BEFORE
 * anything is started — over the cap, none is touched and the job FAILS saying so — then one
 * remediation per match, each read fresh, deduplicated and cooled down by the remediate workflow.
 */
export const handler = taskHandler('remediation-sweep', input, async (event) => {
  let policy: Policy;
  try {
    policy = policyFromInput(event.policy);
  } catch (error) {
    if (error instanceof PolicyError) throw new InvalidInputError(error.message);
    throw error;
  }
  if (policy.mode !== 'periodic') throw new InvalidInputError(`policy ${policy.name} is not periodic`);
  const { jobs } = stores();
  const window = windowStart(durationSeconds(policy.every), Date.now());
  const jobId = `sweep-${policy.name}-${window}`;
  await jobs.create({
    jobId,
    kind: 'remediation-sweep',
    trigger: event.trigger,
    request: {
      policy: policy.name,
      window: new Date(window * 1000).toISOString(),
      scope: event.scope,
      dryRun: policy.dryRun,
    },
  });
  try {
    await jobs.transition(jobId, 'RUNNING', { executionArn: event.executionArn });
  } catch (error) {
    if (error instanceof ExecutionConflictError) return { jobId, duplicate: true };
    throw error;
  }
  try {
    return await sweep();
  } catch (error) {
    const e = error as Error;
    await jobs
      .transition(jobId, 'FAILED', { error: { code: e.name, message: e.message.slice(0, 4000) } })
      .catch(() => undefined);
    throw error;
  }

  async function sweep() {
    const startedAt = new Date().toISOString();
    const subjects: Array<{ target: Target; subject: Subject }> = [];
    for (const s of event.scope) {
      for (const location of s.locations) {
        const target: Target = { provider: s.provider, account: s.account, location };
        for (const instance of await (await providerFor(target)).list()) {
          if (instance.state === 'deleted') continue;
          subjects.push({ target, subject: { ...instance, account: s.account } });
        }
      }
    }
    // Usage (the idle filter) is read only for instances the other conditions leave in play.
    const evaluated = await evaluateWithUsage(policy.filters, subjects, { record: true });
    const matches = evaluated.filter((e) => e.result.match === true);
    const cap = capCount(policy.maxTargets, subjects.length);
    await jobs.appendStep(jobId, {
      name: 'evaluate',
      status: 'SUCCEEDED',
      startedAt,
      endedAt: new Date().toISOString(),
      detail: {
        inScope: subjects.length,
        matched: matches.length,
        cap,
        matches: matches.slice(0, 50).map((m) => `${m.target.provider}:${m.subject.id} ${m.subject.name}`),
        // What the idle filter saw, per instance it read usage for (the figures it used).
        ...(evaluated.some((e) => e.subject.usage) && {
          usage: evaluated
            .filter((e) => e.subject.usage)
            .slice(0, 50)
            .map(
              (e) =>
                `${e.subject.name}: ${e.result.reasons.filter((r) => r.includes('idle for')).join('; ')}`,
            ),
        }),
      },
    });
    if (matches.length > cap) {
      const error = {
        code: 'CapExceeded',
        message: `policy ${policy.name} matched ${matches.length} of ${subjects.length} instances, over its cap of ${cap} (maxTargets ${policy.maxTargets}): acted on none — check the policy's filters before raising the cap`,
      };
      // One result per match, in batches: the job's results are items of their own.
      await jobs.recordResults(
        jobId,
        matches.map((m) => [
          m.subject.id,
          {
            status: 'SKIPPED',
            provider: m.target.provider,
            instanceId: m.subject.id,
            detail: { reason: 'over the cap: no instance was touched' },
          },
        ]),
      );
      await jobs.transition(jobId, 'FAILED', { error });
      return { jobId, matched: matches.length, cap, started: 0 };
    }
    // With `warn`, a match is warned first and stopped by a later sweep (functions/remediation/warn.ts).
    let due = matches;
    if (policy.warn && !policy.dryRun) {
      const warned = await warnBeforeStopping({ policy, matches });
      due = warned.act;
      for (const h of warned.held) {
        await jobs.recordResult(jobId, h.subject.id, {
          status: 'SKIPPED',
          provider: h.target.provider,
          instanceId: h.subject.id,
          detail: { reason: h.reason, name: h.subject.name },
        });
      }
      if (warned.notices.length > 0) {
        const at = new Date().toISOString();
        await jobs.appendStep(jobId, {
          name: 'warn',
          status: 'SUCCEEDED',
          startedAt: at,
          endedAt: at,
          detail: { notices: warned.notices },
        });
      }
    }
    const started: Started[] = [];
    for (const m of due) {
      const s = await startRemediation({
        loaded: { policy, raw: event.policy },
        target: m.target,
        instanceId: m.subject.id,
        trigger: { type: 'sweep', actor: 'fleetflow', source: jobId },
        cause: { sweepJobId: jobId },
      });
      started.push(s);
      await jobs.recordResult(jobId, m.subject.id, {
        status: 'SUCCEEDED',
        provider: m.target.provider,
        instanceId: m.subject.id,
        detail: { remediationJobId: s.jobId, started: s.started, name: m.subject.name },
      });
    }
    await jobs.transition(jobId, 'SUCCEEDED');
    return { jobId, matched: matches.length, cap, started: started.filter((s) => s.started).length };
  }
});
