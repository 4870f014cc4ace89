#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx: no build step between a clone and a command.
import { register } from 'tsx/esm/api';

// fleetflow states its Node.js requirement itself; the SDK's Node 20 notice is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../local/engine/polyfills.ts');
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
