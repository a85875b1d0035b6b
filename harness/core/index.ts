export * from './result.ts';
export * from './errors.ts';
export * from './bytes.ts';
export * from './bcd.ts';
export * from './checksum.ts';
export * from './clock.ts';
export * from './calendar.ts';
export * from './random.ts';
