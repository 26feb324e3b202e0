// The training graph's gradients against the float64 whole-model reference (model/reference.ts), by
// central finite differences on the loss, independent of any Python fixture; and the LoRA
// gradients against the chain rule through the full gradient of the merged weight.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testRuntime, releaseTestRuntime, logDispatches } from '../testing/gpu.ts';
import { makeTinyCheckpoint } from '../model/checkpoint-fixtures.ts';
import { loadModel } from '../model/load.ts';
import { referenceForward } from '../model/reference.ts';
import { Rng } from '../testing/rng.ts';
import { keepBit } from '../../../shaders/dropout.ref.ts';
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { ModelConfig } from '../model/config.ts';
import type { ModelWeights } from '../model/weights.ts';
import { stackedRows } from '../model/block-adapters.ts';
import { TrainGraph, defaultCeChunkRows, type FullGrads, type LoraState, type MicroBatch, LORA_TARGETS } from './graph.ts';
import { usingKernelPrefs } from '../gpu/kernel-prefs.ts';
import { HOOKS } from '../model/hooks.ts';

after(releaseTestRuntime);

const QWEN = { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', num_key_value_heads: 1, tie_word_embeddings: true, rope_theta: 1e6 };

/** Two right-padded rows; targets shifted, -100 on the prompt and on padding. */
function batch(V: number, pad: number): { mb: MicroBatch; rows: { ids: number[]; targets: number[] }[]; counted: number } {
  const rows = [
    { ids: [3, 17, 5, 29, 0, 11, 11, 8, 30], targets: [-100, -100, 29, 0, 11, 11, 8, 30, -100] },
    { ids: [7, 1, 22, 9, 4, 13], targets: [1, 22, -100, 4, 13, -100] },
  ].map((r) => ({ ids: r.ids.map((x) => x % V), targets: r.targets.map((x) => (x === -100 ? x : x % V)) }));
  const T = 9;
  const ids = new Int32Array(2 * T).fill(pad);
  const targets = new Int32Array(2 * T).fill(-100);
  rows.forEach((r, b) => {
    ids.set(r.ids, b * T);
    targets.set(r.targets, b * T);
  });
  const counted = targets.filter((t) => t !== -100).length;
  return { mb: { ids, labels: targets, B: 2, T }, rows, counted };
}

/** Mean CE over counted targets, float64, each row run unpadded through the reference. */
function refLoss(cfg: ModelConfig, weights: Map<string, Float32Array>, rows: { ids: number[]; targets: number[] }[]): number {
  let sum = 0, n = 0;
  const V = cfg.d_vocab;
  for (const r of rows) {
    const { logits } = referenceForward(cfg, weights, r.ids); // [T, V]
    r.targets.forEach((tgt, t) => {
      if (tgt === -100) return;
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, logits[t * V + v]);
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(logits[t * V + v] - m);
      sum += m + Math.log(s) - logits[t * V + tgt];
      n++;
    });
  }
  return sum / n;
}

function zerosLike(rt: Runtime, w: ModelWeights, tied: boolean): FullGrads {
  const z = (t: Tensor) => rt.zeros(t.shape, 'f32', `grad.${t.label}`);
  const embed = z(w.embed);
  return {
    embed,
    blocks: w.blocks.map((b) => ({ ln1: z(b.ln1), wqkv: z(b.wqkv), bqkv: b.bqkv ? z(b.bqkv) : null, wo: z(b.wo), ln2: z(b.ln2), wgate: z(b.wgate), wup: z(b.wup), wdown: z(b.wdown) })),
    lnFinal: z(w.lnFinal),
    unembed: tied ? embed : z(w.unembed),
  };
}

