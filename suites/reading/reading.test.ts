/**
 * The reading suite judged against known devices:
 * - the reference meter passes every case over each simulated transport (RS-485 bus model,
 *   the serialport mock binding, an in-memory pair);
 * - each deliberately broken variant fails the case that names its defect — that is how we know
 *   a case can catch the defect at all.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../harness/core/clock.ts';
import {
  loadTargetProfile,
  openTarget,
  parseTargetProfile,
  referenceTargetProfile,
  type Target,
  type TargetProfile,
} from '../../harness/targets/index.ts';
import { runCase, runCases as runCasesOn, verdictLines, type CaseResult } from '../framework/case.ts';
import { programmingCases } from '../programming/cases.ts';
import { getRequirement } from '../requirements/catalog.ts';
import { readingCases } from './cases.ts';

const PROFILES = resolve(import.meta.dirname, '../profiles');

async function runCases(profile: TargetProfile, ids?: readonly string[], clock?: VirtualClock): Promise<CaseResult[]> {
  const target = await openTarget(profile, { describe: false, ...(clock ? { clock } : {}) });
  try {
    return await runCasesOn(readingCases, target, ids);
  } finally {
    await target.close();
  }
}

function caseById(id: string) {
  const c = readingCases.find((k) => k.id === id);
  if (!c) throw new Error(`no case ${id}`);
  return c;
}


describe('reading suite against the reference meter', () => {
  it('ties every case to a requirement in the catalog', () => {
    for (const c of readingCases) expect(() => getRequirement(c.requirement), c.id).not.toThrow();
    expect(new Set(readingCases.map((c) => c.id)).size).toBe(readingCases.length);
  });

  it.each(['bus', 'mock-serial', 'memory'] as const)('passes every case over the %s transport', async (transport) => {
    const results = await runCases(referenceTargetProfile({ transport }));
    expect(results).toHaveLength(readingCases.length);
    expect(verdictLines(results)).toEqual(readingCases.map((c) => (c.id === UNDECLARED ? REFERENCE_DECLARES_ALL : `${c.id}: passed`)));
  });
});

/** The case that checks what a declaration turns off: not applicable to the reference, which declares everything. */
const UNDECLARED = 'reading.undeclared-refused';
const REFERENCE_DECLARES_ALL = `${UNDECLARED}: notApplicable — meter.capabilities declares readWithWildcard, readAddressWithWildcard, writeData, freeze and changePassword all true`;

type Behaviours = { name: string; [p: string]: unknown }[];
type ProfileJson = { connection: { simulator: { simulation: Record<string, unknown> } } & Record<string, unknown> };

/** A checked-in profile, with `behaviours` stacked on its simulator and `edit` applied to its JSON when given. */
function checkedInProfile(name: string, behaviours: Behaviours = [], edit: (json: ProfileJson) => void = () => undefined): TargetProfile {
  const file = resolve(PROFILES, name);
  const json = JSON.parse(readFileSync(file, 'utf8')) as ProfileJson;
  edit(json);
  return parseTargetProfile({ ...json, connection: { ...json.connection, behaviours } }, { source: file, baseDir: PROFILES });
}

/** reference-minimal.json, with `behaviours` stacked on its simulator when given. */
function minimalProfile(behaviours: Behaviours = []): TargetProfile {
  return checkedInProfile('reference-minimal.json', behaviours);
}

