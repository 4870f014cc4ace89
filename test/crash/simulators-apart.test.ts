import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { SimulatorAccounts } from '../../cli/commands/sim.ts';
import { validateConfig } from '../../functions/config/load.ts';
import { PROVIDER_IDS } from '../../functions/providers/port.ts';
import { providerDefinition } from '../../functions/providers/registry.ts';
import type { SimulatorBase } from '../../sim/kit/index.ts';
import { provision, waitForJob } from '../e2e/support/flow.ts';
import { startTestRuntime, type TestRuntime } from '../e2e/support/runtime.ts';
import { provisionRequest } from './support/rig.ts';

/**
 * `fleetflow sim --all` in its own process, and `fleetflow start` pointed at it by the accounts block
 * it prints: provider state then lives outside the runtime and outlives its restarts.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-apart-'));
let sims: ChildProcess | undefined;
let rt: TestRuntime | undefined;
afterAll(async () => {
  await rt?.close();
  sims?.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the simulators as their own process', () => {
  it('sim --all prints accounts that validate; an instance built through them outlives the runtime', async () => {
    sims = spawn(
      process.execPath,
      [
        'bin/fleetflow.mjs',
        'sim',
        '--all',
        '--port',
        '0',
        '--json',
        '--transition',
        '50',
        '--operation',
        '50',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const setup = await new Promise<SimulatorAccounts>((resolve, reject) => {
      let out = '';
      sims!.stdout!.on('data', (d) => {
        out += String(d);
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as SimulatorAccounts);
      });
      sims!.once('exit', (code) => reject(new Error(`fleetflow sim --all exited ${code}`)));
    });
    expect(setup.accounts.map((a) => a.provider)).toEqual([...PROVIDER_IDS]);
    const config = validateConfig({ accounts: setup.accounts });
    // The file names the variables; the credentials themselves are only in the environment.
    for (const value of Object.values(setup.env)) expect(JSON.stringify(config)).not.toContain(value);

    const options = { dataDir, persist: true, providers: ['exoscale' as const], config, env: setup.env };
    rt = await startTestRuntime({ ...options, scheduler: false });
    expect(rt.runtime.simulators).toEqual({}); // none in this process: the accounts point at the other one
    const location = setup.accounts.find((a) => a.provider === 'exoscale')!.locations[0]!;
    const sim = { defaultLocation: location } as SimulatorBase;
    const jobId = await provision(rt.runtime, provisionRequest('exoscale', sim, 'apart-1'));
    expect((await waitForJob(rt.runtime, jobId)).job.status).toBe('SUCCEEDED');
    // Looked up as a user would: the printed endpoint and the exported credentials.
    const account = setup.accounts.find((a) => a.provider === 'exoscale')!;
    const adapter = () =>
      providerDefinition('exoscale').createAdapter({
        location,
        endpoint: account.endpoint.replace('{location}', location),
        credentials: Object.fromEntries(
          Object.entries(account.credentialsEnv).map(([field, variable]) => [field, setup.env[variable]!]),
        ),
      });
    const built = await adapter().list({ labels: { 'fleetflow-job': jobId } });
    expect(built).toHaveLength(1);

    await rt.close();
    rt = await startTestRuntime({ ...options, scheduler: false });
    expect((await adapter().get(built[0]!.id)).state).toBe('running');
    expect((await waitForJob(rt.runtime, jobId)).job.results[built[0]!.id]).toMatchObject({
      status: 'SUCCEEDED',
    });
  }, 180_000);
});
