import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * Executions that survive a crash: one append-only journal file per execution in a folder
 * (`<dataDir>/executions/` under `fleetflow start`), plus `names.log`, every execution name ever
 * used (names stay taken after a closed journal is pruned).
 *
 * A journal holds what a replay needs and nothing it can recompute: the start (machine, name,
 * input, start time, definition digest), each Task attempt's outcome (result or error), each Wait's
 * deadline, each child execution's name, and the end. Records are lines `<crc32 hex> <json>\n`;
 * reading stops at the first line that is torn or fails its checksum (a kill -9 can cut the last
 * write anywhere), and the file is truncated there before anything is appended again.
 *
 * Appends are group-committed: records queued while a write+fdatasync is in flight go out
 * together in the next one, and each append resolves once its record is on disk.
 */

export interface StartRecord {
  t: 'start';
  arn: string;
  machine: string;
  name: string;
  input: string;
  startDate: number;
  /** sha256 of the machine's definition as synthesized: a changed definition cannot be replayed. */
  definition: string;
  /** The execution whose `.sync` Task started this one. */
  parent?: string;
}

export type TaskOutcome = { ok: unknown } | { error: { name: string; cause: string } };

export type JournalRecord =
  | StartRecord
  | ({ t: 'task'; key: string } & TaskOutcome)
  | { t: 'wait'; key: string; until: number }
  | { t: 'child'; key: string; name: string }
  | {
      t: 'end';
      status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
      output?: string;
      error?: string;
      cause?: string;
      stopDate: number;
      historyEventCount: number;
      maxPayloadBytes: number;
    }
  | { t: 'name'; arn: string };

export type EndRecord = Extract<JournalRecord, { t: 'end' }>;

/** The same definition, however it was rendered: keys sorted, the default JSONPath query language dropped. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (key === 'QueryLanguage' && v === 'JSONPath') continue;
    out[key] = canonical(v);
  }
  return out;
}

/** Digest of a definition's meaning: CDK renders the same machine with or without default fields. */
export const definitionDigest = (definition: string): string =>
  createHash('sha256')
    .update(JSON.stringify(canonical(JSON.parse(definition))))
    .digest('hex');

/** One record as a line: the CRC-32 of its JSON (8 hex digits), a space, the JSON, a newline. */
export function encodeRecord(record: JournalRecord): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** The records of a journal up to the first torn or corrupt line, and the byte length they span. */
export function decodeRecords(data: Buffer): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset < data.length) {
    const nl = data.indexOf(10, offset);
    if (nl < 0) break;
    const line = data.subarray(offset, nl);
    if (line.length < 10 || line[8] !== 32) break;
    const json = line.subarray(9);
    if (crc32(json) !== Number.parseInt(line.subarray(0, 8).toString('latin1'), 16)) break;
    try {
      records.push(JSON.parse(json.toString('utf8')) as JournalRecord);
    } catch {
      break;
    }
    offset = nl + 1;
  }
  return { records, validBytes: offset };
}

/** An append-only file whose appends resolve once written and fdatasync'd, in batches. */
class GroupCommitFile {
  private buffer: string[] = [];
  private waiters: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  private draining = false;
  private closed = false;

  constructor(private readonly handle: FileHandle) {}

  append(line: string): Promise<void> {
    // After close (engine shutdown) a late outcome is dropped: the replay runs that step again.
    if (this.closed) return Promise.resolve();
    this.buffer.push(line);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.draining) void this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.buffer.length > 0) {
      const data = this.buffer.join('');
      const waiters = this.waiters;
      this.buffer = [];
      this.waiters = [];
      try {
        await this.handle.write(data);
        await this.handle.datasync();
        for (const w of waiters) w.resolve();
      } catch (error) {
        for (const w of waiters) w.reject(error);
      }
    }
    this.draining = false;
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.draining) await new Promise((resolve) => setImmediate(resolve));
    await this.handle.close();
  }
}

/** One execution's journal: what was recorded, and appends of what happens next. */
export class ExecutionJournal {
  readonly tasks = new Map<string, TaskOutcome>();
  readonly waits = new Map<string, number>();
  readonly children = new Map<string, string>();
  end?: EndRecord;
  private closed = false;
  private opening?: Promise<GroupCommitFile>;

  constructor(
    readonly file: string,
    readonly start: StartRecord,
    private readonly writer?: GroupCommitFile,
  ) {}

