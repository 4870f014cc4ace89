import type { Command } from 'commander';
import type { ProviderDefinition } from '../../functions/providers/definition.ts';
import { closeAllPools } from '../../functions/providers/http/client.ts';
import {
  type ComputeProvider,
  INSTANCE_STATES,
  type Instance,
  type InstanceState,
  type Operation,
  PROVIDER_IDS,
} from '../../functions/providers/port.ts';
import { PROVIDERS, providerDefinition } from '../../functions/providers/registry.ts';
import { waitForOperation, waitForState } from '../../functions/providers/wait.ts';
import { print, table } from '../output.ts';
import { DEFAULT_DATA_DIR, dataDirOption, providerAccess } from '../running-start.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

interface CommonOptions {
  provider: string;
  endpoint?: string;
  dataDir?: string;
  json?: boolean;
  wait?: boolean;
  [location: string]: unknown;
}

/** Every location flag any provider uses, declared once; each provider reads its own. */
function locationFlags(): Array<{ flag: string; key: string; description: string }> {
  const seen = new Map<string, { flag: string; key: string; description: string }>();
  for (const def of Object.values(PROVIDERS)) {
    for (const o of def.locationOptions)
      if (!seen.has(o.flag)) seen.set(o.flag, { ...o, description: `${o.description} (${def.id})` });
  }
  return [...seen.values()];
}

/** `--service-code` → `serviceCode`, as commander names option values. */
const camel = (flag: string) =>
  flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function adapterFrom(o: CommonOptions): { def: ProviderDefinition; provider: ComputeProvider } {
  if (!o.provider) throw new UsageError(`--provider is required (one of ${PROVIDER_IDS.join(', ')})`);
  const def = providerDefinition(o.provider);
  const values: Record<string, string | undefined> = {};
  for (const { key, flag } of def.locationOptions) values[key] = o[camel(flag)] as string | undefined;
  const location = def.locationFrom(values);
  const access = providerAccess(def, {
    location,
    dataDir: o.dataDir ?? DEFAULT_DATA_DIR,
    ...(o.endpoint && { endpoint: o.endpoint }),
  });
  if (access.note) process.stderr.write(`${access.note}\n`);
  return {
    def,
    provider: def.createAdapter({
      location,
      credentials: access.credentials,
      ...(access.endpoint && { endpoint: access.endpoint }),
    }),
  };
}

function withCommon(cmd: Command): Command {
  cmd
    .requiredOption('--provider <id>', `one of ${PROVIDER_IDS.join(', ')}`)
    .option(
      '--endpoint <url>',
      "the provider API's base URL (a simulator, a proxy); the provider's own otherwise",
    )
    .addOption(dataDirOption())
    .option('--json', 'print JSON');
  for (const f of locationFlags()) cmd.option(`${f.flag} <value>`, f.description);
  return cmd;
}

function show(instance: Instance): Record<string, unknown> {
  return {
    id: instance.id,
    name: instance.name,
    state: instance.state,
    type: instance.type,
    ip: instance.ipv4[0] ?? '',
    labels: Object.entries(instance.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  };
}

const COLUMNS = ['id', 'name', 'state', 'type', 'ip', 'labels'];

async function finish(
  provider: ComputeProvider,
  op: Operation,
  o: CommonOptions,
  id: string,
  state?: InstanceState,
) {
  let result: unknown = op;
  if (o.wait) {
    const progress = (detail: string) => {
      if (!o.json && process.stderr.isTTY) process.stderr.write(`\r  waiting: ${detail}        `);
    };
    const done = await waitForOperation(provider, op, { onPoll: progress });
    result = done;
    if (state)
      result = (await waitForState(provider, id, state, { onPoll: progress })) ?? { id, state: 'deleted' };
    if (!o.json && process.stderr.isTTY) process.stderr.write('\n');
  }
  print(result, Boolean(o.json), () => {
    if (result && typeof result === 'object' && 'state' in result && 'name' in result)
      return table([show(result as Instance)], COLUMNS);
    const r = result as Operation;
    return `${r.action} ${r.status}${'resourceId' in r && r.resourceId ? ` → ${r.resourceId}` : ''} (operation ${r.id})`;
  });
}

/**
 * `fleetflow instances …`: the provider port from the command line, against a real account or a
 * simulator (`--endpoint`). Credentials come from the provider's environment variables; without
 * them (and without --endpoint), the running `fleetflow start`'s simulator of that provider is used.
 */
export function registerInstances(program: Command): void {
  const instances = program.command('instances').description('list and act on instances at a provider');
  const run =
    (fn: (o: CommonOptions, ...args: string[]) => Promise<void>) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const positional = args.slice(0, -2).map(String);
      try {
        await fn(cmd.opts() as CommonOptions, ...positional);
      } finally {
        await closeAllPools();
      }
    };

  withCommon(instances.command('list').description('list instances (every page)'))
    .option('--label <key=value...>', 'only instances with these labels')
    .option('--state <state...>', `only instances in these states (${INSTANCE_STATES.join(', ')})`)
    .action(
      run(async (o) => {
        const { provider } = adapterFrom(o);
        const labels: Record<string, string> = {};
        for (const pair of (o.label as string[] | undefined) ?? []) {
          const [k, ...v] = pair.split('=');
          if (!k || v.length === 0) throw new UsageError(`--label expects key=value, got '${pair}'`);
          labels[k] = v.join('=');
        }
        const states = o.state as InstanceState[] | undefined;
        for (const s of states ?? [])
          if (!INSTANCE_STATES.includes(s)) throw new UsageError(`unknown state '${s}'`);
        const list = await provider.list({ labels, ...(states && { states }) });
        print(list, Boolean(o.json), () => (list.length ? table(list.map(show), COLUMNS) : 'no instances'));
      }),
    );

  withCommon(instances.command('get').description('show one instance').argument('<id>')).action(
    run(async (o, id) => {
      const { provider } = adapterFrom(o);
      const instance = await provider.get(id!);
      print(instance, Boolean(o.json), () => table([show(instance)], COLUMNS));
    }),
  );

  const simple: Array<
    [string, string, (p: ComputeProvider, id: string) => Promise<Operation>, InstanceState | undefined]
  > = [
    ['start', 'start an instance', (p, id) => p.start(id), 'running'],
    ['stop', 'stop an instance', (p, id) => p.stop(id), 'stopped'],
    ['reboot', 'reboot an instance', (p, id) => p.reboot(id), 'running'],
    ['delete', 'delete an instance', (p, id) => p.delete(id), 'deleted'],
  ];
  for (const [name, description, act, state] of simple) {
    withCommon(instances.command(name).description(description).argument('<id>'))
      .option('--wait', 'wait until the provider has finished')
      .action(
        run(async (o, id) => {
          const { provider } = adapterFrom(o);
          await finish(provider, await act(provider, id!), o, id!, state);
        }),
      );
  }

  withCommon(
    instances
      .command('scale')
      .description('change the instance type (by name or id)')
      .argument('<id>')
      .argument('<type>'),
  )
    .option('--wait', 'wait until the provider has finished')
    .action(
      run(async (o, id, type) => {
        const { provider } = adapterFrom(o);
        await finish(provider, await provider.scale(id!, type!), o, id!);
      }),
    );

  withCommon(
    instances.command('snapshot').description('snapshot an instance').argument('<id>').argument('<name>'),
  )
    .option('--wait', 'wait until the provider has finished')
    .action(
      run(async (o, id, name) => {
        const { provider } = adapterFrom(o);
        await finish(provider, await provider.snapshot(id!, name!), o, id!);
      }),
    );
}
