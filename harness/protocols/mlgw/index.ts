/** MLGW, MeterLab's own gas/water micro-power wireless protocol (docs/protocols/meterlab-gas-wireless.md): codec and scanner. */
export * from './constants.ts';
export * from './crc.ts';
export * from './types.ts';
export * from './frame.ts';
export * from './messages.ts';
export * from './scanner.ts';
