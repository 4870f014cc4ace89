/** A token bucket of `rps` tokens refilled continuously; 0 = no limit. */
export class TokenBucket {
  private tokens: number;
  private at = 0;

  constructor(private readonly rps: number) {
    this.tokens = rps;
  }

  /** Takes one token; false when the caller should be answered 429. */
  take(now = Date.now()): boolean {
    if (!this.rps) return true;
    this.tokens = Math.min(this.rps, this.tokens + ((now - this.at) / 1000) * this.rps);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
