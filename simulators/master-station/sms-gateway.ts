/**
 * SMS out of the master station (FEE-13: a message when the balance reaches the customer's
 * warning amount). The station writes each message to its durable outbox and calls
 * `SmsGateway.send` after commit; a send that throws stays in the outbox and is retried by the
 * station on its Clock. So this file never retries and never starts a timer: a caller that wants
 * a deadline passes an AbortSignal it controls.
 *
 * - `HttpSmsGateway`: POSTs JSON `{ to, text, reference }` to a configurable URL (global fetch).
 * - `startSmsFake`: a real local HTTP server that accepts those POSTs and lists them, for when
 *   the system under test is another process (inside one process, tests use msw instead).
 */
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MeterLabError } from '../../harness/core/errors.ts';

export interface SmsMessage {
  /** The customer's phone number. */
  readonly to: string;
  readonly text: string;
  readonly accountId: string;
  /**
   * What the gateway is told identifies this message (its outbox id, say), so that a gateway
   * can drop a resend. Default: the account id.
   */
  readonly reference?: string;
}

export interface SmsSendOptions {
  /** Aborts the request (the caller owns the timer, on its Clock). */
  readonly signal?: AbortSignal;
}

export interface SmsGateway {
  send(message: SmsMessage, options?: SmsSendOptions): Promise<void>;
}

/** What the gateway receives: the body of each POST. */
export interface SmsGatewayRequest {
  readonly to: string;
  readonly text: string;
  readonly reference: string;
}

export type SmsFailure = 'http-status' | 'network' | 'aborted';

/** A message the gateway did not accept. It stays in the station's outbox. */
export class SmsSendError extends MeterLabError {
  constructor(
    readonly failure: SmsFailure,
    message: string,
    /** The HTTP status, for 'http-status'. */
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super('sms-send', message, options);
  }

  /**
   * False when a resend cannot succeed without a change (a 4xx other than 408 and 429: a bad
   * number, a bad token); the station may then park the message instead of retrying it.
   */
  get retryable(): boolean {
    return this.failure !== 'http-status' || this.status === null || this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

export interface HttpSmsGatewayOptions {
  /** Where to POST, e.g. the `url` of startSmsFake or a vendor gateway's endpoint. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` when given. */
  readonly token?: string;
  /** Default: the global fetch (msw intercepts it in tests). */
  readonly fetch?: typeof fetch;
}

export class HttpSmsGateway implements SmsGateway {
  private readonly url: string;
  private readonly token: string | undefined;
  private readonly fetchFn: typeof fetch;

  constructor(options: HttpSmsGatewayOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new TypeError(`HttpSmsGateway: url ${JSON.stringify(options.url)} is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`HttpSmsGateway: url must be http: or https:, got ${parsed.protocol}`);
    }
    this.url = parsed.href;
    this.token = options.token;
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  async send(message: SmsMessage, options: SmsSendOptions = {}): Promise<void> {
    const body: SmsGatewayRequest = { to: message.to, text: message.text, reference: message.reference ?? message.accountId };
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await this.fetchFn(this.url, { method: 'POST', headers, body: JSON.stringify(body), signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) {
        throw new SmsSendError('aborted', `SMS to ${message.to} (${body.reference}) aborted before the gateway answered`, null, { cause: error });
      }
      const why = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new SmsSendError('network', `SMS to ${message.to} (${body.reference}): the gateway at ${this.url} could not be reached: ${why}`, null, { cause: error });
    }
    // Read the body either way so the connection is released; its text goes into the error.
    let text = '';
    try {
      text = await response.text();
    } catch {
      // a body that breaks off does not change the outcome the status gives
    }
    if (!response.ok) {
      const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
      throw new SmsSendError(
        'http-status',
        `SMS to ${message.to} (${body.reference}): the gateway answered HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`,
        response.status,
      );
    }
  }
}

// ---- the local fake gateway -----------------------------------------------------------------

/** A message the fake received, numbered from 1 in arrival order. */
export interface ReceivedSms extends SmsGatewayRequest {
  readonly seq: number;
}

export interface SmsFake {
  /** The URL to POST messages to (give it to HttpSmsGateway); GET `${base}/messages` lists them. */
  readonly url: string;
  /** Base URL, e.g. http://127.0.0.1:40123. */
  readonly baseUrl: string;
  messages(): ReceivedSms[];
  /** Forgets the messages received so far. */
  clear(): void;
  /** Answer every POST with this status (and store nothing) until called with null. */
  failWith(status: number | null): void;
  close(): Promise<void>;
}

export interface SmsFakeOptions {
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** When given, a POST without `Authorization: Bearer <token>` is 401 and not stored. */
  readonly token?: string;
  /** Called with each message stored, as it arrives (a run stamps it with its clock). */
  readonly onMessage?: (message: ReceivedSms) => void;
}

const SmsGatewayRequestSchema = z.strictObject({
  to: z.string().min(1),
  text: z.string().min(1),
  reference: z.string().min(1),
});

/** Largest POST the fake takes: 64 KiB, far above an SMS (70 Chinese characters a segment). */
const SMS_FAKE_BODY_LIMIT = 64 * 1024;

/** A real HTTP SMS gateway on loopback: POST /sms stores, GET /messages lists. */
export async function startSmsFake(options: SmsFakeOptions = {}): Promise<SmsFake> {
  const host = options.host ?? '127.0.0.1';
  const received: ReceivedSms[] = [];
  let seq = 0;
  let failure: number | null = null;
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: SMS_FAKE_BODY_LIMIT });

  app.post('/sms', async (request, reply) => {
    if (options.token !== undefined && request.headers.authorization !== `Bearer ${options.token}`) {
      return reply.code(401).send({ error: 'unauthorized', message: 'The Authorization header must be "Bearer <token>" with the fake\'s token.' });
    }
    if (failure !== null) return reply.code(failure).send({ error: 'failing', message: `The fake gateway was told to answer ${failure}.` });
    const parsed = SmsGatewayRequestSchema.safeParse(request.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return reply.code(400).send({ error: 'bad-request', message: `Field ${issue.path.join('.') || '(body)'}: ${issue.message}.` });
    }
    const message: ReceivedSms = { seq: ++seq, ...parsed.data };
    received.push(message);
    options.onMessage?.({ ...message });
    return reply.code(202).send({ accepted: true, seq: message.seq });
  });
  app.get('/messages', async () => ({ messages: received }));
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not-found', message: `There is no route ${request.method} ${request.url.split('?', 1)[0]}.` });
  });

  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error('the SMS fake is not listening on a TCP port');
  }
  const baseUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    url: `${baseUrl}/sms`,
    baseUrl,
    messages: () => received.map((m) => ({ ...m })),
    clear: () => {
      received.length = 0;
    },
    failWith: (status) => {
      if (status !== null && (!Number.isInteger(status) || status < 400 || status > 599)) {
        throw new RangeError(`failWith: ${status} is not an HTTP error status (400-599)`);
      }
      failure = status;
    },
    close: () => app.close(),
  };
}
