import type { SimRequest, SimResponse } from './http.ts';

export { type RouteSpec, RouteTable, route, routeTable } from '../../functions/shared/routes.ts';

/** A simulator route's handler: the request and the path parameters of its pattern. */
export type SimHandler = (
  req: SimRequest,
  params: Readonly<Record<string, string>>,
) => SimResponse | Promise<SimResponse>;

/**
 * CloudStack's routing: one URL, and the `command` parameter names the handler. Own keys only,
 * so `command=constructor` is an unknown command like any other.
 */
export class CommandTable<H> {
  constructor(private readonly commands: Readonly<Record<string, H>>) {}

  lookup(command: string): H | undefined {
    return Object.hasOwn(this.commands, command) ? this.commands[command] : undefined;
  }

  get names(): string[] {
    return Object.keys(this.commands);
  }
}
