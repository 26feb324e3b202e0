#!/usr/bin/env python3
"""Golden parity fixtures made by the project (issue 3): tiny random Llama / Qwen2 checkpoints with a
hand-built byte-level BPE tokenizer, and reference activations / logits / greedy tokens from transformers.

Run on the GPU machine (torch, transformers v5, tokenizers, safetensors installed; no network needed):
    python3 tools/golden/make_fixtures.py --out models/fixtures           # the three tiny fixtures (CPU, fp32)
    python3 tools/golden/make_fixtures.py --real-shapes --out /tmp/real   # SmolLM2/Qwen2.5-shaped + timings
Anywhere (pure Python, no torch):
    python3 tools/golden/make_fixtures.py --tokenizer-only --out /tmp/x
Schemas of everything written: tools/golden/README.md. Problems found are listed on stderr and the exit
status is 1; everything that could be made is still written, so it can be inspected.
"""
import argparse
import json
import os
import platform
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repo
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tokenizer_build as tb  # noqa: E402  (pure Python)

# ------------------------------------------------------------------------------------------- fixture specs
# d_head = hidden / heads everywhere (transformers' default); vocab = tokenizer size (299, odd on purpose).
LLAMA3_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 32}
SPECS = {
    "llama-gqa": dict(
        arch="llama", seed=1001, hidden=64, inter=160, layers=3, heads=4, kv=2, head_dim=16, tied=False,
        rope_theta=10000.0, rope_scaling=None, eps=1e-6, max_pos=128, save_dtype="float32", shard=None,
        legacy_config=False, merges_format="pairs", specials_in_vocab=True, post_processor="bytelevel",
        pre_tokenizer="gpt2", chat_template_file=False, bos="<|endoftext|>", eos="<|endoftext|>",
        gen_eos=["<|endoftext|>"]),
    "qwen2-tied": dict(
        arch="qwen2", seed=1002, hidden=48, inter=96, layers=2, heads=6, kv=1, head_dim=8, tied=True,
        rope_theta=1000000.0, rope_scaling=None, eps=1e-6, max_pos=128, save_dtype="float32", shard=None,
        legacy_config=False, merges_format="strings", specials_in_vocab=False, post_processor="bytelevel",
        pre_tokenizer="qwen2", chat_template_file=True, bos=None, eos="<|im_end|>",
        gen_eos=["<|im_end|>", "<|endoftext|>"]),
    "llama-bf16": dict(
        arch="llama", seed=1003, hidden=64, inter=160, layers=3, heads=4, kv=2, head_dim=16, tied=False,
        rope_theta=10000.0, rope_scaling=LLAMA3_ROPE, eps=1e-6, max_pos=128, save_dtype="bfloat16",
        shard="100KB", legacy_config=True, merges_format="pairs", specials_in_vocab=False,
        post_processor="bytelevel", pre_tokenizer="gpt2", chat_template_file=False, bos="<|endoftext|>",
        eos="<|endoftext|>", gen_eos=["<|endoftext|>"]),
}
PAD = "<|endoftext|>"
MODEL_MAX_LENGTH = 128
# weight init (ours, not transformers'): one torch.Generator(seed), parameters in sorted-name order
INIT = {"std": 0.1, "qk_std": 0.2, "norm_std": 0.1, "bias_std": 0.1}
CASES = [
    {"name": "english", "texts": ["The cat sat on the mat. The dog sat on the log."]},
    {"name": "arith", "texts": ["What is 12 + 7?"]},
    {"name": "batch_left_pad", "texts": ["What is 3 + 4?", "The dog sat on the log. The answer is"]},
]
MAX_NEW_TOKENS = 12
FORCED_STOP_STEP = 4  # forced-stop check: eos := the manual greedy token at this step
OWN_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
             "chat_template.jinja", "special_tokens_map.json", "reference.json", "tokenizer_fixture.json",
             "model.safetensors", "model.safetensors.index.json")


class Problems(list):
    def add(self, where, msg):
        line = "%s: %s" % (where, msg)
        self.append(line)
        print("PROBLEM " + line, file=sys.stderr)


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json",
                   "tokenizer_fixture.json")


def clean_dir(d, only=None):
    """Remove only files this script writes (and stale weight shards) so reruns never mix outputs;
    `only`: remove just these names."""
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if only is not None:
            if f in only:
                os.remove(os.path.join(d, f))
        elif f in OWN_FILES or (f.startswith("model-") and f.endswith(".safetensors")) or f.endswith(".bin"):
            os.remove(os.path.join(d, f))


def write_json(path, obj, indent_depth=2):
    text = tb.dumps(obj, indent_depth)
    json.loads(text)  # well-formed or raise
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


# ------------------------------------------------------------------------------------------- tokenizer
def special_ids():
    return {t: 256 + tb.N_MERGES + i for i, t in enumerate(tb.SPECIAL_TOKENS)}


