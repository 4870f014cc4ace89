import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { simulatorAccounts } from '../../../cli/commands/sim.ts';
import type { ComputeProvider, Instance, ProviderId } from '../../../functions/providers/port.ts';
import { providerDefinition } from '../../../functions/providers/registry.ts';
import { isTerminal, type Job, type JobWithResults } from '../../../functions/store/jobs.ts';
import { signedHeaders } from '../../../functions/webhooks/standard-webhooks.ts';
import { readApiToken, readLocalKeyPair } from '../../../local/auth/data-folder.ts';
import { createSimulator } from '../../../sim/index.ts';
import type { SimulatorBase } from '../../../sim/kit/index.ts';
import { CONTRACT_FIXTURES } from '../../contract/fixtures.ts';

/**
 * The crash rig: `fleetflow start` as a real child process on a data folder, pointed by its config
 * file at provider simulators that run in THIS process — so provider state outlives every kill,
 * exactly as `fleetflow sim --all` gives a user. The runtime is killed with SIGKILL (no chance to
 * clean up) and started again on the same folder.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin/fleetflow.mjs');

/** Time scale of the runtime's Waits and retries: fast flows, same shape. */
export const CRASH_TIME_SCALE = 0.02;
/** How many kills a scenario survives (FLEETFLOW_CRASH_KILLS for more). */
export const KILLS = Number(process.env.FLEETFLOW_CRASH_KILLS ?? 3);
/** The seed of the kill moments (FLEETFLOW_CRASH_SEED to replay another run). */
export const SEED = Number(process.env.FLEETFLOW_CRASH_SEED ?? 20261130);

export interface Running {
  http: string;
  sfn: string;
  dynamodb: string;
  /** What the start did with the work the last one left (fleetflow start --json prints it). */
  recovery: Record<string, unknown>;
  child: ChildProcess;
  /** From spawn to the ready line: the restart's recovery included. */
  readyMs: number;
}

export interface RigOptions {
  providers: ProviderId[];
  /** Extra config file content (schedules, policies). */
  config?: Record<string, unknown>;
  /** Simulator timing. */
  transitionMs?: number;
  operationMs?: number;
  fleetSize?: number;
}

export class Rig {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-crash-'));
  readonly sims: Partial<Record<ProviderId, SimulatorBase>> = {};
  readonly configFile = join(this.dataDir, 'fleetflow.config.yaml');
  env: Record<string, string> = {};
  running?: Running;
  /** Everything the runtime wrote to stderr, across restarts. */
  stderr = '';
  starts = 0;

  private constructor(readonly options: RigOptions) {}

  static async create(options: RigOptions): Promise<Rig> {
    const rig = new Rig(options);
    for (const provider of options.providers) {
      rig.sims[provider] = await createSimulator(provider, {
        seed: 7,
        fleetSize: options.fleetSize ?? 2,
        transitionMs: options.transitionMs ?? 40,
        operationMs: options.operationMs ?? 40,
      }).start();
    }
    const setup = simulatorAccounts(Object.values(rig.sims));
    rig.env = setup.env;
    writeFileSync(rig.configFile, stringify({ accounts: setup.accounts, ...options.config }));
    return rig;
  }

