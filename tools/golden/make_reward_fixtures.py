#!/usr/bin/env python3
"""Reward parity fixtures for src/rewards/: sacrebleu's chrF / chrF++ scores on synthetic pairs (chrf.json),
and the GRPO GSM8K recipe's four format rewards computed by Python's re (gsm8k_format.json).

    pip install sacrebleu            # (from the local wheelhouse; numpy is not needed for these calls)
    python3 tools/golden/make_reward_fixtures.py [--out-dir models/fixtures/rewards]

Writes {"schema": "reward-chrf-v1", "sacrebleu": <version>, "python": <version>, "metrics": {name: args},
"pairs": [{"id", "hyp", "ref", "chrf", "chrfpp", "chrf_eps"}], "corpus": {"chrf", "chrfpp", "chrf_eps"},
"multi_ref": [{"id", "hyp", "refs", "chrf", "chrfpp"}]}: sentence_score(hyp, [ref]).score for every pair and
corpus_score(all hyps, [all refs]).score, for CHRF() (chrf), CHRF(word_order=2) (chrfpp) and
CHRF(eps_smoothing=True) (chrf_eps); multi_ref: sentence_score(hyp, refs) with several references.

gsm8k_format.json {"schema": "reward-gsm8k-format-v1", "python", "cases": [{"id", "output", "reference",
"correctness", "integer", "strict", "soft"}]}: the recipe's functions as written below (Python re, str.split,
str.strip, str.isdigit), with re.DOTALL on both format checks (src/rewards/gsm8k-format.ts says why).

Every string is SYNTHETIC, written here: English-like sentences and invented syllables in a Stoney-like
orthography (â î û ṯ ẖ ʼ and combining marks). No text from shared/data (Stoney data never enters the repo).
Floats are written by json (repr: the shortest decimal that parses back to the same double).
"""
import argparse
import json
import os
import random
import re
import sys
import unicodedata

import sacrebleu
from sacrebleu.metrics import CHRF

SYLLABLES = ['tâ', 'ṯî', 'ẖû', 'kʼa', 'mî', 'nû', 'sâ', 'wa', 'ya', 'hâ', 'ṯe', 'ẖo', 'pʼi', 'gâ', 'îẖ', 'ûṯ']


def invented_words(rng: random.Random, n: int) -> list:
    """n invented words of 1-4 syllables (not words of any language, chosen by a seeded RNG)."""
    return [''.join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(n)]


