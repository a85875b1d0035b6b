/**
 * Exit codes and the one-line error rule of the `meterlab` command.
 *
 *   0  success (run: no failed and no error verdict)
 *   1  a negative result: a run with failed/error verdicts, a decode that rejected its input
 *   2  usage: a bad argument, unknown command or suite, a target profile that does not validate,
 *      an output folder it refuses to replace, an --out under a regular file
 *   3  environment: a link that cannot be opened (missing serial port, port in use), a timeout,
 *      an output folder that cannot be created or written
 *   4  an unexpected internal error (set METERLAB_DEBUG=1 to see the stack)
 *   130/143  a run interrupted by SIGINT/SIGTERM (interrupt.ts)
 *
 * Every error is one line on stderr starting with "meterlab: "; never a stack trace unless
 * METERLAB_DEBUG is set.
 */
import { escapeControlCharacters } from '../core/text.ts';
import { MeterLabError } from '../core/errors.ts';

export const EXIT = {
  ok: 0,
  negative: 1,
  usage: 2,
  environment: 3,
  internal: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function oneLine(text: string): string {
  // Line feeds fold to a space; other control characters (a CR or NUL echoed back from a
  // profile's key) would break the line or drive the terminal: shown escaped (found by npm run fuzz).
  return escapeControlCharacters(text.replace(/\s*\n\s*/g, ' ').trim());
}

export function debugEnabled(): boolean {
  const v = process.env.METERLAB_DEBUG;
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

/** The exit code and the single stderr line for anything thrown by a command. */
export function describeFailure(error: unknown): { code: ExitCode; line: string } {
  if (error instanceof MeterLabError) {
    const code = error.code === 'usage' || error.code === 'profile' ? EXIT.usage : EXIT.environment;
    return { code, line: `meterlab: ${oneLine(error.message)}` };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const hint = debugEnabled() ? '' : ' (set METERLAB_DEBUG=1 to see the stack)';
  return { code: EXIT.internal, line: `meterlab: unexpected error: ${oneLine(message)}${hint}` };
}
