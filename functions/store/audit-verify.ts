import { GENESIS_HASH, IntentTracker, jobOfChain, LINK_ACTION, type PendingIntent } from './audit-chains.ts';
import {
  CHECKPOINT_INTERVAL_MS,
  type Checkpoint,
  type CheckpointReason,
  type Checkpoints,
  CLOCK_SKEW_MS,
  checkpointProblem,
} from './audit-checkpoints.ts';
import { type AuditKeyring, sameDigest } from './audit-keys.ts';
import { sha256Canonical } from './canonical-json.ts';
import { StoreValidationError } from './errors.ts';
import type { Job } from './jobs.ts';

/**
 * `verify`: every chain in scope against the keys, its own links, its job's root chain and the
 * signed checkpoints; every problem of every chain is reported (never only the first), and each
 * chain says when a checkpoint last vouched for it.
 *
 * What each reason proves:
 *   - altered:       an event's content no longer matches its keyed hash (or its plain hash, for
 *                    events written before keying);
 *   - unknown-key:   a hash made with a key the verifier does not hold (forged under another key);
 *   - unkeyed:       an unkeyed event where only keyed ones may be (a plain SHA-256 recomputed);
 *   - missing:       a gap in `seq`;
 *   - broken-link:   `prevHash` does not match the event before (removed, replaced or reordered);
 *   - rewritten:     a checkpoint (or the job's link) recorded another hash at this seq;
 *   - truncated:     a checkpoint recorded events past the chain's end: its newest events are gone;
 *   - deleted-chain: a checkpoint or the job's root chain names a chain that holds no events;
 *   - checkpoint:    a checkpoint is altered, missing from the sequence, or newer ones are gone;
 *   - job-without-chain: a job's record shows provider actions, but it has no audit chain at all.
 */

export type BrokenReason =
  | 'altered'
  | 'unknown-key'
  | 'unkeyed'
  | 'missing'
  | 'broken-link'
  | 'rewritten'
  | 'truncated'
  | 'deleted-chain'
  | 'checkpoint'
  | 'job-without-chain';

export interface BrokenLink {
  chain: string;
  seq: number;
  reason: BrokenReason;
  detail: string;
}

export type WarningReason = 'predates-keying' | 'unlinked' | 'not-checkpointed' | 'no-checkpoint';

export interface VerifyWarning {
  chain?: string;
  reason: WarningReason;
  detail: string;
}

export interface ChainReport {
  chain: string;
  /** Events read (up to the first broken link). */
  events: number;
  head?: { seq: number; at: string };
  keying: 'keyed' | 'unkeyed' | 'mixed' | 'none';
  /** The newest checkpoint that recorded this chain, and the head it recorded. */
  lastCheckpoint?: { seq: number; at: string; headSeq: number };
  /** Events after the newest head a checkpoint recorded. */
  uncheckpointed: number;
  ok: boolean;
}

export interface VerifyReport {
  /** False when anything at all is broken. */
  ok: boolean;
  /** Events checked. */
  checked: number;
  /** Chains walked (including chains that are named somewhere but gone). */
  chains: number;
  /** Every problem found, chains in name order. */
  broken: BrokenLink[];
  /** The first of `broken`. */
  firstBroken?: BrokenLink;
  /** Not broken, but not as protected as it could be: say so, never pass it silently. */
  warnings: VerifyWarning[];
  chainReports: ChainReport[];
  checkpoints: {
    /** Checkpoints read and checked (a scoped verify reads those since its chains began). */
    checked: number;
    fromSeq: number;
    last?: { seq: number; at: string; reason: CheckpointReason };
  };
  /** Jobs cross-checked against their chains. */
  jobsChecked: number;
  /** Intents with no outcome (in intact chains): in flight, or a crash between the call and its record. */
  pendingIntents: PendingIntent[];
}

/** One job's chains, every chain that touched an instance, or (neither) every chain. */
export interface VerifyScope {
  jobId?: string;
  instanceId?: string;
}

/** The jobs table as verify sees it. */
export interface JobView {
  jobId: string;
  status: string;
  createdAt: string;
  /** The job's record shows at least one provider call (so it must have a chain). */
  providerActions: boolean;
}

export interface JobsSource {
  get(jobId: string): Promise<JobView | undefined>;
  all(): AsyncIterable<JobView>;
}

