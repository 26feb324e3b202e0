// rewards.py of an exported TRL project: the lab's rewards (src/rewards/*.ts) in Python, each with TRL's
// reward-function signature. Written to give the TypeScript's numbers: where the TypeScript reproduces a
// Python reference (gsm8k-format, chrF = sacrebleu, str.split/strip/isdigit), Python's own function is
// used; where the TypeScript uses JavaScript's regex semantics (\s, trim, \b, the i flag), they are
// spelled out here. rewards-parity.test.ts runs both on the same cases.
// (String.raw: the backslashes below are Python's.)
export const REWARDS_PY = String.raw`"""The rewards of Stoney-RL Lab (src/rewards/*.ts), in Python, for TRL's GRPOTrainer.

Each reward has TRL's reward-function signature

    reward(prompts, completions, **kwargs) -> list[float]

and reads the dataset's columns from kwargs: "reference" (the answer / translation / ideal_answer) and,
for stoney-rubric, "verification_pattern" and "hints" (rl_task rows). A completion is a string (standard
prompts) or a list of messages whose last one is the assistant's (conversational prompts).

They give the lab's numbers (rewards-parity.test.ts in the lab runs the TypeScript and this file on the
same cases). Not exported: "reward-model" (the lab's learned reward model: its adapter and reward head
have no Python counterpart here; train.py says so when a run used it).
"""
import json
import math
import re
import unicodedata

__all__ = ["REWARDS", "GROUP_REWARDS", "trl_reward", "RewardInputError"]


class RewardInputError(ValueError):
    """A bad sample for a reward (no reference, an invalid pattern): the message says what to fix."""


# JavaScript's \s and String.prototype.trim() set. The lab's exact and steps rewards use it; Python's
# \s differs (it lacks U+FEFF and adds U+001C..U+001F and U+0085).
_JS_WS_CHARS = "\t\n\x0b\x0c\r \u00a0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_WS = "[" + "".join(re.escape(c) for c in _JS_WS_CHARS) + "]"
_JS_WS_RUN = re.compile(_JS_WS + "+")


def _js_trim(s):
    return s.strip(_JS_WS_CHARS)


def _text(completion):
    """A completion as text: the string itself, or the content of its last message."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    raise RewardInputError(f"a completion must be a string or a list of messages, got {type(completion).__name__}")


def _need_ref(reference, what):
    if reference is None:
        raise RewardInputError(f"{what}: the sample has no reference")
    return reference


# ---- exact (src/rewards/exact.ts) -----------------------------------------------------------------


def _extract_final(output):
    """src/tasks/index.ts extractFinal: the rest of the line after the LAST "####", trimmed; None without one."""
    at = output.rfind("####")
    if at < 0:
        return None
    return _js_trim(output[at + 4 :].split("\n")[0])


def _normalize_final(s):
    """lab eval's normalisation: whitespace runs -> one space, thousands commas dropped ("1,000" -> "1000")."""
    s = _JS_WS_RUN.sub(" ", s)
    return re.sub(r",(?=[0-9]{3}\b)", "", s, flags=re.ASCII)  # JavaScript's \d and \b are ASCII


def exact_final_answer(output):
    f = _extract_final(output)
    return None if f is None else _normalize_final(f)


def exact_reference_answer(reference):
    final = exact_final_answer(reference)
    if final is None:
        final = _normalize_final(_js_trim(reference))
    if final == "":
        raise RewardInputError(f"exact: the reference has no final answer: {json.dumps(reference[:80])}")
    return final


def exact_score(output, reference):
    """1 when the output's final answer equals the reference's (case ignored), else 0."""
    want = exact_reference_answer(_need_ref(reference, "exact"))
    got = exact_final_answer(output)
    return 1.0 if got is not None and got.lower() == want.lower() else 0.0


# ---- gsm8k (src/rewards/gsm8k.ts) -------------------------------------------------------------------

_HASH = re.compile(r"#### (-?[0-9.,]+)")
_ANSWER = re.compile(r"answer" + _JS_WS + r"*:" + _JS_WS + r"*\$?" + _JS_WS + r"*(-?[0-9][0-9,]*(?:\.[0-9]+)?)", re.IGNORECASE | re.ASCII)
_NUMBER = re.compile(r"-?[0-9][0-9,]*(?:\.[0-9]+)?")
_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


def _no_commas(s):
    return s.replace(",", "")


def official_gsm8k_answer(text):
    m = _HASH.search(text)
    return _no_commas(m.group(1).strip()) if m else None


def locate_gsm8k_answer(output):
    """(answer, how, index): the first "#### n", else the last "Answer: n", else the last number; (None, None, -1)."""
    m = _HASH.search(output)
    if m:
        return _no_commas(m.group(1).strip()), "hash", m.start()
    answers = list(_ANSWER.finditer(output))
    if answers:
        return _no_commas(answers[-1].group(1)), "answer", answers[-1].start()
    last = None
    for m in _NUMBER.finditer(output):
        start, s = m.start(), m.group(0)
        # a "-" is a sign only when it does not follow a letter or digit ("16-3" is 16 and 3)
        if s.startswith("-") and start > 0 and unicodedata.category(output[start - 1])[0] in "LN":
            start, s = start + 1, s[1:]
        last = (s, start)
    if last:
        return _no_commas(last[0]), "last-number", last[1]
    return None, None, -1


def gsm8k_reference_answer(reference):
    official = official_gsm8k_answer(reference)
    if official is not None:
        return official
    bare = _no_commas(reference.strip())
    if _DECIMAL.fullmatch(bare):
        return bare
    raise RewardInputError(f'gsm8k: the reference has no "#### <number>" line and is not a number: {json.dumps(reference[:80])}')


def gsm8k_answers_equal(a, b):
    """Numeric when both are decimal numbers ("18" = "18.0"), else string equality."""
    if _DECIMAL.fullmatch(a) and _DECIMAL.fullmatch(b):
        return float(a) == float(b)
    return a == b


def gsm8k_score(output, reference):
    want = gsm8k_reference_answer(_need_ref(reference, "gsm8k"))
    got = locate_gsm8k_answer(output)[0]
    return 1.0 if got is not None and gsm8k_answers_equal(got, want) else 0.0


# ---- gsm8k-format (src/rewards/gsm8k-format.ts: the GRPO GSM8K recipe's four rewards) ---------------

_STRICT = re.compile(r"^<reasoning>\n.*?\n</reasoning>\n<answer>\n.*?\n</answer>\n$", re.DOTALL)
_SOFT = re.compile(r"<reasoning>.*?</reasoning>\s*<answer>.*?</answer>", re.DOTALL)


def gsm8k_format_parts(output, reference):
    reference = _need_ref(reference, "gsm8k-format")
    answer = output.split("<answer>")[-1].split("</answer>")[0].strip()
    pieces = reference.split("####")
    want = (pieces[1] if len(pieces) > 1 else reference).strip()
    parts = {
        "correctness": 2.0 if answer == want else 0.0,
        "integer": 0.5 if answer.isdigit() else 0.0,
        "strict": 0.5 if _STRICT.match(output) else 0.0,
        "soft": 0.5 if _SOFT.match(output) else 0.0,
    }
    parts["total"] = parts["correctness"] + parts["integer"] + parts["strict"] + parts["soft"]
    return parts


# ---- chrF / chrF++ (src/rewards/chrf.ts: equal to sacrebleu's sentence score, 0-100) ----------------

_CHRF = {}


def _chrf_metric(word_order):
    if word_order not in _CHRF:
        try:
            from sacrebleu.metrics import CHRF  # imported here: only the chrF rewards need sacrebleu
        except ImportError as e:
            raise ImportError("the chrf and chrf++ rewards need sacrebleu: pip install sacrebleu (requirements.txt)") from e
        _CHRF[word_order] = CHRF(word_order=word_order)
    return _CHRF[word_order]


def chrf_score(output, reference, word_order=0):
    return float(_chrf_metric(word_order).sentence_score(output, [_need_ref(reference, "chrF++" if word_order else "chrF")]).score)


# ---- stoney-rubric (src/rewards/stoney-rubric.ts) ---------------------------------------------------


def rubric_normalize(s):
    """NFC, lower case, whitespace collapsed and trimmed."""
    return " ".join(unicodedata.normalize("NFC", s).lower().split())


def char_bag_f1(a, b):
    ca, cb = list("".join(a.split())), list("".join(b.split()))
    if not ca and not cb:
        return 1.0
    if not ca or not cb:
        return 0.0
    bag = {}
    for c in cb:
        bag[c] = bag.get(c, 0) + 1
    overlap = 0
    for c in ca:
        if bag.get(c, 0) > 0:
            overlap += 1
            bag[c] -= 1
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(ca), overlap / len(cb)
    return (2 * precision * recall) / (precision + recall)


def _hint_list(hints):
    # as the lab reads rl_task rows: hints count only as a list of strings
    if not isinstance(hints, (list, tuple)) or not all(isinstance(h, str) for h in hints):
        return []
    return list(hints)


def stoney_rubric_parts(output, reference, verification_pattern=None, hints=None):
    """total = 0.6 exact + 0.3 charF1 + 0.1 verification (pattern 1/0, else the share of hints found)."""
    reference = _need_ref(reference, "stoney-rubric")
    out, ref = rubric_normalize(output), rubric_normalize(reference)
    exact = 1.0 if out == ref else 0.0
    f1 = char_bag_f1(out, ref)
    pattern = verification_pattern if isinstance(verification_pattern, str) else ""
    if pattern != "":
        try:
            v = 1.0 if re.search(unicodedata.normalize("NFC", pattern), unicodedata.normalize("NFC", output)) else 0.0
        except re.error as e:
            raise RewardInputError(f"stoney-rubric: the verification_pattern {json.dumps(pattern)} is not a regular expression ({e})") from e
    else:
        hs = [h for h in (rubric_normalize(h) for h in _hint_list(hints)) if h != ""]
        v = None if not hs else sum(1 for h in hs if h in out) / len(hs)
    # in tenths, so that a perfect answer is exactly 1; no pattern and no hints: the other two keep their proportions
    total = (6 * exact + 3 * f1) / 9 if v is None else (6 * exact + 3 * f1 + 1 * v) / 10
    return {"exact": exact, "charF1": f1, "verification": v, "total": total}


# ---- steps (src/rewards/steps.ts) ---------------------------------------------------------------------

_STEP_LABEL = re.compile(r"^" + _JS_WS + r"*[A-Za-z][A-Za-z ]{0,30}:" + _JS_WS + r"+")
_STEP_SPLIT = re.compile(r"[,;]" + _JS_WS + r"+|\.(?=" + _JS_WS + r"|\Z)")


def step_clauses(text):
    at = text.rfind("####")
    reasoning = text if at < 0 else text[:at]
    out = []
    for line in reasoning.split("\n"):
        body = _STEP_LABEL.sub("", line, count=1)
        for part in _STEP_SPLIT.split(body):
            c = _js_trim(_JS_WS_RUN.sub(" ", part)).lower()
            if c:
                out.append(c)
    return out


def steps_score(output, reference):
    """F1 of the output's reasoning clauses against the reference's, in [0, 1]."""
    want = step_clauses(_need_ref(reference, "steps"))
    if not want:
        raise RewardInputError(f'steps: the reference has no worked steps before its "####": {json.dumps(reference[:80])}')
    got = step_clauses(output)
    if not got:
        return 0.0
    left = {}
    for c in want:
        left[c] = left.get(c, 0) + 1
    m = 0
    for c in got:
        if left.get(c, 0) > 0:
            m += 1
            left[c] -= 1
    return (2 * m) / (len(got) + len(want))


# ---- regime-w (src/rewards/regime-w.ts: a group reward, each trajectory against its group) ------------


def _median(xs):
    s = sorted(xs)
    m = len(s) >> 1
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def regime_w_scores(outputs, references):
    """One group's rewards: (correct ? 1 : -0.5) + 0.7 (0.4 s_end + 0.3 s_path + 0.3 * 0.5) - 0.001 max(0, words - 400)."""
    n = len(outputs)
    found = [locate_gsm8k_answer(o) for o in outputs]
    correct = [gsm8k_score(o, r) == 1 for o, r in zip(outputs, references)]
    words = [len(o.split()) for o in outputs]
    reasoning = [len(o[: f[2]].split()) if f[2] >= 0 else w for o, f, w in zip(outputs, found, words)]
    med = _median(reasoning) if n else 0
    out = []
    for i in range(n):
        a = found[i][0]
        agree = 0
        if a is not None:
            agree = sum(1 for j in range(n) if j != i and found[j][0] is not None and gsm8k_answers_equal(found[j][0], a))
        s_end = agree / (n - 1) if a is not None and n > 1 else 0
        s_path = math.exp(-abs(reasoning[i] - med) / max(med, 1))
        s_wm = 0.4 * s_end + 0.3 * s_path + 0.3 * 0.5  # 0.5: the original's placeholder counterfactual score
        out.append((1 if correct[i] else -0.5) + 0.7 * s_wm - 0.001 * max(0, words[i] - 400))
    return out


# ---- TRL's signature ---------------------------------------------------------------------------------


def _column(values, n, name):
    if values is None:
        return [None] * n
    values = list(values)
    if len(values) != n:
        raise RewardInputError(f'the "{name}" column has {len(values)} values for {n} completions')
    return values


def _per_sample(score):
    def reward(prompts, completions, reference=None, **kwargs):
        refs = _column(reference, len(completions), "reference")
        return [float(score(_text(c), r)) for c, r in zip(completions, refs)]

    return reward


def exact(prompts, completions, reference=None, **kwargs):
    return _per_sample(exact_score)(prompts, completions, reference)


def gsm8k(prompts, completions, reference=None, **kwargs):
    return _per_sample(gsm8k_score)(prompts, completions, reference)


def gsm8k_format(prompts, completions, reference=None, **kwargs):
    return _per_sample(lambda o, r: gsm8k_format_parts(o, r)["total"])(prompts, completions, reference)


def chrf(prompts, completions, reference=None, **kwargs):
    return _per_sample(lambda o, r: chrf_score(o, r, 0))(prompts, completions, reference)


def chrf_plus_plus(prompts, completions, reference=None, **kwargs):
    return _per_sample(lambda o, r: chrf_score(o, r, 2))(prompts, completions, reference)


def steps(prompts, completions, reference=None, **kwargs):
    return _per_sample(steps_score)(prompts, completions, reference)


def stoney_rubric(prompts, completions, reference=None, verification_pattern=None, hints=None, **kwargs):
    n = len(completions)
    refs, pats, hs = _column(reference, n, "reference"), _column(verification_pattern, n, "verification_pattern"), _column(hints, n, "hints")
    return [stoney_rubric_parts(_text(c), r, p, h)["total"] for c, r, p, h in zip(completions, refs, pats, hs)]


def regime_w(prompts, completions, reference=None, group_size=None, **kwargs):
    """Groups are runs of equal prompts (TRL puts a prompt's G completions next to each other), at most group_size long."""
    n = len(completions)
    refs = _column(reference, n, "reference")
    keys = [json.dumps(p, sort_keys=True, ensure_ascii=False, default=str) for p in _column(prompts, n, "prompts")]
    out, i = [], 0
    while i < n:
        j = i + 1
        while j < n and keys[j] == keys[i] and (group_size is None or j - i < group_size):
            j += 1
        out.extend(regime_w_scores([_text(c) for c in completions[i:j]], refs[i:j]))
        i = j
    return out


# The lab's names (lab grpo --reward name:weight) -> the reward functions.
REWARDS = {
    "exact": exact,
    "gsm8k": gsm8k,
    "gsm8k-format": gsm8k_format,
    "chrf": chrf,
    "chrf++": chrf_plus_plus,
    "stoney-rubric": stoney_rubric,
    "steps": steps,
    "regime-w": regime_w,
}
# Rewards that score each trajectory against the others of its group.
GROUP_REWARDS = {"regime-w"}


def trl_reward(name, group_size=None):
    """The reward named as the lab names it, for GRPOTrainer(reward_funcs=[...]); TRL logs it under that name."""
    if name not in REWARDS:
        raise KeyError(f"no reward {name!r} in rewards.py (rewards: {', '.join(REWARDS)})")
    fn = REWARDS[name]

    def reward(prompts, completions, **kwargs):
        if name in GROUP_REWARDS:
            kwargs["group_size"] = group_size
        return fn(prompts, completions, **kwargs)

    reward.__name__ = name
    return reward
`;
