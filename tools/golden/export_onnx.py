#!/usr/bin/env python3
"""Export the tiny golden fixtures to ONNX, for the lab's independent cross-check with onnxruntime-web.

For each fixture folder (config.json + reference.json) under --fixtures, this loads the checkpoint with
transformers (AutoModelForCausalLM, eager attention, float32; the bf16 fixture upcast exactly to float32),
wraps it so that forward(input_ids) returns the logits only (use_cache=False, no attention mask = every
position is a real token, positions 0..T-1), and exports it with torch.onnx.export:

    input  "input_ids"  int64   [batch, sequence]   (both axes dynamic)
    output "logits"     float32 [batch, sequence, vocab]

The legacy TorchScript exporter (dynamo=False, opset 17) is tried first, then the dynamo exporter. An
export is kept only if onnxruntime (Python, CPU) reproduces PyTorch's logits within --tol (max abs, logits
are O(1)) on the fixture's reference inputs at several batch sizes and lengths (1 token included), and
PyTorch reproduces reference.json's logits (the same model as the fixture). It is written, weights inline
(no external data: the models are < 1 MB), to <out>/<fixture>/model.onnx.

Run on the GPU machine (torch, transformers 5.x, onnx, onnxruntime; CPU is used; no network):

    python3 tools/golden/export_onnx.py --fixtures models/fixtures --out models/fixtures

Exit status: 0 all exported and verified; 1 a fixture failed (each failure printed as
"PROBLEM <fixture>: <what>" and listed at the end); 2 usage error or a missing package.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import traceback

PROBLEMS = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def problem(where, msg):
    line = "%s: %s" % (where, msg)
    PROBLEMS.append(line)
    log("PROBLEM " + line)


# ------------------------------------------------------------------------------------------------ model
def load_model(d, torch):
    """The fixture as transformers loads it: float32 (bf16 weights upcast exactly), eager attention, eval."""
    from transformers import AutoModelForCausalLM
    try:
        m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager", local_files_only=True)
    except TypeError:  # transformers 4.x spells it torch_dtype
        m = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32, attn_implementation="eager", local_files_only=True)
    m = m.float().eval()  # no-op when already float32; bf16 → f32 is exact
    m.config.use_cache = False
    if getattr(m.config, "_attn_implementation", None) != "eager":
        try:
            m.set_attn_implementation("eager")
        except Exception:  # noqa: BLE001
            pass
    impl = getattr(m.config, "_attn_implementation", None)
    if impl != "eager":
        raise RuntimeError("could not get eager attention (got %r)" % impl)
    return m


def make_wrapper(model, torch):
    class LogitsOnly(torch.nn.Module):
        """forward(input_ids [B, T] int64) -> logits [B, T, V] float32; no mask, no cache."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            out = self.m(input_ids=input_ids, use_cache=False, return_dict=True)
            return out.logits

    return LogitsOnly(model).eval()


def check_inputs(ref, vocab, torch):
    """The inputs an export must reproduce: [(label, ids [B][T], case, rows), ...] at several B and T.

    Without a reference.json (--checkpoint): seeded random ids [1, 16], [2, 7] and [1, 1], compared with
    PyTorch only.

    Padded reference cases run as each row's real tokens alone (reference.json's padded_vs_alone check
    is 0, so those positions equal the padded reference) and also as the padded ids themselves, B = 2
    (pads taken as ordinary tokens: no mask). One single token checks T = 1."""
    if ref is None:
        g = torch.Generator().manual_seed(0)
        return [("random %dx%d" % (B, T), torch.randint(0, vocab, (B, T), generator=g).tolist(), None, None)
                for B, T in ((1, 16), (2, 7), (1, 1))]
    runs = []
    for c in ref["cases"]:
        ids, mask, lengths = c["input_ids"], c["attention_mask"], c["lengths"]
        padded = any(0 in row for row in mask)
        if padded:
            for b, row in enumerate(ids):
                runs.append(("%s row %d" % (c["name"], b), [row[len(row) - lengths[b]:]], c, [b]))
            runs.append(("%s padded ids, no mask" % c["name"], ids, c, None))
        else:
            runs.append((c["name"], ids, c, list(range(len(ids)))))
    first = ref["cases"][0]["input_ids"][0]
    runs.append(("one token", [[first[0] % vocab]], None, None))
    return runs


