#!/usr/bin/env python3
"""LoRA adapters between PEFT and the lab, both ways (issue 4).

Compare: the lab's forward with an adapter against PEFT's (base + PeftModel.from_pretrained, fp32, eager):
    node .bundle/lab.mjs forward --model M --adapter A --ids 1,2,3 --out /tmp/lab.json
    python3 tools/golden/peft_roundtrip.py --model M --adapter A --ids 1,2,3 --lab /tmp/lab.json [--tol 1e-4]
  The lab's JSON is {"ids": [T], "logits": [T][V]}. Prints the max abs error, the max row-relative error
  (max_v |lab - peft| / max_v |peft| per position, worst position) and the argmax agreement, then
  "round trip OK" (exit 0) when the row-relative error <= --tol, else "DIFFER" (exit 1). It also prints how
  much the adapter moves PEFT's logits off the base model's, so an adapter that was silently not applied
  shows up as an error of that size.

Write a PEFT-made adapter for the lab to load:
    python3 tools/golden/peft_roundtrip.py --model M --write-peft-adapter /tmp/peft-a --ids 1,2,3 [--seed 8]
  LoraConfig(r=8, lora_alpha=16, lora_dropout=0, target_modules q_proj,v_proj,down_proj, bias none,
  CAUSAL_LM); every lora_A = randn(shape, Generator(seed)) / sqrt(in_features) and lora_B = randn * 0.02
  (drawn in sorted name order, A before B of a module), so the adapter moves the logits by a few percent
  without swamping the base model; saved with PEFT's save_pretrained (adapter_config.json,
  adapter_model.safetensors, README.md), reloaded and checked (1e-6), and its logits for --ids written to
  <dir>/peft_logits.json {"ids", "logits" [T][V], "model", "lora"}. With --lab as well, the comparison
  above runs right after on the written adapter.

Runs on CPU by default (--device cuda to use the GPU; TF32 off). Needs torch, transformers 5.x, peft; no
network. Exit 2 on a usage error or a missing package.
"""
import argparse
import json
import math
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tokenizer_build as tb  # noqa: E402  (pure Python: the float32 JSON writer)

WRITE_LORA = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0, "bias": "none", "task_type": "CAUSAL_LM",
              "target_modules": ["q_proj", "v_proj", "down_proj"]}
B_STD = 0.02  # lora_B std; lora_A std is 1/sqrt(in_features)
RELOAD_TOL = 1e-6


def parse_ids(text):
    try:
        ids = [int(x) for x in text.split(",") if x.strip() != ""]
    except ValueError:
        raise SystemExit("peft_roundtrip: --ids must be comma-separated integers, got %r" % text)
    if not ids:
        raise SystemExit("peft_roundtrip: --ids is empty")
    return ids


def compare_rows(ours, ref):
    """ours, ref: [T][V] lists. Returns (max abs, max row-relative, worst position, argmax agreements, why)
    where why is None or the reason the two cannot be compared (shape, non-finite values)."""
    if len(ours) != len(ref) or any(len(a) != len(b) for a, b in zip(ours, ref)):
        return None, None, None, 0, "shape [%d][%s] != PEFT's [%d][%d]" % (
            len(ours), len(ours[0]) if ours else 0, len(ref), len(ref[0]) if ref else 0)
    worst_abs, worst_rel, worst_t, agree = 0.0, 0.0, 0, 0
    for t, (a, b) in enumerate(zip(ours, ref)):
        if not all(math.isfinite(x) for x in a):
            return None, None, t, 0, "non-finite logits at position %d" % t
        err = max(abs(x - y) for x, y in zip(a, b))
        scale = max(abs(y) for y in b) or 1.0
        worst_abs = max(worst_abs, err)
        if err / scale >= worst_rel:
            worst_rel, worst_t = err / scale, t
        agree += max(range(len(a)), key=a.__getitem__) == max(range(len(b)), key=b.__getitem__)
    return worst_abs, worst_rel, worst_t, agree, None


