import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * Signature Version 4 checked the way AWS checks it, for the local Step Functions and DynamoDB
 * endpoints: the signature is recomputed with the AWS SDK's own signer over exactly the headers the
 * caller says it signed, with the secret of the one key pair the endpoint accepts. What the code
 * below writes by hand is only the reading of the Authorization header and the order of the checks;
 * each refusal answers with the status, `__type` and message AWS's JSON services give (as DynamoDB
 * and Step Functions do: 400 for every authentication failure).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
 */

export interface AwsKeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface AuthRefusal {
  status: number;
  /** The AWS error code, e.g. `InvalidSignatureException`. */
  type: string;
  message: string;
}

/** AWS accepts a request signed up to 15 minutes before or after its own clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const ALGORITHM = 'AWS4-HMAC-SHA256';

const refuse = (type: string, message: string): AuthRefusal => ({ status: 400, type, message });

const MISSING = () =>
  refuse('MissingAuthenticationTokenException', 'Request is missing Authentication Token');
const UNRECOGNIZED = () =>
  refuse('UnrecognizedClientException', 'The security token included in the request is invalid.');
const MISMATCH = () =>
  refuse(
    'InvalidSignatureException',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  );

interface Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/states/aws4_request, SignedHeaders=a;b, Signature=hex` */
function parseAuthorization(value: string): Authorization | AuthRefusal {
  const [algorithm, ...rest] = value.trim().split(/\s+/);
  if (!algorithm?.startsWith('AWS4-')) return MISSING();
  const params: Record<string, string> = {};
  for (const part of rest.join(' ').split(/\s*,\s*/)) {
    const eq = part.indexOf('=');
    if (eq > 0) params[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((p) => !params[p]);
  if (missing.length > 0) {
    return refuse(
      'IncompleteSignatureException',
      missing.map((p) => `Authorization header requires '${p}' parameter.`).join(' '),
    );
  }
  if (algorithm !== ALGORITHM) {
    return refuse(
      'IncompleteSignatureException',
      `Unsupported AWS 'algorithm': '${algorithm}' (only ${ALGORITHM} for now).`,
    );
  }
  const scope = params.Credential!.replace(/\/+$/, '').split('/');
  if (scope.length !== 5) {
    return refuse(
      'IncompleteSignatureException',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${params.Credential}'`,
    );
  }
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  if (terminator !== 'aws4_request') {
    return refuse(
      'InvalidSignatureException',
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`,
    );
  }
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: params.SignedHeaders!.toLowerCase().split(';').filter(Boolean),
    signature: params.Signature!.toLowerCase(),
  };
}

/** `20260101T120000Z` → Date, or undefined. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const amzDate = (d: Date) => d.toISOString().replace(/[-:]|\.\d{3}/g, '');

export interface SigV4Request {
  method: string;
  /** Path and query, as in `req.url`. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SigV4VerifierOptions {
  /** The signing name of the service: `states`, `dynamodb`. */
  service: string;
  /** The one key pair accepted. */
  credentials: AwsKeyPair;
  now?: () => Date;
}

export class SigV4Verifier {
  readonly #service: string;
  readonly #credentials: AwsKeyPair;
  readonly #now: () => Date;

  constructor(options: SigV4VerifierOptions) {
    this.#service = options.service;
    this.#credentials = options.credentials;
    this.#now = options.now ?? (() => new Date());
  }

  /** Undefined when the request is signed by the accepted key pair; else why it is refused. */
  async verify(request: SigV4Request): Promise<AuthRefusal | undefined> {
    const header = request.headers.authorization;
    if (typeof header !== 'string' || header.trim() === '') return MISSING();
    const auth = parseAuthorization(header);
    if ('type' in auth) return auth;

    const dateHeader = request.headers['x-amz-date'];
    if (typeof dateHeader !== 'string') {
      return refuse(
        'IncompleteSignatureException',
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
      );
    }
    const signedAt = parseAmzDate(dateHeader);
    if (!signedAt) {
      return refuse(
        'IncompleteSignatureException',
        `Date must be in ISO-8601 'basic format'. Got '${dateHeader}'. See http://en.wikipedia.org/wiki/ISO_8601`,
      );
    }
    const now = this.#now();
    if (signedAt.getTime() < now.getTime() - MAX_SKEW_MS) {
      return refuse(
        'InvalidSignatureException',
        `Signature expired: ${dateHeader} is now earlier than ${amzDate(new Date(now.getTime() - MAX_SKEW_MS))} (${amzDate(now)} - 15 min.)`,
      );
    }
    if (signedAt.getTime() > now.getTime() + MAX_SKEW_MS) {
      return refuse(
        'InvalidSignatureException',
        `Signature not yet current: ${dateHeader} is still later than ${amzDate(new Date(now.getTime() + MAX_SKEW_MS))} (${amzDate(now)} + 15 min.)`,
      );
    }
    if (!auth.signedHeaders.includes('host')) {
      return refuse('InvalidSignatureException', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
    }
    const scopeErrors = [
      auth.service !== this.#service && `Credential should be scoped to correct service: '${this.#service}'.`,
      auth.date !== dateHeader.slice(0, 8) &&
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${dateHeader.slice(0, 8)}', from '${dateHeader}'.`,
      !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(auth.region) &&
        `Credential should be scoped to a valid region, not '${auth.region}'.`,
    ].filter(Boolean);
    if (scopeErrors.length > 0) return refuse('InvalidSignatureException', scopeErrors.join(' '));

    // An unknown key, or a session token this endpoint never issued.
    if (auth.accessKeyId !== this.#credentials.accessKeyId || request.headers['x-amz-security-token']) {
      return UNRECOGNIZED();
    }

    // The payload hash a client may send must be the body's, or a signature would cover another body.
    const declaredHash = request.headers['x-amz-content-sha256'];
    if (declaredHash !== undefined && declaredHash !== sha256Hex(request.body)) return MISMATCH();

    const expected = await this.#signature(request, auth, signedAt);
    const given = Buffer.from(auth.signature, 'utf8');
    const wanted = Buffer.from(expected, 'utf8');
    return given.length === wanted.length && timingSafeEqual(given, wanted) ? undefined : MISMATCH();
  }

  /** The signature the accepted key gives this request, over the headers the caller listed. */
  async #signature(request: SigV4Request, auth: Authorization, signedAt: Date): Promise<string> {
    const q = request.url.indexOf('?');
    const path = q === -1 ? request.url : request.url.slice(0, q);
    const query: Record<string, string | string[]> = {};
    if (q !== -1) {
      for (const [key, value] of new URLSearchParams(request.url.slice(q + 1))) {
        const prior = query[key];
        query[key] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
      }
    }
    const headers: Record<string, string> = {};
    for (const name of auth.signedHeaders) {
      const value = request.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const signer = new SignatureV4({
      service: auth.service,
      region: auth.region,
      credentials: this.#credentials,
      sha256: Sha256,
      // The client's own x-amz-content-sha256 (checked above) is used when it signed one; none is added.
      applyChecksum: false,
    });
    const signed = await signer.sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: headers.host ?? '',
        path,
        query,
        headers,
        body: request.body,
      },
      { signingDate: signedAt, signableHeaders: new Set(auth.signedHeaders) },
    );
    const authorization = signed.headers.authorization ?? '';
    return /Signature=([0-9a-f]+)/.exec(authorization)?.[1] ?? '';
  }
}

function sha256Hex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
