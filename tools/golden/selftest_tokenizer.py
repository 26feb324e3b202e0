#!/usr/bin/env python3
"""Self-test of the pure-Python half of the golden fixtures (no torch): python3 tools/golden/selftest_tokenizer.py
Checks the hand-built tokenizer.json (well-formed, vocab/merges consistent, both merges forms equal), the
reference encoder (round trips, pinned ids, GPT-2 and Qwen2 splits: scanners against the `regex` module when it is
installed), the float32 JSON writer and the --tokenizer-only mode end to end."""
import json
import os
import random
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the repo
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures as mf  # noqa: E402
import tokenizer_build as tb  # noqa: E402

MERGES = tb.learn_merges(tb.MERGE_CORPUS, tb.N_MERGES)


class TokenizerTest(unittest.TestCase):
    def test_merges_deterministic(self):
        self.assertEqual(tb.learn_merges(tb.MERGE_CORPUS, tb.N_MERGES), MERGES)
        self.assertEqual(len(MERGES), tb.N_MERGES)
        self.assertEqual(len(set(MERGES)), tb.N_MERGES)

    def test_json_variants_consistent(self):
        for fmt in ("pairs", "strings"):
            for inv in (False, True):
                for pp, pre in (("bytelevel", "gpt2"), (None, "gpt2"), ("bytelevel", "qwen2"), (None, "qwen2")):
                    tj = tb.build_tokenizer_json(MERGES, fmt, inv, pp, pre)
                    self.assertEqual(tb.pre_tokenizer_style(tj), pre)
                    again = json.loads(tb.dumps(tj, 1))  # the writer's output is valid JSON and loses nothing
                    self.assertEqual(again, tj)
                    self.assertEqual(tb.check_tokenizer_json(tj), [])
                    ids = sorted(set(tj["model"]["vocab"].values()) | {a["id"] for a in tj["added_tokens"]})
                    self.assertEqual(ids, list(range(299)))

    def test_check_catches_corruption(self):
        tj = tb.build_tokenizer_json(MERGES)
        tj["model"]["merges"][3], tj["model"]["merges"][4] = tj["model"]["merges"][4], tj["model"]["merges"][3]
        self.assertTrue(tb.check_tokenizer_json(tj))  # merge order no longer matches the ids
        tj = tb.build_tokenizer_json(MERGES)
        del tj["model"]["vocab"][tb.BYTE_ENCODER[0]]
        self.assertTrue(tb.check_tokenizer_json(tj))

    def test_both_merge_forms_encode_alike(self):
        a = tb.PyBPE(tb.build_tokenizer_json(MERGES, "pairs", True))
        b = tb.PyBPE(tb.build_tokenizer_json(MERGES, "strings", False, None))
        for t in tb.ENCODE_TEXTS:
            self.assertEqual(a.encode(t), b.encode(t))
            self.assertEqual(a.decode(a.encode(t)), t)

    def test_pinned_ids(self):
        # pins the tokenizer: any change to corpus, merge rule or byte order shows up here
        e = tb.PyBPE(tb.build_tokenizer_json(MERGES))
        self.assertEqual(e.encode("The cat sat on the mat."), [262, 283, 286, 276, 265, 293, 13])
        self.assertEqual(e.tokenize("What is 12 + 7?"), ["What", "\u0120is", "\u01201", "2", "\u0120+", "\u01207", "?"])
        self.assertEqual(e.encode("<|im_start|>user\n")[0], 297)
        self.assertEqual(e.encode("  a"), [220] + e.encode(" a"))  # "  a" splits as " ", " a" (\s+(?!\S))
        self.assertEqual(e.encode(""), [])
        self.assertEqual(tb.BYTE_ENCODER[ord(" ")], "\u0120")
        self.assertEqual(e.vocab["!"], 0)  # GPT-2 order: id 0 is "!", not byte 0

    def test_pinned_ids_qwen2(self):
        # what transformers 5.17 AutoTokenizer (Qwen2Tokenizer) gave on the GPU machine for these texts:
        # digits one at a time, the space before a digit its own token
        e = tb.PyBPE(tb.build_tokenizer_json(MERGES, "strings", False, "bytelevel", "qwen2"))
        self.assertEqual(e.encode("What is 12 + 7?"), [271, 259, 220, 16, 17, 281, 220, 22, 30])
        self.assertEqual(e.encode("  Hello,  world!\n\nThe answer is 19.  ")[-7:], [259, 220, 16, 24, 13, 220, 220])
        self.assertEqual(e.encode("The cat sat on the mat."), [262, 283, 286, 276, 265, 293, 13])
        # (?i:'s): "'S" and "'\u017f" (long s folds to s) are contractions; " \u017f" is a letter run
        self.assertEqual(tb.split_text("It'S \u017f'\u017f", "qwen2"), ["It", "'S", " \u017f", "'\u017f"])
        self.assertEqual(tb.qwen2_split("It'S \u017f'\u017f"), ["It", "'S", " \u017f", "'\u017f"])

    def test_nfc_only_for_qwen2(self):
        g = tb.PyBPE(tb.build_tokenizer_json(MERGES))
        q = tb.PyBPE(tb.build_tokenizer_json(MERGES, "strings", False, "bytelevel", "qwen2"))
        self.assertEqual(q.encode("cafe\u0301"), q.encode("caf\u00e9"))
        self.assertNotEqual(g.encode("cafe\u0301"), g.encode("caf\u00e9"))
        self.assertEqual(q.encode("<|im_end|>e\u0301")[0], 298)  # specials split off before normalizing

    def test_unknown_pre_tokenizer_rejected(self):
        tj = tb.build_tokenizer_json(MERGES, pre_tokenizer="qwen2")
        tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] += "|x"
        with self.assertRaises(ValueError):
            tb.PyBPE(tj)
        tj = tb.build_tokenizer_json(MERGES)
        tj["normalizer"] = {"type": "NFC"}
        with self.assertRaises(ValueError):
            tb.PyBPE(tj)

    def test_scanners_give_fixture_ids_without_regex(self):
        # what --tokenizer-only writes on a machine without `regex` (scanners) equals the regex path
        texts = list(tb.ENCODE_TEXTS) + [tb.render_chat(c["messages"], c["add_generation_prompt"])
                                         for c in tb.CHAT_CASES]
        saved = tb._regex
        for pre in tb.PRE_TOKENIZERS:
            e = tb.PyBPE(tb.build_tokenizer_json(MERGES, pre_tokenizer=pre))
            with_regex = [e.encode(t) for t in texts]
            tb._regex = None
            try:
                self.assertEqual([e.encode(t) for t in texts], with_regex, pre)
            finally:
                tb._regex = saved

    @unittest.skipIf(tb._regex is None, "the regex module is not installed (apt-get install python3-regex)")
    def test_scanner_matches_regex(self):
        # gpt2_split / qwen2_split (used without `regex`) must split exactly like the real patterns
        rng = random.Random(7)
        alphabet = list("aZ09 '\t\n\r.,!?-_;(") + [
            "'s", "'S", "'ll", "'LL", "'Re", "'\u017f", "  ", "\r\n", "\u00e9", "e\u0301", "\u4f60", "\U0001f642",
            "\u00a0", "\u2003", "\u0663", "\u00bd", "\u2028", "\u0085", "\x0b", "\x1c", "\u0378"]
        texts = list(tb.ENCODE_TEXTS) + [tb.render_chat(c["messages"], c["add_generation_prompt"])
                                         for c in tb.CHAT_CASES] + tb.MERGE_CORPUS
        texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(4000)]
        for t in texts:
            self.assertEqual(tb.gpt2_split(t), tb._regex.findall(tb.GPT2_PATTERN, t), repr(t))
            self.assertEqual(tb.qwen2_split(t), tb._regex.findall(tb.QWEN2_PATTERN, t), repr(t))

    def test_chat_template(self):
        s = tb.render_chat([{"role": "user", "content": "Hi"}], True)
        self.assertEqual(s, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


class FloatJsonTest(unittest.TestCase):
    def test_shortest_roundtrip(self):
        rng = random.Random(1)
        vals = [0.0, -0.0, 1.0, -2.5, 1e-45, 3.4028234663852886e38, 1e-6, 123456.7]
        vals += [rng.gauss(0, 1) * 10 ** rng.randint(-8, 8) for _ in range(5000)]
        for v in vals:
            x = tb.f32(v)
            s = tb.fmt_f32(x)
            self.assertEqual(tb.f32(float(json.loads(s))), x, s)
            self.assertLessEqual(len(s.lstrip("-").replace(".", "").split("e")[0].lstrip("0")), 9)
        self.assertEqual(tb.fmt_f32(-0.0), "-0.0")

    def test_non_finite_rejected(self):
        for v in (float("nan"), float("inf"), -float("inf")):
            with self.assertRaises(ValueError):
                tb.dumps([v])


class TokenizerOnlyModeTest(unittest.TestCase):
    def test_end_to_end(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(mf.main(["--tokenizer-only", "--out", d]), 0)
            for name, spec in mf.SPECS.items():
                sub = os.path.join(d, name)
                with open(os.path.join(sub, "tokenizer.json"), encoding="utf-8") as f:
                    tj = json.load(f)
                with open(os.path.join(sub, "tokenizer_config.json"), encoding="utf-8") as f:
                    cfg = json.load(f)
                with open(os.path.join(sub, "tokenizer_fixture.json"), encoding="utf-8") as f:
                    fx = json.load(f)
                self.assertEqual(tb.check_tokenizer_json(tj), [])
                self.assertEqual(isinstance(tj["model"]["merges"][0], str), spec["merges_format"] == "strings")
                self.assertEqual("<|im_end|>" in tj["model"]["vocab"], spec["specials_in_vocab"])
                self.assertEqual("chat_template" in cfg, not spec["chat_template_file"])
                self.assertEqual(tb.pre_tokenizer_style(tj), spec["pre_tokenizer"])
                self.assertEqual(fx["post_processor"], "ByteLevel" if spec["post_processor"] else None)
                self.assertEqual(os.path.exists(os.path.join(sub, "chat_template.jinja")), spec["chat_template_file"])
                self.assertEqual(fx["vocab_size"], 299)
                py = tb.PyBPE(tj)
                for e in fx["encodings"]:
                    self.assertEqual(py.encode(e["text"]), e["ids"])
                    self.assertEqual(e["decoded"], e["text"])
                for c in fx["chat"]:
                    self.assertEqual(py.encode(c["text"]), c["ids"])
                self.assertEqual(fx["eos_token_id"], 296 if spec["eos"] == "<|endoftext|>" else 298)


if __name__ == "__main__":
    unittest.main()
