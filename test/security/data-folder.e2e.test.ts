import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS } from '../../functions/providers/registry.ts';
import { signedHeaders } from '../../functions/webhooks/standard-webhooks.ts';
import { API_TOKEN_FILE, AWS_CREDENTIALS_FILE } from '../../local/auth/data-folder.ts';

/**
 * The data folder of a real `fleetflow start` (its own process, as a user runs it) is private to
 * its user: every folder 0700, every file 0600 — dynalite's LevelDB files, the endpoints, the key
 * pair, the token, the webhook secret, the execution journals, the synthesized app. A folder left open by an earlier
 * version (0755, files 0644) is tightened at start with one line saying so, and the token and key
 * pair others could read are replaced.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'fleetflow.mjs');
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) =>
      k !== 'FLEETFLOW_WEBHOOK_SECRET' &&
      !Object.values(PROVIDERS).some((d) => d.credentialEnv.includes(k)) &&
      !k.startsWith('VITEST') &&
      k !== 'NODE_OPTIONS',
  ),
) as NodeJS.ProcessEnv;

/** Every entry under `dir` with its permission bits, symbolic links left out. */
function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = { '.': (lstatSync(dir).mode & 0o777).toString(8) };
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isSymbolicLink()) continue;
      out[relative(dir, path)] = (lstatSync(path).mode & 0o777).toString(8);
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return out;
}

describe('the data folder of fleetflow start', () => {
  const root = mkdtempSync(join(tmpdir(), 'fleetflow-security-folder-'));
  const dataDir = join(root, 'data');
  const planted = 'fft_planted-token-others-could-read-0123456789';
  let start: ChildProcess;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    // A folder as an older version (or a careless copy) left it: open to everyone.
    mkdirSync(join(dataDir, 'old'), { recursive: true, mode: 0o755 });
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'old'), 0o755);
    writeFileSync(join(dataDir, 'webhook-secret'), 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n', {
      mode: 0o644,
    });
    writeFileSync(join(dataDir, API_TOKEN_FILE), `${planted}\n`, { mode: 0o644 });
    writeFileSync(join(dataDir, 'old', 'events.jsonl'), '{}\n', { mode: 0o666 });
    chmodSync(join(dataDir, 'old', 'events.jsonl'), 0o666);

    start = spawn(process.execPath, [BIN, 'start', '--port', '0', '--data-dir', dataDir, '--json'], {
      cwd: root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    start.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    start.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const deadline = Date.now() + 150_000;
    while (!stdout.includes('\n')) {
      if (start.exitCode !== null || Date.now() > deadline)
        throw new Error(`fleetflow start did not come up:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 180_000);

  afterAll(async () => {
    if (start?.pid && start.exitCode === null) {
      const exited = new Promise((r) => start.once('exit', r));
      process.kill(-start.pid, 'SIGTERM');
      await exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('says in one line that it made an open folder private', () => {
    const lines = stderr.split('\n').filter((l) => l.includes('readable by other users'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'warn',
      message: `data folder ${dataDir} was readable by other users (the folder was 755): made private (folders 700, 4 entries tightened, files 600)`,
    });
  });

  it('keeps every folder 0700 and every file 0600 while it runs, LevelDB files included', async () => {
    // A job makes dynalite write (its log and tables), so its files are there to be checked.
    const { http } = JSON.parse(stdout.split('\n')[0]!) as { http: string };
    const token = readFileSync(join(dataDir, API_TOKEN_FILE), 'utf8').trim();
    const sent = await fetch(`${http}/overrides`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        kind: 'keep-running',
        scope: { schedule: 'nightly' },
        until: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    });
    expect(sent.status, await sent.clone().text()).toBe(201);
    // And a provisioning, signed with the webhook secret found in the folder: the engine journals it.
    const payload = readFileSync(join(ROOT, 'examples', 'provision.json'), 'utf8');
    const provision = await fetch(`${http}/webhooks/provision`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signedHeaders({ secrets: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id: 'msg_modes', payload }),
      },
      body: payload,
    });
    expect(provision.status, await provision.clone().text()).toBe(202);
    const deadline = Date.now() + 30_000;
    while (!Object.keys(modes(dataDir)).some((p) => p.startsWith('executions/')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));

    const seen = modes(dataDir);
    const levelDb = Object.keys(seen).filter(
      (p) => p.startsWith('dynamo/') && /\.(log|ldb)$|MANIFEST|CURRENT/.test(p),
    );
    expect(levelDb.length).toBeGreaterThan(0);
    expect(Object.keys(seen).filter((p) => p.startsWith('executions/')).length).toBeGreaterThan(0);
    for (const file of [
      'endpoints.json',
      'simulators.json',
      'webhook-secret',
      API_TOKEN_FILE,
      AWS_CREDENTIALS_FILE,
      'old/events.jsonl',
    ])
      expect(seen[file], file).toBe('600');
    const open = Object.entries(seen).filter(([path, mode]) => {
      const isDir = lstatSync(join(dataDir, path)).isDirectory();
      return mode !== (isDir ? '700' : '600');
    });
    expect(open).toEqual([]);
  });

  it('replaced the token others could read, and kept the webhook secret (senders hold it)', () => {
    const token = readFileSync(join(dataDir, API_TOKEN_FILE), 'utf8').trim();
    expect(token).not.toBe(planted);
    expect(token).toMatch(/^fft_[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(join(dataDir, 'webhook-secret'), 'utf8')).toContain(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    );
    expect(readFileSync(join(dataDir, AWS_CREDENTIALS_FILE), 'utf8')).toMatch(
      /^\[default\]\naws_access_key_id = FLEETFLOW[A-Z2-7]{11}\naws_secret_access_key = \S{40}$/m,
    );
  });
});
