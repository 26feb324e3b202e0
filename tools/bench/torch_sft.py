#!/usr/bin/env python3
"""PyTorch + PEFT reference timings for one LoRA SFT optimizer step (issue 4), beside the lab's trainer.

Run on the GPU machine (torch, transformers 5.x, peft; no network), on the random real-shape checkpoints
made by `python3 tools/golden/make_fixtures.py --real-shapes --out /tmp/real`:
    python3 tools/bench/torch_sft.py --model /tmp/real/smollm2-135m-shaped --batch 8 --seq 256 --out /tmp/out/torch_sft-135m.json
    python3 tools/bench/torch_sft.py --model /tmp/real/qwen2.5-0.5b-shaped --batch 4 --seq 256 --out /tmp/out/torch_sft-0.5b.json
        [--rank 16] [--steps 20] [--warmup 3] [--attn eager,sdpa] [--lr 2e-4] [--tf32] [--device cuda] [--profile N]

--profile N: after the timed steps, one more step under torch.profiler (CUDA activity); prints its GPU kernels'
total time and the N kernels that took the most (name, calls, ms), to set beside the lab's `bench -- sft --profile`.

What one step is (the same for each attention implementation, one fresh model per case):
  model fp32 (AutoModelForCausalLM, attn_implementation eager | sdpa) on cuda, PEFT LoraConfig(r=rank,
  lora_alpha=2*rank, lora_dropout=0, bias none, all 7 targets q/k/v/o/gate/up/down_proj; PEFT's default init),
  model.train(); one fixed random batch input_ids [B, T] (torch.Generator seed 0; no padding, no attention
  mask) with labels = input_ids (transformers' mean shifted CE); torch.optim.AdamW(LoRA params, lr, defaults
  otherwise: betas (0.9, 0.999), eps 1e-8, weight_decay 0.01); then per step
      loss = model(input_ids, labels).loss; loss.backward(); clip_grad_norm_(params, 1.0); opt.step();
      opt.zero_grad(set_to_none=True)
  timed as wall clock between torch.cuda.synchronize() calls. The first `--warmup` steps are not in the
  statistics (the first one is reported alone as first_step_s: allocator, cuBLAS and kernel warm-up);
  then `--steps` steps give the median / mean / min. tokens_per_s = B * T / median step time.
  Peak memory = torch.cuda.max_memory_allocated() after reset_peak_memory_stats() once the model, PEFT and the
  optimizer are set up (so it covers activations, gradients and Adam's state, which is created at step 1);
  model_bytes = torch.cuda.memory_allocated() at that point. TF32 is off (plain fp32, like the WebGPU
  kernels) unless --tf32.

Writes --out: {schema "stoney-torch-sft-v1", device, torch, cuda, transformers, peft, model, model_path,
batch, seq, rank, lora_alpha, lr, max_grad_norm, tf32, warmup, steps, timing,
cases: {eager: {...}, sdpa: {...}}} where each case is {attn_implementation (what transformers reports),
trainable_params, total_params, first_step_s, step_s_median, step_s_mean, step_s_min, step_s [steps],
tokens_per_s, peak_mem_bytes, model_bytes, loss_first, loss_last} or {error}. The two cases start from the
same weights and batch, so loss_first agrees (printed). Exit 1 when a case fails, 2 on a usage error.
"""
import argparse
import gc
import json
import os
import statistics
import sys
import time

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
MAX_GRAD_NORM = 1.0


def run_case(attn, args, torch, device):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32, attn_implementation=attn,
                                                 local_files_only=True)
    model = model.float().to(device)
    got_attn = getattr(model.config, "_attn_implementation", None)
    vocab = model.config.vocab_size
    torch.manual_seed(0)  # PEFT's lora_A init draws from the global generator: same adapter in every case
    model = get_peft_model(model, LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0,
                                             target_modules=TARGETS, bias="none", task_type="CAUSAL_LM"))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, vocab, (args.batch, args.seq), generator=g).to(device)  # [B, T]

    def step():
        out = model(input_ids=ids, labels=ids, use_cache=False)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return out.loss.detach()

    sync()
    model_bytes = torch.cuda.memory_allocated() if cuda else None
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times, losses = [], []
    for _ in range(args.warmup + args.steps):
        sync()
        t0 = time.perf_counter()
        loss = step()
        sync()
        times.append(time.perf_counter() - t0)
        losses.append(loss.item())  # after the clock: .item() would synchronize inside the timing
    timed = times[args.warmup:]
    med = statistics.median(timed)
    res = {"attn_implementation": got_attn,
           "trainable_params": sum(p.numel() for p in params),
           "total_params": sum(p.numel() for p in model.parameters()),
           "first_step_s": times[0], "step_s_median": med, "step_s_mean": statistics.fmean(timed),
           "step_s_min": min(timed), "step_s": timed, "tokens_per_s": args.batch * args.seq / med,
           "peak_mem_bytes": torch.cuda.max_memory_allocated() if cuda else None, "model_bytes": model_bytes,
           "loss_first": losses[0], "loss_last": losses[-1]}
    if args.profile and cuda:
        res["profile"] = profile_step(step, args.profile, torch, sync)
    return res  # the model, optimizer and batch go with this frame; the caller empties the CUDA cache


