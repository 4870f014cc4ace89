import { describe, expect, it } from 'vitest';
import { hostAllowList, InvalidAllowedHostError, parseAllowedHosts } from '../../local/auth/hosts.ts';
import { runCli } from '../support/cli.ts';

/** The Host allow-list every local endpoint applies, and the names a user may add to it. */

describe('hostAllowList', () => {
  const list = hostAllowList('127.0.0.1', parseAllowedHosts(['fleetflow.test', 'proxy.test:8443']));

  it('admits the loopback names and the bound address at the port the connection came in on', () => {
    for (const host of [
      '127.0.0.1:8787',
      'localhost:8787',
      'LOCALHOST:8787',
      'localhost.:8787',
      '[::1]:8787',
    ])
      expect(list.allows(host, 8787), host).toBe(true);
    expect(hostAllowList('::1').allows('[::1]:9000', 9000)).toBe(true);
    // Port 80 is implied when Host has none.
    expect(list.allows('localhost', 80)).toBe(true);
  });

  it('admits the user’s names, at this port unless a port was given', () => {
    expect(list.allows('fleetflow.test:8787', 8787)).toBe(true);
    expect(list.allows('proxy.test:8443', 8787)).toBe(true);
    expect(list.allows('proxy.test:8787', 8787)).toBe(false);
  });

  it('refuses every other name, another port, a missing or malformed Host', () => {
    for (const host of [
      'rebind.attacker.example:8787',
      '127.0.0.1.nip.io:8787',
      'localhost.attacker.example:8787',
      'sub.fleetflow.test:8787',
      '127.0.0.1:8788',
      'localhost',
      '127.0.0.1:8787@attacker.example',
      '127.0.0.1:8787, attacker.example',
      '',
      undefined,
    ])
      expect(list.allows(host, 8787), String(host)).toBe(false);
  });
});

describe('--allow-host', () => {
  it('takes names and name:port, comma-separated or repeated', () => {
    expect(parseAllowedHosts(['Fleetflow.Test', 'a.test,b.test:8443', ' [::1]:9000 '])).toEqual([
      'fleetflow.test',
      'a.test',
      'b.test:8443',
      '[::1]:9000',
    ]);
  });

  it('refuses what is not a host name, before anything starts', async () => {
    for (const bad of ['*', 'http://x.test', 'x.test/path', 'x.test:99999', 'a b'])
      expect(() => parseAllowedHosts([bad]), bad).toThrow(InvalidAllowedHostError);
    const r = await runCli('start', '--allow-host', '*', '--data-dir', '/nonexistent/never-created');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--allow-host takes a host name or name:port, not "*"');
  });
});
