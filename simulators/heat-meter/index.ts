/**
 * A simulated M-Bus heat meter on a link: the model (model.ts), its M-Bus slave (mbus-slave.ts)
 * and the device serve loop (simulators/device/frame-server.ts).
 *
 *   const meter = createHeatMeter({ link: segment.attachSlave('hm-7'), clock, seed: 7, primaryAddress: 7,
 *                                   identity: { id: '00000007', manufacturer: manufacturerValue('MLB'), version: 1 } });
 */
import type { Clock } from '../../harness/core/clock.ts';
import type { Link } from '../../harness/links/link.ts';
import { MbusFrameScanner, type MbusScanEvent } from '../../harness/protocols/mbus/index.ts';
import { FrameServer } from '../device/frame-server.ts';
import { MbusHeatSlave, type MbusSlaveOptions } from './mbus-slave.ts';
import { HeatMeterModel, type HeatingProfile } from './model.ts';

export * from './model.ts';
export * from './mbus-slave.ts';

/**
 * Reply delay of the slave, ms: inside EN 13757-2's window of 11 bit times .. 330 bit times + 50 ms
 * after the request (MBUS.md 1: 4.6 .. 187.5 ms at 2400 Bd). 30 ms is MeterLab's choice.
 */
export const DEFAULT_REPLY_DELAY_MS = 30;
/** Inter-byte silence that ends a partial request: libmbus's VTIME at 2400 Bd, 0.3 s (MBUS.md 1). */
export const DEFAULT_SILENCE_MS = 300;

export interface CreateHeatMeterOptions extends Omit<MbusSlaveOptions, 'model'> {
  readonly link: Link;
  readonly clock: Clock;
  readonly seed: number;
  /** Default: a 90 m² flat, UA 0.12 kW/K. */
  readonly heating?: HeatingProfile;
  readonly startKwh?: number;
  /** The model's counting start (model.ts `countingSince`): earlier than now gives monthly storages from the first telegram. */
  readonly countingSince?: number;
  readonly replyDelayMs?: number;
  readonly log?: (line: string) => void;
}

export interface HeatMeter {
  readonly model: HeatMeterModel;
  readonly slave: MbusHeatSlave;
  readonly server: FrameServer<MbusScanEvent>;
  stop(): void;
}

export function createHeatMeter(o: CreateHeatMeterOptions): HeatMeter {
  const model = new HeatMeterModel({ clock: o.clock, seed: o.seed, heating: o.heating ?? { uaKwPerK: 0.12 }, ...(o.startKwh !== undefined ? { startKwh: o.startKwh } : {}), ...(o.countingSince !== undefined ? { countingSince: o.countingSince } : {}) });
  const slave = new MbusHeatSlave({ ...o, model });
  const delayMs = o.replyDelayMs ?? DEFAULT_REPLY_DELAY_MS;
  const server = new FrameServer<MbusScanEvent>({
    link: o.link,
    clock: o.clock,
    scanner: new MbusFrameScanner(),
    silenceMs: DEFAULT_SILENCE_MS,
    handle: (event) => {
      if (event.type !== 'frame') return null;
      const bytes = slave.handle(event.decoded.frame);
      return bytes ? { bytes, delayMs } : null;
    },
    ...(o.log ? { log: o.log } : {}),
  });
  server.start();
  return { model, slave, server, stop: () => server.stop() };
}
