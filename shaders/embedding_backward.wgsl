// embedding_backward — dtable[id, :] += Σ_{n : ids[n] = id} dout[n, :]  (scatter-add without atomics)
//
// The host groups positions by token id on the CPU (CSR) and uploads it as one u32 array:
//   csr = [ uniq: U ids (ascending) | offsets: U + 1 | pos: P positions, ascending within each id ]
// so positions of uniq[k] are pos[offsets[k] .. offsets[k+1]). One workgroup owns one unique id, hence
// one dtable row: no two workgroups write the same element, and each sum runs in position order
// (deterministic, bitwise repeatable).
//
// bindings (group 0):
//   0 uniform  U { U: u32, C: u32, _pad0: u32, _pad1: u32 }
//   1 read     csr:    [U + (U + 1) + P] u32
//   2 read     dout:   [N, C] f32
//   3 storage  dtable: [V, C] f32   (parameter gradient: accumulated, the caller zeroes it)
// dispatch: grid1d(U) workgroups of 64; k = wid.x + wid.y * nwg.x; columns c = lid, lid + 64, ...
// reference: embedding_backward.ref.ts (embeddingBackwardRef)

struct U { U: u32, C: u32, _pad0: u32, _pad1: u32 }

const WG = 64u;

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> csr: array<u32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> dtable: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = wid.x + wid.y * nwg.x;
  if (k >= u.U) { return; }
  let id = csr[k];
  let p0 = csr[u.U + k]; // offsets, then positions from 2U + 1 on
  let p1 = csr[u.U + k + 1u];
  let pbase = 2u * u.U + 1u;
  for (var c = lid; c < u.C; c += WG) {
    var acc = 0.0;
    for (var j = p0; j < p1; j++) { acc += dout[csr[pbase + j] * u.C + c]; }
    dtable[id * u.C + c] += acc; // [V, C]
  }
}
