import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/log.ts';
import {
  AUDIT_KEY_ENV,
  auditKeySource,
  auditKeysFromEnv,
  ensureLocalAuditKeys,
  LOCAL_KEY_FILES,
} from '../../functions/runtime/audit-key.ts';
import { AuditKeyError, auditKeyring } from '../../functions/store/audit-keys.ts';
import { hmacCanonical } from '../../functions/store/canonical-json.ts';

/** The audit keys: by reference only, private files, never in a log line or an error. */
describe('audit keys', () => {
  const root = mkdtempSync(join(tmpdir(), 'fleetflow-keys-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('creates the data folder key files once, mode 0600, and never rewrites them', () => {
    const dir = join(root, 'data');
    mkdirp(dir);
    const refs = ensureLocalAuditKeys(dir);
    const before = Object.values(LOCAL_KEY_FILES).map((f) => readFileSync(join(dir, f), 'utf8'));
    for (const f of Object.values(LOCAL_KEY_FILES)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect(refs.chain).toBe(pathToFileURL(join(dir, LOCAL_KEY_FILES.chain)).href);
    expect(ensureLocalAuditKeys(dir)).toEqual(refs);
    expect(Object.values(LOCAL_KEY_FILES).map((f) => readFileSync(join(dir, f), 'utf8'))).toEqual(before);
    // Two different keys: a leaked chain key cannot sign checkpoints.
    expect(before[0]).not.toBe(before[1]);
  });

  it('resolves a file reference to a keyring whose key id names the key without revealing it', async () => {
    const dir = join(root, 'ring');
    mkdirp(dir);
    const refs = ensureLocalAuditKeys(dir);
    const key = JSON.parse(readFileSync(join(dir, LOCAL_KEY_FILES.chain), 'utf8')).key as string;
    const ring = await auditKeySource(refs.chain, 'chain')();
    expect(ring.current.sign({ a: 1 })).toBe(hmacCanonical(Buffer.from(key), { a: 1 }));
    expect(ring.current.id).toMatch(/^k-[0-9a-f]{16}$/);
    expect(ring.current.id).not.toContain(key.slice(0, 8));
    // Once read, the key is scrubbed from every log line.
    const lines: string[] = [];
    createLogger({}, 'info', (l) => lines.push(l)).info(`oops ${key}`, { detail: { key } });
    expect(lines.join('\n')).not.toContain(key);
  });

  it('keeps retired keys for verifying, signs with the current one', () => {
    const old = 'an-old-audit-key-that-was-rotated-away-012345';
    const ring = auditKeyring({ key: 'the-current-audit-key-0123456789-abcdefghij', previous: [old] }, 'x');
    const retired = auditKeyring({ key: old }, 'y').current;
    expect(ring.byId(retired.id)?.sign({ b: 2 })).toBe(retired.sign({ b: 2 }));
    expect(ring.current.id).not.toBe(retired.id);
  });

  it('refuses a key file others can read, a short key, a missing file and an unknown scheme — never echoing the key', async () => {
    const dir = join(root, 'bad');
    mkdirp(dir);
    const file = join(dir, 'k.key');
    const secret = 'a-perfectly-good-key-of-sufficient-length-0123456789';
    writeFileSync(file, JSON.stringify({ key: secret }), { mode: 0o644 });
    chmodSync(file, 0o644);
    const open = auditKeySource(pathToFileURL(file).href, 'chain')();
    await expect(open).rejects.toThrow(/readable by others \(mode 644\); run chmod 600/);
    await open.catch((e: Error) => expect(e.message).not.toContain(secret));

    chmodSync(file, 0o600);
    writeFileSync(file, JSON.stringify({ key: 'short-secret' }));
    const short = auditKeySource(pathToFileURL(file).href, 'chain')();
    await expect(short).rejects.toThrow(AuditKeyError);
    await short.catch((e: Error) => expect(e.message).not.toContain('short-secret'));

    await expect(auditKeySource(pathToFileURL(join(dir, 'none.key')).href, 'chain')()).rejects.toThrow(
      /cannot be read \(fleetflow start creates it\)/,
    );
    await expect(auditKeySource('https://example.test/key', 'chain')()).rejects.toThrow(
      /not a key reference/,
    );
    await expect(auditKeysFromEnv({}).checkpoint()).rejects.toThrow(
      `set ${AUDIT_KEY_ENV.checkpoint} to a key reference`,
    );
  });
});

function mkdirp(dir: string): void {
  mkdirSync(dir, { recursive: true });
}
