import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Imports point one way: bin → cli → local → infra / workflows → functions. The simulators (sim/)
 * sit beside that line: cli, local, bench and test may use them, and they may use the adapters'
 * signing and schemas, but nothing a Lambda bundles ever imports a simulator. functions/shared/
 * is the floor: it imports nothing else of fleetflow. docs/architecture.md draws the same map.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** For each top-level folder, the other top-level folders it may import from. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  bin: ['cli', 'local', 'infra', 'workflows', 'functions', 'sim', 'bench'],
  cli: ['local', 'infra', 'workflows', 'functions', 'sim'],
  local: ['infra', 'workflows', 'functions', 'sim'],
  infra: ['workflows', 'functions'],
  workflows: ['functions'],
  functions: [],
  sim: ['functions'],
  bench: ['cli', 'local', 'infra', 'workflows', 'functions', 'sim', 'test'],
  scripts: ['cli', 'local', 'infra', 'workflows', 'functions', 'sim'],
  test: ['cli', 'local', 'infra', 'workflows', 'functions', 'sim', 'scripts'],
};

/** Folders inside a top-level folder that may import nothing else of it (the floor). */
const LEAVES = ['functions/shared'];

const SOURCE = /\.(ts|mts|mjs|js)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(posix.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return SOURCE.test(entry.name) ? [path] : [];
  });
}

/**
 * The relative module specifiers a source file imports: static imports and re-exports (type-only
 * ones too: a type import is still a dependency), side-effect imports and literal dynamic imports.
 * Comments are dropped first so a doc comment that shows an import does not count.
 */
function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) found.push(m[1]!);
  return found.filter((spec) => spec.startsWith('.'));
}

interface Violation {
  file: string;
  imports: string;
}

/** Every import in `files` (path → source) that crosses a boundary the wrong way. */
function forbiddenImports(files: ReadonlyMap<string, string>): Violation[] {
  const violations: Violation[] = [];
  for (const [file, source] of files) {
    const from = file.split('/')[0]!;
    for (const spec of importsOf(source)) {
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      const to = target.split('/')[0]!;
      const crossing = to !== from && !(MAY_IMPORT[from] ?? []).includes(to);
      const leaf = LEAVES.find((l) => file.startsWith(`${l}/`));
      const outOfLeaf = leaf !== undefined && to === from && !target.startsWith(`${leaf}/`);
      if (crossing || outOfLeaf) violations.push({ file, imports: target });
    }
  }
  return violations;
}

function repository(): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of Object.keys(MAY_IMPORT)) {
    for (const file of sourceFiles(dir)) {
      files.set(file, readFileSync(posix.join(ROOT, file), 'utf8'));
    }
  }
  return files;
}

describe('dependency direction', () => {
  it('reads imports of every kind and ignores commented ones', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      'import {',
      '  c,',
      '  type D,',
      "} from '../../c.ts';",
      "export { e } from './e.ts';",
      "import './side-effect.ts';",
      "const f = await import('./f.ts');",
      "import { readFile } from 'node:fs';",
      "// import { g } from './g.ts';",
      "/* import { h } from './h.ts'; */",
    ].join('\n');
    expect(importsOf(source).sort()).toEqual(
      ['./a.ts', '../b.ts', '../../c.ts', './e.ts', './side-effect.ts', './f.ts'].sort(),
    );
  });

  it('flags an import against the direction, and one into a simulator from Lambda code', () => {
    const planted = new Map([
      ['functions/handlers/x.ts', "import { s } from '../../sim/index.ts';"],
      ['infra/y.ts', "import { b } from '../local/runtime.ts';"],
      ['workflows/z.ts', "import type { S } from '../sim/kit/index.ts';"],
      ['functions/shared/w.ts', "import { p } from '../providers/port.ts';"],
      ['local/ok.ts', "import { t } from '../infra/binding.ts';"],
      ['sim/ok.ts', "import { v } from '../functions/providers/port.ts';"],
    ]);
    expect(forbiddenImports(planted)).toEqual([
      { file: 'functions/handlers/x.ts', imports: 'sim/index.ts' },
      { file: 'infra/y.ts', imports: 'local/runtime.ts' },
      { file: 'workflows/z.ts', imports: 'sim/kit/index.ts' },
      { file: 'functions/shared/w.ts', imports: 'functions/providers/port.ts' },
    ]);
  });

  it('holds for every source file in the repository', () => {
    const files = repository();
    // Guards the walk itself: an empty scan would pass anything.
    expect([...files.keys()].filter((f) => f.startsWith('functions/')).length).toBeGreaterThan(50);
    expect([...files.keys()].filter((f) => f.startsWith('sim/')).length).toBeGreaterThan(5);
    expect(forbiddenImports(files)).toEqual([]);
  });
});
