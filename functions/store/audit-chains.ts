import { createHash } from 'node:crypto';
import type { JsonValue, Trigger } from './schemas.ts';

/**
 * How the audit table is laid out, in one place (see docs/data-model.md):
 *   - `<jobId>`: the job's ROOT chain — events with no instance, and one `link` note per
 *     sub-chain the job uses (the tamper-evident list of its sub-chains);
 *   - `<jobId>#<k>`: sub-chain k (0 ≤ k < SUB_CHAINS) — events about instances. Each writing
 *     process appends to its own LANE (a sub-chain it picks at random, and leaves for another when
 *     it meets another writer there), so concurrent writers of one job rarely share a chain head.
 *     Measured (`npm run bench -- store`): spreading by instance hash left 40 concurrent writers
 *     conflicting on about half their appends; lanes cut that to a fifth. An outcome goes to its
 *     intent's chain, or (another writer holds it) to its writer's lane naming `intentChain`;
 *     `byInstance` reads the instance index, whatever the chain;
 *   - `~checkpoint`: the signed checkpoints, seq 0, 1, 2, …;
 *   - `~changed#<hour>`: markers "this job's chains changed in this hour", for the periodic checkpoint.
 * Job ids never contain `#` or `~` (schemas.ts `identifier`), so none of these can collide.
 */

export const GENESIS_HASH = '0'.repeat(64);
/** Sub-chains per job: more than the act Map's 40 concurrent writers, so each can have its own. */
export const SUB_CHAINS = 64;
export const CHECKPOINT_CHAIN = '~checkpoint';
export const MARKER_PREFIX = '~changed#';
/** The root-chain note that links a sub-chain to its job. */
export const LINK_ACTION = 'link';

export const AUDIT_KINDS = ['intent', 'outcome', 'note'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export interface AuditEvent {
  chain: string;
  seq: number;
  /** intent: before a provider mutation; outcome: after it (points at its intent); note: anything else. */
  kind: AuditKind;
  jobId: string;
  trigger: Trigger;
  provider?: string;
  account?: string;
  location?: string;
  instanceId?: string;
  action: string;
  /** Redacted. */
  parameters?: JsonValue;
  /** Redacted. */
  result?: JsonValue;
  providerRequestId?: string;
  /** On an outcome: the seq of the intent it closes… */
  intentSeq?: number;
  /** …in this chain, or in `intentChain` when the outcome had to go elsewhere (a contended lane). */
  intentChain?: string;
  at: string;
  prevHash: string;
  /** The chain key that made `hash`; absent on events written before chains were keyed. */
  keyId?: string;
  hash: string;
}

/** Every chain a job may use: its root, then its sub-chains. */
export function chainsForJob(jobId: string): string[] {
  return [jobId, ...Array.from({ length: SUB_CHAINS }, (_, k) => `${jobId}#${k}`)];
}

/** The job (or chain group, e.g. `overrides`) a chain belongs to. */
export function jobOfChain(chain: string): string {
  const hash = chain.indexOf('#');
  return hash === -1 ? chain : chain.slice(0, hash);
}

/** Checkpoints and markers: items of the audit table that are not events. */
export function isInternalChain(chain: string): boolean {
  return chain.startsWith('~');
}

/** A marker's partition for the hour of `at` (an ISO timestamp). */
export function markerPartition(at: string): string {
  return `${MARKER_PREFIX}${at.slice(0, 13)}`;
}

/** A marker's sort key: a job id as a 52-bit number (markers need a numeric `seq`). */
export function markerSeq(jobId: string): number {
  return Number.parseInt(createHash('sha256').update(jobId).digest('hex').slice(0, 13), 16);
}

/** An intent with no outcome: in flight, or a crash between the provider call and its outcome. */
export interface PendingIntent {
  chain: string;
  seq: number;
  action: string;
  instanceId?: string;
  provider?: string;
  at: string;
}

/**
 * Intents and the outcomes that close them, gathered over any number of a job's chains in any
 * order (an outcome may sit in another chain than its intent); `open()` is what is left.
 */
export class IntentTracker {
  readonly #intents = new Map<string, PendingIntent>();
  readonly #closed = new Set<string>();

  add(event: Record<string, unknown>): void {
    const e = event as unknown as AuditEvent;
    if (e.kind === 'intent') {
      this.#intents.set(`${e.chain}#${e.seq}`, {
        chain: e.chain,
        seq: e.seq,
        action: e.action,
        at: e.at,
        ...(e.instanceId ? { instanceId: e.instanceId } : {}),
        ...(e.provider ? { provider: e.provider } : {}),
      });
    } else if (e.kind === 'outcome' && e.intentSeq !== undefined) {
      this.#closed.add(`${e.intentChain ?? e.chain}#${e.intentSeq}`);
    }
  }

  /** Intents no outcome closed, oldest first. */
  open(): PendingIntent[] {
    return [...this.#intents]
      .filter(([key]) => !this.#closed.has(key))
      .map(([, intent]) => intent)
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  }
}
