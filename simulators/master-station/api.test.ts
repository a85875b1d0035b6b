/**
 * The HTTP layer over a recording StationService double (no network: app.inject), plus one
 * loopback listen. Tests against the real station come with station.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BODY_LIMIT_BYTES, buildStationApi, isLoopbackHost, startStationApi } from './api.ts';
import * as S from './api-schemas.ts';
import { KEEP_POWER_CLASSES, FAILURE_LAYERS, StationRequestError } from './types.ts';
import type {
  Account,
  AccountInput,
  BatchItemResult,
  BatchPaymentModeInput,
  Channel,
  ForceReconnectInput,
  StationEvent,
  StationService,
  SwitchJob,
  TopUpInput,
  TopUpResult,
} from './types.ts';

const TOKEN = 'test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

const CHANNEL: Channel = { id: 'bus-1', kind: 'rs485', description: 'building 3 RS-485' };
const ACCOUNT_INPUT: AccountInput = {
  id: 'QY-000123',
  name: 'Li Wei',
  phone: '13800138000',
  meterAddress: '000000123456',
  channelId: 'bus-1',
  paymentMode: 'prepaid',
  tariffFenPerKwh: 56,
  keepPower: null,
  warningFen: 2000,
  balanceFen: 5000,
};
const ACCOUNT: Account = { ...ACCOUNT_INPUT, balanceFen: 5000, relay: 'closed', cutReason: null, warned: false, createdAt: 1_767_225_600_000 };
const JOB: SwitchJob = {
  id: 7,
  accountId: 'QY-000123',
  action: 'reconnect',
  reason: 'forced by operator',
  forced: true,
  state: 'failed',
  attempts: 3,
  nextAt: 1_767_225_660_000,
  createdAt: 1_767_225_600_000,
  finishedAt: 1_767_225_900_000,
  causeLayer: 'channel',
  causeDetail: 'no answer on bus-1',
};
const EVENT: StationEvent = { id: 12, at: 1_767_225_600_000, accountId: 'QY-000123', kind: 'top-up', detail: { paymentId: 'pay-1', amountFen: 1000 } };

type Call = { method: keyof StationService; args: unknown[] };

/** Records every call; each method answers the canned value or what a test put in `next`. */
class RecordingStation implements StationService {
  calls: Call[] = [];
  /** A thrower or value for the next call of a method (consumed). */
  next: Partial<Record<keyof StationService, () => unknown>> = {};
  topUpResult: TopUpResult = { credited: true, balanceFen: 6000, reconnectJobId: 9 };

  private async answer<T>(method: keyof StationService, args: unknown[], canned: () => T): Promise<T> {
    this.calls.push({ method, args });
    const override = this.next[method];
    if (override) {
      delete this.next[method];
      return override() as T;
    }
    return canned();
  }
  addChannel(c: Channel) { return this.answer('addChannel', [c], () => c); }
  listChannels() { return this.answer('listChannels', [], () => [CHANNEL]); }
  createAccount(i: AccountInput) { return this.answer('createAccount', [i], () => ({ ...ACCOUNT, ...i, balanceFen: i.balanceFen ?? 0 })); }
  getAccount(id: string) { return this.answer('getAccount', [id], () => ({ ...ACCOUNT, id })); }
  listAccounts(o?: { offset?: number; limit?: number }) { return this.answer('listAccounts', [o], () => [ACCOUNT]); }
  topUp(i: TopUpInput) { return this.answer('topUp', [i], () => this.topUpResult); }
  forceReconnect(i: ForceReconnectInput) { return this.answer('forceReconnect', [i], () => ({ ...JOB, accountId: i.accountId, state: 'pending' as const, finishedAt: null, causeLayer: null, causeDetail: null })); }
  batchPaymentMode(i: BatchPaymentModeInput) {
    return this.answer('batchPaymentMode', [i], (): BatchItemResult[] =>
      i.accountIds.map((accountId) =>
        accountId.startsWith('X') ? { accountId, ok: false, paymentMode: null, error: 'no such account' } : { accountId, ok: true, paymentMode: i.paymentMode, switchJobId: null },
      ),
    );
  }
  events(o?: { afterId?: number; accountId?: string; limit?: number }) { return this.answer('events', [o], () => [EVENT]); }
  worklist() { return this.answer('worklist', [], () => [JOB]); }
  getJob(id: number) { return this.answer('getJob', [id], () => ({ ...JOB, id })); }
  listJobs(o?: { afterId?: number; limit?: number }) { return this.answer('listJobs', [o], () => [JOB]); }
}

