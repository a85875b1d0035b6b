/**
 * Mutation testing of the simulators' protocol servers with the conformance suites as the only
 * kill test (issue 6). Run it with `npm run mutation` (scripts/mutation.ts), not directly: the
 * script also applies mutation/equivalent-mutants.json and writes the score.
 *
 * What is mutated (scope dlt645, the default; SCOPES below for mbus, cjt188, converter, concentrator): the DL/T 645 meter server (handler and receive path) and the model's password
 * check. Behaviours (deliberately broken variants) are not, nor the server.ts spans that only
 * serve them or the server's lifecycle (SERVER_EXCLUDED below, with the reason for each). Log
 * statements are ignored (log-ignorer.mjs). METERLAB_MUTATE="file:10-40,file2" narrows the run (development only).
 *
 * Kill test: mutation/kill-test.ts, every conformance suite against the reference through the
 * framework's runCase (what `meterlab run --target reference` runs, without vitest's start-up), so
 * a failed, errored or inconclusive verdict kills the mutant. The command runner knows nothing of
 * coverage: every mutant runs the whole suites (about 3 s each, two at a time on this machine).
 */
import { readFileSync } from 'node:fs';

/** `file:start-end` for the lines of the method `name` in `file` (found by its signature). */
function methodRange(file, name) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => new RegExp(`^  ${name}\\(`).test(l));
  if (start < 0) throw new Error(`mutation config: method ${name} not found in ${file}`);
  const end = lines.findIndex((l, i) => i > start && l === '  }');
  return `${file}:${start + 1}-${end + 1}`;
}

/**
 * Spans of server.ts left out of the mutation run: code that only serves the broken-variant
 * behaviours (the behaviour stack, the bad-checksum frame rebuild and its receive history, the
 * RespondOptions switches, the echo-wildcard quirk) or the server's lifecycle and accessors used by
 * the transports, the CLI and the tests (start/stop, getters). The reference meter the kill test
 * talks to has no behaviours and is driven only by bytes, so no conformance case can ever reach
 * these lines: their mutants measure nothing. (Power loss stays in: a suite can cut the mains
 * through the target's backchannel, cutMains.) A block mutant that spans an excluded span (e.g. a
 * whole method body emptied) is left out with it: Stryker mutates only what one range holds. Each span is found by the text its first line
 * starts with (and, for a multi-line span, the first later line equal to `to`), so an edit elsewhere
 * does not shift it; a span that is not found, or found twice (unless `all: true` says every match
 * is meant), stops the run.
 */
