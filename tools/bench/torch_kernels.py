#!/usr/bin/env python3
"""PyTorch reference timings for the kernel benchmark cases (tools/bench/kernel_cases.json).

Run on the GPU machine in the same run as `bench kernels`, which reads the JSON this writes:
    python3 tools/bench/torch_kernels.py --out /tmp/torch.json
fp32 everywhere, TF32 off (the WebGPU kernels are plain fp32), CUDA-event timing after warm-up,
median of repeats. Each case is what PyTorch eager does for the same math, one op at a time.
"""
import argparse, json, statistics, sys
import torch
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def timed(fn, reps=20, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def case_fn(c, dev):
    op = c["op"]
    r = lambda *s: torch.randn(*s, device=dev)
    if op == "matmul":
        M, N, K = c["M"], c["N"], c["K"]
        a = r(K, M).t() if c.get("transA") else r(M, K)  # transA: a stored [K, M], used transposed
        dt = torch.bfloat16 if c.get("bdtype") == "bf16" else torch.float32
        if c.get("transB"):
            w = r(N, K).to(dt)
            # eager with half weights: upcast then fp32 matmul (what our kernel computes)
            return (lambda: a @ w.float().t()) if dt != torch.float32 else (lambda: a @ w.t()), 2 * M * N * K, 4 * (M * K + N * K + M * N)
        b = r(K, N)
        return (lambda: a @ b), 2 * M * N * K, 4 * (M * K + K * N + M * N)
    if op == "softmax":
        x = r(c["rows"], c["cols"])
        return (lambda: torch.softmax(x, -1)), 0, 8 * x.numel()
    if op == "rmsnorm":
        x, w = r(c["N"], c["C"]), r(c["C"])
        norm = torch.nn.RMSNorm(c["C"], eps=1e-6, device=dev)
        return (lambda: norm(x)), 0, 8 * x.numel()
    if op == "rope":
        T, H, D = c["T"], c["H"], c["D"]
        x = r(T, H, D)
        inv = 1.0 / (10000 ** (torch.arange(0, D, 2, device=dev).float() / D))
        ang = torch.arange(T, device=dev).float()[:, None] * inv[None]
        emb = torch.cat([ang, ang], -1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]
        def rope():
            x1, x2 = x[..., : D // 2], x[..., D // 2 :]
            return x * cos + torch.cat([-x2, x1], -1) * sin
        return rope, 0, 8 * x.numel()
    if op == "swiglu":
        g, u = r(c["N"], c["F"]), r(c["N"], c["F"])
        return (lambda: F.silu(g) * u), 0, 12 * g.numel()
    if op == "attention":
        B, T, H, Hkv, D = c["B"], c["T"], c["H"], c["Hkv"], c["D"]
        q, k, v = r(B, H, T, D), r(B, Hkv, T, D), r(B, Hkv, T, D)
        flops = 4 * B * H * T * T * D // 2
        return (lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)), flops, 4 * (2 * q.numel() + 2 * k.numel())
    if op == "attention_bwd":  # backward only: the graph is kept and backward replayed (dQ, dK, dV)
        B, T, H, Hkv, D = c["B"], c["T"], c["H"], c["Hkv"], c["D"]
        q, k, v = (t.requires_grad_() for t in (r(B, H, T, D), r(B, Hkv, T, D), r(B, Hkv, T, D)))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        g = r(B, H, T, D)
        flops = 5 * (4 * B * H * T * T * D // 2) // 2  # S and dP recomputed, dV, dK, dQ: 2.5x the forward's
        return (lambda: torch.autograd.grad(out, (q, k, v), g, retain_graph=True)), flops, 4 * (4 * q.numel() + 4 * k.numel())
    if op == "cross_entropy":
        x = r(c["N"], c["V"]); t = torch.randint(0, c["V"], (c["N"],), device=dev)
        return (lambda: F.cross_entropy(x, t)), 0, 4 * x.numel()
    if op == "adamw":
        p = torch.nn.Parameter(r(c["n"])); p.grad = r(c["n"])
        opt = torch.optim.AdamW([p], lr=1e-4, foreach=False, fused=False)
        return opt.step, 0, 4 * 7 * c["n"]
    if op == "lora":
        x, A, B = r(c["N"], c["in"]), r(c["r"], c["in"]), r(c["out"], c["r"])
        y = r(c["N"], c["out"])
        return (lambda: y.add_((x @ A.t()) @ B.t(), alpha=2.0)), 2 * c["N"] * c["r"] * (c["in"] + c["out"]), 4 * (x.numel() + 2 * y.numel())
    raise ValueError(f"unknown op {op}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--cases", default="tools/bench/kernel_cases.json")
    args = ap.parse_args()
    dev = "cuda"
    cases = json.load(open(args.cases))["cases"]
    res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "cases": {}}
    for c in cases:
        try:
            fn, flops, nbytes = case_fn(c, dev)
            with torch.no_grad():
                ms = timed(fn)
            res["cases"][c["name"]] = {"ms": ms, "tflops": flops / ms / 1e9 if flops else None, "gbps": nbytes / ms / 1e6}
        except Exception as e:  # a case PyTorch cannot run is recorded, not fatal
            res["cases"][c["name"]] = {"error": str(e)}
        print(f"torch {c['name']:36s} {res['cases'][c['name']]}", file=sys.stderr)
    json.dump(res, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
