/**
 * The kill test of `npm run mutation`: every conformance suite against the built-in reference and
 * against two more conformant declarations of the same simulator, so the code that honours a
 * declaration the reference does not have is under test too: suites/profiles/reference-minimal.json
 * (wildcard reads, follow-up, write, freeze, password change and event clear off, a Td range, an
 * identifier served but not declared) and reference-small-frames.json (meter.maxFrameDataLength
 * 16: blocks and records in follow-up frames; read address through the wildcard off), and the
 * reference again over byte-by-byte bus delivery (reference-byte-delivery.json); then the
 * switching suite alone against the switching declarations (reference-distinct-errors.json: three
 * different 1CH refusal words, the [BK] 1CH options the other way round; reference-trip-delay.json:
 * a 3 s trip delay with the pre-trip alarm). Cases are
 * run directly through the framework's runCase (what `meterlab run --target <profile>` runs,
 * without vitest's start-up: about 3 s of CPU a mutant). Exit 0 only when every case passed or was
 * not applicable: a failed, errored or inconclusive verdict kills the mutant. Exit 2 when a suite folder exists that this file does not run (add it to SUITES).
 *
 * The other protocols' suites (DEVICE_SUITES: M-Bus, CJ/T 188, the interface converter) run each
 * against the reference device of every kind its conformance files open
 * (suites/profiles/reference-<kind>.json, what openSuiteTarget opens for `--target reference`).
 * Which suites run: `--suites a,b` or METERLAB_KILL_SUITES (the argument wins), default the DL/T
 * 645 suites (reading, programming, switching: the default mutation scope, so `npm run mutation`
 * costs what it did). scripts/mutation.ts `--scope` passes the suites of its scope. Exit 2 also for
 * a suite name this file does not know.
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadDeviceTargetProfile, loadTargetProfile, openDeviceTarget, openTarget, type DeviceKind, type DeviceTarget, type Target } from '../harness/targets/index.ts';
import { cjt188ReadingCases } from '../suites/cjt188-reading/cases.ts';
import { casesForKind } from '../suites/cjt188-reading/support.ts';
import { cjt188ValveCases } from '../suites/cjt188-valve/cases.ts';
import { collectionCases } from '../suites/collection/cases.ts';
import { openCollectionTarget } from '../suites/collection/support.ts';
import { converterCases } from '../suites/converter/cases.ts';
import { runCases, type ConformanceCase } from '../suites/framework/case.ts';
import { referenceDeviceProfilePath } from '../suites/framework/suite-target.ts';
import { mbusReadingCases } from '../suites/mbus-reading/cases.ts';
import { programmingCases } from '../suites/programming/cases.ts';
import { readingCases } from '../suites/reading/cases.ts';
import { switchingCases } from '../suites/switching/cases.ts';

const SUITES = { reading: readingCases, programming: programmingCases, switching: switchingCases } as const;
type SuiteName = keyof typeof SUITES;
const ALL = Object.keys(SUITES) as SuiteName[];

const profileFile = (f: string): string => resolve(import.meta.dirname, '../suites/profiles', f);

/**
 * The suites of the other protocols: per device kind the cases its conformance file runs (the
 * CJ/T 188 suites once per kind, ids naming the kind, as water/gas.conformance.ts do), against the
 * kind's reference device (what openSuiteTarget opens for `--target reference`) and, where one
 * exists, a second conformant declaration of the same simulator that reaches code the reference's
 * declaration does not: reference-heat-meter-inlet.json (primary address 250, medium 0C, one
 * telegram, three storages), reference-water-meter-litres.json (volumes in L, a reversed-DI
 * dialect with the 2AH valve code and the masks ST layout).
 */
const reference = (kind: DeviceKind): string => referenceDeviceProfilePath(kind);
const DEVICE_SUITES: Readonly<Record<string, readonly { readonly profile: string; readonly cases: readonly ConformanceCase<DeviceTarget>[] }[]>> = {
  'mbus-reading': [
    { profile: reference('heat-meter'), cases: mbusReadingCases },
    { profile: profileFile('reference-heat-meter-inlet.json'), cases: mbusReadingCases },
  ],
  'cjt188-reading': [
    { profile: reference('water-meter'), cases: casesForKind(cjt188ReadingCases, 'water') },
    { profile: profileFile('reference-water-meter-litres.json'), cases: casesForKind(cjt188ReadingCases, 'water') },
    { profile: reference('gas-meter'), cases: casesForKind(cjt188ReadingCases, 'gas') },
  ],
  'cjt188-valve': [
    { profile: reference('water-meter'), cases: casesForKind(cjt188ValveCases, 'water') },
    { profile: profileFile('reference-water-meter-litres.json'), cases: casesForKind(cjt188ValveCases, 'water') },
    { profile: reference('gas-meter'), cases: casesForKind(cjt188ValveCases, 'gas') },
  ],
  converter: [{ profile: reference('interface-converter'), cases: converterCases }],
};
/**
 * Suites with their own target opener: the collection suite runs against the reference
 * concentrator (its uplink, MeterLab's meters behind it, virtual time that moves only inside the
 * cases: suites/collection/support.ts).
 */
