/** Small helpers shared by the link implementations (not re-exported from index.ts). */
import type { LinkBase } from './link.ts';

/**
 * Emits 'error' only when someone listens: an EventEmitter throws on an unheard 'error', and a
 * link failure must never crash the process with a raw stack. A 'close' always follows anyway.
 */
export function emitErrorIfHeard(link: LinkBase, error: Error): void {
  if (link.listenerCount('error') > 0) link.emit('error', error);
}

/** A private copy as a plain Uint8Array (not a Buffer view into a shared pool). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** The most useful one-line reason of an unknown thrown value. */
export function reasonOf(e: unknown): string {
  if (e && typeof e === 'object') {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return String(e);
}