export const SERVER_EXCLUDED = [
  { from: '  private readonly behaviours: MeterBehaviour[] = [];', why: 'behaviour stack' },
  { from: '  private readonly onClose: () => void = ', why: 'lifecycle: link closed, nothing more on the wire' },
  { from: '    for (const b of options.behaviours ?? [])', why: 'behaviour stack' },
  { from: '  /** Current line speed (changes after a successful 17H). */', to: '  }', why: 'accessor (tests, CLI)' },
  { from: '  /** Behaviours, bottom first. */', to: '  }', why: 'behaviour stack' },
  { from: '  /** Pushes a behaviour on top of the stack', to: '  }', why: 'behaviour stack' },
  { from: '  /** Removes a behaviour (by object or name)', to: '  }', why: 'behaviour stack' },
  { from: '  start(): void {', to: '  }', why: 'lifecycle (transports, CLI)' },
  { from: '  stop(): void {', to: '  }', why: 'lifecycle (transports, CLI)' },
  { from: '  get isRunning(): boolean {', to: '  }', why: 'accessor (transports, tests)' },
  { from: '  /** Replies scheduled and not yet written', to: '  }', why: 'accessor (TCP transport back-pressure)' },
  { from: '  private get streamOffset(): number {', to: '  }', why: 'receive history (bad-checksum rebuild)' },
  { from: '      } else { // bytes the scanner discarded', to: '      }', why: 'bad-checksum rebuild (answer-bad-checksum behaviour); the reference ignores the discarded bytes' },
  { from: '  /** Appends to the history, keeping at least', to: '  }', why: 'receive history (bad-checksum rebuild)' },
  { from: '  private rebuildBadChecksumFrame(', to: '  }', why: 'bad-checksum rebuild (answer-bad-checksum behaviour)' },
  { from: '    return this.server.encodeReply(message, address);', why: 'behaviour context' },
  { from: '  get model(): ElectricityMeterModel {', to: '  }', why: 'behaviour context' },
  { from: '  get clock(): Clock {', to: '  }', why: 'behaviour context' },
  { from: '  get random(): SeededRandom {', to: '  }', why: 'behaviour context' },
  // The stack's loops moved to simulators/device/behaviour-stack.ts (not mutated: the reference has no behaviours).
  { from: '    const afterReply = ctx.afterReply ?? (this.afterReply', why: "behaviour stack: a behaviour's after-reply work over the handler's" },
  { from: "      if (message?.kind === 'broadcastTimeSync' || message?.kind === 'freeze') {", to: '      }', why: 'RespondOptions.answerBroadcast (answer-broadcast behaviour)' },
  { from: '        if (options.skipPasswordCheck) {', to: '        }', why: 'RespondOptions.skipPasswordCheck (behaviours)' },
  // Fleet performance paths (issue 7): they decide only whether work is skipped that would end in
  // silence anyway, so a mutant can change cost but not the wire; a mutant that skips a frame the
  // meter must answer is caught by the property test in server.test.ts ("answers exactly as when every
  // frame is scanned, whatever mix of chunks arrives"), which compares every reply, instant and log
  // line with a meter that scans every frame.
  { from: '    if (this.receiver.pending === 0 && this.isForeignFrame(chunk) && this.ignoresForeignFrames()) {', to: '    }', why: 'fleet fast path: a whole frame for another meter skipped unscanned (issue 7)' },
  { from: "  /** frameKey() of the meter's own address", to: '  }', why: 'fleet fast path: the own address as a receive-filter key (issue 7)' },
  { from: '   * True when `chunk` is exactly one well-formed frame for another address', to: '  }', why: 'fleet fast path: isForeignFrame (issue 7)' },
  { from: "   * Keeps the link's receive filter", to: '  }', why: 'fleet fast path: the bus receive filter withholds only frames receive() would skip (issue 7; fast-check test in server.test.ts)' },
  { from: '/** The six address bytes A0..A5 at', to: '}', why: 'fleet fast path: receive-filter key (issue 7)' },
  { from: 'export function foreignFrameKey(', to: '}', why: 'fleet fast path: which whole frames a meter ignores unscanned (issue 7)' },
  { from: '/** newListener of a meter server on a filtering link', to: '}', why: 'fleet fast path: receive filter off for request listeners (issue 7)' },
  { from: '/** removeListener of a meter server on a filtering link', to: '}', why: 'fleet fast path (issue 7)' },
  { from: '    this.filtering = isFilteringLink(this.link);', to: '    }', why: 'fleet fast path: receive filter set-up (issue 7)' },
  { from: '  dropFilter(): void {', to: '  }', why: 'fleet fast path (issue 7)' },
  { from: '  refreshFilter(): void {', to: '  }', why: 'fleet fast path (issue 7)' },
  { from: "        if (addressing === 'other' && this.ignoresForeignFrames() && (frame.control.isResponse", why: 'fleet fast path: a foreign frame not dispatched; handle() ignores it anyway (issue 7)' },
  { from: '  private ignoresForeignFrames(): boolean {', to: '  }', why: 'fleet fast path (issue 7)' },
  // The collection read's fast paths (issue 7, wip/fleet): a whole frame decoded without the
  // scanner, the meter's own plain 11H read from the bytes, 11H replies encoded from a reply head.
  // Each only chooses a cheaper way to the same frame, message and reply bytes: a mutant either
  // falls back to the general path (same wire, survives) or breaks the bytes, which the property
  // tests in server.test.ts catch ("answers a chunk that is one whole frame … exactly as the same
  // frame in two pieces through the scanner", "encodes an 11H reply from its reply head exactly as
  // encodeMessage does"); checked by hand for a wrong checksum, a wrong hex digit and a wrong DI byte.
  { from: '    if (this.receiver.pending === 0 && frameExtent(chunk) === chunk.length && this.receiveWholeFrame(chunk)) return;', why: 'collection fast path: a whole frame without the scanner (issue 7; property test in server.test.ts)' },
  { from: '  private receiveWholeFrame(chunk: Uint8Array): boolean {', to: '  }', why: 'collection fast path: a whole frame without the scanner (issue 7; property test)' },
  { from: '  private plainOwnRead(chunk: Uint8Array)', to: '  }', why: "collection fast path: the meter's own plain 11H read from the bytes (issue 7; property test)" },
  { from: '      this.own = { address, key, digits:', why: 'collection fast path: whether the own address has the plain form plainOwnRead needs (issue 7)' },
  { from: "    if (message.kind === 'readDataResponse' && message.payload instanceof Uint8Array", to: '    }', why: 'collection fast path: 11H replies from the reply head (issue 7; property test against encodeMessage)' },
  { from: '  private replyHead(address: string): Uint8Array | null {', to: '  }', why: 'collection fast path: the reply head (issue 7; property test)' },
  { from: 'function encodeReadDataReply(', to: '}', why: 'collection fast path: 11H reply bytes without encodeMessage (issue 7; property test against encodeMessage)' },
  { from: 'function hexDigit(c: number): number {', to: '}', why: 'collection fast path: encodeReadDataReply (issue 7; property test)' },
  { from: '    if (cursor >= this.streamOffset) this.forgetHistory();', why: 'receive history (bad-checksum rebuild): released when idle, memory only (issue 7)' },
  { from: '  /** Every received byte is accounted for: an idle meter holds no history buffer', to: '  }', why: 'receive history (bad-checksum rebuild), memory only (issue 7)' },
  { from: '  get profile(): SimulatorProfile {', to: '  }', all: true, why: 'accessors (behaviour context, CLI, tests); the server reads its meter type' },
  // Where a long value is cut: PROTOCOLS.md 1.3 does not say, so every cut that keeps frames within
  // maxFrameDataLength and the parts contiguous is conformant, and no suite checks it (partsOf,
  // which enforces the frame size, stays in). The simulator's cut at members and fields is pinned
  // by server.test.ts ("sends a record declared for follow-up field by field", "… member by member").
  { from: '/** A block\'s payload cut at its members', to: '}', why: 'follow-up cut at members: any cut within the frame size is conformant (PROTOCOLS.md 1.3 is silent); pinned by server.test.ts' },
  { from: '  private replyAddress(request: IncomingRequest): string {', to: '  }', why: "echo-wildcard quirk (broken variant); without it the reply carries the own address" },
];

