#!/usr/bin/env python3
"""A Llama / Qwen2 checkpoint as an ONNX decoder WITH a KV cache, in the layout transformers.js and optimum use,
built from the safetensors weights with numpy and the onnx package alone (no torch): what `bench -- transformers`
needs to compare generation (transformers.js generates only from such an export; export_onnx.py's graph has no
cache).

  inputs   input_ids [B, S] int64, attention_mask [B, P + S] int64 (1 token, 0 padding), position_ids [B, S] int64,
           past_key_values.{l}.key / .value [B, Hkv, P, D] float32
  outputs  logits [B, S, V] float32, present.{l}.key / .value [B, Hkv, P + S, D] float32

The graph is transformers' LlamaForCausalLM / Qwen2ForCausalLM forward (RMSNorm, RoPE default type, grouped-query
attention with the causal and padding mask, SwiGLU MLP, tied or separate unembedding, q/k/v biases when present),
written out op by op. Masked scores are -1e9 (not -inf), so a fully padded query row stays finite. Its logits are
checked against the lab's (src/bench/transformers.test.ts) and reference.json.

Usage: python3 tools/golden/export_onnx_kv.py --model <checkpoint dir> --out <dir>/onnx/model.onnx
"""
import argparse, json, os, struct
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DT = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in head.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        raw = data[a:b]
        if meta["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=DT[meta["dtype"]]).astype(np.float32)
        out[name] = arr.reshape(meta["shape"])
    return out


class G:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, p):
        self.n += 1
        return f"{p}_{self.n}"

    def const(self, arr, p="c"):
        nm = self.name(p)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), nm))
        return nm

    def op(self, t, ins, p=None, **attrs):
        out = self.name(p or t.lower())
        self.nodes.append(helper.make_node(t, ins, [out], **attrs))
        return out

    def op_to(self, t, ins, out, **attrs):
        self.nodes.append(helper.make_node(t, ins, [out], **attrs))
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--external-data", action="store_true", help="weights in <out>_data (default: only past 1.8 GB, which protobuf cannot hold)")
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    W = read_safetensors(os.path.join(a.model, "model.safetensors"))
    L, C, H, Hkv = cfg["num_hidden_layers"], cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim") or C // H
    V, eps = cfg["vocab_size"], cfg["rms_norm_eps"]
    theta = (cfg.get("rope_parameters") or {}).get("rope_theta", cfg.get("rope_theta", 10000.0))
    rtype = (cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}).get("rope_type", "default")
    if rtype != "default":
        raise SystemExit(f"{a.model}: rope_type {rtype} is not exported (default only)")
    g = G()
    one64 = g.const(np.array([1], np.int64))
    big_neg = g.const(np.array(-1e9, np.float32))
    inv_freq = (1.0 / theta ** (np.arange(0, D, 2, dtype=np.float64) / D)).astype(np.float32)  # [D/2]

    x = g.op("Gather", [g.const(W["model.embed_tokens.weight"], "embed"), "input_ids"], axis=0)  # [B, S, C]
    # RoPE tables from position_ids: [B, 1, S, D]
    pos = g.op("Cast", ["position_ids"], to=TensorProto.FLOAT)
    freqs = g.op("Mul", [g.op("Unsqueeze", [pos, g.const(np.array([-1], np.int64))]), g.const(inv_freq)])  # [B, S, D/2]
    emb = g.op("Concat", [freqs, freqs], axis=-1)
    cos = g.op("Unsqueeze", [g.op("Cos", [emb]), one64])
    sin = g.op("Unsqueeze", [g.op("Sin", [emb]), one64])
    # mask [B, 1, S, T]: key j visible to query i (absolute T - S + i) when j <= T - S + i and attention_mask[b, j] = 1
    T = g.op("Gather", [g.op("Shape", ["attention_mask"]), g.const(np.array(1, np.int64))], axis=0)
    S = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const(np.array(1, np.int64))], axis=0)
    kpos = g.op("Range", [g.const(np.array(0, np.int64)), T, g.const(np.array(1, np.int64))])
    qpos = g.op("Range", [g.op("Sub", [T, S]), T, g.const(np.array(1, np.int64))])
    causal = g.op("LessOrEqual", [g.op("Unsqueeze", [kpos, g.const(np.array([0], np.int64))]), g.op("Unsqueeze", [qpos, g.const(np.array([1], np.int64))])])  # [S, T]
    pad = g.op("Unsqueeze", [g.op("Equal", ["attention_mask", g.const(np.array(1, np.int64))]), g.const(np.array([1, 2], np.int64))])  # [B, 1, 1, T]
    allowed = g.op("And", [causal, pad])  # [B, 1, S, T]
    half = D // 2

    def rms(t, w):
        ms = g.op("ReduceMean", [g.op("Mul", [t, t]), g.const(np.array([-1], np.int64))], keepdims=1)
        return g.op("Mul", [g.op("Div", [t, g.op("Sqrt", [g.op("Add", [ms, g.const(np.array(eps, np.float32))])])]), g.const(w)])

    def linear(t, prefix):
        y = g.op("MatMul", [t, g.const(np.ascontiguousarray(W[prefix + ".weight"].T))])
        return g.op("Add", [y, g.const(W[prefix + ".bias"])]) if prefix + ".bias" in W else y

    def heads(t, n):  # [B, S, n·D] -> [B, n, S, D]
        return g.op("Transpose", [g.op("Reshape", [t, g.const(np.array([0, 0, n, D], np.int64))])], perm=[0, 2, 1, 3])

    def rope(t):
        lo = g.op("Slice", [t, g.const(np.array([0], np.int64)), g.const(np.array([half], np.int64)), g.const(np.array([-1], np.int64))])
        hi = g.op("Slice", [t, g.const(np.array([half], np.int64)), g.const(np.array([D], np.int64)), g.const(np.array([-1], np.int64))])
        rot = g.op("Concat", [g.op("Neg", [hi]), lo], axis=-1)
        return g.op("Add", [g.op("Mul", [t, cos]), g.op("Mul", [rot, sin])])

    def repeat_kv(t):  # [B, Hkv, T, D] -> [B, H, T, D]
        if H == Hkv:
            return t
        u = g.op("Unsqueeze", [t, g.const(np.array([2], np.int64))])
        u = g.op("Tile", [u, g.const(np.array([1, 1, H // Hkv, 1, 1], np.int64))])
        return g.op("Reshape", [u, g.const(np.array([0, H, -1, D], np.int64))])

    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", V])]
    for l in range(L):
        p = f"model.layers.{l}"
        for kv in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{l}.{kv}", TensorProto.FLOAT, ["batch_size", Hkv, "past_sequence_length", D]))
            outputs.append(helper.make_tensor_value_info(f"present.{l}.{kv}", TensorProto.FLOAT, ["batch_size", Hkv, "total_sequence_length", D]))
        h = rms(x, W[p + ".input_layernorm.weight"])
        q = rope(heads(linear(h, p + ".self_attn.q_proj"), H))
        k = rope(heads(linear(h, p + ".self_attn.k_proj"), Hkv))
        v = heads(linear(h, p + ".self_attn.v_proj"), Hkv)
        k = g.op_to("Concat", [f"past_key_values.{l}.key", k], f"present.{l}.key", axis=2)
        v = g.op_to("Concat", [f"past_key_values.{l}.value", v], f"present.{l}.value", axis=2)
        scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [repeat_kv(k)], perm=[0, 1, 3, 2])]), g.const(np.array(1 / np.sqrt(D), np.float32))])
        probs = g.op("Softmax", [g.op("Where", [allowed, scores, big_neg])], axis=-1)
        att = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, repeat_kv(v)])], perm=[0, 2, 1, 3]), g.const(np.array([0, 0, H * D], np.int64))])
        x = g.op("Add", [x, linear(att, p + ".self_attn.o_proj")])
        h = rms(x, W[p + ".post_attention_layernorm.weight"])
        gate = linear(h, p + ".mlp.gate_proj")
        act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), linear(h, p + ".mlp.up_proj")])
        x = g.op("Add", [x, linear(act, p + ".mlp.down_proj")])
    xf = rms(x, W["model.norm.weight"])
    unembed = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") or "lm_head.weight" not in W else W["lm_head.weight"]
    g.op_to("MatMul", [xf, g.const(np.ascontiguousarray(unembed.T), "unembed")], "logits")
    graph = helper.make_graph(g.nodes, "decoder_with_past", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="stoney-lab export_onnx_kv.py")
    model.ir_version = 8
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    if not a.external_data and sum(t.ByteSize() for t in g.inits) < 1_800_000_000:
        onnx.checker.check_model(model)
        onnx.save(model, a.out)
    else:  # protobuf stops at 2 GiB (Qwen2.5-0.5B in fp32): weights in <out>_data beside it, which ORT finds by that name
        data = os.path.basename(a.out) + "_data"
        onnx.save(model, a.out, save_as_external_data=True, all_tensors_to_one_file=True, location=data, size_threshold=1024)
        onnx.checker.check_model(a.out)
        print(f"{a.out}: weights in {data} (external data)")
    print(f"{a.out}: {L} layers, H {H}/{Hkv}, D {D}, V {V}; {len(g.nodes)} nodes")


if __name__ == "__main__":
    main()
