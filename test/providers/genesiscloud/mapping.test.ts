import { describe, expect, it } from 'vitest';
import {
  ProviderAuthenticationError,
  ProviderInvalidStateError,
  ProviderNotFoundError,
  ProviderPermissionError,
  ProviderRateLimitError,
  ProviderTransientError,
  ProviderValidationError,
} from '../../../functions/providers/errors.ts';
import { mapGenesisError, mapState, STATE_MAP } from '../../../functions/providers/genesiscloud/client.ts';
import type { HttpAnswer, HttpRequest } from '../../../functions/providers/http/client.ts';
import { INSTANCE_STATES } from '../../../functions/providers/port.ts';

describe('genesiscloud state mapping', () => {
  it.each([
    // genesiscloud-go (2025)
    ['active', 'running'],
    ['creating', 'pending'],
    ['deleting', 'deleting'],
    ['error', 'error'],
    ['pending_payment', 'pending'],
    ['resetting', 'rebooting'],
    ['starting', 'starting'],
    ['stopped', 'stopped'],
    ['stopping', 'stopping'],
    // the JS client's extra values
    ['enqueued', 'pending'],
    ['copying', 'pending'],
    ['build', 'pending'],
    ['restarting', 'rebooting'],
    ['shutoff', 'stopped'],
    ['updating', 'unknown'],
    ['unknown', 'unknown'],
  ])('%s → %s', (status, state) => {
    expect(mapState(status)).toBe(state);
  });

  it('maps anything else to unknown, never a guess', () => {
    for (const s of ['ACTIVE', 'running', 'hibernated', '', 'constructor', '__proto__', 'toString']) {
      expect(mapState(s)).toBe('unknown');
    }
  });

  it('maps only onto port states', () => {
    for (const state of Object.values(STATE_MAP)) expect(INSTANCE_STATES).toContain(state);
  });
});

const request: HttpRequest = { method: 'POST', path: '/instances/x/actions', action: 'stop' };

function answer(status: number, body: unknown, headers: Record<string, string> = {}): HttpAnswer {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    status,
    headers,
    body: typeof body === 'string' ? undefined : body,
    text,
    requestId: 'req-42',
  };
}

describe('genesiscloud error mapping', () => {
  it.each([
    [401, { code: 'unauthorized', message: 'Invalid authentication token' }, ProviderAuthenticationError],
    [403, { code: 'forbidden', message: 'Token lacks the compute scope' }, ProviderPermissionError],
    [404, { code: 'not_found', message: 'Instance not found' }, ProviderNotFoundError],
    [
      409,
      { code: 'invalid_state', message: "Cannot stop instance in status 'stopped'" },
      ProviderInvalidStateError,
    ],
    [409, { code: 'instance_protected', message: 'Instance is protected' }, ProviderInvalidStateError],
    [
      400,
      { code: 'invalid_parameter', message: 'per_page must be lower or equal to 100' },
      ProviderValidationError,
    ],
    [422, { code: '02001', message: 'Unprocessable' }, ProviderValidationError],
    [
      503,
      { code: 'service_unavailable', message: 'Service temporarily unavailable' },
      ProviderTransientError,
    ],
    [500, { code: 'internal_error', message: 'boom' }, ProviderTransientError],
  ])('HTTP %i %j → %o', (status, body, cls) => {
    const error = mapGenesisError(answer(status, body), request);
    expect(error).toBeInstanceOf(cls);
    expect(error.status).toBe(status);
    expect(error.code).toBe(body.code);
    expect(error.requestId).toBe('req-42');
    expect(error.action).toBe('stop');
    expect(error.provider).toBe('genesiscloud');
    expect(error.message).toContain(body.message);
  });

  it.each([
    "Action 'start' is not allowed for this instance",
    'Instance cannot start in its current status',
    'Instance is in the wrong state',
    'Instance is protected and cannot be destroyed',
  ])('reads a 400 about the status as wrong-state: %s', (message) => {
    expect(mapGenesisError(answer(400, { code: '02001', message }), request)).toBeInstanceOf(
      ProviderInvalidStateError,
    );
  });

  it('reads a wrong-state code on a 400 too', () => {
    expect(mapGenesisError(answer(400, { code: 'invalid_state', message: 'no' }), request)).toBeInstanceOf(
      ProviderInvalidStateError,
    );
  });

  it('keeps a numeric code as text and falls back to the raw text when the body is not JSON', () => {
    expect(mapGenesisError(answer(400, { code: 2001, message: 'bad' }), request).code).toBe('2001');
    const error = mapGenesisError(answer(502, '<html>Bad Gateway</html>'), request);
    expect(error).toBeInstanceOf(ProviderTransientError);
    expect(error.message).toContain('Bad Gateway');
    expect(error.code).toBeUndefined();
  });

  it('carries Retry-After on a 429', () => {
    const error = mapGenesisError(
      answer(429, { code: 'too_many_requests', message: 'slow down' }, { 'retry-after': '3' }),
      request,
    );
    expect(error).toBeInstanceOf(ProviderRateLimitError);
    expect(error.retryAfterSeconds).toBe(3);
    expect(error.retryable).toBe(true);
  });
});
