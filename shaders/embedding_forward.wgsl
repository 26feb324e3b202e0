// embedding_forward — out[n, :] = table[ids[n], :] (token embedding gather); out-of-range ids give zeros
//
// bindings (group 0):
//   0 uniform  U { n: u32, C: u32, V: u32, _pad: u32 }      n = N·C output elements
//   1 read     ids:   [N] i32
//   2 read     table: [V, C] f32, or f16/bf16 packed two per u32 (T_DTYPE says which)
//   3 storage  out:   [N, C] f32
// override T_DTYPE: 0 = f32, 1 = f16, 2 = bf16
// dispatch: grid1d(ceil(n / 256)) workgroups of 256; element i = (wid.x + wid.y * nwg.x) * 256 + lid,
//   row n = i / C, column c = i % C (neighbouring threads read neighbouring columns of one table row)
// reference: embedding_forward.ref.ts (embeddingForwardRef)
//
// An id < 0 or >= V cannot be reported from here (the host does not read ids back): its row is zeros,
// which the caller must treat as a bug upstream (tokenizer/vocab mismatch), not as an embedding.

struct U { n: u32, C: u32, V: u32, _pad: u32 }

override T_DTYPE: u32 = 0u;
const WG = 256u;

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// table element k (row-major [V, C]) as f32; halves: element 2i in the low 16 bits of word i
fn load_table(k: u32) -> f32 {
  if (T_DTYPE == 0u) { return bitcast<f32>(table[k]); }
  let word = table[k >> 1u];
  if (T_DTYPE == 1u) { return unpack2x16float(word)[k & 1u]; }
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (k & 1u) == 1u)); // bf16
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= u.n) { return; }
  let n = i / u.C;
  let c = i - n * u.C;
  let id = ids[n];
  var v = 0.0;
  if (id >= 0i && u32(id) < u.V) { v = load_table(u32(id) * u.C + c); }
  out[i] = v; // [N, C]
}
