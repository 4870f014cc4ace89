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
import {
  CAPABILITIES,
  classifyCloudStackError,
  csDateToIso,
  mapAnswerError,
  mapState,
  STATE_MAP,
} from '../../../functions/providers/exoscale-v1/client.ts';
import { responseKey } from '../../../functions/providers/exoscale-v1/schemas.ts';
import type { HttpAnswer, HttpRequest } from '../../../functions/providers/http/client.ts';
import { ACTIONS, INSTANCE_STATES } from '../../../functions/providers/port.ts';

describe('exoscale-v1 state mapping', () => {
  const expected: Record<string, string> = {
    Starting: 'starting',
    Running: 'running',
    Stopping: 'stopping',
    Stopped: 'stopped',
    Shutdowned: 'stopped',
    Migrating: 'running',
    Destroyed: 'deleted',
    Expunging: 'deleting',
    Error: 'error',
    Unknown: 'unknown',
  };
  for (const [providerState, state] of Object.entries(expected)) {
    it(`${providerState} → ${state}`, () => expect(mapState(providerState)).toBe(state));
  }

  it('maps anything else to unknown, prototype names included', () => {
    for (const s of ['Moving', 'running', '', 'toString', '__proto__', 'constructor'])
      expect(mapState(s)).toBe('unknown');
  });

  it('maps only onto the port states', () => {
    for (const s of Object.values(STATE_MAP)) expect(INSTANCE_STATES).toContain(s);
  });
});

describe('exoscale-v1 wire details', () => {
  it('names response wrappers as egoscale does, exceptions included', () => {
    expect(responseKey('listVirtualMachines')).toBe('listvirtualmachinesresponse');
    expect(responseKey('queryAsyncJobResult')).toBe('queryasyncjobresultresponse');
    expect(responseKey('addIpToNic')).toBe('addiptovmnicresponse');
    expect(responseKey('activateIp6')).toBe('activateip6nicresponse');
    expect(responseKey('restoreVirtualMachine')).toBe('restorevmresponse');
    expect(responseKey('updateVMAffinityGroup')).toBe('updatevirtualmachineresponse');
  });

  it('reads CloudStack dates', () => {
    expect(csDateToIso('2013-12-19T22:28:31+0100')).toBe('2013-12-19T21:28:31.000Z');
    expect(csDateToIso('2019-06-17T06:51:20Z')).toBe('2019-06-17T06:51:20.000Z');
    expect(csDateToIso('not a date')).toBeUndefined();
    expect(csDateToIso(undefined)).toBeUndefined();
  });

  it('declares every action, protection unsupported and scale needing stopped', () => {
    for (const a of ACTIONS) expect(typeof CAPABILITIES[a].supported).toBe('boolean');
    expect(CAPABILITIES.protection.supported).toBe(false);
    expect(CAPABILITIES.protection.note).toBeTruthy();
    expect(CAPABILITIES.scale.requiresState).toEqual(['stopped']);
  });
});

const request: HttpRequest = {
  method: 'GET',
  path: '',
  query: { command: 'stopVirtualMachine' },
  action: 'stop',
};

function answer(status: number, body: unknown, headers: Record<string, string> = {}): HttpAnswer {
  return {
    status,
    headers,
    body,
    text: JSON.stringify(body),
    ...(headers['x-request-id'] && { requestId: headers['x-request-id'] }),
  };
}

