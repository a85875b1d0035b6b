/**
 * Serial port link over node-serialport's `SerialPortStream` (USB-RS485 adapters, ptys, and the
 * mock binding in tests). The real binding (`@serialport/bindings-cpp`, prebuilt inside the
 * `serialport` package) is loaded only when a port is opened or listed without a `binding`.
 *
 * `write()` resolves once the operating system reports the bytes transmitted (write + drain,
 * i.e. tcdrain), so a master's response timeout starts when its request is off the wire.
 */
import { accessSync, constants, readdirSync, realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SerialPortStream, type OpenOptions } from '@serialport/stream';
import { LinkError } from '../core/errors.ts';
import { formatLine, LinkBase, type LineSettings } from './link.ts';
import { copyBytes, emitErrorIfHeard } from './internal.ts';

/** A node-serialport binding (the real one, the mock one, or a test double). */
export type SerialBinding = OpenOptions['binding'];

export interface SerialLinkOptions {
  /** `/dev/ttyUSB0`, `COM3`, a pty path. */
  readonly path: string;
  readonly line: LineSettings;
  /** Default: the operating system binding that `serialport` detects. */
  readonly binding?: SerialBinding;
  /** Link name; default `serial:<path>`. */
  readonly name?: string;
}

let realBinding: Promise<SerialBinding> | undefined;

/** The operating system binding `serialport` auto-detects (loaded on first use). */
export function defaultSerialBinding(): Promise<SerialBinding> {
  realBinding ??= import('serialport').then((m) => m.SerialPort.binding as SerialBinding);
  return realBinding;
}

export class SerialLink extends LinkBase {
  readonly name: string;
  private closing: Promise<void> | undefined;
  private closed = false;
  private currentLine: LineSettings;

