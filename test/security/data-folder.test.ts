import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ensureApiToken,
  ensureLocalKeyPair,
  readLocalKeyPair,
  secureDataFolder,
  tightenedLine,
} from '../../local/auth/data-folder.ts';

/** Making a data folder private, and the token and key pair kept in it. */

const root = mkdtempSync(join(tmpdir(), 'fleetflow-folder-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('secureDataFolder', () => {
  it('creates a new folder 0700 and reports nothing', () => {
    const dir = join(root, 'fresh', 'data');
    expect(secureDataFolder(dir)).toEqual({ paths: [] });
    expect(mode(dir)).toBe('700');
    expect(tightenedLine(dir, { paths: [] })).toBeUndefined();
  });

  it('tightens an open folder behind a symbolic link, leaves links inside alone, and says so once', () => {
    const target = join(root, 'real');
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(join(target, 'dynamo'), { recursive: true });
    mkdirSync(elsewhere);
    for (const d of [target, join(target, 'dynamo'), elsewhere]) chmodSync(d, 0o755);
    writeFileSync(join(target, 'dynamo', '000003.log'), 'x');
    chmodSync(join(target, 'dynamo', '000003.log'), 0o644);
    writeFileSync(join(target, 'endpoints.json'), '{}');
    chmodSync(join(target, 'endpoints.json'), 0o600);
    symlinkSync(elsewhere, join(target, 'link-out'));
    const link = join(root, 'data-link');
    symlinkSync(target, link);

    const first = secureDataFolder(link);
    expect(first).toEqual({ folderMode: 0o755, paths: ['dynamo', 'dynamo/000003.log'] });
    expect(tightenedLine('data-link', first)).toBe(
      'data folder data-link was readable by other users (the folder was 755): made private (folders 700, 2 entries tightened, files 600)',
    );
    expect([mode(target), mode(join(target, 'dynamo')), mode(join(target, 'dynamo', '000003.log'))]).toEqual([
      '700',
      '700',
      '600',
    ]);
    expect(mode(elsewhere)).toBe('755');
    expect(secureDataFolder(link)).toEqual({ paths: [] });
  });
});

describe('the token and the key pair', () => {
  const dir = join(root, 'keys');

  it('are made once, 0600, and kept across starts', () => {
    secureDataFolder(dir);
    const token = ensureApiToken(dir);
    const pair = ensureLocalKeyPair(dir);
    expect(token).toMatch(/^fft_[A-Za-z0-9_-]{43}$/);
    expect(pair.accessKeyId).toMatch(/^FLEETFLOW[A-Z2-7]{11}$/);
    expect(pair.secretAccessKey).toHaveLength(40);
    expect([mode(join(dir, 'api-token')), mode(join(dir, 'aws-credentials'))]).toEqual(['600', '600']);
    expect(ensureApiToken(dir)).toBe(token);
    expect(ensureLocalKeyPair(dir)).toEqual(pair);
    expect(readLocalKeyPair(dir)).toEqual(pair);
  });

  it('are replaced when asked (a copy others could read)', () => {
    const token = ensureApiToken(dir);
    const pair = ensureLocalKeyPair(dir);
    expect(ensureApiToken(dir, { replace: true })).not.toBe(token);
    expect(ensureLocalKeyPair(dir, { replace: true }).secretAccessKey).not.toBe(pair.secretAccessKey);
  });

  it('read nothing from a folder without them', () => {
    expect(readLocalKeyPair(join(root, 'nowhere'))).toBeUndefined();
  });
});