const OWN_OPENER_SUITES: Readonly<Record<string, () => Promise<{ readonly name: string; readonly failures: string[] }>>> = {
  collection: async () => {
    const target = await openCollectionTarget(referenceDeviceProfilePath('concentrator'));
    try {
      const failures = (await runCases(collectionCases, target)).filter((r) => r.verdict !== 'passed' && r.verdict !== 'notApplicable').map((r) => `${r.id} ${r.verdict}: ${r.reason}`);
      return { name: target.profile.name, failures };
    } finally {
      await target.close();
    }
  },
};
const KNOWN = [...ALL, ...Object.keys(DEVICE_SUITES), ...Object.keys(OWN_OPENER_SUITES)];
/**
 * The declarations the suites run against: the built-in reference, two more of the same
 * simulator and the reference over byte-by-byte delivery with every suite; then switching declarations with the switching suite only (what they
 * change is 1CH and the relay, which the other suites do not send or read).
 */
const PROFILES: readonly { readonly file: string; readonly suites: readonly SuiteName[] }[] = [
  { file: 'reference', suites: ALL },
  { file: profileFile('reference-minimal.json'), suites: ALL },
  { file: profileFile('reference-small-frames.json'), suites: ALL },
  // The meter's byte-level receive path: a frame for another address is parsed and judged by its
  // address, not skipped whole; a power loss resets the receiver between bytes.
  { file: profileFile('reference-byte-delivery.json'), suites: ALL },
  // Three different 1CH refusal words, all-zero valid-until refused, valid-until checked before the password.
  { file: profileFile('reference-distinct-errors.json'), suites: ['switching'] },
  // A 3 s trip delay with the pre-trip alarm: the trip-delay path and KP-04 (keep-power cancels a pending trip).
  { file: profileFile('reference-trip-delay.json'), suites: ['switching'] },
];

const suitesDir = resolve(import.meta.dirname, '../suites');
const present = readdirSync(suitesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && readdirSync(resolve(suitesDir, d.name)).some((f) => f.endsWith('.conformance.ts')))
  .map((d) => d.name);
const missing = present.filter((s) => !KNOWN.includes(s));
if (missing.length > 0) {
  process.stderr.write(`kill-test: suites not run by mutation/kill-test.ts: ${missing.join(', ')}\n`);
  process.exit(2);
}

const argAt = process.argv.indexOf('--suites');
const chosen = (argAt >= 0 ? process.argv[argAt + 1] : process.env.METERLAB_KILL_SUITES) ?? ALL.join(',');
const selected = chosen.split(',').map((x) => x.trim()).filter((x) => x !== '');
const unknown = selected.filter((x) => !KNOWN.includes(x));
if (unknown.length > 0 || selected.length === 0) {
  process.stderr.write(`kill-test: unknown suites ${JSON.stringify(unknown)} (known: ${KNOWN.join(', ')})\n`);
  process.exit(2);
}

const bad: string[] = [];
for (const { file, suites } of PROFILES) {
  const run = suites.filter((suite) => selected.includes(suite));
  if (run.length === 0) continue;
  const profile = await loadTargetProfile(file);
  for (const suite of run) {
    const cases = SUITES[suite];
    const target = await openTarget(profile);
    try {
      for (const r of await runCases<Target>(cases, target)) {
        if (r.verdict !== 'passed' && r.verdict !== 'notApplicable') bad.push(`${profile.name}: ${suite}/${r.id} ${r.verdict}: ${r.reason}`);
      }
    } finally {
      await target.close();
    }
  }
}
for (const suite of selected) {
  for (const { profile: file, cases } of DEVICE_SUITES[suite] ?? []) {
    const profile = loadDeviceTargetProfile(file);
    const target = await openDeviceTarget(profile);
    try {
      for (const r of await runCases<DeviceTarget>(cases, target)) {
        if (r.verdict !== 'passed' && r.verdict !== 'notApplicable') bad.push(`${profile.name}: ${r.id} ${r.verdict}: ${r.reason}`);
      }
    } finally {
      await target.close();
    }
  }
}
for (const suite of selected) {
  const open = OWN_OPENER_SUITES[suite];
  if (!open) continue;
  const { name, failures } = await open();
  for (const f of failures) bad.push(`${name}: ${f}`);
}
if (bad.length > 0) {
  process.stderr.write(`${bad.join('\n')}\n`);
  process.exit(1);
}
