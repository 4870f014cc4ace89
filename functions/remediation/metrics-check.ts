import type { ProviderId } from '../providers/port.ts';
import { PROVIDERS } from '../providers/registry.ts';
import { evaluateFilter } from './filters/index.ts';
import type { Policy } from './policy.ts';

/**
 * A policy whose idle filter must hold (not merely may: `any: [{idle}, {name}]` can still match
 * by name) cannot match any instance of a provider without metrics: say so when the config is
 * read, instead of a filter that is quietly never true there. The providers a policy reaches are
 * its sweep scope (periodic), else every configured account's, narrowed by its own filters.
 */
export function metricsRefusal(
  policy: Policy,
  accounts: ReadonlyArray<{ provider: ProviderId; account?: string }>,
): string | undefined {
  const providers = new Set<ProviderId>(
    policy.mode === 'periodic' && policy.scope
      ? policy.scope.map((s) => s.provider)
      : accounts.map((a) => a.provider),
  );
  for (const provider of providers) {
    const capability = PROVIDERS[provider].capabilities.metrics;
    if (capability.supported) continue;
    // Reachable at all (its provider filter, say, may leave it out)?
    if (evaluateFilter(policy.filters, { provider }).match === false) continue;
    const without = { provider, usage: { unavailable: 'no metrics' } };
    if (evaluateFilter(policy.filters, without).match !== false) continue;
    return `policy ${policy.name}: its idle filter needs instance metrics, and ${provider} has none (${capability.note ?? 'not offered'}); narrow the policy to providers with metrics (${Object.values(
      PROVIDERS,
    )
      .filter((d) => d.capabilities.metrics.supported)
      .map((d) => d.id)
      .join(', ')}), e.g. with a provider filter or its scope`;
  }
  return undefined;
}