/** GPU gradient tensor and HF weight(s) it covers: q/k/v are stacked row blocks of wqkv. */
function gradOf(cfg: ModelConfig, g: FullGrads, name: string): { t: Tensor; offset: number } {
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  const { n_heads: H, n_kv_heads: Hkv, d_head: D, d_model: C } = cfg;
  if (!m) return { t: name === 'model.norm.weight' ? g.lnFinal : name === 'lm_head.weight' ? g.unembed : g.embed, offset: 0 };
  const b = g.blocks[+m[1]];
  const qkvAt = { q: 0, k: H * D, v: (H + Hkv) * D };
  const proj = /self_attn\.([qkv])_proj\.(weight|bias)/.exec(m[2]);
  if (proj) {
    const rows = qkvAt[proj[1] as 'q' | 'k' | 'v'];
    return proj[2] === 'weight' ? { t: b.wqkv, offset: rows * C } : { t: b.bqkv!, offset: rows };
  }
  const map: Record<string, Tensor> = {
    'input_layernorm.weight': b.ln1, 'self_attn.o_proj.weight': b.wo, 'post_attention_layernorm.weight': b.ln2,
    'mlp.gate_proj.weight': b.wgate, 'mlp.up_proj.weight': b.wup, 'mlp.down_proj.weight': b.wdown,
  };
  return { t: map[m[2]], offset: 0 };
}

async function fullCase(name: string, overrides: Record<string, unknown>, seed: number) {
  const rt = await testRuntime();
  const ckpt = makeTinyCheckpoint(overrides, seed, 'f32');
  const { model } = await loadModel(rt, ckpt, { tokenizer: false });
  const cfg = model.cfg;
  const { mb, rows, counted } = batch(cfg.d_vocab, 0);
  const graph = new TrainGraph(rt, cfg, model.w);
  const grads = zerosLike(rt, model.w, cfg.tie_word_embeddings);
  for (const recompute of [false, true]) {
    // the second pass (recompute) accumulates: gradients double, loss adds up
    const loss = graph.step(mb, rt.zeros([1]), null, grads, { gradScale: 1 / counted, recompute, ceChunkRows: 5 });
    const got = (await rt.read(loss))[0];
    const want = refLoss(cfg, ckpt.weights, rows);
    assert.ok(Math.abs(got - want) <= 1e-5 * Math.abs(want), `${name}: loss ${got} vs float64 ${want}`);
  }
  const rng = new Rng(seed + 100);
  for (const [wname, w0] of ckpt.weights) {
    const { t, offset } = gradOf(cfg, grads, wname);
    const gpu = (await rt.read(t)) as Float32Array;
    const slice = gpu.subarray(offset, offset + w0.length);
    let gmax = 0;
    for (const v of slice) gmax = Math.max(gmax, Math.abs(v / 2)); // two accumulated passes
    for (let k = 0; k < 3; k++) {
      const i = rng.int(0, w0.length);
      const orig = w0[i];
      const eps = 1e-3 * Math.max(1, Math.abs(orig));
      const wp = Math.fround(orig + eps), wm = Math.fround(orig - eps);
      w0[i] = wp;
      const lp = refLoss(cfg, ckpt.weights, rows);
      w0[i] = wm;
      const lm = refLoss(cfg, ckpt.weights, rows);
      w0[i] = orig;
      const fd = (lp - lm) / (wp - wm);
      const g = slice[i] / 2;
      // fp32 gradients through 2 blocks vs float64 central differences (O(eps²) ≈ 1e-6 relative):
      // 2e-4 of the tensor's largest gradient + 1e-6
      assert.ok(Math.abs(g - fd) <= 2e-4 * gmax + 1e-6, `${name}: d loss / d ${wname}[${i}] = ${g} on the GPU, ${fd} by finite differences (max |g| ${gmax})`);
    }
  }
  return { rt, model, graph, mb, counted };
}

test('full-parameter gradients (Llama, GQA, untied) equal float64 finite differences; recompute gives the same', async () => {
  await fullCase('llama', {}, 11);
});

test('full-parameter gradients (Qwen2: q/k/v bias, tied embeddings, one KV head) equal float64 finite differences', async () => {
  await fullCase('qwen2', QWEN, 12);
});

/**
 * LoRA on all seven targets against the chain rule through the merged weight. With `stacked`, each layer's A factors
 * lie back to back in one buffer, as a trainer packs them (trainer.ts): q|k|v and gate|up then take one x·Aᵀ product
 * each, and their backward the stacked path (r a multiple of 4) or, per adapter, the windows of the shared x·Aᵀ.
 */
