import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { UsageStore } from '../../functions/metrics/store.ts';
import { readUsage } from '../../functions/metrics/usage.ts';
import { closeAllPools } from '../../functions/providers/http/client.ts';
import { type ComputeProvider, type Instance, PROVIDER_IDS } from '../../functions/providers/port.ts';
import { providerDefinition } from '../../functions/providers/registry.ts';
import { type Explanation, explain } from '../../functions/remediation/explain.ts';
import { usageWindow } from '../../functions/remediation/filters/idle.ts';
import { readPolicyFile } from '../../functions/remediation/policy-file.ts';
import { type PolicySet, sweepScope } from '../../functions/remediation/source.ts';
import { SWEEP_MACHINE, startSweep } from '../../functions/remediation/start.ts';
import { registerSecret } from '../../functions/shared/redact.ts';
import { postJson, sendSigned } from '../../functions/webhooks/send.ts';
import { openDataSource } from '../data-source.ts';
import { print } from '../output.ts';
import {
  API_TOKEN_HINT,
  apiTokenHeaders,
  DEFAULT_DATA_DIR,
  dataDirOption,
  httpBase,
  localKeyPair,
  providerAccess,
  routeUrl,
  runningStart,
  urlOption,
} from '../running-start.ts';

/** `fleetflow policy check|sweep` and `fleetflow event send`: remediation from the command line. */

const DEFAULT_FILES = ['fleetflow.config.yaml', 'fleetflow.config.yml', 'fleetflow.config.json'];

