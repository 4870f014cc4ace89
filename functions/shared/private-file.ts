import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * Reads a JSON key file that only its owner may read (the audit keys, the secrets key of a data
 * folder). A file group or others can read is refused: the key it holds protects nothing any more.
 * Errors name the file and never its content; `fail` makes them the caller's own error class.
 */
export function readPrivateJson(
  path: string,
  what: string,
  fail: (message: string, cause?: unknown) => Error,
): unknown {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    throw fail(`${what} ${path} cannot be read (fleetflow start creates it)`, error);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw fail(
      `${what} ${path} is readable by others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`,
    );
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw fail(`${what} ${path} is not JSON`, error);
  }
}

/**
 * Creates a key file holding 32 random bytes (`{"key":"<base64url>"}`, mode 0600) unless it
 * exists, and returns its `file:` reference. Never rewritten: what was sealed or signed under the
 * old key would no longer check. 'wx' so two processes starting at once cannot both write one.
 */
export function ensurePrivateKeyFile(path: string): string {
  try {
    writeFileSync(path, `${JSON.stringify({ key: randomBytes(32).toString('base64url') })}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return pathToFileURL(path).href;
}
