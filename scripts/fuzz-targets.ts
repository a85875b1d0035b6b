/**
 * Every fuzz target `npm run fuzz` knows, by name (see scripts/README.md), and the module that
 * defines it: a worker process imports only its target's module, so its peak RSS is that
 * target's. The `selftest.*` targets have planted defects (an exception, a contract violation, a
 * slow input, an endless loop): they prove that the runner catches each kind, and run only when
 * named with --only.
 */
import fc from 'fast-check';
import { ContractViolation, fuzzTarget, type AnyFuzzTarget } from '../harness/core/fuzz-support.ts';

/** Target name -> its module, in the order `npm run fuzz` runs them. */
const MODULES: Readonly<Record<string, () => Promise<Record<string, unknown>>>> = {
  'dlt645.frame': () => import('../harness/protocols/dlt645/fuzz-support.ts'),
  'dlt645.message': () => import('../harness/protocols/dlt645/fuzz-support.ts'),
  'dlt645.scanner': () => import('../harness/protocols/dlt645/fuzz-support.ts'),
  'dlt645.scanner-flood': () => import('../harness/protocols/dlt645/fuzz-support.ts'),
  'dlt645.value': () => import('../harness/protocols/dlt645/fuzz-support.ts'),
  'dlt645.json': () => import('../harness/protocols/dlt645/fuzz-support.ts'),
  'cjt188.frame': () => import('../harness/protocols/cjt188/fuzz-support.ts'),
  'cjt188.message': () => import('../harness/protocols/cjt188/fuzz-support.ts'),
  'cjt188.truncate-flip': () => import('../harness/protocols/cjt188/fuzz-support.ts'),
  'cjt188.scanner': () => import('../harness/protocols/cjt188/fuzz-support.ts'),
  'cjt188.value': () => import('../harness/protocols/cjt188/fuzz-support.ts'),
  'cjt188.json': () => import('../harness/protocols/cjt188/fuzz-support.ts'),
  'gw1376.frame': () => import('../harness/protocols/gw1376/fuzz-support.ts'),
  'gw1376.message': () => import('../harness/protocols/gw1376/fuzz-support.ts'),
  'gw1376.truncate-flip': () => import('../harness/protocols/gw1376/fuzz-support.ts'),
  'gw1376.value': () => import('../harness/protocols/gw1376/fuzz-support.ts'),
  'gw1376.scanner': () => import('../harness/protocols/gw1376/fuzz-support.ts'),
  'mbus.frame': () => import('../harness/protocols/mbus/fuzz-support.ts'),
  'mbus.application': () => import('../harness/protocols/mbus/fuzz-support.ts'),
  'mbus.scanner': () => import('../harness/protocols/mbus/fuzz-support.ts'),
  'core.hex': () => import('../harness/core/hex-fuzz.ts'),
  'cli.decode': () => import('../harness/cli/cli-fuzz.ts'),
  'cli.decode-cjt188': () => import('../harness/cli/cli-fuzz.ts'),
  'cli.decode-gw1376': () => import('../harness/cli/cli-fuzz.ts'),
  'links.capture': () => import('../harness/links/capture-fuzz.ts'),
  'targets.json-text': () => import('../harness/targets/profile-fuzz.ts'),
  'targets.profile': () => import('../harness/targets/profile-fuzz.ts'),
  'cli.simulator-profile': () => import('../harness/cli/cli-fuzz.ts'),
};

/** Names of the decoders and readers of outside input, in the order they are run. */
export const FUZZ_TARGET_NAMES: readonly string[] = Object.keys(MODULES);

function isTarget(value: unknown): value is AnyFuzzTarget {
  return typeof value === 'object' && value !== null && 'name' in value && 'arbitrary' in value && 'run' in value;
}

/** The target called `name` (loading only its module), or undefined. */
export async function loadTarget(name: string): Promise<AnyFuzzTarget | undefined> {
  const selftest = SELFTEST_TARGETS.find((t) => t.name === name);
  if (selftest) return selftest;
  const load = MODULES[name];
  if (!load) return undefined;
  const module = await load();
  return Object.values(module).find((v): v is AnyFuzzTarget => isTarget(v) && v.name === name);
}

/** Every target (loads every module). */
export async function loadAllTargets(): Promise<AnyFuzzTarget[]> {
  const out: AnyFuzzTarget[] = [];
  for (const name of FUZZ_TARGET_NAMES) {
    const t = await loadTarget(name);
    if (!t) throw new Error(`fuzz target ${name} is not exported by its module`);
    out.push(t);
  }
  return out;
}

const selftestInput = fc.nat({ max: 999_999 });
const busyWait = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin: a decoder stuck on one input
  }
};

/** Planted defects, to test the runner itself. Inputs are numbers; the defect hits a known fraction. */
export const SELFTEST_TARGETS: readonly AnyFuzzTarget[] = [
  fuzzTarget({
    name: 'selftest.exception',
    description: 'throws a TypeError on inputs ≡ 13 (mod 97)',
    arbitrary: selftestInput,
    run(n: number) {
      if (n % 97 === 13) throw new TypeError(`planted exception on ${n}`);
      return n;
    },
    verify: () => undefined,
    size: () => 4,
    show: (n) => String(n),
  }),
  fuzzTarget({
    name: 'selftest.violation',
    description: 'returns a wrong result on inputs ≡ 0 (mod 89)',
    arbitrary: selftestInput,
    run: (n: number) => (n % 89 === 0 ? n + 1 : n),
    verify(n, out) {
      if (out !== n) throw new ContractViolation(`expected ${n}, got ${out}`);
    },
    size: () => 4,
    show: (n) => String(n),
  }),
  fuzzTarget({
    name: 'selftest.slow',
    description: 'takes 150 ms on inputs ≡ 7 (mod 401)',
    arbitrary: selftestInput,
    run(n: number) {
      if (n % 401 === 7) busyWait(150);
      return n;
    },
    verify: () => undefined,
    size: () => 4,
    show: (n) => String(n),
  }),
  ((): AnyFuzzTarget => {
    const seen = new Set<number>();
    return fuzzTarget({
      name: 'selftest.slow-once',
      description: 'takes 150 ms the first time it sees an input ≡ 7 (mod 401), not on the rerun',
      arbitrary: selftestInput,
      run(n: number) {
        if (n % 401 === 7 && !seen.has(n)) {
          seen.add(n);
          busyWait(150);
        }
        return n;
      },
      verify: () => undefined,
      size: () => 4,
      show: (n) => String(n),
    });
  })(),
  fuzzTarget({
    name: 'selftest.stuck',
    description: 'never returns on inputs ≡ 5 (mod 1009)',
    arbitrary: selftestInput,
    run(n: number) {
      if (n % 1009 === 5) for (;;) busyWait(1000);
      return n;
    },
    verify: () => undefined,
    size: () => 4,
    show: (n) => String(n),
  }),
];
