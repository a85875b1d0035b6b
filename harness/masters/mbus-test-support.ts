/**
 * Small scripted M-Bus slaves for the master's tests (test support: never imported by the
 * master). Not a heat meter: a slave answers with telegrams it was given, encoded with the codec.
 *
 * What a slave does (MBUS.md 3, 4, 6, 12 "bus behaviour for slave simulators"):
 * - it answers frames addressed to its primary address, to 253 while selected, or to 254; it
 *   ignores slave frames (direction bit 0: other slaves' answers on the shared wire) and
 *   frames it cannot decode (bad checksum: no reply);
 * - SND_NKE → E5 and a reset of its FCB state (SND_NKE to 253 also deselects it);
 * - REQ_UD2 with FCV = 1: if FCB equals the last FCB it saw, it repeats its last telegram
 *   (the master's retransmission); otherwise it moves on to the next telegram (after the last
 *   one of a multi-telegram readout it starts again at the first); a new telegram increments the
 *   access number. The first REQ_UD2 after a reset always sends the first telegram.
 * - SND_UD CI 52 to 253: a matching selection → E5 and selected (FCB state reset, [BK]: the
 *   standard text is not in MBUS.md); a selection that does not match deselects it silently.
 * Scripted faults: `ignoreFcb` (always moves on: the broken behaviour a suite must catch),
 * `corruptReplies` (the next n replies go out with a wrong checksum), `mute`.
 */
import type { Clock } from '../core/clock.ts';
import type { Link } from '../links/link.ts';
import {
  ADDRESS_BROADCAST_NO_REPLY,
  ADDRESS_BROADCAST_REPLY,
  ADDRESS_NETWORK_LAYER,
  DATA_FIELD,
  MbusFrameScanner,
  decodeApplication,
  encodeFrame,
  encodeManufacturerData,
  encodeRecord,
  encodeVariableDataResponse,
  manufacturerValue,
  secondaryAddressMatches,
  type MbusFrame,
  type SecondaryAddress,
} from '../protocols/mbus/index.ts';

export interface ScriptedSlaveOptions {
  readonly link: Link;
  readonly clock: Clock;
  /** Primary address 0..250. */
  readonly primary: number;
  readonly identity: SecondaryAddress;
  /** Encoded records of each telegram; every telegram but the last gets a closing DIF 1F. Default: one telegram, energy and volume. */
  readonly telegrams?: readonly (readonly Uint8Array[])[];
  /** A complete RSP_UD to send instead (e.g. a corpus frame); its own A field is sent as is. */
  readonly fixedReply?: Uint8Array;
  /** Delay from the end of a request to the start of the answer. Default 30 ms (inside 11 bit times .. 330 bit times + 50 ms at 2400 Bd). */
  readonly delayMs?: number;
  readonly ignoreFcb?: boolean;
  readonly corruptReplies?: number;
  readonly mute?: boolean;
}

/** One frame a slave received from the master, with its decode. */
export interface SlaveRequest {
  readonly frame: MbusFrame;
  readonly at: number;
}

export class ScriptedMbusSlave {
  readonly primary: number;
  readonly identity: SecondaryAddress;
  readonly requests: SlaveRequest[] = [];
  /** Replies sent: 'ack' or the telegram index (or 'fixed'); repeats flagged. */
  readonly replies: { readonly kind: 'ack' | 'telegram'; readonly telegram?: number; readonly repeat?: boolean; readonly at: number }[] = [];
  selected = false;
  mute: boolean;
  corruptReplies: number;
  private readonly link: Link;
  private readonly clock: Clock;
  private readonly telegrams: readonly (readonly Uint8Array[])[];
  private readonly fixedReply: Uint8Array | undefined;
  private readonly delayMs: number;
  private readonly ignoreFcb: boolean;
  private readonly scanner = new MbusFrameScanner();
  private lastFcb: boolean | null = null;
  private index = -1;
  private lastReply: Uint8Array | undefined;
  private accessNumber = 0;

  constructor(options: ScriptedSlaveOptions) {
    this.link = options.link;
    this.clock = options.clock;
    this.primary = options.primary;
    this.identity = options.identity;
    this.telegrams = options.telegrams ?? [defaultRecords(options.primary)];
    this.fixedReply = options.fixedReply;
    this.delayMs = options.delayMs ?? 30;
    this.ignoreFcb = options.ignoreFcb ?? false;
    this.corruptReplies = options.corruptReplies ?? 0;
    this.mute = options.mute ?? false;
    this.link.on('data', (chunk) => {
      for (const e of this.scanner.push(chunk)) if (e.type === 'frame') this.onFrame(e.decoded.frame);
    });
  }