async function loraChainRule(r: number, stacked: boolean, config: Record<string, unknown>, stackedB = false, folded = false): Promise<void> {
  const rt = await testRuntime();
  const ckpt = makeTinyCheckpoint({ ...QWEN, ...config }, 13, 'f32');
  const { model } = await loadModel(rt, ckpt, { tokenizer: false });
  const cfg = model.cfg;
  const { mb, counted } = batch(cfg.d_vocab, 0);
  const graph = new TrainGraph(rt, cfg, model.w);
  const scale = 2;
  const rng = new Rng(14);
  const dims = (t: string): [number, number] => {
    const { d_model: C, n_heads: H, n_kv_heads: Hkv, d_head: D, d_mlp: F } = cfg;
    return ({ q_proj: [C, H * D], k_proj: [C, Hkv * D], v_proj: [C, Hkv * D], o_proj: [H * D, C], gate_proj: [C, F], up_proj: [C, F], down_proj: [F, C] } as Record<string, [number, number]>)[t];
  };
  const host = new Map<string, { A: Float32Array; B: Float32Array }>();
  const lora: LoraState = { scale, slots: [] };
  for (let l = 0; l < cfg.n_layers; l++) {
    lora.slots.push({});
    // stacked: the layer's A factors (and dA), then its B factors (and dB), in one buffer as a trainer packs them (each
    // at a multiple of 64 floats: back to back where the sizes are multiples of 64)
    const total = LORA_TARGETS.reduce((n, t) => n + 64 * (Math.ceil((r * dims(t)[0]) / 64) + Math.ceil((r * dims(t)[1]) / 64)), 0);
    const [P, dP] = [rt.zeros([total]), rt.zeros([total])];
    let at = 0;
    const place = (values: Float32Array, shape: [number, number]): [Tensor, Tensor] => {
      if (!stacked) return [rt.upload(values, shape), rt.zeros(shape)];
      at = 64 * Math.ceil(at / 64);
      const [p, d] = [P.slice(at, shape), dP.slice(at, shape)];
      rt.copy(rt.upload(values, [values.length]), 0, p, 0, values.length);
      at += values.length;
      return [p, d];
    };
    const vals = LORA_TARGETS.map((t) => [rng.normal(r * dims(t)[0], 0.3), rng.normal(dims(t)[1] * r, 0.3)] as const);
    const As = LORA_TARGETS.map((t, i) => place(vals[i][0], [r, dims(t)[0]]));
    const Bs = LORA_TARGETS.map((t, i) => place(vals[i][1], [dims(t)[1], r]));
    LORA_TARGETS.forEach((t, i) => {
      host.set(`${l}.${t}`, { A: vals[i][0], B: vals[i][1] });
      lora.slots[l][t] = { A: As[i][0], B: Bs[i][0], dA: As[i][1], dB: Bs[i][1] };
    });
    const s = lora.slots[l];
    assert.equal(stackedRows([s.q_proj!.A, s.k_proj!.A, s.v_proj!.A]) !== null, stacked, 'q|k|v stacked as set up');
    assert.equal(stackedRows([s.q_proj!.B, s.k_proj!.B, s.v_proj!.B]) !== null, stackedB, 'q|k|v B stacked as set up');
    assert.equal(stackedRows([s.gate_proj!.A, s.up_proj!.A]) !== null, stacked, 'gate|up stacked as set up');
  }
  const log = logDispatches(rt);
  let lossLora: Awaited<ReturnType<Runtime['read']>>;
  try {
    // the fold is opt-in (KernelPrefs.lowrank); the shared test runtime's later tests see the default again
    lossLora = await usingKernelPrefs(rt, folded ? { lowrank: 'reduce' } : {}, () => rt.read(graph.step(mb, rt.zeros([1]), lora, null, { gradScale: 1 / counted })));
  } finally {
    log.restore();
  }
  if (folded) {
    // every projection ends in a split-K reduce, which adds the adapter's term: no B product or dx product of its own
    assert.deepEqual(log.names.filter((n) => n === 'lora_forward' || n === 'matmul_short_k'), [], 'the adapters\' terms folded into the reduces');
    assert.ok(log.names.filter((n) => n.startsWith('matmul_forward_splitk')).length >= 8 * cfg.n_layers, 'the projections ran split-K');
    assert.ok(log.names.filter((n) => n === 'add_scale').length < cfg.n_layers, 'the kept residual is the reduce\'s addend, not a copy');
  }

  // the same model with W' = W + s·B·A merged in (float64, rounded once to f32), full gradients
  const hf = (l: number, t: string) => `model.layers.${l}.${t.endsWith('_proj') && ['q_proj', 'k_proj', 'v_proj', 'o_proj'].includes(t) ? 'self_attn' : 'mlp'}.${t}.weight`;
  const merged = new Map(ckpt.weights);
  for (let l = 0; l < cfg.n_layers; l++)
    for (const t of LORA_TARGETS) {
      const [din, dout] = dims(t);
      const { A, B } = host.get(`${l}.${t}`)!;
      const W = Float32Array.from(merged.get(hf(l, t))!);
      for (let o = 0; o < dout; o++)
        for (let i = 0; i < din; i++) {
          let s = 0;
          for (let k = 0; k < r; k++) s += B[o * r + k] * A[k * din + i];
          W[o * din + i] += scale * s;
        }
      merged.set(hf(l, t), W);
    }
  const m2 = await loadModel(rt, makeTinyCheckpoint(ckpt.configJson, 1, 'f32', { values: merged }), { tokenizer: false });
  const g2 = new TrainGraph(rt, cfg, m2.model.w);
  const grads = zerosLike(rt, m2.model.w, true);
  const lossFull = await rt.read(g2.step(mb, rt.zeros([1]), null, grads, { gradScale: 1 / counted }));
  assert.ok(Math.abs(lossLora[0] - lossFull[0]) <= 1e-5 * lossFull[0], `loss with adapters ${lossLora[0]} vs merged ${lossFull[0]}`);
  for (let l = 0; l < cfg.n_layers; l++)
    for (const t of LORA_TARGETS) {
      const [din, dout] = dims(t);
      const { A, B } = host.get(`${l}.${t}`)!;
      const { t: gt, offset } = gradOf(cfg, grads, hf(l, t));
      const dW = ((await rt.read(gt)) as Float32Array).subarray(offset, offset + din * dout); // [out, in]
      const s = lora.slots[l][t]!;
      const [dA, dB] = [(await rt.read(s.dA)) as Float32Array, (await rt.read(s.dB)) as Float32Array];
      const wantA = new Float64Array(r * din), wantB = new Float64Array(dout * r);
      for (let o = 0; o < dout; o++)
        for (let i = 0; i < din; i++)
          for (let k = 0; k < r; k++) {
            wantA[k * din + i] += scale * B[o * r + k] * dW[o * din + i];
            wantB[o * r + k] += scale * dW[o * din + i] * A[k * din + i];
          }
      for (const [got, want, what] of [[dA, wantA, 'dA'], [dB, wantB, 'dB']] as const) {
        let m = 0;
        for (const v of want) m = Math.max(m, Math.abs(v));
        for (let i = 0; i < want.length; i++)
          assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * m + 1e-7, `r ${r}${stacked ? ' stacked' : ''}: layer ${l} ${t} ${what}[${i}]: ${got[i]} vs chain rule ${want[i]}`);
      }
    }
}

