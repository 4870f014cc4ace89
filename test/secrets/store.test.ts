import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SecretIntegrityError,
  SecretKeyError,
  SecretUnavailableError,
} from '../../functions/secrets/errors.ts';
import {
  ensureLocalSecretsKey,
  LOCAL_SECRETS_KEY_FILE,
  sealingKey,
  sealingKeyFromEnv,
} from '../../functions/secrets/keys.ts';
import { SEALED_SECRETS_TTL_SECONDS, SecretStore } from '../../functions/secrets/store.ts';
import { type DynamoServer, freshTables, servers, type TestTables } from '../support/dynamo-servers.ts';
import { type FakeKms, startFakeKms } from './support/fake-kms.ts';

/**
 * The secret store on real DynamoDB servers (dynalite and DynamoDB Local), with both kinds of
 * sealing key: the local key file, and KMS (its wire protocol served by a stand-in, the real SDK
 * client calling it).
 */

const dir = mkdtempSync(join(tmpdir(), 'fleetflow-secrets-'));
let kms: FakeKms;

beforeAll(async () => {
  kms = await startFakeKms();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_KMS: kms.url,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
  });
});

afterAll(async () => {
  await kms?.close();
  rmSync(dir, { recursive: true, force: true });
});

const keyRefs = {
  'a 0600 key file': () => ensureLocalSecretsKey(mkdtempSync(join(dir, 'data-'))),
  'a KMS key': () => kms.keyArn,
};

describe.each(servers())('secret store on $name', (descriptor) => {
  let server: DynamoServer;
  let tables: TestTables;

  beforeAll(async () => {
    server = await descriptor.start();
    tables = await freshTables(server, 'secrets');
  });

  afterAll(async () => {
    tables?.dynamo.destroy();
    await server?.close();
  });

  describe.each(Object.keys(keyRefs) as Array<keyof typeof keyRefs>)('sealed with %s', (kind) => {
    let ref: string;
    let nowMs = Date.UTC(2026, 10, 30, 8, 0, 0);
    const store = () =>
      new SecretStore(tables.dynamo.doc, tables.names.secrets, () => sealingKey(ref), { now: () => nowMs });
    const job = (tag: string) => `prov-${tag}-${randomBytes(4).toString('hex')}`;
    const stored = async (id: string) =>
      (await tables.dynamo.doc.send(new GetCommand({ TableName: tables.names.secrets, Key: { id } }))).Item;

    beforeAll(() => {
      ref = keyRefs[kind]();
    });

    it('seals and opens a job’s secrets; the stored record reveals none of them', async () => {
      const id = job('round');
      const secrets = {
        '/userData': 'export TOKEN=zq-roundtrip-value',
        '/extra/password': 'zq-password-0123456789',
      };
      await store().seal(id, secrets);
      expect(await store().open(id)).toEqual(secrets);
      const item = await stored(id);
      // The values themselves, not their prefix: random ciphertext may hold any three characters.
      for (const value of Object.values(secrets)) expect(JSON.stringify(item)).not.toContain(value);
      expect(item).toMatchObject({
        id,
        keyRef: ref,
        expiresAt: Math.floor(nowMs / 1000) + SEALED_SECRETS_TTL_SECONDS,
      });
    });

    it('seals once per job: a later seal never replaces what the job started with', async () => {
      const id = job('once');
      await store().seal(id, { '/userData': 'first' });
      await store().seal(id, { '/userData': 'second' });
      expect(await store().open(id)).toEqual({ '/userData': 'first' });
    });

    it('writes nothing for a request without secrets', async () => {
      const id = job('none');
      await store().seal(id, {});
      expect(await stored(id)).toBeUndefined();
    });

    it('forgets: once deleted, the secrets are unavailable', async () => {
      const id = job('forget');
      await store().seal(id, { '/userData': 'x' });
      await store().forget(id);
      expect(await stored(id)).toBeUndefined();
      await expect(store().open(id)).rejects.toBeInstanceOf(SecretUnavailableError);
      await store().forget(id); // forgetting twice is fine
    });

    it('expires: past its time a record does not open, even before TTL removed it, and may be sealed anew', async () => {
      const id = job('expire');
      await store().seal(id, { '/userData': 'old' });
      nowMs += (SEALED_SECRETS_TTL_SECONDS + 1) * 1000;
      expect(await stored(id)).toBeDefined();
      await expect(store().open(id)).rejects.toBeInstanceOf(SecretUnavailableError);
      await store().seal(id, { '/userData': 'new' });
      expect(await store().open(id)).toEqual({ '/userData': 'new' });
    });

    it('refuses a record that was altered, copied to another job, or given another job’s data key', async () => {
      const [a, b] = [job('tamper-a'), job('tamper-b')];
      await store().seal(a, { '/userData': 'a-secret' });
      await store().seal(b, { '/userData': 'b-secret' });
      const itemA = (await stored(a)) as Record<string, string>;
      const itemB = (await stored(b)) as Record<string, string>;
      const put = (Item: Record<string, unknown>) =>
        tables.dynamo.doc.send(new PutCommand({ TableName: tables.names.secrets, Item }));

      // One bit of the ciphertext flipped.
      const data = Buffer.from(itemA.data as string);
      data[data.length - 3] = data[data.length - 3] === 65 ? 66 : 65;
      await put({ ...itemA, data: data.toString() });
      await expect(store().open(a)).rejects.toBeInstanceOf(SecretIntegrityError);

      // B's record under another job's id: bound to B, it does not open as C.
      const c = job('tamper-c');
      await put({ ...itemB, id: c });
      await expect(store().open(c)).rejects.toBeInstanceOf(SecretIntegrityError);

      // A's ciphertext with B's data key.
      await put({ ...itemA, data: itemA.data, wrappedKey: itemB.wrappedKey });
      await expect(store().open(a)).rejects.toBeInstanceOf(SecretIntegrityError);
    });

    it('refuses a record sealed with another key, naming both references and no secret', async () => {
      const id = job('other-key');
      await store().seal(id, { '/userData': 'zq-other-key' });
      // The same clock as the store that sealed it: the record is within its time, only the key differs.
      const other = new SecretStore(
        tables.dynamo.doc,
        tables.names.secrets,
        () => sealingKey(ensureLocalSecretsKey(mkdtempSync(join(dir, 'other-')))),
        { now: () => nowMs },
      );
      const error = await other.open(id).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(SecretIntegrityError);
      expect((error as Error).message).toContain(ref);
      expect((error as Error).message).not.toContain('zq-other-key');
    });
  });
});