def reference_error(ref_case, rows, logits):
    """max |torch − reference.json| over the real positions of the given rows (right-aligned: left padding)."""
    err = 0.0
    T0 = len(ref_case["input_ids"][0])
    for i, b in enumerate(rows):
        T = logits.shape[1]
        for t in range(T):
            want = ref_case["logits"][b][T0 - T + t]
            got = logits[i, t]
            err = max(err, max(abs(float(g) - float(w)) for g, w in zip(got, want)))
    return err


# ------------------------------------------------------------------------------------------------ export
DYNAMIC_AXES = {"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}


def export_legacy(torch, wrapper, example, path, opset):
    kwargs = dict(input_names=["input_ids"], output_names=["logits"], dynamic_axes=DYNAMIC_AXES,
                  opset_version=opset, do_constant_folding=True, export_params=True)
    try:
        torch.onnx.export(wrapper, (example,), path, dynamo=False, **kwargs)
    except TypeError as e:  # a torch without the dynamo argument: the legacy exporter is the only one
        if "dynamo" not in str(e):
            raise
        torch.onnx.export(wrapper, (example,), path, **kwargs)


def export_dynamo(torch, wrapper, example, path, opset):
    Dim = torch.export.Dim
    dyn = getattr(Dim, "DYNAMIC", None)
    if dyn is not None:
        shapes = {"input_ids": {0: dyn, 1: dyn}}
    else:
        shapes = {"input_ids": {0: Dim("batch", min=1, max=1024), 1: Dim("sequence", min=1, max=8192)}}
    kwargs = dict(input_names=["input_ids"], output_names=["logits"], opset_version=opset, dynamo=True,
                  dynamic_shapes=shapes, external_data=False)
    try:
        prog = torch.onnx.export(wrapper, (example,), path, **kwargs)
    except TypeError as e:
        if "external_data" not in str(e):
            raise
        kwargs.pop("external_data")
        prog = torch.onnx.export(wrapper, (example,), path, **kwargs)
    if not os.path.exists(path) and prog is not None and hasattr(prog, "save"):
        prog.save(path)


def rename_value(graph, old, new):
    for n in graph.node:
        for i, x in enumerate(n.input):
            if x == old:
                n.input[i] = new
        for i, x in enumerate(n.output):
            if x == old:
                n.output[i] = new
    for v in list(graph.input) + list(graph.output):
        if v.name == old:
            v.name = new


def normalise(onnx, path, where, meta):
    """Loads the export (external data folded in), checks its interface, renames i/o when an exporter
    chose other names, adds metadata, and returns the ModelProto. Raises on an unusable graph."""
    m = onnx.load(path)  # loads any external data sitting beside the file
    g = m.graph
    inits = {t.name for t in g.initializer}
    inputs = [v for v in g.input if v.name not in inits]
    if len(inputs) != 1 or len(g.output) != 1:
        raise RuntimeError("expected 1 input and 1 output, got inputs %s outputs %s"
                           % ([v.name for v in inputs], [v.name for v in g.output]))
    if inputs[0].name != "input_ids":
        rename_value(g, inputs[0].name, "input_ids")
    if g.output[0].name != "logits":
        rename_value(g, g.output[0].name, "logits")
    it, ot = inputs[0].type.tensor_type, g.output[0].type.tensor_type
    if it.elem_type != onnx.TensorProto.INT64 or ot.elem_type != onnx.TensorProto.FLOAT:
        raise RuntimeError("input_ids must be int64 and logits float32, got elem types %d / %d" % (it.elem_type, ot.elem_type))
    for name, tt, axes in (("input_ids", it, 2), ("logits", ot, 2)):
        dims = list(tt.shape.dim)
        fixed = [i for i in range(min(axes, len(dims))) if dims[i].HasField("dim_value")]
        if fixed:
            raise RuntimeError("%s has fixed axes %s: the batch / sequence axes must be dynamic" % (name, fixed))
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.checker.check_model(m)
    return m


def verify(ort, np, torch, wrapper, path, runs, tol, where):
    """max |ORT − torch| and max |torch − reference.json| over the runs; raises when ORT is off."""
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst_ort, worst_ref, lines = 0.0, 0.0, []
    for label, ids, case, rows in runs:
        x = np.asarray(ids, dtype=np.int64)  # [B, T]
        got = sess.run(["logits"], {"input_ids": x})[0]  # [B, T, V]
        with torch.no_grad():
            want = wrapper(torch.from_numpy(x)).detach().cpu().numpy()
        if got.shape != want.shape:
            raise RuntimeError("%s: ONNX logits shape %s != torch %s" % (label, got.shape, want.shape))
        if not np.all(np.isfinite(got)):
            raise RuntimeError("%s: ONNX logits hold NaN/Inf" % label)
        e = float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max())
        worst_ort = max(worst_ort, e)
        ref_e = reference_error(case, rows, want) if case is not None and rows is not None else None
        if ref_e is not None:
            worst_ref = max(worst_ref, ref_e)
        lines.append("    %-34s B=%d T=%-3d  |ort-torch| %.2e%s" % (label, x.shape[0], x.shape[1], e,
                     "" if ref_e is None else "  |torch-reference.json| %.2e" % ref_e))
        if e > tol:
            raise RuntimeError("%s: ONNX Runtime logits differ from PyTorch's by %.3e > %g" % (label, e, tol))
    return worst_ort, worst_ref, lines


