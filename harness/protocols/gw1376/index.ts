/** Q/GDW 1376.1-2013 (master station <-> terminal / concentrator): codec, data units, dictionary, scanner. */
export * from './constants.ts';
export * from './types.ts';
export * from './frame.ts';
export * from './dadt.ts';
export * from './formats.ts';
export * from './dictionary.ts';
export * from './messages.ts';
export * from './scanner.ts';
export * from './json.ts';
export * from './declaration.ts';
export * from './station-declaration.ts';
