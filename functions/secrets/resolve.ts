import { withSecretsRedacted } from '../shared/redact.ts';
import type { JsonValue } from '../store/schemas.ts';
import { hasSecretRefs, type ResolvedSecret, resolveRefs } from './fields.ts';
import { type SecretStore, secretStore } from './store.ts';

/**
 * Runs one provider call with a value's secret references resolved: the sealed record is opened
 * just before the call, the values reach only `call`, and while it runs they are scrubbed from
 * every log line and error message (a provider that echoes a field back in an error cannot leak
 * it into the job, the audit trail or the execution history).
 */
export async function withResolvedSecrets<T, R>(
  owner: string,
  value: T,
  call: (resolved: T, secrets: readonly ResolvedSecret[]) => Promise<R>,
  store: SecretStore = secretStore(),
): Promise<R> {
  if (!hasSecretRefs(value)) return call(value, []);
  const { value: resolved, resolved: secrets } = resolveRefs(value, owner, await store.open(owner));
  return withSecretsRedacted(
    secrets.flatMap((s) => stringsIn(s.value)),
    () => call(resolved, secrets),
  );
}

function stringsIn(value: JsonValue): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object')
    return Object.values(value).flatMap((v) => stringsIn(v as JsonValue));
  return [];
}
