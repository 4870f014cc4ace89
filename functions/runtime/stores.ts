import { AuditLog } from '../store/audit.ts';
import { createDynamo } from '../store/dynamo.ts';
import { Idempotency } from '../store/idempotency.ts';
import { JobStore } from '../store/jobs.ts';
import { tableNamesFromEnv } from '../store/tables.ts';
import { AUDIT_KEY_ENV, auditKeysFromEnv } from './audit-key.ts';

/**
 * The stores a handler uses, built once per process from the environment: table names from the
 * data layer's variables, DynamoDB's endpoint from the SDK's usual configuration
 * (AWS_ENDPOINT_URL_DYNAMODB points the embedded runtime at dynalite; on Lambda it is unset).
 */
export interface Stores {
  jobs: JobStore;
  audit: AuditLog;
  idempotency: Idempotency;
}

const built = new Map<string, Stores>();

export function stores(env: NodeJS.ProcessEnv = process.env): Stores {
  const names = tableNamesFromEnv(env);
  const key = JSON.stringify([
    names,
    env.AWS_ENDPOINT_URL_DYNAMODB ?? '',
    env[AUDIT_KEY_ENV.chain] ?? '',
    env[AUDIT_KEY_ENV.checkpoint] ?? '',
  ]);
  let s = built.get(key);
  if (!s) {
    const { doc } = createDynamo(
      env.AWS_ENDPOINT_URL_DYNAMODB ? { endpoint: env.AWS_ENDPOINT_URL_DYNAMODB } : {},
    );
    // The audit keys by reference (FLEETFLOW_AUDIT_KEY, …_CHECKPOINT_KEY), read when first needed.
    const keys = auditKeysFromEnv(env);
    s = {
      jobs: new JobStore(doc, names.jobs),
      audit: new AuditLog(doc, names.audit, { key: keys.chain, checkpointKey: keys.checkpoint }),
      idempotency: new Idempotency(doc, names.idempotency),
    };
    built.set(key, s);
  }
  return s;
}
