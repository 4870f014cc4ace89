import { redactText } from '../functions/shared/redact.ts';
import type { TargetResult } from '../functions/store/jobs.ts';

/** One line a person can act on; never a stack trace, never a secret. */
export function formatError(error: unknown): string {
  if (error instanceof Error) {
    const hint = (error as { hint?: string }).hint;
    return redactText(hint ? `${error.message}\n  hint: ${hint}` : error.message);
  }
  return redactText(String(error));
}

/** Prints a value as JSON (for --json) or as text. */
export function print(value: unknown, json: boolean, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

/** A plain aligned table for terminals. */
export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

/** Why a target was skipped, or what failed: the reason its workflow recorded with the result. */
export function resultNote(result: Pick<TargetResult, 'error' | 'detail'>): string {
  if (result.error) return `${result.error.code}: ${result.error.message}`;
  const detail = result.detail;
  if (!detail || typeof detail !== 'object' || Array.isArray(detail)) return '';
  if (detail.dryRun === true) return `dry run: would ${String(detail.would ?? 'act')}`;
  if (typeof detail.reason === 'string')
    return typeof detail.policy === 'string' ? `${detail.policy}: ${detail.reason}` : detail.reason;
  return '';
}