def write_tokenizer(d, spec, merges):
    """tokenizer.json (+ tokenizer_config.json, chat_template.jinja) for one fixture; returns the JSON dict."""
    tok_json = tb.build_tokenizer_json(merges, spec["merges_format"], spec["specials_in_vocab"],
                                       spec["post_processor"], spec["pre_tokenizer"])
    sids = special_ids()
    cfg = tb.build_tokenizer_config(spec["eos"], spec["bos"], PAD, MODEL_MAX_LENGTH,
                                    not spec["chat_template_file"], sids)
    write_json(os.path.join(d, "tokenizer.json"), tok_json, indent_depth=1)
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
    if spec["chat_template_file"]:
        with open(os.path.join(d, "chat_template.jinja"), "w", encoding="utf-8") as f:
            f.write(tb.CHAT_TEMPLATE)
    return tok_json


def tokenizer_fixture_python(spec, tok_json):
    """The tokenizer fixture from the pure-Python encoder only (used as is by --tokenizer-only)."""
    py = tb.PyBPE(tok_json)
    sids = special_ids()
    encs = []
    for text in tb.ENCODE_TEXTS:
        ids = py.encode(text)
        encs.append({"text": text, "ids": ids, "tokens": py.tokenize(text), "decoded": py.decode(ids),
                     "decoded_skip_special": py.decode([i for i in ids if i not in sids.values()])})
    chats = []
    for c in tb.CHAT_CASES:
        text = tb.render_chat(c["messages"], c["add_generation_prompt"])
        chats.append({"messages": c["messages"], "add_generation_prompt": c["add_generation_prompt"],
                      "text": text, "ids": py.encode(text)})
    return {
        "schema": "stoney-golden-tokenizer-v1",
        "verified_with": {"python_reference_encoder": True},
        "vocab_size": 256 + tb.N_MERGES + len(sids),
        "n_merges": tb.N_MERGES,
        "merges_format": spec["merges_format"],
        "specials_in_model_vocab": spec["specials_in_vocab"],
        "post_processor": "ByteLevel" if spec["post_processor"] == "bytelevel" else None,
        "chat_template_source": "chat_template.jinja" if spec["chat_template_file"] else "tokenizer_config.json",
        "special_tokens": sids,
        "bos_token_id": sids[spec["bos"]] if spec["bos"] else None,
        "eos_token_id": sids[spec["eos"]],
        "pad_token_id": sids[PAD],
        "encodings": encs,
        "chat": chats,
    }


def check_same_ids(problems, where, text, sources):
    """sources: [(label, ids)], python's first. Every pair must agree: each library against python, and the
    `tokenizers` library against AutoTokenizer directly (so a report says which of them moved)."""
    for a in range(len(sources)):
        for b in range(a + 1, len(sources)):
            (la, ia), (lb, ib) = sources[a], sources[b]
            if list(ia) != list(ib):
                problems.add(where, "%r: %s ids %s != %s ids %s" % (text, lb, list(ib), la, list(ia)))


def verify_tokenizer_hf(name, d, fx, problems):
    """Load the folder with `tokenizers` (Tokenizer.from_file) and transformers' AutoTokenizer; the ids of
    every fixture text (encodings, rendered chats, the model cases' texts) must be identical from all three
    (python reference encoder, tokenizers, AutoTokenizer). Returns the raw tokenizers.Tokenizer."""
    import tokenizers
    import transformers
    from transformers import AutoTokenizer
    raw = tokenizers.Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    hf = AutoTokenizer.from_pretrained(d, local_files_only=True)
    with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
        py = tb.PyBPE(json.load(f))  # the file as written, not the dict it came from
    where = name + "/tokenizer"
    if len(hf) != fx["vocab_size"]:
        problems.add(where, "len(AutoTokenizer) = %d, expected %d" % (len(hf), fx["vocab_size"]))
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        if getattr(hf, key, None) != fx[key]:
            problems.add(where, "%s = %r, expected %r" % (key, getattr(hf, key, None), fx[key]))
    for e in fx["encodings"]:
        text = e["text"]
        raw_enc = raw.encode(text, add_special_tokens=True)
        check_same_ids(problems, where, text, [
            ("python", e["ids"]), ("tokenizers", raw_enc.ids),
            ("AutoTokenizer", hf(text, add_special_tokens=True)["input_ids"]),
            ("AutoTokenizer(add_special_tokens=False)", hf(text, add_special_tokens=False)["input_ids"])])
        if list(raw_enc.tokens) != e["tokens"]:
            problems.add(where, "%r: tokens %s != python %s" % (text, raw_enc.tokens, e["tokens"]))
        dec = hf.decode(e["ids"], skip_special_tokens=False)
        dec_skip = hf.decode(e["ids"], skip_special_tokens=True)
        if dec != text:
            problems.add(where, "%r: decode round trip gave %r" % (text, dec))
        if dec != e["decoded"] or dec_skip != e["decoded_skip_special"]:
            problems.add(where, "%r: HF decode %r / %r differs from python %r / %r"
                         % (text, dec, dec_skip, e["decoded"], e["decoded_skip_special"]))
    for c in fx["chat"]:
        check_same_ids(problems, where + " chat", c["text"], [
            ("python", c["ids"]), ("tokenizers", raw.encode(c["text"]).ids),
            ("AutoTokenizer", hf(c["text"], add_special_tokens=False)["input_ids"])])
        try:
            text = hf.apply_chat_template(c["messages"], tokenize=False,
                                          add_generation_prompt=c["add_generation_prompt"])
        except Exception as ex:  # noqa: BLE001 - report any failure
            problems.add(where, "apply_chat_template failed: %r" % (ex,))
            continue
        if text != c["text"]:
            problems.add(where, "chat template: HF rendered %r, jinja2 rendered %r" % (text, c["text"]))
    for case in CASES:  # the texts the model references are made from
        for text in case["texts"]:
            check_same_ids(problems, where + " case " + case["name"], text, [
                ("python", py.encode(text)), ("tokenizers", raw.encode(text).ids),
                ("AutoTokenizer", hf(text, add_special_tokens=True)["input_ids"])])
    fx["verified_with"] = {"python_reference_encoder": True, "tokenizers": tokenizers.__version__,
                           "transformers_AutoTokenizer": transformers.__version__,
                           "AutoTokenizer_class": type(hf).__name__}
    return raw


