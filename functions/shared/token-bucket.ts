/**
 * A token bucket refilled continuously at `rate` tokens a second, holding at most `capacity`
 * (one second's worth by default); a rate of 0 means no limit. The simulators answer 429 when
 * `take` fails; the providers' client pacing waits `waitMs` for the next token.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly rate: number,
    readonly capacity = rate,
    now = Date.now(),
  ) {
    this.tokens = capacity;
    this.at = now;
  }

  /** Takes one token; false when there is none now. */
  take(now = Date.now()): boolean {
    if (!this.rate) return true;
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is there (0 when one is). */
  waitMs(now = Date.now()): number {
    if (!this.rate) return 0;
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }
}