/** Spans of mbus-slave.ts only the broken variants reach (see SERVER_EXCLUDED for how spans are found). */
export const MBUS_EXCLUDED = [
  { from: '/** The scaled quantities this slave sends, by the name a broken variant', to: '} as const;', why: 'wrong-VIF-scaling variant: the quantities shiftedVib looks up' },
  { from: 'export function shiftedVib(', to: '}', why: 'wrong-VIF-scaling variant (vifScaling hook) only' },
  { from: '  get isSelected(): boolean {', to: '  }', why: 'accessor (tests); the selection is on the wire through 253' },
];

/** Spans of cjt188-responder.ts only the broken variants reach. */
export const CJT188_EXCLUDED = [];

/** Spans of converter.ts only the broken variants reach. */
export const CONVERTER_EXCLUDED = [
  { from: '  start(): void {', to: '  }', why: 'lifecycle (device serve loop, CLI)' },
  { from: '  stop(): void {', to: '  }', why: 'lifecycle (device serve loop, CLI): after the target closes nothing more is on the wire' },
  { from: ' * The defect `alterForwardedByte` on a CJ/T 188 frame', to: '}', why: 'alter-forwarded-byte variant only (alterOneByte)' },
  { from: '  dispose(): void {', to: '  }', why: 'lifecycle (stop)' },
  { from: '  /** Archive entry of an upstream address, if any. */', to: '  }', why: 'accessor (tests); not on the converter\'s path' },
];

