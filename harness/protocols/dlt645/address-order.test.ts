import { describe, expect, it } from 'vitest';
import { byteOrderHint, isNameplateOrderOf, nameplateOrderAddress } from './address-order.ts';
import { addressToWire } from './frame.ts';

describe('address byte order (PROTOCOLS.md 1.2: low byte first)', () => {
  it('nameplate order is the byte pairs reversed, and reversing twice gives the address back', () => {
    // 123456789012 sent as printed, 12 34 56 78 90 12, reads back (low byte first) as 129078563412.
    expect(nameplateOrderAddress('123456789012')).toBe('129078563412');
    expect([...addressToWire('129078563412')]).toEqual([0x12, 0x34, 0x56, 0x78, 0x90, 0x12]);
    expect(nameplateOrderAddress(nameplateOrderAddress('000000000001'))).toBe('000000000001');
  });

  it('names the byte order only when the seen address is the declared one reversed and differs from it', () => {
    expect(isNameplateOrderOf('129078563412', '123456789012')).toBe(true);
    expect(isNameplateOrderOf('123456789012', '123456789012')).toBe(false);
    expect(isNameplateOrderOf('123456789013', '123456789012')).toBe(false);
    expect(isNameplateOrderOf('121212121212', '121212121212')).toBe(false); // a palindrome cannot show it
    expect(isNameplateOrderOf('AAAAAAAAAAAA', '123456789012')).toBe(false);
    expect(byteOrderHint('123456789013', '123456789012')).toBe('');
    expect(byteOrderHint('129078563412', '123456789012')).toBe(
      'the meter answers with its address in nameplate byte order: it sends 12 34 56 78 90 12 (read as 129078563412), ' +
        'the declared 123456789012 as printed, where DL/T 645 sends the low byte first (12 90 78 56 34 12)',
    );
  });
});
