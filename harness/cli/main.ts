/**
 * Entry point of the `meterlab` command (bin/meterlab.js registers tsx and imports this file;
 * `npm run meterlab -- ...` runs it with tsx). See program.ts for the commands, exit.ts for the
 * exit codes. Started by npm (npx, npm exec, npm run), the command ends with its launcher
 * (launcher-watch.ts): npm forwards a signal only to the shell between it and us.
 */
import { RealClock } from '../core/clock.ts';
import { watchNpmLauncher } from './launcher-watch.ts';
import { runCli } from './program.ts';

const stopWatching = watchNpmLauncher(new RealClock());
const code = await runCli(process.argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
stopWatching();
process.exitCode = code;
