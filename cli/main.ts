import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.ts';
import { formatError } from './output.ts';

/** Builds the `fleetflow` program. Each command lives in its own module under cli/commands/. */
export function buildProgram(): Command {
  const program = new Command('fleetflow')
    .description('automation for compute fleets on Exoscale, Exoscale v1, Gcore, Genesis Cloud and cloud.ca')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI and returns the exit code: 0 on success, 1 on a failed command, 2 on bad usage. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are "errors" for commander; they have already been printed.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help') return 0;
      return 2;
    }
    process.stderr.write(`fleetflow: ${formatError(error)}\n`);
    return 1;
  }
}
