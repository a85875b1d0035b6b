/**
 * CRC-16/MODBUS (poly 8005H reflected = A001H, init FFFFH, refin/refout, no final XOR; check value of
 * ASCII "123456789" = 4B37H): the MLGW frame check (docs/protocols/meterlab-gas-wireless.md 2).
 * Table driven; pure.
 */
const TABLE: Uint16Array = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC of bytes[start, end). */
export function crc16Modbus(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
}
