import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type DigestKey,
  type DigestKeyring,
  digestSecrets,
  fieldPointer,
} from '../../functions/secrets/digest.ts';
import { type ProofSource, proveSealedField } from '../../functions/secrets/prove.ts';
import { canonicalJson } from '../../functions/store/canonical-json.ts';

/** An HMAC-SHA256 key over canonical JSON, the audit key's own form. */
function key(material = randomBytes(32).toString('base64url')): DigestKey {
  return {
    id: `k-${createHmac('sha256', material).update('id').digest('hex').slice(0, 16)}`,
    sign: (value) => createHmac('sha256', material).update(canonicalJson(value)).digest('hex'),
  };
}
const ring = (...keys: DigestKey[]): DigestKeyring => ({
  current: keys[0] as DigestKey,
  byId: (id) => keys.find((k) => k.id === id),
});

const JOB = 'prov-msg_digest';

/** A job's trail: one create intent whose parameters keep the digests, an outcome, a note. */
function trail(keyring: DigestKeyring, secrets: Record<string, string>): ProofSource {
  const sealed = digestSecrets(
    keyring.current,
    JOB,
    Object.entries(secrets).map(([field, value]) => ({ field, value })),
  );
  const events = [
    {
      kind: 'intent',
      chain: JOB,
      seq: 0,
      at: '2026-11-30T08:00:00.000Z',
      action: 'create',
      parameters: { name: 'web-1', sealed },
    },
    { kind: 'outcome', chain: JOB, seq: 1, at: '2026-11-30T08:00:01.000Z', action: 'create' },
  ];
  return {
    keyring: async () => keyring,
    async *jobEvents() {
      yield* events;
    },
  };
}

describe('keyed digests of sealed secrets', () => {
  const userData = '#!/bin/sh\nexport DB_PASSWORD=hunter2\n';

  it('prove the value a job sent, and only that value', async () => {
    const source = trail(ring(key()), { '/userData': userData, '/labels/db-token': 'tok-1' });
    expect(await proveSealedField(source, JOB, 'userData', userData)).toEqual([
      expect.objectContaining({ chain: JOB, seq: 0, action: 'create', outcome: 'match' }),
    ]);
    expect((await proveSealedField(source, JOB, 'userData', `${userData}x`))[0]?.outcome).toBe('mismatch');
    expect((await proveSealedField(source, JOB, 'labels.db-token', 'tok-1'))[0]?.outcome).toBe('match');
    // The digest of one field does not prove another field with the same value.
    expect((await proveSealedField(source, JOB, 'labels.db-token', userData))[0]?.outcome).toBe('mismatch');
    expect(await proveSealedField(source, JOB, 'extra.password', 'anything')).toEqual([]);
  });

  it('are bound to the job and the key: equal secrets elsewhere give unrelated digests', () => {
    const k = key();
    const [a] = digestSecrets(k, 'prov-a', [{ field: '/userData', value: 'same' }]);
    const [b] = digestSecrets(k, 'prov-b', [{ field: '/userData', value: 'same' }]);
    const [c] = digestSecrets(key(), 'prov-a', [{ field: '/userData', value: 'same' }]);
    expect(new Set([a?.hmac, b?.hmac, c?.hmac]).size).toBe(3);
    expect(JSON.stringify([a, b, c])).not.toContain('same');
  });

  it('still prove after the key rotated (the old key verifies), and say so when the key is unknown', async () => {
    const old = key();
    const source = trail(ring(old), { '/userData': userData });
    const rotated: ProofSource = { ...source, keyring: async () => ring(key(), old) };
    expect((await proveSealedField(rotated, JOB, '/userData', userData))[0]?.outcome).toBe('match');
    const lost: ProofSource = { ...source, keyring: async () => ring(key()) };
    expect((await proveSealedField(lost, JOB, '/userData', userData))[0]?.outcome).toBe('unknown-key');
  });

  it('name fields as people do, or as JSON pointers', () => {
    expect(fieldPointer('userData')).toBe('/userData');
    expect(fieldPointer('extra.password')).toBe('/extra/password');
    expect(fieldPointer('labels.db.token')).toBe('/labels/db.token');
    expect(fieldPointer('labels.app/key')).toBe('/labels/app~1key');
    expect(fieldPointer('/labels/app~1key')).toBe('/labels/app~1key');
  });
});
