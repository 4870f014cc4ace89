import { run as runSchedule } from './schedule.ts';

/** `npm run bench -- fleet`: the name for the schedule benchmark (bench/schedule.ts). */
export async function run(argv: string[]): Promise<void> {
  await runSchedule(argv, 'fleet');
}