describe('a second conformant declaration: reference-minimal.json (what the mutation kill test also runs)', () => {
  // Wildcard reads, follow-up, write, freeze, password change and event clear off; 16-byte frames;
  // Td drawn in 30..450 ms; 02010100 served by the model but not declared (its unsupportedIdentifier).
  const gated: Record<string, string> = {
    'reading.read-address-wildcard': 'meter.capabilities.readAddressWithWildcard is false',
    'reading.read-with-wildcard': 'meter.capabilities.readWithWildcard is false',
    'reading.freeze': 'meter.capabilities.freeze is false',
    'reading.follow-up': 'meter.capabilities.followUp is false',
    'reading.wrong-password': 'meter.capabilities.writeData is false',
  };

  it('passes every reading case; the ones its declaration gates are not applicable and say which field', async () => {
    const results = await runCases(minimalProfile());
    expect(verdictLines(results)).toEqual(readingCases.map((c) => (gated[c.id] ? `${c.id}: notApplicable — ${gated[c.id]}` : `${c.id}: passed`)));
  });

  it('passes every programming case (passed or not applicable)', async () => {
    const target = await openTarget(minimalProfile(), { describe: false });
    try {
      const results = await runCasesOn(programmingCases, target);
      for (const r of results) expect(['passed', 'notApplicable'], `${r.id}: ${r.reason}`).toContain(r.verdict);
      expect(results.filter((r) => r.verdict === 'passed').map((r) => r.id)).toEqual(
        expect.arrayContaining(['programming.malformed-data-field', 'programming.write-address', 'programming.change-baud-rate', 'programming.meter-clear']),
      );
    } finally {
      await target.close();
    }
  });

  it('the simulator honours the declaration: the refusals are really checked (not skipped)', async () => {
    const [r] = await runCases(minimalProfile(), [UNDECLARED]);
    expect(r!.verdict, r!.reason).toBe('passed');
    const frames = r!.evidence.find((e) => e.name === 'frames')!.body as string;
    // 11H, 12H and 13H to AAAAAAAAAAAA, then the 14H, 16H and 18H refused with D4H, D6H, D8H.
    for (const line of [/ tx .*68 AA AA AA AA AA AA 68 11 /, / tx .*68 AA AA AA AA AA AA 68 12 /, / tx .*68 AA AA AA AA AA AA 68 13 /, / rx .*68 D4 /, / rx .*68 D6 /, / rx .*68 D8 /]) {
      expect(frames).toMatch(line);
    }
  });

  // [capability the meter serves though its declaration turns it off, what the reason must say]
  it.each([
    ['readWithWildcard', /a read of 00010000 sent to AAAAAAAAAAAA \(meter\.capabilities\.readWithWildcard false\) was answered/],
    ['readAddressWithWildcard', /a read address \(13H\) sent to AAAAAAAAAAAA \(meter\.capabilities\.readAddressWithWildcard false\) was answered/],
    ['writeData', /a write \(14H\) of 04001001 with the level-04 password was answered with writeDataResponse .* though meter\.capabilities\.writeData is false/],
    ['freeze', /a freeze \(16H\) was answered with freezeResponse .* though meter\.capabilities\.freeze is false/],
    ['changePassword', /a password change \(18H\) of 04000C03 with the right old password was answered with changePasswordResponse .* though meter\.capabilities\.changePassword is false/],
  ])('a meter serving %s though declared off fails reading.undeclared-refused', async (capability, reason) => {
    const [r] = await runCases(minimalProfile([{ name: 'exceeds-declaration', capabilities: [capability] }]), [UNDECLARED]);
    expect(r!.verdict, r!.reason).toBe('failed');
    expect(r!.reason).toMatch(reason);
  });

  it('on a real meter (seen as a serial target) only the wildcard refusals are judged: a capability declared false is no claim of refusal', async () => {
    // A meter doing 14H, 16H and 18H though its profile says false (discover's draft does that) is not failed ...
    const lenient = await openTarget(minimalProfile([{ name: 'exceeds-declaration', capabilities: ['writeData', 'freeze', 'changePassword'] }]), { describe: false });
    try {
      const r = await runCase(caseById(UNDECLARED), { ...lenient, kind: 'serial' } as Target);
      expect(r.verdict, r.reason).toBe('passed');
      expect(r.evidence.find((e) => e.name === 'frames')!.body).not.toMatch(/ rx .*68 (94|96|98|D4|D6|D8) /);
    } finally {
      await lenient.close();
    }
    // ... one answering the wildcard it declares it does not is.
    const strict = await openTarget(minimalProfile([{ name: 'exceeds-declaration', capabilities: ['readAddressWithWildcard'] }]), { describe: false });
    try {
      const r = await runCase(caseById(UNDECLARED), { ...strict, kind: 'serial' } as Target);
      expect(r.verdict, r.reason).toBe('failed');
      expect(r.reason).toMatch(/^a read address \(13H\) sent to AAAAAAAAAAAA .* was answered/);
    } finally {
      await strict.close();
    }
  });

  it('a meter answering an identifier it serves but does not declare fails reading.unsupported-identifier', async () => {
    const [r] = await runCases(minimalProfile([{ name: 'unsupported-as-zero' }]), ['reading.unsupported-identifier']);
    expect(r!.verdict, r!.reason).toBe('failed');
    expect(r!.reason).toMatch(/02010100 \(meter\.unsupportedIdentifier\) was answered with data/);
  });
});