# ------------------------------------------------------------------------------------------- models
def model_config_expected(spec, vocab):
    """The lab's ModelConfig (src/engine/model/config.ts) that parseConfig(config.json) must produce; eos is
    config.json's (generation_config.json may list more: see reference.json "generation_config")."""
    sids = special_ids()
    scaling = None
    if spec["rope_scaling"]:
        r = spec["rope_scaling"]
        scaling = {"type": "llama3", "factor": r["factor"], "low_freq_factor": r["low_freq_factor"],
                   "high_freq_factor": r["high_freq_factor"],
                   "original_max_position_embeddings": r["original_max_position_embeddings"]}
    return {
        "arch": spec["arch"], "d_model": spec["hidden"], "n_layers": spec["layers"], "n_heads": spec["heads"],
        "n_kv_heads": spec["kv"], "d_head": spec["head_dim"], "d_mlp": spec["inter"], "d_vocab": vocab,
        "n_ctx": spec["max_pos"], "rms_norm_eps": spec["eps"], "rope_theta": spec["rope_theta"],
        "rope_scaling": scaling, "tie_word_embeddings": spec["tied"], "attention_bias": spec["arch"] == "qwen2",
        "bos_token_id": sids[spec["bos"]] if spec["bos"] else None,
        "eos_token_ids": [sids[spec["eos"]]], "torch_dtype": spec["save_dtype"],
    }


def expected_inv_freq(spec):
    """transformers' default / llama3 inverse frequencies, recomputed here in float64 (independent check)."""
    import math
    dim, base = spec["head_dim"], spec["rope_theta"]
    inv = [1.0 / (base ** (i / dim)) for i in range(0, dim, 2)]
    r = spec["rope_scaling"]
    if not r:
        return inv
    factor, lo, hi, old = r["factor"], r["low_freq_factor"], r["high_freq_factor"], \
        r["original_max_position_embeddings"]
    lo_wl, hi_wl = old / lo, old / hi
    out = []
    for f in inv:
        wl = 2 * math.pi / f
        if wl < hi_wl:
            out.append(f)
        elif wl > lo_wl:
            out.append(f / factor)
        else:
            s = (old / wl - lo) / (hi - lo)
            out.append((1 - s) * f / factor + s * f)
    return out


def build_model(spec, vocab, torch):
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
    sids = special_ids()
    rope = {"rope_type": "default", "rope_theta": spec["rope_theta"]}
    if spec["rope_scaling"]:
        rope = dict(spec["rope_scaling"], rope_theta=spec["rope_theta"])
    common = dict(vocab_size=vocab, hidden_size=spec["hidden"], intermediate_size=spec["inter"],
                  num_hidden_layers=spec["layers"], num_attention_heads=spec["heads"],
                  num_key_value_heads=spec["kv"], max_position_embeddings=spec["max_pos"],
                  rms_norm_eps=spec["eps"], tie_word_embeddings=spec["tied"], initializer_range=INIT["std"],
                  hidden_act="silu", attention_dropout=0.0, use_cache=True, rope_parameters=rope,
                  bos_token_id=sids[spec["bos"]] if spec["bos"] else None, eos_token_id=sids[spec["eos"]],
                  pad_token_id=sids[PAD], attn_implementation="eager")
    if spec["arch"] == "llama":
        cfg = LlamaConfig(head_dim=spec["head_dim"], attention_bias=False, mlp_bias=False, **common)
        model = LlamaForCausalLM(cfg)
    else:
        cfg = Qwen2Config(use_sliding_window=False, **common)
        model = Qwen2ForCausalLM(cfg)
    torch.manual_seed(spec["seed"])
    init_weights(model, spec["seed"], INIT, torch)
    eos = [sids[t] for t in spec["gen_eos"]]
    model.generation_config = GenerationConfig(
        bos_token_id=sids[spec["bos"]] if spec["bos"] else None, eos_token_id=eos if len(eos) > 1 else eos[0],
        pad_token_id=sids[PAD])
    model.eval()
    return model