test('LoRA gradients on all seven targets equal the chain rule through the merged weight: dA = s·Bᵀ·dW, dB = s·dW·Aᵀ', async () => {
  const wide = { hidden_size: 64, intermediate_size: 32 }; // D = 16: every factor a multiple of 64 floats at r = 4
  await loraChainRule(3, false, {}); // each adapter its own tensors
  await loraChainRule(4, true, wide, true); // A and B stacked: q|k|v's forward, dy·B and dB as column / row blocks
  await loraChainRule(4, true, {}); // A stacked, B not (k's is 16 floats): shared x·Aᵀ, dA and dx, per-adapter dy·B, dB
  await loraChainRule(2, true, wide); // stacked x·Aᵀ, per-adapter backward on windows of it (r = 2)
  // K = 256 or more on every projection, few tiles: all of them split-K, each adapter's term folded into the reduce
  // (q|k|v's three as column blocks from 0, 256 and 320), forward and backward, and the kept residual its addend
  await loraChainRule(4, true, { hidden_size: 256, intermediate_size: 256, num_attention_heads: 4 }, true, true);
});

test('LoRA with dropout (p 0.3): loss and gradients equal float64 finite differences through the same masks', async () => {
  const rt = await testRuntime();
  const ckpt = makeTinyCheckpoint({}, 15, 'f32');
  const { model } = await loadModel(rt, ckpt, { tokenizer: false });
  const cfg = model.cfg;
  const { mb, rows, counted } = batch(cfg.d_vocab, 0);
  const graph = new TrainGraph(rt, cfg, model.w);
  const r = 2, scale = 1.5, p = 0.3;
  const targets = ['q_proj', 'o_proj', 'down_proj'] as const;
  const dims: Record<string, [number, number]> = { q_proj: [cfg.d_model, cfg.n_heads * cfg.d_head], o_proj: [cfg.n_heads * cfg.d_head, cfg.d_model], down_proj: [cfg.d_mlp, cfg.d_model] };
  const rng = new Rng(16);
  const host = new Map<string, { A: Float64Array; B: Float64Array }>();
  const lora: LoraState = { scale, dropout: p, slots: [] };
  for (let l = 0; l < cfg.n_layers; l++) {
    lora.slots.push({});
    for (const t of targets) {
      const [din, dout] = dims[t];
      const A = rng.normal(r * din, 0.3), B = rng.normal(dout * r, 0.3);
      host.set(`${l}.${t}`, { A: Float64Array.from(A), B: Float64Array.from(B) });
      lora.slots[l][t] = { A: rt.upload(A, [r, din]), B: rt.upload(B, [dout, r]), dA: rt.zeros([r, din]), dB: rt.zeros([dout, r]) };
    }
  }
  const lossGpu = (await rt.read(graph.step(mb, rt.zeros([1]), lora, null, { gradScale: 1 / counted, dropoutSeed: 12345 })))[0];

  // float64: each row unpadded, the adapter term scale·(mask ⊙ x / (1 − p)) Aᵀ Bᵀ with the GPU's mask bits
  const T = mb.T;
  const loss64 = (): number => {
    let sum = 0, n = 0;
    rows.forEach((row, b) => {
      const delta = (l: number, t: string, x: Float64Array): Float64Array | null => {
        const h = host.get(`${l}.${t}`);
        if (!h) return null;
        const [din, dout] = dims[t];
        const seed = graph.dropoutSeed(l, t as (typeof targets)[number]);
        const L = x.length / din;
        const y = new Float64Array(L * dout);
        for (let tt = 0; tt < L; tt++) {
          const xa = new Float64Array(r);
          for (let c = 0; c < din; c++) {
            if (!keepBit((b * T + tt) * din + c, seed.lo, seed.hi, p)) continue;
            const xv = x[tt * din + c] / (1 - p);
            for (let k = 0; k < r; k++) xa[k] += xv * h.A[k * din + c];
          }
          for (let o = 0; o < dout; o++) {
            let s = 0;
            for (let k = 0; k < r; k++) s += h.B[o * r + k] * xa[k];
            y[tt * dout + o] = scale * s;
          }
        }
        return y;
      };
      const { logits } = referenceForward(cfg, ckpt.weights, row.ids, delta);
      const V = cfg.d_vocab;
      row.targets.forEach((tgt, t) => {
        if (tgt === -100) return;
        let m = -Infinity, s = 0;
        for (let v = 0; v < V; v++) m = Math.max(m, logits[t * V + v]);
        for (let v = 0; v < V; v++) s += Math.exp(logits[t * V + v] - m);
        sum += m + Math.log(s) - logits[t * V + tgt];
        n++;
      });
    });
    return sum / n;
  };
  const want = loss64();
  assert.ok(Math.abs(lossGpu - want) <= 1e-5 * want, `loss with dropout ${lossGpu} vs float64 ${want}`);
  const noDrop = refLoss(cfg, ckpt.weights, rows);
  assert.ok(Math.abs(want - noDrop) > 1e-3, 'the adapters (with dropout) change the loss');
  for (let l = 0; l < cfg.n_layers; l++)
    for (const t of targets) {
      const h = host.get(`${l}.${t}`)!;
      const s = lora.slots[l][t]!;
      for (const [which, arr, g] of [['A', h.A, (await rt.read(s.dA)) as Float32Array], ['B', h.B, (await rt.read(s.dB)) as Float32Array]] as const) {
        let gmax = 0;
        for (const v of g) gmax = Math.max(gmax, Math.abs(v));
        for (let k = 0; k < 2; k++) {
          const i = rng.int(0, arr.length);
          const orig = arr[i], eps = 1e-4;
          arr[i] = orig + eps;
          const lp = loss64();
          arr[i] = orig - eps;
          const lm = loss64();
          arr[i] = orig;
          const fd = (lp - lm) / (2 * eps);
          assert.ok(Math.abs(g[i] - fd) <= 2e-4 * gmax + 1e-6, `layer ${l} ${t} d${which}[${i}]: GPU ${g[i]}, finite differences ${fd} (max |g| ${gmax})`);
        }
      }
    }
});

