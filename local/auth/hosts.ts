/**
 * Which `Host` a local endpoint answers to. A browser sends the name it resolved in `Host`, so a
 * page of `rebind.attacker.example` whose DNS now points at 127.0.0.1 still says so: refusing any
 * name that is not ours is what stops DNS rebinding. Allowed: the loopback names (`127.0.0.1`,
 * `localhost`, `[::1]`) and the bound address, each at the port the connection came in on, plus
 * the names the user allowed (`fleetflow start --allow-host NAME[:PORT]`; without a port, at that
 * same port).
 */

const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];

/** A name given to --allow-host that is not a host name (or `name:port`). */
export class InvalidAllowedHostError extends Error {
  override name = 'InvalidAllowedHostError';
  constructor(readonly value: string) {
    super(`--allow-host takes a host name or name:port, not "${value}"`);
  }
}

interface HostPort {
  name: string;
  port?: number;
}

/** `name`, `name:port`, `[v6]` or `[v6]:port` → lower-case name (brackets kept) and port. */
function parseHost(value: string): HostPort | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!m) return undefined;
  const name = m[1]!.toLowerCase().replace(/\.$/, '');
  if (!name) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { name, ...(port !== undefined && { port }) };
}

/** Checks and normalises the user's --allow-host values (throws InvalidAllowedHostError). */
export function parseAllowedHosts(values: readonly string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => {
      const parsed = parseHost(v);
      if (!parsed || parsed.name === '*') throw new InvalidAllowedHostError(v);
      return parsed.port === undefined ? parsed.name : `${parsed.name}:${parsed.port}`;
    });
}

export interface HostAllowList {
  /** True when `host` (the request's Host header) names this endpoint at `localPort`. */
  allows(host: string | undefined, localPort: number): boolean;
}

/**
 * @param boundAddress the address the server listens on (as `server.address()` gives it)
 * @param extra the user's names, already checked by parseAllowedHosts
 */
export function hostAllowList(boundAddress: string, extra: readonly string[] = []): HostAllowList {
  const bound = boundAddress.includes(':') ? `[${boundAddress}]` : boundAddress;
  const names = new Set([...LOOPBACK, bound.toLowerCase()]);
  const exact = new Set<string>();
  for (const entry of extra) {
    const parsed = parseHost(entry);
    if (!parsed) continue;
    if (parsed.port === undefined) names.add(parsed.name);
    else exact.add(`${parsed.name}:${parsed.port}`);
  }
  return {
    allows(host, localPort) {
      if (!host) return false;
      const parsed = parseHost(host);
      if (!parsed) return false;
      // No port in Host means the scheme's default (these endpoints speak plain HTTP).
      const port = parsed.port ?? 80;
      return (names.has(parsed.name) && port === localPort) || exact.has(`${parsed.name}:${port}`);
    },
  };
}