def init_weights(model, seed, init, torch):
    """Deterministic init independent of transformers' own: N(0, std) matrices (q/k: qk_std, so attention
    is far from uniform), RMSNorm weights 1 + N(0, norm_std), biases N(0, bias_std)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):  # tied params appear once
            r = torch.randn(tuple(p.shape), generator=g, dtype=torch.float32)
            if name.endswith("norm.weight"):
                v = 1.0 + init["norm_std"] * r
            elif name.endswith(".bias"):
                v = init["bias_std"] * r
            elif name.endswith(("q_proj.weight", "k_proj.weight")):
                v = init["qk_std"] * r
            else:
                v = init["std"] * r
            p.copy_(v.to(p.dtype))


def save_model(model, d, shard):
    kw = {"max_shard_size": shard} if shard else {}
    try:
        model.save_pretrained(d, safe_serialization=True, **kw)
    except TypeError:  # transformers versions where safetensors is the only format and the flag is gone
        model.save_pretrained(d, **kw)
    # every version so far writes these two itself; make sure, since the fixture needs them
    if not os.path.exists(os.path.join(d, "config.json")):
        model.config.save_pretrained(d)
    if not os.path.exists(os.path.join(d, "generation_config.json")):
        model.generation_config.save_pretrained(d)


def rewrite_config_legacy(d, spec):
    """Turn config.json into the transformers-v4 form real checkpoints have (rope_theta + rope_scaling at the
    top level, torch_dtype) so the lab's parser meets both forms. transformers v5 still reads it."""
    p = os.path.join(d, "config.json")
    with open(p, encoding="utf-8") as f:
        cfg = json.load(f)
    cfg.pop("rope_parameters", None)
    cfg.pop("dtype", None)
    cfg["rope_theta"] = spec["rope_theta"]
    cfg["rope_scaling"] = dict(spec["rope_scaling"]) if spec["rope_scaling"] else None
    cfg["torch_dtype"] = spec["save_dtype"]
    with open(p, "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


def safetensors_inventory(d):
    """{tensor: {dtype, shape, file}} read from the safetensors headers (pure Python)."""
    idx = os.path.join(d, "model.safetensors.index.json")
    files = ["model.safetensors"]
    if os.path.exists(idx):
        with open(idx, encoding="utf-8") as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    inv = {}
    for fn in files:
        with open(os.path.join(d, fn), "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            head = json.loads(f.read(n))
        for k, v in head.items():
            if k != "__metadata__":
                inv[k] = {"dtype": v["dtype"], "shape": v["shape"], "file": fn}
    return dict(sorted(inv.items())), os.path.exists(idx)


def rotary(model):
    """The rotary-embedding module (one per model since transformers 4.45; per attention layer before)."""
    r = getattr(model.model, "rotary_emb", None)
    return r if r is not None else model.model.layers[0].self_attn.rotary_emb


def load_model(d, dtype, torch, problems, where):
    from transformers import AutoModelForCausalLM
    m = AutoModelForCausalLM.from_pretrained(d, dtype=dtype, attn_implementation="eager", local_files_only=True)
    if next(m.parameters()).dtype != dtype:  # only when from_pretrained ignored dtype (keeps HF's fp32 buffers)
        m = m.to(dtype)
    m.eval()
    impl = getattr(m.config, "_attn_implementation", None)
    if impl != "eager":
        try:
            m.set_attn_implementation("eager")
        except Exception:  # noqa: BLE001
            pass
        if getattr(m.config, "_attn_implementation", None) != "eager":
            problems.add(where, "could not force eager attention (got %r)" % impl)
    return m


# ------------------------------------------------------------------------------------------- references
def pad_batch(id_lists, pad_id, torch):
    """Left padding. position_ids as transformers' generate makes them: cumsum(mask) - 1, pads set to 1."""
    T = max(len(x) for x in id_lists)
    ids = torch.tensor([[pad_id] * (T - len(x)) + x for x in id_lists], dtype=torch.long)
    mask = torch.tensor([[0] * (T - len(x)) + [1] * len(x) for x in id_lists], dtype=torch.long)
    return ids, mask, positions(mask)


def positions(mask):
    pos = mask.long().cumsum(-1) - 1
    return pos.masked_fill(mask == 0, 1)


def tolist(t):
    return t.detach().float().cpu().tolist()


def forward_capture(model, ids, mask, pos, torch):
    """One eager forward with hooks: embed, per-layer attn_out / resid_post, final norm output."""
    base = model.model
    caps = {"attn_out": {}, "resid_post": {}}
    first = lambda o: (o[0] if isinstance(o, (tuple, list)) else o).detach().clone()  # noqa: E731
    hooks = [base.embed_tokens.register_forward_hook(lambda m, i, o: caps.__setitem__("embed", first(o))),
             base.norm.register_forward_hook(lambda m, i, o: caps.__setitem__("final_norm_out", first(o)))]
    for l, layer in enumerate(base.layers):
        hooks.append(layer.register_forward_hook(
            lambda m, i, o, l=l: caps["resid_post"].__setitem__(l, first(o))))
        hooks.append(layer.self_attn.register_forward_hook(
            lambda m, i, o, l=l: caps["attn_out"].__setitem__(l, first(o))))
    try:
        with torch.no_grad():
            out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False,
                        output_attentions=True, output_hidden_states=True)
    finally:
        for h in hooks:
            h.remove()
    L = len(base.layers)
    if out.attentions is None or len(out.attentions) != L or any(a is None for a in out.attentions):
        raise RuntimeError("transformers returned no attention weights (is eager attention active?)")
    if not out.hidden_states:  # its length and content are measured later (hidden_states_map)
        raise RuntimeError("output_hidden_states returned nothing")
    caps["attn_out"] = [caps["attn_out"][l] for l in range(L)]
    caps["resid_post"] = [caps["resid_post"][l] for l in range(L)]
    return out, caps


def hidden_states_map(out, caps, torch):
    cands = [("embed", caps["embed"])] + [("resid_post.%d" % l, t) for l, t in enumerate(caps["resid_post"])] + \
        [("final_norm_out", caps["final_norm_out"])]
    names = []
    for hs in out.hidden_states:
        hit = None
        for n, t in cands:
            if t.shape == hs.shape and (hs.float() - t.float()).abs().max().item() <= 1e-6:
                hit = n
                break
        names.append(hit)
    return names


def greedy_manual(model, ids, mask, n, torch):
    """Ignore-eos greedy reference: full recompute each step (no KV cache), argmax of the last position
    (first index on ties, like torch.argmax), never stops. Returns (new tokens [B][n], top-2 margins)."""
    seq, msk = ids.clone(), mask.clone()
    new, margins = [], []
    with torch.no_grad():
        for _ in range(n):
            logits = model(input_ids=seq, attention_mask=msk, position_ids=positions(msk),
                           use_cache=False).logits[:, -1, :].float()
            top2 = torch.topk(logits, 2, dim=-1).values
            nxt = torch.argmax(logits, dim=-1)
            new.append(nxt)
            margins.append(top2[:, 0] - top2[:, 1])
            seq = torch.cat([seq, nxt[:, None]], 1)
            msk = torch.cat([msk, torch.ones_like(msk[:, :1])], 1)
    return torch.stack(new, 1).tolist(), tolist(torch.stack(margins, 1))


def hf_generate(model, ids, mask, n, eos, pad, torch):
    """transformers' generate (KV cache), greedy; eos None = never stop. The model's generation_config is
    swapped for a copy with eos/pad set, which is the robust way to switch eos off in v4 and v5 alike."""
    import copy
    saved = model.generation_config
    gc = copy.deepcopy(saved)
    gc.eos_token_id, gc.pad_token_id, gc.do_sample, gc.max_new_tokens = eos, pad, False, n
    model.generation_config = gc
    try:
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=n, do_sample=False,
                                 pad_token_id=pad)
    finally:
        model.generation_config = saved
    return out[:, ids.shape[1]:].tolist()


