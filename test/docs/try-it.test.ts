import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS } from '../../functions/providers/registry.ts';

/**
 * The README's "Try it" block, run as printed against `npm start`, in a folder laid out like a
 * fresh clone (package.json, bin/, examples/ and node_modules/ linked from this one, so the start's
 * `.fleetflow` is its own). Only two things differ from a person at a terminal: the start gets
 * `--port 0` (a free port, so a running `npm start` on 8787 is no obstacle; the commands find the
 * start through `.fleetflow` whatever its port), and `npx fleetflow` is run as
 * `node <repo>/bin/fleetflow.mjs`, the file npx would run.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'fleetflow.mjs');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The commands between the try-it markers, without their comments. */
function tryItCommands(readme: string): string[][] {
  const block = /<!-- try-it:start[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- try-it:end -->/.exec(readme);
  if (!block) throw new Error('README.md has no try-it block');
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean)
    .map((line) => line.split(/\s+/));
}

// A person's machine may hold real credentials; the demo runs on the simulators.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) =>
      k !== 'FLEETFLOW_WEBHOOK_SECRET' &&
      !Object.values(PROVIDERS).some((d) => d.credentialEnv.includes(k)) &&
      !k.startsWith('VITEST') &&
      k !== 'NODE_OPTIONS',
  ),
) as NodeJS.ProcessEnv;

function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('the README try-it block', () => {
  const clone = mkdtempSync(join(tmpdir(), 'fleetflow-try-it-'));
  let start: ChildProcess;
  let startLog = '';
  const cli = (args: string[]) => run(process.execPath, [BIN, ...args], clone);

  beforeAll(async () => {
    for (const entry of ['package.json', 'bin', 'examples', 'node_modules'])
      symlinkSync(join(ROOT, entry), join(clone, entry));
    // `npm start`, in its own process group so that npm, the shell and node all end together.
    start = spawn('npm', ['start', '--', '--port', '0'], {
      cwd: clone,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    start.stdout?.on('data', (c: Buffer) => {
      startLog += c.toString();
    });
    start.stderr?.on('data', (c: Buffer) => {
      startLog += c.toString();
    });
    const endpoints = join(clone, '.fleetflow', 'endpoints.json');
    // Generous bounds: on a shared two-core machine a cold start and eight CLI processes take a while.
    const deadline = Date.now() + 150_000;
    while (!startLog.includes('fleetflow is running')) {
      if (start.exitCode !== null || Date.now() > deadline)
        throw new Error(`npm start did not come up:\n${startLog}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(existsSync(endpoints)).toBe(true);
  }, 180_000);

  afterAll(async () => {
    if (start?.pid && start.exitCode === null) {
      const exited = new Promise((r) => start.once('exit', r));
      process.kill(-start.pid, 'SIGTERM');
      await exited;
    }
    rmSync(clone, { recursive: true, force: true });
  });

  it('starts with `npm start`, which loads the example config', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: { start: string };
    };
    expect(pkg.scripts.start).toBe('node bin/fleetflow.mjs start --config examples/fleetflow.config.yaml');
    expect(startLog).toContain('office-hours');
  });

  it('runs every command as printed, each exiting 0, and every job it started succeeds', async () => {
    const commands = tryItCommands(README);
    expect(commands.length).toBeGreaterThanOrEqual(6);
    const outputs: string[] = [];
    for (const words of commands) {
      expect(words.slice(0, 2), words.join(' ')).toEqual(['npx', 'fleetflow']);
      const r = await cli(words.slice(2));
      expect({ command: words.join(' '), code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
      outputs.push(r.stdout);
    }
    const printed = outputs.join('\n');
    expect(printed).toContain('"jobId": "prov-msg_try_it"');
    expect(printed).toMatch(/started job sched-office-hours-stop-/);
    expect(printed.match(/"policy": "reboot-unhealthy"/g)).toHaveLength(2);

    // The jobs the block started all finish, and finish well.
    // The local scheduler may start one of its own meanwhile (ci-nights' enforce sweep runs at
    // minute 30): only the block's jobs are counted.
    let jobs: Array<{ jobId: string; kind: string; status: string; trigger: { type: string } }> = [];
    const deadline = Date.now() + 180_000;
    do {
      await new Promise((r) => setTimeout(r, 500));
      jobs = (JSON.parse((await cli(['jobs', 'list', '--json'])).stdout) as typeof jobs).filter(
        (j) => j.trigger.type !== 'schedule',
      );
    } while (jobs.some((j) => ['QUEUED', 'RUNNING'].includes(j.status)) && Date.now() < deadline);
    expect(jobs.map((j) => j.kind).sort()).toEqual([
      'power-schedule',
      'provision',
      'remediation',
      'remediation',
    ]);
    expect(jobs.map((j) => [j.kind, j.status])).toEqual(jobs.map((j) => [j.kind, 'SUCCEEDED']));

    // A schedule run's skipped targets say why.
    const run = jobs.find((j) => j.kind === 'power-schedule')!;
    const shown = await cli(['jobs', 'show', run.jobId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/SKIPPED .*already stopped/);
    expect((await cli(['audit', 'verify'])).stdout).toMatch(
      /^ok: \d+ events in \d+ chain\(s\), every link intact/,
    );
  }, 480_000);
});
