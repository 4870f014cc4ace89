import type { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The CDK side of the local engine's binding convention. Every Lambda of the app says, in its
 * CloudFormation resource metadata, which module and export implement it; the local engine reads
 * that back from the synthesized template and calls the handler in-process. Metadata (not tags)
 * because it never reaches the deployed function and costs nothing on AWS.
 */
export const ENTRY_METADATA = 'fleetflow:entry';
export const HANDLER_METADATA = 'fleetflow:handler';
/** Optional explicit state machine name for the local engine (see `markStateMachine`). */
export const NAME_METADATA = 'fleetflow:name';

export class BindingError extends Error {
  override name = 'BindingError';
}

/** Structural type: any construct whose default child is a CloudFormation resource (lambda.Function, NodejsFunction, StateMachine). */
type WithCfnResource = IConstruct;

function cfnResourceOf(construct: WithCfnResource): CfnResource {
  const child = construct.node.defaultChild as CfnResource | undefined;
  if (!child || typeof child.addMetadata !== 'function') {
    throw new BindingError(`${construct.node.path} has no CloudFormation resource to mark`);
  }
  return child;
}

/**
 * Declares which module implements a Lambda function, for the local engine.
 *
 * @param fn a `lambda.Function` (or `NodejsFunction`)
 * @param entry module path relative to the repository root, POSIX separators, e.g. `functions/handlers/instance-create.ts`
 * @param exportName the exported handler, `handler` by default
 * @example markHandler(createFn, 'functions/handlers/instance-create.ts');
 */
export function markHandler(fn: WithCfnResource, entry: string, exportName = 'handler'): void {
  if (
    entry.length === 0 ||
    entry.startsWith('/') ||
    entry.includes('\\') ||
    entry.split('/').includes('..')
  ) {
    throw new BindingError(`handler entry must be a relative POSIX path inside the repository: ${entry}`);
  }
  if (!/^[A-Za-z_$][\w$]*$/.test(exportName)) {
    throw new BindingError(`handler export name is not an identifier: ${exportName}`);
  }
  const resource = cfnResourceOf(fn);
  resource.addMetadata(ENTRY_METADATA, entry);
  resource.addMetadata(HANDLER_METADATA, exportName);
}

/**
 * Gives a state machine a stable local name (its ARN on the local engine) without setting a
 * physical `StateMachineName` on AWS, which would block replacements.
 */
export function markStateMachine(stateMachine: WithCfnResource, name: string): void {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
    throw new BindingError(`state machine name must be 1-80 of [A-Za-z0-9_-]: ${name}`);
  }
  cfnResourceOf(stateMachine).addMetadata(NAME_METADATA, name);
}
