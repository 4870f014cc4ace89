import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withCapabilityTable } from '../../scripts/capability-table.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('shows the capability table exactly as the adapters declare it (run `npm run docs` to update)', () => {
    expect(readme).toBe(withCapabilityTable(readme));
  });

  it('gives the install+test command that CI runs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(readme).toContain('npm ci && npm test');
    const lines = ci.split('\n').map((l) => l.trim());
    const install = lines.findIndex((l) => l.startsWith('npm ci'));
    const test = lines.indexOf('npm test');
    expect(install).toBeGreaterThan(-1);
    expect(test).toBeGreaterThan(install);
  });
});
