import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withCapabilityTable } from '../../scripts/capability-table.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('shows the capability table exactly as the adapters declare it (run `npm run docs` to update)', () => {
    expect(readme).toBe(withCapabilityTable(readme));
  });

  it('gives the install+test command that CI runs, and CI adds only the typecheck and Biome', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(readme).toContain('npm ci && npm test');
    // The commands .ci/run runs, without comments and leading VAR=value settings.
    const commands = ci
      .split('\n')
      .map((l) => l.trim().replace(/^([A-Za-z_][A-Za-z0-9_]*=\S*\s+)+/, ''))
      .filter((l) => /^(npm|npx|apt|sudo|curl|wget)\b/.test(l));
    expect(commands.map((c) => c.split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'npm ci',
      'npm test',
      'npm run',
    ]);
    expect(commands[2]).toBe('npm run check');
  });
});
