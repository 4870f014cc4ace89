import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { PROVISION_SECRET_POSITIONS, provisionRequestSchema } from '../../functions/provisioning/request.ts';
import { SecretReferenceError, SecretUnavailableError } from '../../functions/secrets/errors.ts';
import { parseSealed, resolveRefs, sealFields } from '../../functions/secrets/fields.ts';
import { secret, secretByKey, secretPositions } from '../../functions/secrets/marker.ts';
import { pathOf, pointerOf } from '../../functions/secrets/ref.ts';
import {
  isCredentialKey,
  redactText,
  redactValue,
  withSecretsRedacted,
} from '../../functions/shared/redact.ts';

const JOB = 'prov-msg_fields';

const request = () => ({
  provider: 'genesiscloud',
  region: 'ARC-IS-HAF-1',
  name: 'gpu-1',
  type: 'vcpu-2_memory-4g',
  template: 'Ubuntu 24.04',
  userData: '#!/bin/sh\nexport DB_PASSWORD=hunter2-hunter2\n',
  labels: { team: 'ml', 'deploy.token': 'tok-123456', 'app/api-key': 'ak-123456' },
  extra: { password: 'correct-horse-battery', securityGroups: ['sg-1'] },
});

describe('what the provisioning request treats as secret', () => {
  it('is read from the schema markers: userData, Genesis Cloud extra.password, credential-like labels and options', () => {
    const positions = PROVISION_SECRET_POSITIONS.map((p) => `${pointerOf(p.path)} ${p.kind}`).sort();
    expect(positions).toEqual(['/extra by-key', '/extra/password true', '/labels by-key', '/userData true']);
  });

  it('finds markers through optional, default and union wrappers, and only marked fields', () => {
    const schema = z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('a'), token: secret(z.string()).optional(), name: z.string() }),
      z.strictObject({
        kind: z.literal('b'),
        nested: z.object({
          key: secret(z.string()).default('x'),
          env: secretByKey(z.record(z.string(), z.string())),
        }),
      }),
    ]);
    expect(secretPositions(schema).map((p) => [pointerOf(p.path), p.kind])).toEqual([
      ['/token', true],
      ['/nested/key', true],
      ['/nested/env', 'by-key'],
    ]);
  });

  it('names a credential by one documented key pattern', () => {
    for (const key of [
      'password',
      'DB_PASSWORD',
      'passwd',
      'ssh-passphrase',
      'client_secret',
      'github-token',
      'app.apiKey',
      'api_key',
      'ssh_private_key',
      'aws-access-key',
      'credentials',
      'Authorization',
      'signature',
    ]) {
      expect(isCredentialKey(key), key).toBe(true);
    }
    for (const key of ['team', 'env', 'name', 'passthrough', 'bypass', 'keyboard', 'tier', 'fleetflow-job']) {
      expect(isCredentialKey(key), key).toBe(false);
    }
  });

  it('a sender cannot send references: the ingest schema takes values only', () => {
    const forged = { ...request(), userData: { $secret: 'prov-other#/userData' } };
    expect(provisionRequestSchema.safeParse(forged).success).toBe(false);
    const forgedLabel = { ...request(), labels: { 'db-token': { $secret: 'prov-other#/labels/db-token' } } };
    expect(provisionRequestSchema.safeParse(forgedLabel).success).toBe(false);
  });

  it('checks secrets as it checks any field: a Genesis Cloud password under 16 characters is a 422', () => {
    const short = { ...request(), extra: { password: 'too-short' } };
    const parsed = provisionRequestSchema.safeParse(short);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['extra', 'password']);
  });
});

