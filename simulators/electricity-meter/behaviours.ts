/**
 * Behaviours: field defects stacked on the conformant meter (STYLE.md, after zwave-js MockNode).
 *
 * The stack itself (top first, first answer wins, then every `onReply`) is the one every simulated
 * device shares: simulators/device/behaviour-stack.ts. A test can push its own behaviour on top
 * with `server.pushBehaviour(b)`.
 *
 * Built-ins are selected by name in the profile (`behaviours: [{ "name": "late-reply",
 * "delayMs": 600 }]`); each is a deliberately broken variant that the matching conformance test
 * must catch. Each one's `defect` says which field bug it reproduces.
 */
import { z } from 'zod';
import { bcdByteToNumber, isBcdByte } from '../../harness/core/bcd.ts';
import {
  END,
  START,
  PREAMBLE_BYTE,
  addressToWire,
  decodeFrame,
  decodeMessage,
  encodeFrame,
  errorWordBits,
  FunctionCode,
  nameplateOrderAddress,
  type Dlt645Message,
} from '../../harness/protocols/dlt645/index.ts';
import { DICTIONARY } from '../../harness/protocols/dlt645/dictionary.ts';
import type { BehaviourContext, Dlt645MeterServer, IncomingRequest } from './server.ts';
import type { BehaviourConfig, DeviceBehaviour, DeviceBehaviourAnswer } from '../device/behaviour-stack.ts';

/** What a behaviour's `onRequest` returns (the device-wide shape, simulators/device/behaviour-stack.ts). */
export type BehaviourAnswer = DeviceBehaviourAnswer<Uint8Array>;

/** A behaviour of the electricity meter: the device-wide behaviour over DL/T 645 requests and this server. */
export type MeterBehaviour = DeviceBehaviour<BehaviourContext, IncomingRequest, Dlt645MeterServer>;

/** A behaviour entry of a profile: `{ name, ...params }` (simulators/device). */
export type { BehaviourConfig };

interface BuiltInBehaviour<P extends z.ZodType> {
  readonly description: string;
  readonly defect: string;
  readonly params: P;
  create(params: z.output<P>, name: string): MeterBehaviour;
}

function define<P extends z.ZodType>(b: BuiltInBehaviour<P>): BuiltInBehaviour<P> {
  return b;
}

const noParams = z.object({ name: z.string() }).strict();

// ---------------------------------------------------------------------------------------------
// Frame helpers

/** Rewrites the address of a (valid) reply frame, keeping its preamble, control and data. */
export function withAddress(reply: Uint8Array, address: string): Uint8Array {
  const r = decodeFrame(reply);
  if (!r.ok) return reply;
  const f = r.value.frame;
  // decodeFrame has already removed 33H; encodeFrame adds it back.
  return encodeFrame({ address, control: f.control.raw, data: f.data, preamble: f.preamble });
}

/** The same frame with CS + 1 (mod 256). */
export function withWrongChecksum(reply: Uint8Array): Uint8Array {
  const out = reply.slice();
  const csAt = out.length - 2;
  if (csAt >= 0) out[csAt] = (out[csAt]! + 1) & 0xff;
  return out;
}

/**
 * The reply as a meter that keeps its address in nameplate order sends it: `address` in the frame
 * (and in a 13H reply's data) replaced by its byte-reversed form; other replies unchanged.
 */
export function inNameplateOrder(reply: Uint8Array, address: string): Uint8Array {
  const r = decodeFrame(reply);
  if (!r.ok) return reply;
  const f = r.value.frame;
  const swapped = nameplateOrderAddress(address);
  const m = decodeMessage(f);
  const data = m.ok && m.value.kind === 'readAddressResponse' && m.value.address === address ? addressToWire(swapped) : f.data;
  const frameAddress = f.address === address ? swapped : f.address;
  return encodeFrame({ address: frameAddress, control: f.control.raw, data, preamble: f.preamble });
}

/**
 * True when a received frame carries 68H or 16H after its first start character other than the
 * second start character and the end character: a byte a parser that resynchronises on start
 * characters may take for a new frame (or an end).
 */
