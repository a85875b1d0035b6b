import { describe, expect, it } from 'vitest';
import { DiscoveryPruner } from './discover-pruning.ts';

describe('DiscoveryPruner', () => {
  it('history: after the n-th settlement of an item is refused, the later ones of that item are not read', () => {
    const p = new DiscoveryPruner();
    p.record('00010000', false); // positive active total, current
    p.record('00010001', false);
    p.record('00010002', true); // the meter keeps one past settlement
    expect(p.skip('00010003')).toBe('history');
    expect(p.skip('0001000C')).toBe('history');
    expect(p.skip('000100FF')).toBeUndefined(); // the block is its own identifier
    expect(p.skip('00010100')).toBeUndefined(); // another item (tariff 1)
  });

  it('tariffs: a refused current value of tariff n prunes tariffs above n of the same kind only', () => {
    const p = new DiscoveryPruner();
    p.record('00010400', false);
    p.record('00010500', true); // a 4-tariff meter
    expect(p.skip('00010600')).toBe('tariffs');
    expect(p.skip('00013F00')).toBe('tariffs');
    expect(p.skip('00010400')).toBeUndefined();
    expect(p.skip('00020600')).toBeUndefined(); // another kind of energy
    expect(p.skip('00010000')).toBeUndefined(); // the total
  });

  it('family: an event or freeze kind whose first identifier is refused is not read at all; a later refusal does not prune the kind', () => {
    const p = new DiscoveryPruner();
    p.record('03010000', true); // loss-of-voltage counts: first of kind 0301
    expect(p.skip('03010101')).toBe('family');
    expect(p.skip('03020000')).toBeUndefined();
    p.record('03300000', false);
    p.record('03300100', true); // refused, but not the first of kind 0330
    expect(p.skip('03300200')).toBeUndefined();
    expect(p.skip('03300101')).toBe('history');
  });

  it('lists: the n-th element of a table, holiday or display list prunes the later ones; parameters are never pruned', () => {
    const p = new DiscoveryPruner();
    p.record('04040103', true);
    expect(p.skip('04040104')).toBe('history');
    expect(p.skip('04040201')).toBeUndefined();
    p.record('04000105', true); // a parameter, not a list: its neighbours say nothing
    expect(p.skip('04000106')).toBeUndefined();
  });

  it('blocks are always read, and only the tariff kinds of appendix A.1/A.2 prune by tariff', () => {
    const p = new DiscoveryPruner();
    p.record('05060001', true); // the first of the daily-freeze kind, refused
    expect(p.skip('05060101')).toBe('family');
    expect(p.skip('0506FF01')).toBeUndefined(); // a block: a meter may serve it alone
    p.record('00900100', true); // prepaid money: DI1 is no tariff
    expect(p.skip('00900200')).toBeUndefined();
    p.record('00150100', true); // per-phase energy: no tariffs pruned either
    expect(p.skip('00150200')).toBeUndefined();
  });

  it('only "no requested data" prunes, and counts what it left unread', () => {
    const p = new DiscoveryPruner();
    p.record('00010001', false);
    expect(p.skip('00010002')).toBeUndefined();
    p.record('00010002', true);
    p.skip('00010003');
    p.skip('00010004');
    expect(p.total).toBe(2);
    expect([...p.counts]).toEqual([['history', 2]]);
  });
});
