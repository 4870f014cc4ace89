import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../functions/config/load.ts';
import { type Candidate, decide } from '../../functions/schedule/plan.ts';
import { previewPlan } from '../../functions/schedule/preview.ts';
import { snoozeEffect } from '../../functions/schedule/snooze.ts';
import {
  stopToWarn,
  warnAwsCronExpression,
  warnCronPattern,
  warnGroups,
  warningTimes,
} from '../../functions/schedule/warn.ts';
import { decodeSnoozeKey, generateSnoozeKey } from '../../functions/schedule/warn-key.ts';
import { warningNotice } from '../../functions/schedule/warn-notice.ts';
import type { WarningRecord } from '../../functions/schedule/warn-store.ts';
import { SnoozeTokenError, signSnoozeToken, verifySnoozeToken } from '../../functions/schedule/warn-token.ts';

/**
 * The pieces of a warning, without a server: when it goes out (the stop minus `warn`, across
 * midnight), what the config accepts, the signed token (every field bound, rotation, expiry), what
 * each choice does, and the notice in its shapes (webhook data, email text, Slack buttons, SNS).
 */

const schedule = (extra: Record<string, unknown> = {}) =>
  validateConfig({
    accounts: [{ provider: 'exoscale', locations: ['ch-gva-2'] }],
    schedules: {
      office: {
        timezone: 'Europe/Zurich',
        periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', stop: '18:00' }],
        targets: [{ provider: 'exoscale', labels: { app: 'shop' } }],
        warn: '30m',
        ...extra,
      },
    },
  });

describe('when a warning goes out', () => {
  it('is the stop minus warn, on the day before when it crosses midnight', () => {
    const period = { days: ['mon', 'fri'] as ('mon' | 'fri')[], start: '20:00', stop: '00:15' };
    // The overnight stop falls on tue and sat; 45 minutes earlier is 23:30 on mon and fri.
    expect(warnCronPattern(period, 45 * 60)).toBe('30 23 * * 1,5');
    expect(warnAwsCronExpression(period, 45 * 60)).toBe('cron(30 23 ? * MON,FRI *)');
    expect(warnCronPattern({ days: ['sun'], start: '08:00', stop: '18:00' }, 30 * 60)).toBe('30 17 * * 0');
  });

  it('finds the stop it warns about, and none for a stray trigger', () => {
    const s = schedule().schedules.office!;
    // Monday 2026-12-07, 17:30 in Zurich (16:30Z): the 18:00 stop.
    expect(stopToWarn(s, new Date('2026-12-07T16:30:00Z'))?.toISOString()).toBe('2026-12-07T17:00:00.000Z');
    // A late delivery still finds it; at noon there is nothing to warn about.
    expect(stopToWarn(s, new Date('2026-12-07T16:38:00Z'))?.toISOString()).toBe('2026-12-07T17:00:00.000Z');
    expect(stopToWarn(s, new Date('2026-12-07T11:00:00Z'))).toBeUndefined();
  });

  it('lists the upcoming warnings of a span (the plan preview)', () => {
    const s = schedule().schedules.office!;
    const times = warningTimes(s, new Date('2026-12-07T00:00:00Z'), new Date('2026-12-09T00:00:00Z'));
    expect(times.map((t) => [t.warnAt.toISOString(), t.stopAt.toISOString()])).toEqual([
      ['2026-12-07T16:30:00.000Z', '2026-12-07T17:00:00.000Z'],
      ['2026-12-08T16:30:00.000Z', '2026-12-08T17:00:00.000Z'],
    ]);
  });
});

describe('the warn setting', () => {
  it('takes a duration or the long form, and refuses what cannot be a warning', () => {
    expect(schedule().schedules.office!.warn).toEqual({ before: '30m', ownerLabel: 'owner' });
    expect(
      schedule({
        warn: { before: '2h', ownerLabel: 'team', notifications: [{ type: 'slack', urlEnv: 'SLACK_URL' }] },
      }).schedules.office!.warn,
    ).toMatchObject({ before: '2h', ownerLabel: 'team' });
    for (const bad of ['30s', '25h', 'soon', { before: '30m', cc: 'x' }])
      expect(() => schedule({ warn: bad }), JSON.stringify(bad)).toThrow(ConfigError);
  });
});

