/**
 * The device base every simulated device shares (simulators/device/README.md): the behaviour
 * stack, profile loading and the backchannel notion. A device kind (simulators/electricity-meter,
 * and the CJ/T 188 and M-Bus meters to come) builds its model, server and profile on these.
 */
export * from './behaviour-stack.ts';
export * from './profile-loading.ts';
export * from './backchannel.ts';
