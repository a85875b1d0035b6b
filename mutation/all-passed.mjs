#!/usr/bin/env node
/**
 * Kill test verdict for mutation testing: the reference must pass every case. Exits 1 (mutant
 * killed) when summary.json is missing or any test is not passed / not applicable: a failed,
 * errored or inconclusive case all show that the suites noticed the mutant.
 */
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let summary;
try {
  summary = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
  console.error(`mutation kill test: no readable summary at ${file}: ${e.message}`);
  process.exit(1);
}
const bad = summary.tests.filter((t) => t.verdict !== 'passed' && t.verdict !== 'notApplicable');
if (summary.tests.length === 0 || bad.length > 0) {
  console.error(`mutation kill test: ${bad.map((t) => `${t.id} ${t.verdict}`).join(', ') || 'no tests ran'}`);
  process.exit(1);
}