  private addressed(a: number): boolean {
    return a === this.primary || a === ADDRESS_BROADCAST_REPLY || a === ADDRESS_BROADCAST_NO_REPLY || (a === ADDRESS_NETWORK_LAYER && this.selected);
  }

  private onFrame(frame: MbusFrame): void {
    if (frame.type === 'ack' || !frame.control.fromMaster) return;
    this.requests.push({ frame, at: this.clock.now() });
    const silent = frame.address === ADDRESS_BROADCAST_NO_REPLY;
    if (frame.type === 'short') {
      if (!this.addressed(frame.address)) return;
      if (frame.control.functionName === 'SND_NKE') {
        this.resetFcb();
        if (frame.address === ADDRESS_NETWORK_LAYER) this.selected = false;
        if (!silent) this.answerAck();
        return;
      }
      if (frame.control.functionName === 'REQ_UD2' && !silent) this.answerData(frame.control.fcv === true ? frame.control.fcb === true : null);
      return;
    }
    // Long / control frame: only the selection is scripted.
    if (frame.address !== ADDRESS_NETWORK_LAYER || frame.control.functionName !== 'SND_UD') return;
    const app = decodeApplication(frame, 0);
    if (!app.ok || app.value.kind !== 'selection') return;
    if (secondaryAddressMatches(app.value.address, this.identity)) {
      this.selected = true;
      this.resetFcb();
      this.answerAck();
    } else {
      this.selected = false;
    }
  }

  private resetFcb(): void {
    this.lastFcb = null;
    this.index = -1;
  }

  /** fcb: the request's FCB, or null when FCV = 0 (no FCB semantics). */
  private answerData(fcb: boolean | null): void {
    const repeat = !this.ignoreFcb && fcb !== null && this.lastFcb !== null && fcb === this.lastFcb && this.lastReply !== undefined;
    if (!repeat) {
      this.index = this.index + 1 >= this.telegrams.length ? 0 : this.index + 1;
      this.accessNumber = (this.accessNumber + 1) & 0xff;
      this.lastReply = this.fixedReply ?? this.encodeTelegram(this.index);
    }
    if (fcb !== null) this.lastFcb = fcb;
    this.replies.push({ kind: 'telegram', telegram: this.index, repeat, at: this.clock.now() });
    this.send(this.lastReply!);
  }

  private encodeTelegram(i: number): Uint8Array {
    const more = i < this.telegrams.length - 1;
    return encodeVariableDataResponse({
      address: this.primary,
      header: { ...this.identity, accessNumber: this.accessNumber, status: 0 },
      records: [...this.telegrams[i]!, ...(more ? [encodeManufacturerData(new Uint8Array(0), true)] : [])],
    });
  }

  private answerAck(): void {
    this.replies.push({ kind: 'ack', at: this.clock.now() });
    this.send(encodeFrame({ type: 'ack' }));
  }

  private send(frame: Uint8Array): void {
    if (this.mute) return;
    let out = frame;
    if (this.corruptReplies > 0 && frame.length > 1) {
      this.corruptReplies--;
      out = frame.slice();
      out[out.length - 2] = (out[out.length - 2]! + 1) & 0xff; // checksum byte off by one
    }
    void this.clock.sleep(this.delayMs).then(() => (this.link.isOpen ? this.link.write(out) : undefined)).catch(() => undefined);
  }
}

/** Energy (kWh, 8-digit BCD) = 1000 + primary address, volume (0.01 m³, 32-bit) = 500 × primary. */
export function defaultRecords(primary: number): Uint8Array[] {
  return [
    encodeRecord({ dataField: DATA_FIELD.BCD8, vib: [0x06], value: { type: 'bcd', value: 1000 + primary } }),
    encodeRecord({ dataField: DATA_FIELD.INT32, vib: [0x14], value: { type: 'integer', value: 500 * primary } }),
  ];
}

/** A secondary identity: `id` 8 digits, manufacturer letters, version, medium 04 (heat, outlet). */
export function identity(id: string, manufacturer = 'KAM', version = 1, medium = 0x04): SecondaryAddress {
  return { id, manufacturer: manufacturerValue(manufacturer), version, medium };
}
