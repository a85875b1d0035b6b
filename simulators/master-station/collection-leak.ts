/**
 * The leak rule of the master station (REQUIREMENTS.md MM-08: a leak is water or gas always in
 * use at least at a low rate, with no zero-flow interval; thresholds GAP-08, MeterLab's defaults):
 *
 * - **Water**: the point's current reading is taken at 02:00, 03:00, 04:00 and 05:00 (three
 *   hourly increments); a night is positive when every increment is > 0; a warning when
 *   `WATER_LEAK_NIGHTS` (3) consecutive nights are positive.
 * - **Gas**: the reading is taken every hour; a day is positive when every one of its 24 hourly
 *   increments (00:00 .. 24:00) is > 0 ("continuous flow with no zero hour over 24 h"); a warning
 *   on a positive day.
 * - One warning per episode: while the rule keeps holding night after night (day after day) no
 *   new warning is raised; once a night (day) is not positive, the next episode warns again.
 * - A slot without a reading (terminal offline, no reply) makes its night or day not positive:
 *   the rule never warns on missing data.
 *
 * GAP-08's second water variant (night minimum flow above 2 x the meter's starting flow) needs a
 * flow rate the daily and current readings do not carry: not built.
 */
import type { MeterKind } from '../concentrator/types.ts';

/** GAP-08: water slots of a night, local hours (02:00-05:00 gives three hourly increments). */
export const WATER_NIGHT_HOURS: readonly number[] = [2, 3, 4, 5];
/** GAP-08: consecutive positive nights that make a water leak warning. */
export const WATER_LEAK_NIGHTS = 3;
/** GAP-08: gas slots of a day, 00:00 .. 24:00 (the 24:00 slot is 00:00 of the next day). */
export const GAS_DAY_SLOTS = 25;

export type LeakKind = Extract<MeterKind, 'water' | 'gas'>;

/** Whether the slots' hour reads this kind: water at WATER_NIGHT_HOURS, gas at every hour. */
export function readsAt(kind: LeakKind, hour: number): boolean {
  return kind === 'gas' || WATER_NIGHT_HOURS.includes(hour);
}

/** Every value present and each strictly above the one before (every increment > 0). */
export function everyIncrementPositive(values: readonly (number | undefined)[]): boolean {
  if (values.length < 2) return false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === undefined) return false;
    if (i > 0 && !(v > values[i - 1]!)) return false;
  }
  return true;
}
