/** Protocol masters (clients): request/response, reply matching, timeouts, retries, timings. */
export * from './dlt645-master.ts';
export * from './cjt188-master.ts';
export * from './exchange.ts';
export * from './errors.ts';
export * from './mbus-master.ts';
export * from './mbus-errors.ts';
export * from './gw1376-master.ts';
export * from './gw1376-station.ts';
export * from './gw1376-forwarding-link.ts';
