import { describe, expect, it } from 'vitest';
import { cloudcaError, mapState, STATE_MAP } from '../../../functions/providers/cloudca/client.ts';
import {
  ProviderAuthenticationError,
  ProviderInvalidStateError,
  ProviderNotFoundError,
  ProviderRateLimitError,
  ProviderTransientError,
  ProviderValidationError,
} from '../../../functions/providers/errors.ts';
import type { HttpAnswer, HttpRequest } from '../../../functions/providers/http/client.ts';
import { INSTANCE_STATES } from '../../../functions/providers/port.ts';

describe('cloud.ca state mapping', () => {
  it.each([
    ['Running', 'running'],
    ['Stopped', 'stopped'],
    ['Starting', 'starting'],
    ['Stopping', 'stopping'],
    ['Destroyed', 'deleted'],
    ['Expunging', 'deleting'],
    ['Error', 'error'],
  ])('%s → %s', (raw, state) => {
    expect(mapState(raw)).toBe(state);
  });

  it('ignores case, as cloud.ca does for statuses', () => {
    expect(mapState('RUNNING')).toBe('running');
    expect(mapState('stopped')).toBe('stopped');
  });

  it('maps anything else to unknown, never a guess', () => {
    expect(mapState('Migrating')).toBe('unknown');
    expect(mapState('')).toBe('unknown');
    expect(mapState('constructor')).toBe('unknown');
  });

  it('maps only onto port states', () => {
    for (const state of Object.values(STATE_MAP)) expect(INSTANCE_STATES).toContain(state);
  });
});

const request: HttpRequest = {
  method: 'POST',
  path: '/services/compute-qc/production/instances/abc',
  action: 'stop',
};

function answer(status: number, body: unknown, headers: Record<string, string> = {}): HttpAnswer {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    status,
    headers,
    body: typeof body === 'string' ? undefined : body,
    text,
    ...(headers['x-request-id'] && { requestId: headers['x-request-id'] }),
  };
}

// The docs' own error example.
const DOCS_2012 = {
  errors: [
    {
      code: 2012,
      message: "Cannot stop an instance that isn't in the running state",
      context: {
        id: '4534cc36-bc46-48bc-ac5c-3ee4e42f0a44',
        currentState: 'Stopped',
        expectedStates: ['Running'],
        type: 'instances',
      },
    },
  ],
};

describe('cloud.ca error mapping', () => {
  it("maps the docs' 2012 (numeric code) to an invalid-state error with code and request id", () => {
    const error = cloudcaError(answer(400, DOCS_2012, { 'x-request-id': 'req-1' }), request);
    expect(error).toBeInstanceOf(ProviderInvalidStateError);
    expect(error.code).toBe('2012');
    expect(error.status).toBe(400);
    expect(error.requestId).toBe('req-1');
    expect(error.action).toBe('stop');
    expect(error.message).toMatch(/isn't in the running state/);
  });

  it("reads go-cloudca's string errorCode as well", () => {
    const body = { errors: [{ errorCode: '2012', message: 'Cannot start an instance', context: {} }] };
    const error = cloudcaError(answer(400, body), request);
    expect(error).toBeInstanceOf(ProviderInvalidStateError);
    expect(error.code).toBe('2012');
    const other = cloudcaError(
      answer(400, { errors: [{ errorCode: 'FOO_ERROR', message: 'message1' }] }),
      request,
    );
    expect(other).toBeInstanceOf(ProviderValidationError);
    expect(other.code).toBe('FOO_ERROR');
    expect(other.message).toMatch(/message1/);
  });

  it('treats a state context as a wrong-state refusal whatever the code', () => {
    const body = {
      errors: [
        { code: 9999, message: 'nope', context: { currentState: 'Destroyed', expectedStates: ['Running'] } },
      ],
    };
    expect(cloudcaError(answer(400, body), request)).toBeInstanceOf(ProviderInvalidStateError);
  });

  it('maps 403 (cloud.ca has no 401) to an authentication error', () => {
    const error = cloudcaError(answer(403, { errors: [{ code: 403, message: 'Invalid API key' }] }), request);
    expect(error).toBeInstanceOf(ProviderAuthenticationError);
    expect(error.code).toBe('403');
  });

  it('maps 404, 429 (with Retry-After) and 5xx by status', () => {
    expect(
      cloudcaError(answer(404, { errors: [{ code: 404, message: 'Instance abc not found' }] }), request),
    ).toBeInstanceOf(ProviderNotFoundError);
    const limited = cloudcaError(
      answer(429, { errors: [{ code: 429, message: 'Too many requests' }] }, { 'retry-after': '3' }),
      request,
    );
    expect(limited).toBeInstanceOf(ProviderRateLimitError);
    expect(limited.retryAfterSeconds).toBe(3);
    const down = cloudcaError(answer(503, { errors: [{ code: 503, message: 'unavailable' }] }), request);
    expect(down).toBeInstanceOf(ProviderTransientError);
    expect(down.retryable).toBe(true);
  });

  it('maps a plain 400 to a validation error and joins several messages', () => {
    const body = {
      errors: [
        { code: 400, message: 'name is required' },
        { code: 400, message: 'networkId is required' },
      ],
    };
    const error = cloudcaError(answer(400, body), request);
    expect(error).toBeInstanceOf(ProviderValidationError);
    expect(error.message).toMatch(/name is required; networkId is required/);
  });

  it('survives a body that is not the errors envelope', () => {
    const error = cloudcaError(answer(502, '<html>Bad gateway</html>'), request);
    expect(error).toBeInstanceOf(ProviderTransientError);
    expect(error.code).toBeUndefined();
    expect(error.message).toMatch(/Bad gateway/);
  });
});