  /** Starts `fleetflow start` on the folder and waits for its ready line (a failed start throws). */
  async start(timeoutMs = 120_000): Promise<Running> {
    const began = performance.now();
    this.starts++;
    const child = spawn(
      process.execPath,
      [BIN, 'start', '--port', '0', '--data-dir', this.dataDir, '--config', this.configFile, '--json'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ...this.env,
          FLEETFLOW_TIME_SCALE: String(CRASH_TIME_SCALE),
          FLEETFLOW_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stderr!.on('data', (d) => {
      this.stderr += String(d);
    });
    const ready = await new Promise<Omit<Running, 'child' | 'readyMs'>>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no ready line within ${timeoutMs} ms`)), timeoutMs);
      child.stdout!.on('data', (d) => {
        out += String(d);
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as Omit<Running, 'child' | 'readyMs'>);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `fleetflow start exited (${code ?? signal}) before it was ready:\n${this.stderr.slice(-2000)}`,
          ),
        );
      });
    });
    this.running = { ...ready, child, readyMs: Math.round(performance.now() - began) };
    return this.running;
  }

  /** SIGKILL: no handler runs, nothing is flushed or closed. */
  async kill(): Promise<void> {
    const child = this.running?.child;
    this.running = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    await this.kill();
    for (const sim of Object.values(this.sims)) await sim.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  get http(): string {
    if (!this.running) throw new Error('the runtime is not running');
    return this.running.http;
  }

  webhookSecret(): string {
    return readFileSync(join(this.dataDir, 'webhook-secret'), 'utf8').trim();
  }

  /** Headers a state-changing request to the running start needs (its API token), as the CLI sends. */
  authorized(): Record<string, string> {
    return { 'content-type': 'application/json', authorization: `Bearer ${readApiToken(this.dataDir)}` };
  }

  /** The key pair the running start's Step Functions and DynamoDB endpoints accept. */
  keyPair(): { accessKeyId: string; secretAccessKey: string } {
    const pair = readLocalKeyPair(this.dataDir);
    if (!pair) throw new Error('no key pair in the data folder: start the runtime first');
    return pair;
  }

  /** POSTs a signed delivery; network errors (a kill mid-request) come back as status 0. */
  async deliver(id: string, body: unknown): Promise<{ status: number; json?: unknown }> {
    const payload = JSON.stringify(body);
    try {
      const res = await fetch(`${this.http}/webhooks/provision`, {
        method: 'POST',
        body: payload,
        headers: {
          'content-type': 'application/json',
          ...signedHeaders({ secrets: this.webhookSecret(), id, payload }),
        },
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    } catch {
      return { status: 0 };
    }
  }

  async get<T>(path: string): Promise<{ status: number; json: T }> {
    const res = await fetch(`${this.http}${path}`);
    return { status: res.status, json: (await res.json()) as T };
  }

  /** A job as GET /jobs/{id} serves it: with its first page of results by target. */
  async job(jobId: string): Promise<JobWithResults | undefined> {
    const res = await this.get<{ job: JobWithResults }>(`/jobs/${jobId}`);
    return res.status === 200 ? res.json.job : undefined;
  }

  /** Every job, read through the jobs API (all pages). */
  async jobs(): Promise<Job[]> {
    const out: Job[] = [];
    let cursor: string | undefined;
    do {
      const res = await this.get<{ items: Job[]; cursor?: string }>(
        `/jobs?limit=200${cursor ? `&cursor=${cursor}` : ''}`,
      );
      out.push(...res.json.items);
      cursor = res.json.cursor;
    } while (cursor);
    return out;
  }

  /** Waits until every given job is terminal; returns them. */
  async settle(jobIds: string[], timeoutMs = 180_000): Promise<JobWithResults[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const jobs = await Promise.all(jobIds.map((id) => this.job(id)));
      if (jobs.every((j) => j && isTerminal(j.status))) return jobs as JobWithResults[];
      if (Date.now() > until) {
        const open = jobs
          .map((j, i) => `${jobIds[i]}:${j?.status ?? 'missing'}`)
          .filter((s) => !/SUCCEEDED|FAILED|PARTIAL|CANCELLED|INTERRUPTED/.test(s));
        throw new Error(`jobs not terminal after ${timeoutMs} ms: ${open.join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The adapter for a simulator, as a user's `fleetflow instances` would build it. */
  adapter(provider: ProviderId): ComputeProvider {
    const sim = this.sims[provider]!;
    return providerDefinition(provider).createAdapter({
      location: sim.defaultLocation,
      credentials: sim.credentials,
      endpoint: sim.endpoint(sim.defaultLocation),
    });
  }

  /** The live instances a job built: by its job label, or by name where the provider has no labels. */
  async instancesOf(provider: ProviderId, jobId: string, name: string): Promise<Instance[]> {
    const adapter = this.adapter(provider);
    const all = adapter.capabilities.labels.supported
      ? await adapter.list({ labels: { 'fleetflow-job': jobId } })
      : (await adapter.list()).filter((i) => i.name === name);
    return all.filter((i) => i.state !== 'deleted' && i.state !== 'deleting');
  }
}

/**
 * A full provisioning request for a simulator (snapshot and scale where the provider has them),
 * from the contract fixtures: the same shape as a user's webhook body.
 */
export function provisionRequest(
  provider: ProviderId,
  sim: SimulatorBase,
  name: string,
  options: { createOnly?: boolean } = {},
): Record<string, unknown> {
  const def = providerDefinition(provider);
  const { createSpec: spec, scaleTo } = CONTRACT_FIXTURES[provider];
  const location = sim.defaultLocation;
  const where: Record<string, unknown> =
    provider === 'gcore'
      ? { project: Number(location.split('/')[0]), region: Number(location.split('/')[1]) }
      : provider === 'cloudca'
        ? { serviceCode: location.split('/')[0], environment: location.split('/')[1] }
        : provider === 'genesiscloud'
          ? { region: location }
          : { zone: location };
  return {
    provider,
    ...where,
    name,
    type: spec.type,
    template: spec.template,
    ...(spec.diskSize && { diskSize: Math.max(spec.diskSize, 10) }),
    ...(spec.sshKey && { sshKey: spec.sshKey }),
    ...(typeof spec.extra?.network === 'string' && { network: spec.extra.network }),
    labels: { team: 'crash' },
    ...(!options.createOnly && def.capabilities.snapshot.supported && { snapshot: { name: `${name}-base` } }),
    ...(!options.createOnly && { scaleTo }),
    onFailure: 'delete',
  };
}

/** A small seeded generator: the same seed, the same kill moments. */
export { seededRandom as seeded } from '../../../sim/kit/ids.ts';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
