#!/usr/bin/env python3
"""PyTorch-hook references for `lab analyze` (issue 12): the logit lens, head ablation and activation patching
on the project's tiny fixture models, made with transformers' own modules and forward hooks.

Run on the GPU machine (torch + transformers; CPU is fine too, float64 throughout):
    python3 tools/golden/make_analysis_fixtures.py --out models/fixtures/analysis/interventions.json

For each fixture model (models/fixtures/llama-gqa, qwen2-tied) and a fixed prompt (ids < vocab) and source:
  logit_lens   hidden states of the residual stream: the input of decoder layer k (k < L; the embedding for
               k = 0) and the OUTPUT of the last decoder layer (a forward hook: transformers' last
               `hidden_states` already has the final norm applied), each through model.model.norm and lm_head,
               log_softmax, at the target id -> logprob[k][pos];
  ablate       a forward pre-hook on layers[l].self_attn.o_proj zeroes (or sets to the mean vector of) the input
               columns h*D .. (h+1)*D: TransformerLens's hook_z of head h; mean = that slice averaged over every
               position of the mean-set prompts (captured with the same pre-hook);
  patch        the source run's activation at one position replaces the target run's at:
                 blocks.{l}.hook_resid_pre   a forward pre-hook on layers[l] (its hidden_states argument)
                 blocks.{l}.hook_resid_post  a forward hook on layers[l] (its output)
                 blocks.{l}.hook_attn_out    a forward hook on layers[l].self_attn (output[0])
                 blocks.{l}.attn.hook_z      the pre-hook on o_proj
               (resid_mid has no module boundary in transformers' decoder layer: not here).
Writes {"schema": "lab-analysis-v1", "torch", "transformers", "cases": [{"model", "kind", "args", "ids",
"expected": logprob [L+1][T] | logits [T][V]}]}; the TS test (src/cli/analyze.test.ts) compares `lab analyze`
with each case at 1e-4 relative.
"""
import argparse
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = ["llama-gqa", "qwen2-tied"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    torch.set_grad_enabled(False)
    cases = []
    for name in MODELS:
        path = os.path.join(ROOT, "models", "fixtures", name)
        m = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float64, attn_implementation="eager", local_files_only=True).eval()
        cfg = m.config
        V, L, H = cfg.vocab_size, cfg.num_hidden_layers, cfg.num_attention_heads
        D = getattr(cfg, "head_dim", None) or cfg.hidden_size // H
        g = torch.Generator().manual_seed(3)
        ids = torch.randint(0, V, (1, 9), generator=g)
        src = torch.randint(0, V, (1, 9), generator=g)
        means = [torch.randint(0, V, (1, n), generator=g) for n in (5, 7)]
        layers = m.model.layers

        def run(x, hooks=()):
            hs = [h() for h in hooks]
            try:
                return m(input_ids=x).logits[0]
            finally:
                for h in hs:
                    h.remove()

        # ---- logit lens ----
        target = int(ids[0, -1])
        rows = []
        store = {}
        pre = [layers[k].register_forward_pre_hook(lambda mod, args, kw, k=k: store.__setitem__(k, (kw.get("hidden_states") if kw.get("hidden_states") is not None else args[0]).clone()), with_kwargs=True) for k in range(L)]
        last = layers[L - 1].register_forward_hook(lambda mod, args, out: store.__setitem__(L, (out[0] if isinstance(out, tuple) else out).clone()))
        m(input_ids=ids)
        for h in pre + [last]:
            h.remove()
        for k in range(L + 1):
            lp = torch.log_softmax(m.lm_head(m.model.norm(store[k]))[0], dim=-1)[:, target]
            rows.append(lp.tolist())
        cases.append({"model": name, "kind": "logit-lens", "args": {"target": target}, "ids": ids[0].tolist(), "expected": rows})

        # ---- ablation of hook_z (the o_proj input) ----
        def z_pre(l, fn):
            def hook(mod, args):
                x = args[0].clone()
                fn(x)
                return (x,) + tuple(args[1:])
            return lambda: layers[l].self_attn.o_proj.register_forward_pre_hook(hook)

        for (l, h) in [(0, 1), (L - 1, H - 1)]:
            def zero(x, h=h):
                x[..., h * D:(h + 1) * D] = 0
            logits = run(ids, [z_pre(l, zero)])
            cases.append({"model": name, "kind": "ablate", "args": {"head": f"{l}.{h}", "mode": "zero"}, "ids": ids[0].tolist(), "expected": logits.tolist()})
            got = []
            def grab(x, h=h):
                got.append(x[0, :, h * D:(h + 1) * D].clone())
            for mp in means:
                run(mp, [z_pre(l, grab)])
            mean = torch.cat(got, dim=0).mean(dim=0)
            def set_mean(x, h=h, mean=mean):
                x[..., h * D:(h + 1) * D] = mean
            logits = run(ids, [z_pre(l, set_mean)])
            cases.append({"model": name, "kind": "ablate", "args": {"head": f"{l}.{h}", "mode": "mean", "mean_data": [p[0].tolist() for p in means]}, "ids": ids[0].tolist(), "expected": logits.tolist()})

        # ---- patching at one position ----
        pos = 4
        def capture_then_patch(register, extract, replace, hook_name):
            saved = {}
            h = register(lambda *a_: saved.__setitem__("v", extract(*a_).clone()))
            m(input_ids=src)
            h.remove()
            h = register(lambda *a_: replace(saved["v"], *a_))
            try:
                logits = m(input_ids=ids).logits[0]
            finally:
                h.remove()
            cases.append({"model": name, "kind": "patch", "args": {"hook": hook_name, "pos": pos, "source_ids": src[0].tolist()}, "ids": ids[0].tolist(), "expected": logits.tolist()})

        l = L - 1
        # resid_pre: the decoder layer's hidden_states input
        def reg_pre(fn):
            def hook(mod, args, kw):
                return fn(mod, args, kw)
            return layers[l].register_forward_pre_hook(hook, with_kwargs=True)
        def ext_pre(mod, args, kw):
            return kw["hidden_states"] if "hidden_states" in kw else args[0]
        def rep_pre(v, mod, args, kw):
            if "hidden_states" in kw:
                x = kw["hidden_states"].clone(); x[:, pos] = v[:, pos]; kw = dict(kw); kw["hidden_states"] = x; return args, kw
            x = args[0].clone(); x[:, pos] = v[:, pos]; return (x,) + tuple(args[1:]), kw
        capture_then_patch(reg_pre, ext_pre, rep_pre, f"blocks.{l}.hook_resid_pre")
        # resid_post: the decoder layer's output
        def reg_post(fn):
            return layers[0].register_forward_hook(lambda mod, args, out: fn(mod, args, out))
        def ext_post(mod, args, out):
            return out[0] if isinstance(out, tuple) else out
        def rep_post(v, mod, args, out):
            y = (out[0] if isinstance(out, tuple) else out).clone(); y[:, pos] = v[:, pos]
            return (y,) + tuple(out[1:]) if isinstance(out, tuple) else y
        capture_then_patch(reg_post, ext_post, rep_post, "blocks.0.hook_resid_post")
        # attn_out: the attention module's output[0]
        def reg_attn(fn):
            return layers[0].self_attn.register_forward_hook(lambda mod, args, out: fn(mod, args, out))
        def rep_attn(v, mod, args, out):
            y = out[0].clone(); y[:, pos] = v[:, pos]
            return (y,) + tuple(out[1:])
        capture_then_patch(reg_attn, lambda mod, args, out: out[0], rep_attn, "blocks.0.hook_attn_out")
        # hook_z: the o_proj input
        def reg_z(fn):
            return layers[0].self_attn.o_proj.register_forward_pre_hook(lambda mod, args: fn(mod, args))
        def rep_z(v, mod, args):
            x = args[0].clone(); x[:, pos] = v[:, pos]
            return (x,) + tuple(args[1:])
        capture_then_patch(reg_z, lambda mod, args: args[0], rep_z, "blocks.0.attn.hook_z")
        print(f"{name}: {sum(c['model'] == name for c in cases)} cases", file=sys.stderr)

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"schema": "lab-analysis-v1", "script": "tools/golden/make_analysis_fixtures.py", "torch": torch.__version__, "transformers": transformers.__version__, "cases": cases}, f)


if __name__ == "__main__":
    main()
