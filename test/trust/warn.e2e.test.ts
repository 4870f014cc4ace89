import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { Cron } from 'croner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/config/load.ts';
import type { FleetflowConfig } from '../../functions/config/schema.ts';
import { createLogger } from '../../functions/log.ts';
import type { Instance } from '../../functions/providers/port.ts';
import { providerFor } from '../../functions/runtime/accounts.ts';
import { stores } from '../../functions/runtime/stores.ts';
import { overrideStore } from '../../functions/schedule/context.ts';
import { OVERRIDES_CHAIN, overrideFor } from '../../functions/schedule/overrides.ts';
import { decodeSnoozeKey } from '../../functions/schedule/warn-key.ts';
import { signSnoozeToken, verifySnoozeToken } from '../../functions/schedule/warn-token.ts';
import { generateSecret, verify } from '../../functions/webhooks/standard-webhooks.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';
import { scaledClock, startLocalScheduler } from '../../local/scheduler.ts';
import { seed } from '../schedule/support/fleet.ts';

/**
 * Warnings before stops, end to end on the local engine with the Exoscale simulator and the local
 * scheduler on a scaled clock (5 minutes of schedule a second): the notice of each owner arrives
 * 30 minutes before the 18:00 stop with signed links; opening a link changes nothing, pressing its
 * button keeps the instances up through the stop, and the override ends by itself (the hourly
 * check stops them once it has); an expired, altered or foreign link is refused and changes nothing.
 */

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: Date;
}

const SPEED = 300;
const secret = generateSecret();
let server: Server;
let receiverUrl: string;
const notices: Received[] = [];
const slack: Received[] = [];
const replies: Received[] = [];
let runtime: Runtime;
let dataDir: string;
let clock: ReturnType<typeof scaledClock>;
let config: FleetflowConfig;
let stopAt: Date;
const fleet: Record<string, Instance> = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: clock.now() };
      (req.url === '/slack' ? slack : req.url === '/slack-response' ? replies : notices).push(r);
      res.writeHead(req.url === '/slack' ? 200 : 204);
      res.end(req.url === '/slack' ? 'ok' : undefined);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.TEST_WARN_SECRET = secret;
  process.env.TEST_WARN_SLACK_URL = `${receiverUrl}/slack`;

  // The schedule's clock starts at 17:25 (Zurich) on a day ahead: 5 minutes before the warning.
  const start = new Cron('25 17 * * *', { timezone: 'Europe/Zurich', paused: true }).nextRun(
    new Date(Date.now() + 86_400_000),
  )!;
  stopAt = new Date(start.getTime() + 35 * 60_000);
  dataDir = mkdtempSync(join(tmpdir(), 'fleetflow-warn-'));
  const base = {
    dataDir,
    port: 0,
    persist: false,
    timeScale: 0.01,
    simulator: { transitionMs: 20, operationMs: 20, fleetSize: 1 },
    providers: ['exoscale' as const],
    env: {},
    logger: createLogger({ level: 'silent' }),
  };
  // The runtime without its own scheduler: the fleet is seeded first, then a scheduler on a
  // scaled clock is started against the runtime's engine, as `fleetflow start` starts its own.
  runtime = await startRuntime({ ...base, scheduler: false });
  const target = {
    provider: 'exoscale' as const,
    account: 'default',
    location: runtime.simulators.exoscale!.defaultLocation,
  };
  const owners = ['alice@example.com', 'alice@example.com', 'bob@example.com', undefined];
  const made = await seed('exoscale', target, 4, {
    prefix: 'shop',
    labels: (n) => ({ app: 'shop', ...(owners[n - 1] && { owner: owners[n - 1]! }) }),
  });
  for (const i of made) fleet[i.name] = i;
  config = validateConfig({
    accounts: [{ provider: 'exoscale', locations: [target.location] }],
    schedules: {
      office: {
        timezone: 'Europe/Zurich',
        periods: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '08:00', stop: '18:00' }],
        targets: [{ provider: 'exoscale', labels: { app: 'shop' } }],
        manualStart: 'enforce',
        warn: {
          before: '30m',
          notifications: [
            { type: 'webhook', url: `${receiverUrl}/hook`, secretEnv: 'TEST_WARN_SECRET' },
            { type: 'slack', urlEnv: 'TEST_WARN_SLACK_URL' },
          ],
        },
      },
    },
  });
  // The schedule's clock starts now that the fleet is there; the scheduler runs on it.
  clock = scaledClock(start, SPEED);
  const sfn = new SFNClient({
    endpoint: runtime.urls.sfn,
    region: 'us-east-1',
    credentials: runtime.credentials,
  });
  const scheduler = startLocalScheduler({
    config,
    sfn,
    stateMachineArn: runtime.engine.stateMachineArn('power-schedule'),
    warnStateMachineArn: runtime.engine.stateMachineArn('schedule-warn'),
    log: createLogger({ level: 'silent' }),
    clock,
  });
  const close = runtime.close;
  runtime = {
    ...runtime,
    close: async () => {
      scheduler.stop();
      sfn.destroy();
      await close();
    },
  };
}, 120_000);

