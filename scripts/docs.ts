// `npm run docs`: regenerates the generated parts of README.md (the capability table).
import { readFileSync, writeFileSync } from 'node:fs';
import { withCapabilityTable } from './capability-table.ts';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withCapabilityTable(before);
writeFileSync(path, after);
process.stdout.write(before === after ? 'README.md is up to date\n' : 'README.md capability table updated\n');
