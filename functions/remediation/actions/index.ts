import * as z from 'zod';
import type { Capabilities, Instance } from '../../providers/port.ts';
import type { ActionDefinition, Expectation, Planning, PlanStep } from './define.ts';
import { ACTIONS } from './registry.ts';

export type { Expectation, PlanStep, StepAction } from './define.ts';

export type PolicyActionName = keyof typeof ACTIONS;
/** The action names, in registry order. */
export const POLICY_ACTIONS = Object.keys(ACTIONS) as [PolicyActionName, ...PolicyActionName[]];

type FieldsOf<N extends PolicyActionName> =
  (typeof ACTIONS)[N] extends ActionDefinition<infer F, infer _W> ? z.output<z.ZodObject<F>> : never;

/** One action, normalised: `{action: 'scale', to: 'standard.small'}`. */
export type PolicyAction = { [N in PolicyActionName]: { action: N } & FieldsOf<N> }[PolicyActionName];

// biome-ignore lint/suspicious/noExplicitAny: the registry's entries differ in their field shapes
type AnyAction = ActionDefinition<z.ZodRawShape, any>;
const ENTRIES = Object.entries(ACTIONS) as Array<[PolicyActionName, AnyAction]>;

/** A field is required in the normalised form when its schema does not accept undefined. */
const required = (def: AnyAction) =>
  Object.entries(def.fields)
    .filter(([, schema]) => !(schema as z.ZodType).safeParse(undefined).success)
    .map(([key]) => key);

/**
 * Written as a bare name (`reboot`) or as a one-key object with its parameters (`scale: {to: …}`);
 * the normalised form parses too, so a parsed policy parses again to itself. Built from the
 * registry, so a new action needs no edit here.
 */
export const actionSchema = z
  .union([
    z.enum(ENTRIES.filter(([, def]) => def.bare).map(([name]) => name) as [string, ...string[]]),
    ...ENTRIES.flatMap(([name, def]) =>
      def.written ? [z.strictObject({ [name]: def.written.schema })] : [],
    ),
    z.strictObject({
      action: z.enum(POLICY_ACTIONS),
      ...Object.fromEntries(
        ENTRIES.flatMap(([, def]) => Object.entries(def.fields)).map(([key, schema]) => [
          key,
          (schema as z.ZodType).optional(),
        ]),
      ),
    }),
  ])
  .superRefine((a, ctx) => {
    if (typeof a !== 'object' || !('action' in a)) return;
    for (const key of required(ACTIONS[a.action as PolicyActionName] as AnyAction)) {
      if ((a as Record<string, unknown>)[key] === undefined)
        ctx.addIssue({ code: 'custom', message: `${a.action} needs ${key}` });
    }
  })
  .transform((a): PolicyAction => {
    if (typeof a === 'string') return { action: a } as PolicyAction;
    const record = a as Record<string, unknown>;
    if ('action' in record) {
      const name = record.action as PolicyActionName;
      const fields = Object.keys((ACTIONS[name] as AnyAction).fields).filter((k) => record[k] !== undefined);
      return { action: name, ...Object.fromEntries(fields.map((k) => [k, record[k]])) } as PolicyAction;
    }
    const [name, value] = Object.entries(record)[0] as [PolicyActionName, unknown];
    return { action: name, ...(ACTIONS[name] as AnyAction).written!.toFields(value) } as PolicyAction;
  });

export interface Plan {
  steps: PlanStep[];
  /** Steps that change something at the provider. */
  mutations: number;
  expect: Expectation;
}

/**
 * Turns a policy's actions into steps for one instance, simulating the instance's state through
 * them so that each step is checked against the provider's declared capability and required state.
 * An action the provider cannot do, or one with nothing to do, becomes a skip with its reason —
 * reported, never attempted.
 */
export function planActions(
  policy: { name: string; actions: readonly PolicyAction[]; allowDeleteWithoutSnapshot: boolean },
  instance: Instance,
  capabilities: Capabilities,
): Plan {
  const steps: PlanStep[] = [];
  const expect: Expectation = {};
  const current: Planning['current'] = {
    state: instance.state,
    type: instance.type,
    labels: { ...instance.labels },
    protected: instance.protected === true,
    snapshotTaken: false,
    deleted: false,
  };

  for (const [i, { action: name, ...params }] of policy.actions.entries()) {
    const def = ACTIONS[name] as AnyAction;
    const step = `${i + 1}-${name}`;
    const skip = (reason: string) => {
      steps.push({ name: step, kind: 'skip', from: name, params: {}, reason });
    };
    if (current.deleted) {
      skip('the instance is deleted by an earlier action');
      continue;
    }
    const capability = def.capability ? capabilities[def.capability] : undefined;
    if (capability && !capability.supported) {
      skip(`${instance.provider} cannot ${name}${capability.note ? `: ${capability.note}` : ''}`);
      continue;
    }
    def.plan(params, {
      policyName: policy.name,
      allowDeleteWithoutSnapshot: policy.allowDeleteWithoutSnapshot,
      instance,
      capabilities,
      ...(capability && { capability }),
      current,
      expect,
      step,
      run: (action, stepParams = {}, stepName = step) =>
        steps.push({ name: stepName, kind: 'provider', from: name, action, params: stepParams }),
      notify: (message) => steps.push({ name: step, kind: 'notify', from: name, params: { message } }),
      skip,
      allows: (s) => !capability?.requiresState || capability.requiresState.includes(s),
      stateNote: () =>
        `${name} needs the instance ${capability?.requiresState?.join(' or ')}; it is ${current.state}`,
    });
  }

  const mutations = steps.filter((s) => s.kind === 'provider').length;
  if (current.deleted) return { steps, mutations, expect: { state: 'deleted' } };
  if (mutations > 0) {
    expect.state = current.state;
    if (current.type !== instance.type) expect.type = current.type;
  }
  return { steps, mutations, expect };
}

/** Checks an instance read after the plan against what the plan expected; the mismatches, if any. */
export function verifyExpectation(expect: Expectation, instance: Instance | undefined): string[] {
  if (!instance)
    return expect.state === 'deleted' || expect.state === undefined
      ? []
      : [`the instance is gone, expected ${expect.state}`];
  const problems: string[] = [];
  if (expect.state && instance.state !== expect.state)
    problems.push(`state is ${instance.state}, expected ${expect.state}`);
  if (expect.type && instance.type !== expect.type && instance.typeId !== expect.type)
    problems.push(`type is ${instance.type}, expected ${expect.type}`);
  for (const [k, v] of Object.entries(expect.labels ?? {})) {
    if ((instance.labels[k] ?? null) !== v)
      problems.push(`label ${k} is ${instance.labels[k] ?? '(absent)'}, expected ${v ?? '(absent)'}`);
  }
  if (expect.protected !== undefined && (instance.protected === true) !== expect.protected)
    problems.push('protection is not enabled');
  return problems;
}
