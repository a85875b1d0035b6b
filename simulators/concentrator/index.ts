/**
 * The concentrator simulator (issue 12): the meter side (the core, types.ts) and its Q/GDW 1376.1
 * terminal application (terminal.ts over uplink.ts). README.md says what lives where.
 */
export type * from './types.ts';
export {
  assembleConcentrator,
  ConcentratorTerminal,
  createConcentratorTerminal,
  DEFAULT_FORWARD_FRAME_TIMEOUT_MS,
  DEFAULT_TERMINAL_PARAMETERS,
  HARDWARE_RESET_OFF_MS,
  type Concentrator,
  type ConcentratorTerminalEvents,
  type ConcentratorTerminalOptions,
  type TerminalDefects,
  type TerminalParameters,
  type TerminalStats,
  type TerminalVersion,
} from './terminal.ts';
export { Gw1376Uplink, MAX_REDIAL_INTERVAL_MS, SILENCE_MS, type ActiveReport, type ConfirmOutcome, type TerminalLogger, type UplinkState, type UplinkStats, type UplinkTiming } from './uplink.ts';
export { createConcentratorCore, ReferenceConcentratorCore, type ConcentratorDefects, type CreateConcentratorCoreOptions } from './core.ts';

import { createConcentratorCore, type CreateConcentratorCoreOptions } from './core.ts';
import { assembleConcentrator, type Concentrator, type ConcentratorTerminalOptions } from './terminal.ts';

/** The reference concentrator: its core over `ports` and its 1376.1 terminal on `connect`, started by `start()`. */
export function createConcentrator(options: CreateConcentratorCoreOptions & Omit<ConcentratorTerminalOptions, 'core' | 'clock'>): Concentrator {
  return assembleConcentrator(createConcentratorCore(options), options);
}
