import type * as z from 'zod';
import type {
  Action,
  ActionCapability,
  Capabilities,
  Instance,
  InstanceState,
} from '../../providers/port.ts';

/** The port actions instance-action runs. */
export type StepAction =
  | 'start'
  | 'stop'
  | 'reboot'
  | 'scale'
  | 'snapshot'
  | 'delete'
  | 'protection'
  | 'labels';

/** One step of a plan: a provider action, a notification, or a skip with its reason. */
export interface PlanStep {
  /** The job step name, unique in the job: `1-reboot`, `2-scale-stop`… */
  name: string;
  kind: 'provider' | 'notify' | 'skip';
  /** The policy action this step comes from. */
  from: string;
  action?: StepAction;
  params: {
    type?: string;
    name?: string;
    enabled?: boolean;
    labels?: Record<string, string | null>;
    message?: string;
  };
  reason?: string;
}

/** What the instance should look like once the plan ran; verified after the last step. */
export interface Expectation {
  state?: InstanceState;
  type?: string;
  labels?: Record<string, string | null>;
  protected?: boolean;
}

/**
 * The instance as the plan has changed it so far (the planner simulates every step), plus what
 * an action needs to add its steps. One context per action of the policy.
 */
export interface Planning {
  policyName: string;
  /** The policy allows a delete with no snapshot taken before it. */
  allowDeleteWithoutSnapshot: boolean;
  instance: Instance;
  capabilities: Capabilities;
  /** The capability this action needs (absent for actions that never reach the provider). */
  capability?: ActionCapability;
  current: {
    state: InstanceState;
    type: string;
    labels: Record<string, string>;
    protected: boolean;
    snapshotTaken: boolean;
    deleted: boolean;
  };
  expect: Expectation;
  /** The step name, `<position>-<action>`. */
  step: string;
  /** Adds a provider step (`name` defaults to the action's step name). */
  run(action: StepAction, params?: PlanStep['params'], name?: string): void;
  notify(message: string): void;
  skip(reason: string): void;
  /** Whether the capability allows state `s` (any state when it names none). */
  allows(s: InstanceState): boolean;
  /** "<action> needs the instance running or stopped; it is …" */
  stateNote(): string;
}

/**
 * One policy action, registered once: how it is written in the config file, which provider
 * capability it needs, and how it plans its steps on one instance.
 */
export interface ActionDefinition<F extends z.ZodRawShape, W = never> {
  /** The port capability this action needs; the planner skips (with the reason) when it is missing. */
  capability?: Action;
  /** Whether the bare name (`reboot`) is a complete action. */
  bare: boolean;
  /** Its parameters in the normalised form `{action: <name>, …}` (optional ones `.optional()`). */
  fields: F;
  /** The one-key form (`scale: {to: …}`): the value's schema and how it maps to the fields. */
  written?: { schema: z.ZodType<W>; toFields(value: W): z.output<z.ZodObject<F>> };
  plan(params: z.output<z.ZodObject<F>>, ctx: Planning): void;
}

export const defineAction = <F extends z.ZodRawShape, W = never>(
  definition: ActionDefinition<F, W>,
): ActionDefinition<F, W> => definition;
