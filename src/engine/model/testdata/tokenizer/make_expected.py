# Reference outputs of Python transformers for the hand-built fixtures (written by make-fixture.ts).
# Run from this directory with transformers installed (no torch needed):  python make_expected.py
# Writes <variant>/expected.json, which tokenizer.test.ts compares the TypeScript tokenizer against.
import json
import os

import tokenizers
import transformers
from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))

TEXTS = [
    "the hat",
    " the hat in the",
    "Hello, world!",
    "naïve — 数字 🙂",  # 2-, 3- and 4-byte UTF-8 characters
    "a . b , c 's",  # clean_up_tokenization_spaces would change this on decode
    "<|im_start|>user\nhi<|im_end|>",  # special tokens inside the text
    "x<|endoftext|>y",
    "line1\n\n  indented\ttab  ",
    "I'll've it's IT'S",  # the (?i:'s|'t|...) branch of the split regex
    "12345 123",  # Qwen2 splits single digits, Llama 3 groups of 3
    "",
]

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "the hat 数字 🙂 "},
    {"role": "assistant", "content": "in the hat"},
    {"role": "user", "content": "<|im_end|> again"},
]


def main():
    for variant in ("qwen-like", "llama-like"):
        d = os.path.join(HERE, variant)
        tok = AutoTokenizer.from_pretrained(d)
        cases = []
        for text in TEXTS:
            ids = tok.encode(text, add_special_tokens=False)
            ids_special = tok.encode(text, add_special_tokens=True)
            cases.append(
                {
                    "text": text,
                    "ids": ids,
                    "ids_special": ids_special,
                    "decoded": tok.decode(ids_special, skip_special_tokens=False),
                    "decoded_skip": tok.decode(ids_special, skip_special_tokens=True),
                }
            )
        chat = {"messages": MESSAGES}
        for gen in (False, True):
            key = "gen" if gen else "nogen"
            chat["render_" + key] = tok.apply_chat_template(MESSAGES, add_generation_prompt=gen, tokenize=False)
            out = tok.apply_chat_template(MESSAGES, add_generation_prompt=gen, tokenize=True)
            chat["ids_" + key] = list(out["input_ids"] if hasattr(out, "keys") else out)
        # Ids past the vocabulary (the embedding is often larger) decode to nothing.
        oov = [tok.encode("the hat")[0], len(tok) + 5, tok.encode("the hat")[-1]]
        expected = {
            "generator": f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}",
            "vocab_size": len(tok),
            "eos_token_id": tok.eos_token_id,
            "bos_token_id": tok.bos_token_id,
            "pad_token_id": tok.pad_token_id,
            "cases": cases,
            "chat": chat,
            "oov": {"ids": oov, "decoded": tok.decode(oov)},
        }
        with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
            json.dump(expected, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print("wrote", os.path.join(d, "expected.json"))


if __name__ == "__main__":
    main()
