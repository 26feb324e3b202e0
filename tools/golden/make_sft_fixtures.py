#!/usr/bin/env python3
"""SFT parity fixtures (issue 4): LoRA gradients, one AdamW step, 20 training steps and full-parameter
gradients computed by PyTorch + transformers + PEFT on the tiny golden fixtures, for the lab's GPU trainer.

Run on the GPU machine (torch, transformers 5.x, peft, safetensors; no network; CPU fp32, deterministic):
    python3 tools/golden/make_sft_fixtures.py --fixtures models/fixtures --out models/fixtures
        [--models llama-gqa,qwen2-tied] [--device cpu|cuda]
Anywhere (pure Python, no torch): the row / padding / schedule helpers' own tests
    python3 tools/golden/make_sft_fixtures.py --self-check

Writes <out>/<model>/ (committed as models/fixtures/sft/<model>/, beside the model folders, not in them):
  rows.jsonl                    8 rows {"input_ids", "labels"} (random.Random(1234); lengths 6..24; ids in
                                [0, vocab) without the pad id; labels -100 on a 1..len//2 prompt prefix)
  lora-init/                    PEFT save_pretrained: adapter_config.json, adapter_model.safetensors (+ PEFT's
                                README.md). r 4, alpha 8 (scale 2), dropout 0, all 7 targets; every lora_A and
                                lora_B = randn(shape, Generator(7)) * 0.1, drawn in sorted saved-name order
  grads.safetensors             "grads": d(loss)/d(every LoRA weight) on rows 0..3 (one right-padded micro-batch),
                                loss = transformers' causal-LM loss (mean over counted shifted tokens)
  step1.safetensors             "step1": LoRA weights after clip (max_norm = 0.5 x grads norm) + one AdamW step
  step1_adam_state.safetensors  exp_avg / exp_avg_sq after that step ("<name>.exp_avg"): these see the clipping
                                (Adam's first update is ~lr*sign(g), which clipping barely changes)
  train20_final.safetensors     "train20": LoRA weights after 20 steps (bs 2 x accum 2, linear warmup 3)
  full_grads.safetensors        "full": grads of every base parameter (HF names; tied qwen2: embed_tokens only)
  full_step1.safetensors        base parameters after clip + one AdamW step
  reference.json                schema "sft-v1": hyper-parameters, batches, losses, norms, lrs, checks
reference.json: schema, model, script, python/torch/transformers/peft/safetensors versions, device, compute,
  vocab_size, pad_token_id, hyperparameters {rows, lora, step1, train20, full}, batch {rows, input_ids,
  attention_mask, labels [4][T] (the grads/step1/full micro-batch), counted_tokens}, grads {loss, norm},
  step1 {max_norm, clip_total_norm, clip_coef}, train20 [{step, loss, grad_norm (before clipping), lr (used by
  that step), clipped, rows [[r,r],[r,r]] (micro-batches), counted_tokens}], full {loss, norm, max_norm,
  clip_total_norm, clip_coef, tensors}, checks {reload_logits_max_abs, adapter_effect_logits_max_abs,
  step0_vs_grads_loss_abs, step0_vs_grads_norm_rel, num_items_in_batch_max_abs}; file names beside them.
  Norms are float64 sums over float32 grads except clip_total_norm (clip_grad_norm_'s own float32 value).
  Floats are written as the shortest decimal that parses back to the same float32.
Tensor names are PEFT's saved names (base_model.model.model.layers.{l}.self_attn.q_proj.lora_A.weight), the
same keys as lora-init/adapter_model.safetensors (checked). All tensors float32.

Conventions (what the lab must reproduce): micro-batches are right-padded to their longest row with the
config's pad id (attention_mask 0, labels -100); position t predicts input_ids[t+1], counted when
labels[t+1] != -100; step loss = sum of CE over every counted token of the step's micro-batches / number of
counted tokens of the step (each micro-batch backpropagates CE_sum / step_total); grad norm = global L2 before
clipping (torch.nn.utils.clip_grad_norm_); lr of step i = base_lr * lambda(i) (transformers'
get_linear_schedule_with_warmup); AdamW = torch.optim.AdamW (LoRA: one param group, weight decay on every trained
tensor; "full": Trainer's two groups, no decay on biases and norm weights). Models run in eval() (no dropout).

Exit status 0 ok; 1 problems (each printed "PROBLEM <where>: <what>" and listed at the end; what could be made
is still written); 2 usage error or a missing package.
"""
import argparse
import json
import math
import os
import platform
import random
import re
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tokenizer_build as tb  # noqa: E402  (pure Python: the float32 JSON writer)

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA = {"r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "bias": "none", "task_type": "CAUSAL_LM",
        "target_modules": TARGETS}
