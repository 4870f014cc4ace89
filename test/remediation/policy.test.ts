import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { Instance } from '../../functions/providers/port.ts';
import { providerDefinition } from '../../functions/providers/registry.ts';
import { POLICY_ACTIONS, planActions, verifyExpectation } from '../../functions/remediation/actions/index.ts';
import { evaluateFilter, hasPublicIp } from '../../functions/remediation/filters/index.ts';
import { FILTERS } from '../../functions/remediation/filters/registry.ts';
import {
  capCount,
  type PolicyInput,
  parsePolicies,
  policySchema,
} from '../../functions/remediation/policy.ts';
import { policySetFrom } from '../../functions/remediation/source.ts';
import { remediationJobId, windowStart } from '../../functions/remediation/start.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');

function instance(overrides: Partial<Instance> = {}): Instance {
  return {
    id: 'i-1',
    name: 'web-01',
    provider: 'exoscale',
    location: 'ch-gva-2',
    state: 'running',
    providerState: 'running',
    type: 'standard.large',
    labels: { env: 'prod', team: 'web' },
    ipv4: ['185.19.29.1'],
    ipv6: [],
    createdAt: '2026-05-01T00:00:00Z',
    extra: {},
    ...overrides,
  };
}
const subject = (o: Partial<Instance> = {}) => ({ ...instance(o), account: 'default' });
const policy = (p: Partial<PolicyInput> & Pick<PolicyInput, 'actions'>) =>
  policySchema.parse({ name: 'p', mode: 'event', events: ['Instance Unhealthy'], ...p });
const caps = (provider: Parameters<typeof providerDefinition>[0]) =>
  providerDefinition(provider).capabilities;

describe('filters', () => {
  it.each([
    [{ provider: 'exoscale' }, true],
    [{ provider: ['gcore', 'cloudca'] }, false],
    [{ account: 'default' }, true],
    [{ location: 'de-fra-1' }, false],
    [{ name: 'web-*' }, true],
    [{ name: 'web-0?' }, true],
    [{ name: 'db-*' }, false],
    [{ name: '/^WEB-\\d+$/i' }, true],
    [{ labels: { env: 'prod' } }, true],
    [{ labels: { env: ['dev', 'staging'] } }, false],
    [{ labelPresent: 'team' }, true],
    [{ labelAbsent: 'owner' }, true],
    [{ labelAbsent: ['owner', 'team'] }, false],
    [{ state: ['running', 'error'] }, true],
    [{ type: 'standard.large' }, true],
    [{ olderThan: '7d' }, true],
    [{ olderThan: '60d' }, false],
    [{ newerThan: '60d' }, true],
    [{ publicIp: true }, true],
    [{ protected: false }, true],
    [{ protected: true }, false],
    [{}, true],
    [{ all: [{ state: 'running' }, { labels: { env: 'prod' } }] }, true],
    [{ all: [{ state: 'running' }, { labels: { env: 'dev' } }] }, false],
    [{ any: [{ state: 'stopped' }, { labels: { env: 'prod' } }] }, true],
    [{ not: { labels: { env: 'prod' } } }, false],
    [{ state: 'running', not: { any: [{ labelPresent: 'owner' }, { protected: true }] } }, true],
  ] as const)('%j → %s', (filter, expected) => {
    const parsed = policy({ actions: ['reboot'], filters: filter as never }).filters;
    const result = evaluateFilter(parsed, subject(), NOW);
    expect(result.match, result.reasons.join('\n')).toBe(expected);
  });

  it('says why, condition by condition', () => {
    const r = evaluateFilter({ state: 'stopped', labels: { env: 'prod' } }, subject(), NOW);
    expect(r.match).toBe(false);
    expect(r.reasons).toEqual(['✓ label env=prod in [prod]', '✗ state running in [stopped]']);
  });

  it('is three-valued on a partial subject: identity decides what it can, the rest is unknown', () => {
    const identity = { provider: 'exoscale' as const, account: 'default', location: 'ch-gva-2' };
    expect(evaluateFilter({ provider: 'gcore', state: 'running' }, identity).match).toBe(false);
    expect(evaluateFilter({ provider: 'exoscale', state: 'running' }, identity).match).toBeUndefined();
    expect(evaluateFilter({ any: [{ provider: 'exoscale' }, { state: 'error' }] }, identity).match).toBe(
      true,
    );
    expect(evaluateFilter({ not: { labels: { env: 'prod' } } }, identity).match).toBeUndefined();
  });

  it('an instance whose age is unknown matches neither olderThan nor newerThan', () => {
    const { createdAt: _c, ...noAge } = subject();
    expect(evaluateFilter({ olderThan: '1d' }, noAge, NOW).match).toBe(false);
    expect(evaluateFilter({ newerThan: '1d' }, noAge, NOW).match).toBe(false);
  });

  it('public IPs: private, CGNAT and link-local ranges do not count', () => {
    expect(
      hasPublicIp({
        ipv4: ['10.0.0.1', '192.168.1.2', '172.20.0.1', '100.64.1.1'],
        ipv6: ['fd00::1', 'fe80::1'],
      }),
    ).toBe(false);
    expect(hasPublicIp({ ipv4: ['10.0.0.1', '198.51.100.7'], ipv6: [] })).toBe(true);
    expect(hasPublicIp({ ipv4: [], ipv6: ['2a04:c44::1'] })).toBe(true);
  });
});

