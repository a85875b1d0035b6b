/**
 * Contract of the DL/T 645 data dictionary (one per protocol, ARCHITECTURE.md): identifier ->
 * name, format, length, unit, access. Codec, simulators, suites and reports all read it.
 */
import type { DecodeError } from '../../core/errors.ts';
import type { Result } from '../../core/result.ts';

export type Access = 'read' | 'write' | 'readWrite';

export type DataItemCategory =
  | 'energy'
  | 'demand'
  | 'instantaneous'
  | 'clock'
  | 'parameter'
  | 'identity'
  | 'status'
  | 'freeze'
  | 'prepaid'
  | 'event'
  | 'loadRecord'
  | 'password';

/**
 * A decoded data-item value:
 * - number: a scaled decimal (kWh, V, A, yuan, counts) or an integer word (status words);
 * - string: a digit string (address, meter number) or hex for opaque content;
 * - array: a data block, one value per member in member order;
 * - record: named fields (date/time fields, event records, freeze records);
 * - the string "absent" (ABSENT_VALUE in formats.ts): a BCD field sent as FF…FF, e.g. the phase B
 *   and C voltages of a single-phase meter inside the voltage block.
 */
export type DataValue = number | string | readonly DataValue[] | { readonly [field: string]: DataValue };

/**
 * How the bytes of one value field are read. Default 'bcd': little-endian BCD (a scaled decimal,
 * a digit string or date/time fields, chosen by the format string). 'binary': little-endian
 * unsigned integer (status words, baud-rate feature words). 'hex': opaque bytes shown as hex,
 * most significant (last on the wire) first (passwords, operator codes, data identifiers).
 * 'bytes': opaque content shown as hex in wire order, first byte first (parts of records whose
 * layout is not known, load-record blocks).
 */
export type ValueEncoding = 'bcd' | 'binary' | 'hex' | 'bytes';

/** One named field of a record-valued item (maximum demand + time, event records). */
export interface DataFieldDefinition {
  /** Key in the decoded record (camelCase). */
  readonly name: string;
  readonly format: string;
  /** Bytes of one value. */
  readonly length: number;
  readonly unit?: string;
  /** Sign in the top bit of the most significant byte (last on the wire). */
  readonly signed?: boolean;
  readonly encoding?: ValueEncoding;
  /** When set, the field holds `count` consecutive values and decodes to an array. */
  readonly count?: number;
}

/** A named bit field of a status word (e.g. status word 3, PROTOCOLS.md 1.8). */
export interface StatusBitField {
  /** Key in the decoded record (camelCase). */
  readonly name: string;
  /** Lowest bit of the field (bit 0 = least significant bit of the word). */
  readonly bit: number;
  readonly width: number;
  readonly meaning: string;
  /** The decoded value for each raw value 0 .. 2^width - 1. */
  readonly values: readonly (string | boolean)[];
  readonly source: string;
}

/** Options for decoding a value payload. */
export interface DecodeValueOptions {
  /**
   * 'reject' (default): the payload must have exactly the item's length.
   * 'ignore': decode the longest valid prefix and ignore the rest (field quirk: some meters
   * append one byte after the value, PROTOCOLS.md 1.10).
   */
  readonly trailingBytes?: 'reject' | 'ignore';
}

export interface DataItemDefinition {
  /** 8 hex digits DI3..DI0 for 2007 ("00010000"), 4 for 1997 ("9010"). */
  readonly di: string;
  readonly edition: '2007' | '1997';
  readonly name: string;
  /** The standard's format string: "XXXXXX.XX", "XXX.X", "YYMMDDWW", "hhmmss", "NNNNNNNNNNNN", ... */
  readonly format: string;
  /** Bytes in the data field after the DI (the whole block for a block item). */
  readonly length: number;
  readonly unit?: string;
  readonly access: Access;
  readonly category: DataItemCategory;
  /** For data blocks (…FF…): the member identifiers in order. */
  readonly members?: readonly string[];
  /** Where the definition comes from (PROTOCOLS.md row, or "[BK]"). */
  readonly source: string;
  /** The name as the standard's Chinese table words it, e.g. "(上3结算日)正向有功费率2电能". */
  readonly nameZh?: string;
  /** Single values: sign in the top bit of the most significant byte (last on the wire). */
  readonly signed?: boolean;
  /** Single values: how the bytes are read (default 'bcd'). */
  readonly encoding?: ValueEncoding;
  /** Record-valued items: the fields in wire order (the item decodes to a record). */
  readonly fields?: readonly DataFieldDefinition[];
  /**
   * Blocks whose length follows the meter's tariff count: `members[from]` and the members after
   * it share one layout and may occur `min`..`max` times; `members` and `length` show the
   * default (4 tariffs). Nested blocks share one tariff count.
   */
  readonly repeat?: { readonly from: number; readonly min: number; readonly max: number };
  /** Status words: the named bit fields. */
  readonly bits?: readonly StatusBitField[];
  /**
   * Opaque items whose length varies (load-record blocks, holiday-programming records): any
   * payload of `min`..`max` bytes decodes to its hex in wire order ('bytes'); `length` is `min`.
   */
  readonly lengthRange?: { readonly min: number; readonly max: number };
}

export interface Dlt645Dictionary {
  lookup(di: string): DataItemDefinition | undefined;
  all(): readonly DataItemDefinition[];
  /** Decodes a payload (bytes after DI, −33H already removed). Never throws. */
  decodeValue(di: string, payload: Uint8Array, options?: DecodeValueOptions): Result<DataValue, DecodeError>;
  /** Encodes a value for the wire (before +33H). Throws EncodeError on a value that does not fit. */
  encodeValue(di: string, value: DataValue): Uint8Array;
}
