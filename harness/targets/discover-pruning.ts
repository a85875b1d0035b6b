/**
 * Which identifiers a discovery scan may leave unread because the meter already refused a
 * related one. DL/T 645-2007 appendix A numbers history and tariffs in the identifier itself
 * (PROTOCOLS.md 1.9; DI = DI3 DI2 DI1 DI0):
 *
 * - energy (DI3 00) and maximum demand (01): DI1 is the tariff (00 total, 01..3F tariff n), DI0
 *   the settlement (00 current, 01..0C the n-th past settlement);
 * - event records (03), freezes (05) and load records (06): DI0 01.. is the n-th most recent
 *   record of the item DI3 DI2 DI1;
 * - lists and tables (04010000.. time-zone and day tables, 0403 holidays, 0404 display lists,
 *   0405 prices; 020A/020B harmonics of a phase): DI0 01.. is the n-th element.
 *
 * A meter that answers "no requested data" (error bit 1) for the n-th element keeps fewer than n,
 * so the elements after it in the same item are not read (rule "history"); a meter that refuses
 * the current value of tariff n has fewer than n tariffs, so tariffs above n are not read either
 * (rule "tariffs"); an event or freeze kind (DI3 DI2) whose first identifier read is refused is
 * not kept at all (rule "family"). These are inferences, not facts of the standard: discovery
 * says how many identifiers it left unread and why, and `exhaustive` reads everything. Without
 * them a scan of the 6,600-identifier dictionary costs about 30 minutes at 2400 baud; most of it
 * is history and event families a meter does not keep.
 *
 * Only "no requested data" prunes: silence and other errors say nothing about the neighbours.
 * Blocks (an FF byte in the identifier) are always read: there are few, and a meter may serve a
 * block whose members it does not serve one by one.
 */

/** DI3 values whose DI0 numbers the history of one item. */
const HISTORY_FAMILIES = new Set(['00', '01', '03', '05', '06']);
/** DI3 DI2 values whose DI0 numbers the elements of a list (dictionary.ts, appendix A.3 and A.5). */
const LIST_FAMILIES = new Set(['0401', '0402', '0403', '0404', '0405', '020A', '020B']);
const indexed = (d3: string, d2: string): boolean => HISTORY_FAMILIES.has(d3) || LIST_FAMILIES.has(d3 + d2);
const hasTariffs = (d3: string, d2: string): boolean => TARIFF_FAMILIES.has(d3) && parseInt(d2, 16) <= LAST_TARIFF_KIND;
/** An identifier with an FF byte: a block of several items or records. */
const isBlock = (di: string): boolean => /^(?:..)*FF/.test(di);
/** DI3 values whose DI1 is the tariff number (00 = total)... */
const TARIFF_FAMILIES = new Set(['00', '01']);
/**
 * ...for the kinds DI2 00..0A (combined, positive and reverse active, combined reactive 1/2, the
 * four quadrants, apparent: appendix A.1/A.2). Not per-phase kinds, nor 80H.. (0090xxxx is prepaid
 * money, its DI1 no tariff).
 */
const LAST_TARIFF_KIND = 0x0a;
/** DI3 values whose DI2 is a kind of event or freeze kept (or not) as a whole. */
const KIND_FAMILIES = new Set(['03', '05']);
/** Highest DI0 that counts as a history index (FF is the block of the whole item). */
const LAST_HISTORY_INDEX = 0xfe;
/** Highest DI1 that is a tariff number (DL/T 645-2007 allows up to 63 tariffs, PROTOCOLS.md 1.9). */
const LAST_TARIFF = 0x3f;

/** 'history' covers list elements too: both are 'the n-th' of an item. */
export type PruneRule = 'history' | 'tariffs' | 'family';

export class DiscoveryPruner {
  /** Item (DI3 DI2 DI1) → lowest history index refused. */
  private readonly historyLimit = new Map<string, number>();
  /** DI3 DI2 → lowest tariff whose current value was refused. */
  private readonly tariffLimit = new Map<string, number>();
  /** DI3 DI2 kinds refused as a whole. */
  private readonly refusedKinds = new Set<string>();
  /** DI3 DI2 kinds of which something was read or probed already. */
  private readonly seenKinds = new Set<string>();
  private readonly skipped = new Map<PruneRule, number>();

  /** Why `di` need not be read, or undefined when it must be. */
  skip(di: string): PruneRule | undefined {
    const d = di.toUpperCase();
    const [d3, d2, d1, d0] = [d.slice(0, 2), d.slice(2, 4), d.slice(4, 6), parseInt(d.slice(6, 8), 16)];
    if (isBlock(d)) return undefined;
    let rule: PruneRule | undefined;
    if (KIND_FAMILIES.has(d3) && this.refusedKinds.has(d3 + d2)) rule = 'family';
    else if (indexed(d3, d2) && d0 <= LAST_HISTORY_INDEX && d0 > (this.historyLimit.get(d3 + d2 + d1) ?? LAST_HISTORY_INDEX)) rule = 'history';
    else if (hasTariffs(d3, d2)) {
      const tariff = parseInt(d1, 16);
      if (tariff <= LAST_TARIFF && tariff > (this.tariffLimit.get(d3 + d2) ?? LAST_TARIFF)) rule = 'tariffs';
    }
    if (rule) this.skipped.set(rule, (this.skipped.get(rule) ?? 0) + 1);
    return rule;
  }

  /** What the meter answered for `di`: only a refusal ("no requested data") prunes. */
  record(di: string, refused: boolean): void {
    const d = di.toUpperCase();
    const [d3, d2, d1, d0] = [d.slice(0, 2), d.slice(2, 4), d.slice(4, 6), parseInt(d.slice(6, 8), 16)];
    const kind = d3 + d2;
    const firstOfKind = !this.seenKinds.has(kind);
    this.seenKinds.add(kind);
    if (!refused) return;
    if (KIND_FAMILIES.has(d3) && firstOfKind) this.refusedKinds.add(kind);
    if (indexed(d3, d2) && d0 <= LAST_HISTORY_INDEX) {
      const item = d3 + d2 + d1;
      this.historyLimit.set(item, Math.min(d0, this.historyLimit.get(item) ?? LAST_HISTORY_INDEX));
    }
    if (hasTariffs(d3, d2) && d0 === 0) {
      const tariff = parseInt(d1, 16);
      if (tariff >= 1 && tariff <= LAST_TARIFF) this.tariffLimit.set(kind, Math.min(tariff, this.tariffLimit.get(kind) ?? LAST_TARIFF));
    }
  }

  /** Identifiers left unread so far, by rule. */
  get counts(): ReadonlyMap<PruneRule, number> {
    return this.skipped;
  }

  get total(): number {
    let n = 0;
    for (const v of this.skipped.values()) n += v;
    return n;
  }
}
