import { openTarget, parseTargetProfile, referenceTargetProfile } from './harness/targets/index.ts';
import { runCases } from './suites/framework/case.ts';
import { switchingCases } from './suites/switching/cases.ts';
const c = referenceTargetProfile().connection as any;
const sim = structuredClone(c.simulator);
sim.meter.relay = { ...sim.meter.relay, tripDelayMs: 3000, preTripAlarm: true };
sim.simulation.relay = { ...sim.simulation.relay, tripDelayMs: 3000 };
const profile = parseTargetProfile({ name: 'x', connection: { type: 'reference', transport: 'bus', simulator: sim } });
const faults: [string, any][] = [['relayStuck', true], ['ignoreKeepPower', true], ['ignoreValidUntil', true], ['closeWithoutButton', true], ['ignoreRemoteControl', true], ['statusWord3Lies', 'always-closed'], ['statusWord3Lies', 'command-as-state']];
for (const [k, v] of faults) {
  const t = await openTarget(profile, { describe: false });
  (t.simulator!.model.faults as any)[k] = v;
  const rs = await runCases(switchingCases, t);
  console.log(`== ${k}=${v}`);
  for (const r of rs) if (r.verdict !== 'passed') console.log(`  ${r.id}: ${r.verdict} — ${r.reason.slice(0, 330)}`);
  await t.close();
}