export interface VerifyOptions {
  /** Cross-check jobs against chains (the CLI passes the jobs table). */
  jobs?: JobsSource;
  /** The newest checkpoint seq known from elsewhere (the checkpoint function's log): must exist. */
  expectCheckpoint?: number;
  now?: () => Date;
}

/** What verify reads; AuditLog implements it. */
export interface ChainReader {
  readonly checkpoints: Checkpoints;
  keyring(): Promise<AuditKeyring>;
  chainEvents(chain: string): AsyncGenerator<Record<string, unknown>>;
  /** `thorough`: probe every possible sub-chain, not only those the job's root chain names. */
  chainsOfJob(jobId: string, thorough?: boolean): Promise<string[]>;
  chainsOfInstance(instanceId: string): Promise<string[]>;
  allChains(): Promise<string[]>;
}

interface Walk {
  chain: string;
  events: number;
  /** hashes[seq] and ats[seq] of the events that verified. */
  hashes: string[];
  ats: string[];
  lastKeyedSeq: number;
  /** Keyed events among those that verified. */
  keyed: number;
  problem?: BrokenLink;
  /** Sub-chains this (root) chain names. */
  links: Map<string, { first: string; seq: number }>;
  /** The events that verified, for the open intents (only of intact chains). */
  verified: Array<Record<string, unknown>>;
}

interface Anchor {
  seq: number;
  hash: string;
  checkpoint: number;
  at: string;
}

