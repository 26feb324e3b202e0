"""Pure-Python pieces of the golden fixtures: a tiny byte-level BPE tokenizer built without training
libraries, a reference encoder/decoder for it, the ChatML chat template, and a JSON writer for float32 data.

Nothing here imports torch, numpy or transformers, so `make_fixtures.py --tokenizer-only` and
`selftest_tokenizer.py` run on any python3 (the `regex` module is used for the split when present; without it
`gpt2_split` / `qwen2_split`, the same patterns written out as scanners, do the split).

Two pre-tokenizer styles (same vocab and merges, so ids 0..298 mean the same tokens in both):
  "gpt2"   normalizer null, ByteLevel(use_regex=true): the GPT-2 split (Llama-style fixtures)
  "qwen2"  normalizer NFC, Sequence[Split(QWEN2_PATTERN, Isolated), ByteLevel(use_regex=false)], as Qwen2.5's
           tokenizer.json has it (digits one at a time, no " ?" before numbers). transformers v5 picks
           Qwen2Tokenizer from config.json's model_type and imposes this pipeline, so a qwen2 fixture must use it.

Tokenizer layout (ids):
  0..255        the 256 byte-level symbols, in GPT-2's `bytes_to_unicode` order (id 0 is "!", not byte 0)
  256..295      N_MERGES merged tokens, in merge order (merge rank r creates id 256 + r)
  296, 297, 298 <|endoftext|>, <|im_start|>, <|im_end|> (special added tokens)
"""
import json
import math
import re
import struct
import unicodedata

try:  # the real GPT-2 pattern needs \p{L} / \p{N}; transformers depends on `regex`, so the GPU machine has it
    import regex as _regex
except ImportError:  # pragma: no cover - depends on the machine
    _regex = None

N_MERGES = 40
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# GPT-2 / tokenizers ByteLevel(use_regex=true) split pattern, verbatim.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# Qwen2 / Qwen2.5 Split pattern, verbatim (tokenizer.json's pre_tokenizer Split.pattern.Regex and transformers'
# tokenization_qwen2.PRETOKENIZE_REGEX).
QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
PRE_TOKENIZERS = ("gpt2", "qwen2")

# Corpus the merges are learned from: fixed, small, English + arithmetic (so fixture texts compress).
MERGE_CORPUS = [
    "The cat sat on the mat.",
    "The dog sat on the log.",
    "The quick brown fox jumps over the lazy dog.",
    "What is 12 + 7? The answer is 19.",
    "What is 3 + 4? The answer is 7.",
    "What is 20 - 5? The answer is 15.",
    "What is 6 * 7? The answer is 42.",
    "What is 9 + 10? The answer is 19.",
    "What is the answer? The answer is what it is.",
    "She sells sea shells on the sea shore.",
    "There is a cat on the mat and a dog on the log.",
    "Then the cat and the dog sat there.",
    "It is what it is, and that is that.",
]

# ChatML template in the form Qwen2-Instruct ships (default system message when none is given).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Texts every tokenizer fixture encodes: spaces, runs of spaces, newlines, CR/LF, tabs, digits,
# contractions, punctuation runs, special tokens inside text, multi-byte UTF-8, the empty string.
ENCODE_TEXTS = [
    "The cat sat on the mat.",
    "What is 12 + 7?",
    "  Hello,  world!\n\nThe answer is 19.  ",
    "It's 3.14159 - don't panic; x=42*7 (ok)?!",
    "<|im_start|>user\nWhat is 3 + 4?<|im_end|>\n<|im_start|>assistant\n",
    "tab\there\r\nwindows line\n   indented",
    "caf\u00e9 na\u00efve \u2013 \u4f60\u597d \U0001f642!",
    "",
]

CHAT_CASES = [
    {"messages": [{"role": "user", "content": "What is 12 + 7?"}], "add_generation_prompt": True},
    {
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
        ],
        "add_generation_prompt": False,
    },
]


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable-unicode-char map. Returns (bs, cs): byte bs[i] maps to chr(cs[i]);
    the printable bytes come first, so the list order is GPT-2's vocab order for ids 0..255."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return bs, cs


