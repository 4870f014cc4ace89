import type { Stage } from 'aws-cdk-lib';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { ENTRY_METADATA, HANDLER_METADATA, NAME_METADATA } from '../../infra/binding.ts';

/**
 * Turns a synthesized CloudFormation template into what the local engine runs: each state
 * machine's ASL (intrinsics resolved against a fixed fake account), the Lambda each Task invokes,
 * and the module each Lambda is implemented by (`markHandler` metadata).
 */

export const LOCAL_PARTITION = 'aws';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '123456789012';

export class AslResolveError extends Error {
  override name = 'AslResolveError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface CfnResourceJson {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

export interface CfnTemplateJson {
  Resources?: Record<string, CfnResourceJson>;
  Parameters?: Record<string, { Default?: unknown }>;
  [key: string]: unknown;
}

/**
 * How a Task reaches its work: a Lambda by ARN, `lambda:invoke`, a child execution of another
 * state machine (`states:startExecution`), or another service integration.
 */
export type TaskStyle = 'direct' | 'invoke' | 'execution' | 'service';

/** `states:startExecution` integration patterns: request-response, `.sync` (Output as JSON text), `.sync:2` (Output as JSON). */
export type ExecutionIntegration = 'request' | 'sync' | 'sync2';

export interface TaskInfo {
  style: TaskStyle;
  resource: string;
  /** Logical id (= local function name) of the Lambda, for `direct` and `invoke` Tasks. */
  lambda?: string;
  /** For `execution` Tasks: how the parent waits for the child. */
  integration?: ExecutionIntegration;
}

export interface ResolvedStateMachine {
  logicalId: string;
  /** Local name, used in ARNs: StateMachineName, else `fleetflow:name` metadata, else the construct path, else the logical id. */
  name: string;
  type: 'STANDARD' | 'EXPRESS';
  definition: StateMachineDefinition;
  /** Every Task state (nested Map/Parallel states included) → logical id of the Lambda it invokes. */
  lambdaByTask: Record<string, string>;
  /** Every Task state → how it is invoked (Lambda and non-Lambda). */
  tasks: Record<string, TaskInfo>;
  roleArn?: string;
}

export interface LambdaFunctionInfo {
  logicalId: string;
  /** Module path relative to the repository root (`fleetflow:entry`); absent when not marked. */
  entry?: string;
  /** Exported handler (`fleetflow:handler`), `handler` by default. */
  exportName: string;
  /** The function's Timeout (CloudFormation default 3 s): what bounds an invocation on AWS. */
  timeoutSeconds: number;
  memorySize: number;
  /** Environment variables whose values could be resolved locally. */
  environment: Record<string, string>;
  /** Environment variables that reference something the resolver cannot fake (left out above). */
  unresolvedEnvironment: string[];
}

export interface LocalApp {
  stateMachines: ResolvedStateMachine[];
  functions: Record<string, LambdaFunctionInfo>;
}

export const lambdaArn = (logicalId: string): string =>
  `arn:${LOCAL_PARTITION}:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;
export const stateMachineArn = (name: string): string =>
  `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;

const NO_VALUE = Symbol('AWS::NoValue');

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Resolves the intrinsic functions CDK emits, against a fake account/region. */
export class IntrinsicResolver {
  private readonly resources: Record<string, CfnResourceJson>;

  constructor(
    private readonly template: CfnTemplateJson,
    private readonly machineNames: ReadonlyMap<string, string> = new Map(),
    private readonly stackName = 'local',
  ) {
    this.resources = template.Resources ?? {};
  }

  resolve(value: unknown): unknown {
    const out = this.resolveInner(value);
    return out === NO_VALUE ? undefined : out;
  }

  resolveString(value: unknown, what: string): string {
    const out = this.resolve(value);
    if (typeof out !== 'string') throw new AslResolveError(`${what} did not resolve to a string`);
    return out;
  }

