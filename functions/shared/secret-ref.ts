/**
 * The shape of a reference to a sealed secret, `{"$secret": "<job>#<JSON pointer>"}` (made and
 * resolved by functions/secrets/). Here because redaction must recognise one: a reference names a
 * sealed value, it is not one, so it is kept where a value would be blanked.
 */
export interface SecretRef {
  $secret: string;
}

export const SECRET_REF_KEY = '$secret';

export function isSecretRef(value: unknown): value is SecretRef {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === SECRET_REF_KEY && typeof (value as SecretRef).$secret === 'string';
}
