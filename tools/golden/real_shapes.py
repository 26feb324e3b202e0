"""--real-shapes mode of make_fixtures.py: random-initialised models with the exact shapes of SmolLM2-135M and
Qwen2.5-0.5B (fp32, torch.manual_seed(0)), a logits reference for a fixed 32-token id sequence, and
transformers' own speed on CUDA (generate and prefill) as the baseline for the lab's decode/prefill benchmarks.

Writes under OUT (not committed: ~0.5 GB and ~2 GB of fp32 weights):
  OUT/<model>/{config.json, generation_config.json, model*.safetensors*, reference.json}
  OUT/bench.json
Schemas: tools/golden/README.md.
"""
import os
import platform
import statistics
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig, LlamaForCausalLM, Qwen2Config, \
    Qwen2ForCausalLM

import make_fixtures as mf

REAL_SPECS = {
    "smollm2-135m-shaped": dict(arch="llama", vocab=49152, hidden=576, inter=1536, layers=30, heads=9, kv=3,
                                head_dim=64, tied=True, rope_theta=100000.0, eps=1e-5, max_pos=8192, bos=1, eos=2),
    "qwen2.5-0.5b-shaped": dict(arch="qwen2", vocab=151936, hidden=896, inter=4864, layers=24, heads=14, kv=2,
                                head_dim=64, tied=True, rope_theta=1000000.0, eps=1e-6, max_pos=32768,
                                bos=151643, eos=151643),
}
SEED = 0
IDS_SEED = 1234  # the fixed 32-token input: torch.randint(0, vocab, (32,), generator=Generator(1234))
N_IDS = 32
LAST = 4  # logits written for the last LAST positions only
GREEDY_NEW = 16
# realistic scale (HF's 0.02) except q/k, so attention is not uniform at these widths
INIT = {"std": 0.02, "qk_std": 0.05, "norm_std": 0.05, "bias_std": 0.02}
GEN_BATCHES, GEN_PROMPT, GEN_NEW = (1, 16), 32, 64
PREFILL_BATCHES, PREFILL_LEN = (1, 16), 256


def build(spec):
    rope = {"rope_type": "default", "rope_theta": spec["rope_theta"]}
    common = dict(vocab_size=spec["vocab"], hidden_size=spec["hidden"], intermediate_size=spec["inter"],
                  num_hidden_layers=spec["layers"], num_attention_heads=spec["heads"],
                  num_key_value_heads=spec["kv"], max_position_embeddings=spec["max_pos"],
                  rms_norm_eps=spec["eps"], tie_word_embeddings=spec["tied"], initializer_range=INIT["std"],
                  hidden_act="silu", rope_parameters=rope, bos_token_id=spec["bos"], eos_token_id=spec["eos"],
                  attn_implementation="eager")
    torch.manual_seed(SEED)
    if spec["arch"] == "llama":
        model = LlamaForCausalLM(LlamaConfig(head_dim=spec["head_dim"], attention_bias=False, **common))
    else:
        model = Qwen2ForCausalLM(Qwen2Config(use_sliding_window=False, **common))
    mf.init_weights(model, SEED, INIT, torch)
    model.generation_config = GenerationConfig(bos_token_id=spec["bos"], eos_token_id=spec["eos"])
    return model.eval()


def greedy_cached(model, ids, n):
    """Ignore-eos greedy with the KV cache (the standard forward API, no generate)."""
    new = []
    with torch.no_grad():
        out = model(input_ids=ids, use_cache=True)
        for _ in range(n):
            nxt = torch.argmax(out.logits[:, -1, :].float(), dim=-1)  # [1]
            new.append(int(nxt[0]))
            out = model(input_ids=nxt[:, None], past_key_values=out.past_key_values, use_cache=True)
    return new


