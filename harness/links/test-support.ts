/** Helpers for the links layer's own tests. */
import type { Link } from './link.ts';

/** Resolves with the first `n` bytes (or more, up to the chunk that completed them) received on `link`. */
export function collectBytes(link: Link, n: number): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const parts: number[] = [];
    const on = (c: Uint8Array): void => {
      parts.push(...c);
      if (parts.length >= n) {
        link.off('data', on);
        resolve(Uint8Array.from(parts));
      }
    };
    link.on('data', on);
  });
}
