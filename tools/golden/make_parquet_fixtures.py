#!/usr/bin/env python3
"""Parquet fixtures for the dataset loaders (src/engine/data/), written by pyarrow as the Hub's parquet
conversion and `datasets.push_to_hub` write them (Snappy, one row group per 2 rows here so the reader's
row-group stitching is exercised).

Every text is synthetic: made-up sentences with the characters of Stoney orthography (â î û ṯ ẖ, and a
decomposed â to check NFC), never community data. Each fixture has a JSON twin with the same rows, which
the tests compare with what the lab reads from the Parquet file.

    python3 tools/golden/make_parquet_fixtures.py --out models/fixtures/data     # needs pyarrow only
"""
import argparse
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq

DECOMPOSED_A = "a\u0302"  # â as a + combining circumflex: NFC composes it

CHAT = [
    {"messages": [{"role": "system", "content": "You translate."},
                  {"role": "user", "content": "Say 'îzâ ṯẖe' in English."},
                  {"role": "assistant", "content": "A made-up phrase: mûda."}]},
    {"messages": [{"role": "user", "content": "What does 'ẖûm" + DECOMPOSED_A + "' mean?"},
                  {"role": "assistant", "content": "Nothing: it is a test word."}]},
]
QA = [
    {"question": "Spell 'tâṯîn' backwards.", "answer": "nîṯât"},
    {"question": "2 + 3?", "answer": "2 + 3 = 5\n#### 5"},
]
PLATINUM = [
    {"question": "Tom has 3 apples and buys 2. How many?", "answer": "3 + 2 = 5\n#### 5", "cleaning_status": "consensus"},
    {"question": "A train leaves at some time. When?", "answer": "#### 0", "cleaning_status": "ambiguous"},
    {"question": "Ann reads 4 pages a day for 3 days. Pages?", "answer": "4 * 3 = 12\n#### 12", "cleaning_status": "revised"},
    {"question": "Mo has 10 cents and spends 4. Left?", "answer": "10 - 4 = 6\n#### 6", "cleaning_status": "verified"},
]
RL_TASK = [
    {"task_type": "morphology", "prompt": "Give the plural of the made-up word 'zîqa'.", "ideal_answer": "zîqabi",
     "verification_pattern": "z[îi]qabi", "hints": ["-bi"], "difficulty": "easy"},
    {"task_type": "forward_translation", "prompt": "Translate 'test phrase' into the test language.", "ideal_answer": "îzâ ṯẖa",
     "verification_pattern": "îzâ", "hints": ["îzâ", "ṯẖa"], "difficulty": "medium"},
]
TOKENIZED = [{"input_ids": [1, 2, 3, 4], "labels": [-100, -100, 3, 4]}, {"input_ids": [5, 6], "labels": [5, 6]}]


def write(out, name, rows, schema=None):
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, os.path.join(out, f"{name}.parquet"), compression="snappy", row_group_size=2)
    with open(os.path.join(out, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    write(out, "chat", CHAT)
    write(out, "qa", QA)
    write(out, "gsm8k-platinum", PLATINUM)
    write(out, "rl_task", RL_TASK)
    write(out, "tokenized", TOKENIZED, pa.schema([("input_ids", pa.list_(pa.int64())), ("labels", pa.list_(pa.int64()))]))
    # a file that mixes schemas as StoneyNakoda45k does: chat rows and Q&A rows in one table (nulls where absent)
    mixed = [{"messages": CHAT[0]["messages"], "question": None, "answer": None},
             {"messages": None, "question": QA[0]["question"], "answer": QA[0]["answer"]},
             {"messages": CHAT[1]["messages"], "question": None, "answer": None}]
    write(out, "mixed", mixed)
    # the same rows compressed with zstd: the lab refuses the codec by name
    pq.write_table(pa.Table.from_pylist(QA), os.path.join(out, "qa-zstd.parquet"), compression="zstd")
    print(f"wrote parquet fixtures to {out}")


if __name__ == "__main__":
    main()