def reference(name, spec, model, problems):
    g = torch.Generator().manual_seed(IDS_SEED)
    ids = torch.randint(0, spec["vocab"], (1, N_IDS), generator=g)  # [1, 32]
    with torch.no_grad():
        logits = model(input_ids=ids, use_cache=False).logits[0].float()  # [32, V]
    top2 = torch.topk(logits, 2, dim=-1).values
    greedy = greedy_cached(model, ids, GREEDY_NEW)
    if logits.std().item() < 0.05:
        problems.add(name, "logits std %.3g is ~0" % logits.std().item())
    return ids, logits, {
        "schema": "stoney-golden-real-v1",
        "model": name,
        "generator": {"script": "tools/golden/make_fixtures.py --real-shapes", "python": platform.python_version(),
                      "torch": torch.__version__, "transformers": transformers.__version__},
        "model_config": {"arch": spec["arch"], "d_model": spec["hidden"], "n_layers": spec["layers"],
                         "n_heads": spec["heads"], "n_kv_heads": spec["kv"], "d_head": spec["head_dim"],
                         "d_mlp": spec["inter"], "d_vocab": spec["vocab"], "n_ctx": spec["max_pos"],
                         "rms_norm_eps": spec["eps"], "rope_theta": spec["rope_theta"], "rope_scaling": None,
                         "tie_word_embeddings": spec["tied"], "attention_bias": spec["arch"] == "qwen2",
                         "bos_token_id": spec["bos"], "eos_token_ids": [spec["eos"]], "torch_dtype": "float32"},
        "init": dict(INIT, seed=SEED),
        "compute": {"device": "cpu", "dtype": "float32", "attn_implementation": "eager"},
        "input_ids": ids[0].tolist(),
        "logits_positions": list(range(N_IDS - LAST, N_IDS)),
        "logits_last": logits[N_IDS - LAST:].tolist(),
        "argmax": torch.argmax(logits, -1).tolist(),
        "top2_margin": (top2[:, 0] - top2[:, 1]).tolist(),
        "logsumexp": torch.logsumexp(logits.double(), -1).tolist(),
        "greedy_new_tokens": greedy,
    }


def timed(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(iters):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), ts


def prefill_fn(model, ids):
    """One prefill forward; only the last position's logits when the transformers version allows it."""
    def run_keep():
        with torch.no_grad():
            return model(input_ids=ids, use_cache=False, logits_to_keep=1)

    def run_full():
        with torch.no_grad():
            return model(input_ids=ids, use_cache=False)
    try:
        out = run_keep()
        if out.logits.shape[1] == 1:
            return run_keep, 1
    except TypeError:
        pass
    return run_full, None


def bench(name, spec, d, ref_ids, ref_logits, dtype_name, problems):
    dtype = getattr(torch, dtype_name)
    model = AutoModelForCausalLM.from_pretrained(d, dtype=dtype, attn_implementation="sdpa", local_files_only=True)
    if next(model.parameters()).dtype != dtype:  # only when from_pretrained ignored dtype
        model = model.to(dtype)
    model = model.to("cuda").eval()
    res = {"attn_implementation": getattr(model.config, "_attn_implementation", None), "generate": [],
           "prefill": []}
    with torch.no_grad():
        lg = model(input_ids=ref_ids.cuda(), use_cache=False).logits[0].float().cpu()  # [32, V]
    diff = (lg - ref_logits).abs().max().item()
    same_argmax = torch.equal(lg.argmax(-1), ref_logits.argmax(-1))
    res["cuda_vs_cpu_reference"] = {"logits_max_abs": diff, "argmax_equal": same_argmax}
    if dtype == torch.float32 and diff > 1e-2:
        problems.add(name, "cuda fp32 logits differ from the CPU reference by %.3g" % diff)
    model.generation_config.eos_token_id = None  # never stop: exactly GEN_NEW tokens
    model.generation_config.pad_token_id = 0
    g = torch.Generator().manual_seed(IDS_SEED + 1)
    for B in GEN_BATCHES:
        ids = torch.randint(0, spec["vocab"], (B, GEN_PROMPT), generator=g).cuda()
        mask = torch.ones_like(ids)
        out_len = {}

        def gen():
            with torch.no_grad():
                o = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=GEN_NEW, do_sample=False,
                                   pad_token_id=0)
            out_len["n"] = o.shape[1] - GEN_PROMPT
        t, ts = timed(gen, 1, 3)
        pre, keep = prefill_fn(model, ids)
        tp, _ = timed(pre, 2, 5)
        n = out_len["n"]
        if n != GEN_NEW:
            problems.add(name, "generate made %d tokens, not %d" % (n, GEN_NEW))
        res["generate"].append({
            "batch": B, "prompt_tokens": GEN_PROMPT, "new_tokens": n, "seconds_median": t, "seconds": ts,
            "tok_s": B * n / t, "prompt_prefill_seconds": tp,
            # decode only: the first new token comes from the prefill, the other n-1 from decode steps
            "decode_tok_s_est": B * (n - 1) / max(t - tp, 1e-9)})
    for B in PREFILL_BATCHES:
        ids = torch.randint(0, spec["vocab"], (B, PREFILL_LEN), generator=g).cuda()
        fn, keep = prefill_fn(model, ids)
        t, ts = timed(fn, 2, 5)
        res["prefill"].append({"batch": B, "tokens": PREFILL_LEN, "seconds_median": t, "seconds": ts,
                               "tok_s": B * PREFILL_LEN / t, "logits_to_keep": keep})
    return res  # the caller empties the CUDA cache once this frame (and the model) is gone


