import type { Command } from 'commander';
import { registerWebhook } from './webhook.ts';

/** Every top-level command registers itself here; one module per command group. */
export const commands: Array<(program: Command) => void> = [registerWebhook];
