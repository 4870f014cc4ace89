import type { Command } from 'commander';
import { type DoctorReport, runDoctor } from '../../local/store/doctor.ts';
import { print } from '../output.ts';
import { dataDirOption } from '../running-start.ts';

/**
 * `fleetflow doctor [--data-dir] [--repair]`: checks a data folder (damaged files, indexes that
 * disagree with their items, claims of a stopped process, unreadable or unfinished jobs, audit
 * chains and intents with no outcome) and, with --repair, fixes what can be fixed, saying what it
 * did. Exit code 0 when healthy (after repair), 1 otherwise. The folder must not be in use.
 */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check a data folder and, with --repair, fix what a crash or a damaged disk left behind')
    .addOption(dataDirOption())
    .option('--repair', 'fix what can be fixed (a damaged folder is copied aside first)')
    .option('--json', 'print JSON')
    .action(async (o: { dataDir: string; repair?: boolean; json?: boolean }) => {
      const report = await runDoctor(o.dataDir, { repair: o.repair ?? false });
      print(report, o.json ?? false, () => text(report, o.repair ?? false));
      process.exitCode = report.healthy ? 0 : 1;
    });
}

function text(r: DoctorReport, repair: boolean): string {
  const lines = [`data folder ${r.dataDir}`];
  const mark = (ok: boolean) => (ok ? 'ok  ' : 'FIX ');
  lines.push(
    r.damaged.length === 0
      ? `${mark(true)} files: every entry readable`
      : `${mark(r.backup !== undefined)} files: damaged ${r.damaged.map((d) => `${d.file} (${d.problem})`).join(', ')}`,
  );
  if (r.indexes?.notActive.length)
    lines.push(
      `${mark(repair)} tables: ${r.indexes.notActive.join(', ')} left CREATING (a write of dynalite's was lost)`,
    );
  if (r.indexes) {
    const f = r.indexes.findings;
    lines.push(
      f.length === 0
        ? `${mark(true)} indexes: agree with the ${r.indexes.items} items of ${r.indexes.tables} tables`
        : `${mark(repair)} indexes: ${f
            .map(
              (x) =>
                `${x.table}/${x.index} ${x.stale} stale, ${x.missing} missing, ${x.altered} outdated (e.g. ${x.examples.join('; ')})`,
            )
            .join('; ')}`,
    );
  }
  lines.push(
    `${mark(r.claims.inProgress === 0 || r.claims.expired > 0)} claims: ${r.claims.inProgress} in progress from a stopped process${r.claims.expired ? `, ${r.claims.expired} expired` : ''}`,
  );
  lines.push(
    `${mark(r.jobs.unreadable.length === 0)} jobs: ${r.jobs.checked} read${r.jobs.unreadable.length ? `; unreadable: ${r.jobs.unreadable.join('; ')}` : ''}`,
  );
  if (r.jobs.unfinished.length)
    lines.push(
      `     ${r.jobs.unfinished.length} unfinished; the next \`fleetflow start\` resumes what is journaled and starts or ends the rest: ${r.jobs.unfinished
        .slice(0, 10)
        .map((j) => `${j.jobId} ${j.status} (execution ${j.execution})`)
        .join(', ')}${r.jobs.unfinished.length > 10 ? ', …' : ''}`,
    );
  if (r.audit) {
    lines.push(
      `${mark(r.audit.ok)} audit: ${r.audit.events} events in ${r.audit.chains} chains${r.audit.ok ? ', every link intact' : `, broken at ${r.audit.broken}`}`,
    );
    for (const p of r.audit.pendingIntents.slice(0, 10))
      lines.push(
        `     intent with no outcome: job ${p.chain} #${p.seq} ${p.action}${p.instanceId ? ` ${p.instanceId}` : ''} at ${p.at} (check it at the provider)`,
      );
  }
  for (const e of r.errors) lines.push(`FIX  ${e}`);
  if (r.repaired.length) lines.push('repaired:', ...r.repaired.map((x) => `  - ${x}`));
  else if (!r.healthy && !repair) lines.push('run `fleetflow doctor --repair` to fix what can be fixed');
  lines.push(r.healthy ? 'healthy' : 'needs attention');
  return lines.join('\n');
}
