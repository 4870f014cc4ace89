import { describe, expect, it } from 'vitest';
import { nextLook, VERIFY_WAIT } from '../../functions/schedule/verify.ts';

const at = (ms: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, 0) + ms).toISOString();

describe('when a group looks again', () => {
  it('after the first look, waits the span of the pending instances’ act times, to the millisecond', () => {
    // Acts 0.1 s to 2.0 s before the first look are still on their way: the last needs ~1.9 s more.
    expect(nextLook({ tick: 0, actedAt: [at(100), at(1200), at(2000)] })).toEqual({
      waitSeconds: 1,
      restMs: 900,
    });
    expect(nextLook({ tick: 0, actedAt: [at(0), at(7_400)] })).toEqual({ waitSeconds: 7, restMs: 400 });
  });

  it('counts the time since the listing as waited', () => {
    expect(nextLook({ tick: 0, actedAt: [at(0), at(7_400)], sinceLookMs: 1_500 })).toEqual({
      waitSeconds: 5,
      restMs: 900,
    });
    expect(nextLook({ tick: 0, actedAt: [at(0), at(900)], sinceLookMs: 5_000 })).toEqual({
      waitSeconds: VERIFY_WAIT.min,
      restMs: 0,
    });
  });

  it('divides a real-time wait by the engine’s time scale; the rest stays real milliseconds', () => {
    // 1.9 s of real time is 7 Wait-seconds of 0.25 s and 150 ms more.
    expect(nextLook({ tick: 0, actedAt: [at(100), at(2000)], scale: 0.25 })).toEqual({
      waitSeconds: 7,
      restMs: 150,
    });
  });

  it('keeps the first wait between the shortest and the longest', () => {
    expect(nextLook({ tick: 0, actedAt: [at(500), at(500)] })).toEqual({
      waitSeconds: VERIFY_WAIT.min,
      restMs: 0,
    });
    expect(nextLook({ tick: 0, actedAt: [at(0), at(600_000)] })).toEqual({
      waitSeconds: VERIFY_WAIT.max,
      restMs: 0,
    });
  });

  it('without act times (none recorded, or unreadable) starts from the shortest wait', () => {
    expect(nextLook({ tick: 0, actedAt: [] })).toEqual({ waitSeconds: VERIFY_WAIT.min, restMs: 0 });
    expect(nextLook({ tick: 0, actedAt: [undefined, 'not a time'] }).waitSeconds).toBe(VERIFY_WAIT.min);
  });

  it('backs off ×1.5 in whole seconds from the shortest wait on later looks, up to the longest', () => {
    const looks = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12].map((tick) =>
      nextLook({ tick, actedAt: [at(0), at(9_000)] }),
    );
    expect(looks.map((l) => l.waitSeconds)).toEqual([1, 2, 2, 3, 5, 8, 11, 17, 20, 20]);
    expect(looks.every((l) => l.restMs === 0)).toBe(true);
  });
});