describe('snooze tokens', () => {
  const key = decodeSnoozeKey(generateSnoozeKey());
  const claims = {
    k: 's' as const,
    n: 'office',
    e: 1_900_000_000,
    c: '2h' as const,
    g: 'all',
    x: 1_900_000_000,
  };
  const now = 1_800_000_000_000;

  it('round-trip with the key, and carry a fresh nonce each time', () => {
    const a = signSnoozeToken(claims, [key]);
    expect(verifySnoozeToken(a, [key], now)).toMatchObject({ ...claims, v: 1 });
    expect(signSnoozeToken(claims, [key])).not.toBe(a);
  });

  it('bind every field: changing any one of them breaks the signature', () => {
    const token = signSnoozeToken({ ...claims, o: 'alice@example.com' }, [key]);
    const [payload, signature] = token.split('.') as [string, string];
    const original = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    for (const [field, value] of Object.entries({
      n: 'nightly',
      e: claims.e + 60,
      c: 'tomorrow',
      g: 'o-1',
      o: 'mallory',
      x: claims.x + 86_400,
    })) {
      const forged = `${Buffer.from(JSON.stringify({ ...original, [field]: value })).toString('base64url')}.${signature}`;
      expect(() => verifySnoozeToken(forged, [key], now), field).toThrow(
        expect.objectContaining({ problem: 'bad-signature' }),
      );
    }
  });

  it('have one spelling: a signature with its spare bits set is refused', () => {
    const token = signSnoozeToken(claims, [key]);
    const last = token.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 32 bytes in 43 characters: the last one carries 2 spare bits, which flipping 1 sets.
    const twin = token.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
    expect(Buffer.from(twin.split('.')[1]!, 'base64url')).toEqual(
      Buffer.from(token.split('.')[1]!, 'base64url'),
    );
    expect(() => verifySnoozeToken(twin, [key], now)).toThrow(
      expect.objectContaining({ problem: 'bad-signature' }),
    );
  });

  it('are refused when signed by another key, expired, or not a token at all', () => {
    const other = decodeSnoozeKey(generateSnoozeKey());
    expect(() => verifySnoozeToken(signSnoozeToken(claims, [other]), [key], now)).toThrow(SnoozeTokenError);
    const expired = signSnoozeToken({ ...claims, x: Math.floor(now / 1000) }, [key]);
    expect(() => verifySnoozeToken(expired, [key], now)).toThrow(
      expect.objectContaining({ problem: 'expired' }),
    );
    for (const junk of ['', 'abc', 'a.b', `${'x'.repeat(2000)}.${'y'.repeat(43)}`])
      expect(() => verifySnoozeToken(junk, [key], now)).toThrow(
        expect.objectContaining({ problem: 'malformed' }),
      );
  });

  it('keep working through a key rotation: the new key signs, the old one still verifies', () => {
    const fresh = decodeSnoozeKey(generateSnoozeKey());
    const old = signSnoozeToken(claims, [key]);
    expect(verifySnoozeToken(old, [fresh, key], now).c).toBe('2h');
    expect(verifySnoozeToken(signSnoozeToken(claims, [fresh, key]), [fresh], now).c).toBe('2h');
  });

  it('keys are long enough, or refused', () => {
    expect(() => decodeSnoozeKey('snk_short')).toThrow(/32 bytes/);
    expect(decodeSnoozeKey(randomBytes(48).toString('base64url')).length).toBeGreaterThanOrEqual(32);
  });
});

const record = (extra: Partial<WarningRecord> = {}): WarningRecord => ({
  kind: 's',
  name: 'office',
  stopAt: Date.parse('2026-12-04T17:00:00Z') / 1000,
  group: 'o-abc',
  owner: 'alice@example.com',
  instances: [
    { provider: 'exoscale', account: 'default', location: 'ch-gva-2', instanceId: 'i-1', name: 'web-1' },
    { provider: 'exoscale', account: 'default', location: 'ch-gva-2', instanceId: 'i-2', name: 'web-2' },
  ],
  timezone: 'Europe/Zurich',
  nextStopAt: Date.parse('2026-12-07T17:00:00Z') / 1000,
  afterOverride: 'next-stop',
  sent: false,
  createdAt: '2026-12-04T16:30:00Z',
  ...extra,
});

describe('what each choice does', () => {
  it('keeps running past the stop, until the next stop, or skips this stop', () => {
    expect(snoozeEffect(record(), '1h')).toMatchObject({
      kind: 'keep-running',
      until: new Date('2026-12-04T18:00:00Z'),
      label: 'Keep running 1 hour more',
      after:
        'They keep running until Fri 4 Dec, 19:00; after that they stay up until the next stop (Mon 7 Dec, 18:00) unless someone stops them.',
    });
    expect(snoozeEffect(record({ afterOverride: 'hourly-check' }), '2h').after).toBe(
      "They keep running until Fri 4 Dec, 20:00; after that the schedule's hourly check stops them.",
    );
    expect(snoozeEffect(record(), 'tomorrow')).toMatchObject({
      kind: 'keep-running',
      until: new Date('2026-12-07T17:00:00Z'),
      label: 'Keep running until the next stop (Mon 7 Dec, 18:00)',
    });
    expect(snoozeEffect(record(), 'skip')).toMatchObject({
      kind: 'skip-next',
      until: new Date('2026-12-04T18:00:00Z'),
      label: 'Skip the Fri 4 Dec, 18:00 stop',
    });
  });
});

