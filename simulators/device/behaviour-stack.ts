/**
 * The behaviour stack every simulated device shares (STYLE.md, after zwave-js MockNode): field
 * defects stacked on a conformant server, generic over the protocol's request and reply types.
 *
 * The server consults the stack top first. `onRequest` returns 'continue' (not mine), or an
 * answer: `{ reply }` (these bytes, or null for silence), `{ delayMs }` (the conformant reply,
 * later), or both. The first behaviour that answers wins; if none does, the conformant handler
 * answers (`ctx.respond()`). Then every behaviour's `onReply` (top first) may rewrite the reply or
 * drop it (null). A behaviour that throws is logged and skipped: it never takes the server down.
 *
 * Nothing here allocates per request (fleets run this for every item read, issue 7): the stack is
 * the server's own array, and the answer's delay and after-reply work are written into the
 * request context the server already allocated (`StackOutcome`).
 */

/** What `onRequest` returns: 'continue' (not mine) or the answer. */
export type DeviceBehaviourAnswer<Reply = Uint8Array> =
  | 'continue'
  | {
      readonly reply?: Reply | null;
      readonly delayMs?: number;
      /** Work to do once the reply is on the wire (or at once when there is none): e.g. switch the UART after a reply. */
      readonly afterReply?: () => void;
    };

/**
 * A behaviour of a device whose requests are `Request`, whose behaviours see `Context`, whose
 * server is `Server` (onAttach/onDetach) and whose replies are `Reply` (wire bytes by default).
 */
export interface DeviceBehaviour<Context, Request, Server, Reply = Uint8Array> {
  readonly name: string;
  /** One line: what the device does differently. */
  readonly description: string;
  /** The field defect it reproduces (and the conformance rule it breaks). */
  readonly defect?: string;
  onRequest?(ctx: Context, request: Request): DeviceBehaviourAnswer<Reply>;
  onReply?(ctx: Context, reply: Reply): Reply | null;
  /** Called when pushed onto a server (to flip model fault switches). */
  onAttach?(server: Server): void;
  onDetach?(server: Server): void;
}

/** A behaviour entry of a profile: `{ name, ...params }`. */
export interface BehaviourConfig {
  readonly name: string;
  readonly [param: string]: unknown;
}

/**
 * The request context as the stack needs it: the conformant reply (computed once, on demand), and
 * two slots the stack fills with the winning answer's delay and after-reply work.
 */
export interface StackOutcome<Reply> {
  /** The conformant handling of the request: the reply, or null for silence. */
  respond(): Reply | null;
  /** Set by runBehaviourStack: the answering behaviour's delay (undefined: the device's own). */
  delayMs: number | undefined;
  /** Set by runBehaviourStack: work to do once the reply is written (or at once when there is none). */
  afterReply: (() => void) | null;
}

/**
 * Runs one request through `stack` (bottom first; consulted top first) and returns the reply to
 * send, or null for silence; `ctx.delayMs` and `ctx.afterReply` say when and what follows.
 */
export function runBehaviourStack<Context, Request, Reply>(
  stack: readonly DeviceBehaviour<Context, Request, unknown, Reply>[],
  ctx: Context & StackOutcome<Reply>,
  request: Request,
  log: (message: string) => void,
): Reply | null {
  ctx.delayMs = undefined;
  ctx.afterReply = null;
  let reply: Reply | null = null;
  let decided = false;
  for (let i = stack.length - 1; i >= 0 && !decided; i--) {
    const b = stack[i]!;
    if (!b.onRequest) continue;
    let r: DeviceBehaviourAnswer<Reply>;
    try {
      r = b.onRequest(ctx, request);
    } catch (e) {
      // A broken behaviour must not take the server down: log it and ask the next one.
      log(`behaviour ${b.name} failed: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (r === 'continue') continue;
    decided = true;
    reply = r.reply !== undefined ? r.reply : ctx.respond();
    ctx.delayMs = r.delayMs;
    if (r.afterReply) ctx.afterReply = r.afterReply;
    log(`behaviour ${b.name} answered the request`);
  }
  if (!decided) reply = ctx.respond();
  for (let i = stack.length - 1; i >= 0 && reply; i--) {
    const b = stack[i]!;
    if (!b.onReply) continue;
    try {
      reply = b.onReply(ctx, reply);
    } catch (e) {
      log(`behaviour ${b.name} failed on the reply: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return reply;
}

/** Index in `stack` of `behaviour` (the object, or the first with that name), -1 when absent. */
export function findBehaviour<B extends { readonly name: string }>(stack: readonly B[], behaviour: B | string): number {
  return stack.findIndex((b) => b === behaviour || b.name === behaviour);
}

/** Whether any behaviour of `stack` sees requests (then the server must not skip frames unseen). */
export function stackSeesRequests(stack: readonly { readonly onRequest?: unknown }[]): boolean {
  for (const b of stack) if (b.onRequest) return true;
  return false;
}
