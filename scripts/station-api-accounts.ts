/**
 * The account list a vendor loads into its station before a system switching run against it
 * (profile `system.type: "station-api"`, harness/targets/station-api.ts):
 *
 *   npx tsx scripts/station-api-accounts.ts <profile.json> [--out <dir>]
 *
 * writes `<dir>/accounts.json` (the accounts as AccountInput plus `startState`, and the channels
 * with the TCP port MeterLab serves each on) and `<dir>/accounts.csv` (one row per account; money
 * in fen and yuan; `startState` and `relayAtStart` say which accounts start in arrears and which of
 * those are already cut). Default dir: the working directory. Deterministic: the same scenario
 * seed gives the same list, so the vendor can load it before MeterLab starts the run.
 * One line and exit 2 for a bad profile or a profile without a station-api system.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTargetProfile } from '../harness/targets/profile.ts';
import { stationApiAccounts, vendorAccountsCsv } from '../harness/targets/station-api.ts';

function main(argv: string[]): number {
  let values: { out?: string | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: { out: { type: 'string' } }, allowPositionals: true }));
  } catch (e) {
    process.stderr.write(`station-api-accounts: ${(e as Error).message}\n`);
    return 2;
  }
  if (positionals.length !== 1) {
    process.stderr.write('station-api-accounts: usage: npx tsx scripts/station-api-accounts.ts <profile.json> [--out <dir>]\n');
    return 2;
  }
  let system;
  try {
    system = loadTargetProfile(positionals[0]!).system;
  } catch (e) {
    process.stderr.write(`station-api-accounts: ${(e as Error).message}\n`);
    return 2;
  }
  if (system?.type !== 'station-api') {
    process.stderr.write(`station-api-accounts: ${positionals[0]}: system.type must be "station-api" (a vendor's station), got ${system ? `"${system.type}"` : 'no system'}\n`);
    return 2;
  }
  const { accounts, channels } = stationApiAccounts(system.scenario);
  const dir = values.out ?? '.';
  mkdirSync(dir, { recursive: true });
  // Ports on the machine MeterLab runs on (the vendor dials that machine's address).
  const ports = channels.map((id) => ({ id, port: system.channels.ports.get(id)! }));
  writeFileSync(join(dir, 'accounts.json'), JSON.stringify({ scenario: system.scenarioFile, seed: system.scenario.seed, channels: ports, sms: { port: system.sms.port, path: '/sms' }, accounts }, null, 2) + '\n');
  writeFileSync(join(dir, 'accounts.csv'), vendorAccountsCsv(accounts));
  process.stdout.write(`station-api-accounts: ${accounts.length} accounts on ${channels.length} channel(s) written to ${join(dir, 'accounts.json')} and accounts.csv\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