_BS, _CS = bytes_to_unicode()
BYTE_ENCODER = {b: chr(c) for b, c in zip(_BS, _CS)}  # byte value -> symbol
BYTE_DECODER = {v: k for k, v in BYTE_ENCODER.items()}  # symbol -> byte value


# Unicode White_Space (what \s means in the Rust/Oniguruma regex; Python's str.isspace adds \x1c-\x1f)
_WHITE_SPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | \
    {chr(c) for c in range(0x2000, 0x200B)}
_CONTRACTIONS = ("s", "t", "re", "ve", "m", "ll", "d")


def _cls(ch):
    if ch in _WHITE_SPACE:
        return "S"
    c = unicodedata.category(ch)[0]
    return c if c in ("L", "N") else "O"


def gpt2_split(text):
    """The GPT-2 pattern written out as a scanner (no regex engine): at each position try, in order,
    's|'t|'re|'ve|'m|'ll|'d, then ' ?' + a run of letters / of numbers / of other symbols, then whitespace:
    a run followed by a non-space gives back its last char (\\s+(?!\\S)), a lone one is taken as is (\\s+)."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            suf = next((s for s in _CONTRACTIONS if text.startswith(s, i + 1)), None)
            if suf is not None:
                out.append(text[i:i + 1 + len(suf)])
                i += 1 + len(suf)
                continue
        j = i + 1 if ch == " " and i + 1 < n else i  # the optional leading space
        kind = _cls(text[j])
        if kind != "S" and (j == i or ch == " "):
            k = j
            while k < n and _cls(text[k]) == kind:
                k += 1
            out.append(text[i:k])
            i = k
            continue
        k = i  # whitespace run
        while k < n and _cls(text[k]) == "S":
            k += 1
        if k < n and k - i >= 2:
            k -= 1  # leave the last space to the next token
        out.append(text[i:k])
        i = k
    return out


def _ci_eq(ch, lower):
    """ch matches the lowercase ASCII letter `lower` under (?i) (simple case folding: also U+017F for s)."""
    return ch.lower() == lower or (ch == "\u017f" and lower == "s")


def qwen2_split(text):
    """QWEN2_PATTERN written out as a scanner (no regex engine). At each position, in order:
    1 (?i:'s|'t|'re|'ve|'m|'ll|'d); 2 [^\\r\\n\\p{L}\\p{N}]?\\p{L}+ (one optional non-CR/LF, non-letter,
    non-digit char glued to a letter run); 3 \\p{N} (one digit); 4 ' ?' + a run of other symbols + any CR/LF
    after it; then whitespace: 5 \\s*[\\r\\n]+ (up to the last CR/LF of the run), 6 \\s+(?!\\S) (the run less
    its last char when a non-space follows), 7 \\s+ (a lone one)."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "'":  # 1
            suf = next((s for s in _CONTRACTIONS if i + len(s) < n and
                        all(_ci_eq(text[i + 1 + k], c) for k, c in enumerate(s))), None)
            if suf is not None:
                out.append(text[i:i + 1 + len(suf)])
                i += 1 + len(suf)
                continue
        kind = _cls(ch)
        j = i + 1 if kind in ("S", "O") and ch not in "\r\n" and i + 1 < n and _cls(text[i + 1]) == "L" else i
        if _cls(text[j]) == "L":  # 2
            k = j
            while k < n and _cls(text[k]) == "L":
                k += 1
            out.append(text[i:k])
            i = k
            continue
        if kind == "N":  # 3
            out.append(ch)
            i += 1
            continue
        j = i + 1 if ch == " " and i + 1 < n else i
        if _cls(text[j]) == "O":  # 4
            k = j
            while k < n and _cls(text[k]) == "O":
                k += 1
            while k < n and text[k] in "\r\n":
                k += 1
            out.append(text[i:k])
            i = k
            continue
        e = i  # whitespace run [i, e)
        while e < n and _cls(text[e]) == "S":
            e += 1
        crlf = [p for p in range(i, e) if text[p] in "\r\n"]
        if crlf:  # 5
            e = crlf[-1] + 1
        elif e < n and e - i >= 2:  # 6
            e -= 1
        out.append(text[i:e])  # 5, 6 or 7
        i = e
    return out