test('logits chunks: the fewest within 32 M floats, rows spread evenly and rounded up to whole 128-row tiles', () => {
  assert.equal(defaultCeChunkRows(151936, 1024), 128); // Qwen2.5: 220 rows fit, 128 taken: eight chunks
  assert.equal(defaultCeChunkRows(49152, 2048), 512); // SmolLM2: 682 fit (640 taken): four even chunks, not 640 × 3 + 128
  assert.equal(defaultCeChunkRows(49152, 600), 600); // fewer rows than fit: one chunk
  assert.equal(defaultCeChunkRows(1024, 40000), 20096); // 32 768 fit: two chunks of 20 000, rounded up to 20 096
  assert.equal(defaultCeChunkRows(300_000, 1024), 111); // fewer than a tile fit: as many as fit
  assert.equal(defaultCeChunkRows(1 << 26, 16), 1);
  // never more chunks than the cap needs, never over the cap
  for (const [V, N] of [[151936, 1000], [49152, 777], [32000, 8192], [151936, 4096], [49152, 4096], [1024, 100_000]]) {
    const rows = defaultCeChunkRows(V, N);
    const fit = Math.floor((32 << 20) / V);
    assert.ok(rows <= fit, `${V}, ${N}: ${rows} rows exceed the ${fit} that fit`);
    assert.equal(Math.ceil(N / rows), Math.ceil(N / (fit - (fit % 128))), `${V}, ${N}: no more chunks than the cap needs`);
  }
});