describe('policy schema', () => {
  it('is built from the registries: every filter and every action is in the JSON Schema', () => {
    const schema = z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' });
    const text = JSON.stringify(schema);
    for (const key of Object.keys(FILTERS)) expect(text).toContain(`"${key}":`);
    for (const name of POLICY_ACTIONS) expect(text).toContain(`"${name}"`);
    expect(() =>
      parsePolicies([{ name: 'p', mode: 'periodic', actions: ['reboot'], filters: { colour: 'red' } }]),
    ).toThrow(/filters/);
  });

  it('accepts the short and the long forms of actions and normalises them', () => {
    const p = policy({
      actions: [
        'reboot',
        { scale: { to: 'small' } },
        { 'set-labels': { a: 'b' } },
        { 'remove-labels': ['x'] },
        { notify: { message: 'hi' } },
        'protect',
      ],
    });
    expect(p.actions).toEqual([
      { action: 'reboot' },
      { action: 'scale', to: 'small' },
      { action: 'set-labels', labels: { a: 'b' } },
      { action: 'remove-labels', keys: ['x'] },
      { action: 'notify', message: 'hi' },
      { action: 'protect' },
    ]);
    // A parsed policy parses again to itself (it travels in execution inputs).
    expect(policySchema.parse(p)).toEqual(p);
    expect(p).toMatchObject({
      dryRun: false,
      maxTargets: 5,
      cooldown: '30m',
      dedupeWindow: '5m',
      filters: {},
    });
  });

  it.each([
    [{ actions: ['delete'] }, /actions\.0: delete needs a snapshot before it/],
    [{ actions: ['stop', 'delete', 'snapshot'] }, /actions\.1: delete needs a snapshot/],
    [{ events: undefined, actions: ['reboot'] }, /events: an event-mode policy names the events/],
    [{ maxTargets: '10%', actions: ['reboot'] }, /maxTargets: an event-mode policy caps with a count/],
    [{ cooldown: '30 minutes', actions: ['reboot'] }, /cooldown: a duration such as/],
    [{ actions: [{ scale: {} }] }, /actions\.0/],
    [{ actions: ['reboot'], filters: { name: '/[/' } }, /filters\.name: not a valid \/regular expression\//],
    [{ actions: ['reboot'], filters: { state: 'sleeping' } }, /filters\.state/],
    [{ actions: [] }, /actions/],
  ])('refuses %j with a reason that names the place', (p, message) => {
    expect(() => parsePolicies([{ name: 'p', mode: 'event', events: ['Instance Unhealthy'], ...p }])).toThrow(
      message,
    );
  });

  it('allows delete without a snapshot only when the policy says so', () => {
    expect(() => policy({ actions: ['delete'], allowDeleteWithoutSnapshot: true })).not.toThrow();
  });

  it('refuses two policies with one name', () => {
    const p = { name: 'same', mode: 'event', events: ['Instance Unhealthy'], actions: ['reboot'] };
    expect(() => parsePolicies([p, p])).toThrow(/policies\.1\.name: policy same is defined twice/);
  });

  it('reads policies and accounts from a config document, keeping each policy as written', () => {
    const doc = {
      accounts: [{ provider: 'gcore', locations: ['1/76'] }],
      policies: [{ name: 'sweep', mode: 'periodic', actions: ['reboot'] }],
    };
    const set = policySetFrom(doc);
    expect(set.accounts).toEqual([{ provider: 'gcore', account: 'default', locations: ['1/76'] }]);
    expect(set.policies[0]!.raw).toBe(doc.policies[0]);
    expect(set.policies[0]!.policy.every).toBe('1h');
  });
});

describe('plans', () => {
  it('a scale on a provider that needs a stopped instance becomes stop → scale → start', () => {
    const plan = planActions(
      policy({ actions: [{ scale: { to: 'standard.small' } }] }),
      instance(),
      caps('exoscale'),
    );
    expect(plan.steps.map((s) => `${s.name}:${s.action}`)).toEqual([
      '1-scale-stop:stop',
      '1-scale:scale',
      '1-scale-start:start',
    ]);
    expect(plan.expect).toEqual({ state: 'running', type: 'standard.small' });
    expect(plan.mutations).toBe(3);
  });

  it('a stopped instance is scaled and left stopped', () => {
    const plan = planActions(
      policy({ actions: [{ scale: { to: 'standard.small' } }] }),
      instance({ state: 'stopped' }),
      caps('exoscale'),
    );
    expect(plan.steps.map((s) => s.name)).toEqual(['1-scale']);
    expect(plan.expect).toEqual({ state: 'stopped', type: 'standard.small' });
  });

  it('a provider that scales running instances scales directly', () => {
    const plan = planActions(
      policy({ actions: [{ scale: { to: 'g1-standard-1-2' } }] }),
      instance({ provider: 'gcore', type: 'g1-standard-2-4' }),
      caps('gcore'),
    );
    expect(plan.steps.map((s) => `${s.name}:${s.kind}`)).toEqual(['1-scale:provider']);
  });

  it('what the provider cannot do is reported as a skip with the reason, never attempted', () => {
    const gc = planActions(
      policy({ actions: [{ scale: { to: 'x' } }, { 'set-labels': { a: 'b' } }, 'reboot'] }),
      instance({ provider: 'genesiscloud' }),
      caps('genesiscloud'),
    );
    expect(gc.steps.map((s) => [s.name, s.kind, s.reason?.split(':')[0]])).toEqual([
      ['1-scale', 'skip', 'genesiscloud cannot scale'],
      ['2-set-labels', 'skip', 'genesiscloud cannot set-labels'],
      ['3-reboot', 'provider', undefined],
    ]);
  });

  it('a delete is held back when the provider could not take the snapshot before it', () => {
    const plan = planActions(
      policy({ actions: ['snapshot', 'delete'] }),
      instance({ provider: 'cloudca' }),
      caps('cloudca'),
    );
    expect(plan.steps.map((s) => `${s.name}:${s.kind}`)).toEqual(['1-snapshot:skip', '2-delete:skip']);
    expect(plan.steps[1]!.reason).toMatch(/held back: no snapshot/);
    expect(plan.mutations).toBe(0);
  });

  it('skips what is already so, and what the simulated state no longer allows', () => {
    const plan = planActions(
      policy({
        actions: [
          'start',
          { 'set-labels': { env: 'prod' } },
          { 'remove-labels': ['owner'] },
          'stop',
          'reboot',
          'notify',
        ],
      }),
      instance(),
      caps('exoscale'),
    );
    expect(plan.steps.map((s) => `${s.name}:${s.kind}${s.reason ? `(${s.reason})` : ''}`)).toEqual([
      '1-start:skip(already running)',
      '2-set-labels:skip(labels already set)',
      '3-remove-labels:skip(labels already absent)',
      '4-stop:provider',
      '5-reboot:skip(reboot needs the instance running; it is stopped)',
      '6-notify:notify',
    ]);
    expect(plan.expect).toEqual({ state: 'stopped' });
  });

  it('snapshot then delete on a provider that can: both run, and the instance is expected gone', () => {
    const plan = planActions(
      policy({ actions: ['snapshot', 'delete', 'reboot'] }),
      instance(),
      caps('exoscale'),
    );
    expect(plan.steps.map((s) => `${s.name}:${s.kind}`)).toEqual([
      '1-snapshot:provider',
      '2-delete:provider',
      '3-reboot:skip',
    ]);
    expect(plan.expect).toEqual({ state: 'deleted' });
  });
});

describe('verification, caps and dedupe keys', () => {
  it('compares the instance with what the plan expects', () => {
    expect(verifyExpectation({ state: 'running', type: 'small' }, instance({ type: 'small' }))).toEqual([]);
    expect(verifyExpectation({ state: 'stopped', labels: { a: 'b', gone: null } }, instance())).toEqual([
      'state is running, expected stopped',
      'label a is (absent), expected b',
    ]);
    expect(verifyExpectation({ state: 'deleted' }, undefined)).toEqual([]);
    expect(verifyExpectation({ state: 'running' }, undefined)).toEqual([
      'the instance is gone, expected running',
    ]);
  });

  it('caps: a count, or a share of the instances in scope rounded down', () => {
    expect(capCount(3, 100)).toBe(3);
    expect(capCount('10%', 25)).toBe(2);
    expect(capCount('0%', 25)).toBe(0);
  });

  it('one job id per policy, instance and window', () => {
    const target = { provider: 'exoscale' as const, account: 'default', location: 'ch-gva-2' };
    const w = windowStart(300, NOW);
    expect(w % 300).toBe(0);
    expect(NOW / 1000 - w).toBeGreaterThanOrEqual(0);
    expect(NOW / 1000 - w).toBeLessThan(300);
    expect(windowStart(300, w * 1000 + 299_000)).toBe(w);
    expect(windowStart(300, w * 1000 + 300_000)).toBe(w + 300);
    const a = remediationJobId('p', target, 'i-1', w);
    expect(a).toMatch(/^rem-[0-9a-f]{40}$/);
    expect(remediationJobId('p', target, 'i-1', w)).toBe(a);
    expect(remediationJobId('p', target, 'i-2', w)).not.toBe(a);
    expect(remediationJobId('q', target, 'i-1', w)).not.toBe(a);
    expect(remediationJobId('p', target, 'i-1', w + 300)).not.toBe(a);
  });
});
