import { randomBytes, randomInt } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { registerSecret } from '../../functions/shared/redact.ts';
import type { AwsKeyPair } from './sigv4.ts';

/**
 * The data folder of `fleetflow start` is private to its user: the folder (and every folder in it)
 * 0700, every file 0600 — jobs and audit events in dynalite's LevelDB files, the journal, the
 * endpoints, the keys, the webhook secret and the two credentials kept here for the local
 * endpoints:
 *   - `api-token`: the local API token, sent as `Authorization: Bearer …` to the HTTP API's
 *     state-changing routes (the CLI reads it here; the dashboard gets it in its page);
 *   - `aws-credentials`: the one AWS key pair the local Step Functions and DynamoDB endpoints
 *     accept, in the AWS shared credentials format (so the AWS CLI can use it too).
 * Both are made on first start, mode 0600, and kept; a copy others could read is replaced.
 */

export const API_TOKEN_FILE = 'api-token';
export const AWS_CREDENTIALS_FILE = 'aws-credentials';

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;
/** Modes mean nothing on Windows: the folder inherits its ACLs there. */
const POSIX = process.platform !== 'win32';

export interface Tightened {
  /** The folder itself was open to others (its mode before, e.g. 0o755). */
  folderMode?: number;
  /** Paths (relative to the folder) that group or others could read or enter, now private. */
  paths: string[];
}

/** One line for the user: what was open and is now private; undefined when nothing was. */
export function tightenedLine(dataDir: string, t: Tightened): string | undefined {
  if (t.folderMode === undefined && t.paths.length === 0) return undefined;
  const folder = t.folderMode === undefined ? '' : ` (the folder was ${(t.folderMode & 0o777).toString(8)})`;
  return `data folder ${dataDir} was readable by other users${folder}: made private (folders 700, ${t.paths.length} ${t.paths.length === 1 ? 'entry' : 'entries'} tightened, files 600)`;
}

/**
 * Creates the folder 0700, or makes an existing one private: every folder in it 0700, every file
 * 0600 (symbolic links are left alone, never followed).
 */
export function secureDataFolder(dataDir: string): Tightened {
  mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR });
  const tightened: Tightened = { paths: [] };
  if (!POSIX) return tightened;
  // The folder itself may be a symbolic link to where the data lives: its target is what counts.
  const rootMode = statSync(dataDir).mode;
  if ((rootMode & 0o077) !== 0) {
    chmodSync(dataDir, PRIVATE_DIR);
    tightened.folderMode = rootMode & 0o777;
  }
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) continue;
      const mode = lstatSync(path).mode;
      if (entry.isDirectory()) {
        if ((mode & 0o077) !== 0) {
          chmodSync(path, PRIVATE_DIR);
          tightened.paths.push(relative(dataDir, path));
        }
        walk(path);
      } else if ((mode & 0o077) !== 0) {
        chmodSync(path, PRIVATE_FILE);
        tightened.paths.push(relative(dataDir, path));
      }
    }
  };
  walk(dataDir);
  return tightened;
}

/** Writes a new private file, or keeps the one there (two starts at once cannot both write one). */
function createPrivate(path: string, content: string, replace: boolean): void {
  if (replace) rmSync(path, { force: true });
  try {
    writeFileSync(path, content, { mode: PRIVATE_FILE, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

// ---- the local API token -------------------------------------------------------------------------

/** `fft_` and 43 characters of randomness (256 bits); the prefix lets secret scanners spot it. */
export function newApiToken(): string {
  return `fft_${randomBytes(32).toString('base64url')}`;
}

/**
 * The data folder's API token, made on first use. `replace`: a copy others could read (see
 * secureDataFolder) is replaced rather than trusted.
 */
export function ensureApiToken(dataDir: string, options: { replace?: boolean } = {}): string {
  const path = join(dataDir, API_TOKEN_FILE);
  createPrivate(path, `${newApiToken()}\n`, options.replace ?? false);
  const token = readApiToken(dataDir);
  if (!token) throw new Error(`${path} holds no token: remove it and start again`);
  return token;
}

/** The token in the data folder, if any; registered with the log redactor. */
export function readApiToken(dataDir: string): string | undefined {
  const token = readIfPresent(join(dataDir, API_TOKEN_FILE))?.trim();
  if (!token) return undefined;
  registerSecret(token);
  return token;
}

// ---- the local AWS key pair -------------------------------------------------------------------------

const KEY_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A key pair shaped like AWS's: a 20-character key id (FLEETFLOW…) and a 40-character secret. */
export function newKeyPair(): AwsKeyPair {
  let id = 'FLEETFLOW';
  while (id.length < 20) id += KEY_ID_ALPHABET[randomInt(KEY_ID_ALPHABET.length)];
  return { accessKeyId: id, secretAccessKey: randomBytes(30).toString('base64url') };
}

const ini = (pair: AwsKeyPair) =>
  `# The key pair fleetflow's local Step Functions and DynamoDB endpoints accept (this data folder only).\n[default]\naws_access_key_id = ${pair.accessKeyId}\naws_secret_access_key = ${pair.secretAccessKey}\n`;

/** The data folder's AWS key pair, made on first use (`replace` as for ensureApiToken). */
export function ensureLocalKeyPair(dataDir: string, options: { replace?: boolean } = {}): AwsKeyPair {
  const path = join(dataDir, AWS_CREDENTIALS_FILE);
  createPrivate(path, ini(newKeyPair()), options.replace ?? false);
  const pair = readLocalKeyPair(dataDir);
  if (!pair) throw new Error(`${path} holds no key pair: remove it and start again`);
  return pair;
}

/** The key pair in the data folder (its `[default]` profile), if any; the secret is registered with the redactor. */
export function readLocalKeyPair(dataDir: string): AwsKeyPair | undefined {
  const text = readIfPresent(join(dataDir, AWS_CREDENTIALS_FILE));
  if (!text) return undefined;
  const value = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*(\\S+)\\s*$`, 'm').exec(text)?.[1];
  const accessKeyId = value('aws_access_key_id');
  const secretAccessKey = value('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey) return undefined;
  registerSecret(secretAccessKey);
  return { accessKeyId, secretAccessKey };
}