  constructor(
    /** The underlying stream; `stream.port` is the binding's port object. */
    readonly stream: SerialPortStream,
    readonly path: string,
    line: LineSettings,
    name?: string,
  ) {
    super();
    this.currentLine = line;
    this.name = name ?? `serial:${path}`;
    stream.on('data', (chunk: Buffer) => {
      if (!this.closed) this.emit('data', copyBytes(chunk));
    });
    stream.on('error', (e: Error) => {
      emitErrorIfHeard(this, new LinkError(`serial port ${path}: ${cleanSerialMessage(e.message, path)}`, { cause: e }));
    });
    stream.on('close', (e?: Error & { disconnected?: boolean }) => {
      if (e?.disconnected) {
        emitErrorIfHeard(this, new LinkError(`serial port ${path} disconnected: ${cleanSerialMessage(e.message, path)}`, { cause: e }));
      }
      this.finish();
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.stream.isOpen;
  }

  get line(): LineSettings {
    return this.currentLine;
  }

  /** Changes the baud rate of the open port (e.g. after a DL/T 645 baud-rate change command). */
  setBaudRate(baudRate: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.stream.update({ baudRate }, (e) => {
        if (e) {
          reject(new LinkError(`cannot set serial port ${this.path} to ${baudRate} baud: ${cleanSerialMessage(e.message, this.path)}`, { cause: e }));
          return;
        }
        this.currentLine = { ...this.currentLine, baudRate };
        resolve();
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new LinkError(`${this.name} is closed`));
    if (bytes.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.stream.write(Buffer.from(bytes), (e) => {
        if (e) {
          reject(new LinkError(`cannot write to serial port ${this.path}: ${cleanSerialMessage(e.message, this.path)}`, { cause: e }));
          return;
        }
        this.stream.drain((d) => {
          if (d) reject(new LinkError(`cannot drain serial port ${this.path}: ${cleanSerialMessage(d.message, this.path)}`, { cause: d }));
          else resolve();
        });
      });
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.closed || !this.stream.isOpen) {
        this.finish();
        resolve();
        return;
      }
      this.stream.close(() => {
        // A close error (port already gone) still leaves us closed.
        this.finish();
        resolve();
      });
    });
    return this.closing;
  }

  override toString(): string {
    return `${this.name} (${formatLine(this.line)})`;
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

/**
 * Opens a serial port. Failures a user can cause (no such port, no permission, port in use,
 * not a serial device) reject with one LinkError naming the path, e.g.
 * `serial port /dev/ttyUSB9 cannot be opened: No such file or directory`.
 */
export async function openSerialLink(opts: SerialLinkOptions): Promise<SerialLink> {
  const { line, path } = opts;
  if (opts.binding === undefined) {
    // The real binding on a regular file or a directory fails on its first ioctl, or not at all
    // (a FIFO blocks): say what the path is instead.
    const kind = notADevice(path);
    if (kind !== null) throw new LinkError(`serial port ${path} cannot be opened: it is ${kind}, not a serial device`);
  }
  const binding = opts.binding ?? (await defaultSerialBinding());
  let stream: SerialPortStream;
  try {
    stream = new SerialPortStream({
      binding,
      path,
      baudRate: line.baudRate,
      dataBits: line.dataBits,
      parity: line.parity,
      stopBits: line.stopBits,
      autoOpen: false,
    });
  } catch (e) {
    // Invalid settings are rejected synchronously by the stream's constructor.
    throw new LinkError(`serial port ${path} cannot be opened with ${formatLine(line)}: ${(e as Error).message}`, { cause: e });
  }
  await new Promise<void>((resolve, reject) => {
    stream.open((e) => {
      if (!e) {
        resolve();
        return;
      }
      const reason = cleanSerialMessage(e.message, path);
      reject(new LinkError(`serial port ${path} cannot be opened: ${reason}${hintFor(reason)}`, { cause: e }));
    });
  });
  return new SerialLink(stream, path, line, opts.name);
}

/**
 * Opens the port once with the real binding and closes it: the check `meterlab run` makes before
 * any suite starts, so that a path that exists but is not a serial port (a regular file,
 * /dev/null) is one clear LinkError instead of one error per test case.
 */
export async function probeSerialPort(opts: Omit<SerialLinkOptions, 'name'>): Promise<void> {
  const link = await openSerialLink(opts);
  await link.close();
}

/** What `path` is when it is not a character device ("a regular file", ...); null for a device, or when stat fails (open says why). */
function notADevice(path: string): string | null {
  if (process.platform === 'win32') return null; // COM ports are not in the file system
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return null;
  }
  if (st.isCharacterDevice()) return null;
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a character device';
}

/** `Error: No such file or directory, cannot open /dev/x` -> `No such file or directory`. */
function cleanSerialMessage(message: string, path: string): string {
  let m = message.replace(/^Error:\s*/, '');
  const tail = `, cannot open ${path}`;
  if (m.endsWith(tail)) m = m.slice(0, -tail.length);
  return m;
}

function hintFor(reason: string): string {
  if (/Permission denied/i.test(reason)) return ' (is the user in the dialout group?)';
  if (/lock/i.test(reason)) return ' (is another program using it?)';
  if (/Inappropriate ioctl/i.test(reason)) return ' (not a serial device?)';
  return '';
}

export interface SerialPortListing {
  readonly path: string;
  readonly manufacturer?: string;
  readonly serialNumber?: string;
  readonly vendorId?: string;
  readonly productId?: string;
}

/**
 * Serial ports the system knows. On Linux the real binding asks `udevadm`; where udevadm is
 * absent (containers) its unhandled spawn error would crash the process, so this falls back to
 * the device nodes in /dev (USB/ACM/AMA adapters, /dev/serial/by-id; not the ever-present ttyS*).
 */
export async function listSerialPorts(opts: { binding?: SerialBinding } = {}): Promise<SerialPortListing[]> {
  if (!opts.binding && process.platform === 'linux' && !onPath('udevadm')) return listDevTty();
  const binding = opts.binding ?? (await defaultSerialBinding());
  try {
    const ports = await binding.list();
    return ports.map((p) => ({
      path: p.path,
      ...(p.manufacturer !== undefined && { manufacturer: p.manufacturer }),
      ...(p.serialNumber !== undefined && { serialNumber: p.serialNumber }),
      ...(p.vendorId !== undefined && { vendorId: p.vendorId }),
      ...(p.productId !== undefined && { productId: p.productId }),
    }));
  } catch (e) {
    throw new LinkError(`cannot list serial ports: ${(e as Error).message}`, { cause: e });
  }
}

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

function listDevTty(): SerialPortListing[] {
  const seen = new Set<string>();
  const out: SerialPortListing[] = [];
  const add = (path: string): void => {
    let real = path;
    try {
      real = realpathSync(path);
    } catch {
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    out.push({ path });
  };
  for (const name of safeReaddir('/dev/serial/by-id')) add(join('/dev/serial/by-id', name));
  for (const name of safeReaddir('/dev').sort()) {
    if (/^tty(USB|ACM|AMA|WCH|XRUSB|MFD)\d+$/.test(name) || /^rfcomm\d+$/.test(name)) add(join('/dev', name));
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