def run(out, problems, skip_bench, bench_dtypes, names=None):
    unknown = [n for n in names or [] if n not in REAL_SPECS]
    if unknown:
        problems.add("real-shapes", "unknown shape(s) %s; known: %s" % (",".join(unknown), ",".join(REAL_SPECS)))
        return
    try:
        torch.backends.cuda.matmul.allow_tf32 = False  # plain fp32, like the WebGPU kernels
        torch.backends.cudnn.allow_tf32 = False
    except Exception:  # noqa: BLE001
        pass
    have_cuda = torch.cuda.is_available()
    if not skip_bench and not have_cuda:
        problems.add("real-shapes", "no CUDA device: timings skipped (use --skip-bench to silence)")
    report = {"schema": "stoney-golden-bench-v1", "device": torch.cuda.get_device_name(0) if have_cuda else None,
              "torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__,
              "tf32": False, "timing": "wall clock with cuda.synchronize, median; generate 1 warm-up + 3 runs, "
              "prefill 2 warm-up + 5 runs", "models": {}}
    for name, spec in REAL_SPECS.items():
        if names and name not in names:
            continue
        d = os.path.join(out, name)
        mf.clean_dir(d)
        t0 = time.time()
        try:
            model = build(spec)
            mf.save_model(model, d, None)
            ids, logits, ref = reference(name, spec, model, problems)
            mf.write_json(os.path.join(d, "reference.json"), ref)
            del model
        except Exception as ex:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            problems.add(name, "failed: %r" % (ex,))
            continue
        print("== %s -> %s (%.0f s) argmax[-4:]=%s greedy=%s" % (name, d, time.time() - t0, ref["argmax"][-4:],
                                                                 ref["greedy_new_tokens"]), file=sys.stderr)
        if skip_bench or not have_cuda:
            continue
        report["models"][name] = {}
        for dt in bench_dtypes:
            try:
                r = bench(name, spec, d, ids, logits, dt, problems)
            except Exception as ex:  # noqa: BLE001
                import traceback
                traceback.print_exc()
                problems.add(name, "bench %s failed: %r" % (dt, ex))
                continue
            torch.cuda.empty_cache()
            report["models"][name][dt] = r
            for gr in r["generate"]:
                print("   %s generate B=%-2d %.1f tok/s (decode est %.1f)" % (dt, gr["batch"], gr["tok_s"],
                                                                       gr["decode_tok_s_est"]), file=sys.stderr)
            for pr in r["prefill"]:
                print("   %s prefill  B=%-2d x %d: %.0f tok/s" % (dt, pr["batch"], pr["tokens"], pr["tok_s"]),
                      file=sys.stderr)
            print("   %s cuda vs cpu reference: %s" % (dt, r["cuda_vs_cpu_reference"]), file=sys.stderr)
    os.makedirs(out, exist_ok=True)
    mf.write_json(os.path.join(out, "bench.json"), report, indent_depth=6)