def pairs() -> list:
    rng = random.Random(11)
    long_ref_words = invented_words(rng, 120)
    long_hyp_words = list(long_ref_words)
    for i in rng.sample(range(len(long_hyp_words)), 30):  # edit a quarter of the words
        long_hyp_words[i] = invented_words(rng, 1)[0]
    nfc = 'tâ ṯî ẖû kʼa'
    nfd = unicodedata.normalize('NFD', nfc)
    assert nfd != nfc
    p = [
        # empty strings
        ('empty-both', '', ''),
        ('empty-hyp', '', 'the cat sat on the mat'),
        ('empty-ref', 'the cat sat on the mat', ''),
        ('space-only-hyp', '   ', 'a b c'),
        # identical and near-identical
        ('identical', 'the cat sat on the mat', 'the cat sat on the mat'),
        ('one-word-off', 'the cat sat on a mat', 'the cat sat on the mat'),
        ('reordered', 'on the mat the cat sat', 'the cat sat on the mat'),
        ('unrelated', 'quantum flux capacitors', 'the cat sat on the mat'),
        ('single-char', 'a', 'a'),
        ('single-char-diff', 'a', 'b'),
        ('short-vs-long', 'cat', 'the cat sat on the mat with another cat'),
        ('case-differs', 'The Cat Sat', 'the cat sat'),
        # punctuation (chrF++ splits one mark off a token's end, else its start)
        ('punct-end', 'Hello, world!', 'Hello world'),
        ('punct-start', '(hello) "world"', 'hello world'),
        ('punct-both', '(hi) ...and... "so" on.', 'hi and so on'),
        ('punct-only', '!!! ?? .', '! ? .'),
        ('punct-single-tokens', ', . ; :', ', . ; :'),
        ('apostrophes', "it's the dog's bone", "its the dogs bone"),
        # repeated words (clipped counts)
        ('repeated-hyp', 'the the the the the the', 'the cat sat on the mat'),
        ('repeated-both', 'na na na na hey', 'na na hey hey hey'),
        ('repeated-ref', 'go', 'go go go go'),
        # whitespace: tabs, newlines, Python-only whitespace (U+001C, U+0085), U+3000, U+FEFF (not Python whitespace)
        ('whitespace-mixed', 'the\tcat\nsat  on\r\nthe mat', 'the cat sat on the mat'),
        ('whitespace-python-only', 'the\x1ccat\x85sat', 'the cat sat'),
        ('whitespace-ideographic', 'the\u3000cat sat', 'the cat\u2003sat'),
        ('bom-not-whitespace', 'the\ufeffcat sat', 'the cat sat'),
        # numbers
        ('numbers', 'It costs $1,200.50 in 2024.', 'It costs 1200.50 dollars in 2024'),
        # non-ASCII orthography (invented syllables)
        ('ortho-identical', 'tâṯî ẖûkʼa mînû', 'tâṯî ẖûkʼa mînû'),
        ('ortho-diacritic-dropped', 'tati hukʼa minu', 'tâṯî ẖûkʼa mînû'),
        ('ortho-glottal-variants', "kʼa pʼi kʼaṯe", "k'a p'i k'aṯe"),
        ('ortho-partial', 'sâwa yahâ ṯeẖo', 'sâwa yaha ṯeẖo gâîẖ'),
        ('ortho-nfc-vs-nfd', nfc, nfd),
        ('ortho-nfd-both', nfd, nfd),
        ('ortho-combining-alone', 'a\u0302 i\u0302', '\u0302\u0302 ai'),
        ('ortho-punct', 'ẖû, tâ! (kʼa)', 'ẖû tâ kʼa'),
        ('ortho-uppercase', 'TÂṮÎ ẖû', 'tâṯî ẖû'),
        ('astral', '𝒜𝒷𝒸 abc', '𝒜𝒷 abc'),
        ('emoji-zwj', 'fam 👨\u200d👩\u200d👧 ok', 'fam 👨\u200d👩 ok'),
        # long strings
        ('long-invented', ' '.join(long_hyp_words), ' '.join(long_ref_words)),
        ('long-english', ' '.join(['the quick brown fox jumps over the lazy dog'] * 12),
         ' '.join(['a quick brown fox leaps over a lazy dog'] * 12)),
        ('long-vs-short', ' '.join(long_ref_words), 'tâ'),
    ]
    return [{'id': i, 'hyp': h, 'ref': r} for i, h, r in p]


MULTI_REF = [
    ('multi-best-second', 'the cat sat on the mat', ['a dog ran', 'the cat sat on a mat']),
    ('multi-tie-first', 'abc', ['abd', 'abd']),
    ('multi-empty-first', 'tâṯî ẖû', ['', 'tâṯî ẖû']),
    ('multi-ortho', 'sâwa ṯeẖo', ['sawa teho', 'sâwa ṯeẖo gâ', 'ṯeẖo sâwa']),
]


# The GRPO GSM8K recipe's reward functions, one completion at a time.
STRICT = r"^<reasoning>\n.*?\n</reasoning>\n<answer>\n.*?\n</answer>\n$"
SOFT = r"<reasoning>.*?</reasoning>\s*<answer>.*?</answer>"


def extract_xml_answer(text: str) -> str:
    return text.split("<answer>")[-1].split("</answer>")[0].strip()


def extract_hash_answer(text: str) -> str:
    return (text.split("####")[1] if "####" in text else text).strip()


def format_rewards(output: str, reference: str) -> dict:
    ans = extract_xml_answer(output)
    return {
        'correctness': 2.0 if ans == extract_hash_answer(reference) else 0.0,
        'integer': 0.5 if ans.isdigit() else 0.0,
        'strict': 0.5 if re.match(STRICT, output, flags=re.DOTALL) else 0.0,
        'soft': 0.5 if re.match(SOFT, output, flags=re.DOTALL) else 0.0,
    }


