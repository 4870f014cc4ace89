#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx: no build step between a clone and a command.
import { register } from 'tsx/esm/api';

register();
await import('../local/polyfills.ts');
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
