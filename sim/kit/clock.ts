/**
 * Timed state transitions (starting → running after transitionMs…), applied lazily: due
 * transitions run at the start of each request, so no timer keeps a test process alive.
 */
export class Timeline {
  private entries: Array<{ at: number; apply: () => void }> = [];

  /** Runs `apply` once `afterMs` has passed. */
  later(afterMs: number, apply: () => void): void {
    this.entries.push({ at: Date.now() + afterMs, apply });
    this.entries.sort((a, b) => a.at - b.at);
  }

  /** Applies every due transition, oldest first. */
  settle(now = Date.now()): void {
    while (this.entries.length && this.entries[0]!.at <= now) this.entries.shift()!.apply();
  }
}
