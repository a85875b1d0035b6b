/**
 * Q/GDW 1376.1 — shapes shared by codec, simulators, masters, suites and reports. Section
 * numbers refer to ../shared/protocols/PROTOCOLS.md section 3.
 *
 * Wire frame (3.1): 68 L L 68 | C | A1 A1 A2 A2 A3 | AFN | SEQ | {DA DT data}* | [PW|EC] [Tp] | CS 16
 */

/** Control field C (3.2). */
export interface ControlField {
  readonly raw: number;
  /** D7 DIR: false = downlink (master -> terminal), true = uplink. */
  readonly dir: boolean;
  /** D6 PRM: true = from the initiating station. */
  readonly prm: boolean;
  /** D5 on a downlink frame: frame count bit FCB. */
  readonly fcb: boolean;
  /** D5 on an uplink frame: access demand ACD (important events waiting; EC follows). */
  readonly acd: boolean;
  /** D4: frame count valid FCV (downlink). */
  readonly fcv: boolean;
  /** D3-D0. */
  readonly functionCode: number;
}

/** Address field A (3.3). */
export interface Address {
  /** A1, administrative area code: 4 characters, most significant first ("0200" for wire 00 02); hex digits when not BCD. */
  readonly areaCode: string;
  /** A2, terminal address 0..65535 (0 invalid; FFFF with `group` = broadcast). */
  readonly terminal: number;
  /** A3 D1-D7, master-station address MSA 0..127. */
  readonly msa: number;
  /** A3 D0, group-address flag. */
  readonly group: boolean;
}

/** Frame position from FIR/FIN (3.4). */
export type FramePosition = 'single' | 'first' | 'middle' | 'last';

/** SEQ (3.4). */
export interface Seq {
  readonly raw: number;
  readonly tpv: boolean;
  readonly fir: boolean;
  readonly fin: boolean;
  readonly con: boolean;
  /** PSEQ (request) or RSEQ (response), 0..15. */
  readonly seq: number;
  readonly position: FramePosition;
}

/** Tp, the time tag (3.6): PFC, send time (ss mm hh DD, BCD) and allowed delay in minutes. */
export interface TimeTag {
  readonly pfc: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** Allowed transmission delay in minutes; 0 = no check [BK]. */
  readonly delayMinutes: number;
}

/** EC, the event counters (3.6). */
export interface EventCounter {
  /** EC1, important events. */
  readonly important: number;
  /** EC2, normal events. */
  readonly normal: number;
}

/** The auxiliary field AUX (3.6), each part present only when the header says so. */
export interface Aux {
  readonly pw: Uint8Array | null;
  readonly ec: EventCounter | null;
  readonly tp: TimeTag | null;
}

/** One link frame with its application header split out; `data` is the data-unit region (DA DT data ...). */
export interface Gw1376Frame {
  /** Protocol id, L bits 0-1 (2 for 1376.1). */
  readonly protocolId: number;
  readonly control: ControlField;
  readonly address: Address;
  readonly afn: number;
  readonly seq: Seq;
  readonly data: Uint8Array;
  readonly aux: Aux;
  readonly checksum: number;
}

export interface Gw1376DecodedFrame {
  readonly frame: Gw1376Frame;
  /** Offset of the first 68H. */
  readonly start: number;
  /** Offset just past the 16H. */
  readonly end: number;
  /** Offset of the first data-unit byte (for error offsets of the layers above). */
  readonly dataOffset: number;
  readonly raw: Uint8Array;
}
