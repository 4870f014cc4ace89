import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFrom } from '../../cli/commands/config.ts';
import { buildProgram } from '../../cli/main.ts';
import { DATA_DIR_HELP, DEFAULT_DATA_DIR, URL_HELP } from '../../cli/running-start.ts';
import { createLogger } from '../../functions/log.ts';
import { PROVIDERS } from '../../functions/providers/registry.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';
import { runCli } from '../support/cli.ts';

/** How every command reaches a running `fleetflow start`, and how the help reads. */

function commands(program: Command): Array<{ path: string; command: Command }> {
  const out: Array<{ path: string; command: Command }> = [];
  const walk = (c: Command, path: string) => {
    out.push({ path, command: c });
    for (const sub of c.commands) walk(sub, `${path} ${sub.name()}`.trim());
  };
  walk(program, '');
  return out;
}

// Words a help text may start with in capitals: names and acronyms.
const PROPER = /^(AWS|HTTP|ISO|JSON|Exoscale|Gcore|Genesis|Standard Webhooks)\b/;

describe('help texts', () => {
  const all = commands(buildProgram());

  it('speak in one voice: lower case (but for names), no trailing period, no internal references', () => {
    const odd: string[] = [];
    for (const { path, command } of all) {
      const texts = [
        [`${path || 'fleetflow'}`, command.description()],
        ...command.options.map((o) => [`${path} ${o.long}`, o.description]),
        ...command.registeredArguments.map((a) => [`${path} <${a.name()}>`, a.description]),
      ];
      for (const [where, text] of texts) {
        if (!text) continue;
        if (!/^[a-z`(]/.test(text) && !PROPER.test(text)) odd.push(`${where}: starts "${text.slice(0, 20)}"`);
        if (/\.$/.test(text)) odd.push(`${where}: ends with a period`);
        if (/\bissue\b|\bTODO\b|#\d/i.test(text)) odd.push(`${where}: "${text}"`);
      }
    }
    expect(odd).toEqual([]);
  });

  it('name the running start the same way everywhere: --data-dir (default .fleetflow) and --url BASE', () => {
    const dataDirs = all.flatMap(({ path, command }) =>
      command.options.filter((o) => o.long === '--data-dir').map((o) => ({ path, o })),
    );
    // Every command that talks to a running start (or its data) can be pointed at it.
    const talking = all
      .filter(({ path }) =>
        /^(webhook send|event send|schedule (plan|run)|policy (check|sweep)|instances \w+|jobs \w+|audit \w+|override \w+|report \w+)$/.test(
          path,
        ),
      )
      .map(({ path }) => path);
    expect(talking.length).toBeGreaterThan(20);
    expect(dataDirs.map((d) => d.path)).toEqual(expect.arrayContaining(talking));
    for (const { path, o } of dataDirs) {
      expect(o.defaultValue, path).toBe(DEFAULT_DATA_DIR);
      if (path !== 'start') expect(o.description, path).toBe(DATA_DIR_HELP);
    }
    const urls = all.flatMap(({ path, command }) =>
      command.options.filter((o) => o.long === '--url').map((o) => ({ path, o })),
    );
    expect(urls.map((u) => u.path).sort()).toEqual(['event send', 'schedule plan', 'webhook send']);
    for (const { o } of urls) expect(o.description).toBe(URL_HELP);
  });
});

describe('commands against a running fleetflow start', () => {
  const root = mkdtempSync(join(tmpdir(), 'fleetflow-running-start-'));
  const dataDir = join(root, '.fleetflow');
  const credentialEnv = Object.values(PROVIDERS).flatMap((d) => d.credentialEnv);
  const saved = Object.fromEntries(credentialEnv.map((k) => [k, process.env[k]]));
  let runtime: Runtime;

  beforeAll(async () => {
    for (const k of credentialEnv) delete process.env[k];
    runtime = await startRuntime({
      dataDir,
      port: 0,
      persist: false,
      timeScale: 0.01,
      simulator: { transitionMs: 20, operationMs: 20 },
      env: {},
      config: configFrom('examples/fleetflow.config.yaml', true),
      scheduler: false,
      logger: createLogger({ component: 'runtime' }, 'silent'),
    });
  });

  afterAll(async () => {
    await runtime?.close();
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
    rmSync(root, { recursive: true, force: true });
  });

  it('publishes its simulators for the other commands, readable by its user only', () => {
    expect(statSync(join(dataDir, 'simulators.json')).mode & 0o077).toBe(0);
  });

  it('instances without credentials use the running start’s simulator, and say so in one line', async () => {
    const r = await runCli('instances', 'list', '--provider', 'exoscale', '--data-dir', dataDir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('worker-01');
    const sim = runtime.simulators.exoscale!;
    expect(r.stderr).toBe(
      `no EXOSCALE_API_KEY/EXOSCALE_API_SECRET set: using the simulator of the running \`fleetflow start\` (${sim.endpoint('ch-gva-2')})\n`,
    );
  });

  it('policy check --provider --location explains the policies on the simulator’s instances', async () => {
    const r = await runCli(
      'policy',
      'check',
      '--config',
      'examples/fleetflow.config.yaml',
      '--provider',
      'exoscale-v1',
      '--location',
      'ch-gva-2',
      '--data-dir',
      dataDir,
      '--json',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^no EXOSCALE_API_KEY\/EXOSCALE_API_SECRET set: using the simulator/);
    const out = JSON.parse(r.stdout) as {
      explanations: Array<{
        instance: { name: string };
        policies: Array<{ policy: string; match: boolean }>;
      }>;
    };
    const worker = out.explanations.find((e) => e.instance.name === 'worker-05')!;
    expect(worker.policies.find((p) => p.policy === 'reboot-unhealthy')?.match).toBe(true);
    const prod = out.explanations.find((e) => e.instance.name === 'web-06')!;
    expect(prod.policies.find((p) => p.policy === 'reboot-unhealthy')?.match).toBe(false);
  });

  it('a simulator at --endpoint still needs the credentials it printed', async () => {
    const r = await runCli(
      'instances',
      'list',
      '--provider',
      'exoscale',
      '--endpoint',
      'http://127.0.0.1:9/v2',
      '--data-dir',
      dataDir,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('exoscale needs credentials: set EXOSCALE_API_KEY and EXOSCALE_API_SECRET');
  });

  it('event send --url takes the base URL (and the API token from the start’s data folder)', async () => {
    const r = await runCli(
      'event',
      'send',
      'examples/event.json',
      '--url',
      runtime.urls.http,
      '--data-dir',
      dataDir,
      '--json',
    );
    expect(r.code).toBe(0);
    const answer = JSON.parse(r.stdout) as {
      status: number;
      body: { jobs: Array<{ policy: string; jobId: string }> };
    };
    expect(answer.status).toBe(202);
    expect(answer.body.jobs.map((j) => j.policy)).toEqual(['reboot-unhealthy']);
    // Let the remediation finish before the runtime closes under it.
    const jobId = answer.body.jobs[0]!.jobId;
    let status = 'QUEUED';
    for (let i = 0; i < 200 && ['QUEUED', 'RUNNING'].includes(status); i++) {
      await new Promise((done) => setTimeout(done, 100));
      const shown = await runCli('jobs', 'show', jobId, '--data-dir', dataDir, '--json');
      status = (JSON.parse(shown.stdout) as { job: { status: string } }).job.status;
    }
    expect(status).toBe('SUCCEEDED');
  });

  it('schedule plan finds the start through --data-dir alone', async () => {
    const r = await runCli('schedule', 'plan', '--days', '2', '--data-dir', dataDir, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty('instances');
  });

  it('with no start running, says where it looked and what to do', async () => {
    const empty = join(root, 'nothing-here');
    for (const args of [
      ['schedule', 'plan'],
      ['schedule', 'run', 'office-hours', '--config', 'examples/fleetflow.config.yaml'],
      ['event', 'send', 'examples/event.json'],
      ['policy', 'sweep', 'downsize-staging', '--config', 'examples/fleetflow.config.yaml'],
    ]) {
      const r = await runCli(...args, '--data-dir', empty);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(`no running \`fleetflow start\` found in ${empty}`);
      expect(r.stderr).toContain('hint: start it with `npm start`');
    }
  });
});
