import { createRequire } from 'node:module';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { FleetflowStack } from '../../infra/fleetflow-stack.ts';
import { type CfnTemplateJson, loadTemplate } from '../../local/engine/index.ts';
import { testApp } from './synth.ts';

type AslValidator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

/** asl-validator on every state machine of the stack, as resolved from the synthesized template. */
describe('state machine definitions', () => {
  const { app, cleanup } = testApp();
  afterAll(cleanup);
  const template = Template.fromStack(new FleetflowStack(app, 'Fleetflow')).toJSON() as CfnTemplateJson;
  const { stateMachines } = loadTemplate(template, 'Fleetflow');

  it('resolves every state machine in the template', () => {
    const inTemplate = Object.values(template.Resources ?? {}).filter(
      (r) => r.Type === 'AWS::StepFunctions::StateMachine',
    );
    expect(stateMachines.length).toBeGreaterThan(0);
    expect(stateMachines).toHaveLength(inTemplate.length);
  });

  it.each(stateMachines.map((sm) => [sm.name, sm] as const))(
    '%s passes asl-validator (paths and ARNs checked)',
    (_name, sm) => {
      const result = aslValidator(sm.definition, { checkPaths: true, checkArn: true });
      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
    },
  );

  it.each(stateMachines.map((sm) => [sm.name, sm] as const))(
    '%s uses JSONPath and gives every Task a timeout',
    (_name, sm) => {
      const def = sm.definition as unknown as { QueryLanguage?: string };
      expect(def.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
      const walk = (states: Record<string, Record<string, unknown>>): void => {
        for (const [name, state] of Object.entries(states)) {
          if (state.Type === 'Task')
            expect(state.TimeoutSeconds ?? state.TimeoutSecondsPath, name).toBeDefined();
          const nested = [
            state.ItemProcessor,
            state.Iterator,
            ...((state.Branches as unknown[]) ?? []),
          ] as Array<{ States: Record<string, Record<string, unknown>> } | undefined>;
          for (const n of nested) if (n?.States) walk(n.States);
        }
      };
      walk((sm.definition as unknown as { States: Record<string, Record<string, unknown>> }).States);
    },
  );
});
