#!/usr/bin/env python3
"""Byte-level BPE tokenizer for the embedded default model, learned from its own task corpus.

    python3 tools/embedded/build_tokenizer.py --corpus train.jsonl [--corpus more.jsonl] --merges 700 --out DIR

Reads JSONL rows with "question" and "answer" (the embedded task sets) and learns --merges BPE merges with
the deterministic trainer of tools/golden/tokenizer_build.py (most frequent adjacent pair, ties by string
order) over Qwen2-style pre-tokens: digits split one at a time (arithmetic stays digit by digit), letters
with their leading space or punctuation. Writes DIR/tokenizer.json (HF `tokenizers` format, the Qwen2
pre-tokenizer pipeline) and DIR/tokenizer_config.json (eos = pad = <|endoftext|>, no BOS, no chat template:
the lab prompts the model with "Question: ...\\nAnswer: "). Pure Python: runs anywhere, no training library.
"""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import tokenizer_build as tb  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", action="append", required=True, help="JSONL with question/answer rows (repeatable)")
    ap.add_argument("--merges", type=int, default=700)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    texts = []
    for path in args.corpus:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                r = json.loads(line)
                if not isinstance(r.get("question"), str) or not isinstance(r.get("answer"), str):
                    print("error: %s:%d: needs question and answer strings" % (path, n), file=sys.stderr)
                    return 2
                texts.append("Question: %s\nAnswer: %s" % (r["question"], r["answer"]))
    merges = tb.learn_merges(texts, args.merges, style="qwen2", stop_when_done=True)
    tok = tb.build_tokenizer_json(merges, merges_format="pairs", specials_in_vocab=False, post_processor="bytelevel", pre_tokenizer="qwen2")
    vocab = tok["model"]["vocab"]
    special_ids = {t: len(vocab) + i for i, t in enumerate(tb.SPECIAL_TOKENS)}
    cfg = tb.build_tokenizer_config("<|endoftext|>", None, "<|endoftext|>", 512, False, special_ids)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=1)
    print("build_tokenizer: %d merges from %d rows; vocab %d + %d specials (ids %s); %s"
          % (len(merges), len(texts), len(vocab), len(special_ids), sorted(special_ids.values()), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
