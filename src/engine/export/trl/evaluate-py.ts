// evaluate.py of an exported TRL project: the base model with the trained adapter (or without it, for
// the before/after table) answers the data's prompts as the lab prompts them (greedy), then chrF++
// (sacrebleu), COMET-Kiwi (Unbabel/wmt22-cometkiwi-da: reference-free quality estimation of source →
// output) and MAUVE (mauve-text: the outputs' distribution against the references'). Those need models
// the browser cannot hold, which is why they live here and not in `lab eval`.
import { py } from './recipe.ts';

export interface EvaluatePyInput {
  model: { id: string; revision: string | null };
  dataFile: string | null;
  maxNewTokens: number;
  /** the run trained every weight: output/ is a whole model, not an adapter */
  full: boolean;
}

export function evaluatePy(x: EvaluatePyInput): string {
  const head = [
    `MODEL = ${py(x.model.id)}`,
    `REVISION = ${py(x.model.revision)}`,
    `DATA_FILE = ${py(x.dataFile)}`,
    `MAX_NEW_TOKENS = ${x.maxNewTokens}  # the lab run's max new tokens (GRPO), else lab eval's default`,
    `FULL = ${py(x.full)}  # True: output/ holds a whole model (lab --full), not an adapter`,
  ].join('\n');
  return String.raw`#!/usr/bin/env python3
"""Evaluate the trained model on the run's data (or --data): chrF++, COMET-Kiwi and MAUVE.

    python evaluate.py                        # the base model + output/ (the adapter train.py wrote)
    python evaluate.py --no-adapter           # the base model alone: the "before" of the table
    python evaluate.py --data held_out.jsonl --limit 500 --out eval.json

Prompts are rendered as the lab renders them (the chat template with its generation prompt, else
"Question: ...\nAnswer:") and answered greedily. chrF++ is sacrebleu's (word order 2), as the lab's
chrf++ reward and lab score; COMET-Kiwi (Unbabel/wmt22-cometkiwi-da, a gated model: accept its licence on
the Hub and log in first) scores source and output without a reference; MAUVE (mauve-text) compares
the outputs' distribution with the references' and needs a few hundred rows to mean much. A metric that
fails is reported in the output with its error, and the script exits non-zero.
"""
import argparse
import gc
import json
import sys
from pathlib import Path

import lab_data

HERE = Path(__file__).resolve().parent
${head}


def generate(args, items):
    import torch
    from transformers import AutoModelForCausalLM

    tok = lab_data.load_tokenizer(args.model, args.revision)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if dev == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(args.model, revision=args.revision, dtype=dtype).to(dev)
    if args.adapter and not args.no_adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, args.adapter)
    model.eval()
    outputs = []
    for i in range(0, len(items), args.batch_size):
        ids = [lab_data.prompt_ids(tok, it["messages"]) for it in items[i : i + args.batch_size]]
        width = max(len(x) for x in ids)
        # left padding: every prompt ends where generation starts
        input_ids = torch.tensor([[tok.pad_token_id] * (width - len(x)) + x for x in ids], device=dev)  # [B, T0]
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids], device=dev)  # [B, T0]
        with torch.no_grad():
            out = model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=args.max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
        outputs += [tok.decode(row, skip_special_tokens=True) for row in out[:, width:]]  # [B, new tokens]
        print(f"evaluate.py: {len(outputs)}/{len(items)} answered", file=sys.stderr)
    del model
    gc.collect()
    if dev == "cuda":
        torch.cuda.empty_cache()  # COMET and MAUVE load their own models next
    return outputs


def chrf_pp(hyps, refs):
    from sacrebleu.metrics import CHRF

    m = CHRF(word_order=2)
    sentences = [m.sentence_score(h, [r]).score for h, r in zip(hyps, refs)]
    return {"corpus": m.corpus_score(hyps, [refs]).score, "sentence_mean": sum(sentences) / len(sentences), "rows": len(hyps), "signature": str(m.get_signature())}


def comet_kiwi(srcs, hyps, batch_size):
    import torch
    from comet import download_model, load_from_checkpoint

    model = load_from_checkpoint(download_model("Unbabel/wmt22-cometkiwi-da"))
    out = model.predict([{"src": s, "mt": h} for s, h in zip(srcs, hyps)], batch_size=batch_size, gpus=1 if torch.cuda.is_available() else 0)
    return {"system": float(out.system_score), "rows": len(hyps), "model": "Unbabel/wmt22-cometkiwi-da"}


def mauve_score(refs, hyps, featurizer, max_len):
    import mauve
    import torch

    out = mauve.compute_mauve(p_text=refs, q_text=hyps, featurize_model_name=featurizer, device_id=0 if torch.cuda.is_available() else -1, max_text_length=max_len, verbose=False)
    return {"mauve": float(out.mauve), "rows": len(hyps), "featurizer": featurizer}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # a LoRA run: the base model + the adapter in output/; a full run: output/ is the trained model (--model MODEL is the "before")
    p.add_argument("--model", default=str(HERE / "output") if FULL else MODEL, help="the model (default: the lab run's base, or output/ for a full run)")
    p.add_argument("--revision", default=None if FULL else REVISION)
    p.add_argument("--adapter", default=None if FULL else str(HERE / "output"), help="the PEFT adapter train.py wrote (default output/)")
    p.add_argument("--no-adapter", action="store_true", help="the base model alone")
    p.add_argument("--data", default=DATA_FILE, help="a JSONL file in a form lab grpo reads (default: the run's data)")
    p.add_argument("--src-field", default=None, help="a row key holding COMET-Kiwi's source text (default: the prompt's question)")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--max-new-tokens", type=int, default=MAX_NEW_TOKENS)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--metrics", default="chrf++,comet-kiwi,mauve")
    p.add_argument("--mauve-featurizer", default="gpt2-large", help="mauve-text's default featurizer")
    p.add_argument("--keep-outputs", action="store_true", help="write each output into the result (it derives from the data: its terms apply, provenance.json)")
    p.add_argument("--out", default="eval.json")
    args = p.parse_args()

    tok = lab_data.load_tokenizer(args.model, args.revision)
    items = lab_data.prompt_items(args.data, tok)[: args.limit]
    if not items:
        sys.exit(f"evaluate.py: no usable row in {args.data}")
    hyps = generate(args, items)
    with_ref = [i for i, it in enumerate(items) if it["reference"] is not None]
    srcs = [str(it["row"].get(args.src_field, it["question"])) if args.src_field else it["question"] for it in items]
    result = {"model": args.model, "revision": args.revision, "adapter": None if args.no_adapter else args.adapter, "data": args.data, "rows": len(items), "rows_with_reference": len(with_ref), "max_new_tokens": args.max_new_tokens}
    failed = False
    for name in [m.strip() for m in args.metrics.split(",") if m.strip()]:
        try:
            if name == "chrf++":
                result[name] = chrf_pp([hyps[i] for i in with_ref], [items[i]["reference"] for i in with_ref])
            elif name == "comet-kiwi":
                result[name] = comet_kiwi(srcs, hyps, args.batch_size)
            elif name == "mauve":
                result[name] = mauve_score([items[i]["reference"] for i in with_ref], [hyps[i] for i in with_ref], args.mauve_featurizer, args.max_new_tokens)
            else:
                raise ValueError(f"unknown metric {name!r} (metrics: chrf++, comet-kiwi, mauve)")
            print(f"evaluate.py: {name}: {json.dumps(result[name])}", file=sys.stderr)
        except Exception as e:  # one failing metric (a gated model, too few rows for MAUVE) must not hide the others
            failed = True
            result[name] = {"error": f"{type(e).__name__}: {e}"}
            print(f"evaluate.py: {name} failed: {e}", file=sys.stderr)
    if args.keep_outputs:
        result["outputs"] = [{"line": it["line"], "reference": it["reference"], "output": h} for it, h in zip(items, hyps)]
    Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"evaluate.py: {args.out}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
`;
}