describe('the notice', () => {
  const links = (['1h', '2h', 'tomorrow', 'skip'] as const).map((choice) => ({
    choice,
    label: snoozeEffect(record(), choice).label,
    url: `https://api.example.com/snooze?t=token-${choice}`,
    until: snoozeEffect(record(), choice).until.toISOString(),
  }));
  const notice = warningNotice(record(), links, Date.parse('2026-12-04T16:30:00Z'));

  it('is one schedule.warning event with a stable id, the links, and an email', () => {
    expect(notice.type).toBe('schedule.warning');
    expect(warningNotice(record(), links).id).toBe(notice.id);
    expect(notice.summary).toBe(
      'fleetflow: schedule office stops 2 instances at Fri 4 Dec, 18:00 (Europe/Zurich) (for alice@example.com)',
    );
    expect(notice.data).toMatchObject({
      schedule: 'office',
      owner: 'alice@example.com',
      stopAt: '2026-12-04T17:00:00.000Z',
      linksExpireAt: '2026-12-04T17:00:00.000Z',
      email: { to: 'alice@example.com' },
    });
    expect(notice.text).toContain(
      'will stop your instances at Fri 4 Dec, 18:00 (Europe/Zurich), in 30 minutes:',
    );
    expect(notice.text).toContain('- web-1 (exoscale ch-gva-2, i-1)');
    expect(notice.text).toContain('Keep running 2 hours more: https://api.example.com/snooze?t=token-2h');
    // SNS subscribers can filter on the owner.
    expect(notice.attributes).toEqual({ owner: 'alice@example.com' });
  });

  it('gives Slack one button per choice, each opening its link and carrying its token', () => {
    const actions = (
      notice.slackBlocks as Array<{ type: string; elements?: Array<Record<string, unknown>> }>
    ).find((b) => b.type === 'actions')!;
    expect(actions.elements!.map((e) => [e.action_id, e.url, e.value])).toEqual(
      links.map((l) => [`fleetflow_snooze_${l.choice}`, l.url, `token-${l.choice}`]),
    );
  });
});

describe('the plan preview', () => {
  it('shows when owners are warned before each stop', async () => {
    const config = schedule();
    const preview = await previewPlan({
      config,
      days: 2,
      now: new Date('2026-12-07T00:00:00Z'),
      overrides: [],
      list: async () => [
        {
          id: 'i-1',
          name: 'web-1',
          provider: 'exoscale',
          location: 'ch-gva-2',
          state: 'running',
          providerState: 'running',
          type: 'standard.small',
          labels: { app: 'shop', owner: 'alice@example.com' },
          ipv4: [],
          ipv6: [],
          extra: {},
        },
      ],
    });
    expect(preview.warnings).toEqual([
      {
        schedule: 'office',
        warnAt: '2026-12-07T16:30:00.000Z',
        stopAt: '2026-12-07T17:00:00.000Z',
        instances: 1,
      },
      {
        schedule: 'office',
        warnAt: '2026-12-08T16:30:00.000Z',
        stopAt: '2026-12-08T17:00:00.000Z',
        instances: 1,
      },
    ]);
    expect(preview.instances[0]!.events.find((e) => e.action === 'stop')).toMatchObject({
      warnAt: '2026-12-07T16:30:00.000Z',
    });
  });

  it('groups the instances a stop will act on by owner, the unowned together', () => {
    const config = schedule();
    const instance = (id: string, owner?: string): Candidate => ({
      target: { provider: 'exoscale' as const, account: 'default', location: 'ch-gva-2' },
      instance: {
        id,
        name: id,
        provider: 'exoscale' as const,
        location: 'ch-gva-2',
        state: 'running' as const,
        providerState: 'running',
        type: 'small',
        labels: owner ? { owner } : ({} as Record<string, string>),
        ipv4: [],
        ipv6: [],
        extra: {},
      },
    });
    const candidates = [
      instance('a', 'bob'),
      instance('b'),
      instance('c', 'bob'),
      { ...instance('d', 'eve'), instance: { ...instance('d', 'eve').instance, state: 'stopped' as const } },
    ];
    const plan = decide({
      config,
      schedule: 'office',
      action: 'stop',
      candidates,
      overrides: [],
      at: new Date('2026-12-07T17:00:00Z'),
    });
    const groups = warnGroups(plan, candidates, 'owner');
    expect(
      groups.map((g) => [
        g.owner ?? '-',
        g.key.startsWith(g.owner ? 'o-' : 'all'),
        g.instances.map((i) => i.name),
      ]),
    ).toEqual([
      ['-', true, ['b']],
      ['bob', true, ['a', 'c']],
    ]);
  });
});