def profile_step(step, top, torch, sync):
    """One step under torch.profiler: the GPU kernels' total and the `top` largest by summed device time."""
    from torch.profiler import ProfilerActivity, profile
    sync()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        step()
        sync()
    rows = {}
    for e in prof.events():
        if e.device_type.name != "CUDA":
            continue
        t = getattr(e, "device_time", None)
        if t is None:
            t = e.cuda_time
        r = rows.setdefault(e.name, [0, 0.0])
        r[0] += 1
        r[1] += t / 1e3  # us -> ms
    total = sum(r[1] for r in rows.values())
    ranked = sorted(rows.items(), key=lambda kv: -kv[1][1])
    print("torch profile of one step: %d kernels, %.1f ms GPU" % (sum(r[0] for r in rows.values()), total),
          file=sys.stderr)
    for name, (n, ms) in ranked[:top]:
        print("  %8.2f ms %5d  %s" % (ms, n, name[:110]), file=sys.stderr)
    return {"total_ms": total, "kernels": [{"name": k, "calls": n, "ms": ms} for k, (n, ms) in ranked[:top]]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model folder (config.json + safetensors)")
    ap.add_argument("--batch", type=int, required=True, help="rows per step, B")
    ap.add_argument("--seq", type=int, required=True, help="tokens per row, T")
    ap.add_argument("--rank", type=int, default=16, help="LoRA rank (alpha = 2 x rank; default 16)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps after warm-up (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--attn", default="eager,sdpa", help="attention implementations, comma list")
    ap.add_argument("--lr", type=float, default=2e-4, help="AdamW learning rate (default 2e-4)")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 matmuls (default off: plain fp32)")
    ap.add_argument("--device", default="cuda", help="cuda (default); cpu only to try the script")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="after timing, profile one step and print its N largest GPU kernels")
    ap.add_argument("--out", required=True, help="JSON file to write")
    args = ap.parse_args(argv)
    if min(args.batch, args.seq, args.rank, args.steps) < 1 or args.warmup < 0:
        ap.error("--batch, --seq, --rank and --steps must be >= 1, --warmup >= 0")
    if args.seq < 2:
        ap.error("--seq must be >= 2 (the loss needs a next token)")
    if not os.path.exists(os.path.join(args.model, "config.json")):
        ap.error("no config.json in %s" % args.model)
    attns = [a for a in args.attn.split(",") if a]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import peft
        import torch
        import transformers
    except ImportError as ex:
        print("torch_sft: needs torch, transformers and peft: %s" % ex, file=sys.stderr)
        return 2
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("torch_sft: no CUDA device (use --device cpu only to try the script)", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    cuda = device.type == "cuda"
    report = {"schema": "stoney-torch-sft-v1", "device": torch.cuda.get_device_name(0) if cuda else "cpu",
              "torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__,
              "peft": peft.__version__, "model": os.path.basename(os.path.normpath(args.model)),
              "model_path": os.path.abspath(args.model), "batch": args.batch, "seq": args.seq, "rank": args.rank,
              "lora_alpha": 2 * args.rank, "lr": args.lr, "max_grad_norm": MAX_GRAD_NORM, "tf32": args.tf32,
              "warmup": args.warmup, "steps": args.steps,
              "timing": "wall clock per optimizer step (forward+backward+clip+AdamW step+zero_grad) between "
                        "torch.cuda.synchronize(); median over the steps after warm-up", "cases": {}}
    failed = False
    for attn in attns:
        try:
            r = run_case(attn, args, torch, device)
        except Exception as ex:  # noqa: BLE001 - OOM or an unsupported implementation: record, go on
            import traceback
            traceback.print_exc()
            r = {"error": "%s: %s" % (type(ex).__name__, ex)}
            failed = True
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
        report["cases"][attn] = r
        if "error" in r:
            print("%s: FAILED %s" % (attn, r["error"]), file=sys.stderr)
            continue
        if r["attn_implementation"] != attn:
            print("WARNING %s: transformers reports attention %r" % (attn, r["attn_implementation"]),
                  file=sys.stderr)
        peak = r["peak_mem_bytes"]
        print("%-6s B=%d T=%d r=%d: step %.2f ms median (first %.0f ms), %.0f tok/s, peak %s, loss %.4f -> %.4f"
              % (attn, args.batch, args.seq, args.rank, 1e3 * r["step_s_median"], 1e3 * r["first_step_s"],
                 r["tokens_per_s"], "%.2f GiB" % (peak / 2 ** 30) if peak is not None else "n/a",
                 r["loss_first"], r["loss_last"]), file=sys.stderr)
    ok_cases = [c for c in report["cases"].values() if "error" not in c]
    if len(ok_cases) > 1:
        spread = max(c["loss_first"] for c in ok_cases) - min(c["loss_first"] for c in ok_cases)
        print("first-step loss spread across attention implementations: %.3g" % spread, file=sys.stderr)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print("wrote %s" % args.out, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
