/**
 * Address byte order. DL/T 645 sends the 12-digit address low byte first (PROTOCOLS.md 1.2:
 * `123456789012` → `12 90 78 56 34 12`). A meter that keeps its address in nameplate order and
 * sends those bytes as printed (`12 34 56 78 90 12`) reads, decoded by the standard, as the
 * address with its byte pairs reversed: `129078563412`. Seen in the field (issue 6); a user who
 * declares the address as printed then gets silence or foreign-address replies and needs to be
 * told why.
 */
import { addressToWire, wireToAddress } from './frame.ts';

/**
 * The address as decoded from the wire when a meter sends `address` in nameplate order (most
 * significant byte first): its six byte pairs in reverse order. An involution: applying it twice
 * gives `address` back. Throws EncodeError for a malformed address (as addressToWire).
 */
export function nameplateOrderAddress(address: string): string {
  return wireToAddress(addressToWire(address).reverse())!;
}

/**
 * True when `seen` (an address taken off the wire) is `declared` sent in nameplate byte order,
 * and the two differ (a palindromic address cannot show the mistake).
 */
export function isNameplateOrderOf(seen: string, declared: string): boolean {
  const s = seen.toUpperCase();
  if (!/^[0-9A-F]{12}$/.test(s) || !/^\d{12}$/.test(declared)) return false;
  return s !== declared && s === nameplateOrderAddress(declared);
}

/**
 * One sentence for a reason or a pre-flight line, or '' when `seen` is not the declared address
 * in nameplate order.
 */
export function byteOrderHint(seen: string, declared: string): string {
  if (!isNameplateOrderOf(seen, declared)) return '';
  return (
    `the meter answers with its address in nameplate byte order: it sends ${toWireText(seen)} (read as ${seen}), ` +
    `the declared ${declared} as printed, where DL/T 645 sends the low byte first (${toWireText(declared)})`
  );
}

function toWireText(address: string): string {
  return [...addressToWire(address)].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}
