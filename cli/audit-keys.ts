import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  AUDIT_KEY_ENV,
  auditKeySource,
  auditSecretName,
  ensureLocalAuditKeys,
  LOCAL_KEY_FILES,
} from '../functions/runtime/audit-key.ts';
import type { AuditLogOptions } from '../functions/store/audit.ts';
import type { AuditKeyPurpose } from '../functions/store/audit-keys.ts';
import { noAuditKey } from '../functions/store/audit-keys.ts';

/**
 * Which audit keys a CLI command uses, decided with the data source and by reference only:
 * FLEETFLOW_AUDIT_KEY / FLEETFLOW_AUDIT_CHECKPOINT_KEY when set; for a deployed stack
 * (--table-prefix/--region) the stack's Secrets Manager secrets `<prefix>/audit/…-key`; for a
 * local data folder its key files (created on first use, as `fleetflow start` does).
 */
export interface KeySourceOptions {
  dataDir?: string;
  tablePrefix?: string;
  region?: string;
  endpoint?: string;
}

export function cliAuditKeys(
  options: KeySourceOptions,
  env: NodeJS.ProcessEnv = process.env,
): AuditLogOptions {
  const deployed = !options.endpoint && Boolean(options.tablePrefix || options.region);
  // Secrets Manager is read with the SDK's usual configuration; --region is where the stack is.
  if (deployed && options.region && !env.AWS_REGION) env.AWS_REGION = options.region;
  const dataDir = resolve(options.dataDir ?? '.fleetflow');
  const source = (purpose: AuditKeyPurpose) => {
    const given = env[AUDIT_KEY_ENV[purpose]];
    if (given) return auditKeySource(given, purpose);
    if (deployed)
      return auditKeySource(`secretsmanager:${auditSecretName(purpose, options.tablePrefix)}`, purpose);
    const file = join(dataDir, LOCAL_KEY_FILES[purpose]);
    if (options.endpoint && !existsSync(file)) {
      return noAuditKey(
        purpose,
        `set ${AUDIT_KEY_ENV[purpose]} to the key's reference for ${options.endpoint}`,
      );
    }
    return auditKeySource(pathToFileURL(file).href, purpose);
  };
  return { key: source('chain'), checkpointKey: source('checkpoint') };
}

/** The keys of a local data folder, created if missing (a folder from before keyed chains). */
export function localAuditKeys(dataDir: string): AuditLogOptions {
  const refs = ensureLocalAuditKeys(resolve(dataDir));
  return {
    key: auditKeySource(refs.chain, 'chain'),
    checkpointKey: auditKeySource(refs.checkpoint, 'checkpoint'),
  };
}
