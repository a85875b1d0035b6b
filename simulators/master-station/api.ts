/**
 * The reference master station's HTTP API (issue 9): fastify over the StationService contract
 * (types.ts), nothing else. Requests are validated with the zod schemas of api-schemas.ts before
 * the service is called, so a bad request changes nothing; the same schemas, turned into JSON
 * Schema with `z.toJSONSchema`, describe every route in the OpenAPI 3 document (@fastify/swagger)
 * served at GET /openapi.json. Routes, auth and errors: README.md "HTTP API".
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance, FastifyLoggerOptions, FastifyReply, FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { z } from 'zod';
import * as S from './api-schemas.ts';
import { StationRequestError } from './types.ts';
import type { StationService } from './types.ts';

/** Largest request body: 1 MiB. A batch of 10,000 ids of 32 characters is about 0.36 MB. */
export const BODY_LIMIT_BYTES = 1024 * 1024;
/** A token shorter than this is refused for a non-loopback host (guessable over a network). */
export const MIN_REMOTE_TOKEN_LENGTH = 16;
export const API_PREFIX = '/api/v1';

export interface StationApiOptions {
  readonly service: StationService;
  /** Every /api route wants `Authorization: Bearer <token>`. Must not be empty. */
  readonly token: string;
  /** fastify's pino logger: off (false) by default, `true` or pino options to log requests. */
  readonly logger?: boolean | FastifyLoggerOptions;
  /**
   * The collection's figures in MeterLab's station export format for one local day, or (undefined)
   * the recent days (GET /collection/export). Absent: the station collects from no concentrator (404).
   */
  readonly collectionExport?: (day: string | undefined) => Promise<unknown>;
}