def split_text(text, style="gpt2"):
    """The pre-tokenizer's split of `text` (before byte mapping): the regex when `regex` is installed, else
    the scanner. The patterns match every character, so Split(Isolated) = the list of matches."""
    if style == "gpt2":
        pieces = _regex.findall(GPT2_PATTERN, text) if _regex is not None else gpt2_split(text)
    elif style == "qwen2":
        pieces = _regex.findall(QWEN2_PATTERN, text) if _regex is not None else qwen2_split(text)
    else:
        raise ValueError(style)
    if "".join(pieces) != text:
        raise RuntimeError("split lost characters of %r" % (text,))
    return pieces


def pretokenize(text, style="gpt2"):
    """Split like the tokenizer.json pre-tokenizer of `style` (gpt2: ByteLevel(add_prefix_space=false,
    use_regex=true); qwen2: Split(QWEN2_PATTERN, Isolated) then ByteLevel(use_regex=false)), then map each
    piece's UTF-8 bytes to byte-level symbols. Normalization (NFC for qwen2) is the caller's."""
    return ["".join(BYTE_ENCODER[b] for b in p.encode("utf-8")) for p in split_text(text, style)]


def learn_merges(corpus, n_merges, style="gpt2", stop_when_done=False):
    """Tiny deterministic BPE trainer: repeatedly merge the most frequent adjacent pair (ties: the smallest
    pair in Python string order) over `style` pre-tokens. Returns a list of (a, b) pairs in rank order. When
    no pair is left: an error, or with stop_when_done the merges found so far."""
    words = {}
    for line in corpus:
        for w in pretokenize(line, style):
            words[w] = words.get(w, 0) + 1
    seqs = {w: list(w) for w in words}  # word -> current symbols
    merges = []
    for _ in range(n_merges):
        counts = {}
        for w, syms in seqs.items():
            for a, b in zip(syms, syms[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + words[w]
        if not counts:
            if stop_when_done:
                break
            raise RuntimeError("merge corpus too small for %d merges" % n_merges)
        best = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        for w, syms in seqs.items():  # apply the merge left to right
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == best[0] and syms[i + 1] == best[1]:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            seqs[w] = out
    return merges


def build_vocab(merges):
    """token -> id for the BPE model (without special tokens)."""
    vocab = {}
    for b in _BS:
        vocab[BYTE_ENCODER[b]] = len(vocab)
    for a, b in merges:
        tok = a + b
        if tok in vocab:
            raise RuntimeError("merge %r produces an existing token" % (tok,))
        vocab[tok] = len(vocab)
    return vocab


def build_tokenizer_json(merges, merges_format="pairs", specials_in_vocab=False, post_processor="bytelevel",
                         pre_tokenizer="gpt2"):
    """The HF `tokenizers` serialization (tokenizer.json) as a dict.
    merges_format: "pairs" (new form, [["a","b"], ...]) or "strings" (old form, ["a b", ...]).
    specials_in_vocab: also list the special tokens in model.vocab (GPT-2 style) or only in added_tokens.
    post_processor: "bytelevel" or None.
    pre_tokenizer: "gpt2" (normalizer null, ByteLevel(use_regex=true)) or "qwen2" (normalizer, pre_tokenizer,
    post_processor, decoder and the BPE affixes exactly as Qwen2.5's tokenizer.json has them)."""
    vocab = build_vocab(merges)
    special_ids = {tok: len(vocab) + i for i, tok in enumerate(SPECIAL_TOKENS)}
    model_vocab = dict(vocab)
    if specials_in_vocab:
        model_vocab.update(special_ids)
    if merges_format == "pairs":
        merges_json = [[a, b] for a, b in merges]
    elif merges_format == "strings":
        for a, b in merges:
            if " " in a or " " in b:
                raise RuntimeError("a merge symbol contains a space; the old merges form cannot hold it")
        merges_json = ["%s %s" % (a, b) for a, b in merges]
    else:
        raise ValueError(merges_format)
    added = [{"id": special_ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for t in SPECIAL_TOKENS]
    if pre_tokenizer == "gpt2":
        normalizer = None
        pre = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
        pp = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True}
        decoder = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
        affix = None
    elif pre_tokenizer == "qwen2":
        normalizer = {"type": "NFC"}
        byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
            dict(byte_level)]}
        pp, decoder = dict(byte_level), dict(byte_level)
        affix = ""  # Qwen2.5 writes "" (no-ops), GPT-2-style files null
    else:
        raise ValueError(pre_tokenizer)
    if post_processor is None:
        pp = None
    elif post_processor != "bytelevel":
        raise ValueError(post_processor)
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": pre,
        "post_processor": pp,
        "decoder": decoder,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": affix,
            "end_of_word_suffix": affix,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": model_vocab,
            "merges": merges_json,
        },
    }


