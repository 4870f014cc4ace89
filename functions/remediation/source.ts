import * as z from 'zod';
import { PROVIDER_IDS } from '../providers/port.ts';
import { metricsRefusal } from './metrics-check.ts';
import { type Policy, PolicyError, parsePolicies, policySchema } from './policy.ts';

/**
 * Where the running handlers find the policies: FLEETFLOW_POLICIES, the `policies:` list as JSON
 * (the CDK stack sets it from the config file; `fleetflow start` from its config or from the file
 * FLEETFLOW_CONFIG names — see policy-file.ts, kept apart so no Lambda bundle carries a YAML parser).
 * Each policy keeps its text as written (`raw`): that is what travels in the execution input, so
 * the workflow validates the very policy that matched, and a bad one fails its job with the reason.
 */
export interface LoadedPolicy {
  policy: Policy;
  raw: unknown;
}

const accountsSchema = z
  .array(
    z.object({
      provider: z.enum(PROVIDER_IDS),
      account: z.string().min(1).default('default'),
      locations: z.array(z.string().min(1)).min(1),
    }),
  )
  .default([]);

export interface PolicySet {
  policies: LoadedPolicy[];
  /** The config file's accounts: a periodic policy without `scope` sweeps them. */
  accounts: z.output<typeof accountsSchema>;
}

/** Reads `policies` (and `accounts`) from a parsed config document. */
export function policySetFrom(doc: unknown, where = 'config'): PolicySet {
  const obj = (doc && typeof doc === 'object' ? doc : {}) as Record<string, unknown>;
  const rawList = Array.isArray(doc) ? doc : (obj.policies ?? []);
  const policies = parsePolicies(rawList, `${where}: policies`);
  const raws = rawList as unknown[];
  const accounts = accountsSchema.safeParse(Array.isArray(doc) ? [] : (obj.accounts ?? []));
  // A filter that can never hold on a provider of the config is refused here, with the reason.
  for (const policy of policies) {
    const refused = metricsRefusal(policy, accounts.success ? accounts.data : []);
    if (refused) throw new PolicyError(`${where}: ${refused}`);
  }
  return {
    policies: policies.map((policy, i) => ({ policy, raw: raws[i] })),
    accounts: accounts.success ? accounts.data : [],
  };
}

export function policiesFromEnv(env: NodeJS.ProcessEnv = process.env): PolicySet {
  if (env.FLEETFLOW_POLICIES) {
    let doc: unknown;
    try {
      doc = JSON.parse(env.FLEETFLOW_POLICIES);
    } catch (error) {
      throw new PolicyError('FLEETFLOW_POLICIES is not valid JSON', { cause: error });
    }
    return policySetFrom(doc, 'FLEETFLOW_POLICIES');
  }
  return { policies: [], accounts: [] };
}

/** Validates a policy carried in an execution input. */
export function policyFromInput(raw: unknown): Policy {
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PolicyError(`policy: ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Where a periodic policy sweeps: its own scope, else every configured account. */
export function sweepScope(policy: Policy, set: Pick<PolicySet, 'accounts'>): NonNullable<Policy['scope']> {
  return policy.scope ?? set.accounts;
}
