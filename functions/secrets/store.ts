import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { createDynamo, isConditionalCheckFailed } from '../store/dynamo.ts';
import { tableNamesFromEnv } from '../store/tables.ts';
import { SecretIntegrityError, SecretUnavailableError } from './errors.ts';
import type { SecretValues } from './fields.ts';
import { gcmOpen, gcmSeal, SECRETS_KEY_ENV, type SealingKey, sealingKeyFromEnv } from './keys.ts';

/**
 * The sealed secrets of each job: ONE item per job in the secrets table, holding the job's secret
 * values as one AES-256-GCM ciphertext under a data key of its own, that data key wrapped by the
 * sealing key (KMS, or the local key file), the reference of that key, and an expiry.
 *
 *   seal    at ingest, once per job (a conditional put: a redelivery never replaces what the job
 *           started with);
 *   open    in the provider-calling step, refused once expired even if TTL has not removed it yet;
 *   forget  when the job no longer needs them: after the create, and when the job ends.
 *
 * The job id is bound into both layers (KMS encryption context / GCM additional data), so a
 * record copied under another job's id does not open.
 */

/**
 * How long a sealed record lives at most: the provisioning workflow's own time limit (3 hours,
 * infra/fleetflow-stack.ts), past which no step of its job can still need it.
 */
export const SEALED_SECRETS_TTL_SECONDS = 3 * 3600;

const itemSchema = z.object({
  id: z.string(),
  keyRef: z.string(),
  wrappedKey: z.string(),
  data: z.string(),
  expiresAt: z.number(),
});

export interface SecretStoreOptions {
  ttlSeconds?: number;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

export class SecretStore {
  readonly #now: () => number;
  readonly #ttlSeconds: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly key: () => SealingKey,
    options: SecretStoreOptions = {},
  ) {
    this.#now = options.now ?? Date.now;
    this.#ttlSeconds = options.ttlSeconds ?? SEALED_SECRETS_TTL_SECONDS;
  }

  /** Seals a job's secret values (nothing to do when there are none). */
  async seal(owner: string, secrets: SecretValues): Promise<void> {
    if (Object.keys(secrets).length === 0) return;
    const key = this.key();
    const { plaintext, wrapped } = await key.dataKey(owner);
    let data: string;
    try {
      data = gcmSeal(plaintext, Buffer.from(JSON.stringify(secrets), 'utf8'), owner);
    } finally {
      plaintext.fill(0);
    }
    const nowMs = this.#now();
    const nowS = Math.floor(nowMs / 1000);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            id: owner,
            keyRef: key.ref,
            wrappedKey: wrapped,
            data,
            sealedAt: new Date(nowMs).toISOString(),
            expiresAt: nowS + this.#ttlSeconds,
          },
          // Once per job: what the job was started with stays, whatever a later delivery carries.
          ConditionExpression: 'attribute_not_exists(id) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': nowS },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** A job's secret values; SecretUnavailableError once they were forgotten or expired. */
  async open(owner: string): Promise<SecretValues> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { id: owner }, ConsistentRead: true }),
    );
    const parsed = itemSchema.safeParse(Item);
    // DynamoDB's TTL deletes some time after the expiry: the expiry itself is the rule.
    if (!Item || (parsed.success && parsed.data.expiresAt < Math.floor(this.#now() / 1000))) {
      throw new SecretUnavailableError(
        `the secrets of job ${owner} are no longer kept (deleted when the job moved on, or expired)`,
      );
    }
    if (!parsed.success || parsed.data.id !== owner) {
      throw new SecretIntegrityError(`the sealed secrets of job ${owner} are not a sealed record`);
    }
    const key = this.key();
    if (parsed.data.keyRef !== key.ref) {
      throw new SecretIntegrityError(
        `the secrets of job ${owner} were sealed with ${parsed.data.keyRef}, not with ${key.ref}`,
      );
    }
    const dataKey = await key.unwrap(parsed.data.wrappedKey, owner);
    try {
      return JSON.parse(gcmOpen(dataKey, parsed.data.data, owner).toString('utf8')) as SecretValues;
    } finally {
      dataKey.fill(0);
    }
  }

  /** Deletes a job's sealed secrets (nothing happens when there are none). */
  async forget(owner: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { id: owner } }));
  }
}

const built = new Map<string, SecretStore>();

/**
 * The secret store a handler uses, from the same configuration as the other stores: the table
 * name from the data layer's variables, the sealing key from FLEETFLOW_SECRETS_KEY (read only when
 * a secret is sealed or opened, so handlers that never meet one need no key).
 */
export function secretStore(env: NodeJS.ProcessEnv = process.env): SecretStore {
  const table = tableNamesFromEnv(env).secrets;
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB ?? '';
  const cacheKey = JSON.stringify([table, endpoint, env[SECRETS_KEY_ENV] ?? '']);
  let store = built.get(cacheKey);
  if (!store) {
    const { doc } = createDynamo(endpoint ? { endpoint } : {});
    store = new SecretStore(doc, table, () => sealingKeyFromEnv(env));
    built.set(cacheKey, store);
  }
  return store;
}
