/** Dialects as named options: presets, overrides, the profile (JSON) form. */
import { describe, expect, it } from 'vitest';
import { FunctionCode } from './constants.ts';
import { cjt188DialectSchema, DIALECTS, resolveDialect, STANDARD_DIALECT } from './dialect.ts';

describe('Cjt188Dialect', () => {
  it('the standard is the default; presets change only what their devices do differently', () => {
    expect(resolveDialect()).toEqual(STANDARD_DIALECT);
    expect(STANDARD_DIALECT).toMatchObject({ diOrder: 'standard', valveFunction: FunctionCode.WriteData, statusLayout: 'standard', addressBytes: 'bcd', maxDataLength: 255 });
    expect(DIALECTS.foxEdge).toEqual({ ...STANDARD_DIALECT, name: 'foxEdge', diOrder: 'reversed', valveFunction: FunctionCode.VendorValveControl });
    expect(resolveDialect({ preset: 'kingda', maxDataLength: 64 })).toMatchObject({ name: 'kingda', statusLayout: 'kingda', maxDataLength: 64 });
    expect(() => resolveDialect({ maxDataLength: 2 })).toThrow(/3\.\.255/);
    expect(() => resolveDialect({ preset: 'nope' as 'standard' })).toThrow(/unknown CJ\/T 188 dialect/);
  });

  it('parses the profile form: preset, fields, valve code as hex, and refuses unknown keys', () => {
    expect(cjt188DialectSchema.parse({})).toEqual(STANDARD_DIALECT);
    expect(cjt188DialectSchema.parse({ preset: 'foxEdge' })).toEqual(DIALECTS.foxEdge);
    expect(cjt188DialectSchema.parse({ preset: 'foxEdge', statusLayout: 'masks' })).toMatchObject({ name: 'foxEdge+custom', diOrder: 'reversed', statusLayout: 'masks' });
    expect(cjt188DialectSchema.parse({ valveFunction: '2A', name: 'vendor X' })).toMatchObject({ name: 'vendor X', valveFunction: 0x2a });
    expect(cjt188DialectSchema.safeParse({ statusLayout: 'bits' }).success).toBe(false);
    expect(cjt188DialectSchema.safeParse({ diorder: 'reversed' }).success).toBe(false);
    expect(cjt188DialectSchema.safeParse({ maxDataLength: 300 }).success).toBe(false);
  });
});
