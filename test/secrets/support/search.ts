import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Looking for a marker the way an attacker with read access would: in the text as stored, and in
 * every encoding fleetflow or a provider client might have turned it into on the way (base64 for
 * Exoscale's user-data, base64url, percent-encoding for CloudStack's query strings).
 */
export function reveals(text: string, marker: string): boolean {
  if (text.includes(marker)) return true;
  for (const token of text.match(/[A-Za-z0-9+/_-]{16,}={0,2}/g) ?? []) {
    for (const encoding of ['base64', 'base64url'] as const) {
      if (Buffer.from(token, encoding).toString('latin1').includes(marker)) return true;
    }
  }
  try {
    if (decodeURIComponent(text).includes(marker)) return true;
  } catch {
    // not percent-encoded
  }
  return false;
}

/** Every file under a folder (LevelDB tables and logs, journals, key files, event logs…), as raw bytes. */
export function filesUnder(dir: string): Array<{ path: string; bytes: Buffer }> {
  const out: Array<{ path: string; bytes: Buffer }> = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) out.push(...filesUnder(path));
    else if (stat.isFile()) out.push({ path, bytes: readFileSync(path) });
  }
  return out;
}

/** The files whose bytes reveal the marker (binary read as latin1, so ASCII markers stay whole). */
export function filesRevealing(dir: string, marker: string): string[] {
  return filesUnder(dir)
    .filter((f) => reveals(f.bytes.toString('latin1'), marker))
    .map((f) => f.path);
}
