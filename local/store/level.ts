import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * dynalite's LevelDB, seen from below: the Level class dynalite itself uses (resolved from dynalite,
 * so both always agree), a guard that turns a damaged data file into a DynamoDB error instead of a
 * crash, and a way to find which file is damaged. recovery.ts, indexes.ts and doctor.ts build on it.
 */

// dynalite is CommonJS without type declarations.
const require = createRequire(import.meta.url);
const fromDynalite = createRequire(require.resolve('dynalite'));

export interface LevelIterator<T> {
  next(): Promise<T | undefined>;
  nextv?(size: number, options?: unknown): Promise<T[]>;
  all?(options?: unknown): Promise<T[]>;
  close(): Promise<void>;
  [Symbol.asyncIterator](): AsyncIterator<T>;
}
export interface RangeOptions {
  gte?: string;
  lt?: string;
}
export interface LevelDb {
  readonly location: string;
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: string): Promise<unknown>;
  batch(operations: Array<{ type: 'put' | 'del'; key: string; value?: unknown }>): Promise<void>;
  iterator(options?: RangeOptions): LevelIterator<[string, unknown]>;
  keys(options?: RangeOptions): LevelIterator<string>;
  values(options?: RangeOptions): LevelIterator<unknown>;
}
interface LevelClass {
  new (path: string, options?: { valueEncoding?: string }): LevelDb;
  repair(path: string): Promise<void>;
  prototype: Record<string, unknown>;
}

export const Level = (fromDynalite('level') as { Level: LevelClass }).Level;

/** The data folder is open in another process (LevelDB takes one writer per folder). */
export class DataFolderLockedError extends Error {
  override name = 'DataFolderLockedError';
  readonly hint =
    'stop the other fleetflow process, or point this one at its endpoint (<data-dir>/endpoints.json)';
  constructor(
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(`the DynamoDB data folder ${path} is in use by another process`, options);
  }
}

/** A LevelDB error code, wherever abstract-level put it. */
function levelCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = typeof e?.code === 'string' ? e.code : e?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True for a LevelDB error that means the files on disk cannot be read as written. */
export function isDamage(error: unknown): boolean {
  const code = levelCode(error);
  return code === 'LEVEL_CORRUPTION' || code === 'LEVEL_IO_ERROR';
}

/** Opens a folder with dynalite's encoding (JSON values); a folder in use is DataFolderLockedError. */
export async function openLevel(path: string): Promise<LevelDb> {
  const db = new Level(path, { valueEncoding: 'json' });
  try {
    await db.open();
  } catch (error) {
    if (levelCode(error) === 'LEVEL_LOCKED') throw new DataFolderLockedError(path, { cause: error });
    throw error;
  }
  return db;
}

// ---- damaged files -----------------------------------------------------------------------------

export interface DamagedFile {
  /** Absolute path of the damaged table or log file. */
  file: string;
  /** LevelDB's words, e.g. `Corruption: block checksum mismatch`. */
  problem: string;
}

/**
 * Which files of a LevelDB folder are damaged. LevelDB's error names no file, but its repair reads
 * every file and logs each one's state: so a throwaway copy is repaired and its log read. The folder
 * itself is not touched (it may be open). Costs a copy of the folder: only run when damage is seen.
 */
