import { describe, expect, it } from 'vitest';
import {
  ProviderAuthenticationError,
  ProviderInvalidStateError,
  ProviderNotFoundError,
  ProviderPermissionError,
  ProviderQuotaError,
  ProviderRateLimitError,
  ProviderTransientError,
  ProviderValidationError,
} from '../../../functions/providers/errors.ts';
import { instanceState, mapGcoreError, STATE_MAP } from '../../../functions/providers/gcore/client.ts';
import type { HttpAnswer, HttpRequest } from '../../../functions/providers/http/client.ts';
import { INSTANCE_STATES } from '../../../functions/providers/port.ts';

// Every value of the documented `status` enum (gcore-python types/cloud/instance.py).
const DOCUMENTED_STATUSES = [
  'ACTIVE',
  'BUILD',
  'DELETED',
  'ERROR',
  'HARD_REBOOT',
  'MIGRATING',
  'PASSWORD',
  'PAUSED',
  'REBOOT',
  'REBUILD',
  'RESCUE',
  'RESIZE',
  'REVERT_RESIZE',
  'SHELVED',
  'SHELVED_OFFLOADED',
  'SHUTOFF',
  'SOFT_DELETED',
  'SUSPENDED',
  'UNKNOWN',
  'VERIFY_RESIZE',
];

describe('gcore state mapping', () => {
  it('maps every documented status explicitly', () => {
    for (const status of DOCUMENTED_STATUSES) {
      expect(STATE_MAP[status], status).toBeDefined();
      expect(INSTANCE_STATES).toContain(instanceState(status));
    }
    expect(instanceState('ACTIVE')).toBe('running');
    expect(instanceState('SHUTOFF')).toBe('stopped');
    expect(instanceState('BUILD')).toBe('pending');
    expect(instanceState('REBOOT')).toBe('rebooting');
    expect(instanceState('HARD_REBOOT')).toBe('rebooting');
    expect(instanceState('VERIFY_RESIZE')).toBe('resizing');
    expect(instanceState('SOFT_DELETED')).toBe('deleted');
    expect(instanceState('ERROR')).toBe('error');
    expect(instanceState('UNKNOWN')).toBe('unknown');
  });

  it('falls back to unknown for anything new, never a guess', () => {
    expect(instanceState('HIBERNATING')).toBe('unknown');
    expect(instanceState('')).toBe('unknown');
  });

  it('refines the status with task_state while a task runs', () => {
    expect(instanceState('ACTIVE', 'powering-off')).toBe('stopping');
    expect(instanceState('SHUTOFF', 'powering-on')).toBe('starting');
    expect(instanceState('ACTIVE', 'deleting')).toBe('deleting');
    expect(instanceState('BUILD', 'spawning')).toBe('pending');
    expect(instanceState('ACTIVE', 'resize_migrating')).toBe('resizing');
    expect(instanceState('ACTIVE', 'some_new_task_state')).toBe('running');
    expect(instanceState('ACTIVE', null)).toBe('running');
    // An error stays an error whatever task is recorded.
    expect(instanceState('ERROR', 'powering-on')).toBe('error');
  });
});

const request: HttpRequest = { method: 'POST', path: '/cloud/v2/instances/1/76/abc/action', action: 'stop' };
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
const gcoreBody = (exception_class: string, message: string, request_id = 'req-body-1') => ({
  exception_class,
  message,
  traceback: null,
  request_id,
});

describe('gcore error mapping', () => {
  it('401 is an authentication error carrying the exception class and the body request id', () => {
    const e = mapGcoreError(
      answer(401, gcoreBody('AuthenticationFailed', 'Invalid API key.'), { 'x-request-id': 'hdr-1' }),
      request,
    );
    expect(e).toBeInstanceOf(ProviderAuthenticationError);
    expect(e.code).toBe('AuthenticationFailed');
    expect(e.requestId).toBe('req-body-1');
    expect(e.status).toBe(401);
    expect(e.provider).toBe('gcore');
    expect(e.action).toBe('stop');
    expect(e.message).toContain('Invalid API key.');
  });

  it('falls back to the header request id when the body has none', () => {
    const e = mapGcoreError(
      answer(
        404,
        { exception_class: 'InstanceNotFound', message: 'Instance abc not found' },
        { 'x-request-id': 'hdr-2' },
      ),
      request,
    );
    expect(e).toBeInstanceOf(ProviderNotFoundError);
    expect(e.requestId).toBe('hdr-2');
  });

  it('409 "locked by a running task" is transient (retried); other 409s are state errors', () => {
    const lock = mapGcoreError(
      answer(
        409,
        gcoreBody(
          'ResourceLockedByTask',
          'Instance abc is locked by a running task 5c1e (stop_vm). Try again later.',
        ),
      ),
      request,
    );
    expect(lock).toBeInstanceOf(ProviderTransientError);
    expect(lock.retryable).toBe(true);
    expect(lock.code).toBe('ResourceLockedByTask');
    // Recognised by the message alone, whatever the class is called.
    expect(
      mapGcoreError(answer(409, { message: 'Resource is locked by a running task' }), request),
    ).toBeInstanceOf(ProviderTransientError);
    const state = mapGcoreError(
      answer(
        409,
        gcoreBody('InstanceInvalidState', "Cannot 'start' instance abc while it is in vm_state active"),
      ),
      request,
    );
    expect(state).toBeInstanceOf(ProviderInvalidStateError);
    expect(state.retryable).toBe(false);
  });

  it('maps the other statuses', () => {
    expect(
      mapGcoreError(answer(403, gcoreBody('PermissionDenied', 'no access to project 9')), request),
    ).toBeInstanceOf(ProviderPermissionError);
    expect(
      mapGcoreError(answer(400, gcoreBody('ValidationError', 'flavor: Field required')), request),
    ).toBeInstanceOf(ProviderValidationError);
    expect(mapGcoreError(answer(422, gcoreBody('ValidationError', 'bad')), request)).toBeInstanceOf(
      ProviderValidationError,
    );
    expect(
      mapGcoreError(answer(400, gcoreBody('QuotaExceeded', 'vm_count limit exceeded')), request),
    ).toBeInstanceOf(ProviderQuotaError);
    const limited = mapGcoreError(
      answer(429, gcoreBody('TooManyRequests', 'slow down'), { 'retry-after': '3' }),
      request,
    );
    expect(limited).toBeInstanceOf(ProviderRateLimitError);
    expect(limited.retryAfterSeconds).toBe(3);
    expect(mapGcoreError(answer(503, gcoreBody('ServiceUnavailable', 'down')), request)).toBeInstanceOf(
      ProviderTransientError,
    );
  });

  it('obeys x-should-retry on a 4xx, as Gcore SDKs do', () => {
    const e = mapGcoreError(
      answer(400, gcoreBody('Whatever', 'try again'), { 'x-should-retry': 'true' }),
      request,
    );
    expect(e).toBeInstanceOf(ProviderTransientError);
    const lockNoRetry = mapGcoreError(
      answer(409, gcoreBody('ResourceLockedByTask', 'locked by a running task'), {
        'x-should-retry': 'false',
      }),
      request,
    );
    expect(lockNoRetry).toBeInstanceOf(ProviderInvalidStateError);
  });

  it('reads a non-JSON body as the message', () => {
    const e = mapGcoreError(answer(502, '<html>Bad Gateway</html>'), request);
    expect(e).toBeInstanceOf(ProviderTransientError);
    expect(e.message).toContain('Bad Gateway');
    expect(e.code).toBeUndefined();
  });
});
