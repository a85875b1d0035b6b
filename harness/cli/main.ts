/**
 * Entry point of the `meterlab` command (bin/meterlab.js registers tsx and imports this file;
 * `npm run meterlab -- ...` runs it with tsx). See program.ts for the commands, exit.ts for the
 * exit codes.
 */
import { runCli } from './program.ts';

const code = await runCli(process.argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