  private resolveInner(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolveInner(v)).filter((v) => v !== NO_VALUE);
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    const only = keys.length === 1 ? keys[0] : undefined;
    if (only === 'Ref') return this.ref(value.Ref);
    if (only === 'Fn::GetAtt') return this.getAtt(value['Fn::GetAtt']);
    if (only === 'Fn::Join') return this.join(value['Fn::Join']);
    if (only === 'Fn::Sub') return this.sub(value['Fn::Sub']);
    if (only === 'Fn::Select') return this.select(value['Fn::Select']);
    if (only === 'Fn::Split') return this.split(value['Fn::Split']);
    if (only?.startsWith('Fn::')) throw new AslResolveError(`unsupported intrinsic ${only}`);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = this.resolveInner(v);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  private ref(name: unknown): unknown {
    if (typeof name !== 'string') throw new AslResolveError('Ref must name a string');
    switch (name) {
      case 'AWS::Partition':
        return LOCAL_PARTITION;
      case 'AWS::Region':
        return LOCAL_REGION;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return `arn:${LOCAL_PARTITION}:cloudformation:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stack/${this.stackName}/local`;
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const param = this.template.Parameters?.[name];
    if (param) {
      if (param.Default === undefined) throw new AslResolveError(`parameter ${name} has no default`);
      return param.Default;
    }
    const res = this.resources[name];
    if (!res) throw new AslResolveError(`Ref to unknown resource ${name}`);
    switch (res.Type) {
      case 'AWS::StepFunctions::StateMachine':
        return stateMachineArn(this.machineName(name));
      case 'AWS::SNS::Topic':
        return `arn:${LOCAL_PARTITION}:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${this.physicalName(name, 'TopicName')}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT}/${this.physicalName(name, 'QueueName')}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:${LOCAL_PARTITION}:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${this.physicalName(name, 'Name')}`;
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return this.physicalName(name, 'TableName');
      case 'AWS::Events::EventBus':
        return this.physicalName(name, 'Name');
      default:
        // Lambda functions are named by logical id locally, matching lambdaArn().
        return name;
    }
  }

  private getAtt(arg: unknown): unknown {
    let logicalId: unknown;
    let attr: unknown;
    if (typeof arg === 'string') [logicalId, attr] = arg.split(/\.(.*)/s);
    else if (Array.isArray(arg)) [logicalId, attr] = arg.map((a) => this.resolveInner(a));
    if (typeof logicalId !== 'string' || typeof attr !== 'string')
      throw new AslResolveError('malformed Fn::GetAtt');
    const res = this.resources[logicalId];
    if (!res) throw new AslResolveError(`Fn::GetAtt on unknown resource ${logicalId}`);
    const p = LOCAL_PARTITION;
    const r = LOCAL_REGION;
    const a = LOCAL_ACCOUNT;
    const key = `${res.Type}.${attr}`;
    switch (key) {
      case 'AWS::Lambda::Function.Arn':
        return lambdaArn(logicalId);
      case 'AWS::StepFunctions::StateMachine.Arn':
        return stateMachineArn(this.machineName(logicalId));
      case 'AWS::StepFunctions::StateMachine.Name':
        return this.machineName(logicalId);
      case 'AWS::IAM::Role.Arn':
        return `arn:${p}:iam::${a}:role/${this.physicalName(logicalId, 'RoleName')}`;
      case 'AWS::DynamoDB::Table.Arn':
      case 'AWS::DynamoDB::GlobalTable.Arn':
        return `arn:${p}:dynamodb:${r}:${a}:table/${this.physicalName(logicalId, 'TableName')}`;
      case 'AWS::DynamoDB::Table.StreamArn':
      case 'AWS::DynamoDB::GlobalTable.StreamArn':
        return `arn:${p}:dynamodb:${r}:${a}:table/${this.physicalName(logicalId, 'TableName')}/stream/local`;
      case 'AWS::SQS::Queue.Arn':
        return `arn:${p}:sqs:${r}:${a}:${this.physicalName(logicalId, 'QueueName')}`;
      case 'AWS::SQS::Queue.QueueName':
        return this.physicalName(logicalId, 'QueueName');
      case 'AWS::SQS::Queue.QueueUrl':
        return `https://sqs.${r}.amazonaws.com/${a}/${this.physicalName(logicalId, 'QueueName')}`;
      case 'AWS::SNS::Topic.TopicArn':
        return `arn:${p}:sns:${r}:${a}:${this.physicalName(logicalId, 'TopicName')}`;
      case 'AWS::Events::EventBus.Arn':
        return `arn:${p}:events:${r}:${a}:event-bus/${this.physicalName(logicalId, 'Name')}`;
      case 'AWS::Logs::LogGroup.Arn':
        return `arn:${p}:logs:${r}:${a}:log-group:${this.physicalName(logicalId, 'LogGroupName')}:*`;
      default:
        throw new AslResolveError(`Fn::GetAtt ${logicalId}.${attr} (${res.Type}) has no local value`);
    }
  }

  private join(arg: unknown): string {
    if (!Array.isArray(arg) || arg.length !== 2) throw new AslResolveError('malformed Fn::Join');
    const [sep, parts] = arg.map((a) => this.resolveInner(a));
    if (typeof sep !== 'string' || !Array.isArray(parts)) throw new AslResolveError('malformed Fn::Join');
    return parts.map((p) => this.scalar(p, 'Fn::Join part')).join(sep);
  }

  private sub(arg: unknown): string {
    let text: unknown = arg;
    let vars: Record<string, unknown> = {};
    if (Array.isArray(arg)) {
      text = arg[0];
      const v = this.resolveInner(arg[1] ?? {});
      if (!isObject(v)) throw new AslResolveError('malformed Fn::Sub variables');
      vars = v;
    }
    if (typeof text !== 'string') throw new AslResolveError('malformed Fn::Sub');
    return text.replace(/\$\{([^}]*)\}/g, (_m, expr: string) => {
      if (expr.startsWith('!')) return `\${${expr.slice(1)}}`;
      if (expr in vars) return this.scalar(vars[expr], `Fn::Sub \${${expr}}`);
      const dot = expr.indexOf('.');
      const value =
        dot > 0 && !expr.startsWith('AWS::')
          ? this.getAtt([expr.slice(0, dot), expr.slice(dot + 1)])
          : this.ref(expr);
      return this.scalar(value, `Fn::Sub \${${expr}}`);
    });
  }

