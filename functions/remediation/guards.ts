import type { Target } from '../runtime/accounts.ts';
import { IdempotencyInProgressError } from '../store/errors.ts';
import type { Idempotency } from '../store/idempotency.ts';

/**
 * Cooldown and the event-mode cap, both on the idempotency table: a record claimed with a
 * conditional put and kept for as long as it should block (the table's expiry is enforced by the
 * condition, not by TTL). Claims are atomic, so two racing remediations cannot both pass.
 */

const HASH = 'remediation-guard';
const CLAIM_MS = 60_000;

export interface Holder {
  jobId: string;
  at: string;
}

export type Claim = { granted: true } | { granted: false; holder?: Holder };

/** A claim begun but not yet kept: `keep()` makes it block for its time, `release()` gives it back. */
export type PendingClaim =
  | { granted: true; keep(): Promise<void>; release(): Promise<void> }
  | { granted: false; holder?: Holder };

async function begin(store: Idempotency, key: string, jobId: string, seconds: number): Promise<PendingClaim> {
  const done = { granted: true as const, keep: async () => {}, release: async () => {} };
  try {
    const begun = await store.begin<Holder>(key, HASH, { expiresInSeconds: seconds, inProgressMs: CLAIM_MS });
    // A retried task finds its own claim: still granted.
    if (begun.state === 'replay')
      return begun.result?.jobId === jobId ? done : { granted: false, holder: begun.result };
  } catch (error) {
    if (error instanceof IdempotencyInProgressError) return { granted: false };
    throw error;
  }
  return {
    granted: true,
    keep: () =>
      store.complete(key, { jobId, at: new Date().toISOString() } satisfies Holder, {
        expiresInSeconds: seconds,
      }),
    release: () => store.fail(key),
  };
}

async function claim(store: Idempotency, key: string, jobId: string, seconds: number): Promise<Claim> {
  const pending = await begin(store, key, jobId, seconds);
  if (!pending.granted) return pending;
  await pending.keep();
  return { granted: true };
}

export function cooldownKey(policy: string, target: Target, instanceId: string): string {
  return `cooldown:${policy}:${target.provider}:${target.account}:${target.location}:${instanceId}`;
}

/**
 * Begins claiming the instance for this policy for `seconds`; refused while an earlier remediation
 * holds it. The caller keeps the claim once it will act, or releases it (e.g. over the cap).
 */
export function beginCooldown(
  store: Idempotency,
  policy: string,
  target: Target,
  instanceId: string,
  jobId: string,
  seconds: number,
): Promise<PendingClaim> {
  return begin(store, cooldownKey(policy, target, instanceId), jobId, Math.max(1, seconds));
}

/**
 * Event mode's cap: at most `max` remediations per policy per clock hour, as `max` slots; the
 * first free one is taken. `max` is small (a cap), so the walk is short.
 */
export async function claimHourlySlot(
  store: Idempotency,
  policy: string,
  jobId: string,
  max: number,
  now = Date.now(),
): Promise<Claim> {
  const hour = Math.floor(now / 3_600_000);
  for (let i = 0; i < max; i++) {
    const got = await claim(store, `cap:${policy}:${hour}:${i}`, jobId, 3600);
    if (got.granted) return got;
  }
  return { granted: false };
}
