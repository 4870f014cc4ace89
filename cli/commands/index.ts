import type { Command } from 'commander';
import { register as registerAudit } from './audit.ts';
import { registerCompletion } from './completion.ts';
import { registerConfig } from './config.ts';
import { registerDoctor } from './doctor.ts';
import { registerInstances } from './instances.ts';
import { register as registerJobs } from './jobs.ts';
import { registerOverride } from './override.ts';
import { registerPolicy } from './policy.ts';
import { registerReport } from './report.ts';
import { registerSchedule } from './schedule.ts';
import { registerSim } from './sim.ts';
import { registerStart } from './start.ts';
import { registerWebhook } from './webhook.ts';

/** Every top-level command registers itself here; one module per command group. */
export const commands: Array<(program: Command) => void> = [
  registerStart,
  registerInstances,
  registerSim,
  registerWebhook,
  registerJobs,
  registerAudit,
  registerConfig,
  registerSchedule,
  registerOverride,
  registerReport,
  registerCompletion,
  registerPolicy,
  registerDoctor,
];
