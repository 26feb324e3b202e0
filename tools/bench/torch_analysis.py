#!/usr/bin/env python3
"""The interpretability passes of `lab analyze report` with PyTorch hooks, beside `npm run bench -- analysis`
(src/bench/analysis.ts) in the same run.

Run on the GPU machine (torch, transformers 5.x; no network), on a checkpoint folder, e.g. the random
real-shape ones of `python3 tools/golden/make_fixtures.py --real-shapes --out /tmp/real`:
    python3 tools/bench/torch_analysis.py --model /tmp/real/qwen2.5-0.5b-shaped --prompts 100 --len 96 \
        --layers 2 --out /tmp/out/torch_analysis.json [--tf32]

The prompts are the bench's own: the same mulberry32 generator and seeds as src/bench/analysis.ts
(benchPrompts), so both sides see identical ids: two sets of --prompts random prompts, lengths len ± 25%,
the last --answer tokens of each the "answer". Batches are the lab's: sorted by length, right-padded,
at most --max-tokens positions a forward (causal attention keeps padding out of every real position).

  head statistics  model(ids, output_attentions=True) with eager attention (the pattern as TransformerLens's
                   hook_pattern); at each answer query q of each prompt, per layer and head: entropy, entropy /
                   log(q + 1), sink (key 0), previous-token and self mass, max probability, mean distance and
                   distance / q, induction mass (keys right after an earlier copy of the current token); the
                   mean over a prompt's queries; then per head and statistic Cohen's d between the sets.
  ablation sweep   for each head of the first --layers layers (or of the listed ones, "3,9,15,21"): a forward
                   pre-hook on o_proj zeroes the head's D columns of its input (hook_z), the final norm's rows at the answer positions are unembedded
                   and log-softmaxed: the answer's summed log-prob per prompt, minus the unablated one.
Wall clock between torch.cuda.synchronize() calls, after a warm-up of each pass. fp32, TF32 off unless --tf32.

Writes --out: {schema "stoney-torch-analysis-v1", device, torch, transformers, model, prompts, len, answer,
layers_swept, head_stats_s, per_head_s, sweep_all_heads_s, sweep_s, check {base0, effect000}}.
"""
import argparse
import json
import math
import sys
import time


class Mulberry32:
    """src/engine/util/rng.ts's Rng, bit for bit."""

    def __init__(self, seed):
        self.s = (seed & 0xFFFFFFFF) or 0x9E3779B9

    def next(self):
        self.s = (self.s + 0x6D2B79F5) & 0xFFFFFFFF
        t = self.s
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    def int(self, lo, hi):
        return lo + math.floor(self.next() * (hi - lo))


def _imul(a, b):
    return (a * b) & 0xFFFFFFFF


def bench_prompts(n, length, answer, vocab, seed):
    rng = Mulberry32(seed)
    out = []
    for _ in range(n):
        T = max(answer + 2, round_half_up(length * (0.75 + 0.5 * rng.next())))
        out.append(([rng.int(0, vocab) for _ in range(T)], T - answer))
    return out


def round_half_up(x):  # JS Math.round
    return math.floor(x + 0.5)