def stop_at(row, eos_set):
    for i, t in enumerate(row):
        if t in eos_set:
            return row[:i + 1]
    return list(row)


def greedy_block(model, ids, mask, eos_ids, pad, torch, problems, where):
    new, margins = greedy_manual(model, ids, mask, MAX_NEW_TOKENS, torch)
    g = {"max_new_tokens": MAX_NEW_TOKENS, "new_tokens": new, "top2_margin": margins, "eos_token_ids": eos_ids,
         "new_tokens_stop_at_eos": [stop_at(r, set(eos_ids)) for r in new], "hf_checks": {}}

    def compare(label, got, expected_rows):
        ok = True
        for b, (g_row, e_row) in enumerate(zip(got, expected_rows)):
            if g_row != e_row:
                k = next((i for i, (x, y) in enumerate(zip(g_row, e_row)) if x != y), min(len(g_row), len(e_row)))
                near_tie = k < len(margins[b]) and margins[b][k] < 1e-4
                msg = "%s row %d: HF %s != reference %s (first difference at step %d, margin %.3g)" % (
                    label, b, g_row, e_row, k, margins[b][k] if k < len(margins[b]) else float("nan"))
                if near_tie:
                    print("WARNING %s: %s (near tie, not counted)" % (where, msg), file=sys.stderr)
                else:
                    problems.add(where, msg)
                    ok = False
        g["hf_checks"][label] = ok

    try:
        compare("ignore_eos", hf_generate(model, ids, mask, MAX_NEW_TOKENS, None, pad, torch), new)
        got = hf_generate(model, ids, mask, MAX_NEW_TOKENS, eos_ids, pad, torch)
        stops = g["new_tokens_stop_at_eos"]
        width = max(len(r) for r in stops)  # generate stops once every row has finished
        compare("default_eos", got, [r + [pad] * (width - len(r)) for r in stops])
        if ids.shape[0] == 1:
            t = new[0][FORCED_STOP_STEP]
            exp = stop_at(new[0], {t})
            compare("forced_stop", hf_generate(model, ids, mask, MAX_NEW_TOKENS, [t], pad, torch), [exp])
            g["forced_stop"] = {"eos_token_id": t, "new_tokens": exp}
    except Exception as ex:  # noqa: BLE001
        problems.add(where, "transformers generate failed: %r" % (ex,))
    return g


