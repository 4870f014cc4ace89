import { describe, expect, it } from 'vitest';
import { mapState, STATE_MAP } from '../../../functions/providers/genesiscloud/client.ts';
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
