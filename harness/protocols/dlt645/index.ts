/** DL/T 645 (2007, with 1997 decoding): codec, contracts, declaration and data dictionary. */
export * from './types.ts';
export * from './constants.ts';
export * from './frame.ts';
export * from './address-order.ts';
export * from './messages.ts';
export * from './scanner.ts';
export * from './json.ts';
export * from './declaration.ts';
export * from './dictionary-types.ts';
// Data dictionary (maintained by the dictionary engineer):
export * from './formats.ts';
export * from './dictionary.ts';
export * from './load-record.ts';
