/** CJ/T 188-2004 (water, gas, heat meters): codec, dialects, scanner and data dictionary. */
export * from './constants.ts';
export * from './dialect.ts';
export * from './types.ts';
export * from './frame.ts';
export * from './dictionary.ts';
export * from './messages.ts';
export * from './scanner.ts';
export * from './json.ts';
export * from './declaration.ts';
