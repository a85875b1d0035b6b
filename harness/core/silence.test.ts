import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock.ts';
import { FlushOnSilence, type DeliveryCause, type StreamScanner } from './silence.ts';

/** A toy scanner: a frame is a run of bytes ending in 0x16; flush reports the rest as 'partial'. */
class LineScanner implements StreamScanner<string> {
  private held: number[] = [];
  get pending(): number {
    return this.held.length;
  }
  push(chunk: Uint8Array): string[] {
    const out: string[] = [];
    for (const b of chunk) {
      this.held.push(b);
      if (b === 0x16) out.push(`frame:${this.held.splice(0).length}`);
    }
    return out;
  }
  flush(): string[] {
    return this.held.length > 0 ? [`partial:${this.held.splice(0).length}`] : [];
  }
  reset(): void {
    this.held = [];
  }
}

function rig(silenceMs = 500) {
  const clock = new VirtualClock({ start: 0, autoAdvance: false });
  const got: { at: number; events: string[]; cause: DeliveryCause }[] = [];
  const receiver = new FlushOnSilence({ scanner: new LineScanner(), clock, silenceMs, deliver: (events, cause) => got.push({ at: clock.now(), events, cause }) });
  return { clock, got, receiver };
}

describe('FlushOnSilence', () => {
  it('flushes a partial frame once the line has been silent for silenceMs after its LAST byte', async () => {
    const { clock, got, receiver } = rig();
    receiver.push(Uint8Array.of(1, 2));
    await clock.advance(300);
    receiver.push(Uint8Array.of(3)); // restarts the silence
    await clock.advance(499);
    expect(got).toEqual([]);
    await clock.advance(1);
    expect(got).toEqual([{ at: 800, events: ['partial:3'], cause: 'silence' }]);
    expect(receiver.pending).toBe(0);
  });

  it('delivers complete frames at once and arms nothing when no partial frame is pending', async () => {
    const { clock, got, receiver } = rig();
    receiver.push(Uint8Array.of(1, 0x16));
    expect(got).toEqual([{ at: 0, events: ['frame:2'], cause: 'data' }]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('holds one timer however many bytes arrive (O(1) timer work per byte)', async () => {
    const { clock, receiver } = rig();
    for (let i = 0; i < 100; i++) {
      receiver.push(Uint8Array.of(1));
      expect(clock.pendingTimers).toBe(1);
      await clock.advance(10);
    }
  });

  it('flush() decides now; reset() forgets without delivering; cancel() stops the watch', async () => {
    const { clock, got, receiver } = rig();
    receiver.push(Uint8Array.of(1));
    receiver.flush();
    expect(got).toEqual([{ at: 0, events: ['partial:1'], cause: 'flush' }]);
    receiver.push(Uint8Array.of(1, 2));
    receiver.reset();
    await clock.advance(1000);
    expect(got).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('with chunk timing, measures the silence from the chunk\'s last byte, not from its delivery', async () => {
    const { clock, got, receiver } = rig();
    await clock.advance(100);
    // Three bytes, 5 ms apart, the last one arrived at 90: handed over at 100 (a bus hand-over).
    receiver.push(Uint8Array.of(1, 2, 3), { firstByteAt: 80, characterTimeMs: 5 });
    await clock.advance(489);
    expect(got).toEqual([]);
    await clock.advance(1);
    expect(got).toEqual([{ at: 590, events: ['partial:3'], cause: 'silence' }]);
    // A frame-sized chunk whose last byte arrives now: the same as the byte-by-byte case.
    receiver.push(Uint8Array.of(4, 5), { firstByteAt: 585, characterTimeMs: 5 });
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(499);
    expect(got).toHaveLength(1);
    await clock.advance(1);
    expect(got[1]).toEqual({ at: 1090, events: ['partial:2'], cause: 'silence' });
  });

  it('rejects a silence that is not a positive number', () => {
    const clock = new VirtualClock();
    for (const silenceMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new FlushOnSilence({ scanner: new LineScanner(), clock, silenceMs, deliver: () => undefined })).toThrow(/silenceMs/);
    }
  });
});
