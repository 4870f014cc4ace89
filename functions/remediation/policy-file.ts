import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { PolicyError } from './policy.ts';
import { type PolicySet, policySetFrom } from './source.ts';

/**
 * Reads the policies (and accounts) of a config file, YAML or JSON. For the CLI and the local
 * runtime only: deployed handlers get their policies as JSON in FLEETFLOW_POLICIES.
 */
export function readPolicyFile(file: string): PolicySet {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PolicyError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  }
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new PolicyError(
      `${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
      { cause: error },
    );
  }
  return policySetFrom(doc, file);
}
