import * as z from 'zod';

/**
 * Durations as fleetflow writes them everywhere (config file, CLI flags): a whole number of at most
 * six digits and one unit — `30s`, `90m`, `2h`, `7d`.
 */

export type DurationUnit = 's' | 'm' | 'h' | 'd';

const UNIT_SECONDS: Readonly<Record<DurationUnit, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };
const ALL_UNITS: readonly DurationUnit[] = ['s', 'm', 'h', 'd'];

/** '30s', '90m', '2h', '7d' → seconds; undefined when `text` is not a duration in one of `units`. */
export function parseDurationSeconds(
  text: string,
  units: readonly DurationUnit[] = ALL_UNITS,
): number | undefined {
  const m = /^(\d{1,6})([smhd])$/.exec(text);
  if (!m || !units.includes(m[2] as DurationUnit)) return undefined;
  return Number(m[1]) * UNIT_SECONDS[m[2] as DurationUnit];
}

/** A duration already validated (a parsed config) → seconds; a RangeError for anything else. */
export function durationSeconds(text: string): number {
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined) throw new RangeError(`'${text}' is not a duration such as 30s, 30m, 2h or 7d`);
  return seconds;
}

/** The config file's duration field (its JSON Schema keeps the pattern, for editors). */
export const durationSchema = z
  .string()
  .regex(/^\d{1,6}(s|m|h|d)$/, 'a duration such as 30s, 30m, 2h or 7d')
  .describe('a duration: a whole number and s, m, h or d');
