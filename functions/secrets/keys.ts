import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { ensurePrivateKeyFile, readPrivateJson } from '../shared/private-file.ts';
import { registerSecret } from '../shared/redact.ts';
import { SecretIntegrityError, SecretKeyError } from './errors.ts';

/**
 * The key that seals provisioning secrets, by REFERENCE: FLEETFLOW_SECRETS_KEY names it and the
 * reference's scheme decides how it is used (the same code on Lambda, in `fleetflow start`, in tests):
 *   - `arn:aws:kms:…` or `kms:<key id or alias>`: a KMS key. Each sealed record gets its own data
 *     key from GenerateDataKey; Decrypt unwraps it. The job id is the encryption context, so a
 *     wrapped key only opens for its own job (and CloudTrail names the job in every Decrypt).
 *   - `file:///…`: a 0600 key file (`{"key":"<32 random bytes, base64url>"}`) that wraps a fresh
 *     data key per record with AES-256-GCM, the job id as additional data. `fleetflow start` makes it.
 * Envelope encryption either way: the record keeps only the wrapped data key.
 */
export interface SealingKey {
  /** The reference the key came from; each record stores it, so a record names the key that sealed it. */
  readonly ref: string;
  /** A fresh 256-bit data key for one record: the plaintext to encrypt with (then wipe), and its wrapped form to store. */
  dataKey(owner: string): Promise<{ plaintext: Buffer; wrapped: string }>;
  /** The data key a record stored; fails unless it was wrapped for this owner under this key. */
  unwrap(wrapped: string, owner: string): Promise<Buffer>;
}

export const SECRETS_KEY_ENV = 'FLEETFLOW_SECRETS_KEY';
/** The key file `fleetflow start` keeps in its data folder. */
export const LOCAL_SECRETS_KEY_FILE = 'secrets.key';

const KMS_CONTEXT_KEY = 'fleetflow:job';

interface Scheme {
  matches(ref: string): boolean;
  open(ref: string): SealingKey;
}

/** Reference schemes, one entry each: a new kind of key is a new line here. */
const SCHEMES: Scheme[] = [
  { matches: (ref) => /^arn:aws[a-z-]*:kms:/.test(ref), open: (ref) => kmsKey(ref, ref) },
  { matches: (ref) => ref.startsWith('kms:'), open: (ref) => kmsKey(ref, ref.slice('kms:'.length)) },
  { matches: (ref) => ref.startsWith('file:'), open: (ref) => fileKey(ref) },
];

const opened = new Map<string, SealingKey>();

/** The sealing key a reference names (built once per process). */
export function sealingKey(ref: string): SealingKey {
  let key = opened.get(ref);
  if (!key) {
    const scheme = SCHEMES.find((s) => s.matches(ref));
    if (!scheme) {
      throw new SecretKeyError(
        `"${ref}" is not a secrets key reference (arn:aws:kms:…, kms:<key id or alias> or file:///…)`,
      );
    }
    key = scheme.open(ref);
    opened.set(ref, key);
  }
  return key;
}

/** The sealing key FLEETFLOW_SECRETS_KEY names; a clear error when none is configured. */
export function sealingKeyFromEnv(env: NodeJS.ProcessEnv = process.env): SealingKey {
  const ref = env[SECRETS_KEY_ENV];
  if (!ref) {
    throw new SecretKeyError(
      `no key to seal secrets with: set ${SECRETS_KEY_ENV} (a KMS key ARN, or file:///… to a 0600 key file)`,
    );
  }
  return sealingKey(ref);
}

// ---- KMS ------------------------------------------------------------------------------------

let kms: KMSClient | undefined;

function kmsKey(ref: string, keyId: string): SealingKey {
  const context = (owner: string) => ({ [KMS_CONTEXT_KEY]: owner });
  return {
    ref,
    async dataKey(owner) {
      kms ??= new KMSClient({});
      const out = await kms.send(
        new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context(owner) }),
      );
      if (!out.Plaintext || !out.CiphertextBlob) throw new SecretKeyError(`KMS gave no data key for ${ref}`);
      return {
        plaintext: Buffer.from(out.Plaintext),
        wrapped: Buffer.from(out.CiphertextBlob).toString('base64'),
      };
    },
    async unwrap(wrapped, owner) {
      kms ??= new KMSClient({});
      try {
        const out = await kms.send(
          new DecryptCommand({
            KeyId: keyId,
            CiphertextBlob: Buffer.from(wrapped, 'base64'),
            EncryptionContext: context(owner),
          }),
        );
        if (!out.Plaintext) throw new SecretKeyError(`KMS gave no plaintext for ${ref}`);
        return Buffer.from(out.Plaintext);
      } catch (error) {
        // The wrapped key was altered, moved to another job, or wrapped under another key.
        if (error instanceof Error && /InvalidCiphertext|IncorrectKey/.test(error.name)) {
          throw new SecretIntegrityError(`the sealed secrets of ${owner} do not open with ${ref}`, {
            cause: error,
          });
        }
        throw error;
      }
    },
  };
}

// ---- a key file ------------------------------------------------------------------------------

const aad = (owner: string) => Buffer.from(`fleetflow-secrets:${owner}`, 'utf8');

/** AES-256-GCM with a fresh 96-bit nonce: `<iv>.<tag>.<ciphertext>`, base64url. */
export function gcmSeal(key: Buffer, plaintext: Buffer, owner: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(owner));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url')).join('.');
}

/** The plaintext of gcmSeal's output; SecretIntegrityError if anything about it is not as sealed. */
export function gcmOpen(key: Buffer, sealed: string, owner: string): Buffer {
  const [iv, tag, data] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  try {
    if (!iv || !tag || !data || iv.length !== 12 || tag.length !== 16) throw new Error('malformed');
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(aad(owner));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch (error) {
    throw new SecretIntegrityError(
      `the sealed secrets of ${owner} do not open: altered, moved or another key`,
      {
        cause: error,
      },
    );
  }
}

function fileKey(ref: string): SealingKey {
  let master: Buffer | undefined;
  const read = (): Buffer => {
    if (master) return master;
    let path: string;
    try {
      path = fileURLToPath(ref);
    } catch (error) {
      throw new SecretKeyError(`"${ref}" is not a file URL`, { cause: error });
    }
    const file = readPrivateJson(
      path,
      'secrets key file',
      (message, cause) => new SecretKeyError(message, cause === undefined ? undefined : { cause }),
    );
    const key = (file as { key?: unknown } | null)?.key;
    const bytes = typeof key === 'string' ? Buffer.from(key, 'base64url') : Buffer.alloc(0);
    // Never echo the content: it is the key.
    if (bytes.length !== 32) {
      throw new SecretKeyError(`secrets key file ${path} must hold {"key":"<32 bytes, base64url>"}`);
    }
    registerSecret(key as string);
    master = bytes;
    return bytes;
  };
  return {
    ref,
    async dataKey(owner) {
      const plaintext = randomBytes(32);
      return { plaintext, wrapped: gcmSeal(read(), plaintext, owner) };
    },
    async unwrap(wrapped, owner) {
      return gcmOpen(read(), wrapped, owner);
    },
  };
}

/**
 * The data folder's secrets key, created on first use with mode 0600 and never rewritten (records
 * sealed under the old key would no longer open). Returns its reference.
 */
export function ensureLocalSecretsKey(dataDir: string): string {
  return ensurePrivateKeyFile(join(dataDir, LOCAL_SECRETS_KEY_FILE));
}
