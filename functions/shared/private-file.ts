import { readFileSync, statSync } from 'node:fs';

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
