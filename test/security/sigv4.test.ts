import { createHash } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { type AwsKeyPair, SigV4Verifier } from '../../local/auth/sigv4.ts';

/**
 * The SigV4 check of the local endpoints, one rule at a time, against requests signed by the AWS
 * SDK's own signer. The refusals are the ones AWS's JSON services give, in the order they check
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html; codes and messages as
 * DynamoDB documents them,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
 */

const KEYS: AwsKeyPair = {
  accessKeyId: 'FLEETFLOWABCDEFGHIJK',
  secretAccessKey: 'the-one-secret-0123456789abcdefghijklmno',
};
const NOW = new Date('2026-11-30T12:00:00Z');
const HOST = '127.0.0.1:41234';
const BODY = '{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:power-schedule"}';

async function signed(
  options: {
    keys?: AwsKeyPair;
    service?: string;
    region?: string;
    at?: Date;
    headers?: Record<string, string>;
  } = {},
) {
  const signer = new SignatureV4({
    service: options.service ?? 'states',
    region: options.region ?? 'us-east-1',
    credentials: options.keys ?? KEYS,
    sha256: Sha256,
  });
  const request = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 41234,
      path: '/',
      query: {},
      headers: {
        host: HOST,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AWSStepFunctions.StartExecution',
        ...options.headers,
      },
      body: BODY,
    },
    { signingDate: options.at ?? NOW },
  );
  // As Node hands them to the server: lower-case names.
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'POST', url: '/', headers, body: Buffer.from(BODY) };
}

const verifier = new SigV4Verifier({ service: 'states', credentials: KEYS, now: () => NOW });

describe('SigV4Verifier', () => {
  it('accepts what the SDK signs with the accepted key pair, whatever the region', async () => {
    expect(await verifier.verify(await signed())).toBeUndefined();
    expect(await verifier.verify(await signed({ region: 'eu-central-1' }))).toBeUndefined();
    // Within AWS's 15 minutes either way.
    expect(
      await verifier.verify(await signed({ at: new Date(NOW.getTime() - 14 * 60_000) })),
    ).toBeUndefined();
    expect(
      await verifier.verify(await signed({ at: new Date(NOW.getTime() + 14 * 60_000) })),
    ).toBeUndefined();
  });

  it('refuses each departure with the code AWS gives', async () => {
    const base = await signed();
    const auth = base.headers.authorization!;
    const cases: Array<[string, () => Promise<Parameters<SigV4Verifier['verify']>[0]>, string, RegExp]> = [
      [
        'no Authorization',
        async () => ({ ...base, headers: { ...base.headers, authorization: '' } }),
        'MissingAuthenticationTokenException',
        /^Request is missing Authentication Token$/,
      ],
      [
        'another scheme',
        async () => ({ ...base, headers: { ...base.headers, authorization: 'Bearer x' } }),
        'MissingAuthenticationTokenException',
        /missing/,
      ],
      [
        'no Signature',
        async () => ({
          ...base,
          headers: { ...base.headers, authorization: auth.replace(/, Signature=\w+/, '') },
        }),
        'IncompleteSignatureException',
        /requires 'Signature' parameter/,
      ],
      [
        'SigV4a',
        async () => ({
          ...base,
          headers: {
            ...base.headers,
            authorization: auth.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256'),
          },
        }),
        'IncompleteSignatureException',
        /Unsupported AWS 'algorithm'/,
      ],
      [
        'a 4-part credential',
        async () => ({
          ...base,
          headers: { ...base.headers, authorization: auth.replace('/aws4_request', '') },
        }),
        'IncompleteSignatureException',
        /exactly 5 slash-delimited/,
      ],
      [
        'no X-Amz-Date',
        async () => {
          const { 'x-amz-date': _d, ...rest } = base.headers;
          return { ...base, headers: rest };
        },
        'IncompleteSignatureException',
        /X-Amz-Date/,
      ],
      [
        'a date not in basic format',
        async () => ({ ...base, headers: { ...base.headers, 'x-amz-date': '2026-11-30' } }),
        'IncompleteSignatureException',
        /ISO-8601 'basic format'/,
      ],
      [
        '16 minutes old',
        () => signed({ at: new Date(NOW.getTime() - 16 * 60_000) }),
        'InvalidSignatureException',
        /^Signature expired: 20261130T114400Z is now earlier than 20261130T114500Z \(20261130T120000Z - 15 min\.\)$/,
      ],
      [
        '16 minutes ahead',
        () => signed({ at: new Date(NOW.getTime() + 16 * 60_000) }),
        'InvalidSignatureException',
        /^Signature not yet current/,
      ],
      [
        'Host not signed',
        async () => ({
          ...base,
          headers: {
            ...base.headers,
            authorization: auth.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=x-amz-date'),
          },
        }),
        'InvalidSignatureException',
        /'Host' must be a 'SignedHeader'/,
      ],
      [
        'scoped to another service',
        () => signed({ service: 'dynamodb' }),
        'InvalidSignatureException',
        /scoped to correct service: 'states'/,
      ],
      [
        'an unknown key id',
        () =>
          signed({ keys: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: KEYS.secretAccessKey } }),
        'UnrecognizedClientException',
        /^The security token included in the request is invalid\.$/,
      ],
      [
        'a session token',
        () => signed({ keys: { ...KEYS, sessionToken: 'token' } as AwsKeyPair }),
        'UnrecognizedClientException',
        /security token/,
      ],
      [
        'the right key id, another secret',
        () => signed({ keys: { ...KEYS, secretAccessKey: 'guess' } }),
        'InvalidSignatureException',
        /^The request signature we calculated does not match the signature you provided/,
      ],
      [
        'another body under the signature',
        async () => ({ ...base, body: Buffer.from(BODY.replace('power-schedule', 'provision')) }),
        'InvalidSignatureException',
        /does not match/,
      ],
      [
        'another Host under the signature',
        async () => ({ ...base, headers: { ...base.headers, host: 'rebind.attacker.example:41234' } }),
        'InvalidSignatureException',
        /does not match/,
      ],
      [
        'a payload hash that is not the body’s',
        () =>
          signed({
            headers: {
              'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
            },
          }),
        'InvalidSignatureException',
        /does not match/,
      ],
      [
        'another method',
        async () => ({ ...base, method: 'PUT' }),
        'InvalidSignatureException',
        /does not match/,
      ],
    ];
    for (const [label, request, type, message] of cases) {
      const refusal = await verifier.verify(await request());
      expect([label, refusal?.status, refusal?.type], label).toEqual([label, 400, type]);
      expect(refusal?.message, label).toMatch(message);
    }
  });

  it('takes the payload hash a client signed when it is the body’s', async () => {
    const real = createHash('sha256').update(BODY).digest('hex');
    expect(
      await verifier.verify(await signed({ headers: { 'x-amz-content-sha256': real } })),
    ).toBeUndefined();
  });
});
