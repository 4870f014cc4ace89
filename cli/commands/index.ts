import type { Command } from 'commander';
import { register as registerAudit } from './audit.ts';
import { register as registerJobs } from './jobs.ts';
import { registerWebhook } from './webhook.ts';

/** Every top-level command registers itself here; one module per command group. */
export const commands: Array<(program: Command) => void> = [registerWebhook, registerJobs, registerAudit];