  private select(arg: unknown): unknown {
    if (!Array.isArray(arg) || arg.length !== 2) throw new AslResolveError('malformed Fn::Select');
    const [index, list] = arg.map((a) => this.resolveInner(a));
    if (!Array.isArray(list)) throw new AslResolveError('Fn::Select needs a list');
    const item = list[Number(index)];
    if (item === undefined) throw new AslResolveError(`Fn::Select index ${String(index)} out of range`);
    return item;
  }

  private split(arg: unknown): string[] {
    if (!Array.isArray(arg) || arg.length !== 2) throw new AslResolveError('malformed Fn::Split');
    const [sep, text] = arg.map((a) => this.resolveInner(a));
    if (typeof sep !== 'string' || typeof text !== 'string') throw new AslResolveError('malformed Fn::Split');
    return text.split(sep);
  }

  private scalar(v: unknown, what: string): string {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new AslResolveError(`${what} did not resolve to a scalar`);
  }

  private physicalName(logicalId: string, prop: string): string {
    const given = this.resources[logicalId]?.Properties?.[prop];
    return typeof given === 'string' ? given : logicalId;
  }

  private machineName(logicalId: string): string {
    return this.machineNames.get(logicalId) ?? logicalId;
  }
}

const NAME_RE = /^[A-Za-z0-9_-]{1,80}$/;

/** Names every state machine once, so Refs from anywhere in the template agree with the engine's ARNs. */
function nameMachines(resources: Record<string, CfnResourceJson>): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const derived: [string, string][] = [];
  for (const [logicalId, res] of Object.entries(resources)) {
    if (res.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const physical = res.Properties?.StateMachineName;
    const marked = res.Metadata?.[NAME_METADATA];
    const explicit =
      typeof physical === 'string' ? physical : typeof marked === 'string' ? marked : undefined;
    if (explicit !== undefined) {
      if (!NAME_RE.test(explicit))
        throw new AslResolveError(`state machine ${logicalId}: invalid name ${explicit}`);
      if (taken.has(explicit)) throw new AslResolveError(`two state machines are named ${explicit}`);
      taken.add(explicit);
      names.set(logicalId, explicit);
      continue;
    }
    const path = res.Metadata?.['aws:cdk:path'];
    let fromPath: string | undefined;
    if (typeof path === 'string') {
      // "Stack/Scope/Machine/Resource" → "Scope-Machine"
      const segments = path.split('/').slice(1);
      if (segments.at(-1) === 'Resource') segments.pop();
      const joined = segments
        .join('-')
        .replace(/[^A-Za-z0-9_-]/g, '-')
        .slice(0, 80);
      if (joined.length > 0) fromPath = joined;
    }
    derived.push([logicalId, fromPath ?? logicalId]);
  }
  for (const [logicalId, candidate] of derived) {
    const name = taken.has(candidate) ? logicalId : candidate;
    if (taken.has(name)) throw new AslResolveError(`two state machines would be named ${name}`);
    taken.add(name);
    names.set(logicalId, name);
  }
  return names;
}

type AslStates = Record<string, Record<string, unknown>>;

/** Calls `visit` for every state, descending into Map ItemProcessor/Iterator and Parallel branches. */
export function walkStates(
  definition: { States?: unknown },
  visit: (name: string, state: Record<string, unknown>) => void,
): void {
  const states = (definition.States ?? {}) as AslStates;
  for (const [name, state] of Object.entries(states)) {
    visit(name, state);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (isObject(processor)) walkStates(processor, visit);
    if (Array.isArray(state.Branches)) for (const b of state.Branches) if (isObject(b)) walkStates(b, visit);
  }
}

const LAMBDA_ARN_RE = /^arn:aws[a-z-]*:lambda:[^:]*:\d{12}:function:([^:]+)(?::[^:]+)?$/;
const PARTIAL_LAMBDA_RE = /^\d{12}:function:([^:]+)(?::[^:]+)?$/;
const INVOKE_RE = /^arn:aws[a-z-]*:states:::lambda:invoke$/;
const START_EXECUTION_RE = /^arn:aws[a-z-]*:states:::states:startExecution(\.sync(?::2)?)?$/;
const INTEGRATION_BY_SUFFIX: Record<string, ExecutionIntegration> = {
  '': 'request',
  '.sync': 'sync',
  '.sync:2': 'sync2',
};

/** `arn:aws:states:::dynamodb:putItem` → ['dynamodb', 'putItem'], as history events name a Task's resource. */
export function serviceParts(resource: string | undefined): [string, string] {
  const m = /^arn:aws[a-z-]*:states:::([^:]+):(.+)$/.exec(resource ?? '');
  return m?.[1] && m[2] ? [m[1], m[2]] : ['unknown', resource ?? 'unknown'];
}

function functionNameOf(ref: string): string {
  const m = LAMBDA_ARN_RE.exec(ref) ?? PARTIAL_LAMBDA_RE.exec(ref);
  if (m?.[1]) return m[1];
  // A bare name, possibly with a version/alias qualifier.
  return ref.split(':')[0] ?? ref;
}

function classifyTasks(definition: StateMachineDefinition, machine: string): Record<string, TaskInfo> {
  const tasks: Record<string, TaskInfo> = {};
  const seen = new Set<string>();
  walkStates(definition, (name, state) => {
    // Overrides in aws-local-stepfunctions are keyed by state name across nesting levels.
    if (seen.has(name)) throw new AslResolveError(`${machine}: state name ${name} is used twice`);
    seen.add(name);
    if (state.Type !== 'Task') return;
    const resource = state.Resource;
    if (typeof resource !== 'string') throw new AslResolveError(`${machine}: Task ${name} has no Resource`);
    const direct = LAMBDA_ARN_RE.exec(resource);
    if (direct?.[1]) {
      tasks[name] = { style: 'direct', resource, lambda: direct[1] };
    } else if (INVOKE_RE.test(resource)) {
      const params = state.Parameters;
      const fnName = isObject(params) ? params.FunctionName : undefined;
      if (typeof fnName !== 'string') {
        throw new AslResolveError(
          `${machine}: Task ${name} invokes a Lambda chosen at run time (FunctionName.$)`,
        );
      }
      tasks[name] = { style: 'invoke', resource, lambda: functionNameOf(fnName) };
    } else if (START_EXECUTION_RE.test(resource)) {
      const suffix = START_EXECUTION_RE.exec(resource)?.[1] ?? '';
      tasks[name] = { style: 'execution', resource, integration: INTEGRATION_BY_SUFFIX[suffix] ?? 'request' };
    } else {
      tasks[name] = { style: 'service', resource };
    }
  });
  return tasks;
}

function parseDefinition(
  resolver: IntrinsicResolver,
  res: CfnResourceJson,
  logicalId: string,
): StateMachineDefinition {
  const props = res.Properties ?? {};
  let text: string;
  if (props.Definition !== undefined) {
    text = JSON.stringify(resolver.resolve(props.Definition));
  } else if (props.DefinitionString !== undefined) {
    text = resolver.resolveString(props.DefinitionString, `${logicalId} DefinitionString`);
  } else {
    throw new AslResolveError(
      `state machine ${logicalId} has no inline definition (DefinitionS3Location is not supported)`,
    );
  }
  const subs = props.DefinitionSubstitutions;
  if (isObject(subs)) {
    const resolved = resolver.resolve(subs) as Record<string, unknown>;
    text = text.replace(/\$\{([^}]+)\}/g, (m, key: string) => {
      const v = resolved[key];
      if (v === undefined) return m;
      // Substitutions land inside JSON strings: escape as JSON would.
      return JSON.stringify(String(v)).slice(1, -1);
    });
  }
  try {
    return JSON.parse(text) as StateMachineDefinition;
  } catch (error) {
    throw new AslResolveError(`state machine ${logicalId}: definition is not JSON`, { cause: error });
  }
}