test('GQA with rows attention: rope_qkv_backward sums dk, dv per kv head (two dispatches fewer a layer), the gradients bit for bit those of the reduces', async () => {
  const rt = await testRuntime();
  const ckpt = makeTinyCheckpoint({ max_position_embeddings: 64 }, 21, 'f32'); // 4 query heads on 2 kv heads, D = 4
  const { model } = await loadModel(rt, ckpt, { tokenizer: false });
  const cfg = model.cfg;
  const [B, T] = [1, 40]; // T ≥ 32: the rows kernels (attention version 3)
  const rng = new Rng(3);
  const ids = Int32Array.from({ length: B * T }, () => Math.floor(rng.next() * cfg.d_vocab));
  const labels = Int32Array.from({ length: B * T }, (_, i) => (i + 1 < B * T ? ids[i + 1] : -100));
  const run = async (edit?: Map<string, { forward: () => void; backward: () => void }>) => {
    const grads = zerosLike(rt, model.w, true);
    const log = logDispatches(rt);
    try {
      await rt.read(new TrainGraph(rt, cfg, model.w).step({ ids, labels, B, T }, rt.zeros([1]), null, grads, { gradScale: 1 / (B * T), hooks: edit ? { edit } : undefined }));
    } finally {
      log.restore();
    }
    const reduces = log.names.filter((n) => n.startsWith('matmul_forward_splitk')).length;
    return { reduces, wqkv: await Promise.all(grads.blocks.map((b) => rt.read(b.wqkv))), embed: await rt.read(grads.embed), names: log.names };
  };
  const fused = await run();
  assert.ok(fused.names.includes('attention_backward_dkv_rows'), 'the rows kernels ran');
  // an identity gradient edit at hook_rot_k and hook_v reads dk, dv: they come summed by the reduces, as before
  const id = { forward: () => {}, backward: () => {} };
  const apart = await run(new Map(Array.from({ length: cfg.n_layers }, (_, l) => [[HOOKS.rotK(l), id], [HOOKS.v(l), id]] as const).flat()));
  assert.equal(apart.reduces - fused.reduces, 2 * cfg.n_layers, 'the dk and dv reduces of each layer are gone');
  fused.wqkv.forEach((g, l) => assert.deepEqual(g, apart.wqkv[l], `layer ${l} dWqkv`));
  assert.deepEqual(fused.embed, apart.embed, 'dEmbed');
});
