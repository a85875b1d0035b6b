/**
 * A mock serial device pair over `@serialport/binding-mock`: the master's side is a real
 * `SerialPortStream` (exactly what runs against a USB adapter), the far end is a Link playing
 * the meter.
 *
 * Pitfalls handled here (TOOLCHAIN.md):
 * - Dual package hazard: `serialport` loads the CommonJS build of the mock binding; an ESM
 *   `import { MockBinding }` gets a second copy with its own port registry ("Port does not
 *   exist"). We always use `SerialPortMock.binding` and pass it explicitly. Other code that
 *   needs the registry must use `mockSerialBinding()` from here.
 * - Ports are created with `{ echo: false, record: true }`; `resetMockSerialPorts()` forgets
 *   every mock port (call it in afterEach).
 * - The mock moves bytes with process.nextTick; with a VirtualClock that auto-advances, each
 *   direction holds the clock while bytes are in flight, so virtual time cannot jump past a
 *   reply that is still on its way.
 */
import type { SerialPortMock } from 'serialport';
import type { Clock } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import { DLT645_DEFAULT_LINE, LinkBase, type LineSettings } from './link.ts';
import { copyBytes } from './internal.ts';
import { openSerialLink, type SerialLink } from './serial.ts';

/** The mock binding `serialport` itself uses (its CommonJS copy), with createPort/reset. */
export type MockSerialBinding = typeof SerialPortMock.binding;
/** The object `MockSerialBinding.open()` returns: has emitData, recording, lastWrite. */
export type MockSerialPortBinding = Awaited<ReturnType<MockSerialBinding['open']>>;

let mockBinding: Promise<MockSerialBinding> | undefined;

/** The one mock binding registry shared by serialport and us. */
export function mockSerialBinding(): Promise<MockSerialBinding> {
  mockBinding ??= import('serialport').then((m) => m.SerialPortMock.binding);
  return mockBinding;
}

/** Forgets every mock port (open ones keep working until closed). Call between tests. */
export async function resetMockSerialPorts(): Promise<void> {
  (await mockSerialBinding()).reset();
}

export interface MockSerialPairOptions {
  /** Mock port path; default a fresh `/dev/ttyMOCK<n>`. */
  readonly path?: string;
  /** Line settings the host opens the port with. Default 2400 8E1. */
  readonly line?: LineSettings;
  /** When it is a VirtualClock, it is held while mock bytes are in flight. */
  readonly clock?: Clock;
  /** Name of the device end; default `mock-device:<path>`. */
  readonly deviceName?: string;
}

export interface MockSerialPair {
  /** The master's end: a real SerialPortStream link on the mock port. */
  readonly host: SerialLink;
  /** The far end (the meter's side). */
  readonly device: MockSerialDevice;
  readonly binding: MockSerialBinding;
  /** The mock port object (`recording` holds everything the host wrote). */
  readonly port: MockSerialPortBinding;
  readonly path: string;
}

let nextPort = 0;

interface Holdable {
  hold(): () => void;
}

function holdOf(clock: Clock | undefined): (() => () => void) | undefined {
  const h = clock as Partial<Holdable> | undefined;
  return h && typeof h.hold === 'function' ? () => h.hold!() : undefined;
}

/** Counts bytes in flight in one direction and holds the clock while there are any. */
class InFlight {
  private pending = 0;
  private release: (() => void) | undefined;
  constructor(private readonly hold: (() => () => void) | undefined) {}
  add(n: number): void {
    if (!this.hold || n <= 0) return;
    this.pending += n;
    this.release ??= this.hold();
  }
  done(n: number): void {
    if (!this.hold) return;
    this.pending = Math.max(0, this.pending - n);
    if (this.pending === 0) this.clear();
  }
  clear(): void {
    this.pending = 0;
    const r = this.release;
    this.release = undefined;
    r?.();
  }
}

/** The meter's end of a mock serial pair. */
export class MockSerialDevice extends LinkBase {
  private open = true;

  constructor(
    readonly name: string,
    private readonly pair: { host: SerialLink; port: MockSerialPortBinding; toHost: InFlight },
  ) {
    super();
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Injects bytes into the host's receive side (the mock port's emitData). */
  write(bytes: Uint8Array): Promise<void> {
    if (!this.open || !this.pair.port.isOpen) return Promise.reject(new LinkError(`${this.name} is closed`));
    if (bytes.length === 0) return Promise.resolve();
    this.pair.toHost.add(bytes.length);
    this.pair.port.emitData(Buffer.from(bytes));
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.pair.host.close();
  }

  /** @internal */
  receive(chunk: Uint8Array): void {
    if (this.open) this.emit('data', chunk);
  }

  /** @internal */
  finish(): void {
    if (!this.open) return;
    this.open = false;
    this.emit('close');
  }
}

/**
 * Creates a mock port, opens the host end on it with the real stream class, and returns both
 * ends. Bytes the host writes arrive as 'data' on `device`; `device.write()` reaches the host.
 * Closing either end closes both.
 */
export async function createMockSerialPair(opts: MockSerialPairOptions = {}): Promise<MockSerialPair> {
  const binding = await mockSerialBinding();
  const path = opts.path ?? `/dev/ttyMOCK${nextPort++}`;
  const line = opts.line ?? DLT645_DEFAULT_LINE;
  binding.createPort(path, { echo: false, record: true });
  const hold = holdOf(opts.clock);
  const opening = hold?.();
  let host: SerialLink;
  try {
    host = await openSerialLink({ path, line, binding, name: `mock-serial:${path}` });
  } finally {
    opening?.();
  }
  const port = host.stream.port as MockSerialPortBinding | undefined;
  if (!port) throw new LinkError(`mock serial port ${path} opened without a port object`);
  const toHost = new InFlight(hold);
  const toDevice = new InFlight(hold);
  const device = new MockSerialDevice(opts.deviceName ?? `mock-device:${path}`, { host, port, toHost });

  // Host -> device: the mock binding only records writes, so wrap this port object's write.
  const mockWrite = port.write.bind(port);
  port.write = async (buffer: Buffer): Promise<void> => {
    toDevice.add(buffer.length);
    try {
      await mockWrite(buffer);
    } catch (e) {
      toDevice.done(buffer.length);
      throw e;
    }
    const chunk = copyBytes(buffer);
    // Deliver after the host's write callback has run, as a wire would.
    process.nextTick(() => {
      toDevice.done(chunk.length);
      device.receive(chunk);
    });
  };
  host.on('data', (chunk) => toHost.done(chunk.length));
  host.on('close', () => {
    toHost.clear();
    toDevice.clear();
    device.finish();
  });
  return { host, device, binding, port, path };
}
