import * as z from 'zod';
import { isSecretRef, SECRET_REF_KEY, type SecretRef } from '../shared/secret-ref.ts';

export { isSecretRef, SECRET_REF_KEY, type SecretRef };

/**
 * A reference to one sealed secret: `{"$secret": "<owner>#<JSON pointer>"}`, e.g.
 * `{"$secret": "prov-msg_1#/extra/password"}`. The owner is the job that sealed it and the pointer
 * is where the value sat in its request, so a reference only resolves for its own job and place.
 */
export const secretRefSchema = z.strictObject({ $secret: z.string().min(3).max(2048) });

/** RFC 6901 JSON pointer of a path of object keys: `["labels","app/token"]` → `/labels/app~1token`. */
export function pointerOf(path: readonly string[]): string {
  return path.map((k) => `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** The path of object keys a JSON pointer names. */
export function pathOf(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new RangeError(`"${pointer}" is not a JSON pointer`);
  return pointer
    .slice(1)
    .split('/')
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function refFor(owner: string, path: readonly string[]): SecretRef {
  return { $secret: `${owner}#${pointerOf(path)}` };
}

/** The owner and pointer a reference names. */
export function parseRef(ref: SecretRef): { owner: string; pointer: string } {
  const at = ref.$secret.indexOf('#');
  if (at <= 0) throw new RangeError(`"${ref.$secret}" is not a secret reference`);
  return { owner: ref.$secret.slice(0, at), pointer: ref.$secret.slice(at + 1) };
}
