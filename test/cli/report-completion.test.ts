import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandTree } from '../../cli/commands/completion.ts';
import { DYNAMO_FOLDER } from '../../cli/data-source.ts';
import { buildProgram } from '../../cli/main.ts';
import { AuditLog } from '../../functions/store/audit.ts';
import { createDynamo, ensureTables, localDynamoConfig } from '../../functions/store/dynamo.ts';
import { JobStore } from '../../functions/store/jobs.ts';
import { tableNames } from '../../functions/store/tables.ts';
import { startDynalite } from '../../local/store/dynalite.ts';
import { runCli } from '../support/cli.ts';

const run = runCli;

describe('fleetflow report', () => {
  const root = mkdtempSync(join(tmpdir(), 'fleetflow-report-'));
  const dataDir = join(root, 'data');
  const empty = join(root, 'empty');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  beforeAll(async () => {
    for (const dir of [dataDir, empty]) {
      const local = await startDynalite({ path: join(dir, DYNAMO_FOLDER) });
      const dynamo = createDynamo(localDynamoConfig(local.endpoint));
      try {
        await ensureTables(dynamo.client, tableNames());
        if (dir === empty) continue;
        let tick = Date.UTC(2026, 10, 20, 18);
        const now = () => {
          tick += 1000;
          return new Date(tick);
        };
        const jobs = new JobStore(dynamo.doc, tableNames().jobs, { now });
        const audit = new AuditLog(dynamo.doc, tableNames().audit, { now });
        const trigger = { type: 'schedule', actor: 'office-hours' };
        await jobs.create({ jobId: 'sched-1', kind: 'power-schedule', trigger, request: {} });
        await jobs.setExecutionArn(
          'sched-1',
          'arn:aws:states:us-east-1:123456789012:execution:power-schedule:sched-1',
        );
        await jobs.transition('sched-1', 'RUNNING');
        const at = now().toISOString();
        await jobs.appendStep('sched-1', {
          name: 'plan',
          status: 'SUCCEEDED',
          startedAt: at,
          endedAt: at,
          detail: {
            schedule: 'office-hours',
            action: 'stop',
            dryRun: false,
            savings: { instanceHours: 26, money: 1.3, currency: 'EUR' },
          },
        });
        const intent = await audit.append({
          kind: 'intent',
          jobId: 'sched-1',
          trigger,
          provider: 'gcore',
          account: 'default',
          location: '1/76',
          instanceId: 'vm-1',
          action: 'stop',
        });
        await audit.appendOutcome(intent, { result: { status: 'pending' } });
        await jobs.recordResult('sched-1', 'vm-1', {
          status: 'SUCCEEDED',
          provider: 'gcore',
          instanceId: 'vm-1',
        });
        await jobs.transition('sched-1', 'SUCCEEDED');
      } finally {
        dynamo.destroy();
        await local.close();
      }
    }
  });

  it('activity: what was done, by whom, to what, as JSON, CSV and a table', async () => {
    const json = await run('report', 'activity', '--since', '2026-11-01', '--data-dir', dataDir, '--json');
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<Record<string, string>>;
    expect(rows.map((r) => [r.action, r.by, r.instance, r.outcome])).toEqual([
      ['stop', 'schedule:office-hours', 'vm-1', 'done'],
      ['job ended', 'schedule:office-hours', 'vm-1', 'SUCCEEDED'],
    ]);
    const csv = await run('report', 'activity', '--since', '2026-11-01', '--data-dir', dataDir, '--csv');
    expect(csv.stdout.split('\r\n')[0]).toBe('at,job,kind,by,action,provider,instance,outcome');
    expect(csv.stdout).toContain(',stop,gcore/default/1/76,vm-1,done');
    const text = await run(
      'report',
      'activity',
      '--instance',
      'vm-1',
      '--since',
      '2026-11-01',
      '--data-dir',
      dataDir,
    );
    expect(text.stdout).toMatch(/^AT\s+JOB\s+KIND\s+BY\s+ACTION/);
  });

  it('savings: the recorded per-run figures of a month, and plainly nothing when there are none', async () => {
    const json = await run('report', 'savings', '--month', '2026-11', '--data-dir', dataDir, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      month: '2026-11',
      totals: { runs: 1, instanceHours: 26, money: 1.3, currency: 'EUR' },
      runs: [{ job: 'sched-1', schedule: 'office-hours' }],
    });
    const none = await run('report', 'savings', '--month', '2026-11', '--data-dir', empty);
    expect(none.stdout).toMatch(/^no schedule stop runs with savings figures in 2026-11/);
    expect((await run('report', 'savings', '--month', 'November', '--data-dir', empty)).code).toBe(2);
  });
});

describe('fleetflow completion and --json', () => {
  it('prints a bash and a zsh script generated from the program', async () => {
    const bash = await run('completion', 'bash');
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -o default -F _fleetflow fleetflow');
    expect(bash.stdout).toContain("'report savings') words='--month --json --csv");
    const zsh = await run('completion', 'zsh');
    expect(zsh.stdout.startsWith('#compdef fleetflow')).toBe(true);
    expect((await run('completion', 'fish')).code).toBe(2);
  });

  it('offers --json on every command', () => {
    const leaves = commandTree(buildProgram()).filter((n) => n.subcommands.length === 0 && n.path !== 'help');
    expect(leaves.length).toBeGreaterThan(25);
    expect(leaves.filter((n) => !n.options.includes('--json')).map((n) => n.path)).toEqual([]);
  });

  it('turns missing provider credentials into the variables to set', async () => {
    const saved = { ...process.env };
    for (const k of ['EXOSCALE_API_KEY', 'EXOSCALE_API_SECRET']) delete process.env[k];
    try {
      const r = await run('instances', 'list', '--provider', 'exoscale', '--zone', 'ch-gva-2');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/exoscale needs credentials: set EXOSCALE_API_KEY and EXOSCALE_API_SECRET/);
    } finally {
      process.env = saved;
    }
  });
});
