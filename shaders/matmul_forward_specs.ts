// matmul_forward's kernel sources and specs (matmul_forward.ts runs them): the naive, tiled, gemv and vec4 WGSL files,
// and the sources built from them — the kk loops written out (writeOutKk), vec4h's f16 tiles, each tile's row pitch.
import naiveCode from './matmul_forward_naive.wgsl';
import tiledCode from './matmul_forward_tiled.wgsl';
import gemvCode from './matmul_forward_gemv.wgsl';
import vec4Code from './matmul_forward_vec4.wgsl';
import type { KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { MatmulTile } from './matmul_plan.ts';

const BINDINGS = ['uniform', 'read', 'read', 'read', 'storage'] as const;
/** the vec4 kernel's: a, b, bias, then the low-rank term's P and Q (bound to a where unused), out */
const VEC4_BINDINGS = ['uniform', 'read', 'read', 'read', 'read', 'read', 'storage'] as const;
export const matmulNaiveSpec: KernelSpec = { name: 'matmul_forward_naive', code: naiveCode, bindings: BINDINGS };
export const matmulTiledSpec: KernelSpec = { name: 'matmul_forward_tiled', code: tiledCode, bindings: BINDINGS };
/** how many values of kk one turn of the register-prefetch path's product loop takes (a multiple of 8 fits both BK) */
export const KK_COPIES = 8;
const KK_LOOP = 'for (var kk = 0u; kk < BK; kk++) {';
/**
 * `code` with its first kk loop written out `copies` times a turn (copies divides BK), each copy in its own block with
 * kk + i: in the vec4 source the register-prefetch path's (every tile but 128 × 128) and then the other path's, in the
 * tiled source its one loop (used at 64 × 64 only). The loop's counter steps by 1 to a constant, BK / copies: Tint
 * (Dawn's WGSL compiler) bounds every loop it cannot prove finite with a 64-bit counter of its own, and the NVIDIA
 * compiler made worse code of those loops (BENCHMARKS.md, twenty-third session). Rolled, the NVIDIA compiler left
 * the loop as written (10 integer instructions, 4 loads and 64 FMAs a turn, the loads just before their FMAs).
 */
export function writeOutKk(code: string, copies: number): string {
  const at = code.indexOf(KK_LOOP);
  if (at < 0) throw new Error(`the matmul source lost its '${KK_LOOP}' line (matmul_forward.ts writes that loop out)`);
  const indent = code.slice(code.lastIndexOf('\n', at) + 1, at);
  const bodyStart = at + KK_LOOP.length + 1; // past the line's newline
  const end = code.indexOf(`\n${indent}}\n`, bodyStart); // the loop's closing brace, at the loop's indentation
  if (end < 0) throw new Error("the matmul source: the kk loop's closing brace was not found");
  const body = code.slice(bodyStart, end);
  const blocks = Array.from({ length: copies }, (_, i) => `${indent}  {\n${body.replaceAll('[kk]', `[kk + ${i}u]`).replace(/^/gm, '  ')}\n${indent}  }`);
  // a loop counter that steps by 1 to a constant bound: Tint's SPIR-V writer bounds every loop it cannot prove finite
  // with a 64-bit counter (its PreventInfiniteLoops transform), and `kk += copies` is not a form it proves
  return `${code.slice(0, at)}for (var kq = 0u; kq < BK / ${copies}u; kq++) {\n${indent}  let kk = kq * ${copies}u;\n${blocks.join('\n')}${code.slice(end)}`;
}
/**
 * The vec4 source for a K step of `bk`: the register-prefetch path's kk loop written out KK_COPIES times a turn, the
 * other path's (128 × 128) the whole K step in one turn. On the H100, against both loops rolled: 64 × 64 and 128 × 64
 * products 3-10 % faster; at 128 × 128 the whole step 0-8 % faster, where 2, 4 or 8 copies a turn were slower
 * (BENCHMARKS.md, twenty-first and twenty-third sessions).
 */
const vec4SourceFor = (bk: 8 | 16): string => writeOutKk(writeOutKk(vec4Code, KK_COPIES), bk);
const vec4Source = vec4SourceFor(16);
/** The vec4 source at K steps of 16 (its tiles' row pitch fits every tile; vec4Spec gives each tile its own). */
export const matmulVec4Spec: KernelSpec = { name: 'matmul_forward_vec4', code: vec4Source, bindings: VEC4_BINDINGS };
/** vec4 with f16 workgroup tiles (needs shader-f16): the same source, its alias S set to f16 */
const VEC4_ALIAS = 'alias S = f32;';
/** the workgroup tiles' row pitch in the tiled and vec4 sources, which pitchSpec sets per tile */
const PITCH = 'const AS_ROW = 33u;\nconst BS_ROW = 33u;';
for (const [file, code, lines] of [['vec4', vec4Code, [VEC4_ALIAS, PITCH]], ['tiled', tiledCode, [PITCH]]] as const) {
  for (const line of lines) {
    if (!code.includes(line)) throw new Error(`matmul_forward_${file}.wgsl lost its '${line}' line (matmul_forward.ts builds its sources from it)`);
  }
}
const halfSource = (code: string) => `enable f16;\n${code.replace(VEC4_ALIAS, 'alias S = f16;')}`;
export const matmulVec4hSpec: KernelSpec = { name: 'matmul_forward_vec4h', code: halfSource(vec4Source), bindings: VEC4_BINDINGS };
/** the vec4 and vec4h sources by K step (8: a device with WebGPU's default 16 KiB of workgroup memory at 128 × 128) */
const vec4SpecsByBk = {
  16: { f32: matmulVec4Spec, f16: matmulVec4hSpec },
  8: { f32: { ...matmulVec4Spec, code: vec4SourceFor(8) }, f16: { ...matmulVec4hSpec, code: halfSource(vec4SourceFor(8)) } },
};
const pitchSpecs = new Map<KernelSpec, Map<number, KernelSpec>>();
/**
 * A tiled or vec4(h) kernel for one tile: its source with the workgroup tiles' row pitch set to the tile's BM/4 + 1
 * and BN/4 + 1 vec4 (the 2-D tiles' inner length must be a WGSL constant, not an override). The name stays the
 * version's: the pipeline cache tells the tiles apart by their TX / TY constants.
 */
export function pitchSpec(base: KernelSpec, tile: MatmulTile, tileN: MatmulTile): KernelSpec {
  let byTile = pitchSpecs.get(base);
  if (!byTile) pitchSpecs.set(base, (byTile = new Map()));
  let spec = byTile.get(tile + 1000 * tileN);
  if (!spec) {
    spec = { ...base, code: base.code.replace(PITCH, `const AS_ROW = ${tile / 4 + 1}u;\nconst BS_ROW = ${tileN / 4 + 1}u;`) };
    byTile.set(tile + 1000 * tileN, spec);
  }
  return spec;
}
/** The vec4 (half: vec4h) kernel for a tile of tile × tileN and a K step of bk. */
export const vec4Spec = (tile: MatmulTile, tileN: MatmulTile, half: boolean, bk: 8 | 16): KernelSpec =>
  pitchSpec(vec4SpecsByBk[bk][half ? 'f16' : 'f32'], tile, tileN);
/** the tiled kernel at 64 × 64 (64 invocations) with its kk loop written out: the whole 8-deep K step in one turn */
const matmulTiled64Spec: KernelSpec = { ...matmulTiledSpec, code: writeOutKk(tiledCode, KK_COPIES) };
/** The tiled kernel for a tile × tile tile (at 64, its kk loop written out, as the vec4 kernel's prefetch path). */
export const tiledSpec = (tile: MatmulTile): KernelSpec => pitchSpec(tile === 64 ? matmulTiled64Spec : matmulTiledSpec, tile, tile);
/** gemv entry points: vec4 f32 B, 4-halves B (both need x·Wᵀ with K % 4 == 0), and any other case */
export const matmulGemvSpecs = {
  vecF32: { name: 'matmul_forward_gemv', code: gemvCode, entryPoint: 'main_vec_f32', bindings: BINDINGS },
  vecHalf: { name: 'matmul_forward_gemv', code: gemvCode, entryPoint: 'main_vec_half', bindings: BINDINGS },
  any: { name: 'matmul_forward_gemv', code: gemvCode, entryPoint: 'main_any', bindings: BINDINGS },
} satisfies Record<string, KernelSpec>;
