import * as z from 'zod';
import { labelKey } from '../filters/define.ts';
import { defineAction, type Planning } from './define.ts';

const snapshotName = z.string().min(1).max(128);
const typeName = z.string().min(1).max(128);
const labelMap = z.record(labelKey, z.string().max(256));
const message = z.string().min(1).max(1024);

/**
 * Every action a policy can take, by name, in the order the README lists them. Adding an action
 * is adding one entry here: how it is written, the capability it needs and the steps it plans.
 * The planner (./index.ts) has already skipped an action on a deleted instance or one whose
 * capability the provider does not declare.
 */
export const ACTIONS = {
  snapshot: defineAction({
    capability: 'snapshot',
    bare: true,
    fields: { name: snapshotName.optional() },
    written: {
      schema: z.strictObject({ name: snapshotName.optional() }),
      toFields: (v) => ({ ...(v.name && { name: v.name }) }),
    },
    plan: (p, ctx) => {
      if (!ctx.allows(ctx.current.state)) return ctx.skip(ctx.stateNote());
      ctx.run('snapshot', { name: p.name ?? `${ctx.policyName}-${ctx.instance.name}`.slice(0, 120) });
      ctx.current.snapshotTaken = true;
    },
  }),
  stop: defineAction({
    capability: 'stop',
    bare: true,
    fields: {},
    plan: (_, ctx) => powerTo('stopped', ctx),
  }),
  start: defineAction({
    capability: 'start',
    bare: true,
    fields: {},
    plan: (_, ctx) => powerTo('running', ctx),
  }),
  reboot: defineAction({
    capability: 'reboot',
    bare: true,
    fields: {},
    plan: (_, ctx) => {
      if (!ctx.allows(ctx.current.state)) return ctx.skip(ctx.stateNote());
      ctx.run('reboot');
      ctx.current.state = 'running';
    },
  }),
  scale: defineAction({
    capability: 'scale',
    bare: false,
    fields: { to: typeName },
    written: {
      schema: z.strictObject({ to: typeName.describe('the instance type to scale to') }),
      toFields: (v) => ({ to: v.to }),
    },
    plan: ({ to }, ctx) => {
      const { current, capabilities } = ctx;
      if (current.type === to || ctx.instance.typeId === to) return ctx.skip(`already ${to}`);
      if (ctx.allows(current.state)) ctx.run('scale', { type: to });
      else if (
        // A provider that scales only stopped instances: stop → scale → start.
        ctx.allows('stopped') &&
        current.state === 'running' &&
        capabilities.stop.supported &&
        capabilities.start.supported
      ) {
        ctx.run('stop', {}, `${ctx.step}-stop`);
        ctx.run('scale', { type: to });
        ctx.run('start', {}, `${ctx.step}-start`);
      } else return ctx.skip(ctx.stateNote());
      current.type = to;
    },
  }),
  'set-labels': defineAction({
    capability: 'labels',
    bare: false,
    fields: { labels: labelMap },
    written: {
      schema: labelMap.refine((r) => Object.keys(r).length > 0, 'at least one label'),
      toFields: (labels) => ({ labels }),
    },
    plan: ({ labels }, ctx) => {
      const changes = Object.fromEntries(
        Object.entries(labels).filter(([k, v]) => ctx.current.labels[k] !== v),
      );
      if (Object.keys(changes).length === 0) return ctx.skip('labels already set');
      ctx.run('labels', { labels: changes });
      Object.assign(ctx.current.labels, changes);
      ctx.expect.labels = { ...ctx.expect.labels, ...changes };
    },
  }),
  'remove-labels': defineAction({
    capability: 'labels',
    bare: false,
    fields: { keys: z.array(labelKey).min(1) },
    written: { schema: z.array(labelKey).min(1), toFields: (keys) => ({ keys }) },
    plan: ({ keys }, ctx) => {
      const present = keys.filter((k) => k in ctx.current.labels);
      if (present.length === 0) return ctx.skip('labels already absent');
      const removed = Object.fromEntries(present.map((k) => [k, null]));
      ctx.run('labels', { labels: removed });
      for (const k of present) delete ctx.current.labels[k];
      ctx.expect.labels = { ...ctx.expect.labels, ...removed };
    },
  }),
  protect: defineAction({
    capability: 'protection',
    bare: true,
    fields: {},
    plan: (_, ctx) => {
      if (ctx.current.protected) return ctx.skip('already protected');
      ctx.run('protection', { enabled: true });
      ctx.current.protected = true;
      ctx.expect.protected = true;
    },
  }),
  notify: defineAction({
    bare: true,
    fields: { message: message.optional() },
    written: {
      schema: z.strictObject({ message: message.optional() }),
      toFields: (v) => ({ ...(v.message && { message: v.message }) }),
    },
    plan: (p, ctx) => ctx.notify(p.message ?? `policy ${ctx.policyName} acted on ${ctx.instance.name}`),
  }),
  delete: defineAction({
    capability: 'delete',
    bare: true,
    fields: {},
    plan: (_, ctx) => {
      // Never delete without the snapshot the policy promised (e.g. the provider cannot snapshot).
      if (!ctx.current.snapshotTaken && !ctx.allowDeleteWithoutSnapshot)
        return ctx.skip('delete is held back: no snapshot was taken before it');
      if (ctx.current.protected)
        return ctx.skip('the instance is protected; fleetflow does not remove protection to delete');
      if (!ctx.allows(ctx.current.state)) return ctx.skip(ctx.stateNote());
      ctx.run('delete');
      ctx.current.deleted = true;
      ctx.current.state = 'deleted';
    },
  }),
};

function powerTo(target: 'running' | 'stopped', ctx: Planning) {
  if (ctx.current.state === target) return ctx.skip(`already ${target}`);
  if (!ctx.allows(ctx.current.state)) return ctx.skip(ctx.stateNote());
  ctx.run(target === 'running' ? 'start' : 'stop');
  ctx.current.state = target;
}
