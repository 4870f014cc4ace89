import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import * as providerErrors from '../../functions/providers/errors.ts';
import { InvalidInputError } from '../../functions/runtime/handler.ts';
import { DeadlineExceededError, InstanceVanishedError } from '../../functions/runtime/progress.ts';
import { ERROR_NAMES } from '../../functions/shared/error-names.ts';
import * as storeErrors from '../../functions/store/errors.ts';
import { FleetflowStack } from '../../infra/fleetflow-stack.ts';
import { type CfnTemplateJson, loadTemplate } from '../../local/engine/index.ts';
import { TRANSIENT_PROVIDER_ERRORS } from '../../workflows/fragments/errors.ts';
import { testApp } from '../infra/synth.ts';

/**
 * Step Functions matches Retry and Catch on the `name` a Lambda throws
 * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html): a typo on
 * either side silently turns a retry into a failure. Every name the synthesized workflows match
 * must be one an error class of fleetflow throws (AWS's own `States.*` and `Lambda.*` aside).
 */

type ErrorClass = new (...args: never[]) => Error;

/** The name each error class really throws with: an instance's `name`, not the class's. */
function thrownNames(): Set<string> {
  const candidates: unknown[] = [
    ...Object.values(providerErrors),
    ...Object.values(storeErrors),
    InvalidInputError,
    DeadlineExceededError,
    InstanceVanishedError,
  ];
  const classes = candidates.filter(
    (c): c is ErrorClass => typeof c === 'function' && c.prototype instanceof Error,
  );
  return new Set(
    classes.map(
      (C) => new (C as unknown as new (a: unknown, b: unknown) => Error)('x', { provider: 'exoscale' }).name,
    ),
  );
}

function matchedNames(definition: unknown): string[] {
  const names: string[] = [];
  const walk = (states: Record<string, Record<string, unknown>>) => {
    for (const state of Object.values(states)) {
      for (const rule of [...((state.Retry as unknown[]) ?? []), ...((state.Catch as unknown[]) ?? [])]) {
        names.push(...(rule as { ErrorEquals: string[] }).ErrorEquals);
      }
      if (state.Iterator) walk((state.Iterator as { States: never }).States);
      if (state.ItemProcessor) walk((state.ItemProcessor as { States: never }).States);
      for (const branch of (state.Branches as Array<{ States: never }>) ?? []) walk(branch.States);
    }
  };
  walk((definition as { States: Record<string, Record<string, unknown>> }).States);
  return names;
}

describe('error names shared by the workflows and the error classes', () => {
  const { app, cleanup } = testApp();
  afterAll(cleanup);
  const template = Template.fromStack(new FleetflowStack(app, 'Fleetflow')).toJSON() as CfnTemplateJson;
  const { stateMachines } = loadTemplate(template, 'Fleetflow');

  it('every name a workflow retries or catches is thrown by an error class', () => {
    const thrown = thrownNames();
    const matched = new Set(
      stateMachines
        .flatMap((sm) => matchedNames(sm.definition))
        .filter((n) => !n.startsWith('States.') && !n.startsWith('Lambda.')),
    );
    // Guards the walk: the retried provider errors must be among what it found.
    expect([...matched]).toEqual(expect.arrayContaining(TRANSIENT_PROVIDER_ERRORS));
    for (const name of matched) expect(thrown, `${name} is matched but thrown by no class`).toContain(name);
  });

  it('the classes throw the names of the one definition', () => {
    const details = { provider: 'exoscale' as const };
    expect(new providerErrors.ProviderTransientError('x', details).name).toBe(ERROR_NAMES.providerTransient);
    expect(new providerErrors.ProviderRateLimitError('x', details).name).toBe(ERROR_NAMES.providerRateLimit);
    expect(new storeErrors.IdempotencyInProgressError('k').name).toBe(ERROR_NAMES.idempotencyInProgress);
    expect(new InvalidInputError('x').name).toBe(ERROR_NAMES.invalidInput);
  });
});
