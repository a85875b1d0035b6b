import { describe, expect, it } from 'vitest';
import { MeterDeclarationSchema } from './declaration.ts';
import { lookup, UNDEFINED_IDENTIFIER } from './dictionary.ts';

describe('MeterDeclarationSchema', () => {
  it('fills the defaults a vendor may leave out: 2400 8E1, capabilities, freeze identifiers', () => {
    const d = MeterDeclarationSchema.parse({ address: '123456789012', identifiers: ['0001ff00'] });
    expect(d).toMatchObject({
      protocol: 'dlt645-2007',
      line: { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 },
      identifiers: ['0001FF00'], // upper-cased
      followUpIdentifiers: [],
      unsupportedIdentifier: '0F0F0F0F', // not defined by the standard (issue 6: 03010000 is)
      capabilities: { readAddressWithWildcard: true, followUp: true, remoteControl: false },
      freezeIdentifiers: { time: '05010001', energy: '05010101' },
      operatorCode: '00000000',
    });
  });

  it('defaults the unsupported identifier to one the dictionary does not know', () => {
    const d = MeterDeclarationSchema.parse({ address: '123456789012', identifiers: ['00010000'] });
    expect(d.unsupportedIdentifier).toBe(UNDEFINED_IDENTIFIER);
    expect(lookup(d.unsupportedIdentifier)).toBeUndefined();
  });

  it('keeps what is given and fills the rest of a partial object', () => {
    const d = MeterDeclarationSchema.parse({
      address: '123456789012',
      identifiers: ['00010000'],
      line: { baudRate: 9600 },
      capabilities: { freeze: false },
    });
    expect(d.line).toEqual({ baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 });
    expect(d.capabilities).toMatchObject({ freeze: false, followUp: true });
  });

  it('programming fields: nothing destructive by default, password levels 04/02, no 17H rates', () => {
    const d = MeterDeclarationSchema.parse({ address: '123456789012', identifiers: ['00010000'] });
    expect(d.capabilities).toMatchObject({ writeAddress: false, changePassword: false, clearMaxDemand: false, meterClear: false, eventClear: false });
    expect(d.passwordLevels).toEqual({ writeData: '04', clear: '02', remoteControl: '02' });
    expect(d.baudRates).toEqual([]);
    expect(MeterDeclarationSchema.parse({ address: '123456789012', identifiers: ['00010000'], baudRates: [1200, 9600] }).baudRates).toEqual([1200, 9600]);
  });

  it('switching fields (issue 8): off by default, an internal relay needs the button, an external one does not', () => {
    const d = MeterDeclarationSchema.parse({ address: '123456789012', identifiers: ['00010000'] });
    expect(d.capabilities).toMatchObject({ remoteControl: false, keepPower: false, localCostControl: false });
    expect(d.relay).toEqual({ type: 'internal', tripDelayMs: 0, preTripAlarm: false, closeNeedsButton: true, keepsStateAcrossPowerCycle: true });
    expect(d.remoteControl).toEqual({
      commands: ['1A', '1B', '1C', '2A', '2B', '3A', '3B'],
      acceptsZeroValidUntil: true,
      passwordBeforeValidUntil: true,
      errors: { expired: '01', keepPowerTrip: '01', unsupportedCommand: '01' },
    });
    const ext = MeterDeclarationSchema.parse({ address: '123456789012', identifiers: ['00010000'], relay: { type: 'external', tripDelayMs: [60_000, 120_000] } });
    expect(ext.relay).toMatchObject({ type: 'external', closeNeedsButton: false, tripDelayMs: [60_000, 120_000] });
    const errs = MeterDeclarationSchema.parse({ address: '123456789012', identifiers: ['00010000'], remoteControl: { errors: { expired: 'c1' } } });
    expect(errs.remoteControl.errors.expired).toBe('C1');
  });

  it.each([
    [{ address: '123456789012', identifiers: ['00010000'], capabilities: { keepPower: true } }, /needs capabilities.remoteControl/],
    [
      { address: '123456789012', identifiers: ['00010000'], capabilities: { remoteControl: true, keepPower: true }, remoteControl: { commands: ['1A', '1B', '3A'] } },
      /needs 1CH 3B in remoteControl.commands/,
    ],
    [{ address: '123456789012', identifiers: ['00010000'], remoteControl: { commands: ['1D'] } }, /commands/],
    [{ address: '123456789012', identifiers: ['00010000'], remoteControl: { errors: { expired: '00' } } }, /names at least one bit/],
    [{ address: '123456789012', identifiers: ['00010000'], relay: { tripDelayMs: [5, 1] } }, /min ≤ max/],
    [{ address: '123456789012', identifiers: ['00010000'], relay: { type: 'breaker' } }, /type/],
    [{ address: '123456789012', identifiers: ['00010000'], baudRates: [4000] }, /a 17H baud rate is one of 600, 1200, 2400, 4800, 9600, 19200/],
    [{ address: '123456789012', identifiers: ['00010000'], passwordLevels: { writeData: '4' } }, /a password level is two digits/],
    [{ address: '12345678901', identifiers: ['00010000'] }, /address must be 12 decimal digits/],
    [{ address: '123456789012', identifiers: [] }, /declare at least one readable identifier/],
    [{ address: '123456789012', identifiers: ['0001'] }, /8 hex digits/],
    [{ address: '123456789012', identifiers: ['00010000'], followUpIdentifiers: ['0506FF01'] }, /0506FF01 is declared for follow-up but not in identifiers/],
    [{ address: '123456789012', identifiers: ['00010000', '0F0F0F0F'] }, /0F0F0F0F is also declared as supported/],
    [{ address: '123456789012', identifiers: ['00010000', '03010000'], unsupportedIdentifier: '03010000' }, /03010000 is also declared as supported/],
    [{ address: '123456789012', identifiers: ['00010000'], colour: 'red' }, /colour/],
  ])('rejects %j', (input, message) => {
    const r = MeterDeclarationSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(message);
  });
});
