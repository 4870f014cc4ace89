import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsKeyPair } from '../../local/auth/sigv4.ts';

/**
 * A raw AWS JSON 1.0 request, signed as the SDK signs it (its own signer), for tests that need to
 * send what no SDK client would: an unknown operation, a body that is not JSON, a tampered copy.
 */
export interface RawAwsRequest {
  url: string;
  /** `states`, `dynamodb`. */
  service: string;
  /** `AWSStepFunctions.StartExecution`, `DynamoDB_20120810.PutItem`… */
  target?: string;
  body: string;
  credentials: AwsKeyPair;
  region?: string;
  signingDate?: Date;
  /** Headers added after signing (to tamper with a signed request). */
  after?: Record<string, string>;
}

export async function signedHeaders(r: RawAwsRequest): Promise<Record<string, string>> {
  const url = new URL(r.url);
  const signer = new SignatureV4({
    service: r.service,
    region: r.region ?? 'us-east-1',
    credentials: r.credentials,
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port && { port: Number(url.port) }),
      path: url.pathname,
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.0',
        ...(r.target !== undefined && { 'x-amz-target': r.target }),
      },
      body: r.body,
    },
    r.signingDate ? { signingDate: r.signingDate } : {},
  );
  return { ...(signed.headers as Record<string, string>), ...r.after };
}

/** POSTs the request, signed; the headers after signing may override what was signed. */
export async function signedPost(r: RawAwsRequest): Promise<Response> {
  const headers = await signedHeaders(r);
  // fetch sets Host itself (to the URL's host, as signed).
  const { host: _host, ...rest } = headers;
  return fetch(r.url, { method: 'POST', headers: rest, body: r.body });
}
