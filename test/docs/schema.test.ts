import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE } from '../../cli/commands/config.ts';
import { runCli } from '../support/cli.ts';

describe('the committed config JSON Schema', () => {
  it(`is exactly what \`fleetflow config schema\` generates (run it to update ${SCHEMA_FILE})`, async () => {
    const generated = await runCli('config', 'schema', '--json');
    expect(generated.code).toBe(0);
    const committed = readFileSync(new URL(`../../${SCHEMA_FILE}`, import.meta.url), 'utf8');
    expect(committed).toBe(generated.stdout);
    // Every top-level section of the config file is in it, policies included.
    const schema = JSON.parse(committed) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['schedules', 'policies']));
  });
});