LORA_INIT = {"seed": 7, "std": 0.1, "order": "sorted saved names; lora_A and lora_B alike"}
ROWS = {"n": 8, "min_len": 6, "max_len": 24, "seed": 1234}
GRAD_ROWS = [0, 1, 2, 3]
ADAM = {"betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01}
STEP1 = dict(ADAM, lr=1e-2, max_norm_factor=0.5)
TRAIN20 = dict(ADAM, lr=5e-3, steps=20, batch_size=2, grad_accum=2, schedule="linear", warmup_steps=3,
               max_grad_norm=1.0, shuffle=False)
FULL = dict(ADAM, lr=1e-3, max_norm_factor=0.5)
RELOAD_TOL = 1e-6
OWN = ("rows.jsonl", "grads.safetensors", "step1.safetensors", "step1_adam_state.safetensors",
       "train20_final.safetensors", "full_grads.safetensors", "full_step1.safetensors", "reference.json")
PEFT_FILES = ("adapter_config.json", "adapter_model.safetensors", "README.md")


class Problems(list):
    def add(self, where, msg):
        self.append("%s: %s" % (where, msg))
        print("PROBLEM %s: %s" % (where, msg), file=sys.stderr, flush=True)


# ------------------------------------------------------------------------ pure Python (tested by --self-check)
def make_rows(vocab, pad_id, cfg=ROWS):
    """cfg["n"] rows; length L in [min_len, max_len]; ids uniform over [0, vocab) minus pad_id; the first
    P in [1, L//2] labels are -100 (the prompt), the rest equal input_ids."""
    rng = random.Random(cfg["seed"])
    rows = []
    for _ in range(cfg["n"]):
        L = rng.randint(cfg["min_len"], cfg["max_len"])
        ids = []
        for _ in range(L):
            x = rng.randrange(vocab - 1)  # vocab-1 values, then skip over the pad id
            ids.append(x + 1 if x >= pad_id else x)
        P = rng.randint(1, L // 2)
        rows.append({"input_ids": ids, "labels": [-100] * P + ids[P:]})
    return rows


def pad_right(rows, pad_id):
    """Right padding to the longest row: (input_ids [B][T], attention_mask [B][T], labels [B][T])."""
    T = max(len(r["input_ids"]) for r in rows)
    ids = [r["input_ids"] + [pad_id] * (T - len(r["input_ids"])) for r in rows]
    mask = [[1] * len(r["input_ids"]) + [0] * (T - len(r["input_ids"])) for r in rows]
    labels = [r["labels"] + [-100] * (T - len(r["labels"])) for r in rows]
    return ids, mask, labels


def counted(labels):
    """Tokens that count after the shift: labels[b][t] != -100 for t >= 1."""
    return sum(1 for row in labels for t in range(1, len(row)) if row[t] != -100)


def step_plan(n_rows, steps, batch_size, accum):
    """Row indices per step and micro-batch: file order, no shuffle, wrapping around. [steps][accum][bs]."""
    per = batch_size * accum
    return [[[(s * per + m * batch_size + j) % n_rows for j in range(batch_size)] for m in range(accum)]
            for s in range(steps)]


def linear_lambda(i, warmup, total):
    """transformers' get_linear_schedule_with_warmup lr multiplier for 0-based optimizer step i."""
    if i < warmup:
        return float(i) / float(max(1, warmup))
    return max(0.0, float(total - i) / float(max(1, total - warmup)))


def saved_name(param_name, adapter="default"):
    """In-memory PEFT name -> saved name: '...q_proj.lora_A.default.weight' -> '...q_proj.lora_A.weight'."""
    return re.sub(r"\.%s(\.[^.]+)$" % re.escape(adapter), r"\1", param_name)


def safetensors_keys(path):
    """Tensor names from a safetensors header (pure Python)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        head = json.loads(f.read(n))
    return sorted(k for k in head if k != "__metadata__")


def self_check():
    bad = []

    def need(cond, what):
        if not cond:
            bad.append(what)
    vocab, pad = 299, 296
    rows = make_rows(vocab, pad)
    need(rows == make_rows(vocab, pad), "make_rows is not deterministic")
    lens = [len(r["input_ids"]) for r in rows]
    need(all(ROWS["min_len"] <= L <= ROWS["max_len"] for L in lens), "length out of range %s" % lens)
    need(len(set(lens[:4])) > 1, "rows 0..3 all have one length: padding would not be exercised")
    for r in rows:
        ids, lab = r["input_ids"], r["labels"]
        P = sum(1 for x in lab if x == -100)
        need(all(0 <= x < vocab and x != pad for x in ids), "bad id in %s" % ids)
        need(1 <= P <= len(ids) // 2 and lab[:P] == [-100] * P and lab[P:] == ids[P:], "bad labels %s" % lab)
    ids, mask, lab = pad_right([rows[i] for i in GRAD_ROWS], pad)
    T = max(lens[:4])
    need(all(len(x) == T for x in ids + mask + lab), "pad_right lengths")
    need(all(ids[b][t] == pad and lab[b][t] == -100 and mask[b][t] == 0
             for b in range(4) for t in range(lens[b], T)), "pad_right pads")
    need(counted([[-100, 5, 6, -100], [1, 2, -100, -100]]) == 3, "counted")  # first position never counts
    plan = step_plan(8, 20, 2, 2)
    need(plan[0] == [[0, 1], [2, 3]] and plan[1] == [[4, 5], [6, 7]] and plan[2] == plan[0] and len(plan) == 20,
         "step_plan %s" % plan[:3])
    lam = [linear_lambda(i, 3, 20) for i in range(21)]
    need(lam[0] == 0.0 and abs(lam[1] - 1 / 3) < 1e-15 and lam[3] == 1.0 and abs(lam[19] - 1 / 17) < 1e-15
         and lam[20] == 0.0, "linear_lambda %s" % lam)
    need(saved_name("base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight") ==
         "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "saved_name")
    need(saved_name("base_model.model.model.default.x.lora_B.default.weight").endswith("default.x.lora_B.weight"),
         "saved_name must only strip the adapter name before the last suffix")
    json.loads(tb.dumps({"a": [0.1, 1e-8, -0.0], "b": [1, 2], "c": None, "d": True}))
    for i, r in enumerate(rows):
        print("row %d: len %2d prompt %2d counted %2d" % (i, len(r["input_ids"]),
              sum(1 for x in r["labels"] if x == -100), counted([r["labels"]])), file=sys.stderr)
    for b in bad:
        print("PROBLEM self-check: " + b, file=sys.stderr)
    print("self-check: %s" % ("ok" if not bad else "%d failure(s)" % len(bad)), file=sys.stderr)
    return 1 if bad else 0


# ------------------------------------------------------------------------ torch side
class Ctx:
    """torch, F, device and the problem list, passed around together."""

    def __init__(self, torch, device, problems):
        import torch.nn.functional as F
        self.torch, self.F, self.device, self.problems = torch, F, device, problems

    def tensors(self, ids, mask, labels):
        t = self.torch
        return {"input_ids": t.tensor(ids, dtype=t.long, device=self.device),        # [B, T]
                "attention_mask": t.tensor(mask, dtype=t.long, device=self.device),  # [B, T]
                "labels": t.tensor(labels, dtype=t.long, device=self.device)}        # [B, T]


def load_base(src, c):
    from transformers import AutoModelForCausalLM
    m = AutoModelForCausalLM.from_pretrained(src, dtype=c.torch.float32, attn_implementation="eager",
                                             local_files_only=True)
    m = m.float().to(c.device).eval()  # .float(): a bf16 fixture upcast exactly
    if getattr(m.config, "_attn_implementation", None) != "eager":
        raise RuntimeError("could not get eager attention (got %r)" % m.config._attn_implementation)
    return m


def lora_params(model, c, where):
    """{saved name: parameter} for every LoRA weight, sorted; the names must be PEFT's saved keys."""
    from peft import get_peft_model_state_dict
    out = {saved_name(n): p for n, p in model.named_parameters() if "lora_" in n}
    try:
        sd = get_peft_model_state_dict(model, save_embedding_layers=False)
    except TypeError:  # an older peft without the argument
        sd = get_peft_model_state_dict(model)
    if sorted(sd) != sorted(out):
        c.problems.add(where, "LoRA names %s... differ from get_peft_model_state_dict's %s..."
                       % (sorted(out)[:2], sorted(sd)[:2]))
    return dict(sorted(out.items()))


def save_tensors(path, tensors):
    from safetensors.torch import save_file
    save_file({k: v.detach().float().cpu().contiguous() for k, v in tensors.items()}, path,
              metadata={"format": "pt"})


def global_norm(tensors):
    """L2 norm over every tensor, accumulated in float64 (the reference value)."""
    return math.sqrt(sum(float(t.double().pow(2).sum()) for t in tensors))


def make_adamw(params, cfg, c, named=None):
    """torch AdamW. With `named` (full training): transformers Trainer's two groups, no weight decay on
    biases and norm weights (get_decay_parameter_names), as the lab's full-parameter trainer does."""
    kw = dict(lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"], foreach=False)
    if named is None:
        return c.torch.optim.AdamW(list(params), weight_decay=cfg["weight_decay"], **kw)
    skip = lambda n: n.endswith("bias") or "norm" in n  # noqa: E731
    groups = [{"params": [p for n, p in named.items() if not skip(n)], "weight_decay": cfg["weight_decay"]},
              {"params": [p for n, p in named.items() if skip(n)], "weight_decay": 0.0}]
    return c.torch.optim.AdamW(groups, **kw)


def logits_of(model, b, c):
    with c.torch.no_grad():
        return model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], use_cache=False).logits.float()


def loss_and_grads(model, b, named, c, where):
    """transformers' loss on batch b, backward; checks it against our own shifted CE (float64). Returns
    (loss, {name: grad clone}, float64 global norm)."""
    torch = c.torch
    out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], labels=b["labels"], use_cache=False)
    out.loss.backward()
    lp = torch.log_softmax(out.logits.detach().double()[:, :-1], -1)  # [B, T-1, V]
    tgt = b["labels"][:, 1:]  # [B, T-1]
    ok = tgt != -100
    own = -(lp.gather(-1, tgt.clamp(min=0)[..., None])[..., 0][ok]).mean().item()
    if abs(out.loss.item() - own) > 1e-5:
        c.problems.add(where, "transformers loss %.8g != own shifted CE %.8g" % (out.loss.item(), own))
    grads = {}
    for k, p in named.items():
        if p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().max().item() == 0.0:
            c.problems.add(where, "gradient of %s is missing, zero or not finite" % k)
            grads[k] = torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
        else:
            grads[k] = p.grad.detach().clone()
    return out.loss.item(), grads, global_norm(grads.values())


