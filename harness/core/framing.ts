/**
 * Frame search shared by the protocols whose frames begin with a start byte, optionally after a
 * run of wake-up bytes (DL/T 645 and CJ/T 188: `FE.. 68`): where in a receive buffer the next
 * frame may begin. The protocol passes its own two bytes; nothing here knows a protocol.
 */

/**
 * Smallest index >= `from` where a frame may begin: a `start` byte, a run of `preamble` bytes
 * followed by `start`, or a run of `preamble` bytes reaching the end of the buffer (its start byte
 * may still come). `buf.length` when there is none.
 */
export function nextFrameCandidate(buf: Uint8Array, from: number, start: number, preamble: number): number {
  const n = buf.length;
  let i = from;
  while (i < n) {
    const b = buf[i];
    if (b === start) return i;
    if (b === preamble) {
      let j = i;
      while (j < n && buf[j] === preamble) j++;
      if (j === n || buf[j] === start) return i;
      i = j + 1;
      continue;
    }
    i++;
  }
  return n;
}

/** Index of the first `start` byte at or after `from` that follows only `preamble` bytes, or -1. */
export function startAfterPreamble(buf: Uint8Array, from: number, start: number, preamble: number): number {
  let i = from;
  while (i < buf.length && buf[i] === preamble) i++;
  return i < buf.length && buf[i] === start ? i : -1;
}
