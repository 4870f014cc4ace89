import { describe, expect, it } from 'vitest';
import { mapState, STATE_MAP } from '../../../functions/providers/cloudca/client.ts';
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