let station: RecordingStation;
let app: FastifyInstance;
beforeEach(async () => {
  station = new RecordingStation();
  app = buildStationApi({ service: station, token: TOKEN });
  await app.ready();
});
afterEach(async () => {
  await app.close();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = AUTH) =>
  app.inject({ method: 'POST', url: `/api/v1${url}`, headers, payload: payload as object });
const get = (url: string, headers: Record<string, string> = AUTH) => app.inject({ method: 'GET', url: `/api/v1${url}`, headers });

const TOP_UP = { paymentId: 'pay-0001', accountId: 'QY-000123', amountFen: 1000 };
const BATCH = { accountIds: ['A1', 'XGONE', 'A3'], paymentMode: 'postpaid', operator: 'op-7' };

function expectError(res: { statusCode: number; json(): unknown }, status: number, code: string, mentions?: string | RegExp) {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { error: string; message: string };
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  expect(body.error).toBe(code);
  if (mentions !== undefined) expect(body.message).toMatch(mentions);
  return body;
}

describe('auth', () => {
  it.each([
    ['no header', {}],
    ['wrong token', { authorization: 'Bearer wrong-token-0123456789' }],
    ['token prefix', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['other scheme', { authorization: `Basic ${TOKEN}` }],
    ['empty bearer', { authorization: 'Bearer ' }],
  ])('401 JSON with %s, and the service is not called', async (_name, headers) => {
    const res = await post('/top-ups', TOP_UP, headers as Record<string, string>);
    expectError(res, 401, 'unauthorized', /token|Authorization/);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(station.calls).toEqual([]);
    // an unknown /api path is 401 too: no route discovery without the token
    expectError(await get('/no-such-thing', headers as Record<string, string>), 401, 'unauthorized');
  });

  it('the right token reaches the service; the OpenAPI document needs none', async () => {
    expect((await get('/channels')).statusCode).toBe(200);
    expect((await get('/channels/')).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/v1/channels', headers: { authorization: `bearer ${TOKEN} ` } })).statusCode).toBe(200);
    expect(station.calls.map((c) => c.method)).toEqual(['listChannels', 'listChannels', 'listChannels']);
    expect((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200);
  });

  it('a percent-encoded or odd spelling of an /api path gets no route without the token', async () => {
    // find-my-way decodes %61 to "a": the route matched, and a check on the raw URL let it through
    for (const url of ['/%61pi/v1/channels', '/%61%70%69/v1/channels', '/api/v1/%63hannels', '/api/v1//channels', '/api/./v1/channels', '/API/v1/channels', '/api%2Fv1/channels', '//api/v1/channels']) {
      const res = await app.inject({ method: 'GET', url });
      expect([401, 404], url).toContain(res.statusCode);
    }
    const encoded = await app.inject({ method: 'GET', url: '/%61pi/v1/channels' });
    expectError(encoded, 401, 'unauthorized');
    expect(station.calls).toEqual([]);
    // with the token the decoded spelling is the same route
    expect((await app.inject({ method: 'GET', url: '/%61pi/v1/channels', headers: AUTH })).statusCode).toBe(200);
  });

  it('property: no spelling of a route path reaches the service without the token', async () => {
    const paths = ['/api/v1/channels', '/api/v1/accounts', '/api/v1/accounts/QY-1', '/api/v1/events', '/api/v1/worklist', '/api/v1/jobs/3'];
    const spelling = fc.record({
      path: fc.constantFrom(...paths),
      encode: fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }),
      upper: fc.boolean(),
      doubleSlash: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(spelling, async ({ path, encode, upper, doubleSlash }) => {
        let url = [...path].map((c, i) => (c !== '/' && encode[i % 24] ? `%${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c)).join('');
        if (upper) url = url.toUpperCase();
        if (doubleSlash) url = url.replace('/v1', '//v1');
        station.calls = [];
        const res = await app.inject({ method: 'GET', url });
        expect([401, 404], url).toContain(res.statusCode);
        expect(station.calls, url).toEqual([]);
      }),
      { seed: 645, numRuns: 300 },
    );
  });

  it('an empty token is refused at build time', () => {
    expect(() => buildStationApi({ service: station, token: '' })).toThrow(/token/);
  });
});

describe('routes pass valid requests through', () => {
  it('POST/GET channels', async () => {
    const res = await post('/channels', CHANNEL);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual(CHANNEL);
    expect((await get('/channels')).json()).toEqual({ channels: [CHANNEL] });
    expect(station.calls).toEqual([{ method: 'addChannel', args: [CHANNEL] }, { method: 'listChannels', args: [] }]);
  });

  it('POST accounts, GET accounts with offset/limit, GET accounts/:id', async () => {
    const created = await post('/accounts', ACCOUNT_INPUT);
    expect(created.statusCode).toBe(201);
    expect(S.AccountResponse.parse(created.json()).id).toBe('QY-000123');
    expect((await get('/accounts?offset=20&limit=10')).json()).toEqual({ accounts: [ACCOUNT] });
    await get('/accounts');
    expect((await get('/accounts/QY-9')).json()).toMatchObject({ id: 'QY-9' });
    expect(station.calls).toEqual([
      { method: 'createAccount', args: [ACCOUNT_INPUT] },
      { method: 'listAccounts', args: [{ offset: 20, limit: 10 }] },
      { method: 'listAccounts', args: [{}] },
      { method: 'getAccount', args: ['QY-9'] },
    ]);
  });

  it('POST top-ups: 200 with the result', async () => {
    const res = await post('/top-ups', TOP_UP);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ credited: true, balanceFen: 6000, reconnectJobId: 9 });
    expect(station.calls).toEqual([{ method: 'topUp', args: [TOP_UP] }]);
  });

  it('a duplicate payment id is 200 credited:false, passed through (not an error)', async () => {
    station.topUpResult = { credited: false, balanceFen: 6000, reconnectJobId: null };
    const res = await post('/top-ups', TOP_UP);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ credited: false, balanceFen: 6000, reconnectJobId: null });
  });

  it('POST accounts/:id/force-reconnect: 202 with the job', async () => {
    const res = await post('/accounts/QY-000123/force-reconnect', { operator: 'op-7', reason: 'customer called' });
    expect(res.statusCode).toBe(202);
    expect(S.SwitchJobResponse.parse(res.json())).toMatchObject({ accountId: 'QY-000123', action: 'reconnect', state: 'pending' });
    expect(station.calls).toEqual([{ method: 'forceReconnect', args: [{ accountId: 'QY-000123', operator: 'op-7', reason: 'customer called' }] }]);
  });

  it('POST batches/payment-mode: 200 with every account in order and a summary, even with failures (FEE-18)', async () => {
    const res = await post('/batches/payment-mode', BATCH);
    expect(res.statusCode).toBe(200);
    const body = S.BatchResponse.parse(res.json());
    expect(body.results.map((r) => [r.accountId, r.ok])).toEqual([['A1', true], ['XGONE', false], ['A3', true]]);
    expect(body.results[1]!.error).toBe('no such account');
    expect(body.summary).toEqual({ ok: 2, failed: 1 });
    expect(station.calls).toEqual([{ method: 'batchPaymentMode', args: [BATCH] }]);
  });

  it('a batch answer that leaves an account out or reorders them is a 500, never a silent partial result', async () => {
    station.next.batchPaymentMode = () => [{ accountId: 'A1', ok: true, paymentMode: 'postpaid' }];
    expectError(await post('/batches/payment-mode', BATCH), 500, 'internal');
    station.next.batchPaymentMode = () => BATCH.accountIds.map((accountId) => ({ accountId, ok: true, paymentMode: 'postpaid' })).reverse();
    expectError(await post('/batches/payment-mode', BATCH), 500, 'internal');
  });

  it('a batch of exactly 10,000 accounts is accepted', async () => {
    const ids = Array.from({ length: S.MAX_BATCH_ACCOUNTS }, (_, i) => `A${i}`);
    const res = await post('/batches/payment-mode', { ...BATCH, accountIds: ids });
    expect(res.statusCode).toBe(200);
    expect(res.json().summary).toEqual({ ok: 10_000, failed: 0 });
  });

  it('GET events with afterId, accountId, limit; GET worklist; GET jobs/:id; GET jobs with afterId, limit', async () => {
    expect((await get('/events?afterId=11&accountId=QY-000123&limit=50')).json()).toEqual({ events: [EVENT] });
    await get('/events');
    expect(S.JobList.parse((await get('/worklist')).json()).jobs).toEqual([JOB]);
    expect((await get('/jobs/42')).json()).toMatchObject({ id: 42 });
    expect(S.AllJobsList.parse((await get('/jobs?afterId=7&limit=20')).json()).jobs).toEqual([JOB]);
    expect((await get('/jobs?afterId=x')).statusCode).toBe(400);
    expect(station.calls).toEqual([
      { method: 'events', args: [{ afterId: 11, accountId: 'QY-000123', limit: 50 }] },
      { method: 'events', args: [{}] },
      { method: 'worklist', args: [] },
      { method: 'getJob', args: [42] },
      { method: 'listJobs', args: [{ afterId: 7, limit: 20 }] },
    ]);
  });
});

describe('a bad request is 400 naming the field, and changes nothing', () => {
  const cases: [string, () => ReturnType<typeof post>, RegExp][] = [
    ['amountFen as a string', () => post('/top-ups', { ...TOP_UP, amountFen: '1000' }), /amountFen must be a number/],
    ['amountFen missing', () => post('/top-ups', { paymentId: 'p', accountId: 'a' }), /amountFen is required/],
    ['amountFen negative', () => post('/top-ups', { ...TOP_UP, amountFen: -5 }), /amountFen must be at least 1/],
    ['amountFen zero', () => post('/top-ups', { ...TOP_UP, amountFen: 0 }), /amountFen must be at least 1/],
    ['amountFen non-integer', () => post('/top-ups', { ...TOP_UP, amountFen: 10.5 }), /amountFen must be an integer/],
    ['amountFen above the cap', () => post('/top-ups', { ...TOP_UP, amountFen: S.MAX_TOP_UP_FEN + 1 }), /amountFen must be at most 10000000/],
    ['paymentId missing', () => post('/top-ups', { accountId: 'a', amountFen: 1 }), /paymentId is required/],
    ['accountId malformed', () => post('/top-ups', { ...TOP_UP, accountId: 'a b' }), /accountId must be 1-32 letters/],
    ['an unknown field', () => post('/top-ups', { ...TOP_UP, amount: 5 }), /amount\b.*not part of this request/],
    ['a body that is an array', () => post('/top-ups', [TOP_UP]), /body must be a JSON object/],
    ['meterAddress of 11 digits', () => post('/accounts', { ...ACCOUNT_INPUT, meterAddress: '12345678901' }), /meterAddress must be exactly 12 decimal digits/],
    ['meterAddress with a letter', () => post('/accounts', { ...ACCOUNT_INPUT, meterAddress: '00000012345A' }), /meterAddress must be exactly 12 decimal digits/],
    ['unknown paymentMode', () => post('/accounts', { ...ACCOUNT_INPUT, paymentMode: 'credit' }), /paymentMode must be one of prepaid, postpaid \(got "credit"\)/],
    ['unknown keepPower', () => post('/accounts', { ...ACCOUNT_INPUT, keepPower: 'vip' }), /keepPower must be one of master/],
    ['keepPower missing', () => post('/accounts', { ...ACCOUNT_INPUT, keepPower: undefined }), /keepPower is required/],
    ['negative warningFen', () => post('/accounts', { ...ACCOUNT_INPUT, warningFen: -1 }), /warningFen must be at least 0/],
    ['bad phone', () => post('/accounts', { ...ACCOUNT_INPUT, phone: 'call me' }), /phone must be/],
    ['empty name', () => post('/accounts', { ...ACCOUNT_INPUT, name: '  ' }), /name must not be empty/],
    ['unknown channel kind', () => post('/channels', { ...CHANNEL, kind: 'lora' }), /kind must be one of rs485, tcp/],
    ['force-reconnect without operator', () => post('/accounts/QY-1/force-reconnect', { reason: 'r' }), /operator is required/],
    ['force-reconnect on a malformed id', () => post('/accounts/bad%20id/force-reconnect', { operator: 'o', reason: 'r' }), /Path parameter id must be 1-32/],
    ['an empty batch', () => post('/batches/payment-mode', { ...BATCH, accountIds: [] }), /accountIds must hold at least 1 item/],
    ['a batch with a duplicate', () => post('/batches/payment-mode', { ...BATCH, accountIds: ['A1', 'A2', 'A1'] }), /accountIds\[2\] repeats account A1/],
    ['a batch of 10,001', () => post('/batches/payment-mode', { ...BATCH, accountIds: Array.from({ length: 10_001 }, (_, i) => `A${i}`) }), /accountIds must hold at most 10000 items/],
    ['a batch with an unknown mode', () => post('/batches/payment-mode', { ...BATCH, paymentMode: 'free' }), /paymentMode must be one of/],
    ['a batch id that is a number', () => post('/batches/payment-mode', { ...BATCH, accountIds: ['A1', 2] }), /accountIds\[1\] must be a string/],
    ['limit not a number', () => get('/accounts?limit=ten'), /Query parameter limit must be a whole number/],
    ['limit 0', () => get('/accounts?limit=0'), /limit must be at least 1/],
    ['limit above the page size', () => get('/events?limit=1001'), /limit must be at most 1000/],
    ['negative afterId', () => get('/events?afterId=-1'), /afterId must be a whole number/],
    ['limit given twice', () => get('/accounts?limit=1&limit=2'), /Query parameter limit must be given once/],
    ['an unknown query parameter', () => get('/events?after=3'), /Unknown query parameter after/],
    ['a query parameter on a route that takes none', () => get('/worklist?limt=5'), /Unknown query parameter limt/],
    ['a job id that is not a number', () => get('/jobs/seven'), /Path parameter id must be a whole number/],
    ['job id 0', () => get('/jobs/0'), /id must be at least 1/],
  ];
  it.each(cases)('%s', async (_name, send, mentions) => {
    const res = await send();
    expectError(res, 400, 'bad-request', mentions);
    expect(station.calls).toEqual([]);
  });

  it('malformed JSON and a wrong content type are 4xx JSON without a call', async () => {
    const bad = await app.inject({ method: 'POST', url: '/api/v1/top-ups', headers: { ...AUTH, 'content-type': 'application/json' }, payload: '{"paymentId": ' });
    expectError(bad, 400, 'bad-request', /not valid JSON/);
    const proto = await app.inject({ method: 'POST', url: '/api/v1/top-ups', headers: { ...AUTH, 'content-type': 'application/json' }, payload: '{"__proto__": {"x": 1}}' });
    expectError(proto, 400, 'bad-request');
    const text = await app.inject({ method: 'POST', url: '/api/v1/top-ups', headers: { ...AUTH, 'content-type': 'text/plain' }, payload: 'hello' });
    expectError(text, 415, 'unsupported-media-type', /JSON/);
    const empty = await app.inject({ method: 'POST', url: '/api/v1/top-ups', headers: { ...AUTH, 'content-type': 'application/json' }, payload: '' });
    expectError(empty, 400, 'bad-request', /empty/);
    expect(station.calls).toEqual([]);
  });
});

describe('error mapping', () => {
  it.each([
    ['not-found', 404, 'not-found'],
    ['conflict', 409, 'conflict'],
    ['invalid', 400, 'bad-request'],
  ] as const)('StationRequestError %s -> %i with its message', async (code, status, error) => {
    station.next.topUp = () => {
      throw new StationRequestError(code, `account QY-000123: ${code} case`);
    };
    const body = expectError(await post('/top-ups', TOP_UP), status, error);
    expect(body.message).toBe(`account QY-000123: ${code} case`);
  });

  it('a generic error is 500 with a generic message: nothing of the error leaks', async () => {
    station.next.getAccount = () => {
      throw new Error('connection to postgres://station:hunter2@db failed');
    };
    const res = await get('/accounts/QY-000123');
    const body = expectError(res, 500, 'internal', /station log/);
    expect(res.body).not.toMatch(/hunter2|postgres|connection/);
    expect(body.message).not.toMatch(/postgres/);
  });

  it('the details of a 500 go to the log when logging is on', async () => {
    const lines: string[] = [];
    const logged = buildStationApi({ service: station, token: TOKEN, logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } } });
    try {
      station.next.worklist = () => {
        throw new Error('disk full at /var/lib/station');
      };
      const res = await logged.inject({ method: 'GET', url: '/api/v1/worklist', headers: AUTH });
      expectError(res, 500, 'internal');
      expect(res.body).not.toContain('disk full');
      const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } }).filter((l) => l.level >= 50);
      expect(errors).toEqual([expect.objectContaining({ msg: 'station API request failed', err: expect.objectContaining({ message: 'disk full at /var/lib/station' }) })]);
    } finally {
      await logged.close();
    }
  });

  it('a body over the limit is 413 JSON', async () => {
    const big = JSON.stringify({ ...TOP_UP, paymentId: 'x'.repeat(BODY_LIMIT_BYTES) });
    const res = await app.inject({ method: 'POST', url: '/api/v1/top-ups', headers: { ...AUTH, 'content-type': 'application/json' }, payload: big });
    expectError(res, 413, 'payload-too-large', /1048576 bytes/);
    expect(station.calls).toEqual([]);
  });

  it('an unknown route is 404 JSON', async () => {
    expectError(await get('/no-such-thing'), 404, 'not-found', /GET \/api\/v1\/no-such-thing/);
    expectError(await app.inject({ method: 'GET', url: '/elsewhere' }), 404, 'not-found');
    expectError(await app.inject({ method: 'DELETE', url: '/api/v1/accounts/QY-1', headers: AUTH }), 404, 'not-found');
  });
});

describe('OpenAPI document', () => {
  const ROUTES = [
    ['post', '/api/v1/channels'],
    ['get', '/api/v1/channels'],
    ['post', '/api/v1/accounts'],
    ['get', '/api/v1/accounts'],
    ['get', '/api/v1/accounts/{id}'],
    ['post', '/api/v1/top-ups'],
    ['post', '/api/v1/accounts/{id}/force-reconnect'],
    ['post', '/api/v1/batches/payment-mode'],
    ['get', '/api/v1/events'],
    ['get', '/api/v1/worklist'],
    ['get', '/api/v1/jobs'],
    ['get', '/api/v1/jobs/{id}'],
    ['get', '/api/v1/collection/export'],
  ] as const;

  it('is OpenAPI 3 and describes every route, its parameters, body and responses', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    // the OpenAPI 3 shape: version, info, paths of operations with responses
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(typeof doc.info.title).toBe('string');
    expect(typeof doc.info.version).toBe('string');
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    const listed = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    expect(listed.sort()).toEqual(ROUTES.map(([m, p]) => `${m} ${p}`).sort());
    for (const [method, path] of ROUTES) {
      const op = doc.paths[path][method];
      expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(1);
      for (const [code, r] of Object.entries(op.responses as Record<string, { description: string; content: Record<string, { schema: object }> }>)) {
        expect(code).toMatch(/^[1-5]\d\d$/);
        expect(typeof r.description).toBe('string');
        expect(r.content['application/json']!.schema).toBeTypeOf('object');
      }
      if (method === 'post') expect(op.requestBody.content['application/json'].schema.type).toBe('object');
    }
    const topUp = doc.paths['/api/v1/top-ups'].post.requestBody.content['application/json'].schema;
    expect(topUp.required.sort()).toEqual(['accountId', 'amountFen', 'paymentId']);
    expect(topUp.properties.amountFen).toMatchObject({ type: 'integer', minimum: 1, maximum: S.MAX_TOP_UP_FEN });
    expect(doc.paths['/api/v1/accounts'].post.requestBody.content['application/json'].schema.properties.meterAddress.pattern).toBe('^[0-9]{12}$');
    const params = doc.paths['/api/v1/events'].get.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`);
    expect(params.sort()).toEqual(['query:accountId', 'query:afterId', 'query:limit']);
    expect(doc.paths['/api/v1/jobs/{id}'].get.parameters).toEqual([expect.objectContaining({ in: 'path', name: 'id', required: true })]);
  });

  it('the schemas list the same enums as types.ts', () => {
    expect(S.AccountResponse.shape.keepPower.unwrap().options).toEqual([...KEEP_POWER_CLASSES]);
    expect(S.SwitchJobResponse.shape.causeLayer.unwrap().options).toEqual([...FAILURE_LAYERS]);
  });
});

describe('GET /collection/export', () => {
  it('is 404 without a collection side; with one, passes the day (or none) and refuses a bad day with one message, before calling it', async () => {
    expectError(await get('/collection/export'), 404, 'not-found', /collects from no concentrator/);
    const asked: (string | undefined)[] = [];
    const withExport = buildStationApi({ service: station, token: TOKEN, collectionExport: async (day) => (asked.push(day), { successRate: [], readings: [], day }) });
    try {
      const r = await withExport.inject({ method: 'GET', url: '/api/v1/collection/export?day=2026-01-11', headers: AUTH });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ successRate: [], readings: [], day: '2026-01-11' });
      expect((await withExport.inject({ method: 'GET', url: '/api/v1/collection/export', headers: AUTH })).statusCode).toBe(200);
      expectError(await withExport.inject({ method: 'GET', url: '/api/v1/collection/export?day=2026-02-29', headers: AUTH }), 400, 'bad-request', /^Query parameter day must be a date that exists\.$/);
      expectError(await withExport.inject({ method: 'GET', url: '/api/v1/collection/export?day=11.01.2026', headers: AUTH }), 400, 'bad-request', /^Query parameter day must be a date "YYYY-MM-DD"\.$/);
      expectError(await withExport.inject({ method: 'GET', url: '/api/v1/collection/export?days=3', headers: AUTH }), 400, 'bad-request', /Unknown query parameter days/);
      expectError(await withExport.inject({ method: 'GET', url: '/api/v1/collection/export' }), 401, 'unauthorized');
      expect(asked).toEqual(['2026-01-11', undefined]);
    } finally {
      await withExport.close();
    }
  });
});

describe('property: arbitrary JSON to POST top-ups', () => {
  it('never gives a 5xx, and calls the service only for a valid body', async () => {
    const nearValid = fc.record(
      {
        paymentId: fc.oneof(fc.string({ maxLength: 70 }), fc.integer(), fc.constant('pay-1')),
        accountId: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('QY-1'), fc.constant(null)),
        amountFen: fc.oneof(fc.integer({ min: -10, max: S.MAX_TOP_UP_FEN + 10 }), fc.double(), fc.string(), fc.constant(S.MAX_TOP_UP_FEN)),
      },
      { requiredKeys: [] },
    );
    // all three fields well formed, the amount around both ends of its range
    const wellFormed = fc.record({
      paymentId: fc.stringMatching(/^[!-~]{1,64}$/),
      accountId: fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/),
      amountFen: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: S.MAX_TOP_UP_FEN - 3, max: S.MAX_TOP_UP_FEN + 3 }), fc.integer({ min: 1, max: S.MAX_TOP_UP_FEN })),
    });
    const bodies = fc.oneof(fc.jsonValue(), nearValid, wellFormed, fc.dictionary(fc.string(), fc.jsonValue()));
    const seen = { valid: 0, invalid: 0 };
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        station.calls = [];
        const res = await app.inject({ method: 'POST', url: '/api/v1/top-ups', headers: { ...AUTH, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
        expect(res.statusCode).toBeLessThan(500);
        const valid = S.TopUpBody.safeParse(body).success;
        seen[valid ? 'valid' : 'invalid']++;
        expect(res.statusCode).toBe(valid ? 200 : 400);
        expect(station.calls).toEqual(valid ? [{ method: 'topUp', args: [body] }] : []);
        if (!valid) expect(res.json()).toEqual({ error: 'bad-request', message: expect.stringMatching(/\.$/) });
      }),
      { seed: 20261130, numRuns: 400 },
    );
    // both branches were exercised (shrinking may add runs, so only lower bounds)
    expect(seen.valid).toBeGreaterThan(50);
    expect(seen.invalid).toBeGreaterThan(150);
  });
});

describe('startStationApi', () => {
  it('listens on 127.0.0.1 by default and answers over the loopback', async () => {
    const running = await startStationApi({ service: station, token: 'short', port: 0 });
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${running.url}/api/v1/top-ups`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer short' },
        body: JSON.stringify(TOP_UP),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ credited: true, balanceFen: 6000, reconnectJobId: 9 });
      expect((await fetch(`${running.url}/api/v1/channels`)).status).toBe(401);
    } finally {
      await running.close();
    }
  });

  it('refuses 0.0.0.0 or another non-loopback host without a token of at least 16 characters', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
      await expect(startStationApi({ service: station, token: 'fifteen-chars-x', host, port: 0 })).rejects.toThrow(/at least 16 characters/);
    }
  });

  it('isLoopbackHost', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1', '::ffff:10.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

// Keep the zod import used for the type-level check of canned values.
export type _Canned = z.infer<typeof S.AccountResponse>;
