import { describe, expect, it } from 'vitest';
import { LinkError, TimeoutError } from '../../harness/core/errors.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { REQUIREMENTS } from '../requirements/catalog.ts';
import { CaseTimeout, DEFAULT_CASE_TIMEOUT_MS, runCase, type CaseObserver, type CheckContext, type ConformanceCase } from './case.ts';
import { validateCases } from './validate.ts';
import { countVerdicts, formatLimit, isRunPassing, withinLimit } from './verdict.ts';

interface Lamp {
  on: boolean;
  watts: number;
  declaresDimmer: boolean;
}

const lamp: Lamp = { on: true, watts: 12, declaresDimmer: false };

function kase(run: ConformanceCase<Lamp>['run'], extra: Partial<ConformanceCase<Lamp>> = {}): ConformanceCase<Lamp> {
  return { id: 'demo.case', requirement: 'DLT645-12', title: 'a case', run, ...extra };
}

describe('runCase verdicts', () => {
  it('passes with an empty reason and keeps measurements, evidence, steps and log', async () => {
    const r = await runCase(
      kase(async (ctx, t) => {
        await ctx.step('switch on', async () => {
          ctx.log('on');
          await ctx.step('inner', () => undefined);
        });
        ctx.measure('power', t.watts, 'W', { min: 5, max: 20 });
        ctx.check(t.on, 'lamp is off');
        ctx.evidence('frames', '68 ... 16');
      }),
      lamp,
    );
    expect(r).toMatchObject({ id: 'demo.case', requirement: 'DLT645-12', title: 'a case', verdict: 'passed', reason: '' });
    expect(r.measurements).toEqual([{ name: 'power', value: 12, unit: 'W', limit: '5..20', ok: true }]);
    expect(r.evidence).toEqual([{ name: 'frames', contentType: 'text/plain', body: '68 ... 16' }]);
    expect(r.steps).toMatchObject([{ name: 'switch on', status: 'passed', steps: [{ name: 'inner', status: 'passed' }] }]);
    expect(r.log).toEqual(['on']);
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('is notApplicable with the applies() reason and does not run', async () => {
    let ran = false;
    const r = await runCase(
      kase(
        async () => {
          ran = true;
        },
        { applies: (t) => (t.declaresDimmer ? null : 'capabilities.dimmer is false') },
      ),
      lamp,
    );
    expect(r.verdict).toBe('notApplicable');
    expect(r.reason).toBe('capabilities.dimmer is false');
    expect(ran).toBe(false);
  });

  it('collects every failed check and joins the reasons', async () => {
    let reachedEnd = false;
    const r = await runCase(
      kase(async (ctx) => {
        ctx.check(false, 'first problem');
        ctx.check(true, 'not a problem');
        ctx.check(false, 'second problem');
        reachedEnd = true;
      }),
      lamp,
    );
    expect(reachedEnd).toBe(true);
    expect(r.verdict).toBe('failed');
    expect(r.reason).toBe('first problem; second problem');
  });

  it('fails on ctx.fail() and stops there, keeping earlier failed checks', async () => {
    let after = false;
    const r = await runCase(
      kase(async (ctx) => {
        ctx.check(false, 'checked first');
        ctx.fail('stopped');
        after = true;
      }),
      lamp,
    );
    expect(after).toBe(false);
    expect(r).toMatchObject({ verdict: 'failed', reason: 'checked first; stopped' });
  });

  it('fails when a measurement is outside its limit, unless the case says otherwise', async () => {
    const out = await runCase(kase(async (ctx) => void ctx.measure('Td', 612, 'ms', { min: 20, max: 500 })), lamp);
    expect(out.verdict).toBe('failed');
    expect(out.reason).toBe('Td 612 ms outside 20..500 ms');
    expect(out.measurements[0]).toMatchObject({ ok: false, limit: '20..500' });

    const recorded = await runCase(kase(async (ctx) => void ctx.measure('Td', 612, 'ms', { max: 500 }, { enforce: false })), lamp);
    expect(recorded.verdict).toBe('passed');
    expect(recorded.measurements[0]).toMatchObject({ ok: false, limit: '<= 500' });
  });

  it('maps the notApplicable and inconclusive signals', async () => {
    const na = await runCase(kase(async (ctx) => ctx.notApplicable('no relay declared (capabilities.remoteControl)')), lamp);
    expect(na).toMatchObject({ verdict: 'notApplicable', reason: 'no relay declared (capabilities.remoteControl)' });
    const inc = await runCase(kase(async (ctx) => ctx.inconclusive('meter busy, could not judge')), lamp);
    expect(inc).toMatchObject({ verdict: 'inconclusive', reason: 'meter busy, could not judge' });
  });

  it('reports any other thrown error as error with its message, keeping the error and its stack as evidence', async () => {
    const boom = new TimeoutError('no reply to 11H within 3000 ms');
    const r = await runCase(
      kase(async () => {
        throw boom;
      }),
      lamp,
    );
    expect(r.verdict).toBe('error');
    expect(r.reason).toBe('TimeoutError: no reply to 11H within 3000 ms');
    expect(r.error).toBe(boom);
    expect(r.evidence.map((e) => e.name)).toEqual(['error']);

    const link = await runCase(
      kase(async () => {
        throw new LinkError('port closed');
      }),
      lamp,
    );
    expect(link).toMatchObject({ verdict: 'error', reason: 'LinkError: port closed' });

    const thrownString = await runCase(
      kase(async () => {
        throw 'plain string';
      }),
      lamp,
    );
    expect(thrownString).toMatchObject({ verdict: 'error', reason: 'plain string' });
  });

  it('keeps a definitive failure when an error or signal follows it', async () => {
    const r = await runCase(
      kase(async (ctx) => {
        ctx.check(false, 'wrong DI in reply');
        throw new TimeoutError('no reply');
      }),
      lamp,
    );
    expect(r).toMatchObject({ verdict: 'failed', reason: 'wrong DI in reply; then: TimeoutError: no reply' });
    const s = await runCase(
      kase(async (ctx) => {
        ctx.check(false, 'bad');
        ctx.inconclusive('gave up');
      }),
      lamp,
    );
    expect(s.verdict).toBe('failed');
  });

  it('never gives a non-passed verdict an empty reason', async () => {
    const runs = await Promise.all([
      runCase(kase(async (ctx) => ctx.fail('')), lamp),
      runCase(kase(async (ctx) => void ctx.check(false, '  ')), lamp),
      runCase(kase(async (ctx) => ctx.notApplicable('')), lamp),
      runCase(kase(async (ctx) => ctx.inconclusive('')), lamp),
      runCase(
        kase(async () => {
          throw new Error('');
        }),
        lamp,
      ),
      runCase(kase(async () => undefined, { applies: () => '' }), lamp),
    ]);
    expect(runs.map((r) => r.verdict)).toEqual(['failed', 'failed', 'notApplicable', 'inconclusive', 'error', 'notApplicable']);
    for (const r of runs) expect(r.reason.trim().length).toBeGreaterThan(0);
  });

  it('turns a throwing applies() into error', async () => {
    const r = await runCase(
      kase(async () => undefined, {
        applies: () => {
          throw new Error('declaration missing');
        },
      }),
      lamp,
    );
    expect(r).toMatchObject({ verdict: 'error', reason: 'applies() threw: declaration missing' });
  });

  it('records failed steps and still maps the verdict from what was thrown', async () => {
    const r = await runCase(
      kase(async (ctx) => {
        await ctx.step('read', () => ctx.fail('no reply'));
      }),
      lamp,
    );
    expect(r).toMatchObject({ verdict: 'failed', reason: 'no reply' });
    expect(r.steps).toMatchObject([{ name: 'read', status: 'failed', error: 'CaseFailed: no reply' }]);
  });

  it('measures duration with the given clock and forwards steps and evidence to an observer', async () => {
    const clock = new VirtualClock({ autoAdvance: false });
    const seen: string[] = [];
    const observer: CaseObserver = {
      step: async (name, fn) => {
        seen.push(`step ${name}`);
        return fn();
      },
      evidence: (e) => void seen.push(`evidence ${e.name}`),
      log: () => {
        throw new Error('observer failures are ignored');
      },
    };
    const r = await runCase(
      kase(async (ctx) => {
        await ctx.step('wait', async () => {
          await clock.advance(1500);
          ctx.evidence('capture', '{}', 'application/x-ndjson');
        });
        ctx.log('done');
      }),
      lamp,
      { clock, observer },
    );
    expect(r.verdict).toBe('passed');
    expect(r.durationMs).toBe(1500);
    expect(r.steps[0]?.durationMs).toBe(1500);
    expect(seen).toEqual(['step wait', 'evidence capture']);
  });
});

describe('runCase time budget (no test runner text ever reaches a reason)', () => {
  const never = new Promise<void>(() => undefined);

  it('ends a case that outlives its budget with error, its own reason and the case\'s progress; aborts ctx.signal', async () => {
    const clock = new VirtualClock();
    let signal: AbortSignal | undefined;
    const r = await runCase(
      kase(
        async (ctx) => {
          signal = ctx.signal;
          ctx.log('waiting for the lamp');
          await never;
        },
        { progress: () => 'last exchange: power read, no reply yet' },
      ),
      lamp,
      { clock, timeoutMs: 5000 },
    );
    expect(r).toMatchObject({ verdict: 'error', reason: 'the case did not finish within 5 s: last exchange: power read, no reply yet' });
    expect(r.error).toBeInstanceOf(CaseTimeout);
    expect(r.durationMs).toBe(5000);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(CaseTimeout);
  });

  it('takes the budget from the case (timeoutMs(target)), else the default; a failure recorded before it still wins', async () => {
    const clock = new VirtualClock();
    const own = await runCase(kase(() => never, { timeoutMs: (t) => t.watts * 1000 }), lamp, { clock });
    expect(own.reason).toBe('the case did not finish within 12 s');
    const start = clock.now();
    const byDefault = await runCase(kase(() => never), lamp, { clock });
    expect(clock.now() - start).toBe(DEFAULT_CASE_TIMEOUT_MS);
    expect(byDefault.verdict).toBe('error');
    const failedFirst = await runCase(
      kase(async (ctx) => {
        ctx.check(false, 'the lamp flickered');
        await never;
      }),
      lamp,
      { clock, timeoutMs: 800 },
    );
    expect(failedFirst).toMatchObject({ verdict: 'failed', reason: 'the lamp flickered; then: the case did not finish within 800 ms' });
  });

  it('ignores whatever a case records after its verdict was taken, and leaves no timer behind', async () => {
    const clock = new VirtualClock();
    let release!: () => void;
    const late = new Promise<void>((resolve) => (release = resolve));
    let ctxAfter: CheckContext | undefined;
    const r = await runCase(
      kase(async (ctx) => {
        ctxAfter = ctx;
        await late;
        ctx.check(false, 'too late');
        ctx.evidence('late', 'x');
        ctx.log('late');
      }),
      lamp,
      { clock, timeoutMs: 100 },
    );
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ctxAfter?.signal.aborted).toBe(true);
    expect(r.evidence).toEqual([]);
    expect(r.log).toEqual([]);
    expect(r.reason).toBe('the case did not finish within 100 ms');
    const quick = await runCase(kase(async () => undefined), lamp, { clock, timeoutMs: 100 });
    expect(quick.verdict).toBe('passed');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('verdict helpers', () => {
  it('formats and checks limits', () => {
    expect(formatLimit({ min: 20, max: 500 })).toBe('20..500');
    expect(formatLimit({ max: 10 })).toBe('<= 10');
    expect(formatLimit({ min: 99.5 })).toBe('>= 99.5');
    expect(formatLimit({})).toBe('');
    expect(withinLimit(20, { min: 20, max: 500 })).toBe(true);
    expect(withinLimit(500.1, { min: 20, max: 500 })).toBe(false);
    expect(withinLimit(Number.NaN, {})).toBe(false);
  });

  it('counts verdicts; a run passes only without failed or error', () => {
    const counts = countVerdicts(['passed', 'notApplicable', 'inconclusive']);
    expect(counts).toEqual({ passed: 1, failed: 0, inconclusive: 1, notApplicable: 1, error: 0 });
    expect(isRunPassing(counts)).toBe(true);
    expect(isRunPassing(countVerdicts(['passed', 'error']))).toBe(false);
    expect(isRunPassing(countVerdicts(['failed']))).toBe(false);
  });
});

describe('validateCases', () => {
  it('accepts well-formed cases and reports unknown requirements, bad and duplicate ids', () => {
    const ok = kase(async () => undefined);
    expect(validateCases([ok])).toEqual([]);
    const problems = validateCases([
      ok,
      { ...ok, title: 'another' },
      { ...ok, id: 'Bad Id', title: 'third' },
      { ...ok, id: 'demo.other', title: 'fourth', requirement: 'NOPE-01' },
    ]);
    expect(problems).toEqual([
      'case "demo.case": duplicate id',
      'case "Bad Id": id must look like "suite.kebab-name"',
      'case "demo.other": unknown requirement "NOPE-01" (not in suites/requirements/catalog.ts)',
    ]);
  });

  it('the catalog itself has unique ids', () => {
    expect(new Set(REQUIREMENTS.map((r) => r.id)).size).toBe(REQUIREMENTS.length);
  });
});
