import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { HttpSmsGateway, SmsSendError, startSmsFake } from './sms-gateway.ts';

const GATEWAY = 'http://sms.example.test/v1/send';
const MESSAGE = { to: '13800138000', text: '尊敬的用户，您的电费余额为18.50元，已低于预警值20.00元，请及时缴费。', accountId: 'QY-000123' };

describe('HttpSmsGateway (msw)', () => {
  const seen: { body: unknown; auth: string | null; contentType: string | null; method: string }[] = [];
  let answer: () => Response | Promise<Response> = () => HttpResponse.json({ accepted: true }, { status: 202 });
  const server = setupServer(
    http.post(GATEWAY, async ({ request }) => {
      seen.push({ body: await request.json(), auth: request.headers.get('authorization'), contentType: request.headers.get('content-type'), method: request.method });
      return answer();
    }),
  );
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => {
    seen.length = 0;
    answer = () => HttpResponse.json({ accepted: true }, { status: 202 });
  });
  afterAll(() => server.close());

  it('POSTs JSON {to, text, reference} with the bearer token', async () => {
    await new HttpSmsGateway({ url: GATEWAY, token: 'sms-secret' }).send(MESSAGE);
    expect(seen).toEqual([
      { body: { to: MESSAGE.to, text: MESSAGE.text, reference: 'QY-000123' }, auth: 'Bearer sms-secret', contentType: 'application/json', method: 'POST' },
    ]);
  });

  it('uses the message reference when given, and sends no Authorization without a token', async () => {
    await new HttpSmsGateway({ url: GATEWAY }).send({ ...MESSAGE, reference: 'outbox-42' });
    expect(seen).toEqual([{ body: { to: MESSAGE.to, text: MESSAGE.text, reference: 'outbox-42' }, auth: null, contentType: 'application/json', method: 'POST' }]);
  });

  it.each([
    [500, true],
    [503, true],
    [429, true],
    [400, false],
    [401, false],
  ])('HTTP %i -> SmsSendError http-status (retryable %s), sent once, not retried', async (status, retryable) => {
    answer = () => HttpResponse.json({ error: 'nope' }, { status });
    const error = await new HttpSmsGateway({ url: GATEWAY }).send(MESSAGE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmsSendError);
    const e = error as SmsSendError;
    expect([e.failure, e.status, e.code, e.retryable]).toEqual(['http-status', status, 'sms-send', retryable]);
    expect(e.message).toContain(`HTTP ${status}`);
    expect(e.message).toContain('13800138000');
    expect(seen).toHaveLength(1);
  });

  it('a network error -> SmsSendError network', async () => {
    answer = () => HttpResponse.error();
    const error = await new HttpSmsGateway({ url: GATEWAY }).send(MESSAGE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmsSendError);
    expect((error as SmsSendError).failure).toBe('network');
    expect((error as SmsSendError).retryable).toBe(true);
    expect(seen).toHaveLength(1);
  });

  it("the caller's signal aborts a send the gateway never answers -> SmsSendError aborted", async () => {
    answer = async () => {
      await delay('infinite');
      return HttpResponse.json({});
    };
    const controller = new AbortController();
    const sending = new HttpSmsGateway({ url: GATEWAY }).send(MESSAGE, { signal: controller.signal }).catch((e: unknown) => e);
    await expect.poll(() => seen.length).toBe(1);
    controller.abort(new Error('deadline'));
    const error = await sending;
    expect(error).toBeInstanceOf(SmsSendError);
    expect((error as SmsSendError).failure).toBe('aborted');
  });

  it('an injected fetch is used instead of the global one', async () => {
    const calls: string[] = [];
    const gateway = new HttpSmsGateway({
      url: 'http://other.example.test/sms',
      fetch: async (input) => {
        calls.push(String(input));
        return new Response('busy', { status: 503 });
      },
    });
    await expect(gateway.send(MESSAGE)).rejects.toThrow(/HTTP 503: busy/);
    expect(calls).toEqual(['http://other.example.test/sms']);
    expect(seen).toEqual([]);
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => new HttpSmsGateway({ url: 'not a url' })).toThrow(/not a URL/);
    expect(() => new HttpSmsGateway({ url: 'ftp://x/sms' })).toThrow(/http: or https:/);
  });
});

describe('startSmsFake (real loopback server)', () => {
  it('receives what HttpSmsGateway sends, lists it on GET /messages, checks its token, fails on demand', async () => {
    const fake = await startSmsFake({ token: 'fake-token' });
    try {
      expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sms$/);
      const gateway = new HttpSmsGateway({ url: fake.url, token: 'fake-token' });
      await gateway.send(MESSAGE);
      await gateway.send({ ...MESSAGE, reference: 'outbox-2', text: 'second' });
      const expected = [
        { seq: 1, to: MESSAGE.to, text: MESSAGE.text, reference: 'QY-000123' },
        { seq: 2, to: MESSAGE.to, text: 'second', reference: 'outbox-2' },
      ];
      expect(fake.messages()).toEqual(expected);
      const listed = await fetch(`${fake.baseUrl}/messages`);
      expect(listed.status).toBe(200);
      expect(await listed.json()).toEqual({ messages: expected });

      const wrongToken = await new HttpSmsGateway({ url: fake.url, token: 'other' }).send(MESSAGE).catch((e: unknown) => e);
      expect((wrongToken as SmsSendError).status).toBe(401);

      fake.failWith(503);
      const failing = await gateway.send(MESSAGE).catch((e: unknown) => e);
      expect([(failing as SmsSendError).failure, (failing as SmsSendError).status]).toEqual(['http-status', 503]);
      fake.failWith(null);

      const malformed = await fetch(fake.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer fake-token' }, body: '{"to":"1"}' });
      expect(malformed.status).toBe(400);
      expect(fake.messages()).toHaveLength(2);
      fake.clear();
      expect(fake.messages()).toEqual([]);
    } finally {
      await fake.close();
    }
    // closed: nothing listens any more
    const after = await new HttpSmsGateway({ url: fake.url }).send(MESSAGE).catch((e: unknown) => e);
    expect((after as SmsSendError).failure).toBe('network');
  });
});
