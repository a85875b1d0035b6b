/**
 * Identifier lists a collection reads from every meter (issue 7: "4 items each and a 50-item
 * day"). Every identifier is one the reference profile declares (fleet.test.ts checks it), each
 * read with one 11H exchange (none needs follow-up frames in the reference meter).
 */

/** The daily minimum of a collection: total energies both ways, and the meter's date and time. */
export const FOUR_ITEMS: readonly string[] = [
  '00010000', // forward active total energy
  '00020000', // reverse active total energy
  '04000101', // date and weekday
  '04000102', // time
];

/** A day of collection from one meter: energies by tariff, instantaneous values, clock, prepaid state, daily freeze. */
export const FIFTY_ITEM_DAY: readonly string[] = [
  // forward / reverse active energy, total and T1..T4 (DI2 01/02, DI1 00..04)
  '00010000', '00010100', '00010200', '00010300', '00010400',
  '00020000', '00020100', '00020200', '00020300', '00020400',
  // combined reactive 1 and 2, total
  '00030000', '00040000',
  // quadrant I..IV reactive, total
  '00050000', '00060000', '00070000', '00080000',
  // voltages, currents (phases A..C)
  '02010100', '02010200', '02010300',
  '02020100', '02020200', '02020300',
  // active power total and A..C, reactive power total and A..C
  '02030000', '02030100', '02030200', '02030300',
  '02040000', '02040100', '02040200', '02040300',
  // power factor total and A..C
  '02060000', '02060100', '02060200', '02060300',
  // grid frequency
  '02800002',
  // date and time
  '04000101', '04000102',
  // status words 1..3
  '04000501', '04000502', '04000503',
  // prepaid: remaining energy and amount
  '00900100', '00900200',
  // last daily freeze: freeze time, frozen forward and reverse active energy
  '05060001', '05060101', '05060201',
  // settlement day, last month's forward and reverse active total
  '04000B01', '00010001', '00020001',
  // first daily freeze before that, time
  '05060002',
  // meter running status word 7
  '04000507',
];

/** Named lists the bench and the CLI accept. */
export const ITEM_LISTS: Readonly<Record<string, readonly string[]>> = {
  '4': FOUR_ITEMS,
  '50': FIFTY_ITEM_DAY,
};