describe('sealing keys by reference', () => {
  it('fleetflow start’s key file is 0600, made once and never rewritten', () => {
    const data = mkdtempSync(join(dir, 'start-'));
    const ref = ensureLocalSecretsKey(data);
    const path = join(data, LOCAL_SECRETS_KEY_FILE);
    expect(ref).toBe(pathToFileURL(path).href);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const first = readFileSync(path, 'utf8');
    ensureLocalSecretsKey(data);
    expect(readFileSync(path, 'utf8')).toBe(first);
  });

  it('refuses a key file others can read, and never shows its content', async () => {
    const data = mkdtempSync(join(dir, 'open-'));
    const path = join(data, 'loose.key');
    const key = randomBytes(32).toString('base64url');
    writeFileSync(path, JSON.stringify({ key }), { mode: 0o600 });
    chmodSync(path, 0o644);
    const error = await sealingKey(pathToFileURL(path).href)
      .dataKey('prov-x')
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(SecretKeyError);
    expect((error as Error).message).toMatch(/chmod 600/);
    expect((error as Error).message).not.toContain(key);
  });

  it('refuses a key file that is not a 32-byte key', async () => {
    const path = join(mkdtempSync(join(dir, 'short-')), 'short.key');
    writeFileSync(path, JSON.stringify({ key: 'c2hvcnQ' }), { mode: 0o600 });
    await expect(sealingKey(pathToFileURL(path).href).dataKey('prov-x')).rejects.toBeInstanceOf(
      SecretKeyError,
    );
  });

  it('says what to configure when no key is named, or the reference has no known scheme', () => {
    expect(() => sealingKeyFromEnv({})).toThrow(/FLEETFLOW_SECRETS_KEY/);
    expect(() => sealingKey('vault:secret/fleetflow')).toThrow(SecretKeyError);
  });

  it('a KMS key is asked for data keys and decrypts them only with the job as encryption context', async () => {
    const key = sealingKey(kms.keyArn);
    const before = kms.calls.length;
    const { plaintext, wrapped } = await key.dataKey('prov-kms-ctx');
    expect((await key.unwrap(wrapped, 'prov-kms-ctx')).equals(plaintext)).toBe(true);
    const calls = kms.calls.slice(before);
    expect(calls.map((c) => c.op)).toEqual(['GenerateDataKey', 'Decrypt']);
    for (const call of calls) {
      expect(call.body).toMatchObject({
        KeyId: kms.keyArn,
        EncryptionContext: { 'fleetflow:job': 'prov-kms-ctx' },
      });
    }
    await expect(key.unwrap(wrapped, 'prov-another-job')).rejects.toBeInstanceOf(SecretIntegrityError);
  });
});
