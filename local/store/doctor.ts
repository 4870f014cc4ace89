import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../../functions/log.ts';
import { auditKeySource, LOCAL_KEY_FILES } from '../../functions/runtime/audit-key.ts';
import type { AuditLogOptions, PendingIntent } from '../../functions/store/audit.ts';
import { AuditLog } from '../../functions/store/audit.ts';
import type { AuditKeyPurpose } from '../../functions/store/audit-keys.ts';
import { createDynamo, localDynamoConfig } from '../../functions/store/dynamo.ts';
import { Idempotency } from '../../functions/store/idempotency.ts';
import { JOB_STATUSES, type JobStatus, JobStore } from '../../functions/store/jobs.ts';
import { tableNames } from '../../functions/store/tables.ts';
import { decodeRecords } from '../engine/journal.ts';
import { startDynalite } from './dynalite.ts';
import { checkIndexes, type IndexReport } from './indexes.ts';
import { type DamagedFile, isDamage, Level, locateDamage, openLevel } from './level.ts';

/**
 * `fleetflow doctor`: checks a data folder that no process has open, and with `repair` fixes what
 * can be fixed. Each check stands alone (a failing one is reported, the others still run):
 *
 * 1. damaged files: every entry is read; a damaged file is named (LevelDB's repair of a copy says
 *    which); repair keeps a copy of the folder, then lets LevelDB salvage what it can read;
 * 2. indexes: rebuilt from the items where a kill left them apart (indexes.ts);
 * 3. idempotency claims still in progress: their holder is gone (the folder is free), so they are
 *    expired and the next attempt takes them over;
 * 4. job records that cannot be read as jobs, and jobs left QUEUED or RUNNING (the next
 *    `fleetflow start` resumes or ends them: doctor has no engine and no provider credentials);
 * 5. audit chains: every link, and every intent with no outcome (a provider call whose result was
 *    never recorded: check the instance at the provider).
 */

export interface DoctorReport {
  dataDir: string;
  damaged: DamagedFile[];
  /** Where the damaged folder was copied before LevelDB's repair. */
  backup?: string;
  indexes?: IndexReport;
  /** In-progress claims still blocking their key (their holder is gone); expired by repair. */
  claims: { inProgress: number; expired: number };
  jobs: {
    checked: number;
    /**
     * Jobs still QUEUED or RUNNING, and what the next start does with their execution: `resumes`
     * (journaled, not ended), `ended` (the job is closed as it ended), `gone` (no journal: started
     * again if it never ran, else INTERRUPTED after its clean-up).
     */
    unfinished: Array<{
      jobId: string;
      kind: string;
      status: JobStatus;
      execution: 'resumes' | 'ended' | 'gone';
    }>;
    unreadable: string[];
  };
  audit?: { ok: boolean; chains: number; events: number; broken?: string; pendingIntents: PendingIntent[] };
  /** Checks that could not run, with why. */
  errors: string[];
  /** What was changed, one line each (empty without repair). */
  repaired: string[];
  /** True when nothing needs attention. */
  healthy: boolean;
}

export async function runDoctor(dataDir: string, options: { repair?: boolean } = {}): Promise<DoctorReport> {
  const folder = join(resolve(dataDir), 'dynamo');
  const report: DoctorReport = {
    dataDir: resolve(dataDir),
    damaged: [],
    claims: { inProgress: 0, expired: 0 },
    jobs: { checked: 0, unfinished: [], unreadable: [] },
    errors: [],
    repaired: [],
    healthy: false,
  };
  if (!existsSync(folder)) {
    report.errors.push(`no data in ${report.dataDir} (no dynamo folder): nothing to check`);
    return report;
  }

  // ---- 1 + 2: the LevelDB files and the indexes, on the closed folder ----------------------------
  let db = await openLevel(folder);
  try {
    try {
      for await (const _ of db.keys()) {
        // every block read once: a damaged one fails here
      }
    } catch (error) {
      if (!isDamage(error)) throw error;
      report.damaged = await locateDamage(folder);
      if (report.damaged.length === 0)
        report.damaged.push({ file: folder, problem: (error as Error).message });
    }
    if (report.damaged.length > 0 && options.repair) {
      await db.close();
      report.backup = `${folder}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      cpSync(folder, report.backup, { recursive: true, filter: (src) => !src.endsWith('LOCK') });
      await Level.repair(folder);
      report.repaired.push(
        `salvaged what LevelDB could read from ${report.damaged.map((d) => d.file).join(', ')} (the damaged folder is kept in ${report.backup})`,
      );
      db = await openLevel(folder);
    }
    try {
      report.indexes = await checkIndexes(db, { repair: options.repair ?? false });
      if (options.repair && report.indexes.notActive.length)
        report.repaired.push(`table(s) ${report.indexes.notActive.join(', ')} left CREATING marked ACTIVE`);
      for (const f of report.indexes.findings) {
        if (options.repair)
          report.repaired.push(
            `index ${f.table}/${f.index} rebuilt from its items (${f.stale} stale, ${f.missing} missing, ${f.altered} outdated entries)`,
          );
      }
    } catch (error) {
      report.errors.push(`indexes: ${(error as Error).message}`);
    }
  } finally {
    await db.close();
  }

  // ---- 3, 4, 5: through DynamoDB's API, as the runtime reads them ---------------------------------
  const dynamo = await startDynalite({ path: folder });
  const { doc, destroy } = createDynamo(localDynamoConfig(dynamo.endpoint));
  const names = tableNames();
  try {
    const idempotency = new Idempotency(doc, names.idempotency);
    try {
      for await (const claim of idempotency.inProgress()) {
        // Only a claim still inside its in-progress window blocks anything.
        if (claim.inProgressExpiresAt <= Date.now()) continue;
        report.claims.inProgress++;
        if (options.repair && (await idempotency.expireInProgress(claim))) report.claims.expired++;
      }
      if (report.claims.expired)
        report.repaired.push(
          `${report.claims.expired} in-progress claim(s) of a stopped process expired, so their next attempt takes them over`,
        );
    } catch (error) {
      report.errors.push(`idempotency claims: ${(error as Error).message}`);
    }

    const jobs = new JobStore(doc, names.jobs);
    const executions = journaled(join(report.dataDir, 'executions'));
    try {
      for await (const job of jobs.scanItems()) {
        report.jobs.checked++;
        const problem = jobProblem(job as unknown as Record<string, unknown>);
        if (problem) report.jobs.unreadable.push(`${String(job.jobId)}: ${problem}`);
        else if (job.status === 'QUEUED' || job.status === 'RUNNING') {
          const ended = executions.get(job.executionArn ?? '') ?? executions.get(job.jobId);
          report.jobs.unfinished.push({
            jobId: job.jobId,
            kind: job.kind,
            status: job.status,
            execution: ended === undefined ? 'gone' : ended ? 'ended' : 'resumes',
          });
        }
      }
    } catch (error) {
      report.errors.push(`jobs: ${(error as Error).message}`);
    }

    try {
      const verified = await new AuditLog(doc, names.audit, folderAuditKeys(report.dataDir)).verify();
      report.audit = {
        ok: verified.ok,
        chains: verified.chains,
        events: verified.checked,
        ...(verified.firstBroken && {
          broken: `${verified.firstBroken.chain}#${verified.firstBroken.seq}: ${verified.firstBroken.detail}`,
        }),
        pendingIntents: verified.pendingIntents,
      };
    } catch (error) {
      report.errors.push(`audit: ${(error as Error).message}`);
    }
  } finally {
    destroy();
    await dynamo.close();
  }

  report.healthy =
    report.errors.length === 0 &&
    report.claims.inProgress === report.claims.expired &&
    (report.damaged.length === 0 || report.backup !== undefined) &&
    (options.repair || ((report.indexes?.findings.length ?? 0) === 0 && !report.indexes?.notActive.length)) &&
    report.jobs.unreadable.length === 0 &&
    (report.audit?.ok ?? false);
  return report;
}

