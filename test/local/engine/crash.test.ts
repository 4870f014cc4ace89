import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthCrashFixture } from './fixtures/crash-stack.ts';

/**
 * Executions survive a kill -9 of the process running the engine: a real child process runs the
 * engine on a journal folder and is SIGKILLed during a Task, a Wait, a Map iteration and a child
 * execution; a second process on the same folder resumes. Each step's work is logged on every
 * call and its side effect is idempotent (as handlers must be): a step whose outcome was on
 * record before the kill is never called again, the step cut by the kill runs once more, and
 * every side effect is there exactly once.
 */

const WORKER = join(import.meta.dirname, 'fixtures', 'crash-worker.ts');
let template: string;
const dirs: string[] = [];
const children = new Set<ChildProcess>();

beforeAll(() => {
  template = JSON.stringify(synthCrashFixture());
}, 240_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Result {
  recovery: { resumed: string[]; interrupted: unknown[]; closed: string[] };
  executions: Array<{
    executionArn: string;
    stateMachineArn: string;
    status: string;
    output?: string;
    history: string[];
  }>;
}

function worker(dir: string, life: 1 | 2, machine: string, input: unknown): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, dir, machine, JSON.stringify(input)], {
    env: { ...process.env, FLEETFLOW_CRASH_DIR: dir, FLEETFLOW_CRASH_LIFE: String(life) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

const lines = (file: string): string[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

/** run → step → times it was called (and when). */
function invocations(dir: string): Map<string, number[]> {
  const calls = new Map<string, number[]>();
  for (const l of lines(join(dir, 'invocations.log'))) {
    const [, id, at] = l.split(' ') as [string, string, string];
    calls.set(id, [...(calls.get(id) ?? []), Number(at)]);
  }
  return calls;
}

async function until(check: () => boolean, what: string, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) =>
      code === 0 ? resolve(code) : reject(new Error(`worker exited ${code}: ${stderr}`)),
    );
  });
}

/** First life until `killAt` says so, SIGKILL, second life to the end; returns its result. */
async function crashAndResume(
  machine: string,
  input: Record<string, unknown>,
  killAt: (dir: string) => boolean,
): Promise<{ dir: string; result: Result }> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetflow-crash-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'template.json'), template);
  const first = worker(dir, 1, machine, { run: 'r1', ...input });
  const firstExit = new Promise((resolve) => first.on('exit', resolve));
  await until(() => killAt(dir), `the kill point of ${machine}`);
  process.kill(first.pid!, 'SIGKILL');
  await firstExit;
  expect(existsSync(join(dir, 'result.json'))).toBe(false);
  await exited(worker(dir, 2, machine, {}));
  return { dir, result: JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Result };
}

const effects = (dir: string) => lines(join(dir, 'effects.log')).sort();
const counts = (dir: string) => Object.fromEntries([...invocations(dir)].map(([id, at]) => [id, at.length]));
const called = (id: string) => (dir: string) => invocations(dir).has(id);

describe('executions survive kill -9 of the engine process', () => {
  it('during a Task: steps on record are not called again, the cut one runs again', async () => {
    const { dir, result } = await crashAndResume('steps', { hang: 'B' }, called('B'));
    expect(result.recovery.resumed).toHaveLength(1);
    const [exec] = result.executions;
    expect(exec?.status).toBe('SUCCEEDED');
    expect(counts(dir)).toEqual({ A: 1, B: 2, C: 1 });
    expect(effects(dir)).toEqual(['r1 A', 'r1 B', 'r1 C']);
    // The replay rebuilt the whole history: each Task once, as if nothing happened.
    expect(exec?.history.filter((t) => t === 'TaskSucceeded')).toHaveLength(3);
  });

  it('during a Wait: the recorded deadline holds, the Wait does not start over', async () => {
    const { dir, result } = await crashAndResume('waits', { hang: 'none' }, (d) => {
      const before = invocations(d).get('BeforeWait')?.[0];
      return before !== undefined && Date.now() > before + 500;
    });
    expect(result.executions[0]?.status).toBe('SUCCEEDED');
    expect(counts(dir)).toEqual({ BeforeWait: 1, AfterWait: 1 });
    const calls = invocations(dir);
    const before = calls.get('BeforeWait')![0]!;
    const after = calls.get('AfterWait')![0]!;
    const secondLife = Number(readFileSync(join(dir, 'life-2.started'), 'utf8'));
    // Not before the deadline set in the first life, and not a full 6 s after the restart.
    expect(after - before).toBeGreaterThanOrEqual(6000 - 50);
    expect(after).toBeLessThan(secondLife + 6000);
  });

  it('inside a Map: finished iterations are replayed, the cut one runs again', async () => {
    const items = ['i0', 'i1', 'i2', 'i3', 'i4', 'i5'];
    const { dir, result } = await crashAndResume('fanout', { hang: 'i3', items }, called('i3'));
    expect(result.executions[0]?.status).toBe('SUCCEEDED');
    expect(counts(dir)).toEqual({ i0: 1, i1: 1, i2: 1, i3: 2, i4: 1, i5: 1, AfterMap: 1 });
    expect(effects(dir)).toEqual([...items, 'AfterMap'].map((i) => `r1 ${i}`).sort());
  });

  it('inside a child execution: the child resumes, the parent re-attaches and never starts a second child', async () => {
    const { dir, result } = await crashAndResume('parent', { hang: 'Y' }, called('Y'));
    expect(result.recovery.resumed).toHaveLength(2);
    const byMachine = (name: string) =>
      result.executions.filter((e) => e.stateMachineArn.endsWith(`:${name}`));
    expect(byMachine('child-steps')).toHaveLength(1);
    expect(byMachine('child-steps')[0]?.status).toBe('SUCCEEDED');
    expect(byMachine('parent')[0]?.status).toBe('SUCCEEDED');
    expect(counts(dir)).toEqual({ P1: 1, X: 1, Y: 2, P2: 1 });
    expect(effects(dir)).toEqual(['r1 P1', 'r1 P2', 'r1 X', 'r1 Y']);
  });
});
