/**
 * The programming suite judged against known devices:
 * - the reference meter passes every case over each simulated transport (RS-485 bus model, the
 *   serialport mock binding, an in-memory pair);
 * - each deliberately broken variant fails the case that names its defect, with a reason that
 *   says what went wrong — that is how we know a case can catch the defect at all;
 * - on a real meter the destructive cases wait for the profile's opt-in, and the 17H cases for a
 *   line the harness can switch; every skip names the field.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTargetProfile, openTarget, parseTargetProfile, referenceTargetProfile, type Target, type TargetProfile } from '../../harness/targets/index.ts';
import { runCase, runCases as runCasesOn, verdictLines, type CaseResult } from '../framework/case.ts';
import { getRequirement } from '../requirements/catalog.ts';
import { programmingCases } from './cases.ts';

async function runCases(profile: TargetProfile, ids?: readonly string[]): Promise<CaseResult[]> {
  const target = await openTarget(profile, { describe: false });
  try {
    return await runCasesOn(programmingCases, target, ids);
  } finally {
    await target.close();
  }
}


describe('programming suite against the reference meter', () => {
  it('ties every case to a requirement in the catalog', () => {
    for (const c of programmingCases) expect(() => getRequirement(c.requirement), c.id).not.toThrow();
    expect(new Set(programmingCases.map((c) => c.id)).size).toBe(programmingCases.length);
  });

  it.each(['bus', 'mock-serial', 'memory'] as const)('passes every case over the %s transport', async (transport) => {
    const results = await runCases(referenceTargetProfile({ transport }));
    expect(verdictLines(results)).toEqual(programmingCases.map((c) => `${c.id}: passed`));
  });

  it('leaves the meter as it found it: address, password, line rate and written value restored', async () => {
    const target = await openTarget(referenceTargetProfile(), { describe: false });
    try {
      const before = target.simulator!.model.readValue('04001001');
      const clears = new Set(['programming.clear-max-demand', 'programming.event-clear', 'programming.meter-clear']);
      for (const c of programmingCases.filter((c) => !clears.has(c.id))) {
        expect((await runCase(c, target)).verdict, c.id).toBe('passed');
      }
      expect(target.simulator!.model.address).toBe('123456789012');
      expect(target.simulator!.server.baudRate).toBe(2400);
      expect(target.simulator!.model.readValue('04001001')).toEqual(before);
      expect(target.simulator!.model.checkPassword({ level: 4, value: '123456' }, 4)).toBe(true);
    } finally {
      await target.close();
    }
  });
});

describe('broken variants fail the matching case', () => {
  // [behaviour stacked on the reference meter, the case that must fail, what its reason must say]
  const table: [string, string, RegExp][] = [
    ['refuse-all-writes', 'programming.write-read-back', /write of 04001001 = 20\.01 .* abnormal reply to 14H, error word 04H, not the normal reply 94H/],
    ['silent-on-write', 'programming.write-read-back', /write of 04001001 = 20\.01 .*: no reply \(expected 94H\)/],
    ['write-not-stored', 'programming.write-read-back', /04001001 reads 00 20 00 00 after a write of 20\.01 .* acknowledged with 94H: the value was not stored/],
    ['accept-wrong-password-for-clears', 'programming.clear-max-demand', /19H with a wrong password was answered with clearMaxDemandResponse .* not the abnormal reply D9H/],
    ['accept-wrong-password-for-clears', 'programming.meter-clear', /1AH with a wrong password was answered with meterClearResponse/],
    ['accept-wrong-password-for-clears', 'programming.event-clear', /1BH \(all events\) with a wrong password was answered with eventClearResponse/],
    ['change-password-without-old', 'programming.change-password', /18H for 04000C05 with a wrong old password was accepted \(98H\)/],
    ['baud-rate-not-applied', 'programming.change-baud-rate', /does not answer at 4800 bit\/s and still answers at 2400 bit\/s: the new rate was never applied/],
    ['bcd-baud-feature-words', 'programming.change-baud-rate', /17H to 4800 bit\/s \(Z = 10H\) was refused with error word 08H/],
    ['bcd-baud-feature-words', 'programming.baud-rate-wrong-feature-word', /Z = 32H: the BCD of 9600 \/ 300.* was answered with undecodable bytes/],
    ['weak-password-level', 'programming.password-levels', /19H maximum-demand clear with the level 04 password .* not the abnormal reply D9H with bit 2/],
    ['freeze-not-recorded', 'programming.broadcast-freeze', /05010001 still reads 00 00 00 00 00 after the broadcast freeze: no record was frozen/],
    ['reply-to-broadcast', 'programming.broadcast-freeze', /broadcast freeze was answered/],
    // Error words and addressing the mutation run found unchecked (mutation/SURVIVORS.md).
    ['write-unknown-silent', 'programming.write-refusals', /write of 0F0F0F0F \(no identifier of the standard\): no reply, expected the abnormal reply D4H with error word 02H/],
    ['write-refusals-other-error', 'programming.write-refusals', /read-only 02010100 .* = AA AA \(not BCD\) got error word 01H .*expected 04H or 02H alone/],
    ['write-refusals-other-error', 'programming.write-refusals', /write of 04000103 \(maximum demand period\) = its own value .* got error word 01H/],
    ['accept-refused-value', 'programming.write-refusals', /write of 04001001 = 9\.99 while 04001002 = 10 \(alarm level 1 below level 2, FEE-02\) was answered with writeDataResponse/],
    ['stale-follow-up', 'programming.follow-up-without-read', /12H for 0506FF01 SEQ 1 right after an 11H of 0506FF02 carries .*: those are the bytes of 0506FF02, the item of the last 11H/],
    ['follow-up-unknown-silent', 'programming.follow-up-without-read', /12H for 03010000 \(meter\.unsupportedIdentifier\) SEQ 1: no reply, expected the abnormal reply D2H with error word 02H/],
    ['accept-undeclared-baud-rate', 'programming.baud-rate-wrong-feature-word', /17H to 600 bit\/s \(Z = 02H\), a rate meter\.baudRates does not declare was answered with changeBaudResponse/],
    ['refuse-line-rate-change', 'programming.change-baud-rate', /17H to the line rate 2400 bit\/s \(Z = 08H\) was answered with abnormal reply to 17H, error word 08H, not 97H \+ 08H/],
    ['change-password-unknown-as-unauthorised', 'programming.change-password', /18H for 04000C0B \(no password level\) with the right old password got error word 04H .*expected 02H alone/],
    ['bcd-passwords-only', 'programming.change-password', /write with the new level 04 password is refused after the 98H reply/],
    ['silent-on-malformed-control', 'programming.malformed-data-field', /a 1CH of 15 bytes \(the valid-until one byte short\): no reply, expected the abnormal reply DCH with bit 0 "other error"/],
    ['reply-to-unicast-time-sync', 'programming.time-sync-own-address', /time sync \(08H\) to the meter's own address 123456789012 was answered/],
    ['write-address-any-address', 'programming.write-address', /15H with the new address 123456789062 sent to the meter's own address 123456789012 \(not AAAAAAAAAAAA\) was answered/],
  ];

  it.each(table)('%s fails %s', async (behaviour, caseId, reason) => {
    const [result] = await runCases(referenceTargetProfile({ behaviours: [{ name: behaviour }] }), [caseId]);
    expect(result, `case ${caseId} did not run`).toBeDefined();
    expect(result!.verdict, result!.reason).toBe('failed');
    expect(result!.reason).toMatch(reason);
    expect(result!.evidence.some((e) => e.name === 'frames'), 'frames are attached as evidence').toBe(true);
  });

  it('1DH: a declared output type the meter refuses, or an undeclared one it accepts, fails programming.multi-function-output', async () => {
    const ref = referenceTargetProfile();
    const declaring = (outputs: string[]) => ({ ...ref, meter: { ...ref.meter, multiFunctionOutputs: outputs } });
    const [passes] = await runCases(ref, ['programming.multi-function-output']);
    expect(passes!.verdict, passes!.reason).toBe('passed');
    // The simulator switches to 00..02 only: 03 declared but refused.
    const [refused] = await runCases(declaring(['00', '01', '02', '03']), ['programming.multi-function-output']);
    expect(refused!.verdict).toBe('failed');
    expect(refused!.reason).toMatch(/1DH to output type 03H \(declared in meter\.multiFunctionOutputs\) was answered with abnormal reply to 1DH, error word 01H.*, not 9DH/);
    // Declared 00 only: the meter also takes 01, which its declaration says it lacks.
    const [accepted] = await runCases(declaring(['00']), ['programming.multi-function-output']);
    expect(accepted!.verdict).toBe('failed');
    expect(accepted!.reason).toMatch(/1DH to output type 01H \(not in meter\.multiFunctionOutputs\) was answered with multiFunctionOutputResponse.*not the abnormal reply DDH/);
    expect(accepted!.evidence.some((e) => e.name === 'frames')).toBe(true);
  });

  it('a meter that never applies a 17H rate is still found and brought home for the next cases', async () => {
    const target = await openTarget(referenceTargetProfile({ behaviours: [{ name: 'bcd-baud-feature-words' }] }), { describe: false });
    try {
      const byId = (id: string) => programmingCases.find((c) => c.id === id)!;
      const wrongWords = await runCase(byId('programming.baud-rate-wrong-feature-word'), target);
      // It took 16H as 4800 bit/s and 32H as 9600 bit/s (its coding): found there, sent back.
      expect(wrongWords.reason).toMatch(/stopped answering at 2400 bit\/s after .* \(it was found at 4800 bit\/s\)/);
      expect(wrongWords.reason).toMatch(/\(it was found at 9600 bit\/s\)/);
      expect(target.simulator!.server.baudRate).toBe(2400);
      const write = await runCase(byId('programming.write-read-back'), target);
      expect(write.verdict, write.reason).toBe('passed');
    } finally {
      await target.close();
    }
  });

  it('the checked-in profile reference-broken-bcd-baud-words.json fails the 17H cases', async () => {
    const profile = loadTargetProfile(resolve(import.meta.dirname, '../profiles/reference-broken-bcd-baud-words.json'));
    const results = await runCases(profile, ['programming.change-baud-rate', 'programming.baud-rate-wrong-feature-word']);
    expect(results.map((r) => r.verdict)).toEqual(['failed', 'failed']);
  });

  it('a dead meter passes nothing: every case is inconclusive', async () => {
    const results = await runCases(referenceTargetProfile({ behaviours: [{ name: 'silent' }] }));
    for (const r of results) {
      expect(r.verdict, r.id).toBe('inconclusive');
      expect(r.reason).toMatch(/meter not answering since .*no reply/);
    }
  });
});

describe('gating by the declaration', () => {
  const meter = {
    address: '123456789012',
    identifiers: ['00010000', '01010000', '03300000', '04000101', '04000102', '04001001', '05010001', '05010101'],
    passwords: { '02': '000000', '04': '123456' },
    baudRates: [2400, 9600],
    capabilities: { writeAddress: true, changePassword: true, clearMaxDemand: true, meterClear: true, eventClear: true },
  };
  /** What `applies()` sees of a real meter: the profile, the kind of link, and whether the line rate can be switched. */
  const realMeter = (json: Record<string, unknown>, canSwitch = true): Target =>
    ({ ...(canSwitch ? { setBaudRate: async () => undefined } : {}), kind: (json.connection as { type: 'serial' | 'tcp' }).type, profile: parseTargetProfile(json) }) as unknown as Target;
  const reasons = (t: Target): Record<string, string | null> => Object.fromEntries(programmingCases.map((c) => [c.id, c.applies?.(t) ?? null]));

  it('on a real meter the destructive cases need the profile opt-in, and say which field', () => {
    const t = realMeter({ name: 'vendor', connection: { type: 'serial', path: '/dev/ttyUSB0' }, meter });
    const r = reasons(t);
    expect(r['programming.write-address']).toMatch(/^destructive .*allowDestructive\.addressWrite: true/);
    expect(r['programming.change-password']).toMatch(/allowDestructive\.passwordChange: true/);
    expect(r['programming.clear-max-demand']).toMatch(/allowDestructive\.maxDemandClear: true/);
    expect(r['programming.meter-clear']).toMatch(/allowDestructive\.meterClear: true/);
    expect(r['programming.event-clear']).toMatch(/allowDestructive\.eventClear: true/);
    expect(r['programming.password-levels']).toMatch(/allowDestructive\.maxDemandClear: true/);
    // Harmless ones run.
    expect(r['programming.write-read-back']).toBeNull();
    expect(r['programming.change-baud-rate']).toBeNull();
    const allowed = realMeter({
      name: 'vendor',
      connection: { type: 'serial', path: '/dev/ttyUSB0' },
      meter,
      allowDestructive: { addressWrite: true, passwordChange: true, maxDemandClear: true, meterClear: true, eventClear: true },
    });
    expect(Object.entries(reasons(allowed)).filter(([, x]) => x !== null)).toEqual([
      ['programming.follow-up-without-read', 'meter.followUpIdentifiers is empty'],
      ['programming.follow-up-sequence-out-of-range', 'meter.followUpIdentifiers is empty'],
      ['programming.multi-function-output', 'meter.multiFunctionOutputs is empty'],
    ]);
  });

  it('behind a TCP serial server the 17H cases are not applicable (the line rate cannot be followed)', () => {
    const r = reasons(realMeter({ name: 'vendor', connection: { type: 'tcp', host: '127.0.0.1', port: 4001 }, meter }, false));
    expect(r['programming.change-baud-rate']).toMatch(/^connection\.type tcp: the harness cannot follow a rate change/);
    expect(r['programming.baud-rate-wrong-feature-word']).toMatch(/^connection\.type tcp/);
  });

  it('a meter that declares nothing programmable skips with the field names', () => {
    const r = reasons(realMeter({ name: 'vendor', connection: { type: 'serial', path: '/dev/ttyUSB0' }, meter: { address: '123456789012', identifiers: ['00010000'] } }));
    expect(r).toMatchObject({
      'programming.malformed-data-field': null,
      'programming.write-read-back': 'meter.passwords declares no level-04 password (meter.passwordLevels.writeData = "04")',
      'programming.change-baud-rate': 'meter.baudRates declares no rate other than the line rate 2400 bit/s',
      'programming.write-address': 'meter.capabilities.writeAddress is false',
      'programming.change-password': 'meter.capabilities.changePassword is false',
      'programming.clear-max-demand': 'meter.capabilities.clearMaxDemand is false',
      'programming.meter-clear': 'meter.capabilities.meterClear is false',
      'programming.event-clear': 'meter.capabilities.eventClear is false',
      'programming.follow-up-sequence-out-of-range': 'meter.followUpIdentifiers is empty',
      'programming.follow-up-without-read': 'meter.followUpIdentifiers is empty',
      'programming.broadcast-freeze': 'meter.freezeIdentifiers.time 05010001 is not declared in meter.identifiers',
    });
  });
});
