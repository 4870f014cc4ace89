import type * as z from 'zod';
import { isCredentialKey } from '../shared/redact.ts';
import type { JsonValue } from '../store/schemas.ts';
import { SecretReferenceError, SecretUnavailableError } from './errors.ts';
import type { SecretPosition } from './marker.ts';
import { isSecretRef, parseRef, pointerOf, refFor, type SecretRef } from './ref.ts';

/**
 * Sealing and resolving the secret fields of a request, by the positions its schema marks
 * (marker.ts): the three moves of a secret's life.
 *   sealFields   at ingest: each secret value is taken out and replaced by its reference;
 *   parseSealed  in the workflow: the request is validated with references in place;
 *   resolveRefs  in the provider-calling step: references become values again, for that call only.
 */

/** Pointer (`/userData`, `/labels/db-token`) → the secret value that sat there. */
export type SecretValues = Record<string, JsonValue>;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** The object at a path of keys, or undefined where the path leaves plain objects. */
function objectAt(root: unknown, path: readonly string[]): Obj | undefined {
  let at: unknown = root;
  for (const key of path) {
    if (!isObject(at)) return undefined;
    at = at[key];
  }
  return isObject(at) ? at : undefined;
}

/**
 * Takes every secret out of a (validated) request: returns a copy with a reference in each secret's
 * place and the values by pointer. A request with no secret gives `{}` and an unchanged copy.
 */
export function sealFields<T>(
  positions: readonly SecretPosition[],
  value: T,
  owner: string,
): { sealed: T; secrets: SecretValues } {
  const sealed = structuredClone(value);
  const secrets: SecretValues = {};
  const take = (parent: Obj, path: string[]) => {
    const key = path[path.length - 1] as string;
    const v = parent[key];
    if (v === undefined || isSecretRef(v)) return;
    secrets[pointerOf(path)] = v as JsonValue;
    parent[key] = refFor(owner, path);
  };
  for (const { path, kind } of positions) {
    if (kind === true) {
      const parent = objectAt(sealed, path.slice(0, -1));
      if (parent && path.length > 0) take(parent, path);
    } else {
      const map = objectAt(sealed, path);
      if (map) for (const key of Object.keys(map)) if (isCredentialKey(key)) take(map, [...path, key]);
    }
  }
  return { sealed, secrets };
}

/** True when a path is a place the schema seals: a secret field, or a credential-like key of a map marked by key. */
function isSecretPlace(positions: readonly SecretPosition[], path: readonly string[]): boolean {
  const same = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((k, i) => k === b[i]);
  return positions.some((p) =>
    p.kind === true
      ? same(p.path, path)
      : same(p.path, path.slice(0, -1)) && isCredentialKey(path[path.length - 1] ?? ''),
  );
}

/**
 * Validates a sealed request: each reference must be this owner's and sit where its pointer says,
 * at a secret place; the rest is checked by the schema (secret fields are optional, so a request
 * is valid with its references lifted out), then the references are put back. Returns the
 * schema's own parse result; on success the secret fields hold references, not values.
 */
export function parseSealed<S extends z.ZodType>(
  schema: S,
  positions: readonly SecretPosition[],
  value: unknown,
  owner: string,
): z.ZodSafeParseResult<z.output<S>> {
  const rest = structuredClone(value);
  const lifted: Array<{ path: string[]; ref: SecretRef }> = [];
  const walk = (v: unknown, path: string[]) => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        if (isSecretRef(item))
          throw new SecretReferenceError(`${pointerOf([...path, String(i)])}: no secret belongs in a list`);
        walk(item, [...path, String(i)]);
      });
      return;
    }
    if (!isObject(v)) return;
    for (const [key, item] of Object.entries(v)) {
      const at = [...path, key];
      if (isSecretRef(item)) {
        const expected = refFor(owner, at).$secret;
        if (item.$secret !== expected || !isSecretPlace(positions, at)) {
          throw new SecretReferenceError(
            `${pointerOf(at)}: a secret reference that is not this job's, or not in a secret field`,
          );
        }
        lifted.push({ path: at, ref: item });
        delete v[key];
      } else walk(item, at);
    }
  };
  walk(rest, []);
  const parsed = schema.safeParse(rest);
  if (!parsed.success) return parsed;
  for (const { path, ref } of lifted) {
    let at = parsed.data as Obj;
    for (const key of path.slice(0, -1)) {
      if (!isObject(at[key])) at[key] = {};
      at = at[key] as Obj;
    }
    at[path[path.length - 1] as string] = ref;
  }
  return parsed;
}

/** One secret resolved for a provider call: where it came from and its value. */
export interface ResolvedSecret {
  field: string;
  value: JsonValue;
}

/**
 * Replaces every reference in a value with its secret, refusing another owner's references and
 * references whose secret is not among `secrets` (deleted with its job, or expired).
 */
export function resolveRefs<T>(
  value: T,
  owner: string,
  secrets: SecretValues,
): { value: T; resolved: ResolvedSecret[] } {
  const resolved = new Map<string, ResolvedSecret>();
  const swap = (v: unknown): unknown => {
    if (isSecretRef(v)) {
      const { owner: of, pointer } = parseRef(v);
      if (of !== owner)
        throw new SecretReferenceError(`a secret reference of another job (${of}) in job ${owner}`);
      if (!(pointer in secrets)) {
        throw new SecretUnavailableError(`the secret at ${pointer} of job ${owner} is no longer available`);
      }
      const secretValue = secrets[pointer] as JsonValue;
      resolved.set(pointer, { field: pointer, value: secretValue });
      return secretValue;
    }
    if (Array.isArray(v)) return v.map(swap);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, swap(item)]));
    return v;
  };
  return { value: swap(value) as T, resolved: [...resolved.values()] };
}

/** True when a value holds at least one secret reference. */
export function hasSecretRefs(value: unknown): boolean {
  if (isSecretRef(value)) return true;
  if (Array.isArray(value)) return value.some(hasSecretRefs);
  return isObject(value) && Object.values(value).some(hasSecretRefs);
}
