import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ProfileError } from '../../harness/core/errors.ts';
import { parseDeviceProfile, readDeviceProfileFile, runBehaviourStack, type DeviceBehaviour, type StackOutcome } from './index.ts';

/** A toy protocol: requests and replies are strings; the conformant answer is the request upper-cased. */
class Ctx implements StackOutcome<string> {
  delayMs: number | undefined = undefined;
  afterReply: (() => void) | null = null;
  handled = 0;
  constructor(readonly request: string) {}
  respond(): string | null {
    this.handled++;
    return this.request.toUpperCase();
  }
}
type Toy = DeviceBehaviour<Ctx, string, unknown, string>;

function run(stack: Toy[], request: string) {
  const ctx = new Ctx(request);
  const log: string[] = [];
  const reply = runBehaviourStack(stack, ctx, request, (m) => log.push(m));
  return { reply, ctx, log };
}

describe('behaviour stack (simulators/device)', () => {
  it('answers conformantly with an empty stack', () => {
    const { reply, ctx } = run([], 'read');
    expect(reply).toBe('READ');
    expect(ctx.delayMs).toBeUndefined();
  });

  it('consults the top first; the first answer wins; every onReply rewrites, top first', () => {
    const order: string[] = [];
    const bottom: Toy = { name: 'bottom', description: '', onRequest: () => (order.push('bottom'), { reply: 'bottom' }), onReply: (_c, r) => (order.push('bottom.reply'), `${r}+b`) };
    const top: Toy = { name: 'top', description: '', onRequest: () => (order.push('top'), { delayMs: 700 }), onReply: (_c, r) => (order.push('top.reply'), `${r}+t`) };
    const { reply, ctx, log } = run([bottom, top], 'x');
    expect(order).toEqual(['top', 'top.reply', 'bottom.reply']);
    expect(reply).toBe('X+t+b');
    expect(ctx.delayMs).toBe(700);
    expect(log).toEqual(['behaviour top answered the request']);
  });

  it('a null reply is silence and stops the onReply chain; afterReply is handed over', () => {
    const after = (): void => undefined;
    const mute: Toy = { name: 'mute', description: '', onRequest: () => ({ reply: null, afterReply: after }) };
    const never: Toy = { name: 'never', description: '', onReply: () => 'should not run' };
    const { reply, ctx } = run([never, mute], 'x');
    expect(reply).toBeNull();
    expect(ctx.afterReply).toBe(after);
    expect(ctx.handled).toBe(0);
  });

  it('a behaviour that throws is logged and skipped, never fatal', () => {
    const broken: Toy = { name: 'broken', description: '', onRequest: () => { throw new Error('boom'); }, onReply: () => { throw new Error('bang'); } };
    const { reply, log } = run([broken], 'ok');
    expect(reply).toBe('OK');
    expect(log).toEqual(['behaviour broken failed: boom', 'behaviour broken failed on the reply: bang']);
  });
});

describe('profile loading (simulators/device)', () => {
  const Schema = z.object({ address: z.string().regex(/^[0-9]{14}$/, 'must be 14 digits'), valve: z.object({ motorMs: z.number().int().min(0) }).strict() }).strict();

  it('returns the validated profile', () => {
    expect(parseDeviceProfile(Schema, { address: '12345678901234', valve: { motorMs: 3000 } }, 'water meter profile')).toEqual({ address: '12345678901234', valve: { motorMs: 3000 } });
  });

  it('throws one ProfileError line naming the source and every bad field', () => {
    expect(() => parseDeviceProfile(Schema, { address: '12', valve: { motorMs: -1 } }, 'water meter profile')).toThrow(
      new ProfileError('water meter profile: address: must be 14 digits; valve.motorMs: Too small: expected number to be >=0'),
    );
  });

  it('reads a JSON file; a syntax error names line and column, a missing file says so', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'meterlab-device-'));
    const good = path.join(dir, 'good.json');
    writeFileSync(good, '\uFEFF{ "address": "12345678901234", "valve": { "motorMs": 1 } }');
    expect(readDeviceProfileFile(Schema, good).valve.motorMs).toBe(1);
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{\n  "address": "12345678901234",\n  "valve": }');
    expect(() => readDeviceProfileFile(Schema, bad)).toThrow(/^simulator profile .*bad\.json: invalid JSON at line 3, column 12: /);
    expect(() => readDeviceProfileFile(Schema, path.join(dir, 'none.json'), 'water meter profile')).toThrow(/^water meter profile .*none\.json: no such file$/);
  });
});
