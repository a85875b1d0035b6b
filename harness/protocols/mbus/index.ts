/** Wired M-Bus (EN 13757-2 / EN 13757-3): codec, data dictionary, secondary addressing. */
export * from './constants.ts';
export * from './frame.ts';
export * from './dictionary.ts';
export * from './records.ts';
export * from './address.ts';
export * from './application.ts';
export * from './scanner.ts';
export * from './json.ts';
export * from './declaration.ts';
