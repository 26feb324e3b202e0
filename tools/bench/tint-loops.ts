// Counting Tint's loop counters in the SPIR-V that tools/bench/tint-loop-counters.ts makes Dawn dump.
import { spawnSync } from 'node:child_process';

/** loops and Tint's loop counters in the SPIR-V of one dump (the output of tint-loop-counters.ts) */
export function countLoops(dump: string): { loops: number; counters: number } {
  const at = dump.indexOf('Dumped SPIRV disassembly');
  if (at < 0) throw new Error('no SPIR-V in the output: did Dawn take the dump_shaders toggle?');
  const spirv = dump.slice(at);
  return { loops: spirv.split('OpLoopMerge').length - 1, counters: spirv.split(' OpAll ').length - 1 };
}

/** runs tint-loop-counters.ts with `args` (see there) in a child process and counts its dump */
export function tintLoops(args: string[]): { loops: number; counters: number } {
  const r = spawnSync(process.execPath, ['tools/run-node.mjs', 'tools/bench/tint-loop-counters.ts', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`tint-loop-counters.ts ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-400)}`);
  return countLoops(r.stdout + r.stderr);
}
