import { describe, expect, it } from 'vitest';
import { parseRetryAfter, RetryBudget, RetryPolicy } from '../../../functions/providers/http/retry.ts';

const policy = (opts = {}) =>
  new RetryPolicy({ random: () => 0.5, baseDelayMs: 100, maxDelayMs: 1_000, ...opts });

describe('RetryPolicy', () => {
  it('retries 429 for any method and honours Retry-After', () => {
    const d = policy().decide(
      1,
      { kind: 'status', status: 429, retryAfterMs: 2_000, transient: true },
      false,
    );
    expect(d).toMatchObject({ retry: true, delayMs: 2_000 });
  });

  it('leaves a Retry-After beyond the cap to the caller', () => {
    const d = policy({ retryAfterCapMs: 5_000 }).decide(
      1,
      { kind: 'status', status: 429, retryAfterMs: 60_000, transient: true },
      true,
    );
    expect(d.retry).toBe(false);
    expect(d.reason).toMatch(/exceeds the cap/);
  });

  it('retries 502/504 only for idempotent requests', () => {
    expect(policy().decide(1, { kind: 'status', status: 502, transient: true }, true).retry).toBe(true);
    expect(policy().decide(1, { kind: 'status', status: 504, transient: true }, false).retry).toBe(false);
    expect(policy().decide(1, { kind: 'status', status: 503, transient: true }, false).retry).toBe(true);
  });

  it('retries provider-declared transient 4xx (a lock) but not ordinary 4xx', () => {
    expect(policy().decide(1, { kind: 'status', status: 409, transient: true }, false).retry).toBe(true);
    expect(policy().decide(1, { kind: 'status', status: 409, transient: false }, true).retry).toBe(false);
    expect(policy().decide(1, { kind: 'status', status: 400, transient: false }, true).retry).toBe(false);
    expect(policy().decide(1, { kind: 'status', status: 401, transient: false }, true).retry).toBe(false);
  });

  it('never repeats a create whose request may have been sent', () => {
    expect(policy().decide(1, { kind: 'network', maybeSent: true }, false).retry).toBe(false);
    expect(policy().decide(1, { kind: 'network', maybeSent: false }, false).retry).toBe(true);
    expect(policy().decide(1, { kind: 'network', maybeSent: true }, true).retry).toBe(true);
  });

  it('uses exponential backoff with full jitter, capped', () => {
    const p = new RetryPolicy({ random: () => 0.999, baseDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 10 });
    const delays = [1, 2, 3, 4, 5, 6].map(
      (a) => p.decide(a, { kind: 'status', status: 503, transient: true }, true).delayMs,
    );
    expect(delays).toEqual([99, 199, 399, 799, 999, 999]);
    const low = new RetryPolicy({ random: () => 0, baseDelayMs: 100 });
    expect(low.decide(3, { kind: 'status', status: 503, transient: true }, true).delayMs).toBe(0);
  });

  it('stops after maxAttempts', () => {
    expect(
      policy({ maxAttempts: 3 }).decide(3, { kind: 'status', status: 503, transient: true }, true).retry,
    ).toBe(false);
  });

  it('fails fast once the retry budget is spent, and refills on success', () => {
    const budget = new RetryBudget(10, 5, 10, 1);
    const p = policy({ budget, maxAttempts: 100 });
    expect(p.decide(1, { kind: 'status', status: 503, transient: true }, true).retry).toBe(true);
    expect(p.decide(1, { kind: 'status', status: 503, transient: true }, true).retry).toBe(true);
    const spent = p.decide(1, { kind: 'status', status: 503, transient: true }, true);
    expect(spent).toMatchObject({ retry: false, reason: 'retry budget spent' });
    for (let i = 0; i < 5; i++) p.succeeded();
    expect(p.decide(1, { kind: 'status', status: 503, transient: true }, true).retry).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds, HTTP-dates and retry-after-ms', () => {
    expect(parseRetryAfter({ 'retry-after': '3' })).toBe(3_000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).toBe(5_000);
    expect(parseRetryAfter({ 'retry-after-ms': '250' })).toBe(250);
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    expect(parseRetryAfter({})).toBeUndefined();
  });
});
