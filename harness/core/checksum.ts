/**
 * Arithmetic checksum used by DL/T 645 (CS = sum of every byte from the first 68H through the last
 * data byte, modulo 256; PROTOCOLS.md 1.2), CJ/T 188 and Q/GDW 1376.1/1376.2 (sum of user data).
 */
export function sum8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s = (s + bytes[i]!) & 0xff;
  return s;
}
