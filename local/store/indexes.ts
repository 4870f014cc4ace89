import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { LevelDb } from './level.ts';

/**
 * dynalite writes a table item and its index entries as separate LevelDB writes (index deletes,
 * index puts, then the item), so a kill between them leaves an index that disagrees with its items:
 * an entry for a job in its old status, a job missing from the index, an entry for an item never
 * written. This rebuilds every index from the items, on the closed folder, with dynalite's own key
 * functions (so the entries are exactly what dynalite would have written), in LevelDB batches.
 */

interface KeySchemaElement {
  AttributeName: string;
  KeyType: string;
}
interface IndexDescription {
  IndexName: string;
  IndexStatus?: string;
  KeySchema: KeySchemaElement[];
  Projection: { ProjectionType: string; NonKeyAttributes?: string[] };
}
interface TableDescription {
  TableName: string;
  TableStatus?: string;
  KeySchema: KeySchemaElement[];
  AttributeDefinitions: Array<{ AttributeName: string; AttributeType: string }>;
  GlobalSecondaryIndexes?: IndexDescription[];
  LocalSecondaryIndexes?: IndexDescription[];
}
type StoredItem = Record<string, Record<string, unknown>>;
interface IndexActions {
  puts: Array<{ index: string; key: string; item: StoredItem }>;
}

// dynalite's own index-key code, so a rebuilt entry is byte for byte what dynalite writes.
const dynaliteDb = createRequire(createRequire(import.meta.url).resolve('dynalite'))('./db/index.js') as {
  getIndexActions(
    indexes: IndexDescription[],
    existing: StoredItem | null,
    item: StoredItem,
    table: TableDescription,
  ): IndexActions;
};

export interface IndexFinding {
  table: string;
  index: string;
  /** Entries for items that are not there, or are there with other key values (e.g. an old status). */
  stale: number;
  /** Items with no entry. */
  missing: number;
  /** Entries whose copy of the item differs from the item. */
  altered: number;
  /** Up to 5 item keys concerned, e.g. `jobId=prov-msg_1`, for the report. */
  examples: string[];
}

export interface IndexReport {
  tables: number;
  /** Tables (or their indexes) left CREATING: dynalite marks them ACTIVE in a second write, lost here. */
  notActive: string[];
  items: number;
  findings: IndexFinding[];
  /** Entries deleted or written to make the indexes agree with the items (0 unless repairing). */
  repaired: number;
}

const BATCH = 500;

const digest = (value: unknown) => createHash('sha1').update(JSON.stringify(value)).digest('base64');

/** Checks (and with `repair`, rebuilds) every table's secondary indexes from its items. */
export async function checkIndexes(db: LevelDb, options: { repair?: boolean } = {}): Promise<IndexReport> {
  const tables: TableDescription[] = [];
  for await (const value of db.values({ gte: 'table~', lt: 'table~\xff' }))
    tables.push(value as TableDescription);
  const report: IndexReport = { tables: tables.length, notActive: [], items: 0, findings: [], repaired: 0 };
  for (const table of tables) {
    const indexes = [...(table.GlobalSecondaryIndexes ?? []), ...(table.LocalSecondaryIndexes ?? [])];
    if (table.TableStatus === 'ACTIVE' && indexes.every((i) => (i.IndexStatus ?? 'ACTIVE') === 'ACTIVE'))
      continue;
    report.notActive.push(table.TableName);
    if (!options.repair) continue;
    table.TableStatus = 'ACTIVE';
    for (const index of indexes) if (index.IndexStatus) index.IndexStatus = 'ACTIVE';
    await db.batch([{ type: 'put', key: `table~${table.TableName}`, value: table }]);
    report.repaired++;
  }

  for (const table of tables) {
    const indexes = [
      ...(table.GlobalSecondaryIndexes ?? []).map((i) => ({ type: 'global', index: i })),
      ...(table.LocalSecondaryIndexes ?? []).map((i) => ({ type: 'local', index: i })),
    ];
    if (indexes.length === 0) continue;
    // What dynalite would have written for each item: index → entry key → (digest, item key).
    const expected = new Map(
      indexes.map(({ index }) => [index.IndexName, new Map<string, [string, string]>()]),
    );
    const itemPrefix = `item-${table.TableName}~`;
    const describe = new Map<string, string>();
    for await (const [key, item] of db.iterator({ gte: itemPrefix, lt: `${itemPrefix}\xff` })) {
      report.items++;
      const actions = dynaliteDb.getIndexActions(
        indexes.map((i) => i.index),
        null,
        item as StoredItem,
        table,
      );
      for (const put of actions.puts) expected.get(put.index)?.set(put.key, [digest(put.item), key]);
      describe.set(key, keyText(item as StoredItem, table));
    }

    for (const { type, index } of indexes) {
      const want = expected.get(index.IndexName)!;
      const prefix = `index-${type}~${table.TableName}~${index.IndexName}~`;
      const finding: IndexFinding = {
        table: table.TableName,
        index: index.IndexName,
        stale: 0,
        missing: 0,
        altered: 0,
        examples: [],
      };
      const ops: Array<{ type: 'put' | 'del'; key: string; value?: unknown }> = [];
      const note = (text: string | undefined) => {
        if (text && finding.examples.length < 5 && !finding.examples.includes(text))
          finding.examples.push(text);
      };
      const seen = new Set<string>();
      for await (const [fullKey, entry] of db.iterator({ gte: prefix, lt: `${prefix}\xff` })) {
        const key = fullKey.slice(prefix.length);
        const match = want.get(key);
        if (!match) {
          finding.stale++;
          note(keyText(entry as StoredItem, table));
          ops.push({ type: 'del', key: fullKey });
          continue;
        }
        seen.add(key);
        if (digest(entry) !== match[0]) {
          finding.altered++;
          note(describe.get(match[1]));
          ops.push({ type: 'put', key: fullKey, value: await entryFor(db, match[1], index, table) });
        }
      }
      for (const [key, [, itemKey]] of want) {
        if (seen.has(key)) continue;
        finding.missing++;
        note(describe.get(itemKey));
        ops.push({ type: 'put', key: `${prefix}${key}`, value: await entryFor(db, itemKey, index, table) });
      }
      if (ops.length === 0) continue;
      report.findings.push(finding);
      if (!options.repair) continue;
      for (let i = 0; i < ops.length; i += BATCH) await db.batch(ops.slice(i, i + BATCH));
      report.repaired += ops.length;
    }
  }
  return report;
}

/** The index entry dynalite writes for the item stored under `itemKey`. */
async function entryFor(db: LevelDb, itemKey: string, index: IndexDescription, table: TableDescription) {
  const item = (await db.get(itemKey)) as StoredItem;
  return dynaliteDb.getIndexActions([index], null, item, table).puts[0]?.item;
}

/** `jobId=prov-1` (or `chain=…, seq=3`): the item's key, readable. */
function keyText(item: StoredItem | undefined, table: TableDescription): string {
  if (!item) return '?';
  return table.KeySchema.map((k) => {
    const attr = item[k.AttributeName];
    const value = attr ? Object.values(attr)[0] : undefined;
    return `${k.AttributeName}=${String(value)}`;
  }).join(', ');
}