export async function verifyAudit(
  reader: ChainReader,
  scope: VerifyScope,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  if (scope.jobId !== undefined && scope.instanceId !== undefined) {
    throw new StoreValidationError('verify one job or one instance, not both');
  }
  const now = (options.now ?? (() => new Date()))().getTime();
  const [ring, checkpointRing] = await Promise.all([reader.keyring(), reader.checkpoints.keyring()]);
  const broken: BrokenLink[] = [];
  const warnings: VerifyWarning[] = [];

  // ---- 1. walk the chains in scope ------------------------------------------------------------
  const inScope = (chain: string) =>
    scope.jobId !== undefined ? jobOfChain(chain) === scope.jobId : scope.instanceId === undefined;
  // A job's chains as its root names them; a sub-chain its writer never linked is still found when
  // a checkpoint recorded it (below), and by a whole-trail verify.
  const names =
    scope.jobId !== undefined
      ? await reader.chainsOfJob(scope.jobId, false)
      : scope.instanceId !== undefined
        ? await reader.chainsOfInstance(scope.instanceId)
        : await reader.allChains();
  const walks = new Map<string, Walk>();
  for (const chain of names) walks.set(chain, await walk(reader, chain, ring));
  // Sub-chains a root names but that were not found (deleted whole) are walked too: they are empty.
  for (const w of [...walks.values()]) {
    for (const linked of w.links.keys()) {
      if (!walks.has(linked)) walks.set(linked, await walk(reader, linked, ring));
    }
  }

  // ---- 2. the checkpoints: all of them, or those since the scope's chains began ----------------
  const latest = await reader.checkpoints.latest();
  let fromSeq = 0;
  if (scope.jobId !== undefined || scope.instanceId !== undefined) {
    const starts = [...walks.values()].flatMap((w) => w.ats.slice(0, 1));
    const job = scope.jobId !== undefined ? await options.jobs?.get(scope.jobId) : undefined;
    if (job) starts.push(job.createdAt);
    if (starts.length > 0) fromSeq = await reader.checkpoints.firstSeqSince(starts.sort()[0]!);
  }
  const anchors = new Map<string, Anchor[]>();
  let checkedCheckpoints = 0;
  let before: Checkpoint | null | undefined = fromSeq === 0 ? null : undefined;
  let expected = fromSeq;
  for await (const cp of reader.checkpoints.from(fromSeq)) {
    checkedCheckpoints++;
    if (cp.seq !== expected) {
      broken.push({
        chain: cp.chain,
        seq: expected,
        reason: 'checkpoint',
        detail: `checkpoint${cp.seq - expected > 1 ? `s ${expected}..${cp.seq - 1} are` : ` ${expected} is`} gone`,
      });
      before = undefined;
    }
    const problem = checkpointProblem(cp, before, checkpointRing);
    if (problem) {
      broken.push({
        chain: cp.chain,
        seq: cp.seq,
        reason: 'checkpoint',
        detail: `checkpoint ${cp.seq} ${problem}`,
      });
    } else {
      // Only an intact checkpoint vouches for anything.
      for (const h of cp.heads) {
        if (!inScope(h.chain) && !walks.has(h.chain)) continue;
        const list = anchors.get(h.chain) ?? [];
        list.push({ seq: h.seq, hash: h.hash, checkpoint: cp.seq, at: cp.at });
        anchors.set(h.chain, list);
      }
    }
    before = cp;
    expected = cp.seq + 1;
  }
  if (options.expectCheckpoint !== undefined && (latest?.seq ?? -1) < options.expectCheckpoint) {
    broken.push({
      chain: '~checkpoint',
      seq: options.expectCheckpoint,
      reason: 'checkpoint',
      detail: `checkpoint ${options.expectCheckpoint} is gone (the newest is ${latest ? latest.seq : 'none'}): the newest checkpoints were deleted`,
    });
  }
  if (!latest) {
    warnings.push({
      reason: 'no-checkpoint',
      detail:
        'no checkpoint has been written yet: truncation and deleted chains cannot be detected, and chains written before keying cannot be told from rewritten ones',
    });
  }

  // ---- 3. each chain against what the checkpoints and its job's root chain say about it -------
  for (const chain of anchors.keys()) {
    if (!walks.has(chain)) walks.set(chain, await walk(reader, chain, ring));
  }
  const reports: ChainReport[] = [];
  for (const w of [...walks.values()].sort((a, b) => (a.chain < b.chain ? -1 : 1))) {
    // Every piece of evidence against the chain, strongest first; the earliest one is reported.
    const problems: BrokenLink[] = w.problem ? [w.problem] : [];
    const valid = w.hashes.length;
    const list = anchors.get(w.chain) ?? [];
    const problemAt = (seq: number) => w.problem !== undefined && seq >= w.problem.seq;
    // What the checkpoints recorded: each head must still be there, with the same hash.
    for (const a of list.sort((x, y) => x.seq - y.seq)) {
      if (problemAt(a.seq)) break; // already broken at or before it
      if (a.seq < valid) {
        if (w.hashes[a.seq] !== a.hash) {
          problems.push({
            chain: w.chain,
            seq: a.seq,
            reason: 'rewritten',
            detail: `checkpoint ${a.checkpoint} (${a.at}) recorded another hash for event ${a.seq}: the chain was re-hashed`,
          });
          break;
        }
        continue;
      }
      const last = Math.max(...list.map((x) => x.seq));
      const by = list.find((x) => x.seq === last)!;
      problems.push(
        valid === 0
          ? {
              chain: w.chain,
              seq: 0,
              reason: 'deleted-chain',
              detail: `the chain holds no events, but checkpoint ${by.checkpoint} (${by.at}) recorded it up to seq ${last}`,
            }
          : {
              chain: w.chain,
              seq: valid,
              reason: 'truncated',
              detail: `events ${valid}..${last} are gone: checkpoint ${by.checkpoint} (${by.at}) recorded the chain up to seq ${last}`,
            },
      );
      break;
    }
    // Events written without a key are trusted only where a checkpoint vouches for them.
    if (!w.problem && valid > 0 && w.lastKeyedSeq < valid - 1) {
      const headAnchor = list.find((a) => a.seq === valid - 1 && a.hash === w.hashes[valid - 1]);
      if (headAnchor) {
        warnings.push({
          chain: w.chain,
          reason: 'predates-keying',
          detail: `events ${w.lastKeyedSeq + 1}..${valid - 1} predate keyed chains; checkpoint ${headAnchor.checkpoint} (${headAnchor.at}) vouches for them`,
        });
      } else if (latest) {
        problems.push({
          chain: w.chain,
          seq: w.lastKeyedSeq + 1,
          reason: 'unkeyed',
          detail:
            w.lastKeyedSeq >= 0
              ? `event ${w.lastKeyedSeq + 1} has no keyed hash though the events before it do: a plain hash was recomputed`
              : 'no event has a keyed hash and no checkpoint vouches for the chain: written or re-hashed without the key',
        });
      } else if (!latest) {
        warnings.push({
          chain: w.chain,
          reason: 'predates-keying',
          detail: 'its events predate keyed chains and no checkpoint vouches for them yet',
        });
      }
    }
    // The job's root chain names each sub-chain with its first hash.
    const root = walks.get(jobOfChain(w.chain));
    const link = root?.links.get(w.chain);
    if (link) {
      if (w.events === 0) {
        problems.push({
          chain: w.chain,
          seq: 0,
          reason: 'deleted-chain',
          detail: `the chain holds no events, but its job's chain ${root!.chain} names it (seq ${link.seq})`,
        });
      } else if (valid > 0 && w.hashes[0] !== link.first) {
        problems.push({
          chain: w.chain,
          seq: 0,
          reason: 'rewritten',
          detail: `its first event is not the one its job's chain ${root!.chain} names (seq ${link.seq})`,
        });
      }
    } else if (!link && root && w.chain !== root.chain && w.events > 0 && !root.problem) {
      warnings.push({
        chain: w.chain,
        reason: 'unlinked',
        detail: `not named by its job's chain ${root.chain}: its writer stopped between its first event and the link`,
      });
    }
    const newest = list.reduce<Anchor | undefined>(
      (m, a) => (!m || a.checkpoint > m.checkpoint ? a : m),
      undefined,
    );
    const uncheckpointed = Math.max(0, valid - (newest ? newest.seq + 1 : 0));
    if (uncheckpointed > 0 && latest && problems.length === 0) {
      const since = w.ats[valid - uncheckpointed]!;
      if (Date.parse(since) < now - CHECKPOINT_INTERVAL_MS - CLOCK_SKEW_MS) {
        warnings.push({
          chain: w.chain,
          reason: 'not-checkpointed',
          detail: `${uncheckpointed} event(s) since ${since} are not covered by any checkpoint: the checkpoint writer is not running, or its newest checkpoints were deleted`,
        });
      }
    }
    const problem = problems.reduce<BrokenLink | undefined>(
      (m, p) => (!m || p.seq < m.seq ? p : m),
      undefined,
    );
    if (problem) broken.push(problem);
    reports.push({
      chain: w.chain,
      events: w.events,
      ...(valid > 0 && { head: { seq: valid - 1, at: w.ats[valid - 1]! } }),
      keying: w.events === 0 ? 'none' : w.keyed === 0 ? 'unkeyed' : w.keyed < valid ? 'mixed' : 'keyed',
      ...(newest && { lastCheckpoint: { seq: newest.checkpoint, at: newest.at, headSeq: newest.seq } }),
      uncheckpointed,
      ok: problem === undefined,
    });
  }

  // ---- 4. jobs whose record shows provider actions must have a chain -------------------------
  let jobsChecked = 0;
  if (options.jobs && scope.instanceId === undefined) {
    const jobs =
      scope.jobId !== undefined
        ? [await options.jobs.get(scope.jobId)].filter((j): j is JobView => j !== undefined)
        : options.jobs.all();
    const withEvents = new Set(reports.filter((r) => r.events > 0 || !r.ok).map((r) => jobOfChain(r.chain)));
    for await (const job of jobs) {
      jobsChecked++;
      if (!job.providerActions || withEvents.has(job.jobId)) continue;
      broken.push({
        chain: job.jobId,
        seq: 0,
        reason: 'job-without-chain',
        detail: `job ${job.jobId} (${job.status}, created ${job.createdAt}) shows provider actions but has no audit chain: deleted before any checkpoint recorded it`,
      });
    }
  }

  broken.sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : a.seq - b.seq));
  return {
    ok: broken.length === 0,
    checked: reports.reduce((n, r) => n + r.events, 0),
    chains: reports.length,
    broken,
    ...(broken[0] && { firstBroken: broken[0] }),
    warnings,
    chainReports: reports,
    checkpoints: {
      checked: checkedCheckpoints,
      fromSeq,
      ...(latest && { last: { seq: latest.seq, at: latest.at, reason: latest.reason } }),
    },
    jobsChecked,
    pendingIntents: openIntents(walks, reports),
  };
}

