/**
 * One fuzz shard in its own process, started by scripts/fuzz.ts:
 *
 *   node --import tsx scripts/fuzz-worker.ts <target> <seed> <from> <count> <hangMs> [trace]
 *
 * Writes JSON lines to stdout with synchronous writes (so the last one is out even if an input
 * then never returns): `{"type":"progress","next":N}` about every 250 ms, in trace mode
 * `{"type":"at","index":N}` before each input, and finally `{"type":"result",...}` (ShardResult), or
 * `{"type":"fatal","message"}` and exit 3 when the input generator itself fails (a bug in the target).
 */
import { writeSync } from 'node:fs';
import { GeneratorError, runShard } from './fuzz-runner.ts';
import { loadTarget } from './fuzz-targets.ts';

const [name = '', seedText = '', fromText = '', countText = '', hangText = '', mode] = process.argv.slice(2);
const target = await loadTarget(name);
if (!target) {
  process.stderr.write(`fuzz-worker: unknown target ${name}\n`);
  process.exit(2);
}
const line = (value: unknown): void => {
  writeSync(1, `${JSON.stringify(value)}\n`);
};
let result;
try {
  result = runShard(target, {
    seed: Number(seedText),
    from: Number(fromText),
    count: Number(countText),
    hangMs: Number(hangText),
    onProgress: (next, partial) => line({ type: 'progress', next, result: partial }),
    ...(mode === 'trace' ? { beforeInput: (index: number) => line({ type: 'at', index }) } : {}),
  });
} catch (e) {
  if (!(e instanceof GeneratorError)) throw e;
  line({ type: 'fatal', message: e.message });
  process.exit(3);
}
line({ type: 'result', result });