/**
 * The executions journaled in the folder (read only): ARN and name → whether it has ended. The
 * format is the engine's (lines `<crc32> <json>`, the first the start, an `end` when it ended).
 */
function journaled(dir: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    if (!entry.endsWith('.journal')) continue;
    const { records } = decodeRecords(readFileSync(join(dir, entry)));
    const start = records[0];
    if (start?.t !== 'start') continue;
    const ended = records.some((r) => r.t === 'end');
    out.set(start.arn, ended);
    out.set(start.name, ended);
  }
  return out;
}

/** Why a stored job cannot be used as one (missing or impossible fields), or undefined. */
function jobProblem(item: Record<string, unknown>): string | undefined {
  if (typeof item.jobId !== 'string') return 'no job id';
  if (!JOB_STATUSES.includes(item.status as JobStatus)) return `unknown status ${String(item.status)}`;
  if (typeof item.kind !== 'string') return 'no kind';
  if (typeof item.createdAt !== 'string') return 'no creation time';
  if (!Array.isArray(item.steps)) return 'no step list';
  return undefined;
}

/**
 * What `fleetflow start` does to its data folder before dynalite opens it: the indexes are rebuilt
 * from the items where a kill left them apart. Damage is reported (one line) and the start goes
 * on: what can be read is served, what cannot answers 503 until `fleetflow doctor` has run.
 * Returns undefined when the folder is damaged.
 */
export async function prepareDataFolder(folder: string, log: Logger): Promise<IndexReport | undefined> {
  if (!existsSync(folder)) return { tables: 0, notActive: [], items: 0, findings: [], repaired: 0 };
  const db = await openLevel(folder);
  try {
    const report = await checkIndexes(db, { repair: true });
    if (report.notActive.length) log.warn('table left CREATING marked ACTIVE', { tables: report.notActive });
    for (const f of report.findings)
      log.warn('index rebuilt from its items', {
        table: f.table,
        index: f.index,
        stale: f.stale,
        missing: f.missing,
        altered: f.altered,
        examples: f.examples,
      });
    return report;
  } catch (error) {
    if (!isDamage(error)) throw error;
    const damaged = await locateDamage(folder);
    log.error(damageLine({ folder, damaged, problem: (error as Error).message }, resolve(folder, '..')));
    return undefined;
  } finally {
    await db.close();
  }
}

/** The one line a damaged data file gets: which file, that the server stays up, and what to run. */
export function damageLine(
  damage: { folder: string; damaged: DamagedFile[]; problem: string },
  dataDir: string,
): string {
  const files = damage.damaged.length
    ? damage.damaged.map((d) => `${d.file} (${d.problem})`).join(', ')
    : `a file in ${damage.folder} (${damage.problem})`;
  return `damaged data file: ${files}; what it holds cannot be read (answered with 503), the rest works; run \`fleetflow doctor --data-dir ${dataDir}\``;
}

/** The data folder's audit keys, read only: a folder without them is checked unkeyed (verify says so). */
function folderAuditKeys(dataDir: string): AuditLogOptions {
  const source = (purpose: AuditKeyPurpose) => {
    const file = join(dataDir, LOCAL_KEY_FILES[purpose]);
    return existsSync(file) ? auditKeySource(pathToFileURL(file).href, purpose) : undefined;
  };
  const key = source('chain');
  const checkpointKey = source('checkpoint');
  return { ...(key && { key }), ...(checkpointKey && { checkpointKey }) };
}