  /** Applies a record read back (last record of a key wins, as it did when it was written). */
  apply(record: JournalRecord): void {
    switch (record.t) {
      case 'task':
        this.tasks.set(record.key, 'ok' in record ? { ok: record.ok } : { error: record.error });
        break;
      case 'wait':
        this.waits.set(record.key, record.until);
        break;
      case 'child':
        this.children.set(record.key, record.name);
        break;
      case 'end':
        this.end = record;
        break;
    }
  }

  /** Appends a record; resolves once it is on disk (at once, unwritten, after close()). */
  async append(record: JournalRecord): Promise<void> {
    this.apply(record);
    if (this.closed) return;
    // One writer per file, however many appends arrive while it opens.
    this.opening ??= this.writer
      ? Promise.resolve(this.writer)
      : open(this.file, 'a').then((handle) => new GroupCommitFile(handle));
    const writer = await this.opening;
    await writer.append(encodeRecord(record));
  }

  async close(): Promise<void> {
    this.closed = true;
    const writer = this.opening ? await this.opening.catch(() => undefined) : this.writer;
    await writer?.close();
  }
}

const JOURNAL_SUFFIX = '.journal';

/** The journal folder: loads what a previous process left, creates journals, prunes closed ones. */
export class JournalStore {
  private readonly names = new Set<string>();
  private namesFile?: GroupCommitFile;
  private readonly closedFiles: Array<{ file: string; stopDate: number }> = [];

  constructor(
    readonly dir: string,
    /** Closed journals kept on disk, oldest pruned first (their names stay taken). */
    private readonly retainClosed = 1_000,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  nameTaken(arn: string): boolean {
    return this.names.has(arn);
  }

  /** Reads every journal (and the names), truncating torn tails so appends continue cleanly. */
  load(): ExecutionJournal[] {
    const namesPath = join(this.dir, 'names.log');
    for (const r of this.readFile(namesPath)) if (r.t === 'name') this.names.add(r.arn);
    const journals: ExecutionJournal[] = [];
    for (const entry of readdirSync(this.dir)) {
      if (!entry.endsWith(JOURNAL_SUFFIX)) continue;
      const file = join(this.dir, entry);
      const [start, ...rest] = this.readFile(file);
      if (start?.t !== 'start') {
        // Cut before its start record was on disk: StartExecution never answered for it.
        rmSync(file, { force: true });
        continue;
      }
      const journal = new ExecutionJournal(file, start);
      for (const r of rest) journal.apply(r);
      this.names.add(start.arn);
      if (journal.end) this.closedFiles.push({ file, stopDate: journal.end.stopDate });
      journals.push(journal);
    }
    return journals.sort((a, b) => a.start.startDate - b.start.startDate);
  }

  /** Creates an execution's journal with its start record on disk, and takes its name for good. */
  async create(start: StartRecord): Promise<ExecutionJournal> {
    const file = join(
      this.dir,
      `${createHash('sha256').update(start.arn).digest('hex').slice(0, 40)}${JOURNAL_SUFFIX}`,
    );
    const handle = await open(file, 'wx');
    const writer = new GroupCommitFile(handle);
    await writer.append(encodeRecord(start));
    await this.syncDir();
    this.names.add(start.arn);
    this.namesFile ??= new GroupCommitFile(await open(join(this.dir, 'names.log'), 'a'));
    await this.namesFile.append(encodeRecord({ t: 'name', arn: start.arn }));
    return new ExecutionJournal(file, start, writer);
  }

  /** Notes a closed journal and removes the oldest closed ones beyond the retention count. */
  closed(journal: ExecutionJournal): void {
    if (!journal.end) return;
    this.closedFiles.push({ file: journal.file, stopDate: journal.end.stopDate });
    this.prune();
  }

  prune(): string[] {
    const extra = this.closedFiles.length - this.retainClosed;
    if (extra <= 0) return [];
    this.closedFiles.sort((a, b) => a.stopDate - b.stopDate);
    const gone = this.closedFiles.splice(0, extra).map((c) => c.file);
    for (const file of gone) rmSync(file, { force: true });
    return gone;
  }

  async close(): Promise<void> {
    await this.namesFile?.close();
    this.namesFile = undefined;
  }

  private readFile(file: string): JournalRecord[] {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch {
      return [];
    }
    const { records, validBytes } = decodeRecords(data);
    if (validBytes < data.length) truncateSync(file, validBytes);
    return records;
  }

  /** A new file's directory entry must survive a crash too. */
  private async syncDir(): Promise<void> {
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
