import { describe, expect, it } from 'vitest';
import { VERIFY_WAIT, verifyWaitSeconds } from '../../functions/schedule/verify.ts';

const at = (ms: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, 0) + ms).toISOString();

describe('the wait before a group is looked at again', () => {
  it('after the first look, waits the span of the pending instances’ act times', () => {
    // Acts 0.1 s to 2.0 s before the first look are still on their way: the last needs ~1.9 s more.
    expect(verifyWaitSeconds({ tick: 0, actedAt: [at(100), at(1200), at(2000)] })).toBe(2);
    expect(verifyWaitSeconds({ tick: 0, actedAt: [at(0), at(7_400)] })).toBe(8);
  });

  it('counts the time since the listing as waited', () => {
    expect(verifyWaitSeconds({ tick: 0, actedAt: [at(0), at(7_400)], sinceLookMs: 1_500 })).toBe(6);
    expect(verifyWaitSeconds({ tick: 0, actedAt: [at(0), at(900)], sinceLookMs: 5_000 })).toBe(
      VERIFY_WAIT.min,
    );
  });

  it('divides a real-time wait by the engine’s time scale', () => {
    // 1.9 s of real time is 8 Wait-seconds when every Wait lasts a quarter of its seconds.
    expect(verifyWaitSeconds({ tick: 0, actedAt: [at(100), at(2000)], scale: 0.25 })).toBe(8);
  });

  it('keeps the first wait between the shortest and the longest', () => {
    expect(verifyWaitSeconds({ tick: 0, actedAt: [at(500), at(500)] })).toBe(VERIFY_WAIT.min);
    expect(verifyWaitSeconds({ tick: 0, actedAt: [at(0), at(600_000)] })).toBe(VERIFY_WAIT.max);
  });

  it('without act times (none recorded, or unreadable) starts from the shortest wait', () => {
    expect(verifyWaitSeconds({ tick: 0, actedAt: [] })).toBe(VERIFY_WAIT.min);
    expect(verifyWaitSeconds({ tick: 0, actedAt: [undefined, 'not a time'] })).toBe(VERIFY_WAIT.min);
  });

  it('backs off ×1.5 from the shortest wait on later looks, up to the longest', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12].map((tick) =>
      verifyWaitSeconds({ tick, actedAt: [at(0), at(9_000)] }),
    );
    expect(waits).toEqual([1, 2, 2, 3, 5, 8, 11, 17, 20, 20]);
  });
});