def self_check():
    ok = compare_rows([[1.0, 2.0], [0.5, -4.0]], [[1.0, 2.0], [0.5, -4.0]])
    bad = compare_rows([[1.0, 2.5], [0.5, -4.0]], [[1.0, 2.0], [0.5, -4.0]])
    nan = compare_rows([[float("nan"), 0.0]], [[0.0, 0.0]])
    shape = compare_rows([[1.0]], [[1.0, 2.0]])
    fails = []
    if ok[:2] != (0.0, 0.0) or ok[3] != 2 or ok[4] is not None:
        fails.append("equal rows: %s" % (ok,))
    if bad[0] != 0.5 or bad[1] != 0.25 or bad[2] != 0 or bad[3] != 2:
        fails.append("one difference: %s" % (bad,))
    if nan[4] is None or shape[4] is None:
        fails.append("NaN or a shape mismatch passed")
    if parse_ids("1, 2,3") != [1, 2, 3]:
        fails.append("parse_ids")
    for f in fails:
        print("PROBLEM self-check: " + f, file=sys.stderr)
    print("self-check: %s" % ("ok" if not fails else "failed"), file=sys.stderr)
    return 1 if fails else 0


# ------------------------------------------------------------------------------------------ torch side
def load_base(d, torch, device):
    from transformers import AutoModelForCausalLM
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager",
                                             local_files_only=True)
    return m.float().to(device).eval()  # .float(): bf16 checkpoints upcast exactly


def logits_of(model, ids, torch, device):
    x = torch.tensor([ids], dtype=torch.long, device=device)  # [1, T]
    with torch.no_grad():
        return model(input_ids=x, use_cache=False).logits[0].float().cpu()  # [T, V]


def check_ids(ids, vocab):
    bad = [i for i in ids if not 0 <= i < vocab]
    if bad:
        raise SystemExit("peft_roundtrip: ids %s are outside the vocabulary [0, %d)" % (bad, vocab))


def write_adapter(args, ids, torch, device):
    """Build, seed, save and reload a PEFT LoRA; write its logits. Returns 0/1."""
    from peft import LoraConfig, PeftModel, get_peft_model
    base = load_base(args.model, torch, device)
    check_ids(ids, base.config.vocab_size)
    model = get_peft_model(base, LoraConfig(**WRITE_LORA)).eval()
    g = torch.Generator().manual_seed(args.seed)
    n = 0
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if ".lora_A." in name:  # [r, in]
                p.copy_(torch.randn(tuple(p.shape), generator=g) / math.sqrt(p.shape[1]))
            elif ".lora_B." in name:  # [out, r]
                p.copy_(torch.randn(tuple(p.shape), generator=g) * B_STD)
            else:
                continue
            n += 1
    if n == 0:
        print("PROBLEM: PEFT created no lora_A / lora_B weights", file=sys.stderr)
        return 1
    lg = logits_of(model, ids, torch, device)  # [T, V]
    with model.disable_adapter():
        lg_base = logits_of(model, ids, torch, device)
    model.save_pretrained(args.write_peft_adapter, save_embedding_layers=False)
    again = PeftModel.from_pretrained(load_base(args.model, torch, device), args.write_peft_adapter).eval()
    err = (logits_of(again, ids, torch, device) - lg).abs().max().item()
    effect = (lg - lg_base).abs().max().item()
    out = {"ids": ids, "logits": lg.tolist(), "model": os.path.abspath(args.model),
           "lora": dict(WRITE_LORA, seed=args.seed, a_std="1/sqrt(in_features)", b_std=B_STD)}
    with open(os.path.join(args.write_peft_adapter, "peft_logits.json"), "w", encoding="utf-8") as f:
        f.write(tb.dumps(out, 1) + "\n")
    print("wrote %s: %d LoRA tensors, adapter moves the logits by up to %.4g; reload max abs %.3g"
          % (args.write_peft_adapter, n, effect, err), file=sys.stderr)
    status = 0
    if not err <= RELOAD_TOL:
        print("PROBLEM: the saved adapter reloads to other logits (max abs %.3g)" % err, file=sys.stderr)
        status = 1
    if not effect > 1e-3:
        print("PROBLEM: the adapter barely changes the logits (%.3g)" % effect, file=sys.stderr)
        status = 1
    return status