function readFunctions(
  resolver: IntrinsicResolver,
  resources: Record<string, CfnResourceJson>,
): Record<string, LambdaFunctionInfo> {
  const functions: Record<string, LambdaFunctionInfo> = {};
  for (const [logicalId, res] of Object.entries(resources)) {
    if (res.Type !== 'AWS::Lambda::Function') continue;
    const props = res.Properties ?? {};
    const entry = res.Metadata?.[ENTRY_METADATA];
    const exportName = res.Metadata?.[HANDLER_METADATA];
    const environment: Record<string, string> = {};
    const unresolvedEnvironment: string[] = [];
    const vars = isObject(props.Environment) ? props.Environment.Variables : undefined;
    if (isObject(vars)) {
      for (const [k, v] of Object.entries(vars)) {
        try {
          const r = resolver.resolve(v);
          if (typeof r === 'string' || typeof r === 'number' || typeof r === 'boolean')
            environment[k] = String(r);
          else unresolvedEnvironment.push(k);
        } catch {
          unresolvedEnvironment.push(k);
        }
      }
    }
    const timeout = resolver.resolve(props.Timeout);
    const memory = resolver.resolve(props.MemorySize);
    functions[logicalId] = {
      logicalId,
      ...(typeof entry === 'string' ? { entry } : {}),
      exportName: typeof exportName === 'string' ? exportName : 'handler',
      timeoutSeconds: typeof timeout === 'number' ? timeout : 3,
      memorySize: typeof memory === 'number' ? memory : 128,
      environment,
      unresolvedEnvironment,
    };
  }
  return functions;
}