export async function locateDamage(path: string): Promise<DamagedFile[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'fleetflow-damage-'));
  const copy = join(scratch, 'db');
  try {
    cpSync(path, copy, { recursive: true, filter: (src) => !src.endsWith('LOCK') });
    const live = liveFiles(copy);
    await Level.repair(copy);
    const log = readFileSync(join(copy, 'LOG'), 'utf8');
    const damaged: DamagedFile[] = [];
    for (const m of log.matchAll(/(Table|Log) #(\d+):[^\n]*?((?:Corruption|IO error)[^\n]*)/g)) {
      const name = `${m[2]!.padStart(6, '0')}.${m[1] === 'Log' ? 'log' : 'ldb'}`;
      // A file the database does not use (a compaction's unfinished output) is not damage.
      if (live && !live.has(name)) continue;
      if (!damaged.some((d) => d.file.endsWith(name)))
        damaged.push({ file: join(resolve(path), name), problem: m[3]!.trim() });
    }
    return damaged;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The table and log files the database's current version uses, from its MANIFEST (LevelDB's
 * log-format file of version edits: new file = tag 7, deleted file = tag 6, log number = tag 2).
 * Hand-read because no package exposes it and it is ~30 lines; undefined if it cannot be read.
 */
function liveFiles(folder: string): Set<string> | undefined {
  try {
    const manifest = readFileSync(join(folder, readFileSync(join(folder, 'CURRENT'), 'utf8').trim()));
    // Log records: 32 KiB blocks of [crc u32][length u16][type u8][data]; types 1 full, 2-4 fragments.
    const records: Buffer[] = [];
    let pending: Buffer[] = [];
    for (let block = 0; block < manifest.length; block += 32768) {
      let at = block;
      const end = Math.min(block + 32768, manifest.length);
      while (at + 7 <= end) {
        const length = manifest.readUInt16LE(at + 4);
        const type = manifest[at + 6]!;
        const data = manifest.subarray(at + 7, at + 7 + length);
        at += 7 + length;
        if (type === 0 && length === 0) break;
        if (type === 1) records.push(data);
        else if (type === 2) pending = [data];
        else if (type === 3) pending.push(data);
        else if (type === 4) records.push(Buffer.concat([...pending, data]));
      }
    }
    const files = new Set<string>();
    let logNumber = 0;
    for (const record of records) {
      let at = 0;
      const varint = () => {
        let value = 0;
        for (let shift = 0; ; shift += 7) {
          const byte = record[at++]!;
          value += (byte & 0x7f) * 2 ** shift;
          if (byte < 0x80) return value;
        }
      };
      const bytes = () => {
        const n = varint();
        at += n;
      };
      const name = (n: number, ext: string) => `${String(n).padStart(6, '0')}.${ext}`;
      while (at < record.length) {
        const tag = varint();
        if (tag === 1) bytes();
        else if (tag === 2) logNumber = varint();
        else if (tag === 3 || tag === 4 || tag === 9) varint();
        else if (tag === 5) {
          varint();
          bytes();
        } else if (tag === 6) {
          varint();
          files.delete(name(varint(), 'ldb'));
        } else if (tag === 7) {
          varint();
          files.add(name(varint(), 'ldb'));
          varint();
          bytes();
          bytes();
        } else return undefined;
      }
    }
    files.add(`${String(logNumber).padStart(6, '0')}.log`);
    return files;
  } catch {
    return undefined;
  }
}

// ---- the guard: a damaged file is an error answer, not a crash ---------------------------------

export type DamageListener = (report: { folder: string; damaged: DamagedFile[]; problem: string }) => void;

const guarded = new Map<
  string,
  { listener: DamageListener; located?: Promise<DamagedFile[]>; message?: string }
>();
let patched = false;

/**
 * dynalite answers an error that carries `statusCode` and `body` as a DynamoDB error, and throws
 * anything else from a LevelDB callback, which kills the process (and every endpoint with it). So
 * LevelDB's own methods are wrapped once: a damage error from a guarded folder gets a 500
 * InternalServerError body naming the damaged file(s) and `fleetflow doctor`, and the listener hears
 * about it (once per folder). Errors of other kinds, and other folders, pass through unchanged.
 */
export function guardAgainstDamage(folder: string, listener: DamageListener): () => void {
  const key = resolve(folder);
  guarded.set(key, { listener });
  if (!patched) patchLevel();
  return () => {
    guarded.delete(key);
  };
}

/** The message a damaged read answers with, once the damaged files are known. */
function damageMessage(folder: string, damaged: DamagedFile[], problem: string): string {
  const dataDir = resolve(folder, '..');
  const files =
    damaged.length > 0
      ? damaged.map((d) => `${d.file} (${d.problem})`).join(', ')
      : `a file in ${folder} (${problem})`;
  return `damaged data file: ${files}; run \`fleetflow doctor --data-dir ${dataDir}\``;
}

async function tag(db: LevelDb, error: unknown): Promise<never> {
  const entry = isDamage(error) ? guarded.get(resolve(db.location)) : undefined;
  if (entry && error instanceof Error) {
    const problem = error.message;
    if (!entry.located) {
      entry.located = locateDamage(db.location).catch(() => []);
      const damaged = await entry.located;
      entry.message = damageMessage(db.location, damaged, problem);
      entry.listener({ folder: db.location, damaged, problem });
    }
    await entry.located;
    Object.assign(error, {
      statusCode: 500,
      body: {
        __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
        message: entry.message ?? damageMessage(db.location, [], problem),
      },
    });
  }
  throw error;
}

function patchLevel(): void {
  patched = true;
  const proto = Level.prototype as Record<string, (...args: unknown[]) => unknown>;
  for (const method of ['get', 'getMany', 'put', 'del', 'batch']) {
    const original = proto[method]!;
    proto[method] = function (this: LevelDb, ...args: unknown[]) {
      const result = original.apply(this, args);
      // batch() without arguments returns a chained batch, not a promise: left as it is.
      return result instanceof Promise ? result.catch((error: unknown) => tag(this, error)) : result;
    };
  }
  for (const method of ['iterator', 'keys', 'values']) {
    const original = proto[method]!;
    proto[method] = function (this: LevelDb, ...args: unknown[]) {
      const it = original.apply(this, args) as Record<string, (...a: unknown[]) => Promise<unknown>>;
      for (const step of ['next', 'nextv', 'all']) {
        const read = it[step];
        if (typeof read !== 'function') continue;
        it[step] = (...a: unknown[]) => read.apply(it, a).catch((error: unknown) => tag(this, error));
      }
      return it;
    };
  }
}
