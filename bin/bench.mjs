#!/usr/bin/env node
// `npm run bench -- <name>` runs bench/<name>.ts; each prints its figures, their ratio to the
// bound, and one final JSON line {"bench":"<name>",…} for machines.
import { readdirSync } from 'node:fs';
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../local/engine/polyfills.ts');
const name = process.argv[2];
const available = readdirSync(new URL('../bench/', import.meta.url))
  .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''));
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${available.join('|')}>\n`);
  process.exit(2);
}
const mod = await import(`../bench/${name}.ts`);
await mod.run(process.argv.slice(3));