def export_fixture(name, d, out_dir, args, mods):
    torch, onnx, ort, np = mods["torch"], mods["onnx"], mods["onnxruntime"], mods["numpy"]
    ref = None
    if os.path.isfile(os.path.join(d, "reference.json")):
        with open(os.path.join(d, "reference.json")) as f:
            ref = json.load(f)
        if "cases" not in ref:  # e.g. a --real-shapes reference: other schema, checked against torch only
            ref = None
    model = load_model(d, torch)
    vocab = int(model.config.vocab_size)
    wrapper = make_wrapper(model, torch)
    runs = check_inputs(ref, vocab, torch)
    # example for tracing: B = 2, T = 5 (neither 0 nor 1, so no exporter specialises an axis to it)
    base = runs[0][1][0]
    example = torch.tensor([[base[i % len(base)] % vocab for i in range(5)],
                            [base[(i + 2) % len(base)] % vocab for i in range(5)]], dtype=torch.long)
    # torch itself must match the fixture before the export is worth checking
    worst = 0.0
    for label, ids, case, rows in runs:
        if case is None or rows is None:
            continue
        with torch.no_grad():
            lg = wrapper(torch.tensor(ids, dtype=torch.long)).numpy()
        worst = max(worst, reference_error(case, rows, lg))
    if worst > args.tol:
        raise RuntimeError("PyTorch logits differ from reference.json by %.3e > %g: not the fixture's model?" % (worst, args.tol))

    attempts = {"legacy": [("legacy", args.opset)], "dynamo": [("dynamo", args.opset), ("dynamo", 18)],
                "auto": [("legacy", args.opset), ("dynamo", args.opset), ("dynamo", 18)]}[args.exporter]
    seen, errors = set(), []
    tmp = tempfile.mkdtemp(prefix="onnx-export-")
    try:
        for kind, opset in attempts:
            if (kind, opset) in seen:
                continue
            seen.add((kind, opset))
            path = os.path.join(tmp, "%s-%d" % (kind, opset), "model.onnx")
            os.makedirs(os.path.dirname(path))
            try:
                with torch.no_grad():
                    (export_legacy if kind == "legacy" else export_dynamo)(torch, wrapper, example, path, opset)
                meta = {"source": "tools/golden/export_onnx.py", "fixture": name, "exporter": "%s (dynamo=%s)" % (kind, kind == "dynamo"),
                        "torch": torch.__version__, "transformers": mods["transformers"].__version__, "onnx": onnx.__version__,
                        "interface": "input_ids int64 [batch, sequence] -> logits float32 [batch, sequence, vocab]; no mask; positions 0..T-1"}
                m = normalise(onnx, path, name, meta)
                final = os.path.join(tmp, "%s-%d" % (kind, opset), "final.onnx")
                onnx.save_model(m, final, save_as_external_data=False)
                worst_ort, worst_ref, lines = verify(ort, np, torch, wrapper, final, runs, args.tol, name)
            except Exception as e:  # noqa: BLE001 - try the next exporter, report all at the end
                msg = "%s exporter, opset %d: %s: %s" % (kind, opset, type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
                errors.append(msg)
                log("  %s: %s failed, %s" % (name, kind, msg))
                if args.verbose:
                    traceback.print_exc()
                continue
            os.makedirs(out_dir, exist_ok=True)
            dest = os.path.join(out_dir, "model.onnx")
            shutil.copyfile(final, dest)
            opsets = ", ".join("%s:%d" % (o.domain or "ai.onnx", o.version) for o in m.opset_import)
            weights = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".safetensors"))
            log("  %s: %s exporter, opsets [%s], %d nodes -> %s" % (name, kind, opsets, len(m.graph.node), dest))
            for line in lines:
                log(line)
            log("  %s: model.onnx %.1f KB (safetensors %.1f KB); max |ort-torch| %.3e, max |torch-reference.json| %.3e (tol %g)"
                % (name, os.path.getsize(dest) / 1024, weights / 1024, worst_ort, worst_ref, args.tol))
            return {"fixture": name, "exporter": kind, "opset": opset, "bytes": os.path.getsize(dest),
                    "max_abs_ort_vs_torch": worst_ort, "max_abs_torch_vs_reference": worst_ref}
        raise RuntimeError("no exporter produced a model that matches: " + " | ".join(errors))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fixtures", default="models/fixtures", help="folder of fixture folders (config.json + reference.json)")
    ap.add_argument("--out", default=None, help="where <fixture>/model.onnx goes (default: beside the fixture)")
    ap.add_argument("--models", default=None, help="comma-separated fixture names (default: every folder with reference.json)")
    ap.add_argument("--checkpoint", default=None, help="export this one checkpoint folder instead (any size that fits a 2 GB "
                    "protobuf, e.g. --real-shapes' smollm2-135m-shaped; checked against PyTorch on random ids); "
                    "written to --out/model.onnx, default beside it")
    ap.add_argument("--exporter", choices=["auto", "legacy", "dynamo"], default="auto")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--tol", type=float, default=1e-4, help="max |ONNX Runtime − PyTorch| logits (and PyTorch − reference.json)")
    ap.add_argument("--verbose", action="store_true", help="print tracebacks of failed export attempts")
    args = ap.parse_args(argv)
    out_root = args.out or args.fixtures
    if args.checkpoint and not os.path.isfile(os.path.join(args.checkpoint, "config.json")):
        log("error: --checkpoint %s has no config.json" % args.checkpoint)
        return 2

    mods = {}
    for name in ("numpy", "torch", "transformers", "onnx", "onnxruntime"):
        try:
            mods[name] = __import__(name)
        except Exception as e:  # noqa: BLE001
            log("error: python package %r is needed (%s: %s)" % (name, type(e).__name__, e))
            return 2
    torch = mods["torch"]
    torch.manual_seed(0)
    log("export_onnx: torch %s, transformers %s, onnx %s, onnxruntime %s"
        % (torch.__version__, mods["transformers"].__version__, mods["onnx"].__version__, mods["onnxruntime"].__version__))

    if args.checkpoint:
        name = os.path.basename(os.path.normpath(args.checkpoint))
        jobs = [(name, args.checkpoint, args.out or args.checkpoint)]
    else:
        if not os.path.isdir(args.fixtures):
            log("error: --fixtures %s is not a folder" % args.fixtures)
            return 2
        names = sorted(n for n in os.listdir(args.fixtures)
                       if os.path.isfile(os.path.join(args.fixtures, n, "reference.json"))
                       and os.path.isfile(os.path.join(args.fixtures, n, "config.json")))
        if args.models:
            want = [x.strip() for x in args.models.split(",") if x.strip()]
            missing = [x for x in want if x not in names]
            if missing:
                log("error: no fixture folder (config.json + reference.json) for %s under %s" % (missing, args.fixtures))
                return 2
            names = want
        if not names:
            log("error: no fixture folders under %s" % args.fixtures)
            return 2
        jobs = [(n, os.path.join(args.fixtures, n), os.path.join(out_root, n)) for n in names]

    done = []
    for name, src, dst in jobs:
        log("== %s" % name)
        try:
            done.append(export_fixture(name, src, dst, args, mods))
        except Exception as e:  # noqa: BLE001
            problem(name, "%s: %s" % (type(e).__name__, e))
            if args.verbose:
                traceback.print_exc()
    log("")
    for r in done:
        log("OK %-12s %-6s opset %-2d %7.1f KB  max|ort-torch| %.2e  max|torch-ref| %.2e"
            % (r["fixture"], r["exporter"], r["opset"], r["bytes"] / 1024, r["max_abs_ort_vs_torch"], r["max_abs_torch_vs_reference"]))
    if PROBLEMS:
        log("%d problem(s):" % len(PROBLEMS))
        for p in PROBLEMS:
            log("  PROBLEM " + p)
        return 1
    log("all %d model(s) exported and verified" % len(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
