/**
 * The `meterlab` command line (commander 14). `runCli(argv, io)` parses, runs one command and
 * returns the exit code (exit.ts); it never throws and prints every error as one line.
 * Commands load their modules lazily, so `meterlab decode` does not start vitest or serialport.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../core/errors.ts';
import { parseShard, type Shard } from '../../simulators/fleet/plan.ts';
import { debugEnabled, describeFailure, EXIT, oneLine, type ExitCode } from './exit.ts';

export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}`);
    return n;
  };
}

/** `--shard i/n`: shard i of n of the scenario's buses (simulators/fleet partition). */
function shardOption(value: string): Shard {
  try {
    return parseShard(value);
  } catch (e) {
    throw new InvalidArgumentError(`--shard ${(e as Error).message}`);
  }
}

export function buildProgram(io: CliIo, setExit: (code: ExitCode) => void): Command {
  const program = new Command('meterlab')
    .description('Hardware-in-the-loop test harness and conformance suite for Chinese metering protocols')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: (s, write) => write(`meterlab: ${oneLine(s.replace(/^error:\s*/, ''))}\n`),
    });

  // ---- decode ------------------------------------------------------------------------------
  const decode = program.command('decode').description('decode frames given as hex');
  // One command per protocol, the same forms, exit codes and JSON plumbing (decode.ts).
  for (const [protocol, p] of [
    ['dlt645', { title: 'DL/T 645', example: '68 12 90 78 56 34 12 68 11 04 33 33 34 33 68 16', usage: '68 AA AA AA AA AA AA 68 13 00 DF 16' }],
    ['cjt188', { title: 'CJ/T 188', example: '68 10 44 33 22 11 00 33 78 01 03 1F 90 00 80 16', usage: '68 10 AA AA AA AA AA AA AA 01 03 1F 90 01 D2 16' }],
    ['mbus', { title: 'M-Bus (EN 13757-2/-3)', example: '10 5B 05 60 16', usage: '10 40 FE 3E 16' }],
    ['gw1376', { title: 'Q/GDW 1376.1', example: '68 32 00 32 00 68 C9 00 02 34 12 00 02 71 00 00 01 00 85 16', usage: '68 32 00 32 00 68 4B 15 12 02 00 01 0C 61 00 00 02 00 E4 16' }],
  ] as const) {
    const command = decode
      .command(protocol)
      .description(`decode one ${p.title} frame and print it as JSON (exit 1 when the input is not a valid frame)`)
      .argument('[hex...]', `the frame as hex, e.g. "${p.example}"`)
      .option('--stdin', 'read one hex frame per line from stdin, print one JSON object per line');
    // CJ/T 188 devices differ in DI byte order, valve code and ST layout: a named dialect reads them (harness/protocols/cjt188/dialect.ts).
    if (protocol === 'cjt188') command.addOption(new Option('--dialect <preset>', 'CJ/T 188 dialect: ST layout, DI order, valve code (default standard)').choices(['standard', 'foxEdge', 'kingda', 'masks']));
    command.action(async (hexParts: string[], opts: { stdin?: boolean; dialect?: 'standard' | 'foxEdge' | 'kingda' | 'masks' }) => {
      const { decodeCommand, decodeStdinCommand, decodeCjt188Hex } = await import('./decode.ts');
      let decodeHex: Parameters<typeof decodeCommand>[3];
      if (opts.dialect !== undefined) {
        const { DIALECTS } = await import('../protocols/cjt188/index.ts');
        const dialect = DIALECTS[opts.dialect];
        decodeHex = (text) => decodeCjt188Hex(text, dialect);
      }
      if (opts.stdin) {
        if (hexParts.length > 0) throw new UsageError('give a hex frame or --stdin, not both');
        setExit(await decodeStdinCommand(io.stdin, io.stdout, { protocol, ...(decodeHex ? { decodeHex } : {}) }));
        return;
      }
      if (hexParts.length === 0) throw new UsageError(`missing hex frame (or use --stdin); e.g. meterlab decode ${protocol} "${p.usage}"`);
      setExit(await decodeCommand(hexParts.join(' '), io.stdout, protocol, decodeHex));
    });
  }

  // ---- simulate ----------------------------------------------------------------------------
  const simulate = program.command('simulate').description('serve a simulated device on a real serial port or a TCP port');
  simulate
    .command('meter')
    .description('serve a simulated DL/T 645 electricity meter until SIGINT/SIGTERM')
    .addOption(new Option('--protocol <protocol>', 'meter protocol').choices(['dlt645']).default('dlt645'))
    .option('--port <path>', 'serial device to serve on, e.g. /dev/ttyUSB0')
    .option('--baud <rate>', 'serial baud rate (default: the profile\'s line, 2400)', intOption('--baud', 300, 115200))
    .option('--tcp <host:port>', 'TCP address to listen on (one client at a time; others are closed at once), e.g. 127.0.0.1:8645')
    .option('--idle-timeout <s>', 'close a TCP client after this many seconds without traffic; 0 = never (default 60)', intOption('--idle-timeout', 0, 86_400))
    .requiredOption('--address <digits>', 'meter address, 12 decimal digits')
    .option('--profile <file>', 'simulator profile (JSON); default the reference meter')
    .option('--seed <n>', 'random seed', intOption('--seed', 0, 2 ** 31 - 1))
    .action(async (opts: { protocol: string; port?: string; baud?: number; tcp?: string; idleTimeout?: number; address: string; profile?: string; seed?: number }) => {
      if (!/^\d{12}$/.test(opts.address)) throw new UsageError(`--address must be 12 decimal digits, got "${opts.address}"`);
      if ((opts.port === undefined) === (opts.tcp === undefined)) throw new UsageError('give exactly one of --port <path> or --tcp <host:port>');
      if (opts.tcp !== undefined && opts.baud !== undefined) throw new UsageError('--baud applies to --port only');
      if (opts.port !== undefined && opts.idleTimeout !== undefined) throw new UsageError('--idle-timeout applies to --tcp only');
      const { simulateMeterCommand } = await import('./simulate.ts');
      setExit(await simulateMeterCommand(opts, io));
    });

  simulate
    .command('fleet')
    .description('serve a fleet of simulated DL/T 645 meters from a scenario file, one TCP port per RS-485 bus, until SIGINT/SIGTERM')
    .requiredOption('--scenario <file>', 'fleet scenario (JSON; simulators/fleet/README.md)')
    .option('--port-base <n>', 'bus b listens on port n + b; 0 = a free port per bus (default 8645)', intOption('--port-base', 0, 65535))
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--idle-timeout <s>', 'close a client after this many seconds without traffic; 0 = never (default 60)', intOption('--idle-timeout', 0, 86_400))
    .option('--shard <i/n>', "serve only shard i of n of the scenario's buses (bus b still on port n + b), so machines can split a fleet", shardOption)
    .action(async (opts: { scenario: string; portBase?: number; host?: string; idleTimeout?: number; shard?: Shard }) => {
      const { simulateFleetCommand } = await import('./simulate.ts');
      setExit(await simulateFleetCommand(opts, io));
    });

  for (const kind of ['heat', 'water', 'gas'] as const) {
    const protocol = kind === 'heat' ? 'mbus' : 'cjt188';
    simulate
      .command(kind)
      .description(
        kind === 'heat'
          ? 'serve a simulated M-Bus heat meter (or a segment of them) until SIGINT/SIGTERM'
          : `serve a simulated CJ/T 188 ${kind} meter (or several on one line) until SIGINT/SIGTERM${kind === 'gas' ? '; a battery meter: a request needs at least 2 s of FE preamble to wake it' : ''}`,
      )
      .addOption(new Option('--protocol <protocol>', 'meter protocol').choices([protocol]).default(protocol))
      .option('--port <path>', 'serial device to serve on, e.g. /dev/ttyUSB0')
      .option('--baud <rate>', 'serial baud rate (default 2400)', intOption('--baud', 300, 115200))
      .option('--tcp <host:port>', 'TCP address to listen on (one client at a time), e.g. 127.0.0.1:8645')
      .option('--idle-timeout <s>', 'close a TCP client after this many seconds without traffic; 0 = never (default 60)', intOption('--idle-timeout', 0, 86_400))
      .option('--count <n>', 'meters on the line (default 1)', intOption('--count', 1, 250))
      .option('--seed <n>', 'random seed', intOption('--seed', 0, 2 ** 31 - 1));
    const cmd = simulate.commands.at(-1)!;
    if (kind === 'heat') {
      cmd.option('--primary <n>', 'first primary address (default 1)', intOption('--primary', 1, 250)).option('--id <digits>', 'first identification number, 8 digits (default 00000001)');
    } else {
      cmd.option('--address <digits>', 'first meter address, 14 digits (default 00000000000001)');
    }
    cmd.action(async (opts: Omit<import('./simulate-devices.ts').SimulateDevicesOptions, 'kind'>) => {
      const { simulateDevicesCommand } = await import('./simulate-devices.ts');
      setExit(await simulateDevicesCommand({ ...opts, kind }, io));
    });
  }

  simulate
    .command('converter')
    .description('serve the simulated interface converter (CJ/T 188 and DL/T 645 upstream) with the meters of its archive behind it, until SIGINT/SIGTERM')
    .option('--port <path>', 'serial device to serve on, e.g. /dev/ttyUSB0')
    .option('--baud <rate>', 'serial baud rate (default: the declared line, 2400)', intOption('--baud', 300, 115200))
    .option('--tcp <host:port>', 'TCP address to listen on (one client at a time), e.g. 127.0.0.1:8645')
    .option('--idle-timeout <s>', 'close a TCP client after this many seconds without traffic; 0 = never (default 60)', intOption('--idle-timeout', 0, 86_400))
    .option('--profile <file>', 'target profile of an interface converter (default suites/profiles/reference-interface-converter.json)')
    .option('--seed <n>', 'random seed (hop loss and latency, meters)', intOption('--seed', 0, 2 ** 31 - 1))
    .action(async (opts: import('./simulate-converter.ts').SimulateConverterOptions) => {
      const { simulateConverterCommand } = await import('./simulate-converter.ts');
      setExit(await simulateConverterCommand(opts, io));
    });

  simulate
    .command('concentrator')
    .description("run a collection scenario's concentrators with their meters (or one with its ports on serial devices, --serial) in real time, each dialling a vendor's Q/GDW 1376.1 master station over TCP, until SIGINT/SIGTERM")
    .requiredOption('--master <host:port>', 'the master station the concentrators dial, e.g. 10.0.0.5:9000')
    .requiredOption('--scenario <file|name>', 'collection scenario (JSON; simulators/collection/README.md), or the name of a checked-in one: bench, pilot-2172, district-5389, province-50000')
    .option('--concentrator <k,...>', 'run only these concentrators: numbers 1..N in scenario order, or ids such as heat-city-0002, comma-separated (default all)')
    .option('--shard <i/n>', "run only shard i of n of the scenario's concentrators (whole concentrators), so machines can split a province", shardOption)
    .option('--speed <speed>', 'simulation speed; only "real" (default real)')
    .option('--empty-archive', "leave the concentrators' meter archives empty, for a station that downloads them (AFN 04 F10 / F249)")
    .option('--password <hex>', 'the 16-byte PW (32 hex digits) every concentrator checks on AFN 01/04/05/06/0F/10 (default: each its own, seeded by the scenario; --verbose prints them)')
    .option('--redial-interval <s>', 'F8 redial interval: the first wait after a failed dial or a dropped link, doubling up to 30 min (default 60)', intOption('--redial-interval', 1, 86_400))
    .option('--heartbeat <minutes>', 'F1 heartbeat period, 1..255 min (default 15)', intOption('--heartbeat', 1, 255))
    .option(
      '--serial <port=path,...>',
      "run ONE concentrator with no simulated meters, each of its scenario's ports on a serial device, e.g. 2=/dev/ttyUSB0,3=/dev/ttyUSB1 (comma-separated or repeated; every port of the concentrator, no other); its archive starts empty",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--verbose', "log every uplink frame, decoded, and the concentrators' own log lines")
    .action(async (opts: import('./simulate-concentrator.ts').SimulateConcentratorOptions) => {
      const { simulateConcentratorCommand } = await import('./simulate-concentrator.ts');
      setExit(await simulateConcentratorCommand(opts, io));
    });

  // ---- serve -------------------------------------------------------------------------------
  const serve = program.command('serve').description('run a MeterLab service');
  serve
    .command('master-station')
    .description('run the reference master station (storage, HTTP API, channels to the meters) until SIGINT/SIGTERM')
    .option('--db <url>', 'storage: a PGlite data directory (path or file:<dir>), "memory" (gone on exit), or postgres://user:password@host:port/db (default ./master-station-data)')
    .option('--port <n>', 'HTTP port; 0 = a free port (default 8645)', intOption('--port', 0, 65535))
    .option('--host <host>', 'address to listen on (default 127.0.0.1; any other needs --token of at least 16 characters)')
    .option('--token <token>', 'API bearer token (default $METERLAB_STATION_TOKEN; without either, a random one is printed on stderr)')
    .option('--sms-url <url>', 'SMS gateway: warnings are POSTed here (without it they stay in the outbox)')
    .option('--sms-token <token>', 'bearer token for the SMS gateway')
    .option('--config <file>', 'channels and how to reach them, remote-control password, concentrators to collect (JSON; harness/cli/README.md)')
    .option('--uplink <[host:]port>', 'listen for concentrators (Q/GDW 1376.1) here; host default 127.0.0.1; 0 = a free port (needs collection.concentrators in --config)')
    .action(async (opts: import('./serve-master-station.ts').ServeMasterStationOptions) => {
      const { serveMasterStationCommand } = await import('./serve-master-station.ts');
      setExit(await serveMasterStationCommand(opts, io));
    });

  // ---- discover ----------------------------------------------------------------------------
  program
    .command('discover')
    .description("find a DL/T 645 meter's line settings, address and identifiers and write a draft target profile (exit 3 when none answers)")
    .option('--port <path>', 'serial device the meter is on, e.g. /dev/ttyUSB0')
    .option('--tcp <host:port>', 'TCP serial server the meter is behind (its line settings are the server\'s)')
    .requiredOption('--out <file>', 'where to write the draft target profile (never overwritten without --force)')
    .option('--force', 'overwrite --out if it exists')
    .option('--address <digits>', 'the meter address, 12 decimal digits, when known (several meters on the bus): found by reading it, not through the wildcard')
    .option('--baud <rates>', 'baud rates to try, in order (default 2400,1200,4800,9600,19200)')
    .option('--parity <parities>', 'parities to try, in order (default even,none,odd)')
    .option('--timeout <ms>', 'reply timeout per request, ms (default from the line: 1700 at 2400 baud, 1000 at 9600)', intOption('--timeout', 50, 60_000))
    .option('--attempts <n>', 'attempts per identifier (default 2)', intOption('--attempts', 1, 10))
    .option('--max-silent <n>', 'silent identifiers in a row before checking the meter still answers (default 5)', intOption('--max-silent', 1, 10_000))
    .option('--only <prefixes>', 'probe only identifiers starting with these hex prefixes, comma-separated, e.g. 0001,0201')
    .option('--include-1997', 'also probe the dictionary\'s DL/T 645-1997 identifiers (reported, not declared)')
    .option('--exhaustive', 'read every identifier, also those inferred unsupported from a refusal of a related one (later history, higher tariffs, refused event and freeze kinds)')
    .option('--name <name>', 'profile name (default meter-<address>)')
    .action(async (opts: import('./discover.ts').DiscoverCommandOptions) => {
      const { discoverCommand } = await import('./discover.ts');
      setExit(await discoverCommand(opts, io));
    });

  // ---- run ---------------------------------------------------------------------------------
  program
    .command('run')
    .description('run conformance suites against a target and write the report (exit 0 only when nothing failed or errored)')
    .requiredOption('--target <profile>', 'target profile JSON file, or "reference" for the built-in reference meter')
    .option('--suite <name>', 'suite to run (default: all suites)')
    .option('--out <dir>', 'report folder; replaced when complete, only if empty or a previous MeterLab report', 'reports/latest')
    .option('--no-html', 'skip the HTML report (Allure results, JUnit, summary and manifest are still written)')
    .addOption(new Option('--suites-dir <dir>', 'where suites live (for the project\'s own tests)').hideHelp())
    .addOption(new Option('--suite-suffix <suffix>', 'suite file suffix (for the project\'s own tests)').hideHelp())
    .addOption(new Option('--interrupt-grace <ms>', 'SIGTERM-to-SIGKILL grace when interrupted (for the project\'s own tests)').argParser(intOption('--interrupt-grace', 0, 600_000)).hideHelp())
    .action(async (opts: { target: string; suite?: string; out: string; html: boolean; suitesDir?: string; suiteSuffix?: string; interruptGrace?: number }) => {
      const { runConformance } = await import('./run.ts');
      const r = await runConformance({
        target: opts.target,
        out: opts.out,
        html: opts.html,
        stdout: io.stdout,
        stderr: io.stderr,
        ...(opts.suite !== undefined ? { suite: opts.suite } : {}),
        ...(opts.suitesDir !== undefined ? { suitesDir: opts.suitesDir } : {}),
        ...(opts.suiteSuffix !== undefined ? { suiteSuffix: opts.suiteSuffix } : {}),
        ...(opts.interruptGrace !== undefined ? { interruptGraceMs: opts.interruptGrace } : {}),
      });
      setExit(r.exitCode);
    });

  // ---- requirements, profiles ------------------------------------------------------------------
  program
    .command('requirements')
    .description('print the requirement catalog')
    .option('--markdown', 'print suites/requirements/README.md (generated from the catalog)')
    .option('--json', 'print the catalog as JSON')
    .action(async (opts: { markdown?: boolean; json?: boolean }) => {
      if (opts.markdown && opts.json) throw new UsageError('give --markdown or --json, not both');
      const { REQUIREMENTS, catalogToText } = await import('../../suites/requirements/catalog.ts');
      if (opts.json) io.stdout.write(`${JSON.stringify(REQUIREMENTS, null, 2)}\n`);
      else if (opts.markdown) io.stdout.write(`${(await import('../../suites/requirements/readme.ts')).requirementsReadme()}\n`);
      else io.stdout.write(`${catalogToText()}\n`);
    });

  program
    .command('profiles')
    .description('list the target profiles checked in under suites/profiles/')
    .action(async () => {
      const { REPO_ROOT } = await import('./run.ts');
      const dir = join(REPO_ROOT, 'suites', 'profiles');
      const { loadDeviceTargetProfile } = await import('../targets/index.ts');
      let files: string[] = [];
      try {
        files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
      } catch {
        files = [];
      }
      io.stdout.write(`reference  built-in reference meter (--target reference)\n`);
      for (const f of files) {
        const path = join('suites', 'profiles', f);
        try {
          const p = loadDeviceTargetProfile(join(dir, f));
          io.stdout.write(`${path}  ${p.name} (${p.connection.type}${p.device.protocol === 'dlt645' ? '' : `, ${p.device.kind} over ${p.device.protocol}`})${p.description ? ` — ${oneLine(p.description)}` : ''}\n`);
        } catch (e) {
          io.stdout.write(`${path}  INVALID: ${oneLine(e instanceof Error ? e.message : String(e))}\n`);
        }
      }
    });

  return program;
}

/** Parses `argv` (as process.argv: node, script, args...), runs the command, returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed its one line (or the help text) through configureOutput.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return EXIT.ok;
      return EXIT.usage;
    }
    const { code: exit, line } = describeFailure(e);
    io.stderr.write(`${line}\n`);
    if (debugEnabled() && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return exit;
  }
}
