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
import { mapExoscaleError, mapState, STATE_MAP } from '../../../functions/providers/exoscale/client.ts';
import type { HttpAnswer, HttpRequest } from '../../../functions/providers/http/client.ts';
import { INSTANCE_STATES } from '../../../functions/providers/port.ts';

describe('state mapping', () => {
  it('maps every documented Exoscale instance state', () => {
    const documented = [
      'expunging',
      'starting',
      'destroying',
      'running',
      'stopping',
      'stopped',
      'migrating',
      'error',
      'destroyed',
    ];
    expect(Object.keys(STATE_MAP).sort()).toEqual([...documented].sort());
    expect(documented.map(mapState)).toEqual([
      'deleting',
      'starting',
      'deleting',
      'running',
      'stopping',
      'stopped',
      'running',
      'error',
      'deleted',
    ]);
    for (const s of documented) expect(INSTANCE_STATES).toContain(mapState(s));
  });

  it('turns anything else into unknown, never a guess', () => {
    expect(mapState('hibernating')).toBe('unknown');
    expect(mapState(undefined)).toBe('unknown');
    expect(mapState('toString')).toBe('unknown');
  });
});

describe('error mapping', () => {
  const request: HttpRequest = { method: 'PUT', path: '/instance/0f0e:stop', action: 'stop' };
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}): HttpAnswer => ({
    status,
    headers,
    body,
    text: typeof body === 'string' ? body : JSON.stringify(body),
    requestId: 'req-42',
  });

  it('401 and a 403 about the signature are authentication failures', () => {
    const e401 = mapExoscaleError(answer(401, { message: 'Missing Authorization header' }), request);
    expect(e401).toBeInstanceOf(ProviderAuthenticationError);
    const e403 = mapExoscaleError(answer(403, { message: 'Invalid request signature' }), request);
    expect(e403).toBeInstanceOf(ProviderAuthenticationError);
    expect(e403.status).toBe(403);
    expect(e403.requestId).toBe('req-42');
    expect(e403.action).toBe('stop');
    expect(e403.message).toContain('Invalid request signature');
  });

  it('403 for a protected instance is a wrong-state refusal; any other 403 is a permission error', () => {
    expect(
      mapExoscaleError(
        answer(403, {
          message:
            'Operation delete-instance on resource x is forbidden - reason: manual instance protection',
        }),
        request,
      ),
    ).toBeInstanceOf(ProviderInvalidStateError);
    expect(
      mapExoscaleError(
        answer(403, { message: 'Instance type gpu2.small is not authorized for this organization' }),
        request,
      ),
    ).toBeInstanceOf(ProviderPermissionError);
  });

  it('404, 409, 400 and 422 by status, with wrong-state 400s recognised by their message', () => {
    expect(mapExoscaleError(answer(404, { message: 'Instance not found' }), request)).toBeInstanceOf(
      ProviderNotFoundError,
    );
    expect(
      mapExoscaleError(answer(409, { message: 'not allowed in state stopped' }), request),
    ).toBeInstanceOf(ProviderInvalidStateError);
    expect(mapExoscaleError(answer(400, { message: 'Instance must be stopped' }), request)).toBeInstanceOf(
      ProviderInvalidStateError,
    );
    expect(mapExoscaleError(answer(400, { message: 'Invalid parameter disk-size' }), request)).toBeInstanceOf(
      ProviderValidationError,
    );
    expect(mapExoscaleError(answer(422, { message: 'nope' }), request)).toBeInstanceOf(
      ProviderValidationError,
    );
  });

  it('429 carries Retry-After; 5xx is transient', () => {
    const limited = mapExoscaleError(
      answer(429, { message: 'Too many requests' }, { 'retry-after': '3' }),
      request,
    );
    expect(limited).toBeInstanceOf(ProviderRateLimitError);
    expect(limited.retryAfterSeconds).toBe(3);
    expect(limited.retryable).toBe(true);
    const down = mapExoscaleError(
      answer(503, { message: 'Endpoint template temporarily unavailable' }),
      request,
    );
    expect(down).toBeInstanceOf(ProviderTransientError);
  });

  it('reads {"error"}, RFC 9457 problem details (type as code) and plain text bodies', () => {
    expect(mapExoscaleError(answer(400, { error: 'bad thing' }), request).message).toContain('bad thing');
    const problem = mapExoscaleError(
      answer(400, {
        type: 'https://api.exoscale.com/problems/validation',
        title: 'Bad Request',
        status: 400,
        detail: 'name is too long',
        errors: [{ location: 'body.name', detail: 'max 255' }, 'also this'],
      }),
      request,
    );
    expect(problem).toBeInstanceOf(ProviderValidationError);
    expect(problem.code).toBe('https://api.exoscale.com/problems/validation');
    expect(problem.message).toContain('name is too long; body.name: max 255; also this');
    const text = mapExoscaleError(
      { status: 502, headers: {}, body: undefined, text: '<html>Bad Gateway</html>' },
      request,
    );
    expect(text).toBeInstanceOf(ProviderTransientError);
    expect(text.message).toContain('Bad Gateway');
  });
});