export function carriesSpuriousStartOrEnd(raw: Uint8Array): boolean {
  let head = 0;
  while (head < raw.length && raw[head] === PREAMBLE_BYTE) head++;
  for (let i = head + 1; i < raw.length - 1; i++) {
    if (i === head + 7) continue; // the second 68H
    if (raw[i] === START || raw[i] === END) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Built-ins

export const BUILT_IN_BEHAVIOURS = {
  'wrong-checksum': define({
    description: 'Every reply carries CS + 1.',
    defect: 'A meter with a broken checksum routine; the master must reject the reply (ROB-01, PROTOCOLS.md 1.2).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Every reply carries CS + 1.',
      onReply: (_ctx, reply) => withWrongChecksum(reply),
    }),
  }),
  'echo-wildcard': define({
    description: 'Answers a wildcard-addressed request with AA…AA instead of its own address.',
    defect: 'The 600888/dlt645 peer echoes AAAAAAAAAAAA (PROTOCOLS.md 1.4: a conformant meter answers with its own address).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Echoes the wildcard address in replies.',
      onReply: (ctx, reply) => (ctx.request.addressing === 'wildcard' ? withAddress(reply, ctx.request.frame.address) : reply),
    }),
  }),
  'late-reply': define({
    description: 'Answers after delayMs (default 600 ms).',
    defect: 'A slow meter: Td > 500 ms violates 20 ms ≤ Td ≤ 500 ms (PROTOCOLS.md 1.1).',
    params: z.object({ name: z.string(), delayMs: z.number().min(0).max(60_000).default(600) }).strict(),
    create: (p, name) => ({
      name,
      description: `Answers after ${p.delayMs} ms.`,
      onRequest: () => ({ delayMs: p.delayMs }),
    }),
  }),
  'ignore-follow-up': define({
    description: 'Announces follow-up frames (B1) but never answers 12H.',
    defect:
      'A meter whose follow-up service is broken: the first frame says more data follows, then 12H gets no reply, so a multi-frame read cannot complete (PROTOCOLS.md 1.3).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Stays silent on 12H read follow-up.',
      onRequest: (_ctx, request) => (request.message?.kind === 'readFollowUp' ? { reply: null } : 'continue'),
    }),
  }),
  'exceeds-declaration': define({
    description: 'Serves what its declaration turns off (default: wildcard reads, write, freeze, password change).',
    defect:
      'A meter whose declaration says less than it does: it answers 11H/12H/13H sent to AAAAAAAAAAAA, or accepts a 14H, 16H or 18H with the right password, though its profile declares the capability false (DLT645-12: behaviour matches the declaration).',
    params: z
      .object({
        name: z.string(),
        capabilities: z
          .array(z.enum(['readWithWildcard', 'readAddressWithWildcard', 'writeData', 'freeze', 'changePassword']))
          .min(1)
          .default(['readWithWildcard', 'readAddressWithWildcard', 'writeData', 'freeze', 'changePassword']),
      })
      .strict(),
    create: (p, name) => ({
      name,
      description: `Serves ${p.capabilities.join(', ')} whatever the declaration says.`,
      onRequest: (ctx) => {
        // The conformant handler, run with the listed capabilities switched on for this request only
        // (the meter type every meter of the model shares is left as it is).
        return { reply: ctx.respond({ capabilities: Object.fromEntries(p.capabilities.map((c) => [c, true])) }) };
      },
    }),
  }),
  'answer-replies': define({
    description: 'Answers a frame with the direction bit D7 set (a reply) whose data field it cannot decode, with an abnormal reply.',
    defect:
      'A meter that ignores the direction bit: a reply frame (another slave\'s, or an echo) addressed to it is treated as a request, and a malformed one gets an abnormal reply, colliding on the bus (PROTOCOLS.md 1.3 D7; DLT645-07).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Treats reply frames as requests.',
      onRequest: (ctx, request) => {
        if (!request.frame.control.isResponse || request.addressing !== 'own' || !request.checksumValid || request.message !== null) return 'continue';
        const functionCode = request.frame.control.functionCode;
        return { reply: ctx.encodeReply({ kind: 'errorResponse', functionCode, errorWord: 0x01, errors: errorWordBits(0x01) }) };
      },
    }),
  }),
  'comms-on-battery': define({
    description: 'Keeps its RS-485 port running through a mains cut: a pending reply still goes out, a partial frame survives the cut.',
    defect:
      'A simulated meter whose UART ignores the mains: a reply is sent with no supply and a request split by a power cut is pieced together (what the reading suite\'s power-loss case must notice; the reference meter loses both).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'The RS-485 port has power whatever the mains do.',
      onAttach: (server) => {
        server.model.faults.commsWithoutMains = true;
      },
      onDetach: (server) => {
        server.model.faults.commsWithoutMains = false;
      },
    }),
  }),
  'drop-every-nth': define({
    description: 'Drops every n-th reply (default 10).',
    defect: 'A flaky RS-485 transceiver or a busy meter CPU: one reply in n never leaves the meter (ROB-01 retries).',
    params: z.object({ name: z.string(), n: z.number().int().min(1).default(10) }).strict(),
    create: (p, name) => {
      let count = 0;
      return {
        name,
        description: `Drops every ${p.n}th reply.`,
        onReply: (_ctx, reply) => (++count % p.n === 0 ? null : reply),
      };
    },
  }),
  'reply-to-broadcast': define({
    description: 'Answers requests sent to the broadcast address 999999999999.',
    defect: 'Answering a broadcast makes every meter on the bus talk at once (PROTOCOLS.md 1.4: slaves do not answer 99…99).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Answers broadcast requests.',
      onRequest: (ctx, request) => (request.addressing === 'broadcast' ? { reply: ctx.respond({ answerBroadcast: true }) } : 'continue'),
    }),
  }),
  'ignore-time-sync': define({
    description: 'Accepts broadcast time sync (08H) frames but never sets its clock.',
    defect: 'A meter whose clock cannot be corrected remotely drifts until it is faulty (CLK-01: meter error <= 10 s after sync; CLK-04).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Ignores 08H time sync.',
      onRequest: (_ctx, request) => (request.message?.kind === 'broadcastTimeSync' ? { reply: null } : 'continue'),
    }),
  }),
  'answer-bad-checksum': define({
    description: 'Answers requests whose checksum is wrong.',
    defect: 'A meter that does not verify CS acts on corrupted commands (PROTOCOLS.md 1.2; ROB-01).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Ignores the request checksum.',
      onRequest: (ctx, request) => (!request.checksumValid ? { reply: ctx.respond({ acceptBadChecksum: true }) } : 'continue'),
    }),
  }),
  'wrong-address-reply': define({
    description: 'Answers with another address (default: its own with the last digit changed).',
    defect: 'A meter that answers with a stale or foreign address; the master must reject the reply (ROB-03).',
    params: z
      .object({ name: z.string(), address: z.string().regex(/^\d{12}$/, 'address must be 12 decimal digits').optional() })
      .strict(),
    create: (p, name) => ({
      name,
      description: 'Replies carry a foreign address.',
      onReply: (ctx, reply) => withAddress(reply, p.address ?? foreignAddress(ctx.model.address)),
    }),
  }),
  'unsupported-as-zero': define({
    description: 'Answers undeclared identifiers with zeros instead of D1H "no requested data".',
    defect: 'A meter that fakes data it does not have: the master stores zeros as readings (PROTOCOLS.md 1.7: ERR 02H).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Unsupported identifiers read as zero.',
      onRequest: (ctx, request) => {
        const m = request.message;
        if (m?.kind !== 'readData') return 'continue';
        if (ctx.profile.meter.identifiers.includes(m.di)) return 'continue';
        if (request.addressing === 'broadcast' || request.addressing === 'other' || !request.checksumValid) return 'continue';
        const length = DICTIONARY.lookup(m.di)?.length ?? 4;
        return { reply: ctx.encodeReply({ kind: 'readDataResponse', di: m.di, payload: new Uint8Array(length), hasFollowUp: false }) };
      },
    }),
  }),
  'accept-wrong-password': define({
    description: 'Accepts writes, clears and control commands whatever the password.',
    defect: 'A meter with no password check: anyone on the bus can trip it or change its parameters (PROTOCOLS.md 1.7 ERR bit 2; FEE-06).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Skips the password check.',
      onRequest: (ctx) => ({ reply: ctx.respond({ skipPasswordCheck: true }) }),
    }),
  }),
  'refuse-trip': define({
    description: 'Acknowledges a trip command (9CH) but the relay never opens.',
    defect: 'A stuck relay or a failed drive circuit (ROB-11, FEE-12): status word 3 keeps bit 4 clear while bit 6 says trip.',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'The relay does not move.',
      onAttach: (server) => {
        server.model.faults.relayStuck = true;
      },
      onDetach: (server) => {
        server.model.faults.relayStuck = false;
      },
    }),
  }),
  'trip-despite-keep-power': define({
    description: 'Executes trip commands even in keep-power (保电).',
    defect: 'A meter that ignores 保电 and cuts a protected customer (violates KP-01).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Trips under keep-power.',
      onAttach: (server) => {
        server.model.faults.ignoreKeepPower = true;
      },
      onDetach: (server) => {
        server.model.faults.ignoreKeepPower = false;
      },
    }),
  }),
  'address-nameplate-order': define({
    description: 'Keeps its address in nameplate order: answers to, and replies from, its address with the bytes reversed.',
    defect:
      'Firmware that sends the address most significant byte first (12 34 56 78 90 12 for 123456789012) where DL/T 645 sends it ' +
      'low byte first (PROTOCOLS.md 1.2): declared as printed, the meter never answers (issue 6, a third-party meter).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Address bytes in nameplate order.',
      onRequest: (ctx, request) => {
        const wire = nameplateOrderAddress(ctx.model.address);
        if (wire === ctx.model.address) return 'continue'; // a palindromic address reads the same both ways
        // Its own address as the standard writes it is not the address it thinks it has.
        if (request.addressing === 'own') return { reply: null };
        if (request.addressing === 'other' && request.frame.address === wire) return { reply: ctx.respond({ acceptForeignAddress: true }) };
        return 'continue';
      },
      onReply: (ctx, reply) => inNameplateOrder(reply, ctx.model.address),
    }),
  }),
  'deaf-after-spurious-start': define({
    description: 'Stops answering for good after a frame with a bad checksum that carries 68H or 16H inside it.',
    defect:
      'A parser that, on a checksum error, resynchronises on a 68H inside the broken frame and then waits for a frame that never ' +
      'completes (no inter-frame timeout): one wrong checksum byte 68H left a third-party meter deaf (issue 6; PROTOCOLS.md 1.2: ' +
      'parsers must resync after corrupt frames).',
    params: noParams,
    create: (_p, name) => {
      let deaf = false;
      return {
        name,
        description: 'Deaf after a broken frame holding a spurious 68H/16H.',
        onRequest: (_ctx, request) => {
          if (!deaf && !request.checksumValid && carriesSpuriousStartOrEnd(request.raw)) deaf = true;
          return deaf ? { reply: null } : 'continue';
        },
      };
    },
  }),
  'clock-not-set': define({
    description: 'Reads its date (04000101) and time (04000102) as all zeros.',
    defect:
      'A meter whose real-time clock was never set or lost its backup battery reports 00-00-00 00:00:00 (DL/T 645 date YYMMDDWW ' +
      'with month and day 00 is no date); time-of-use tariffs and freezes then run on a clock that does not exist.',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Date and time read as zeros.',
      onRequest: (ctx, request) => {
        const m = request.message;
        if (m?.kind !== 'readData' || (m.di !== '04000101' && m.di !== '04000102')) return 'continue';
        if (request.addressing === 'broadcast' || request.addressing === 'other' || !request.checksumValid) return 'continue';
        const payload = new Uint8Array(DICTIONARY.lookup(m.di)?.length ?? 4);
        return { reply: ctx.encodeReply({ kind: 'readDataResponse', di: m.di, payload, hasFollowUp: false }) };
      },
    }),
  }),
  silent: define({
    description: 'Never answers anything.',
    defect: 'A dead or disconnected meter (collection failure, COL success-rate tests).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Answers nothing.',
      onRequest: () => ({ reply: null }),
    }),
  }),
  // ---- programming-suite variants (suites/programming/programming.test.ts) ---------------------
  'refuse-all-writes': define({
    description: 'Refuses every 14H write with D4H + 04H, whatever the password.',
    defect: 'A meter locked against programming (a firmware that never accepts a write): DLT645-20, a correct write must be stored.',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Refuses every write.',
      onRequest: (ctx, request) =>
        request.message?.kind === 'writeData' && answerable(request) ? { reply: abnormal(ctx, 0x14, 0x04) } : 'continue',
    }),
  }),
  'silent-on-write': define({
    description: 'Carries out a correct 14H write but never sends the 94H reply.',
    defect: 'A meter whose write acknowledgement is lost: the master retries and cannot tell a stored value from a refused one (DLT645-20).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Answers a correct write with silence.',
      onRequest: (ctx, request) => {
        if (request.message?.kind !== 'writeData') return 'continue';
        const reply = ctx.respond();
        return { reply: replyControl(reply) === 0x94 ? null : reply };
      },
    }),
  }),
  'write-not-stored': define({
    description: 'Acknowledges a correct 14H write with 94H but keeps the old value.',
    defect: 'A meter that says it stored a parameter it did not (a failed EEPROM write reported as success): DLT645-20 read-back.',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Acknowledges writes without storing them.',
      onRequest: (ctx, request) => {
        const m = request.message;
        if (m?.kind !== 'writeData') return 'continue';
        const old = ctx.model.readValue(m.di);
        const reply = ctx.respond();
        if (replyControl(reply) === 0x94 && old !== undefined) ctx.model.writeDecoded(m.di, old, m.operator);
        return { reply };
      },
    }),
  }),
  'accept-wrong-password-for-clears': define({
    description: 'Carries out 19H, 1AH and 1BH clears whatever the password.',
    defect: 'A meter whose clear commands skip the password check: anyone on the bus can erase its energy and events (DLT645-26).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Clears without checking the password.',
      onRequest: (ctx, request) => (isClear(request.message) ? { reply: ctx.respond({ skipPasswordCheck: true }) } : 'continue'),
    }),
  }),
  'change-password-without-old': define({
    description: 'Changes a password (18H) without checking the old one.',
    defect: 'A meter whose password can be replaced by anyone on the bus, locking out its owner (DLT645-25).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Accepts 18H with any old password.',
      onRequest: (ctx, request) => (request.message?.kind === 'changePassword' ? { reply: ctx.respond({ skipPasswordCheck: true }) } : 'continue'),
    }),
  }),
  'baud-rate-not-applied': define({
    description: 'Answers 17H with 97H + Z but keeps talking at the old rate.',
    defect: 'A meter that acknowledges a baud-rate change it never makes: the master switches and loses it (DLT645-24).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Never applies a 17H rate.',
      onRequest: (ctx, request) => (request.message?.kind === 'changeBaud' ? { reply: ctx.respond(), afterReply: () => undefined } : 'continue'),
    }),
  }),
  'bcd-baud-feature-words': define({
    description: 'Reads the 17H feature word as the BCD of rate / 300 (16H 4800, 32H 9600, 64H 19200) and refuses the standard 10H/20H/40H.',
    defect:
      'The coding of 600888/dlt645 (PROTOCOLS.md 1.6), seen in a third-party meter: a standard master cannot change its rate to 4800 bit/s or above (DLT645-24).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'BCD baud-rate feature words.',
      onRequest: (ctx, request) => {
        const f = request.frame;
        if (f.control.isResponse || f.control.functionCode !== 0x17 || f.data.length !== 1 || !answerable(request)) return 'continue';
        const z = f.data[0]!;
        const rate = isBcdByte(z) ? bcdByteToNumber(z) * 300 : 0;
        const meter = ctx.profile.meter;
        if (rate === 0 || !(rate === meter.line.baudRate || meter.baudRates.includes(rate))) return { reply: abnormal(ctx, 0x17, 0x08) };
        const reply = encodeFrame({ address: ctx.model.address, control: 0x97, data: Uint8Array.of(z), preamble: ctx.profile.simulation.replyPreamble });
        return { reply, afterReply: () => ctx.server.applyBaudRate(rate) };
      },
    }),
  }),
  'weak-password-level': define({
    description: 'Accepts a level-04 password for 19H, 1AH and 1BH, which need level 02.',
    defect: 'A meter that checks that a password is right but not that its level is strong enough for the command (DLT645-22).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Clears with any valid password up to level 04.',
      onRequest: (ctx, request) => {
        const m = request.message;
        if (!isClear(m) || !ctx.model.checkPassword(m.password, WEAKEST_WRITE_LEVEL)) return 'continue';
        return { reply: ctx.respond({ skipPasswordCheck: true }) };
      },
    }),
  }),
  'freeze-not-recorded': define({
    description: 'Takes 16H freezes (96H to its own address, silence to broadcast) but records nothing.',
    defect: 'A meter whose instantaneous freeze is lost: the frozen readings a concentrator asks for never exist (DLT645-10).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Freezes nothing.',
      onRequest: (ctx, request) => {
        if (request.message?.kind !== 'freeze' || !request.checksumValid) return 'continue';
        if (request.addressing === 'broadcast') return { reply: null };
        return request.addressing === 'other' ? 'continue' : { reply: ctx.encodeReply({ kind: 'freezeResponse' }) };
      },
    }),
  }),
  // ---- programming-suite variants for the error words and addressing the mutation run found unchecked
  'write-unknown-silent': define({
    description: 'Gives no reply to a 14H write of an identifier the data dictionary does not have.',
    defect: 'A meter that looks a written identifier up in its table and drops the frame when it is not there: the master cannot tell a refusal from a lost frame (DLT645-21: D4H 02H).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Silent on writes of unknown identifiers.',
      onRequest: (_ctx, request) =>
        request.message?.kind === 'writeData' && answerable(request) && !DICTIONARY.lookup(request.message.di) ? { reply: null } : 'continue',
    }),
  }),
  'silent-on-malformed-control': define({
    description: 'Gives no reply to a 1CH or 1DH whose data field has the wrong length (a 15-byte 1CH, a 1DH without its output byte).',
    defect: 'A meter whose control-command parser drops a frame it cannot lay out instead of refusing it: the master cannot tell a refusal from a lost command (DLT645-27: DCH/DDH with "other error").',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Silent on malformed 1CH and 1DH.',
      onRequest: (_ctx, request) => {
        const fc = request.frame.control.functionCode;
        return request.message === null && (fc === FunctionCode.RemoteControl || fc === FunctionCode.MultiFunctionOutput) && answerable(request) ? { reply: null } : 'continue';
      },
    }),
  }),
  'write-refusals-other-error': define({
    description: 'Refuses writes of declared read-only identifiers, and of writable ones it does not write, with "other error" (01H) instead of 04H/02H.',
    defect: 'A meter with one catch-all error word, or one that checks the value before whether the identifier is writable at all: the refusal does not say why (DLT645-21).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Catch-all 01H for refused writes.',
      onRequest: (ctx, request) => {
        const m = request.message;
        if (m?.kind !== 'writeData' || !answerable(request) || !ctx.model.checkPassword(m.password, WEAKEST_WRITE_LEVEL)) return 'continue';
        if (!ctx.profile.meter.identifiers.includes(m.di.toUpperCase())) return 'continue';
        const reply = ctx.respond();
        const word = abnormalWord(reply, 0x14);
        return { reply: word === 0x04 || word === 0x02 ? abnormal(ctx, 0x14, 0x01) : reply };
      },
    }),
  }),
  'accept-refused-value': define({
    description: 'Acknowledges with 94H a write whose value decodes but which the meter refuses (alarm amount 1 below alarm amount 2), storing nothing.',
    defect: 'A meter that acknowledges before it validates: the master believes a configuration FEE-02 forbids was stored (DLT645-21).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Acknowledges refused values.',
      onRequest: (ctx, request) => {
        const m = request.message;
        if (m?.kind !== 'writeData' || !answerable(request)) return 'continue';
        const reply = ctx.respond();
        const decodes = DICTIONARY.decodeValue(m.di, m.payload).ok;
        return { reply: abnormalWord(reply, 0x14) === 0x01 && decodes ? ctx.encodeReply({ kind: 'writeDataResponse' }) : reply };
      },
    }),
  }),
  'stale-follow-up': define({
    description: 'Answers a 12H from the frames of the last 11H that had follow-up frames, whatever identifier the 12H names.',
    defect: 'A meter that keeps one read in progress and ignores the DI of a 12H: a master that interleaves items gets another item\'s bytes under the DI it asked for (DLT645-28).',
    params: noParams,
    create: (_p, name) => {
      let last: { di: string; parts: Uint8Array[] } | null = null;
      return {
        name,
        description: 'Serves 12H from the last 11H.',
        onRequest: (ctx, request) => {
          const m = request.message;
          if (!answerable(request)) return 'continue';
          if (m?.kind === 'readData') {
            const payload = ctx.server.valuePayload(m.di);
            const lengths = (DICTIONARY.lookup(m.di)?.members ?? []).map((x) => DICTIONARY.lookup(x)?.length ?? 0);
            if (payload && lengths.length > 1 && lengths.reduce((a, b) => a + b, 0) === payload.length) {
              let offset = 0;
              last = { di: m.di, parts: lengths.map((n) => payload.slice(offset, (offset += n))) };
            }
            return 'continue';
          }
          if (m?.kind !== 'readFollowUp' || !last || last.di === m.di || m.seq < 1 || m.seq >= last.parts.length) return 'continue';
          return {
            reply: ctx.encodeReply({ kind: 'readFollowUpResponse', di: m.di, payload: last.parts[m.seq]!, seq: m.seq, hasFollowUp: m.seq < last.parts.length - 1 }),
          };
        },
      };
    },
  }),
  'follow-up-unknown-silent': define({
    description: 'Gives no reply to a 12H for an identifier it does not have.',
    defect: 'A meter whose follow-up handler assumes a read in progress: a 12H for an item it lacks gets silence instead of D2H 02H (DLT645-28).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Silent on 12H for unknown identifiers.',
      onRequest: (ctx, request) =>
        request.message?.kind === 'readFollowUp' && answerable(request) && ctx.server.valuePayload(request.message.di) === null ? { reply: null } : 'continue',
    }),
  }),
  'accept-undeclared-baud-rate': define({
    description: 'Takes a 17H to any rate with a valid feature word (97H, then switches), declared in meter.baudRates or not.',
    defect: 'A meter whose UART takes rates its maker does not support or declare: the master may switch it to a rate the bus cannot carry (DLT645-24: D7H 08H).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Any valid feature word accepted.',
      onRequest: (ctx, request) => {
        const m = request.message;
        if (m?.kind !== 'changeBaud' || !answerable(request)) return 'continue';
        const rate = m.baudRate;
        return { reply: ctx.encodeReply({ kind: 'changeBaudResponse', z: m.z, baudRate: rate }), afterReply: () => ctx.server.applyBaudRate(rate) };
      },
    }),
  }),
  'refuse-line-rate-change': define({
    description: 'Refuses a 17H to the rate it already talks at with D7H 08H.',
    defect: 'A meter that takes a 17H only to a rate other than its current one: a master that sets the rate it expects (after a power cycle, say) is refused (DLT645-24).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'No 17H to the current rate.',
      onRequest: (ctx, request) =>
        request.message?.kind === 'changeBaud' && answerable(request) && request.message.baudRate === ctx.server.baudRate ? { reply: abnormal(ctx, 0x17, 0x08) } : 'continue',
    }),
  }),
  'change-password-unknown-as-unauthorised': define({
    description: 'Refuses an 18H for an identifier that names no password level with 04H instead of 02H.',
    defect: 'A meter that checks the old password against a level that does not exist and reports "password error": the master blames its password (DLT645-25).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: '04H for an 18H to no password level.',
      onRequest: (ctx, request) => {
        const m = request.message;
        if (m?.kind !== 'changePassword' || !answerable(request) || /^04000C(0[1-9]|0A)$/i.test(m.di)) return 'continue';
        return { reply: abnormal(ctx, 0x18, 0x04) };
      },
    }),
  }),
  'bcd-passwords-only': define({
    description: 'Refuses with 04H every 14H whose password has hex letters A-F, though 18H set it.',
    defect: 'A meter that stores a password as sent but compares it as BCD digits (or in another letter case): after an 18H to a password with A-F its owner is locked out (DLT645-25).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Passwords with A-F never match.',
      onRequest: (ctx, request) => {
        const m = request.message;
        return m?.kind === 'writeData' && answerable(request) && /[A-F]/i.test(m.password.value) ? { reply: abnormal(ctx, 0x14, 0x04) } : 'continue';
      },
    }),
  }),
  'reply-to-unicast-time-sync': define({
    description: 'Sets its clock from an 08H sent to its own address and answers it with 88H.',
    defect: 'A meter that acknowledges a command the standard gives no reply: on a shared bus the reply collides with the next exchange (DLT645-09).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: 'Answers unicast 08H.',
      onRequest: (ctx, request) => {
        if (request.message?.kind !== 'broadcastTimeSync' || request.addressing !== 'own' || !request.checksumValid) return 'continue';
        ctx.respond();
        return { reply: encodeFrame({ address: ctx.model.address, control: 0x88, data: new Uint8Array(0), preamble: ctx.profile.simulation.replyPreamble }) };
      },
    }),
  }),
  'write-address-any-address': define({
    description: 'Takes a 15H write address sent to its own address, not only through AAAAAAAAAAAA, and answers 95H.',
    defect: 'A meter whose address can be changed by any frame addressed to it: a master that mistypes a broadcast renumbers it (DLT645-23).',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: '15H through the own address.',
      onRequest: (ctx, request) => {
        const m = request.message;
        if (m?.kind !== 'writeAddress' || request.addressing !== 'own' || !request.checksumValid) return 'continue';
        ctx.model.setAddress(m.newAddress);
        return { reply: ctx.encodeReply({ kind: 'writeAddressResponse' }, m.newAddress) };
      },
    }),
  }),
  // --- remote switching (issue 8): each breaks one rule the switching suite checks ---------------
  'relay-stuck': define({
    description:
      'Accepts every 1CH command (9CH) and reports it in status word 3 bit 6, but the relay never moves (open or closed). ' +
      'The same defect as refuse-trip, under the name the switching suite uses.',
    defect: 'Welded contacts or a dead relay drive (ROB-11, FEE-12): the command is acknowledged, the supply is not cut or restored; status word 3 bit 4 stays as it was.',
    params: noParams,
    create: faultSwitch('The relay does not move.', (model, on) => {
      model.faults.relayStuck = on;
    }),
  }),
  'keep-power-ignored': define({
    description:
      'Answers 3AH keep-power with 9CH but never enters keep-power: status word 3 bit 12 stays 0, a later trip is executed, ' +
      'a pending trip is not cancelled, a tripped relay is not restored. (trip-despite-keep-power instead sets bit 12 and trips anyway.)',
    defect: 'Keep-power (保电) command dropped: a protected customer is cut (violates KP-01, KP-03, KP-04).',
    params: noParams,
    create: faultSwitch('Keep-power acknowledged, never entered.', (model, on) => {
      model.faults.keepPowerCommandIgnored = on;
    }),
  }),
  'expired-command-executed': define({
    description: 'Does not check the 1CH valid-until: an expired (or malformed, or all-zero) command is executed with 9CH.',
    defect: 'A replayed or stale trip command cuts a customer long after the master gave up on it (violates FEE-06: an expired deadline must be refused).',
    params: noParams,
    create: faultSwitch('Executes expired 1CH commands.', (model, on) => {
      model.faults.ignoreValidUntil = on;
    }),
  }),
  'status-word-3-lies': define({
    description:
      'Status word 3 (04000503) misreports the relay: mode "always-closed" (default) keeps bit 4 at 0 whatever the relay; ' +
      'mode "command-as-state" reports the command (bit 6) as the actual state (bit 4), e.g. "open" during the trip delay.',
    defect: 'Firmware that reports the commanded instead of the sensed relay state (PROTOCOLS.md 1.8, FEE-07/FEE-12): the master believes a trip or close that did not happen.',
    params: z.object({ name: z.string(), mode: z.enum(['always-closed', 'command-as-state']).default('always-closed') }).strict(),
    create: (p, name) => ({
      name,
      description: `Status word 3 bit 4 lies (${p.mode}).`,
      onAttach: (server) => {
        server.model.faults.statusWord3Lies = p.mode;
      },
      onDetach: (server) => {
        server.model.faults.statusWord3Lies = 'none';
      },
    }),
  }),
  'close-without-button': define({
    description: 'On 1BH close-allowed an internal relay closes at once, without the customer holding the key.',
    defect: 'Close-allowed treated as direct close (violates FEE-11): supply returns to an installation nobody is watching.',
    params: noParams,
    create: faultSwitch('Close-allowed closes at once.', (model, on) => {
      model.faults.closeWithoutButton = on;
    }),
  }),
  'wrong-operator-in-records': define({
    description:
      'Records a fixed operator code (param `operator`, default FFFFFFFF) in its trip and close records (1D0001xx, 1E0001xx) instead of the one the 1CH carried.',
    defect:
      'The operator code of a remote trip or close is lost, so the records cannot say who cut a customer (violates FEE-07: the last trips are recorded with time and operator code). ' +
      'The Wisdom 645 handler leaves it unprocessed ("操作者代码未处理", float12/WorkProjectsSVN).',
    params: z
      .object({ name: z.string(), operator: z.string().regex(/^[0-9A-Fa-f]{8}$/, 'an operator code is 8 hex digits C3..C0').default('FFFFFFFF') })
      .strict(),
    create: (p, name) => ({
      name,
      description: `Trip and close records name operator ${p.operator.toUpperCase()}.`,
      onAttach: (server) => {
        server.model.faults.recordedOperator = p.operator.toUpperCase();
      },
      onDetach: (server) => {
        server.model.faults.recordedOperator = null;
      },
    }),
  }),
  'close-allowed-despite-exhausted-balance': define({
    description:
      'A local cost-control meter whose balance is exhausted (locked until a top-up) takes 1BH close-allowed: an internal relay then closes on the key, an external one at once.',
    defect: 'Supply restored with no credit left (violates FEE-02: an exhausted overdraft cannot be released until a top-up; FEE-03: close only with a balance > 0).',
    params: noParams,
    create: faultSwitch('1BH releases a relay locked by an exhausted balance.', (model, on) => {
      model.faults.closeAllowedDespiteExhaustedBalance = on;
    }),
  }),
  'control-reply-with-data': define({
    description: 'Answers an accepted 1CH with 9CH carrying two data bytes (an execution status word) instead of L = 0.',
    defect:
      'A meter built to a later amendment that reports a control execution status in the normal reply (the Wisdom 645 handler copies a 2-byte status into it): ' +
      'a DL/T 645-2007 master expects L = 0 (PROTOCOLS.md 1.5: success reply 9CH with L = 0 [vec]) and may reject it.',
    params: noParams,
    create: (_p, name) => ({
      name,
      description: '9CH replies carry two status bytes.',
      onReply: (_ctx, reply) => {
        if (replyControl(reply) !== 0x9c) return reply;
        const r = decodeFrame(reply);
        if (!r.ok) return reply;
        const f = r.value.frame;
        return encodeFrame({ address: f.address, control: f.control.raw, data: Uint8Array.of(0x00, 0x01), preamble: f.preamble });
      },
    }),
  }),
  'pre-trip-no-restore': define({
    description: 'Carries out a pre-trip (FEE-10, meter.remoteControl.preTrip) as a plain trip: the relay opens and is never restored when the restore time ends.',
    defect: 'A pre-trip that never ends: the customer stays cut although the master asked only for a timed cut (violates FEE-10: pre-trip 1 re-closes, pre-trip 2 allows close, when the timer ends).',
    params: noParams,
    create: faultSwitch('Pre-trip without restore.', (model, on) => {
      model.faults.preTripNoRestore = on;
    }),
  }),
  'control-acknowledged-ignored': define({
    description: 'Answers every 1CH that passes its checks with 9CH, then does nothing: no trip, close, alarm or keep-power change.',
    defect: 'A meter whose control task drops the command after the reply (FEE-19 "meter" layer): the reply alone says success; only status word 3 and the relay tell.',
    params: noParams,
    create: faultSwitch('1CH acknowledged, nothing happens.', (model, on) => {
      model.faults.ignoreRemoteControl = on;
    }),
  }),
} as const;

