import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/config/load.ts';
import { createLogger } from '../../functions/log.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';
import { runCli } from '../support/cli.ts';

/**
 * Upcoming warnings where people look ahead: `GET /schedules/plan`, `fleetflow schedule plan` and
 * the dashboard's plan feed, from a running start with a schedule that warns 45 minutes before
 * its stops (one every day).
 */

let runtime: Runtime;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-plan-warn-'));
  const probe = { accounts: [{ provider: 'exoscale', locations: ['ch-gva-2'] }] };
  runtime = await startRuntime({
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.01,
    simulator: { transitionMs: 20, operationMs: 20, fleetSize: 3 },
    providers: ['exoscale'],
    env: {},
    logger: createLogger({ level: 'silent' }),
    scheduler: false,
    config: validateConfig({
      ...probe,
      schedules: {
        daily: {
          timezone: 'Europe/Zurich',
          periods: [
            { days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '07:00', stop: '19:00' },
          ],
          targets: [{ provider: 'exoscale', labels: { env: 'dev' } }],
          warn: '45m',
        },
      },
    }),
  });
}, 120_000);

afterAll(async () => {
  await runtime?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('upcoming warnings', () => {
  it('are in the plan API, the dashboard feed and `schedule plan`, 45 minutes before each stop', async () => {
    const plan = (await (await fetch(`${runtime.urls.http}/schedules/plan?days=2`)).json()) as {
      warnings: Array<{ schedule: string; warnAt: string; stopAt: string; instances: number }>;
      instances: Array<{ events: Array<{ action: string; at: string; warnAt?: string }> }>;
    };
    // One a day (a DST change may move one across the window's edge).
    expect(plan.warnings.length).toBeGreaterThanOrEqual(1);
    expect(plan.warnings.length).toBeLessThanOrEqual(3);
    for (const w of plan.warnings) {
      expect(w.schedule).toBe('daily');
      expect(Date.parse(w.stopAt) - Date.parse(w.warnAt)).toBe(45 * 60_000);
    }
    for (const i of plan.instances)
      for (const e of i.events.filter((x) => x.action === 'stop'))
        expect(Date.parse(e.at) - Date.parse(e.warnAt!)).toBe(45 * 60_000);

    const feed = (await (await fetch(`${runtime.urls.http}/api/dashboard/plan?days=7`)).json()) as {
      warnings?: unknown[];
    };
    expect(feed.warnings!.length).toBeGreaterThanOrEqual(6);
    expect(feed.warnings!.length).toBeLessThanOrEqual(8);

    const cli = await runCli('schedule', 'plan', '--days', '2', '--data-dir', dataDir);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('warnings:');
    expect(cli.stdout).toMatch(/daily: notice before the \d\d:\d\dZ stop \(\d+ instances?\)/);
  });
});