/** `file` as line ranges without the `excluded` spans (Stryker mutates a mutant only when one range holds all of it). */
function without(file, excluded) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const spans = excluded.flatMap(({ from, to, all }) => {
    const starts = lines.flatMap((l, i) => (l.startsWith(from) ? [i] : []));
    if (starts.length === 0 || (starts.length > 1 && !all)) {
      throw new Error(`mutation config: ${starts.length} lines of ${file} start with ${JSON.stringify(from)} (want ${all ? 'at least ' : ''}1)`);
    }
    return starts.map((start) => {
      const end = to === undefined ? start : lines.findIndex((l, i) => i > start && l === to);
      if (end < 0) throw new Error(`mutation config: no ${JSON.stringify(to)} after ${JSON.stringify(from)} in ${file}`);
      return [start + 1, end + 1];
    });
  });
  spans.sort((a, b) => a[0] - b[0]);
  const ranges = [];
  let next = 1;
  for (const [s, e] of spans) {
    if (s > next) ranges.push(`${file}:${next}-${s - 1}`);
    next = Math.max(next, e + 1);
  }
  if (next <= lines.length) ranges.push(`${file}:${next}-${lines.length}`);
  return ranges;
}

/**
 * The named scopes of `npm run mutation -- --scope <name>` (METERLAB_MUTATION_SCOPE): what is
 * mutated and which suites kill (mutation/kill-test.ts --suites). `dlt645` is the default and
 * what `npm run mutation` has always run. Each scope writes its own report
 * (reports/mutation/mutation.json for dlt645, reports/mutation/<scope>/ for the others) and has
 * its own equivalent-mutants file (scripts/mutation.ts).
 */
export const SCOPES = {
  dlt645: {
    mutate: () => [...without('simulators/electricity-meter/server.ts', SERVER_EXCLUDED), methodRange('simulators/electricity-meter/model.ts', 'checkPassword')],
    suites: ['reading', 'programming', 'switching'],
  },
  mbus: {
    mutate: () => without('simulators/heat-meter/mbus-slave.ts', MBUS_EXCLUDED),
    suites: ['mbus-reading'],
  },
  cjt188: {
    mutate: () => without('simulators/flow-meter/cjt188-responder.ts', CJT188_EXCLUDED),
    suites: ['cjt188-reading', 'cjt188-valve'],
  },
  converter: {
    // The converter's logic and its upstream receiver (which frames it forwards, and the hop reply parse).
    mutate: () => [...without('simulators/converter/converter.ts', CONVERTER_EXCLUDED), 'simulators/converter/upstream-scanner.ts'],
    suites: ['converter'],
  },
  concentrator: {
    // The concentrator's collection decisions: its archive, the nightly task (which days, retries,
    // ERC 39) and its storage. The readers, the core's plumbing and the 1376.1 terminal are left for
    // scopes of their own (thousands of mutants more at ~2 s of CPU each).
    mutate: () => ['archive', 'collection', 'storage'].map((f) => `simulators/concentrator/${f}.ts`),
    suites: ['collection'],
    // The kill test takes ~4 s; mutants of the nightly scheduler that loop in virtual time hit the
    // timeout (a quarter of collection.ts's first 100 did, at 60 s each): 20 s is plenty.
    timeoutMs: 20_000,
  },
};

const scopeName = process.env.METERLAB_MUTATION_SCOPE ?? 'dlt645';
const scope = SCOPES[scopeName];
if (!scope) throw new Error(`mutation config: no scope ${JSON.stringify(scopeName)} (scopes: ${Object.keys(SCOPES).join(', ')})`);
const reportDir = scopeName === 'dlt645' ? 'reports/mutation' : `reports/mutation/${scopeName}`;

const mutate = process.env.METERLAB_MUTATE ? process.env.METERLAB_MUTATE.split(',') : scope.mutate();

export default {
  $schema: './node_modules/@stryker-mutator/core/schema/stryker-schema.json',
  packageManager: 'npm',
  testRunner: 'command',
  commandRunner: {
    command: `node --import tsx mutation/kill-test.ts --suites ${scope.suites.join(',')}`,
  },
  mutate,
  plugins: ['./mutation/log-ignorer.mjs'],
  ignorers: ['log-statements'],
  concurrency: Number(process.env.METERLAB_MUTATION_CONCURRENCY ?? 2),
  timeoutMS: scope.timeoutMs ?? 60_000,
  timeoutFactor: 2,
  reporters: ['json', 'html', 'progress'],
  jsonReporter: { fileName: `${reportDir}/mutation.json` },
  htmlReporter: { fileName: `${reportDir}/mutation.html` },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['reports', 'captures/**/*.jsonl.tmp', '.stryker-tmp', '.vitest-cache'],
  disableTypeChecks: 'simulators/**/*.ts',
};