export interface StartStationApiOptions extends StationApiOptions {
  /** Default 127.0.0.1. A non-loopback host needs a token of at least 16 characters. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
}

export interface RunningStationApi {
  /** e.g. http://127.0.0.1:8645 (the API is under `${url}/api/v1`). */
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** The error body of every 4xx/5xx answer. */
export interface ApiErrorBody {
  readonly error: string;
  readonly message: string;
}

/** A request part failed its schema: the message names the field. */
class RequestValidationError extends Error {
  readonly statusCode = 400;
}

const PART_NAMES: Record<string, string> = {
  body: 'body field',
  querystring: 'query parameter',
  params: 'path parameter',
};

/** One clear sentence for the first zod issue, naming the field (`amountFen`, `accountIds[3]`). */
export function describeIssue(part: string, issue: z.core.$ZodIssue, data: unknown): string {
  const field = issue.path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc === '' ? String(key) : `${acc}.${String(key)}`),
    '',
  );
  const where = PART_NAMES[part] ?? part;
  if (field === '' && issue.code === 'unrecognized_keys') {
    const keys = issue.keys.join(', ');
    return `Unknown ${where}${issue.keys.length > 1 ? 's' : ''} ${keys}: not part of this request.`;
  }
  if (field === '') {
    return part === 'body' ? 'The request body must be a JSON object.' : `The ${where}s are malformed: ${issue.message}.`;
  }
  let value: unknown = data;
  for (const key of issue.path) value = value != null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  let detail: string;
  if (value === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) return `${capitalise(where)} ${field} is required.`;
  switch (issue.code) {
    case 'invalid_type':
      if (part === 'querystring' && Array.isArray(value)) {
        detail = 'must be given once';
        break;
      }
      detail = `must be ${article(issue.expected)} (got ${describeValue(value)})`;
      break;
    case 'too_small':
      detail =
        issue.origin === 'array' ? `must hold at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`
        : issue.origin === 'string' ? (value === '' || (typeof value === 'string' && value.trim() === '') ? 'must not be empty' : `must be at least ${issue.minimum} characters`)
        : `must be at least ${issue.minimum}${issue.inclusive === false ? ' (exclusive)' : ''} (got ${describeValue(value)})`;
      break;
    case 'too_big':
      detail =
        issue.origin === 'array' ? `must hold at most ${issue.maximum} items`
        : issue.origin === 'string' ? `must be at most ${issue.maximum} characters`
        : `must be at most ${issue.maximum} (got ${describeValue(value)})`;
      break;
    case 'invalid_value':
      detail = `must be one of ${issue.values.map((v) => (v === null ? 'null' : String(v))).join(', ')} (got ${describeValue(value)})`;
      break;
    case 'unrecognized_keys':
      return `Unknown ${where}${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `${field}.${k}`).join(', ')}: not part of this request.`;
    default:
      detail = issue.message;
  }
  return `${capitalise(where)} ${field} ${detail}.`;
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  if (expected === 'array' || expected === 'object' || expected === 'integer') return `an ${expected}`;
  return `a ${expected}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 24 ? `a ${value.length}-character string` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? 'an object' : typeof value;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Route schema part -> the zod schema it was made from (the validator compiler runs zod). */
const zodOf = new WeakMap<object, z.ZodType>();

/** JSON Schema for the OpenAPI document; registers the zod schema for validation. */
function json(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  zodOf.set(out, schema);
  return out;
}

function errorResponses(...codes: number[]): Record<number, unknown> {
  const r: Record<number, unknown> = {};
  for (const code of [400, 401, ...codes, 500]) r[code] = { description: 'error', ...json(S.ErrorResponse, 'output') };
  return r;
}

function respond(code: number, schema: z.ZodType, description: string): Record<number, unknown> {
  return { [code]: { description, ...json(schema, 'output') } };
}

function fail(reply: FastifyReply, status: number, error: string, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error, message } satisfies ApiErrorBody);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** fastify error codes for a malformed request, and what to call them. */
const CLIENT_ERROR_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad-request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad-request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad-request',
};

/**
 * The API as a fastify instance, not listening (use `app.inject` in tests, or startStationApi).
 */
export function buildStationApi(options: StationApiOptions): FastifyInstance {
  const { service, token } = options;
  if (typeof token !== 'string' || token.length === 0) {
    throw new TypeError('buildStationApi: a non-empty token is required (every /api route is token-authenticated)');
  }
  const tokenDigest = digest(token);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Unknown query parameters are refused by the schemas; a lone `?` or `?a&b` parse normally.
    routerOptions: { ignoreTrailingSlash: true },
  });

  // JSON only: without the default text/plain parser a text body is 415, not a validation error.
  app.removeContentTypeParser('text/plain');

  // Validation runs the zod schema the route's JSON Schema was made from; the value it returns
  // (numbers parsed from query text, trimmed strings) replaces the request part.
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const zod = zodOf.get(schema as object);
    if (!zod) throw new Error(`no zod schema registered for a ${httpPart ?? 'request'} schema`);
    return (data: unknown) => {
      const r = zod.safeParse(data);
      if (r.success) return { value: r.data };
      return { error: new RequestValidationError(describeIssue(httpPart ?? 'body', r.error.issues[0]!, data)) };
    };
  });
  // Response schemas are documentation only: answers are written with JSON.stringify as they are.
  app.setSerializerCompiler(() => (data: unknown) => JSON.stringify(data));
  app.setSchemaErrorFormatter((errors, dataVar) => {
    // Only reached if a validator returns ajv-style errors; ours return RequestValidationError.
    return new RequestValidationError(`The ${PART_NAMES[dataVar] ?? dataVar} is invalid: ${errors[0]?.message ?? 'unknown reason'}.`);
  });

  app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'MeterLab reference master station',
        version: '1.0.0',
        description: 'Prepaid remote cost control: accounts, top-ups, switching, events, worklist (issue 9).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    // Decide by the route that matched, not by the raw URL: the router decodes percent-escapes,
    // so /%61pi/v1/channels is the route /api/v1/channels. An unmatched URL is judged by its
    // decoded path, so a guess at an unknown /api route gets 401, not a 404 that confirms it.
    const route = request.routeOptions.url;
    if (!isApiPath(route ?? decodedPath(request.url))) return;
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header.trim()) : null;
    if (!match) {
      return fail(reply.header('www-authenticate', 'Bearer'), 401, 'unauthorized', 'The Authorization header must be "Bearer <token>".');
    }
    // Digests have equal length, so timingSafeEqual compares in constant time and leaks no length.
    if (!timingSafeEqual(digest(match[1]!), tokenDigest)) {
      return fail(reply.header('www-authenticate', 'Bearer'), 401, 'unauthorized', 'The bearer token is not valid for this station.');
    }
  });

  app.setNotFoundHandler((request, reply) => {
    fail(reply, 404, 'not-found', `There is no route ${request.method} ${request.url.split('?', 1)[0]}.`);
  });

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof RequestValidationError) return fail(reply, 400, 'bad-request', error.message);
    if (error instanceof StationRequestError) {
      const status = error.code === 'not-found' ? 404 : error.code === 'conflict' ? 409 : 400;
      const code = error.code === 'invalid' ? 'bad-request' : error.code;
      return fail(reply, status, code, error.message);
    }
    const known = typeof error.code === 'string' ? CLIENT_ERROR_CODES[error.code] : undefined;
    if (known) {
      const message =
        error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `The request body is larger than the limit of ${BODY_LIMIT_BYTES} bytes.`
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'The request body must be JSON (Content-Type: application/json).'
        : error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'The request body is empty but Content-Type says JSON.'
        : error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? 'The request body is not valid JSON.'
        : 'The request is malformed.';
      return fail(reply, error.statusCode ?? 400, known, message);
    }
    // The JSON body parser (secure-json-parse) rejects bad JSON and __proto__ with statusCode 400.
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      request.log.info({ err: error }, 'client error');
      const message = error.statusCode === 400 ? 'The request body is not valid JSON (or carries __proto__ / constructor.prototype).' : 'The request was refused.';
      return fail(reply, error.statusCode, error.statusCode === 400 ? 'bad-request' : 'client-error', message);
    }
    request.log.error({ err: error }, 'station API request failed');
    return fail(reply, 500, 'internal', 'The station failed to handle the request; the details are in the station log.');
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.register(
    async (api) => {
      api.post('/channels', {
        schema: { summary: 'Add a channel', body: json(S.ChannelBody), response: { ...respond(201, S.ChannelResponse, 'added'), ...errorResponses(409) } },
      }, async (req, reply) => reply.code(201).send(await service.addChannel(req.body as z.output<typeof S.ChannelBody>)));

      api.get('/channels', {
        schema: { summary: 'List channels', querystring: json(S.NoQuery), response: { ...respond(200, S.ChannelList, 'channels'), ...errorResponses() } },
      }, async () => ({ channels: await service.listChannels() }));

      api.post('/accounts', {
        schema: { summary: 'Create an account', body: json(S.AccountBody), response: { ...respond(201, S.AccountResponse, 'created'), ...errorResponses(404, 409) } },
      }, async (req, reply) => reply.code(201).send(await service.createAccount(req.body as z.output<typeof S.AccountBody>)));

      api.get('/accounts', {
        schema: { summary: 'List accounts', querystring: json(S.AccountsQuery), response: { ...respond(200, S.AccountList, 'accounts'), ...errorResponses() } },
      }, async (req) => ({ accounts: await service.listAccounts(definedOnly(req.query as z.output<typeof S.AccountsQuery>)) }));

      api.get('/accounts/:id', {
        schema: { summary: 'One account', querystring: json(S.NoQuery), params: json(S.AccountIdParams), response: { ...respond(200, S.AccountResponse, 'the account'), ...errorResponses(404) } },
      }, async (req) => service.getAccount((req.params as z.output<typeof S.AccountIdParams>).id));

      api.post('/top-ups', {
        schema: {
          summary: 'Credit a payment (exactly once per paymentId)',
          description: 'A paymentId already credited answers 200 with credited: false and the current balance; it is not an error.',
          body: json(S.TopUpBody),
          response: { ...respond(200, S.TopUpResponse, 'credited, or already credited'), ...errorResponses(404, 409) },
        },
      }, async (req) => service.topUp(req.body as z.output<typeof S.TopUpBody>));

      api.post('/accounts/:id/force-reconnect', {
        schema: {
          summary: 'Force reconnection (audited)',
          params: json(S.AccountIdParams),
          body: json(S.ForceReconnectBody),
          response: { ...respond(202, S.SwitchJobResponse, 'the reconnection job'), ...errorResponses(404, 409) },
        },
      }, async (req, reply) => {
        const { id } = req.params as z.output<typeof S.AccountIdParams>;
        const body = req.body as z.output<typeof S.ForceReconnectBody>;
        return reply.code(202).send(await service.forceReconnect({ accountId: id, operator: body.operator, reason: body.reason }));
      });

      api.post('/batches/payment-mode', {
        schema: {
          summary: 'Change the payment mode of a batch of accounts (FEE-18)',
          description: 'One result per account in the order given; 200 even when some failed (see summary.failed).',
          body: json(S.BatchPaymentModeBody),
          response: { ...respond(200, S.BatchResponse, 'per-account results'), ...errorResponses() },
        },
      }, async (req) => {
        const body = req.body as z.output<typeof S.BatchPaymentModeBody>;
        const results = await service.batchPaymentMode(body);
        checkBatchResults(body.accountIds, results);
        const ok = results.filter((r) => r.ok).length;
        return { results, summary: { ok, failed: results.length - ok } };
      });

      api.get('/events', {
        schema: { summary: 'Events after afterId, oldest first', querystring: json(S.EventsQuery), response: { ...respond(200, S.EventList, 'events'), ...errorResponses() } },
      }, async (req) => ({ events: await service.events(definedOnly(req.query as z.output<typeof S.EventsQuery>)) }));

      api.get('/worklist', {
        schema: { summary: 'Failed switching with its cause layer (FEE-19)', querystring: json(S.NoQuery), response: { ...respond(200, S.JobList, 'failed jobs'), ...errorResponses() } },
      }, async () => ({ jobs: await service.worklist() }));

      api.get('/jobs', {
        schema: { summary: 'Switching jobs after afterId, oldest first', querystring: json(S.JobsQuery), response: { ...respond(200, S.AllJobsList, 'jobs'), ...errorResponses() } },
      }, async (req) => ({ jobs: await service.listJobs(definedOnly(req.query as z.output<typeof S.JobsQuery>)) }));

      api.get('/collection/export', {
        schema: {
          summary: "Collection results in MeterLab's station export format (issue 12)",
          description: 'Success rate per concentrator and meter kind (COL-01) and the stored daily readings, of `day` or, without it, of the last 7 days with collection rows.',
          querystring: json(S.CollectionExportQuery),
          response: { ...respond(200, S.CollectionExportResponse, 'the export'), ...errorResponses(404) },
        },
      }, async (req, reply) => {
        if (!options.collectionExport) return fail(reply, 404, 'not-found', 'This station collects from no concentrator (meterlab serve master-station: collection.concentrators in --config, and --uplink).');
        return options.collectionExport((req.query as z.output<typeof S.CollectionExportQuery>).day);
      });

      api.get('/jobs/:id', {
        schema: { summary: 'One switching job', querystring: json(S.NoQuery), params: json(S.JobIdParams), response: { ...respond(200, S.SwitchJobResponse, 'the job'), ...errorResponses(404) } },
      }, async (req) => service.getJob((req.params as z.output<typeof S.JobIdParams>).id));
    },
    { prefix: API_PREFIX },
  );

  return app;
}

function isApiPath(path: string): boolean {
  const p = path.toLowerCase().replace(/\/{2,}/g, '/');
  return p === '/api' || p.startsWith('/api/');
}

function decodedPath(url: string): string {
  const raw = url.split('?', 1)[0]!;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** FEE-18, no silent partial failure: the service must answer every account, in order. */
function checkBatchResults(ids: readonly string[], results: readonly { accountId: string }[]): void {
  if (results.length !== ids.length || results.some((r, i) => r.accountId !== ids[i])) {
    throw new Error(`batchPaymentMode answered ${results.length} results for ${ids.length} accounts, or out of order`);
  }
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** True for 127.0.0.0/8, ::1, ::ffff:127.x.x.x and 'localhost'. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** Builds the API and listens. Refuses a non-loopback host unless the token is long enough. */
export async function startStationApi(options: StartStationApiOptions): Promise<RunningStationApi> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && (typeof options.token !== 'string' || options.token.length < MIN_REMOTE_TOKEN_LENGTH)) {
    throw new Error(
      `Refusing to serve the station API on ${host}: a host other than loopback needs a token of at least ${MIN_REMOTE_TOKEN_LENGTH} characters.`,
    );
  }
  const app = buildStationApi(options);
  await app.listen({ host, port: options.port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error('the station API is not listening on a TCP port');
  }
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${urlHost}:${address.port}`, app, close: () => app.close() };
}