/** Open intents of intact chains only (what a broken chain says is open means nothing). */
function openIntents(walks: Map<string, Walk>, reports: ChainReport[]): PendingIntent[] {
  const intact = new Set(reports.filter((r) => r.ok).map((r) => r.chain));
  const intents = new IntentTracker();
  for (const w of walks.values()) {
    // Outcomes anywhere close intents; intents count only where their chain is intact.
    for (const e of w.verified) if (e.kind === 'outcome' || intact.has(w.chain)) intents.add(e);
  }
  return intents.open();
}

/** Reads one chain in seq order and checks every link, up to the first broken one. */
async function walk(reader: ChainReader, chain: string, ring: AuditKeyring): Promise<Walk> {
  const w: Walk = {
    chain,
    events: 0,
    hashes: [],
    ats: [],
    lastKeyedSeq: -1,
    keyed: 0,
    links: new Map(),
    verified: [],
  };
  let prevHash = GENESIS_HASH;
  for await (const event of reader.chainEvents(chain)) {
    w.events++;
    const seq = event.seq as number;
    const expectedSeq = w.hashes.length;
    const fail = (reason: BrokenReason, detail: string, at = seq) => {
      w.problem = { chain, seq: at, reason, detail };
    };
    if (seq !== expectedSeq) {
      fail(
        'missing',
        seq === expectedSeq + 1
          ? `event ${expectedSeq} is missing`
          : `events ${expectedSeq}..${seq - 1} are missing`,
        expectedSeq,
      );
      break;
    }
    const { hash, ...unsigned } = event;
    let actual: string;
    const keyId = event.keyId;
    if (keyId === undefined) {
      if (w.lastKeyedSeq >= 0) {
        fail(
          'unkeyed',
          `event ${seq} has no keyed hash though the events before it do: a plain hash was recomputed`,
        );
        break;
      }
      actual = digest(() => sha256Canonical(unsigned));
    } else {
      const key = typeof keyId === 'string' ? ring.byId(keyId) : undefined;
      if (!key) {
        fail(
          'unknown-key',
          `hashed with key ${String(keyId)}, which this verifier does not hold: forged under another key, or a retired key missing from "previous"`,
        );
        break;
      }
      actual = digest(() => key.sign(unsigned));
    }
    if (!sameDigest(hash, actual)) {
      fail('altered', 'the stored hash does not match the event content');
      break;
    }
    if (event.prevHash !== prevHash) {
      fail(
        'broken-link',
        `prevHash does not match the hash of event ${seq - 1} (removed, replaced or reordered)`,
      );
      break;
    }
    if (keyId !== undefined) {
      w.lastKeyedSeq = seq;
      w.keyed++;
    }
    if (event.kind !== 'note')
      w.verified.push({
        chain,
        seq,
        kind: event.kind,
        action: event.action,
        at: event.at,
        instanceId: event.instanceId,
        provider: event.provider,
        intentSeq: event.intentSeq,
        intentChain: event.intentChain,
      });
    if (event.kind === 'note' && event.action === LINK_ACTION) {
      const p = event.parameters as { chain?: unknown; first?: unknown } | undefined;
      if (typeof p?.chain === 'string' && typeof p.first === 'string' && jobOfChain(p.chain) === chain) {
        if (!w.links.has(p.chain)) w.links.set(p.chain, { first: p.first, seq });
      }
    }
    prevHash = hash as string;
    w.hashes.push(hash as string);
    w.ats.push(event.at as string);
  }
  return w;
}

