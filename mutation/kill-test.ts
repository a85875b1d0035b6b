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
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadTargetProfile, openTarget, type Target } from '../harness/targets/index.ts';
import { runCases } from '../suites/framework/case.ts';
import { programmingCases } from '../suites/programming/cases.ts';
import { readingCases } from '../suites/reading/cases.ts';
import { switchingCases } from '../suites/switching/cases.ts';

const SUITES = { reading: readingCases, programming: programmingCases, switching: switchingCases } as const;
type SuiteName = keyof typeof SUITES;
const ALL = Object.keys(SUITES) as SuiteName[];
const profileFile = (f: string): string => resolve(import.meta.dirname, '../suites/profiles', f);
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
const missing = present.filter((s) => !(s in SUITES));
if (missing.length > 0) {
  process.stderr.write(`kill-test: suites not run by mutation/kill-test.ts: ${missing.join(', ')}\n`);
  process.exit(2);
}

const bad: string[] = [];
for (const { file, suites } of PROFILES) {
  const profile = await loadTargetProfile(file);
  for (const suite of suites) {
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
if (bad.length > 0) {
  process.stderr.write(`${bad.join('\n')}\n`);
  process.exit(1);
}
