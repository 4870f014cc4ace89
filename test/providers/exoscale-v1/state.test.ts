import { describe, expect, it } from 'vitest';
import {
  CAPABILITIES,
  csDateToIso,
  mapState,
  STATE_MAP,
} from '../../../functions/providers/exoscale-v1/client.ts';
import { responseKey } from '../../../functions/providers/exoscale-v1/schemas.ts';
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