/** A behaviour that only flips one model fault switch while attached. */
function faultSwitch(description: string, set: (model: Dlt645MeterServer['model'], on: boolean) => void): (params: unknown, name: string) => MeterBehaviour {
  return (_params, name) => ({
    name,
    description,
    onAttach: (server) => set(server.model, true),
    onDetach: (server) => set(server.model, false),
  });
}

/** The error word of an abnormal reply to `fc`, or null when `reply` is something else. */
function abnormalWord(reply: Uint8Array | null, fc: number): number | null {
  if (!reply) return null;
  const r = decodeFrame(reply);
  if (!r.ok || r.value.frame.control.raw !== (fc | 0xc0)) return null;
  return r.value.frame.data[0] ?? null;
}

/** The weakest password level the reference accepts for a write (PROTOCOLS.md 1.3; the 'weak-password-level' defect uses it for clears). */
const WEAKEST_WRITE_LEVEL = 4;

/** A request the conformant meter would answer: right checksum, to its own or the wildcard address. */
function answerable(request: IncomingRequest): boolean {
  return request.checksumValid && (request.addressing === 'own' || request.addressing === 'wildcard');
}

/** The abnormal reply to function `fc` with error word `errorWord` (PROTOCOLS.md 1.7), from this meter. */
function abnormal(ctx: BehaviourContext, fc: number, errorWord: number): Uint8Array {
  return ctx.encodeReply({ kind: 'errorResponse', functionCode: fc, errorWord, errors: errorWordBits(errorWord) });
}

