import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../functions/config/load.ts';
import { configJsonSchema } from '../../functions/config/schema.ts';

const ok = `
accounts: [{ provider: exoscale, locations: [ch-gva-2] }, { provider: cloudca, locations: [compute-qc/production] }]
schedules:
  office:
    timezone: Europe/Zurich
    periods: [{ days: [mon], start: "08:00", stop: "18:00" }]
    targets: [{ provider: exoscale, labels: { env: dev } }]
`;

function error(text: string, file = 'f.yaml'): string {
  try {
    parseConfig(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('config file', () => {
  it('loads the example and fills defaults', () => {
    const c = loadConfigFile('examples/fleetflow.config.yaml');
    expect(Object.keys(c.schedules)).toEqual(['office-hours', 'ci-nights']);
    expect(c.schedules['ci-nights']!.manualStart).toBe('enforce');
    expect(parseConfig(ok).schedules.office!).toMatchObject({
      dryRun: false,
      overCap: 'abort',
      tierLabel: 'fleetflow-tier',
      manualStart: 'respect-until-next-edge',
    });
  });

  it.each([
    [
      'a bad time',
      ok.replace('"08:00"', '"8am"'),
      'f.yaml: schedules.office.periods.0.start: a time of day as HH:MM',
    ],
    [
      'an unknown timezone',
      ok.replace('Europe/Zurich', 'Mars/Olympus'),
      'f.yaml: schedules.office.timezone: an IANA timezone',
    ],
    [
      'an unknown key',
      ok.replace('timezone:', 'timezon: x\n    timezone:'),
      'f.yaml: schedules.office: Unrecognized key: "timezon"',
    ],
    [
      'labels on a provider without labels',
      ok.replace('{ provider: exoscale, labels', '{ provider: cloudca, labels'),
      'f.yaml: schedules.office.targets.0.labels: cloudca instances have no labels',
    ],
    [
      'a target with no selector',
      ok.replace(', labels: { env: dev }', ''),
      'select instances with labels or namePrefix',
    ],
    [
      'an unconfigured provider',
      ok.replace('{ provider: exoscale, labels', '{ provider: gcore, labels'),
      'no account for gcore',
    ],
    [
      'a bad cap',
      ok.replace('    targets:', '    maxActions: "150%"\n    targets:'),
      'schedules.office.maxActions',
    ],
    ['broken YAML', 'accounts: [', 'f.yaml: line 1: not valid YAML'],
  ])('refuses %s with one line naming file and path', (_name, text, message) => {
    const m = error(text);
    expect(m).toContain(message);
    expect(m.split('\n')).toHaveLength(1);
  });

  it('names the file it could not read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffcfg-'));
    const file = join(dir, 'fleetflow.config.json');
    writeFileSync(file, '{"accounts": []}');
    expect(() => loadConfigFile(file)).toThrow(/fleetflow\.config\.json: accounts: /);
    expect(() => loadConfigFile(join(dir, 'missing.yaml'))).toThrow(
      /missing\.yaml: cannot be read \(ENOENT\)/,
    );
  });

  it('exports a JSON Schema for editors', () => {
    const schema = configJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(schema.required).toEqual(['accounts']);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['accounts', 'schedules', 'prices', 'optOutLabel']),
    );
  });
});