def build_tokenizer_config(eos_token, bos_token, pad_token, model_max_length, chat_template_inline, special_ids):
    """tokenizer_config.json as a dict. chat_template_inline=False leaves the template to chat_template.jinja."""
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos_token,
        "eos_token": eos_token,
        "pad_token": pad_token,
        "unk_token": None,
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": {
            str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                     "special": True}
            for t, i in sorted(special_ids.items(), key=lambda kv: kv[1])
        },
    }
    if chat_template_inline:
        cfg["chat_template"] = CHAT_TEMPLATE
    return cfg


def pre_tokenizer_style(tok_json):
    """"gpt2" or "qwen2": which of build_tokenizer_json's pipelines tok_json holds (normalizer included);
    anything else is an error (the reference encoder implements only these two)."""
    norm, pre = tok_json.get("normalizer"), tok_json.get("pre_tokenizer")
    if norm is None and pre == {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                                "use_regex": True}:
        return "gpt2"
    if norm == {"type": "NFC"} and isinstance(pre, dict) and pre.get("type") == "Sequence":
        parts = pre.get("pretokenizers", [])
        if len(parts) == 2 and parts[0] == {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN},
                                            "behavior": "Isolated", "invert": False} \
                and parts[1].get("type") == "ByteLevel" and parts[1].get("use_regex") is False \
                and parts[1].get("add_prefix_space") is False:
            return "qwen2"
    raise ValueError("reference encoder: unsupported normalizer / pre_tokenizer %r / %r" % (norm, pre))


class PyBPE:
    """Reference encoder/decoder for a tokenizer.json made by build_tokenizer_json (any of its variants)."""

    def __init__(self, tok_json):
        model = tok_json["model"]
        self.style = pre_tokenizer_style(tok_json)
        self.nfc = tok_json["normalizer"] == {"type": "NFC"}
        self.vocab = {k: v for k, v in model["vocab"].items()}
        self.special = {a["content"]: a["id"] for a in tok_json["added_tokens"]}
        for t, i in self.special.items():
            self.vocab[t] = i
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        ranks = {}
        for r, m in enumerate(model["merges"]):
            a, b = (m.split(" ") if isinstance(m, str) else m)
            ranks[(a, b)] = r
        self.ranks = ranks
        # split on special tokens first (longest first, as an alternation), like tokenizers' AddedVocabulary
        alts = sorted(self.special, key=len, reverse=True)
        self.special_re = re.compile("(" + "|".join(re.escape(s) for s in alts) + ")") if alts else None

    def bpe(self, word):
        syms = list(word)
        while len(syms) > 1:
            best, best_rank = None, None
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            a, b = syms[best], syms[best + 1]
            out, i = [], 0
            while i < len(syms):  # merge every occurrence of the best pair, left to right (GPT-2 style)
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        return syms

    def tokenize(self, text):
        parts = self.special_re.split(text) if self.special_re else [text]
        toks = []
        for p in parts:
            if p == "":
                continue
            if p in self.special:
                toks.append(p)
                continue
            if self.nfc:  # special tokens are split off first (normalized: false), the rest is normalized
                p = unicodedata.normalize("NFC", p)
            for w in pretokenize(p, self.style):
                toks.extend(self.bpe(w))
        return toks

    def encode(self, text):
        return [self.vocab[t] for t in self.tokenize(text)]

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            t = self.id_to_token[i]
            out.extend(t.encode("utf-8") if t in self.special else bytes(BYTE_DECODER[c] for c in t))
        return out.decode("utf-8", errors="replace")