def clip_and_step(named, cfg, norm, c, hf_groups=False):
    """clip_grad_norm_ at max_norm = factor * norm, then one AdamW step. Returns (max_norm, clip's norm, opt)."""
    opt = make_adamw(named.values(), cfg, c, named if hf_groups else None)
    M = cfg["max_norm_factor"] * norm
    total = float(c.torch.nn.utils.clip_grad_norm_(list(named.values()), M))
    opt.step()
    return M, total, opt


def train20(model, named, rows, pad, c, where):
    """The explicit training loop (no Trainer); see the module docstring for the loss convention."""
    from transformers import get_linear_schedule_with_warmup
    torch, cfg = c.torch, TRAIN20
    opt = make_adamw(named.values(), cfg, c)
    sched = get_linear_schedule_with_warmup(opt, cfg["warmup_steps"], cfg["steps"])
    log, checks = [], {}
    for s, micro in enumerate(step_plan(len(rows), cfg["steps"], cfg["batch_size"], cfg["grad_accum"])):
        batches = [pad_right([rows[i] for i in mb], pad) for mb in micro]
        total = sum(counted(lab) for _, _, lab in batches)  # counted tokens of the whole step, known first
        lr = opt.param_groups[0]["lr"]
        want = cfg["lr"] * linear_lambda(s, cfg["warmup_steps"], cfg["steps"])
        if abs(lr - want) > 1e-12 * max(1.0, want) or abs(sched.get_last_lr()[0] - lr) > 1e-15:
            c.problems.add(where, "step %d: scheduler lr %r != base_lr * lambda = %r" % (s, lr, want))
        ce_sum = 0.0
        for m, raw in enumerate(batches):
            b = c.tensors(*raw)
            logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                           use_cache=False).logits.float()  # [b, T, V]
            V = logits.shape[-1]
            ce = c.F.cross_entropy(logits[:, :-1].reshape(-1, V), b["labels"][:, 1:].reshape(-1),
                                   ignore_index=-100, reduction="sum")  # sum over counted tokens
            (ce / total).backward()
            ce_sum += ce.item()
            if s == 0 and m == 0:  # transformers >= 4.46 semantics: sum / num_items_in_batch
                try:
                    with torch.no_grad():
                        hf = model(**b, num_items_in_batch=total, use_cache=False).loss.item()
                    checks["num_items_in_batch_max_abs"] = abs(hf - ce.item() / total)
                    if checks["num_items_in_batch_max_abs"] > 1e-5:
                        c.problems.add(where, "loss with num_items_in_batch %.8g != CE_sum/total %.8g"
                                       % (hf, ce.item() / total))
                except Exception as ex:  # noqa: BLE001 - a cross-check only
                    print("WARNING %s: num_items_in_batch cross-check skipped: %r" % (where, ex), file=sys.stderr)
        gn = float(torch.nn.utils.clip_grad_norm_(list(named.values()), cfg["max_grad_norm"]))
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        log.append({"step": s, "loss": ce_sum / total, "grad_norm": gn, "lr": lr,
                    "clipped": gn > cfg["max_grad_norm"], "rows": micro, "counted_tokens": total})
    return log, checks


