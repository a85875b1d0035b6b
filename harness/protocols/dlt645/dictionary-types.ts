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
  | 'password';

/**
 * A decoded data-item value:
 * - number: a scaled decimal (kWh, V, A, yuan, counts) or an integer word (status words);
 * - string: a digit string (address, meter number) or hex for opaque content;
 * - array: a data block, one value per member in member order;
 * - record: named fields (date/time fields, event records, freeze records).
 */
export type DataValue = number | string | readonly DataValue[] | { readonly [field: string]: DataValue };

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
}

export interface Dlt645Dictionary {
  lookup(di: string): DataItemDefinition | undefined;
  all(): readonly DataItemDefinition[];
  /** Decodes a payload (bytes after DI, −33H already removed). Never throws. */
  decodeValue(di: string, payload: Uint8Array): Result<DataValue, DecodeError>;
  /** Encodes a value for the wire (before +33H). Throws EncodeError on a value that does not fit. */
  encodeValue(di: string, value: DataValue): Uint8Array;
}