function digest(compute: () => string): string {
  try {
    return compute();
  } catch {
    return 'unhashable';
  }
}

/**
 * A job as verify sees it. A job "shows provider actions" when its log holds a provider operation:
 * an operation id in a step (not a no-op), or results that acted on an instance (counted when the
 * job ended; a target left alone is SKIPPED, so a succeeded or still-pending one was acted on).
 */
export function jobView(job: Job): JobView {
  const operation = job.steps.some((s) => hasOperation(s.detail));
  const acted = (job.counts?.succeeded ?? 0) + (job.counts?.pending ?? 0) > 0;
  return {
    jobId: job.jobId,
    status: job.status,
    createdAt: job.createdAt,
    providerActions: operation || acted,
  };
}

function hasOperation(value: unknown): boolean {
  if (!value || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(hasOperation);
  const record = value as Record<string, unknown>;
  const id = record.operationId;
  if (typeof id === 'string' && !id.startsWith('noop:')) return true;
  return Object.values(record).some(hasOperation);
}

/** The jobs table (anything with get and listAll) as verify's jobs source; internal records skipped. */
export function jobsSource(store: {
  get(jobId: string): Promise<Job | undefined>;
  listAll(filter: Record<string, never>): AsyncIterable<Job>;
}): JobsSource {
  return {
    async get(jobId) {
      const job = await store.get(jobId);
      return job ? jobView(job) : undefined;
    },
    async *all() {
      for await (const job of store.listAll({})) yield jobView(job);
    },
  };
}