def compare(args, adapter, ids, torch, device):
    from peft import PeftModel
    with open(args.lab, encoding="utf-8") as f:
        lab = json.load(f)
    if ids is None:
        ids = [int(i) for i in lab["ids"]]
    elif [int(i) for i in lab["ids"]] != ids:
        print("DIFFER: the lab ran on ids %s, not --ids %s" % (lab["ids"], ids))
        return 1
    base = load_base(args.model, torch, device)
    check_ids(ids, base.config.vocab_size)
    model = PeftModel.from_pretrained(base, adapter).eval()
    ref = logits_of(model, ids, torch, device)  # [T, V]
    with model.disable_adapter():
        effect = (ref - logits_of(model, ids, torch, device)).abs().max().item()
    mx, rel, t, agree, why = compare_rows(lab["logits"], ref.tolist())
    if why:
        print("DIFFER: %s" % why)
        return 1
    print("lab vs PEFT (%s + %s), T=%d: max abs %.3e, max row-relative %.3e (position %d; bound %g), "
          "argmax agrees at %d/%d; the adapter itself moves PEFT's logits by up to %.3e"
          % (args.model, adapter, len(ids), mx, rel, t, args.tol, agree, len(ids), effect))
    if effect <= 10 * mx:
        print("WARNING: the error is not small next to the adapter's effect: was the adapter applied?")
    ok = rel <= args.tol
    print("round trip OK" if ok else "DIFFER")
    return 0 if ok else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="base model folder (config.json + safetensors)")
    ap.add_argument("--adapter", help="PEFT adapter folder (adapter_config.json + adapter_model.safetensors)")
    ap.add_argument("--ids", help="token ids, comma-separated (compare: default the lab JSON's ids)")
    ap.add_argument("--lab", help="the lab's forward JSON {ids, logits}")
    ap.add_argument("--tol", type=float, default=1e-4, help="bound on the max row-relative error (default 1e-4)")
    ap.add_argument("--write-peft-adapter", metavar="DIR", help="write a seeded PEFT LoRA and its logits to DIR")
    ap.add_argument("--seed", type=int, default=8, help="--write-peft-adapter: generator seed (default 8)")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--self-check", action="store_true", help="test the pure-Python comparison (no torch)")
    args = ap.parse_args(argv)
    if args.self_check:
        return self_check()
    if not args.model:
        ap.error("--model is required")
    if args.write_peft_adapter and not args.ids:
        ap.error("--write-peft-adapter needs --ids")
    if not args.write_peft_adapter and not (args.adapter and args.lab):
        ap.error("give --adapter and --lab (compare), or --write-peft-adapter DIR --ids ...")
    if args.lab and not (args.adapter or args.write_peft_adapter):
        ap.error("--lab needs --adapter")
    ids = parse_ids(args.ids) if args.ids else None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import peft
        import torch
        import transformers
    except ImportError as ex:
        print("peft_roundtrip: needs torch, transformers and peft: %s" % ex, file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device(args.device)
    print("torch %s, transformers %s, peft %s, device %s" % (torch.__version__, transformers.__version__,
                                                               peft.__version__, device), file=sys.stderr)
    status = 0
    if args.write_peft_adapter:
        status = write_adapter(args, ids, torch, device)
    if args.lab:
        status = max(status, compare(args, args.adapter or args.write_peft_adapter, ids, torch, device))
    return status


if __name__ == "__main__":
    sys.exit(main())