def check_attention(attn, mask, problems, where, torch):
    """Valid query rows sum to 1; future keys and pad keys get exactly 0 (rows of pad queries are skipped)."""
    B, H, T, _ = attn.shape
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))  # [query, key]
    for b in range(B):
        key_ok = mask[b].bool()  # [T]
        allowed = causal & key_ok[None, :]  # [query, key]
        a = attn[b][:, key_ok, :]  # [H, valid queries, T]
        if not torch.isfinite(a).all() or (a.sum(-1) - 1).abs().max().item() > 1e-5:
            problems.add(where, "attention rows of real queries do not sum to 1")
        forbidden = ~allowed[key_ok]  # [valid queries, T]
        if forbidden.any() and a[:, forbidden].abs().max().item() != 0.0:
            problems.add(where, "attention weight on a masked (future or pad) key is not 0")


def zero_pads(t, mask, torch, attn=False):
    """Positions where attention_mask == 0 are implementation-defined (pad queries see no real key): write 0.
    t is [B, T, ...] (per position) or, with attn=True, [B, H, T, T] (rows of pad queries zeroed)."""
    B, T = mask.shape
    valid = mask.bool()
    keep = valid.view(B, 1, T, 1) if attn else valid.view(B, T, *([1] * (t.dim() - 2)))
    return tolist(torch.where(keep, t.float(), torch.zeros((), dtype=torch.float32)))


def case_reference(model, case, raw_tok, spec, torch, problems, where, model_bf16=None):
    sids = special_ids()
    id_lists = [raw_tok.encode(t).ids for t in case["texts"]]
    ids, mask, pos = pad_batch(id_lists, sids[PAD], torch)  # [B, T] each
    out, caps = forward_capture(model, ids, mask, pos, torch)
    again, _ = forward_capture(model, ids, mask, pos, torch)
    if not torch.equal(out.logits, again.logits):
        problems.add(where, "forward is not deterministic")
    # loss targets: token t counts when t and t-1 are both real (the first real token has no context)
    prev = torch.cat([torch.zeros_like(mask[:, :1]), mask[:, :-1]], 1)
    labels = ids.masked_fill((mask == 0) | (prev == 0), -100)  # [B, T]
    with torch.no_grad():
        loss = model(input_ids=ids, attention_mask=mask, position_ids=pos, labels=labels, use_cache=False).loss
        lp = torch.log_softmax(out.logits.double()[:, :-1], -1)  # [B, T-1, V]
        tgt = labels[:, 1:]
        valid = tgt != -100
        own = -(lp.gather(-1, tgt.clamp(min=0)[..., None])[..., 0][valid]).mean().item()
    if abs(loss.item() - own) > 1e-5:
        problems.add(where, "HF loss %.8g != own cross-entropy %.8g" % (loss.item(), own))
    for l, a in enumerate(out.attentions):
        check_attention(a.float(), mask, problems, "%s layer %d" % (where, l), torch)
    r = {"name": case["name"], "texts": case["texts"], "input_ids": ids.tolist(), "attention_mask": mask.tolist(),
         "position_ids": pos.tolist(), "lengths": [len(x) for x in id_lists], "loss_labels": labels.tolist(),
         "loss": loss.item(), "logits": zero_pads(out.logits, mask, torch)}
    if model_bf16 is not None:
        with torch.no_grad():
            lb = model_bf16(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False).logits
        r["logits_bf16"] = zero_pads(lb, mask, torch)
    r.update({"embed": zero_pads(caps["embed"], mask, torch),
              "attn_out": [zero_pads(t, mask, torch) for t in caps["attn_out"]],
              "resid_post": [zero_pads(t, mask, torch) for t in caps["resid_post"]],
              "final_norm_out": zero_pads(caps["final_norm_out"], mask, torch),
              "attn_pattern": [zero_pads(a, mask, torch, attn=True) for a in out.attentions]})
    r["greedy"] = greedy_block(model, ids, mask, [sids[t] for t in spec["gen_eos"]], sids[PAD], torch,
                               problems, where)
    vm = mask.bool()
    stats = {"hidden_states_map": hidden_states_map(out, caps, torch),
             "logits_std": out.logits[vm].float().std().item(),
             # mean over real queries and heads of the largest attention weight, per layer (1/T = uniform)
             "attn_max_prob_mean": [a.float().max(-1).values.permute(0, 2, 1)[vm].mean().item()
                                    for a in out.attentions]}
    if len(id_lists) > 1:  # each padded row must equal the same sequence run alone
        worst = 0.0
        for b, x in enumerate(id_lists):
            i1, m1, p1 = pad_batch([x], sids[PAD], torch)
            with torch.no_grad():
                solo = model(input_ids=i1, attention_mask=m1, position_ids=p1, use_cache=False).logits[0]
            worst = max(worst, (out.logits[b][vm[b]] - solo).abs().max().item())
        stats["padded_vs_alone_max_abs"] = worst
        if worst > 1e-4:
            problems.add(where, "left-padded row differs from the sequence alone by %.3g" % worst)
    if model_bf16 is not None:
        stats["bf16_vs_f32_logits_max_abs"] = (lb.float() - out.logits.float())[vm].abs().max().item()
    return r, stats


