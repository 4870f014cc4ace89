import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import chromium from '@sparticuz/chromium';
import { type Browser, chromium as playwright } from 'playwright-core';

/**
 * The dashboard tests' browser comes from the npm registry: @sparticuz/chromium ships a headless
 * Chromium inside the package (brotli-compressed), so `npm ci` is the whole set-up, with no system
 * browser and no download. playwright-core drives it.
 *
 * The package unpacks into os.tmpdir() and reuses whatever `chromium` it finds there, whatever its
 * version; so it is unpacked once per package version into its own folder, staged and then renamed,
 * so that two test processes never start a half-written binary.
 */

const PACKAGE = fileURLToPath(new URL('../../node_modules/@sparticuz/chromium/', import.meta.url));

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--no-zygote',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The unpacked Chromium of the installed @sparticuz/chromium version. */
export async function chromiumExecutable(): Promise<string> {
  const { version } = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { version: string };
  const home = join(tmpdir(), `fleetflow-chromium-${version}`);
  const executable = join(home, 'chromium');
  if (existsSync(executable)) return executable;
  const staging = mkdtempSync(join(tmpdir(), 'fleetflow-chromium-staging-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = staging; // the package unpacks into os.tmpdir()
  try {
    await chromium.executablePath(join(PACKAGE, 'bin'));
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
  try {
    renameSync(staging, home);
  } catch (error) {
    // Another test process got there first: its copy is complete (renamed whole), use it.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(executable)) throw error;
  }
  return executable;
}

export async function launchChromium(): Promise<Browser> {
  return playwright.launch({ executablePath: await chromiumExecutable(), headless: true, args: ARGS });
}