def length_batches(lengths, max_tokens):
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    out, cur = [], []
    for i in order:
        if cur and (len(cur) + 1) * lengths[i] > max_tokens:
            out.append(cur)
            cur = []
        cur.append(i)
    if cur:
        out.append(cur)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompts", type=int, default=100)
    ap.add_argument("--len", type=int, default=96)
    ap.add_argument("--answer", type=int, default=4)
    ap.add_argument("--layers", default="all")
    ap.add_argument("--max-tokens", type=int, default=4096)
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32, attn_implementation="eager", local_files_only=True).to(dev).eval()
    cfg = model.config
    L, H = cfg.num_hidden_layers, cfg.num_attention_heads
    D = getattr(cfg, "head_dim", None) or cfg.hidden_size // H
    V = cfg.vocab_size
    # all, the first k, or listed layers (comma-separated), as the lab's bench
    swept = list(range(L)) if a.layers == "all" else [int(x) for x in a.layers.split(",")] if "," in a.layers else list(range(int(a.layers)))
    layers = len(swept)
    A = bench_prompts(a.prompts, a.len, a.answer, V, 1)
    B = bench_prompts(a.prompts, a.len, a.answer, V, 2)
    max_tokens = max(a.max_tokens, *(len(p[0]) for p in A + B))

    def batch_ids(prompts, members):
        T = max(len(prompts[i][0]) for i in members)
        ids = torch.zeros((len(members), T), dtype=torch.long)
        for b, i in enumerate(members):
            ids[b, : len(prompts[i][0])] = torch.tensor(prompts[i][0])
        return ids.to(dev), T

    @torch.no_grad()
    def head_stats(prompts):
        """[P, L, H, 9] per-prompt means of the statistics at the answer queries."""
        out = torch.zeros((len(prompts), L, H, 9), dtype=torch.float64, device=dev)
        for members in length_batches([len(p[0]) for p in prompts], max_tokens):
            ids, T = batch_ids(prompts, members)
            att = model(ids, output_attentions=True).attentions  # L × [B, H, T, T]
            for b, i in enumerate(members):
                toks, at = prompts[i]
                Tp = len(toks)
                q = torch.arange(at, Tp, device=dev)  # answer queries
                keys = torch.arange(T, device=dev)
                t = torch.tensor(toks, device=dev)
                # induction keys: k >= 1, k <= q, toks[k - 1] == toks[q], k - 1 < q
                prev = torch.cat([torch.full((1,), -1, device=dev), t[:-1]])  # token before each key
                ind = (prev[None, :Tp] == t[q][:, None]) & (keys[None, :Tp] >= 1) & (keys[None, :Tp] <= q[:, None])  # [Q, Tp]
                for l in range(L):
                    p = att[l][b][:, q, :Tp].double()  # [H, Q, Tp]
                    ent = -(p * torch.log(p.clamp_min(1e-30))).sum(-1)
                    qf = q.double()
                    s = torch.stack([
                        ent,
                        ent / torch.log(qf + 1).clamp_min(1e-30),
                        p[..., 0],
                        p.gather(-1, (q - 1).clamp_min(0)[None, :, None].expand(H, -1, 1))[..., 0],
                        p.gather(-1, q[None, :, None].expand(H, -1, 1))[..., 0],
                        p.max(-1).values,
                        (p * (qf[:, None] - keys[:Tp].double()[None, :])).sum(-1),
                        (p * (qf[:, None] - keys[:Tp].double()[None, :])).sum(-1) / qf.clamp_min(1),
                        (p * ind.double()).sum(-1),
                    ], -1)  # [H, Q, 9]
                    out[i, l] = s.mean(1)
        return out

    def cohen_d(x, y):
        mx, my = x.mean(0), y.mean(0)
        vx, vy = x.var(0, unbiased=True), y.var(0, unbiased=True)
        nx, ny = x.shape[0], y.shape[0]
        sp = torch.sqrt(((nx - 1) * vx + (ny - 1) * vy) / (nx + ny - 2))
        return (mx - my) / sp

    allp = A + B
    answer_rows = [list(range(p[1] - 1, p[1] - 1 + a.answer)) for p in allp]
    batches = []
    for members in length_batches([len(p[0]) for p in allp], max_tokens):
        ids, T = batch_ids(allp, members)
        rows = torch.tensor([b * T + t for b, i in enumerate(members) for t in answer_rows[i]], device=dev)
        targets = torch.tensor([allp[i][0][t + 1] for i in members for t in answer_rows[i]], device=dev)
        batches.append((members, ids, T, rows, targets))
    attn_layers = model.model.layers

    @torch.no_grad()
    def answer_logprobs(head=None):
        """per prompt: summed log-prob of its answer tokens (head = (l, h) zero-ablated at o_proj's input)."""
        hooks = []
        if head is not None:
            l, h = head

            def pre(_mod, args):
                x = args[0].clone()
                x[..., h * D:(h + 1) * D] = 0
                return (x,)
            hooks.append(attn_layers[l].self_attn.o_proj.register_forward_pre_hook(pre))
        res = torch.zeros(len(allp), dtype=torch.float64, device=dev)
        try:
            for members, ids, T, rows, targets in batches:
                hidden = model.model(ids).last_hidden_state  # [B, T, C] after the final norm
                picked = hidden.reshape(-1, hidden.shape[-1])[rows]  # [R, C]
                lp = torch.log_softmax(model.lm_head(picked).float(), -1).gather(-1, targets[:, None])[:, 0].double()
                k = 0
                for i in members:
                    res[i] = lp[k:k + a.answer].sum()
                    k += a.answer
        finally:
            for hk in hooks:
                hk.remove()
        return res

    # warm-up
    head_stats(A[:2])
    answer_logprobs((0, 0))
    sync()
    t0 = time.perf_counter()
    sa, sb = head_stats(A), head_stats(B)
    d = cohen_d(sa, sb)
    sync()
    head_stats_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = answer_logprobs()
    effect = torch.zeros((layers, H, len(allp)), dtype=torch.float64, device=dev)
    for j, l in enumerate(swept):
        for h in range(H):
            effect[j, h] = answer_logprobs((l, h)) - base
    sync()
    sweep_s = time.perf_counter() - t0
    per_head_s = sweep_s / (layers * H)
    res = {
        "schema": "stoney-torch-analysis-v1",
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__, "transformers": transformers.__version__, "model": a.model,
        "prompts": 2 * a.prompts, "len": a.len, "answer": a.answer, "layers_swept": swept, "tf32": a.tf32,
        "head_stats_s": head_stats_s, "sweep_s": sweep_s, "per_head_s": per_head_s, "sweep_all_heads_s": per_head_s * L * H,
        "finite_d": int(torch.isfinite(d).sum().item()),
        "check": {"base0": float(base[0]), "effect000": float(effect[0, 0, 0])},  # head 0 of the first swept layer, prompt 0,
    }
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(f"torch analysis {a.model}: head statistics {head_stats_s:.2f} s; ablation {per_head_s * 1000:.0f} ms a head "
          f"({layers * H} heads {sweep_s:.1f} s) -> all {L * H} heads {per_head_s * L * H:.1f} s; base[0] {float(base[0]):.4f}")


if __name__ == "__main__":
    sys.exit(main())