describe('broken variants fail the matching case', () => {
  // [behaviour stacked on the reference meter, the case that must fail, what its reason must say]
  const table: [string, string, RegExp][] = [
    ['wrong-checksum', 'reading.reply-frame-format', /checksum/i],
    ['wrong-address-reply', 'reading.reply-frame-format', /reply address .* is not the meter's address 123456789012/],
    ['echo-wildcard', 'reading.read-with-wildcard', /AAAAAAAAAAAA.*echoes the wildcard/],
    ['echo-wildcard', 'reading.read-address-wildcard', /AAAAAAAAAAAA, not the meter's own 123456789012/],
    ['late-reply', 'reading.response-delay', /Td (min|median|max) .*600.*outside 20\.\.500|Td .* 600/],
    ['ignore-follow-up', 'reading.follow-up', /follow-up|SEQ|frames/i],
    ['reply-to-broadcast', 'reading.broadcast-not-answered', /broadcast .* was answered/],
    ['answer-bad-checksum', 'reading.bad-frames-ignored', /wrong checksum [0-9A-F]{2}H was answered/],
    ['comms-on-battery', 'reading.power-loss', /^a read of 00010000 whose reply was waiting out Td when the mains were cut was answered without mains: FE FE FE FE 68 .*; a read of 00010000 whose first \d+ bytes arrived before a 100 ms mains cut and the rest after it was answered: FE FE FE FE 68 .*; a read of 00010000 sent while the mains were off \(restored 5 ms after its last byte\) was answered: FE FE FE FE 68 /],
    ['answer-replies', 'reading.bad-frames-ignored', /^a frame with the direction bit D7 set \(C = 91H\) and a 2-byte data field, addressed to the meter was answered: abnormal reply to 11H, error word 01H$/],
    ['unsupported-as-zero', 'reading.unsupported-identifier', /not the abnormal reply D1H: if the meter does support 03010000, set meter\.unsupportedIdentifier in the target profile/],
    ['clock-not-set', 'reading.read-declared-identifiers', /04000101 \(date and weekday\): 04000101 is not a calendar date/],
    ['accept-wrong-password', 'reading.wrong-password', /not the abnormal reply D4H/],
    ['ignore-time-sync', 'reading.broadcast-time-sync', /clock error after sync 9\d(\.\d+)? s outside/],
  ];

  it.each(table)('%s fails %s', async (behaviour, caseId, reason) => {
    const [result] = await runCases(referenceTargetProfile({ behaviours: [{ name: behaviour }] }), [caseId]);
    expect(result, `case ${caseId} did not run`).toBeDefined();
    expect(result!.verdict, result!.reason).toBe('failed');
    expect(result!.reason).toMatch(reason);
    expect(result!.evidence.some((e) => e.name === 'frames'), 'frames are attached as evidence').toBe(true);
  });

  it('a late meter fails only on timing: its values are still read correctly', async () => {
    const results = await runCases(referenceTargetProfile({ behaviours: [{ name: 'late-reply', delayMs: 600 }] }), [
      'reading.response-delay',
      'reading.read-declared-identifiers',
    ]);
    expect(verdictLines(results)).toEqual([
      'reading.read-declared-identifiers: passed',
      expect.stringMatching(/^reading\.response-delay: failed — .*600/),
    ]);
    const td = results.find((r) => r.id === 'reading.response-delay')!.measurements.find((m) => m.name === 'Td median')!;
    expect(td).toMatchObject({ value: expect.closeTo(600, 0), unit: 'ms', ok: false });
  });

  // The checked-in broken profiles are what a user runs with `meterlab run --target …`.
  it.each([
    ['reference-broken-checksum.json', 'reading.reply-frame-format'],
    ['reference-broken-echo-wildcard.json', 'reading.read-with-wildcard'],
    ['reference-broken-late-reply.json', 'reading.response-delay'],
    ['reference-broken-no-follow-up.json', 'reading.follow-up'],
    ['reference-broken-deaf-parser.json', 'reading.spurious-framing-bytes'],
    ['reference-broken-nameplate-address.json', 'reading.read-address-wildcard'],
  ])('profile %s fails %s', async (file, caseId) => {
    const [result] = await runCases(loadTargetProfile(resolve(PROFILES, file)), [caseId]);
    expect(result!.verdict, result!.reason).toBe('failed');
  });
});

describe('a third conformant declaration: reference-small-frames.json (meter.maxFrameDataLength 16; also in the kill test)', () => {
  it('passes every reading and programming case (read address through the wildcard is not applicable)', async () => {
    const profile = checkedInProfile('reference-small-frames.json');
    expect(verdictLines(await runCases(profile))).toEqual(
      readingCases.map((c) =>
        c.id === 'reading.read-address-wildcard' ? `${c.id}: notApplicable — meter.capabilities.readAddressWithWildcard is false` : `${c.id}: passed`,
      ),
    );
    const target = await openTarget(profile, { describe: false });
    try {
      const results = await runCasesOn(programmingCases, target);
      expect(verdictLines(results).filter((l) => !l.endsWith(': passed'))).toEqual([]);
    } finally {
      await target.close();
    }
  });

  it('the long values really come in follow-up frames of at most 16 data bytes', async () => {
    const target = await openTarget(checkedInProfile('reference-small-frames.json'), { describe: false });
    try {
      const r = await target.master.readData('112233445566', '03300001');
      expect(r.exchanges.length).toBeGreaterThan(4);
      for (const x of r.exchanges) expect(x.reply!.frame.data.length).toBeLessThanOrEqual(16);
    } finally {
      await target.close();
    }
  });

  it('a meter sending frames longer than it declares (40 data bytes, 16 declared) fails read-declared-identifiers and follow-up', async () => {
    const profile = checkedInProfile('reference-small-frames.json', [], (json) => {
      json.connection.simulator.simulation.maxFrameDataLength = 40;
    });
    const results = await runCases(profile, ['reading.read-declared-identifiers', 'reading.follow-up']);
    expect(results.map((r) => r.verdict)).toEqual(['failed', 'failed']);
    expect(results[0]!.reason).toMatch(/^\d+ identifier\(s\) came in frames whose data field exceeds meter\.maxFrameDataLength 16: 03300001 \(SEQ 2: L = 40\); 0506FF01 \(SEQ 1: L = 25, SEQ 2: L = 25\)$/);
    expect(results[1]!.reason).toMatch(/0506FF01: SEQ 1: L = \d\d, above meter\.maxFrameDataLength 16/);
  });
});

describe('the reference over byte-by-byte bus delivery: reference-byte-delivery.json (also in the kill test)', () => {
  it('passes every reading and programming case with the meter parsing byte by byte', async () => {
    const profile = checkedInProfile('reference-byte-delivery.json');
    expect(profile.connection).toMatchObject({ type: 'reference', transport: 'bus', delivery: 'byte' });
    // As for the built-in reference: everything passes but the refusals its declaration has none of.
    expect(verdictLines(await runCases(profile)).filter((l) => !l.endsWith(': passed'))).toEqual([
      'reading.undeclared-refused: notApplicable — meter.capabilities declares readWithWildcard, readAddressWithWildcard, writeData, freeze and changePassword all true',
    ]);
    const target = await openTarget(profile, { describe: false });
    try {
      expect(verdictLines(await runCasesOn(programmingCases, target)).filter((l) => !l.endsWith(': passed'))).toEqual([]);
    } finally {
      await target.close();
    }
  });

  it('delivery is refused on a transport that is not the bus, naming the field', () => {
    expect(() => parseTargetProfile({ name: 'x', connection: { type: 'reference', transport: 'memory', delivery: 'byte' } }, { source: 'x.json' })).toThrow(
      'target profile x.json: connection.delivery: applies to transport "bus" only (this profile\'s transport is "memory")',
    );
  });
});

describe('follow-up frames only where the declaration lists them', () => {
  it('a block that comes in several frames (B1H) though meter.followUpIdentifiers does not list it fails reading.read-declared-identifiers', async () => {
    // The simulator splits 0506FF01 at its members (its own declaration lists it); the target
    // profile declares it without follow-up: what a meter that splits an unlisted block looks like.
    const ref = referenceTargetProfile();
    const profile = { ...ref, meter: { ...ref.meter, identifiers: ['00010000', '0506FF01', '0001FF00'], followUpIdentifiers: [] } };
    const [r] = await runCases(profile, ['reading.read-declared-identifiers']);
    expect(r!.verdict, r!.reason).toBe('failed');
    expect(r!.reason).toMatch(
      /^1 identifier\(s\) not in meter\.followUpIdentifiers came in several frames: 0506FF01 \(daily freeze data block, last 1st daily freeze\) in 3 frame\(s\), the first with the follow-up bit D5 \(B1H\) \(declare there/,
    );
    expect(r!.reason).not.toMatch(/0001FF00/);
  });
});

describe('a meter that does not answer earns no pass', () => {
  const allowed = new Set(['inconclusive', 'notApplicable']);

  it('nothing answers (a silent meter on the bus): every case is inconclusive, "meter not answering"', async () => {
    const results = await runCases(referenceTargetProfile({ behaviours: [{ name: 'silent' }] }));
    expect(results).toHaveLength(readingCases.length);
    for (const r of results) {
      expect(allowed.has(r.verdict), `${r.id}: ${r.verdict} — ${r.reason}`).toBe(true);
      if (r.verdict === 'inconclusive') expect(r.reason).toMatch(/^meter not answering since the target was opened/);
    }
  });

  describe('a TCP serial server that accepts and never answers (issue 5), cases run directly without the pre-flight', () => {
    let server: Server;
    const sockets = new Set<Socket>();
    let port = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on('data', () => undefined); // swallow everything, answer nothing
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    });

    it('no case passes: every one is inconclusive (or not applicable)', async () => {
      const profile = parseTargetProfile({
        name: 'silent-tcp',
        connection: { type: 'tcp', host: '127.0.0.1', port },
        meter: referenceTargetProfile().meter,
      });
      // Virtual time: the silence costs no wall time (nothing is ever received to pace it).
      const results = await runCases(profile, undefined, new VirtualClock());
      expect(results).toHaveLength(readingCases.length);
      for (const r of results) {
        expect(allowed.has(r.verdict), `${r.id}: ${r.verdict} — ${r.reason}`).toBe(true);
        expect(r.reason).not.toMatch(/timed out in \d+ms/);
      }
      expect(results.find((r) => r.id === 'reading.bad-frames-ignored')!.reason).toMatch(/^meter not answering/);
      expect(results.find((r) => r.id === 'reading.broadcast-not-answered')!.reason).toMatch(/^meter not answering/);
    });
  });
});

describe('one defect, one failed requirement', () => {
  it('a parser that goes deaf after a spurious 68H fails spurious-framing-bytes, and only it: the later cases are inconclusive', async () => {
    const results = await runCases(referenceTargetProfile({ behaviours: [{ name: 'deaf-after-spurious-start' }] }));
    const at = results.findIndex((r) => r.id === 'reading.spurious-framing-bytes');
    expect(at).toBeGreaterThan(0);
    expect(at, 'some cases run after the robustness case').toBeLessThan(results.length - 1);
    const robustness = results[at]!;
    expect(robustness.verdict, robustness.reason).toBe('failed');
    expect(robustness.reason).toMatch(/^the meter stopped answering after a read of \w+ whose wrong checksum byte is 68H \(a spurious start character\)/);
    expect(verdictLines(results.slice(0, at))).toEqual(readingCases.slice(0, at).map((c) => `${c.id}: passed`));
    for (const r of results.slice(at + 1)) {
      if (r.id === UNDECLARED) continue; // not applicable to the reference's declaration
      expect(r.verdict, `${r.id}: ${r.reason}`).toBe('inconclusive');
      expect(r.reason).toMatch(/^meter not answering since reading\.spurious-framing-bytes: /);
    }
  });

  it('the frames other cases send carry no spurious 68H/16H: the deaf meter survives every case but the robustness one', async () => {
    const ids = readingCases.map((c) => c.id).filter((id) => id !== 'reading.spurious-framing-bytes' && id !== UNDECLARED);
    const results = await runCases(referenceTargetProfile({ behaviours: [{ name: 'deaf-after-spurious-start' }] }), ids);
    expect(verdictLines(results)).toEqual(ids.map((id) => `${id}: passed`));
  });

  it('a meter keeping its address in nameplate order: the failures name the byte order, the cases that need the address are inconclusive', async () => {
    const results = await runCases(referenceTargetProfile({ behaviours: [{ name: 'address-nameplate-order' }] }));
    const byteOrder = /nameplate byte order: it sends 12 34 56 78 90 12 \(read as 129078563412\), the declared 123456789012 as printed/;
    const failed = results.filter((r) => r.verdict === 'failed');
    expect(failed.map((r) => r.id)).toEqual(['reading.reply-frame-format', 'reading.read-address-wildcard', 'reading.read-with-wildcard']);
    for (const r of failed) expect(r.reason, r.id).toMatch(byteOrder);
    for (const r of results.filter((x) => x.verdict !== 'failed' && x.id !== UNDECLARED)) {
      expect(r.verdict, `${r.id}: ${r.reason}`).toBe('inconclusive');
      expect(r.reason).toMatch(/^the meter does not answer at its declared address 123456789012 \(it answers as 129078563412\)/);
      expect(r.reason).toMatch(byteOrder);
    }
  });
});

describe('response delay through a TCP serial server (network latency can only lengthen Td)', () => {
  // The reference meter on an in-memory pair, seen by the case as a TCP target: Td is measured as
  // the meter made it, so the verdict logic for TCP is what is under test.
  async function viaTcp(delayMs: number): Promise<CaseResult> {
    const t = await openTarget(referenceTargetProfile({ transport: 'memory', behaviours: [{ name: 'late-reply', delayMs }] }), { describe: false });
    try {
      return await runCase(caseById('reading.response-delay'), { ...t, kind: 'tcp' } as Target);
    } finally {
      await t.close();
    }
  }

  it('below the minimum is a certain failure', async () => {
    const r = await viaTcp(1);
    expect(r.verdict, r.reason).toBe('failed');
    expect(r.reason).toMatch(/^Td min 1 ms outside >= 20 ms/);
  });

  it('above the maximum is inconclusive: the network may have added it', async () => {
    const r = await viaTcp(600);
    expect(r.verdict, r.reason).toBe('inconclusive');
    expect(r.reason).toMatch(/above 500 ms, but network latency adds to it/);
  });

  it('within the limits is inconclusive too: latency can hide a reply faster than the minimum', async () => {
    const r = await viaTcp(100);
    expect(r.verdict, r.reason).toBe('inconclusive');
    expect(r.reason).toMatch(/within 20\.\.500 ms, but network latency may hide a reply faster than 20 ms/);
  });
});

describe('a case that runs out of time', () => {
  it('gets a MeterLab reason naming where it stood, never the test runner\'s text', async () => {
    // Replies come 60 s after each request, the master waits up to 10 minutes: the first read of
    // the case outlives the case's 30 s budget (virtual time, on the target's clock).
    const base = referenceTargetProfile({ behaviours: [{ name: 'late-reply', delayMs: 60_000 }] });
    const profile = { ...base, master: { ...base.master, timeoutMs: 600_000 } };
    const target = await openTarget(profile);
    try {
      const r = await runCase(caseById('reading.read-declared-identifiers'), target, { clock: target.clock, timeoutMs: 30_000 });
      expect(r.verdict).toBe('error');
      expect(r.reason).toMatch(
        /^the case did not finish within 30 s: last frame on the line sent 30\.\d s earlier: 11 readData 123456789012 DI 00010000/,
      );
      expect(r.reason).not.toMatch(/timed out in|testTimeout/);
    } finally {
      await target.close();
    }
  });
});
