import type { UsageHistory } from '../metrics/usage.ts';
import type { Capabilities, Instance } from '../providers/port.ts';
import { planActions } from './actions/index.ts';
import { evaluateFilter } from './filters/index.ts';
import type { LoadedPolicy } from './source.ts';

/** For one instance: which policies match, why, and what each would do there. */
export interface Explanation {
  instance: { id: string; name: string; provider: string; state: string; type: string };
  policies: Array<{ policy: string; mode: string; match: boolean; reasons: string[]; plan?: string[] }>;
}

/** `fleetflow policy check`: the same evaluator and planner the workflow runs, on what the provider says now. */
export function explain(
  policies: LoadedPolicy[],
  instance: Instance,
  account: string,
  capabilities: Capabilities,
  now = Date.now(),
  /** What the idle filter reads, when a policy has one (else that condition stays unknown). */
  usage?: UsageHistory,
): Explanation {
  return {
    instance: {
      id: instance.id,
      name: instance.name,
      provider: instance.provider,
      state: instance.state,
      type: instance.type,
    },
    policies: policies.map(({ policy }) => {
      const r = evaluateFilter(policy.filters, { ...instance, account, ...(usage && { usage }) }, now);
      const match = r.match === true;
      return {
        policy: policy.name,
        mode: policy.mode,
        match,
        reasons: r.reasons,
        ...(match && {
          plan: planActions(policy, instance, capabilities).steps.map((s) =>
            s.kind === 'skip'
              ? `${s.name}: skip (${s.reason})`
              : `${s.name}: ${s.action ?? s.kind}${s.params.type ? ` to ${s.params.type}` : ''}${policy.dryRun ? ' [dry run]' : ''}`,
          ),
        }),
      };
    }),
  };
}
