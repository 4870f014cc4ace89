import * as z from 'zod';
import { INSTANCE_STATES, type Instance, PROVIDER_IDS } from '../../providers/port.ts';
import { durationSchema, durationSeconds } from '../../shared/duration.ts';
import { type Check, defineFilter, known, labelKey, list, oneOf, oneOrMany, type Truth } from './define.ts';
import { idleFilter } from './idle.ts';

/**
 * Every filter a policy can use, by its key in the config file. Adding a filter is adding one
 * entry here: its schema, its evaluation and its explanation travel together. The order is the
 * order conditions are evaluated and explained in; all/any/not (./index.ts) come after.
 */
export const FILTERS = {
  provider: defineFilter({
    schema: oneOrMany(z.enum(PROVIDER_IDS)).optional(),
    evaluate: (want, s) => [oneOf('provider', s.provider, list(want))],
  }),
  account: defineFilter({
    schema: oneOrMany(z.string().min(1)).optional(),
    evaluate: (want, s) => [oneOf('account', s.account, list(want))],
  }),
  location: defineFilter({
    schema: oneOrMany(z.string().min(1)).optional(),
    evaluate: (want, s) => [oneOf('location', s.location, list(want))],
  }),
  name: defineFilter({
    schema: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe('a glob (web-*, db-?1) or a /regular expression/ matched against the whole name'),
    evaluate: (pattern, s) => {
      const re = regexOf(pattern);
      return [{ truth: known(s.name, (n) => re.test(n)), text: `name ${s.name ?? '?'} matches ${pattern}` }];
    },
    refine: {
      check: (p) => !p.startsWith('/') || isValidRegex(p),
      message: 'not a valid /regular expression/',
    },
  }),
  labels: defineFilter({
    schema: z
      .record(labelKey, oneOrMany(z.string().max(256)))
      .optional()
      .describe('each label equals (one of) the values'),
    evaluate: (labels, s) =>
      Object.entries(labels).map(([key, value]) => {
        const want = list(value);
        const have = s.labels?.[key];
        return {
          truth: known(s.labels, () => have !== undefined && want.includes(have)),
          text: `label ${key}=${have ?? '(absent)'} in [${want.join(', ')}]`,
        };
      }),
  }),
  labelPresent: defineFilter({
    schema: oneOrMany(labelKey).optional(),
    evaluate: (keys, s) =>
      list(keys).map((key) => ({ truth: known(s.labels, (l) => key in l), text: `label ${key} present` })),
  }),
  labelAbsent: defineFilter({
    schema: oneOrMany(labelKey).optional(),
    evaluate: (keys, s) =>
      list(keys).map((key) => ({ truth: known(s.labels, (l) => !(key in l)), text: `label ${key} absent` })),
  }),
  state: defineFilter({
    schema: oneOrMany(z.enum(INSTANCE_STATES)).optional(),
    evaluate: (want, s) => [oneOf('state', s.state, list(want))],
  }),
  type: defineFilter({
    schema: oneOrMany(z.string().min(1)).optional().describe('instance type by name (or id)'),
    evaluate: (value, s) => {
      const want = list(value);
      const truth = known(
        s.type,
        (type) => want.includes(type) || (s.typeId !== undefined && want.includes(s.typeId)),
      );
      return [{ truth, text: `type ${s.type ?? '?'} in [${want.join(', ')}]` }];
    },
  }),
  olderThan: defineFilter({
    schema: durationSchema.optional().describe('created longer ago than this'),
    evaluate: (limit, s, now) => [age(limit, s, now, true)],
  }),
  newerThan: defineFilter({
    schema: durationSchema.optional().describe('created more recently than this'),
    evaluate: (limit, s, now) => [age(limit, s, now, false)],
  }),
  publicIp: defineFilter({
    schema: z.boolean().optional().describe('true: has a public IPv4/IPv6 address; false: has none'),
    evaluate: (wanted, s) => {
      const has = s.ipv4 === undefined ? undefined : hasPublicIp(s as Instance);
      return [
        {
          truth: has === undefined ? undefined : has === wanted,
          text: `public IP ${has === undefined ? '?' : has ? 'yes' : 'no'}, wanted ${wanted ? 'yes' : 'no'}`,
        },
      ];
    },
  }),
  protected: defineFilter({
    schema: z.boolean().optional().describe('deletion/termination protection enabled'),
    evaluate: (wanted, s) => {
      // Providers without protection report undefined: such an instance is not protected.
      const p = s.id === undefined ? undefined : s.protected === true;
      return [
        {
          truth: p === undefined ? undefined : p === wanted,
          text: `protected ${p === undefined ? '?' : p ? 'yes' : 'no'}, wanted ${wanted ? 'yes' : 'no'}`,
        },
      ];
    },
  }),
  // Last: it is the one that may need a provider call (its own module says how).
  idle: idleFilter,
};

/** olderThan / newerThan: an instance whose age the provider does not say matches neither. */
function age(limit: string, s: Partial<Instance>, now: number, older: boolean): Check {
  const created = s.createdAt ? Date.parse(s.createdAt) : Number.NaN;
  const truth: Truth =
    s.id === undefined
      ? undefined
      : Number.isNaN(created)
        ? false
        : older === now - created > durationSeconds(limit) * 1000;
  const shown = Number.isNaN(created) ? '(unknown)' : `${Math.floor((now - created) / 1000)}s`;
  return { truth, text: `age ${shown} ${older ? '>' : '<'} ${limit}` };
}

function isValidRegex(text: string): boolean {
  try {
    regexOf(text);
    return true;
  } catch {
    return false;
  }
}

/** `/re/flags` as written, else a glob (`*`, `?`) anchored to the whole name. */
function regexOf(pattern: string): RegExp {
  const re = /^\/(.*)\/([imsu]*)$/.exec(pattern);
  if (re) return new RegExp(re[1]!, re[2]);
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

const PRIVATE_V4 = [
  /^10\./,
  /^192\.168\./,
  /^172\.(1[6-9]|2\d|3[01])\./,
  /^127\./,
  /^169\.254\./,
  /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./,
];

export function hasPublicIp(instance: Pick<Instance, 'ipv4' | 'ipv6'>): boolean {
  const v4 = instance.ipv4.some((ip) => !PRIVATE_V4.some((re) => re.test(ip)));
  const v6 = instance.ipv6.some((ip) => !/^(fc|fd|fe[89ab]|::1$)/i.test(ip));
  return v4 || v6;
}