afterAll(async () => {
  await runtime?.close();
  await new Promise<void>((r) => server?.close(() => r()));
  rmSync(dataDir, { recursive: true, force: true });
  delete process.env.TEST_WARN_SECRET;
  delete process.env.TEST_WARN_SLACK_URL;
});

/** Waits (real time) until `check` holds, or fails after `ms`. */
async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what} (schedule time ${clock.now().toISOString()})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const stateOf = async (name: string) =>
  (
    await (
      await providerFor({
        provider: 'exoscale',
        account: 'default',
        location: runtime.simulators.exoscale!.defaultLocation,
      })
    ).get(fleet[name]!.id)
  ).state;

type Notice = {
  type: string;
  data: {
    owner?: string;
    stopAt: string;
    instances: Array<{ name: string; instanceId: string }>;
    links: Record<string, { url: string; label: string; until: string }>;
    email: { to?: string; subject: string; text: string };
  };
};
const parsed = () => notices.map((n) => JSON.parse(n.body) as Notice);
const byOwner = (owner?: string) => parsed().find((n) => n.data.owner === owner)!;

describe('a warning before a stop', () => {
  it('arrives 30 minutes before the stop: one signed notice per owner, listing their instances', async () => {
    await until('three notices', () => notices.length >= 3 && slack.length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(notices).toHaveLength(3);
    for (const n of notices) {
      expect(() => verify({ secrets: [secret], headers: n.headers, payload: n.body })).not.toThrow();
      // Sent at 17:30 on the schedule's clock, received before the stop (the run itself takes a
      // few scaled minutes: 5 of them pass each real second).
      const before = (stopAt.getTime() - n.at.getTime()) / 60_000;
      expect(before).toBeGreaterThan(0);
      expect(before).toBeLessThanOrEqual(30);
    }
    // And says so, counted from the time it was due.
    for (const n of parsed()) expect(n.data.email.text).toMatch(/, in 30 minutes:\n/);
    expect(
      parsed().every((n) => n.type === 'schedule.warning' && n.data.stopAt === stopAt.toISOString()),
    ).toBe(true);
    expect(
      byOwner('alice@example.com')
        .data.instances.map((i) => i.name)
        .sort(),
    ).toEqual(['shop-exoscale-1', 'shop-exoscale-2']);
    expect(byOwner('bob@example.com').data.instances.map((i) => i.name)).toEqual(['shop-exoscale-3']);
    expect(byOwner(undefined).data.instances.map((i) => i.name)).toEqual(['shop-exoscale-4']);
    const alice = byOwner('alice@example.com').data;
    expect(Object.keys(alice.links)).toEqual(['1h', '2h', 'tomorrow', 'skip']);
    expect(alice.email.to).toBe('alice@example.com');
    expect(alice.email.text).toContain(alice.links['2h']!.url);
    expect(alice.email.subject).toBe(
      'fleetflow: schedule office stops 2 instances at ' + alice.email.subject.split(' at ')[1],
    );
    // Slack: the same notice with one button per choice.
    const blocks = (
      JSON.parse(slack[0]!.body) as { blocks: Array<{ type: string; elements?: Array<{ url: string }> }> }
    ).blocks;
    expect(blocks.find((b) => b.type === 'actions')!.elements).toHaveLength(4);
    // The job records who was warned, and never a link.
    const jobId = `warn-office-${stopAt.toISOString().slice(0, 16).replace(/[-:]/g, '')}`;
    const job = await until('the warning job', async () => {
      const j = await stores().jobs.get(jobId);
      return j?.status === 'SUCCEEDED' ? j : undefined;
    });
    expect(job.steps[0]).toMatchObject({ name: 'warn', detail: { instances: 4 } });
    expect(JSON.stringify(job)).not.toContain('/snooze?t=');
  }, 90_000);

  it('opening a link changes nothing; its button keeps the instances up through the stop', async () => {
    const link = byOwner('alice@example.com').data.links['2h']!.url;
    const before = await overrideStore().list({ all: true });
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/snooze">');
    expect(html).toContain('Keep running 2 hours more');
    expect(html).toContain('shop-exoscale-1');
    expect(await overrideStore().list({ all: true })).toHaveLength(before.length);

    const token = new URL(link).searchParams.get('t')!;
    const post = () =>
      fetch(`${runtime.urls.http}/snooze`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ t: token }).toString(),
      });
    const done = await post();
    expect(done.status).toBe(200);
    const doneHtml = await done.text();
    expect(doneHtml).toContain('<h1>Done</h1>');
    expect(doneHtml).toContain('after that the schedule&#39;s hourly check stops them');
    const created = (await overrideStore().list({ all: true })).filter(
      (o) => !before.some((b) => b.id === o.id),
    );
    expect(created.map((o) => o.scope.instanceId).sort()).toEqual(
      [fleet['shop-exoscale-1']!.id, fleet['shop-exoscale-2']!.id].sort(),
    );
    for (const o of created) {
      expect(o).toMatchObject({
        kind: 'keep-running',
        scope: { schedule: 'office', provider: 'exoscale' },
        until: new Date(stopAt.getTime() + 2 * 3_600_000).toISOString(),
        createdBy: 'owner:alice@example.com',
      });
    }
    // Audited: who clicked (the owner the notice went to), on the overrides' chains (one lane per instance).
    const audit: Array<{ action: string; trigger: { actor: string } }> = [];
    for await (const e of stores().audit.jobEvents(OVERRIDES_CHAIN)) audit.push(e as never);
    expect(
      audit.filter((e) => e.action === 'override.set' && e.trigger.actor === 'owner:alice@example.com'),
    ).toHaveLength(2);
    // Clicked again (or by a scanner that POSTs): the same outcome, nothing more created.
    const again = await post();
    expect(await again.text()).toContain('<h1>Already done</h1>');
    expect((await overrideStore().list({ all: true })).length).toBe(before.length + 2);

    // Through the stop: alice's instances stay up, the others stop.
    await until(
      'the 18:00 stop run',
      async () =>
        clock.now() > new Date(stopAt.getTime() + 15 * 60_000) &&
        (await stateOf('shop-exoscale-3')) === 'stopped',
    );
    expect(await stateOf('shop-exoscale-4')).toBe('stopped');
    expect(await stateOf('shop-exoscale-1')).toBe('running');
    expect(await stateOf('shop-exoscale-2')).toBe('running');
  }, 90_000);

  it('the override ends by itself: the hourly check after 20:00 stops them', async () => {
    const expires = new Date(stopAt.getTime() + 2 * 3_600_000);
    const overrides = await overrideStore().list({ all: true });
    const args = (at: Date) => ({
      schedule: 'office',
      provider: 'exoscale',
      instanceId: fleet['shop-exoscale-1']!.id,
      action: 'stop' as const,
      at,
    });
    expect(overrideFor(overrides, args(new Date(expires.getTime() - 60_000)))).toBeDefined();
    expect(overrideFor(overrides, args(expires))).toBeUndefined();
    // 19:30: still kept; 20:30: stopped by the enforce sweep, nobody having touched anything.
    await until('the 19:30 check', () => clock.now() > new Date(stopAt.getTime() + 95 * 60_000));
    expect(await stateOf('shop-exoscale-1')).toBe('running');
    await until(
      "alice's instances stopped",
      async () =>
        (await stateOf('shop-exoscale-1')) === 'stopped' && (await stateOf('shop-exoscale-2')) === 'stopped',
      60_000,
    );
    expect(clock.now().getTime()).toBeGreaterThan(expires.getTime());
  }, 90_000);

  it('a Slack button click (signed by Slack) applies its token, audited with the Slack user', async () => {
    const signing = 'slack-signing-secret-for-tests';
    process.env.FLEETFLOW_SLACK_SIGNING_SECRET = signing;
    try {
      const token = new URL(byOwner(undefined).data.links.skip!.url).searchParams.get('t')!;
      const body = new URLSearchParams({
        payload: JSON.stringify({
          type: 'block_actions',
          user: { id: 'U123', username: 'carol' },
          team: { domain: 'acme' },
          actions: [{ action_id: 'fleetflow_snooze_skip', value: token }],
          response_url: `${receiverUrl}/slack-response`,
        }),
      }).toString();
      const click = (headers: Record<string, string>) =>
        fetch(`${runtime.urls.http}/snooze/slack`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body,
        });
      const before = (await overrideStore().list({ all: true })).length;
      // Not signed by Slack: refused, nothing changed.
      expect((await click({})).status).toBe(401);
      expect((await overrideStore().list({ all: true })).length).toBe(before);
      const ts = String(Math.floor(Date.now() / 1000));
      const signature = `v0=${createHmac('sha256', signing).update(`v0:${ts}:${body}`).digest('hex')}`;
      const res = await click({ 'x-slack-request-timestamp': ts, 'x-slack-signature': signature });
      expect(res.status).toBe(200);
      const [created] = (await overrideStore().list({ all: true })).filter(
        (o) => o.scope.instanceId === fleet['shop-exoscale-4']!.id,
      );
      expect(created).toMatchObject({ kind: 'skip-next', action: 'stop', createdBy: 'slack:carol (U123)' });
      const reply = replies.find((n) => n.body.includes('"response_type":"ephemeral"'));
      expect(JSON.parse(reply!.body).text).toMatch(/^Done: skip the .* stop for shop-exoscale-4\./);
    } finally {
      delete process.env.FLEETFLOW_SLACK_SIGNING_SECRET;
    }
  });

  it('an expired, altered or foreign link is refused with its own status and changes nothing', async () => {
    const count = (await overrideStore().list({ all: true })).length;
    const link = new URL(byOwner('bob@example.com').data.links['1h']!.url);
    const token = link.searchParams.get('t')!;
    const send = (t: string) =>
      fetch(`${runtime.urls.http}/snooze`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ t }).toString(),
      });
    // Altered: one character of the signature changed, in the middle or at the very end.
    for (const at of [token.length - 20, token.length - 1]) {
      const altered = await send(token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1));
      expect(altered.status).toBe(403);
      expect(await altered.json()).toMatchObject({ error: { code: 'link-altered' } });
    }
    // Foreign: the same claims for another schedule, still signed with the old signature.
    const [payload, signature] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const foreign = `${Buffer.from(JSON.stringify({ ...claims, n: 'nightly' })).toString('base64url')}.${signature}`;
    expect((await send(foreign)).status).toBe(403);
    // Expired: properly signed by this fleetflow, but past its time.
    const key = decodeSnoozeKey(readFileSync(join(dataDir, 'snooze-key'), 'utf8').trim());
    const current = verifySnoozeToken(token, [key]);
    const expired = signSnoozeToken({ ...current, x: Math.floor(Date.now() / 1000) - 1 }, [key]);
    const res = await send(expired);
    expect(res.status).toBe(410);
    expect(await res.json()).toMatchObject({ error: { code: 'link-expired' } });
    const html = await fetch(`${runtime.urls.http}/snooze?t=${expired}`);
    expect(html.status).toBe(410);
    expect(await html.text()).toContain('Nothing was changed.');
    // Not a link at all.
    expect((await send('hello')).status).toBe(400);
    expect((await overrideStore().list({ all: true })).length).toBe(count);
  });
});
