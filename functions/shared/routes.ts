/**
 * A declarative route table: method + path pattern → handler, in API Gateway's route syntax
 * (`/jobs/{id}`, `/files/{path+}` greedy in the last segment, `ANY` for every method; a parameter
 * may carry a literal suffix, `/instance/{id}:start`). Literal
 * routes win over parameters and greedy parameters come last, whatever the order given. One
 * table serves the local API server (local/http) and every provider simulator (sim/kit).
 */

export interface RouteSpec<H> {
  /** `GET`, `POST`…, or `ANY`. */
  method: string;
  path: string;
  handler: H;
}

export interface RouteMatch<H> {
  route: RouteSpec<H>;
  handler: H;
  /** Path parameters, percent-decoded. */
  params: Record<string, string>;
}

/** A hit, or why not: no route has the path (404), or none takes the method (405, with `allow`). */
export type RouteLookup<H> =
  | { hit: RouteMatch<H> }
  | { hit?: undefined; status: 404 }
  | { hit?: undefined; status: 405; allow: string[] };

interface Compiled<H> {
  route: RouteSpec<H>;
  method: string;
  regex: RegExp;
  params: string[];
  /** Lower sorts first: literal routes win over parameters, greedy parameters come last. */
  rank: number;
}

export class RouteTable<H> {
  private readonly routes: Compiled<H>[];

  constructor(routes: Iterable<RouteSpec<H>>) {
    this.routes = [...routes].map(compile).sort((a, b) => a.rank - b.rank);
  }

  lookup(method: string, rawPath: string): RouteLookup<H> {
    const wanted = method.toUpperCase();
    const candidates = this.routes
      .map((route) => ({ route, match: route.regex.exec(rawPath) }))
      .filter((c): c is { route: Compiled<H>; match: RegExpExecArray } => c.match !== null);
    if (candidates.length === 0) return { status: 404 };
    const hit = candidates.find((c) => c.route.method === wanted || c.route.method === 'ANY');
    if (!hit) return { status: 405, allow: [...new Set(candidates.map((c) => c.route.method))] };
    const params: Record<string, string> = {};
    hit.route.params.forEach((name, i) => {
      params[name] = decode(hit.match[i + 1] ?? '');
    });
    return { hit: { route: hit.route.route, handler: hit.route.route.handler, params } };
  }
}

/** Shorthand for a table's entries: `route('GET', '/instances/{id}', handler)`. */
export const route = <H>(method: string, path: string, handler: H): RouteSpec<H> => ({
  method,
  path,
  handler,
});

/** A table written as `{'GET /instances/{id}': handler, …}`: one line per route. */
export function routeTable<H>(entries: Readonly<Record<string, H>>): RouteTable<H> {
  return new RouteTable(
    Object.entries(entries).map(([key, handler]) => {
      const [method, path, extra] = key.split(' ');
      if (!method || !path || extra !== undefined) throw new Error(`route '${key}' is not 'METHOD /path'`);
      return { method, path, handler };
    }),
  );
}

function compile<H>(route: RouteSpec<H>): Compiled<H> {
  const params: string[] = [];
  let rank = 0;
  const source = route.path
    .split('/')
    .map((segment) => {
      const greedy = /^\{([A-Za-z0-9_]+)\+\}$/.exec(segment);
      if (greedy) {
        params.push(greedy[1]!);
        rank += 1000;
        return '(.+)';
      }
      // `{id}` alone, or with a literal suffix in the same segment (Exoscale's `{id}:start`).
      const param = /^\{([A-Za-z0-9_]+)\}(.*)$/.exec(segment);
      if (param) {
        params.push(param[1]!);
        const suffix = param[2]!;
        rank += suffix ? 0.5 : 1;
        return suffix ? `([^/]+?)${escapeRegex(suffix)}` : '([^/]+)';
      }
      return escapeRegex(segment);
    })
    .join('/');
  return { route, method: route.method.toUpperCase(), regex: new RegExp(`^${source}$`), params, rank };
}

function escapeRegex(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