/** Control code of a reply frame, or null for silence or bytes that are no frame. */
function replyControl(reply: Uint8Array | null): number | null {
  if (!reply) return null;
  const r = decodeFrame(reply);
  return r.ok ? r.value.frame.control.raw : null;
}

function isClear(m: Dlt645Message | null): m is Extract<Dlt645Message, { kind: 'clearMaxDemand' | 'meterClear' | 'eventClear' }> {
  return m?.kind === 'clearMaxDemand' || m?.kind === 'meterClear' || m?.kind === 'eventClear';
}

export type BuiltInBehaviourName = keyof typeof BUILT_IN_BEHAVIOURS;

export const BUILT_IN_BEHAVIOUR_NAMES = Object.keys(BUILT_IN_BEHAVIOURS) as BuiltInBehaviourName[];

/** Own address with its last digit changed: an address that is surely not this meter's. */
function foreignAddress(address: string): string {
  const last = Number(address.slice(-1));
  return address.slice(0, -1) + String((last + 1) % 10);
}

function builtIn(name: string): BuiltInBehaviour<z.ZodType> | undefined {
  return Object.hasOwn(BUILT_IN_BEHAVIOURS, name) ? (BUILT_IN_BEHAVIOURS[name as BuiltInBehaviourName] as BuiltInBehaviour<z.ZodType>) : undefined;
}

/** Problems of a profile's behaviour entry, with paths relative to the entry (for ProfileError). */
export function validateBehaviourConfig(entry: BehaviourConfig): { path: PropertyKey[]; message: string }[] {
  const b = builtIn(entry.name);
  if (!b) return [{ path: ['name'], message: `unknown behaviour "${entry.name}" (known: ${BUILT_IN_BEHAVIOUR_NAMES.join(', ')})` }];
  const r = b.params.safeParse(entry);
  if (r.success) return [];
  return r.error.issues.map((i) => ({ path: [...i.path], message: i.message }));
}

/** Builds a built-in behaviour from its profile entry. Throws for an unknown name or bad params. */
export function createBehaviour(config: BehaviourConfig): MeterBehaviour {
  const b = builtIn(config.name);
  if (!b) throw new Error(`unknown behaviour "${config.name}" (known: ${BUILT_IN_BEHAVIOUR_NAMES.join(', ')})`);
  const params = b.params.parse(config);
  return { defect: b.defect, ...b.create(params, config.name) };
}