def render_chat(messages, add_generation_prompt, template=CHAT_TEMPLATE):
    """Render with jinja2 the way transformers does (sandboxed env, trim_blocks, lstrip_blocks)."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    return env.from_string(template).render(messages=messages, add_generation_prompt=add_generation_prompt)


def check_tokenizer_json(tok_json):
    """Consistency checks a lab loader relies on; returns a list of problems (empty = fine)."""
    problems = []
    m = tok_json["model"]
    vocab = m["vocab"]
    ids = sorted(vocab.values())
    specials = {a["content"]: a["id"] for a in tok_json["added_tokens"]}
    all_ids = sorted(set(ids) | set(specials.values()))
    if all_ids != list(range(len(all_ids))):
        problems.append("ids are not contiguous 0..n-1")
    if len(set(vocab.values())) != len(vocab):
        problems.append("duplicate ids in model.vocab")
    for b in range(256):
        if BYTE_ENCODER[b] not in vocab:
            problems.append("byte %d symbol missing from vocab" % b)
    for r, mg in enumerate(m["merges"]):
        a, b = (mg.split(" ") if isinstance(mg, str) else mg)
        if a not in vocab or b not in vocab:
            problems.append("merge %d: part not in vocab" % r)
        if a + b not in vocab:
            problems.append("merge %d: result %r not in vocab" % (r, a + b))
        elif vocab[a + b] != 256 + r:
            problems.append("merge %d: result id %d != %d" % (r, vocab[a + b], 256 + r))
    for t, i in specials.items():
        if t in vocab and vocab[t] != i:
            problems.append("special %s: vocab id %d != added id %d" % (t, vocab[t], i))
    return problems


# ---------------------------------------------------------------- JSON with shortest float32 round-trip numbers

def f32(x):
    """Round a Python float to the nearest float32 value (returned as a Python float)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def fmt_f32(x):
    """Shortest decimal (<= 9 significant digits) that parses back to the same float32. NaN/Inf are errors."""
    if x != x or x in (math.inf, -math.inf):
        raise ValueError("non-finite value in fixture data")
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    x = f32(x)
    for p in range(6, 10):
        s = "%.*g" % (p, x)
        if f32(float(s)) == x:
            return s
    return "%.9g" % x  # unreachable for float32 inputs


def dumps(obj, indent_depth=2, _depth=0):
    """Compact JSON; dicts up to `indent_depth` levels get one key per line. Every float is written as the
    shortest decimal that round-trips through float32 (the fixtures hold float32 data only)."""
    if isinstance(obj, bool) or obj is None:
        return json.dumps(obj)
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return fmt_f32(obj)
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dumps(v, indent_depth, _depth + 1) for v in obj) + "]"
    if isinstance(obj, dict):
        items = [json.dumps(str(k), ensure_ascii=False) + ":" + dumps(v, indent_depth, _depth + 1)
                 for k, v in obj.items()]
        if _depth < indent_depth and items:
            pad = "\n" + " " * (_depth + 1)
            return "{" + pad + ("," + pad).join(items) + "\n" + " " * _depth + "}"
        return "{" + ",".join(items) + "}"
    raise TypeError("cannot serialize %r" % type(obj))
