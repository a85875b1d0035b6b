/**
 * A scripted Q/GDW 1376.1 terminal for the tests of Gw1376Master and Gw1376Station (and of the
 * station's collection, issue 12 part E): not a simulator. It decodes what the master sends
 * (`received`), answers each request through a handler, and sends logins, heartbeats, reports and
 * any bytes on demand. Every frame it sends is built with the codec's `buildFrame`, so its data
 * units are checked against the dictionary.
 */
import { toHex } from '../core/bytes.ts';
import type { Link } from '../links/link.ts';
import {
  Afn,
  Gw1376FrameScanner,
  PrmFunction,
  RespFunction,
  buildFrame,
  type Address,
  type EventCounter,
  type FramePosition,
  type Gw1376Message,
  type TimeTag,
  type UnitSpec,
} from '../protocols/gw1376/index.ts';

export interface UplinkFrameOptions {
  readonly address: Address;
  readonly afn: number;
  /** PSEQ (terminal-initiated) or RSEQ (reply). */
  readonly seq: number;
  readonly units: readonly UnitSpec[];
  /** Terminal-initiated (PRM = 1). Default false (a reply). */
  readonly prm?: boolean;
  /** C function code. Default: 9 link test for AFN 02, 10 for other PRM = 1 frames; 0 confirm for AFN 00 F1/F3, 9 deny for AFN 00 F2, 8 user data otherwise. */
  readonly functionCode?: number;
  readonly position?: FramePosition;
  readonly con?: boolean;
  /** With EC: ACD = 1. */
  readonly ec?: EventCounter;
  readonly tp?: TimeTag;
}

/** An uplink frame (DIR = 1) built with the codec. */
export function uplinkFrame(o: UplinkFrameOptions): Uint8Array {
  const prm = o.prm ?? false;
  const fn0 = o.units[0]?.fn;
  const functionCode =
    o.functionCode ??
    (prm
      ? o.afn === Afn.linkTest
        ? PrmFunction.linkTest
        : PrmFunction.requestClass1
      : o.afn === Afn.confirmDeny
        ? fn0 === 2
          ? RespFunction.denyNoData
          : RespFunction.confirm
        : RespFunction.userDataResponse);
  return buildFrame({
    control: { dir: true, prm, fcbOrAcd: o.ec !== undefined, functionCode },
    address: o.address,
    afn: o.afn,
    seq: { seq: o.seq, ...(o.position ? { position: o.position } : {}), ...(o.con ? { con: true } : {}) },
    units: o.units,
    ...(o.ec ? { ec: o.ec } : {}),
    ...(o.tp ? { tp: o.tp } : {}),
  });
}

/** What a handler answers: frames to send (in order), or nothing (silence). */
export type TerminalAnswer = Uint8Array | readonly Uint8Array[] | null | undefined;

export interface ScriptedGw1376TerminalOptions {
  readonly link: Link;
  readonly areaCode: string;
  readonly terminal: number;
  /** Called for every frame the master sends (confirms included); what it returns is sent back. */
  readonly handler?: (m: Gw1376Message, terminal: ScriptedGw1376Terminal) => TerminalAnswer;
}

export class ScriptedGw1376Terminal {
  readonly link: Link;
  /** The terminal's own address (MSA 0: terminal-initiated frames, 3.3). */
  readonly address: Address;
  /** Every frame the master sent, decoded, in order. */
  readonly received: Gw1376Message[] = [];
  /** The same, as bytes. */
  readonly receivedBytes: Uint8Array[] = [];
  /** Bytes the terminal's scanner could not take (the master sent junk: a test failure). */
  readonly junk: string[] = [];
  handler: ((m: Gw1376Message, terminal: ScriptedGw1376Terminal) => TerminalAnswer) | undefined;
  private readonly scanner = new Gw1376FrameScanner();
  private pseq = 0;

  constructor(options: ScriptedGw1376TerminalOptions) {
    this.link = options.link;
    this.address = { areaCode: options.areaCode, terminal: options.terminal, msa: 0, group: false };
    this.handler = options.handler;
    this.link.on('data', (chunk) => {
      for (const e of this.scanner.push(chunk)) {
        if (e.type === 'discarded') {
          this.junk.push(`${e.error.code}: ${toHex(e.bytes)}`);
          continue;
        }
        const m = e.message;
        if (!m.ok) {
          this.junk.push(`${m.error.code}: ${toHex(e.decoded.raw)}`);
          continue;
        }
        this.received.push(m.value);
        this.receivedBytes.push(e.decoded.raw);
        const answer = this.handler?.(m.value, this);
        if (answer) for (const f of answer instanceof Uint8Array ? [answer] : answer) this.send(f);
      }
    });
  }

  /** Frames from the master that are requests (PRM = 1). */
  get requests(): Gw1376Message[] {
    return this.received.filter((m) => m.frame.control.prm);
  }

  /** Frames from the master that are confirms (AFN 00, PRM = 0). */
  get confirms(): Gw1376Message[] {
    return this.received.filter((m) => !m.frame.control.prm && m.frame.afn === Afn.confirmDeny);
  }

  send(bytes: Uint8Array): void {
    void this.link.write(bytes).catch(() => undefined);
  }

  /** The next PSEQ of a terminal-initiated frame (its own PFC). */
  nextPseq(): number {
    const s = this.pseq;
    this.pseq = (this.pseq + 1) & 0x0f;
    return s;
  }

  /** AFN 02 F1 login / F2 logout / F3 heartbeat with CON (vectors 0, 2), PSEQ as given or the next. */
  linkTest(fn: 1 | 2 | 3, pseq = this.nextPseq()): Uint8Array {
    const bytes = uplinkFrame({ address: this.address, afn: Afn.linkTest, seq: pseq, con: true, prm: true, units: [{ pn: 0, fn }] });
    this.send(bytes);
    return bytes;
  }

  /** A reply (PRM = 0) to `request`: its address (with its MSA, 3.3), RSEQ = its PSEQ unless given. */
  reply(request: Gw1376Message, afn: number, units: readonly UnitSpec[], extra: Partial<Omit<UplinkFrameOptions, 'address' | 'afn' | 'units'>> = {}): Uint8Array {
    return uplinkFrame({ address: request.frame.address, afn, seq: extra.seq ?? request.frame.seq.seq, units, ...extra });
  }

  /** AFN 00 F1 (all confirmed) to `request`. */
  confirm(request: Gw1376Message): Uint8Array {
    return this.reply(request, Afn.confirmDeny, [{ pn: 0, fn: 1 }]);
  }

  /** AFN 00 F2 (all denied) to `request`. */
  deny(request: Gw1376Message): Uint8Array {
    return this.reply(request, Afn.confirmDeny, [{ pn: 0, fn: 2 }]);
  }
}
