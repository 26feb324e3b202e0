// swiglu_halves — shared by swiglu_forward.wgsl and swiglu_backward.wgsl, prepended by their host files; not a
// kernel on its own. Where element i = r·F + c of gate and of up lies: at i in each (apart, F = 0), or at r·2F + c and
// r·2F + F + c of the fused rows gu [N, 2F] (gate | up side by side: one product of x and [Wgate; Wup]).
fn halves(i: u32, F: u32) -> vec2u {
  if (F == 0u) { return vec2u(i, i); }
  let g = i + (i / F) * F;
  return vec2u(g, g + F);
}
