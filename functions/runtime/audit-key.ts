import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePrivateKeyFile, readPrivateJson } from '../shared/private-file.ts';
import { registerSecret } from '../shared/redact.ts';
import {
  AuditKeyError,
  type AuditKeyPurpose,
  type AuditKeyring,
  type AuditKeySource,
  auditKeyring,
  noAuditKey,
} from '../store/audit-keys.ts';
import { readSecretJson } from './secrets.ts';

/**
 * The audit keys travel BY REFERENCE, never by value: an environment variable, a CLI option or a
 * config names where the key is, and the reference's scheme decides how it is read (the same code
 * on Lambda, in `fleetflow start` and in the CLI):
 *   - `arn:aws:secretsmanager:…` or `secretsmanager:<name>`: a Secrets Manager secret (cached 5 min);
 *   - `file:///…`: a key file, which must be private to its owner (mode 0600).
 * The value read is registered with the log redactor, so it can never reach a log line.
 */

export const AUDIT_KEY_ENV: Readonly<Record<AuditKeyPurpose, string>> = {
  chain: 'FLEETFLOW_AUDIT_KEY',
  checkpoint: 'FLEETFLOW_AUDIT_CHECKPOINT_KEY',
};

/** The key files `fleetflow start` keeps in its data folder. */
export const LOCAL_KEY_FILES: Readonly<Record<AuditKeyPurpose, string>> = {
  chain: 'audit-chain.key',
  checkpoint: 'audit-checkpoint.key',
};

/** The Secrets Manager names the stack gives the keys (`<table prefix>/audit/…`). */
export function auditSecretName(purpose: AuditKeyPurpose, tablePrefix = 'fleetflow'): string {
  return `${tablePrefix}/audit/${purpose}-key`;
}

interface Resolver {
  matches(ref: string): boolean;
  read(ref: string): Promise<unknown>;
}

/** Reference schemes, one entry each: a new store of keys is a new line here. */
const RESOLVERS: Resolver[] = [
  {
    matches: (ref) => /^arn:aws[a-z-]*:secretsmanager:/.test(ref),
    read: (ref) => readSecretJson(ref),
  },
  {
    matches: (ref) => ref.startsWith('secretsmanager:'),
    read: (ref) => readSecretJson(ref.slice('secretsmanager:'.length)),
  },
  {
    matches: (ref) => ref.startsWith('file:'),
    read: async (ref) => readKeyFile(fileURLToPath(ref)),
  },
];

function readKeyFile(path: string): unknown {
  return readPrivateJson(
    path,
    'audit key file',
    (message, cause) => new AuditKeyError(message, cause === undefined ? undefined : { cause }),
  );
}

/** A lazy, cached keyring from a reference; the reference (never the key) may appear in errors. */
export function auditKeySource(ref: string, purpose: AuditKeyPurpose): AuditKeySource {
  const resolver = RESOLVERS.find((r) => r.matches(ref));
  if (!resolver) {
    return noAuditKey(
      purpose,
      `"${ref}" is not a key reference (arn:aws:secretsmanager:…, secretsmanager:<name> or file:///…)`,
    );
  }
  let keyring: Promise<AuditKeyring> | undefined;
  return () => {
    keyring ??= resolver
      .read(ref)
      .then((document) => {
        const ring = auditKeyring(document, `audit ${purpose} key ${ref}`);
        const { key, previous } = document as { key: string; previous?: string[] };
        for (const k of [key, ...(previous ?? [])]) registerSecret(k);
        return ring;
      })
      .catch((error: unknown) => {
        keyring = undefined; // a later call may find it (a secret just created, a file just written)
        throw error instanceof AuditKeyError
          ? error
          : new AuditKeyError(`audit ${purpose} key ${ref} cannot be read: ${(error as Error).message}`, {
              cause: error,
            });
      });
    return keyring;
  };
}

/** The chain and checkpoint keys named by the environment (FLEETFLOW_AUDIT_KEY, …_CHECKPOINT_KEY). */
export function auditKeysFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Record<AuditKeyPurpose, AuditKeySource> {
  const source = (purpose: AuditKeyPurpose) => {
    const ref = env[AUDIT_KEY_ENV[purpose]];
    return ref
      ? auditKeySource(ref, purpose)
      : noAuditKey(purpose, `set ${AUDIT_KEY_ENV[purpose]} to a key reference`);
  };
  return { chain: source('chain'), checkpoint: source('checkpoint') };
}

/**
 * The data folder's key files, created on first use with mode 0600 (never rewritten: a new key
 * would orphan every chain signed with the old one). Returns their references.
 */
export function ensureLocalAuditKeys(dataDir: string): Record<AuditKeyPurpose, string> {
  const refs = {} as Record<AuditKeyPurpose, string>;
  for (const purpose of ['chain', 'checkpoint'] as const) {
    refs[purpose] = ensurePrivateKeyFile(join(dataDir, LOCAL_KEY_FILES[purpose]));
  }
  return refs;
}