describe('exoscale-v1 error table', () => {
  const cases: Array<[number, string, number | undefined, string]> = [
    [
      401,
      'unable to verify usercredentials and/or request signature',
      undefined,
      ProviderAuthenticationError.name,
    ],
    [
      431,
      'Unable to execute API command listvirtualmachines due to invalid value. Invalid parameter id value=x due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.',
      4350,
      ProviderNotFoundError.name,
    ],
    [431, 'Unable to find a virtual machine with specified vmId', 4350, ProviderNotFoundError.name],
    [
      431,
      'Unable to upgrade virtual machine VM[User|i-1-2-VM] in state Running; make sure the virtual machine is stopped',
      4350,
      ProviderInvalidStateError.name,
    ],
    [
      431,
      'Unable to execute API command deployvirtualmachine due to missing parameter zoneid',
      4350,
      ProviderValidationError.name,
    ],
    [430, 'Malformed parameter', undefined, ProviderValidationError.name],
    [
      432,
      'The given command does not exist or it is not available for user',
      9999,
      ProviderValidationError.name,
    ],
    [429, 'The given user has reached his/her account api limit', 4545, ProviderRateLimitError.name],
    [530, 'Failed to reboot vm instance', 9999, ProviderInvalidStateError.name],
    [530, 'Internal error executing command', 4250, ProviderTransientError.name],
    [531, 'Account does not have permission', 4365, ProviderPermissionError.name],
    [532, 'Maximum number of resources of type user_vm exceeded', 4370, ProviderQuotaError.name],
    [533, 'Unable to create a deployment for VM', 4250, ProviderQuotaError.name],
    [534, 'Resource unavailable', undefined, ProviderTransientError.name],
    [535, 'Resource allocation failed', undefined, ProviderTransientError.name],
    [536, 'Resource in use', undefined, ProviderInvalidStateError.name],
    [537, 'Network rule conflict', undefined, ProviderInvalidStateError.name],
    [503, 'Service temporarily unavailable', 9999, ProviderTransientError.name],
    [400, 'anything else', undefined, ProviderValidationError.name],
  ];
  for (const [code, text, cs, expected] of cases) {
    it(`${code}${cs ? `/${cs}` : ''} "${text.slice(0, 40)}…" → ${expected}`, () => {
      expect(classifyCloudStackError(code, text, cs).name).toBe(expected);
    });
  }

  it('cserrorcode 4545 is a rate limit whatever the errorcode', () => {
    expect(classifyCloudStackError(530, 'request limit', 4545)).toBe(ProviderRateLimitError);
  });
});

describe('exoscale-v1 error bodies', () => {
  it('reads the <command>response wrapper: class, code, status, request id, no secret', () => {
    const error = mapAnswerError(
      answer(
        401,
        {
          stopvirtualmachineresponse: {
            uuidList: [],
            errorcode: 401,
            errortext: 'unable to verify usercredentials and/or request signature',
          },
        },
        { 'x-request-id': 'req-123' },
      ),
      request,
    );
    expect(error).toBeInstanceOf(ProviderAuthenticationError);
    expect(error.status).toBe(401);
    expect(error.code).toBe('401');
    expect(error.requestId).toBe('req-123');
    expect(error.message).toContain('unable to verify usercredentials');
  });

  it('reads errorresponse (egoscale accepts it on >= 400) and carries Retry-After', () => {
    const error = mapAnswerError(
      answer(
        429,
        { errorresponse: { uuidList: [], errorcode: 429, cserrorcode: 4545, errortext: 'limit' } },
        { 'retry-after': '3' },
      ),
      request,
    );
    expect(error).toBeInstanceOf(ProviderRateLimitError);
    expect(error.code).toBe('429/4545');
    expect(error.retryAfterSeconds).toBe(3);
  });

  it('reads an unexpected wrapper key too', () => {
    const error = mapAnswerError(
      answer(431, {
        somethingresponse: { errorcode: 431, cserrorcode: 4350, errortext: 'entity does not exist' },
      }),
      request,
    );
    expect(error).toBeInstanceOf(ProviderNotFoundError);
    expect(error.code).toBe('431/4350');
  });

  it('falls back on the HTTP status for a body that is not CloudStack JSON', () => {
    const error = mapAnswerError(
      { status: 502, headers: {}, body: undefined, text: '<html>Bad Gateway</html>' },
      request,
    );
    expect(error).toBeInstanceOf(ProviderTransientError);
    expect(error.status).toBe(502);
  });
});
