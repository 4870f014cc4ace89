import { describe, expect, it } from 'vitest';
import {
  awsCronExpression,
  desiredState,
  edgesBetween,
  nextEdge,
  runningMsBetween,
} from '../../functions/schedule/calendar.ts';

const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;
const zurich = {
  timezone: 'Europe/Zurich',
  periods: [{ days: [...weekdays], start: '08:00', stop: '18:00' }],
  holidays: [] as Array<string | { from: string; to: string; name?: string }>,
};
const iso = (e: { action: string; at: Date; suppressedBy?: string }) =>
  `${e.action} ${e.at.toISOString()}${e.suppressedBy ? ` (${e.suppressedBy})` : ''}`;

describe('schedule calendar', () => {
  it('puts 08:00 Zurich at 07:00Z in winter and 06:00Z after the spring DST change', () => {
    const edges = edgesBetween(zurich, new Date('2026-03-27T00:00:00Z'), new Date('2026-03-31T00:00:00Z'));
    expect(edges.map(iso)).toEqual([
      'start 2026-03-27T07:00:00.000Z',
      'stop 2026-03-27T17:00:00.000Z',
      'start 2026-03-30T06:00:00.000Z',
      'stop 2026-03-30T16:00:00.000Z',
    ]);
  });

  it('follows the autumn change in another timezone (Toronto)', () => {
    const toronto = { ...zurich, timezone: 'America/Toronto' };
    const edges = edgesBetween(
      toronto,
      new Date('2026-10-30T00:00:00Z'),
      new Date('2026-11-03T00:00:00Z'),
    ).filter((e) => e.action === 'start');
    expect(edges.map((e) => e.at.toISOString())).toEqual([
      '2026-10-30T12:00:00.000Z',
      '2026-11-02T13:00:00.000Z',
    ]);
  });

  it('an overnight period stops the next morning', () => {
    const nights = {
      timezone: 'UTC',
      periods: [{ days: ['fri' as const], start: '22:00', stop: '06:00' }],
      holidays: [],
    };
    expect(
      edgesBetween(nights, new Date('2026-03-06T00:00:00Z'), new Date('2026-03-08T00:00:00Z')).map(iso),
    ).toEqual(['start 2026-03-06T22:00:00.000Z', 'stop 2026-03-07T06:00:00.000Z']);
    expect(awsCronExpression(nights.periods[0]!, 'stop')).toBe('cron(0 6 ? * SAT *)');
    expect(awsCronExpression(zurich.periods[0]!, 'start')).toBe('cron(0 8 ? * MON,TUE,WED,THU,FRI *)');
  });

  it('holidays suppress start edges (by local date) and keep instances stopped all day', () => {
    const s = {
      ...zurich,
      holidays: ['2026-12-25', { from: '2026-12-28', to: '2026-12-29', name: 'freeze' }],
    };
    const edges = edgesBetween(s, new Date('2026-12-24T00:00:00Z'), new Date('2026-12-30T00:00:00Z')).filter(
      (e) => e.action === 'start',
    );
    expect(edges.map((e) => `${e.localDate} ${e.suppressedBy ?? '-'}`)).toEqual([
      '2026-12-24 -',
      '2026-12-25 2026-12-25',
      '2026-12-28 freeze',
      '2026-12-29 freeze',
    ]);
    expect(desiredState(s, new Date('2026-12-25T10:00:00Z'))).toBe('stopped');
    expect(desiredState(s, new Date('2026-12-24T10:00:00Z'))).toBe('running');
    expect(nextEdge(s, 'start', new Date('2026-12-24T10:00:00Z'))!.at.toISOString()).toBe(
      '2026-12-30T07:00:00.000Z',
    );
  });

  it('desired state and running hours over a week', () => {
    expect(desiredState(zurich, new Date('2026-03-28T12:00:00Z'))).toBe('stopped'); // Saturday
    expect(desiredState(zurich, new Date('2026-03-27T12:00:00Z'))).toBe('running');
    const week = runningMsBetween(zurich, new Date('2026-01-05T00:00:00Z'), new Date('2026-01-12T00:00:00Z'));
    expect(week / 3_600_000).toBe(50);
  });
});