export class PolicyCommandError extends Error {
  override name = 'PolicyCommandError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

function configFile(given?: string): string {
  const file = given ? resolve(given) : DEFAULT_FILES.map((f) => resolve(f)).find((f) => existsSync(f));
  if (!file)
    throw new PolicyCommandError(
      'no config file',
      `pass --config FILE or create one of ${DEFAULT_FILES.join(', ')}`,
    );
  return file;
}

interface CheckOptions {
  config?: string;
  provider?: string;
  account: string;
  location?: string;
  endpoint?: string;
  instance?: string;
  dataDir?: string;
  json?: boolean;
  /** Where to say that the running start's simulator stands in for the provider. */
  onNote?: (line: string) => void;
}

/** Validates the policies and, given a provider and location, explains them on live instances. */
export async function checkPolicies(
  o: CheckOptions,
): Promise<{ file: string; set: PolicySet; explanations: Explanation[] }> {
  const file = configFile(o.config);
  const set = readPolicyFile(file);
  const explanations: Explanation[] = [];
  if (o.provider || o.instance) {
    if (!o.provider || !o.location)
      throw new PolicyCommandError('--provider and --location are needed to read instances');
    const def = providerDefinition(o.provider);
    const access = providerAccess(def, {
      location: o.location,
      dataDir: o.dataDir ?? DEFAULT_DATA_DIR,
      ...(o.endpoint && { endpoint: o.endpoint }),
    });
    if (access.note) o.onNote?.(access.note);
    const adapter: ComputeProvider = def.createAdapter({
      location: o.location,
      credentials: access.credentials,
      ...(access.endpoint && { endpoint: access.endpoint }),
    });
    const instances: Instance[] = o.instance
      ? [await adapter.get(o.instance)]
      : (await adapter.list()).filter((i) => i.state !== 'deleted');
    // The idle filter's figures: the provider's history, or the samples the running start's sweeps
    // stored (read only: a check never adds one).
    const window = Math.max(0, ...set.policies.map((p) => usageWindow(p.policy.filters) ?? 0));
    const source =
      window > 0 && adapter.capabilities.metrics.supported
        ? await openDataSource({ dataDir: o.dataDir ?? DEFAULT_DATA_DIR }).catch(() => undefined)
        : undefined;
    try {
      for (const instance of instances) {
        const usage =
          window > 0
            ? await readUsage({
                provider: adapter,
                target: { provider: def.id, account: o.account, location: adapter.location },
                instance,
                windowSeconds: window,
                ...(source && { store: new UsageStore(source.dynamo.doc, source.names.idempotency) }),
              })
            : undefined;
        explanations.push(
          explain(set.policies, instance, o.account, adapter.capabilities, Date.now(), usage),
        );
      }
    } finally {
      await source?.close();
    }
  }
  return { file, set, explanations };
}

function checkText(r: Awaited<ReturnType<typeof checkPolicies>>): string {
  const lines = [
    `${r.file}: ${r.set.policies.length} polic${r.set.policies.length === 1 ? 'y' : 'ies'} valid`,
  ];
  for (const { policy } of r.set.policies) {
    const when = policy.mode === 'event' ? `on ${policy.events?.join(', ')}` : `every ${policy.every}`;
    lines.push(
      `  ${policy.name}: ${when} → ${policy.actions.map((a) => a.action).join(', ')}${policy.dryRun ? ' (dry run)' : ''}; cap ${policy.maxTargets}, cooldown ${policy.cooldown}${policy.warn ? `; owners warned ${policy.warn.before} before a stop` : ''}`,
    );
  }
  for (const e of r.explanations) {
    lines.push(
      '',
      `${e.instance.provider} ${e.instance.id} ${e.instance.name} (${e.instance.state}, ${e.instance.type})`,
    );
    for (const p of e.policies) {
      lines.push(`  ${p.match ? '✓' : '✗'} ${p.policy}`);
      // The idle condition is explained with its figures whichever way it came out.
      if (p.match)
        for (const reason of p.reasons.filter((x) => x.includes('idle for'))) lines.push(`      ${reason}`);
      if (p.match) for (const s of p.plan ?? []) lines.push(`      would ${s}`);
      else for (const reason of p.reasons.filter((x) => !x.startsWith('✓'))) lines.push(`      ${reason}`);
    }
  }
  return lines.join('\n');
}

interface SendOptions {
  url?: string;
  alert?: boolean;
  secret?: string;
  dataDir: string;
  json?: boolean;
}

/** POSTs an event file to /events, or signed to /webhooks/alert with --alert. */
export async function sendEvent(file: string, o: SendOptions): Promise<{ status: number; body: unknown }> {
  let payload: string;
  try {
    payload = readFileSync(file, 'utf8');
    JSON.parse(payload);
  } catch (error) {
    throw new PolicyCommandError(
      `${file} is not a readable JSON file (${(error as NodeJS.ErrnoException).code ?? 'invalid JSON'})`,
    );
  }
  const url = routeUrl(httpBase(o), o.alert ? 'webhooks/alert' : 'events');
  let answer: { status: number; json?: unknown; text: string };
  if (o.alert) {
    const secret =
      o.secret ??
      process.env.FLEETFLOW_WEBHOOK_SECRET ??
      (existsSync(join(o.dataDir, 'webhook-secret'))
        ? readFileSync(join(o.dataDir, 'webhook-secret'), 'utf8').trim()
        : undefined);
    if (!secret)
      throw new PolicyCommandError(
        'no webhook secret',
        `pass --secret, set FLEETFLOW_WEBHOOK_SECRET, or run \`fleetflow start --data-dir ${o.dataDir}\` first`,
      );
    registerSecret(secret);
    // A fresh id per send: alerts are deduplicated by policy, instance and window, not by delivery.
    answer = await sendSigned({
      url,
      secret,
      payload,
      id: `msg_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    });
  } else {
    answer = await postJson({
      url,
      body: payload,
      headers: { 'content-type': 'application/json', ...apiTokenHeaders(url, o.dataDir) },
    });
  }
  if (answer.status >= 300)
    throw new PolicyCommandError(
      `event rejected with ${answer.status}: ${answer.text.slice(0, 500)}`,
      answer.status === 401 ? API_TOKEN_HINT : undefined,
    );
  return { status: answer.status, body: answer.json ?? answer.text };
}

export function registerPolicy(program: Command): void {
  const policy = program
    .command('policy')
    .description('remediation policies: check what they would do, sweep one now');
  const check = policy
    .command('check')
    .description(
      'validate the policies in the config file and explain, for one instance or a location, which would match and what they would do',
    )
    .option('--config <file>', `config file (default: ${DEFAULT_FILES.join(', ')})`)
    .option('--provider <id>', `one of ${PROVIDER_IDS.join(', ')}`)
    .option('--account <name>', 'the account the instances are read with (for account filters)', 'default')
    .option('--location <location>', 'the adapter location, e.g. ch-gva-2, 1/76, compute-qc/production')
    .option(
      '--endpoint <url>',
      "the provider API's base URL (a simulator, a proxy); the provider's own otherwise",
    )
    .option('--instance <id>', 'only this instance (else every instance at the location)')
    .addOption(dataDirOption())
    .option('--json', 'print JSON');
  check.action(async (o: CheckOptions) => {
    try {
      const r = await checkPolicies({ ...o, onNote: (line) => process.stderr.write(`${line}\n`) });
      print(
        { file: r.file, policies: r.set.policies.map((p) => p.policy), explanations: r.explanations },
        o.json === true,
        () => checkText(r),
      );
    } finally {
      await closeAllPools();
    }
  });

  policy
    .command('sweep')
    .description('start a sweep of a periodic policy now, on the running `fleetflow start`')
    .argument('<name>', 'the policy')
    .option('--config <file>', `config file (default: ${DEFAULT_FILES.join(', ')})`)
    .addOption(dataDirOption())
    .option('--json', 'print JSON')
    .action(async (name: string, o: { config?: string; dataDir: string; json?: boolean }) => {
      const set = readPolicyFile(configFile(o.config));
      const loaded = set.policies.find((p) => p.policy.name === name);
      if (!loaded) throw new PolicyCommandError(`no policy ${name} in the config file`);
      if (loaded.policy.mode !== 'periodic')
        throw new PolicyCommandError(`policy ${name} is event-mode; send it an event instead`);
      const sfnUrl = runningStart(o.dataDir).sfn;
      const credentials = localKeyPair(o.dataDir);
      const client = new SFNClient({ endpoint: sfnUrl, region: 'us-east-1', credentials });
      try {
        const machines = await client.send(new ListStateMachinesCommand({}));
        const arn = machines.stateMachines?.find((m) => m.name === SWEEP_MACHINE)?.stateMachineArn;
        if (!arn) throw new PolicyCommandError('the running runtime has no sweep workflow');
        // startSweep's client finds the endpoint and its key pair as a handler does: in the environment.
        Object.assign(process.env, {
          AWS_ENDPOINT_URL_SFN: sfnUrl,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        });
        delete process.env.AWS_SESSION_TOKEN;
        const started = await startSweep({
          loaded,
          scope: sweepScope(loaded.policy, set),
          trigger: { type: 'cli', actor: 'fleetflow policy sweep' },
          stateMachineArn: arn,
        });
        print(started, o.json === true, () => `sweep started: ${started.executionArn ?? '?'}`);
      } finally {
        client.destroy();
      }
    });

  program
    .command('event')
    .description('events that trigger remediation policies')
    .command('send')
    .description(
      'send an event file ({"detail-type", "detail": {provider, account, location, instanceId, reason}}) to /events',
    )
    .argument('<file>', 'JSON event (or an array of events)')
    .option('--alert', 'send it signed, as a monitoring alert, to /webhooks/alert instead')
    .addOption(urlOption())
    .option(
      '--secret <whsec>',
      'signing secret for --alert (default: $FLEETFLOW_WEBHOOK_SECRET, then <data-dir>/webhook-secret)',
    )
    .addOption(dataDirOption())
    .option('--json', 'print JSON')
    .action(async (file: string, o: SendOptions) => {
      const r = await sendEvent(file, o);
      print(r, o.json === true, () => `${r.status}\n${JSON.stringify(r.body, null, 2)}`);
    });
}