def make_model_fixture(name, spec, d, merges, torch, problems):
    import safetensors
    import tokenizers
    import transformers
    vocab = 256 + tb.N_MERGES + len(tb.SPECIAL_TOKENS)
    sids = special_ids()
    tok_json = write_tokenizer(d, spec, merges)
    fx = tokenizer_fixture_python(spec, tok_json)
    model = build_model(spec, vocab, torch)
    if spec["tied"] and model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr():
        problems.add(name, "lm_head is not tied to embed_tokens in memory")
    mem_rotary = rotary(model).inv_freq.detach().float().clone()
    if spec["save_dtype"] == "bfloat16":
        model = model.to(torch.bfloat16)
        for attr in ("dtype", "torch_dtype"):
            try:
                setattr(model.config, attr, torch.bfloat16)
            except Exception:  # noqa: BLE001
                pass
    save_model(model, d, spec["shard"])
    if spec["legacy_config"]:
        rewrite_config_legacy(d, spec)
    try:
        raw = verify_tokenizer_hf(name, d, fx, problems)
    except Exception as ex:  # noqa: BLE001 - still make the model references from the tokenizers library
        problems.add(name + "/tokenizer", "verification failed: %r" % (ex,))
        raw = tokenizers.Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    # --- files on disk
    inv, sharded = safetensors_inventory(d)
    want_dt = "BF16" if spec["save_dtype"] == "bfloat16" else "F32"
    if any(v["dtype"] != want_dt for v in inv.values()):
        problems.add(name, "safetensors dtypes are not all %s" % want_dt)
    if bool(spec["shard"]) != sharded:
        problems.add(name, "sharded=%s but shard size %r was asked" % (sharded, spec["shard"]))
    if spec["tied"] and "lm_head.weight" in inv:
        problems.add(name, "tied model saved lm_head.weight (the lab expects it absent)")
    if not spec["tied"] and "lm_head.weight" not in inv:
        problems.add(name, "untied model has no lm_head.weight")
    # --- reload from disk: references come from exactly what the folder holds
    m32 = load_model(d, torch.float32, torch, problems, name)
    sd_mem = {k: v.detach().float() for k, v in model.state_dict().items()}
    sd_load = {k: v.detach().float() for k, v in m32.state_dict().items()}
    if sorted(sd_mem) != sorted(sd_load) or any(not torch.equal(sd_mem[k], sd_load[k]) for k in sd_mem):
        problems.add(name, "weights reloaded from disk differ from the model that was saved")
    inv_freq = rotary(m32).inv_freq.detach().float()
    if not torch.equal(inv_freq, mem_rotary):
        problems.add(name, "inv_freq after reload differs (config.json rope fields read differently)")
    exp = expected_inv_freq(spec)
    if max(abs(a - b) / b for a, b in zip(inv_freq.tolist(), exp)) > 1e-5:
        problems.add(name, "inv_freq %s != expected %s" % (inv_freq.tolist(), exp))
    m16 = load_model(d, torch.bfloat16, torch, problems, name + "/bf16") if spec["save_dtype"] == "bfloat16" \
        else None
    cases, stats = [], {}
    for case in CASES:
        r, s = case_reference(m32, case, raw, spec, torch, problems, "%s/%s" % (name, case["name"]), m16)
        cases.append(r)
        stats[case["name"]] = s
    maps = {tuple(s["hidden_states_map"]) for s in stats.values()}
    if len(maps) != 1 or None in next(iter(maps)):
        problems.add(name, "cannot map output_hidden_states onto captured tensors: %s" % maps)
    hs_map = list(next(iter(maps)))
    for cname, s in stats.items():
        if s["logits_std"] < 0.05:
            problems.add(name, "%s: logits std %.3g is ~0 (init failed?)" % (cname, s["logits_std"]))
    ref = {
        "schema": "stoney-golden-v1",
        "model": name,
        "generator": {"script": "tools/golden/make_fixtures.py", "python": platform.python_version(),
                      "torch": torch.__version__, "transformers": transformers.__version__,
                      "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__},
        "model_config": model_config_expected(spec, vocab),
        "generation_config": {"bos_token_id": sids[spec["bos"]] if spec["bos"] else None,
                              "eos_token_ids": [sids[t] for t in spec["gen_eos"]], "pad_token_id": sids[PAD]},
        "init": dict(INIT, seed=spec["seed"]),
        "weights_dtype": spec["save_dtype"],
        "files": {"config_form": "v4-legacy" if spec["legacy_config"] else "v5", "sharded": sharded,
                  "tensors": inv},
        "rope": {"inv_freq": inv_freq.tolist(),
                 "attention_scaling": float(getattr(rotary(m32), "attention_scaling", 1.0))},
        "hidden_states_convention": {"hf_hidden_states": hs_map,
                                     "last_is_final_norm_out": hs_map[-1] == "final_norm_out"},
        "compute": {"device": "cpu", "dtype": "float32", "attn_implementation": "eager",
                    "weights": "bf16 file upcast to float32" if m16 is not None else "float32 file",
                    "logits_bf16": "bf16 weights and activations (transformers bf16 path, CPU)"
                    if m16 is not None else None},
        "checks": stats,
        "cases": cases,
    }
    if m16 is not None:
        ref["rope"]["inv_freq_dtype_in_bf16_model"] = str(rotary(m16).inv_freq.dtype)
    write_json(os.path.join(d, "reference.json"), ref)
    write_json(os.path.join(d, "tokenizer_fixture.json"), fx)
    return ref, stats


def folder_size(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="output folder (default models/fixtures; /tmp/real-shapes "
                    "for --real-shapes)")
    ap.add_argument("--models", default=",".join(SPECS), help="comma list of fixtures (default all)")
    ap.add_argument("--tokenizer-only", action="store_true", help="write the tokenizer files only (no torch); "
                    "needs --out")
    ap.add_argument("--real-shapes", action="store_true", help="SmolLM2-135M / Qwen2.5-0.5B-shaped random "
                    "models, logits reference and HF timings (needs CUDA for timings)")
    ap.add_argument("--skip-bench", action="store_true", help="--real-shapes: no timings")
    ap.add_argument("--bench-dtypes", default="float32", help="--real-shapes: comma list, e.g. float32,bfloat16")
    ap.add_argument("--shapes", default=None, help="--real-shapes: comma list of the shapes to make (default all: "
                    "smollm2-135m-shaped,qwen2.5-0.5b-shaped)")
    args = ap.parse_args(argv)
    problems = Problems()

    if args.real_shapes:
        try:
            import real_shapes
        except ImportError as ex:
            print("make_fixtures: --real-shapes needs torch and transformers: %s" % ex, file=sys.stderr)
            return 2
        real_shapes.run(args.out or "/tmp/real-shapes", problems, args.skip_bench,
                        [s for s in args.bench_dtypes.split(",") if s],
                        [s for s in args.shapes.split(",") if s] if args.shapes else None)
        return finish(problems)

    if args.tokenizer_only and not args.out:
        print("make_fixtures: --tokenizer-only needs --out (it would overwrite the committed tokenizer files)",
              file=sys.stderr)
        return 2
    out = args.out or "models/fixtures"
    names = [n for n in args.models.split(",") if n]
    for n in names:
        if n not in SPECS:
            print("make_fixtures: unknown fixture %r (have %s)" % (n, ", ".join(SPECS)), file=sys.stderr)
            return 2
    merges = tb.learn_merges(tb.MERGE_CORPUS, tb.N_MERGES)

    if args.tokenizer_only:
        for n in names:
            d = os.path.join(out, n)
            clean_dir(d, only=TOKENIZER_FILES)
            tok_json = write_tokenizer(d, SPECS[n], merges)
            for p in tb.check_tokenizer_json(tok_json):
                problems.add(n, p)
            fx = tokenizer_fixture_python(SPECS[n], tok_json)
            for e in fx["encodings"]:
                if e["decoded"] != e["text"]:
                    problems.add(n, "python round trip failed for %r" % e["text"])
            write_json(os.path.join(d, "tokenizer_fixture.json"), fx)
            print("%s: tokenizer (%d ids, merges as %s) -> %s" % (n, fx["vocab_size"], fx["merges_format"], d),
                  file=sys.stderr)
        return finish(problems)

    try:
        import torch
        import transformers
    except ImportError as ex:
        print("make_fixtures: needs torch and transformers (or use --tokenizer-only): %s" % ex, file=sys.stderr)
        return 2
    print("torch %s, transformers %s" % (torch.__version__, transformers.__version__), file=sys.stderr)
    try:  # the fixtures run on CPU; keep any CUDA matmul plain fp32 all the same
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    except Exception:  # noqa: BLE001
        pass
    for n in names:
        d = os.path.join(out, n)
        clean_dir(d)
        try:
            ref, stats = make_model_fixture(n, SPECS[n], d, merges, torch, problems)
        except Exception as ex:  # noqa: BLE001 - keep going with the other fixtures, report at the end
            import traceback
            traceback.print_exc()
            problems.add(n, "failed: %r" % (ex,))
            continue
        kb = folder_size(d) / 1024
        print("== %s -> %s (%.0f KiB%s)" % (n, d, kb, ", over the 1 MiB goal" if kb > 1024 else ""), file=sys.stderr)
        print("   hidden_states = %s" % ref["hidden_states_convention"]["hf_hidden_states"], file=sys.stderr)
        for c in ref["cases"]:
            s = stats[c["name"]]
            extra = "".join(" %s=%.3g" % (k, s[k]) for k in ("padded_vs_alone_max_abs", "bf16_vs_f32_logits_max_abs")
                            if k in s)
            print("   %-15s T=%-3d loss=%.4f logits_std=%.3f attn_maxp=%s greedy=%s hf=%s%s" % (
                c["name"], len(c["input_ids"][0]), c["loss"], s["logits_std"],
                ["%.2f" % v for v in s["attn_max_prob_mean"]], c["greedy"]["new_tokens"],
                c["greedy"]["hf_checks"], extra), file=sys.stderr)
    return finish(problems)


def finish(problems):
    if problems:
        print("\nmake_fixtures: %d problem(s):" % len(problems), file=sys.stderr)
        for p in problems:
            print("  - " + p, file=sys.stderr)
        return 1
    print("make_fixtures: ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