def clean(d, names):
    os.makedirs(d, exist_ok=True)
    for f in names:
        if os.path.exists(os.path.join(d, f)):
            os.remove(os.path.join(d, f))


def run_model(name, src, d, c):
    import peft
    import safetensors
    import transformers
    from peft import LoraConfig, PeftModel, get_peft_model
    torch, P = c.torch, c.problems
    init_dir = os.path.join(d, "lora-init")
    clean(d, OWN)
    clean(init_dir, PEFT_FILES)
    base = load_base(src, c)
    cfg = base.config
    vocab, pad = cfg.vocab_size, cfg.pad_token_id
    if pad is None:
        raise RuntimeError("config.json has no pad_token_id")
    rows = make_rows(vocab, pad)
    with open(os.path.join(d, "rows.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    raw = pad_right([rows[i] for i in GRAD_ROWS], pad)
    b = c.tensors(*raw)

    # --- lora-init: PEFT model with seeded A and B (B != 0 so every gradient flows), PEFT's writer
    model = get_peft_model(base, LoraConfig(**LORA)).eval()
    named = lora_params(model, c, name + "/lora")
    g = torch.Generator().manual_seed(LORA_INIT["seed"])
    with torch.no_grad():
        for p in named.values():
            p.copy_(torch.randn(tuple(p.shape), generator=g, dtype=torch.float32) * LORA_INIT["std"])
    init_vals = {k: p.detach().clone() for k, p in named.items()}
    model.save_pretrained(init_dir, save_embedding_layers=False)
    keys = safetensors_keys(os.path.join(init_dir, "adapter_model.safetensors"))
    if keys != sorted(named):
        P.add(name, "adapter_model.safetensors keys %s... != expected %s..." % (keys[:2], sorted(named)[:2]))
    with open(os.path.join(init_dir, "adapter_config.json"), encoding="utf-8") as f:
        ac = json.load(f)
    if (ac.get("r"), ac.get("lora_alpha"), sorted(ac.get("target_modules") or []), ac.get("use_rslora", False),
            ac.get("use_dora", False)) != (LORA["r"], LORA["lora_alpha"], sorted(TARGETS), False, False):
        P.add(name, "adapter_config.json has unexpected r/alpha/targets/rslora/dora: %s" % ac)

    # --- self-consistency: the saved folder reloads to the same function; the adapter changes it
    lg_mem = logits_of(model, b, c)  # [B, T, V]
    with model.disable_adapter():
        lg_base = logits_of(model, b, c)
    reloaded = PeftModel.from_pretrained(load_base(src, c), init_dir).eval()
    reload_err = (logits_of(reloaded, b, c) - lg_mem).abs().max().item()
    effect = (lg_mem - lg_base).abs().max().item()
    del reloaded
    if not reload_err <= RELOAD_TOL:
        P.add(name, "lora-init reloaded with PeftModel.from_pretrained: logits differ by %.3g" % reload_err)
    if not effect > 1e-3:
        P.add(name, "the LoRA init changes the logits by only %.3g" % effect)

    # --- grads, then step1 on the same model (it holds lora-init until the step)
    loss, grads, norm = loss_and_grads(model, b, named, c, name + "/grads")
    save_tensors(os.path.join(d, "grads.safetensors"), grads)
    M, clip_norm, opt = clip_and_step(named, STEP1, norm, c)
    save_tensors(os.path.join(d, "step1.safetensors"), named)
    state = {}
    for k, p in named.items():
        state[k + ".exp_avg"] = opt.state[p]["exp_avg"]
        state[k + ".exp_avg_sq"] = opt.state[p]["exp_avg_sq"]
    save_tensors(os.path.join(d, "step1_adam_state.safetensors"), state)
    del model, opt, base

    # --- train20 from the saved lora-init
    model = PeftModel.from_pretrained(load_base(src, c), init_dir, is_trainable=True).eval()
    named = lora_params(model, c, name + "/train20")
    trainable = sorted(saved_name(n) for n, p in model.named_parameters() if p.requires_grad)
    if trainable != sorted(named) or any(not torch.equal(named[k], init_vals[k]) for k in named):
        P.add(name, "reloaded lora-init is not exactly the LoRA weights, all trainable and nothing else")
    log, t_checks = train20(model, named, rows, pad, c, name + "/train20")
    save_tensors(os.path.join(d, "train20_final.safetensors"), named)
    t_checks["step0_vs_grads_loss_abs"] = abs(log[0]["loss"] - loss)  # same rows, padded per micro-batch
    t_checks["step0_vs_grads_norm_rel"] = abs(log[0]["grad_norm"] - norm) / norm
    if t_checks["step0_vs_grads_loss_abs"] > 1e-5 or t_checks["step0_vs_grads_norm_rel"] > 1e-4:
        P.add(name, "train20 step 0 (loss %.8g, norm %.8g) != grads case (%.8g, %.8g)"
              % (log[0]["loss"], log[0]["grad_norm"], loss, norm))
    del model

    # --- full: every base parameter, no PEFT
    full = load_base(src, c)
    full.requires_grad_(True)
    fnamed = dict(full.named_parameters())  # tied lm_head shares embed_tokens and is listed once
    if getattr(full.config, "tie_word_embeddings", False) and "lm_head.weight" in fnamed:
        P.add(name, "tied model lists lm_head.weight as its own parameter")
    st = os.path.join(src, "model.safetensors")
    if os.path.exists(st) and safetensors_keys(st) != sorted(fnamed):
        P.add(name, "full-model parameter names differ from model.safetensors' keys")
    f_loss, f_grads, f_norm = loss_and_grads(full, b, fnamed, c, name + "/full")
    save_tensors(os.path.join(d, "full_grads.safetensors"), f_grads)
    f_M, f_clip, _ = clip_and_step(fnamed, FULL, f_norm, c, hf_groups=True)
    save_tensors(os.path.join(d, "full_step1.safetensors"), fnamed)

    ref = {
        "schema": "sft-v1", "model": name, "script": "tools/golden/make_sft_fixtures.py",
        "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
        "peft": peft.__version__, "safetensors": safetensors.__version__, "device": str(c.device),
        "compute": {"dtype": "float32", "attn_implementation": "eager", "deterministic_algorithms": True,
                    "mode": "eval() (every dropout is 0)"},
        "vocab_size": vocab, "pad_token_id": pad,
        "hyperparameters": {
            "rows": dict(ROWS, file="rows.jsonl", lengths=[len(r["input_ids"]) for r in rows],
                         prompt_lengths=[sum(1 for x in r["labels"] if x == -100) for r in rows]),
            "lora": dict(LORA, scale=LORA["lora_alpha"] / LORA["r"], use_rslora=False, init=LORA_INIT,
                         folder="lora-init", tensors=len(named)),
            "step1": dict(STEP1, optimizer="torch.optim.AdamW"),
            "train20": dict(TRAIN20, optimizer="torch.optim.AdamW",
                            scheduler="transformers.get_linear_schedule_with_warmup(opt, 3, 20)",
                            padding="right, each micro-batch to its longest row"),
            "full": dict(FULL, optimizer="torch.optim.AdamW", weight_decay_on="every parameter except biases and norm weights (Trainer's groups)")},
        "batch": {"rows": GRAD_ROWS, "padding": "right, pad id, to the longest row", "input_ids": raw[0],
                  "attention_mask": raw[1], "labels": raw[2], "counted_tokens": counted(raw[2])},
        "grads": {"loss": loss, "norm": norm, "file": "grads.safetensors"},
        "step1": {"max_norm": M, "clip_total_norm": clip_norm, "clip_coef": M / (clip_norm + 1e-6),
                  "file": "step1.safetensors", "adam_state_file": "step1_adam_state.safetensors"},
        "train20": log,
        "train20_final_file": "train20_final.safetensors",
        "full": {"loss": f_loss, "norm": f_norm, "max_norm": f_M, "clip_total_norm": f_clip,
                 "clip_coef": f_M / (f_clip + 1e-6), "grads_file": "full_grads.safetensors",
                 "step1_file": "full_step1.safetensors", "tensors": len(fnamed)},
        "checks": dict(t_checks, reload_logits_max_abs=reload_err, adapter_effect_logits_max_abs=effect),
    }
    tb_write(os.path.join(d, "reference.json"), ref)
    return ref


def tb_write(path, obj):
    text = tb.dumps(obj, 2)
    json.loads(text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default="models/fixtures", help="folder holding the tiny fixture models")
    ap.add_argument("--out", default=None, help="output root; writes <out>/<model>/ (required unless --self-check)")
    ap.add_argument("--models", default="llama-gqa,qwen2-tied", help="comma list of fixture names")
    ap.add_argument("--device", default="cpu", help="cpu (default: reproducible) or cuda")
    ap.add_argument("--self-check", action="store_true", help="test the pure-Python helpers only (no torch)")
    args = ap.parse_args(argv)
    if args.self_check:
        return self_check()
    if not args.out:
        ap.error("--out is required")
    names = [n for n in args.models.split(",") if n]
    for n in names:
        if not os.path.exists(os.path.join(args.fixtures, n, "config.json")):
            print("make_sft_fixtures: no %s/%s/config.json" % (args.fixtures, n), file=sys.stderr)
            return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS, if --device cuda
    try:
        import peft  # noqa: F401
        import safetensors  # noqa: F401
        import torch
        import transformers
    except ImportError as ex:
        print("make_sft_fixtures: needs torch, transformers, peft and safetensors: %s" % ex, file=sys.stderr)
        return 2
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print("torch %s, transformers %s, peft %s, device %s" % (torch.__version__, transformers.__version__,
                                                               peft.__version__, args.device), file=sys.stderr)
    problems = Problems()
    c = Ctx(torch, torch.device(args.device), problems)
    for n in names:
        d = os.path.join(args.out, n)
        try:
            ref = run_model(n, os.path.join(args.fixtures, n), d, c)
        except Exception as ex:  # noqa: BLE001 - keep going, report at the end
            import traceback
            traceback.print_exc()
            problems.add(n, "failed: %r" % (ex,))
            continue
        kb = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs) / 1024
        t = ref["train20"]
        print("== %s -> %s (%.0f KiB): %d LoRA tensors, grads loss %.5f norm %.5f; step1 max_norm %.5f; "
              "full loss %.5f norm %.5f (%d tensors)" % (
                  n, d, kb, ref["hyperparameters"]["lora"]["tensors"], ref["grads"]["loss"], ref["grads"]["norm"],
                  ref["step1"]["max_norm"], ref["full"]["loss"], ref["full"]["norm"], ref["full"]["tensors"]),
              file=sys.stderr)
        print("   train20 loss %s" % " ".join("%.4f" % s["loss"] for s in t), file=sys.stderr)
        print("   train20 norm %s (clipped %d/20)" % (" ".join("%.3f" % s["grad_norm"] for s in t),
                                                     sum(s["clipped"] for s in t)), file=sys.stderr)
        print("   checks %s" % ref["checks"], file=sys.stderr)
    if problems:
        print("\nmake_sft_fixtures: %d problem(s):" % len(problems), file=sys.stderr)
        for p in problems:
            print("  - " + p, file=sys.stderr)
        return 1
    print("make_sft_fixtures: ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