describe('sealing, validating and resolving a request', () => {
  const valid = () => provisionRequestSchema.parse(request());

  it('seal takes every secret out and leaves a reference bound to the job and the field', () => {
    const input = valid();
    const { sealed, secrets } = sealFields(PROVISION_SECRET_POSITIONS, input, JOB);
    expect(secrets).toEqual({
      '/userData': input.userData,
      '/labels/deploy.token': 'tok-123456',
      '/labels/app~1api-key': 'ak-123456',
      '/extra/password': 'correct-horse-battery',
    });
    expect(sealed).toMatchObject({
      userData: { $secret: `${JOB}#/userData` },
      labels: {
        team: 'ml',
        'deploy.token': { $secret: `${JOB}#/labels/deploy.token` },
        'app/api-key': { $secret: `${JOB}#/labels/app~1api-key` },
      },
      extra: { password: { $secret: `${JOB}#/extra/password` }, securityGroups: ['sg-1'] },
    });
    // The request given is left as it was.
    expect(input.userData).toContain('hunter2');
    expect(JSON.stringify(sealed)).not.toMatch(/hunter2|tok-123456|ak-123456|correct-horse/);
  });

  it('a request without secrets is sealed into itself', () => {
    const plain = provisionRequestSchema.parse({
      ...request(),
      userData: undefined,
      labels: { team: 'ml' },
      extra: undefined,
    });
    const { sealed, secrets } = sealFields(PROVISION_SECRET_POSITIONS, plain, JOB);
    expect(secrets).toEqual({});
    expect(sealed).toEqual(plain);
  });

  it('the sealed request validates with its references in place, and resolves back to the request', () => {
    const input = valid();
    const { sealed, secrets } = sealFields(PROVISION_SECRET_POSITIONS, input, JOB);
    const parsed = parseSealed(provisionRequestSchema, PROVISION_SECRET_POSITIONS, sealed, JOB);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(parsed.data).toEqual(sealed);
    const { value, resolved } = resolveRefs(parsed.data, JOB, secrets);
    expect(value).toEqual(input);
    expect(resolved.map((r) => r.field).sort()).toEqual(Object.keys(secrets).sort());
  });

  it('still checks the rest of a sealed request', () => {
    const { sealed } = sealFields(PROVISION_SECRET_POSITIONS, valid(), JOB);
    const parsed = parseSealed(
      provisionRequestSchema,
      PROVISION_SECRET_POSITIONS,
      { ...sealed, name: '-bad-' },
      JOB,
    );
    expect(parsed.success).toBe(false);
  });

  it("refuses another job's reference, a reference outside a secret field, and one at a plain label", () => {
    const { sealed } = sealFields(PROVISION_SECRET_POSITIONS, valid(), JOB);
    const attempts: Array<[string, unknown]> = [
      ["another job's", { ...sealed, userData: { $secret: 'prov-other#/userData' } }],
      ['moved to another field', { ...sealed, userData: { $secret: `${JOB}#/extra/password` } }],
      ['in a plain field', { ...sealed, template: { $secret: `${JOB}#/template` } }],
      ['at a plain label', { ...sealed, labels: { team: { $secret: `${JOB}#/labels/team` } } }],
      [
        'inside a list',
        { ...sealed, extra: { securityGroups: [{ $secret: `${JOB}#/extra/securityGroups/0` }] } },
      ],
    ];
    for (const [what, value] of attempts) {
      expect(() => parseSealed(provisionRequestSchema, PROVISION_SECRET_POSITIONS, value, JOB), what).toThrow(
        SecretReferenceError,
      );
    }
  });

  it("resolving refuses another job's reference and says when a secret is no longer kept", () => {
    expect(() => resolveRefs({ userData: { $secret: 'prov-other#/userData' } }, JOB, {})).toThrow(
      SecretReferenceError,
    );
    expect(() => resolveRefs({ userData: { $secret: `${JOB}#/userData` } }, JOB, {})).toThrow(
      SecretUnavailableError,
    );
  });

  it('pointers round-trip keys with / and ~', () => {
    for (const path of [['labels', 'app/api~key'], ['userData'], ['extra', 'a~1b']]) {
      expect(pathOf(pointerOf(path))).toEqual(path);
    }
  });
});

describe('redaction around secrets', () => {
  it('keeps references, blanks values under credential-like keys', () => {
    const ref = { $secret: `${JOB}#/labels/db-token` };
    expect(redactValue({ labels: { 'db-token': ref, 'other-token': 'x1', team: 'web' } })).toEqual({
      labels: { 'db-token': ref, 'other-token': '[REDACTED]', team: 'web' },
    });
  });

  it('scrubs resolved secrets while the provider call runs, and forgets them afterwards', async () => {
    const value = 'resolved-secret-value-42';
    const during = await withSecretsRedacted([value], async () => redactText(`echoed: ${value}`));
    expect(during).toBe('echoed: [REDACTED]');
    expect(redactText(`later: ${value}`)).toBe(`later: ${value}`);
  });

  it('overlapping calls holding the same secret keep it scrubbed until the last one ends', async () => {
    const value = 'shared-secret-value-43';
    let release!: () => void;
    const slow = withSecretsRedacted([value], () => new Promise<void>((r) => (release = r)));
    await withSecretsRedacted([value], async () => undefined);
    expect(redactText(value)).toBe('[REDACTED]');
    release();
    await slow;
    expect(redactText(value)).toBe(value);
  });
});