/**
 * Reads the state machines and Lambda functions of one synthesized template, e.g.
 * `loadTemplate(Template.fromStack(stack).toJSON())` or a `cdk.out/*.template.json`.
 */
export function loadTemplate(template: CfnTemplateJson, stackName = 'local'): LocalApp {
  const resources = template.Resources ?? {};
  const names = nameMachines(resources);
  const resolver = new IntrinsicResolver(template, names, stackName);
  const stateMachines: ResolvedStateMachine[] = [];
  for (const [logicalId, res] of Object.entries(resources)) {
    if (res.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const name = names.get(logicalId) ?? logicalId;
    const definition = parseDefinition(resolver, res, logicalId);
    const tasks = classifyTasks(definition, name);
    const lambdaByTask: Record<string, string> = {};
    for (const [state, t] of Object.entries(tasks))
      if (t.lambda !== undefined) lambdaByTask[state] = t.lambda;
    const role = res.Properties?.RoleArn === undefined ? undefined : resolver.resolve(res.Properties.RoleArn);
    stateMachines.push({
      logicalId,
      name,
      type: res.Properties?.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
      definition,
      lambdaByTask,
      tasks,
      ...(typeof role === 'string' ? { roleArn: role } : {}),
    });
  }
  return { stateMachines, functions: readFunctions(resolver, resources) };
}

/**
 * Synthesizes a CDK app (or stage) and reads every stack in it. Logical ids must be unique across
 * stacks, since they name the local Lambdas; cross-stack references (Fn::ImportValue) are not resolved.
 */
export function loadApp(app: Stage): LocalApp {
  const assembly = app.synth();
  const merged: LocalApp = { stateMachines: [], functions: {} };
  const machineNames = new Set<string>();
  for (const stack of assembly.stacksRecursively) {
    const part = loadTemplate(stack.template as CfnTemplateJson, stack.stackName);
    for (const id of Object.keys(part.functions)) {
      if (merged.functions[id]) throw new AslResolveError(`Lambda logical id ${id} appears in two stacks`);
    }
    for (const sm of part.stateMachines) {
      if (machineNames.has(sm.name))
        throw new AslResolveError(`state machine name ${sm.name} appears in two stacks`);
      machineNames.add(sm.name);
    }
    Object.assign(merged.functions, part.functions);
    merged.stateMachines.push(...part.stateMachines);
  }
  return merged;
}