FORMAT_CASES = [
    ('perfect', '<reasoning>\n3 + 4 = 7\n</reasoning>\n<answer>\n7\n</answer>\n', 'Add them: 3+4=<<3+4=7>>7\n#### 7'),
    ('perfect-multiline', '<reasoning>\nfirst 2*3=6\nthen 6+1=7\n</reasoning>\n<answer>\n7\n</answer>\n', '7'),
    ('extra-trailing-newline', '<reasoning>\nr\n</reasoning>\n<answer>\n7\n</answer>\n\n', '7'),
    ('two-trailing-newlines-more', '<reasoning>\nr\n</reasoning>\n<answer>\n7\n</answer>\n\n\n', '7'),
    ('no-final-newline', '<reasoning>\nr\n</reasoning>\n<answer>\n7\n</answer>', '7'),
    ('inline-tags', '<reasoning>r</reasoning> <answer>7</answer>', '7'),
    ('soft-with-tail', '<reasoning>r</reasoning>\n\n<answer>7</answer> and more text', '7'),
    ('leading-text', 'Sure! <reasoning>r</reasoning><answer>7</answer>', '7'),
    ('no-tags', 'The answer is 7', '7'),
    ('bare-digits', '7', '7'),
    ('wrong-answer', '<reasoning>\nr\n</reasoning>\n<answer>\n8\n</answer>\n', '#### 7'),
    ('decimal-answer', '<reasoning>\nr\n</reasoning>\n<answer>\n7.0\n</answer>\n', '7'),
    ('negative-answer', '<reasoning>\nr\n</reasoning>\n<answer>\n-3\n</answer>\n', '#### -3'),
    ('comma-answer', '<answer>1,000</answer>', '#### 1,000'),
    ('two-answers-last-wins', '<answer>5</answer> then <answer>7</answer>', '7'),
    ('unclosed-answer', '<reasoning>r</reasoning><answer> 7 ', '7'),
    ('superscript-digit', '<answer>²</answer>', '2'),
    ('arabic-indic-digits', '<answer>\u0667</answer>', '7'),
    ('unicode-space-strip', '<answer>\u30007\u00a0</answer>', '#### 7\u2003'),
    ('python-space-1c', '<reasoning>r</reasoning>\x1c<answer>7</answer>', '7'),
    ('bom-not-space', '<reasoning>r</reasoning>\ufeff<answer>7</answer>', '7'),
    ('hash-two-markers', '<answer>7</answer>', 'a #### 7 #### 9'),
    ('empty-output', '', '7'),
    ('orthography-answer', '<reasoning>\ntâ ṯî\n</reasoning>\n<answer>\nẖûkʼa\n</answer>\n', 'ẖûkʼa'),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--out-dir', default='models/fixtures/rewards')
    args = ap.parse_args()
    fcases = [{'id': i, 'output': o, 'reference': r, **format_rewards(o, r)} for i, o, r in FORMAT_CASES]
    fdoc = {'schema': 'reward-gsm8k-format-v1', 'script': 'tools/golden/make_reward_fixtures.py',
            'python': sys.version.split()[0], 'synthetic': True, 'strict': STRICT, 'soft': SOFT, 'flags': 'DOTALL',
            'cases': fcases}
    with open(os.path.join(args.out_dir, 'gsm8k_format.json'), 'w', encoding='utf-8') as f:
        json.dump(fdoc, f, ensure_ascii=False, indent=1)
        f.write('\n')
    metrics = {'chrf': {}, 'chrfpp': {'word_order': 2}, 'chrf_eps': {'eps_smoothing': True}}
    scorers = {k: CHRF(**v) for k, v in metrics.items()}
    ps = pairs()
    assert len({p['id'] for p in ps}) == len(ps)
    for p in ps:
        for k, m in scorers.items():
            p[k] = m.sentence_score(p['hyp'], [p['ref']]).score
    hyps, refs = [p['hyp'] for p in ps], [p['ref'] for p in ps]
    corpus = {k: m.corpus_score(hyps, [refs]).score for k, m in scorers.items()}
    signatures = {k: str(m.get_signature()) for k, m in scorers.items()}  # before the multi-reference calls
    multi = []
    for i, h, rs in MULTI_REF:
        multi.append({'id': i, 'hyp': h, 'refs': rs, 'chrf': scorers['chrf'].sentence_score(h, rs).score,
                      'chrfpp': scorers['chrfpp'].sentence_score(h, rs).score})
    doc = {
        'schema': 'reward-chrf-v1',
        'script': 'tools/golden/make_reward_fixtures.py',
        'sacrebleu': sacrebleu.__version__,
        'python': sys.version.split()[0],
        'signatures': signatures,
        'metrics': metrics,
        'synthetic': True,
        'pairs': ps,
        'corpus': corpus,
        'multi_ref': multi,
    }
    out = os.path.join(args.out_dir, 'chrf.json')
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write('\n')
    print(f'gsm8k_format.json: {len(fcases)} cases')
    print(f'{out}: {len(ps)} pairs, {len(multi)} multi-reference cases, sacrebleu {sacrebleu.__version__}; corpus {corpus}')


if __name__ == '__main__':
    main()
