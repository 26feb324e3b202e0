#!/usr/bin/env python3
"""GRPO objective fixtures (issue 11, item 2): the loss on given numbers, in numpy float64, written from the
issue's formulas (vectorised over [G, T]; not a translation of src/engine/rl/objective.ts).

Run anywhere with numpy (no torch, no GPU; deterministic):
    python3 tools/golden/make_rl_fixtures.py --out models/fixtures/rl/objective.json

Formulas (G completions of one prompt x T completion positions; mask[G, T] in {0, 1}, >= 1 per row):
  advantages   A = (r - mean(r)) / (std(r, ddof=1) + 1e-4)      scale_rewards "group" (the unbiased std)
               A = r - mean(r)                                  scale_rewards "none"
  ratio        rho = exp(logp - old_logp)
  surrogate    s = min(rho * A, clip(rho, 1 - eps, 1 + eps_high) * A)
  k3           k3 = exp(ref - logp) - (ref - logp) - 1
  per token    l = -s + beta * k3
  grpo         mean over rows of (sum_t l * mask / sum_t mask)              -> loss_sequence_mean
  dapo         sum(l * mask) / sum(mask)                                    -> loss_token_mean
  dr_grpo      sum(l * mask) / (G * max_completion_length)                  -> loss_dr_grpo
               (TRL: per_token_loss.size(0) * args.max_completion_length; here max_completion_length = T)
  gradients    d loss / d logp. d s / d logp = rho * A where the unclipped term is the minimum (ties
               included: inside the clip range both terms are equal and move together), 0 where the clipped
               term is strictly smaller (it is then a constant); d k3 / d logp = 1 - exp(ref - logp).
               Each normalisation scales the per-token derivative by its token weight.
  metrics      kl_mean = masked mean of k3; clip_frac_low / clip_frac_high = share of masked tokens with
               rho < 1 - eps and A < 0 / rho > 1 + eps_high and A > 0 (where the clipped term wins).

objective.json: {"schema": "rl-objective-v1", "script", "numpy", "cases": [{"name", "what",
  "inputs": {the `lab rl-loss` input: "logp", "old_logp", "ref_logp", "mask" [G][T], "rewards" [G], "epsilon",
             "beta", "epsilon_high", "scale_rewards"},
  "max_completion_length",
  "expected": {"advantages" [G], "loss_sequence_mean", "loss_token_mean", "loss_dr_grpo",
               "grad_logp" [G][T] (grpo), "grad_logp_dapo", "grad_logp_dr_grpo", "kl_mean",
               "clip_frac_low", "clip_frac_high"}}]}
Inputs are rounded to 6 decimals (exactly the float64 both sides parse); expected values are Python's repr
(shortest round-trip), so the TS side compares float64 with float64.
"""
import argparse
import json
import sys

import numpy as np


def advantages(rewards, scale):
    r = np.asarray(rewards, dtype=np.float64)
    centred = r - r.mean()
    if scale == "none":
        return centred
    return centred / (r.std(ddof=1) + 1e-4)


def objective(logp, old, ref, mask, adv, eps, eps_high, beta, max_len):
    G, T = logp.shape
    A = adv[:, None]  # [G, 1]
    rho = np.exp(logp - old)  # [G, T]
    clipped_rho = np.clip(rho, 1 - eps, 1 + eps_high)
    unclipped_term, clipped_term = rho * A, clipped_rho * A
    surrogate = np.minimum(unclipped_term, clipped_term)
    d = ref - logp
    k3 = np.exp(d) - d - 1
    per_tok = -surrogate + beta * k3  # [G, T]
    # derivative of each token's loss with respect to its own logp
    clipped_wins = clipped_term < unclipped_term
    d_tok = np.where(clipped_wins, 0.0, -rho * A) + beta * (1 - np.exp(d))

    n_row = mask.sum(axis=1)  # [G]
    n_all = mask.sum()
    loss_grpo = np.mean((per_tok * mask).sum(axis=1) / n_row)
    loss_dapo = (per_tok * mask).sum() / n_all
    loss_dr = (per_tok * mask).sum() / (G * max_len)
    grad_grpo = d_tok * mask / (G * n_row[:, None])
    grad_dapo = d_tok * mask / n_all
    grad_dr = d_tok * mask / (G * max_len)

    low = (rho < 1 - eps) & (A < 0) & (mask > 0)
    high = (rho > 1 + eps_high) & (A > 0) & (mask > 0)
    return {
        "loss_sequence_mean": float(loss_grpo),
        "loss_token_mean": float(loss_dapo),
        "loss_dr_grpo": float(loss_dr),
        "grad_logp": grad_grpo,
        "grad_logp_dapo": grad_dapo,
        "grad_logp_dr_grpo": grad_dr,
        "kl_mean": float((k3 * mask).sum() / n_all),
        "clip_frac_low": float(low.sum() / n_all),
        "clip_frac_high": float(high.sum() / n_all),
    }


def random_mask(rng, G, T, kind):
    """kind 'prefix': each row a completion of length 1..T (row 0 of full length T, row 1 of length 1);
    'holes': random 0/1 (tool-output holes) with at least one 1 per row."""
    if kind == "prefix":
        lengths = rng.integers(1, T + 1, size=G)
        lengths[0], lengths[1] = T, 1
        return (np.arange(T)[None, :] < lengths[:, None]).astype(np.float64)
    m = (rng.random((G, T)) < 0.6).astype(np.float64)
    for g in range(G):
        if m[g].sum() == 0:
            m[g, rng.integers(0, T)] = 1.0
    return m


def make_case(name, what, seed, G, T, eps, beta, eps_high=None, scale="group", mask_kind="prefix",
              ratio_std=0.25, rewards="binary", on_policy=False):
    rng = np.random.default_rng(seed)
    r6 = lambda a: np.round(a, 6)
    logp = r6(-rng.gamma(2.0, 1.0, size=(G, T)))  # log-probs of sampled tokens, all < 0
    old = logp.copy() if on_policy else r6(logp + rng.normal(0.0, ratio_std, size=(G, T)))
    ref = r6(logp + rng.normal(0.0, 0.3, size=(G, T)))
    mask = random_mask(rng, G, T, mask_kind)
    if rewards == "binary":
        rw = rng.integers(0, 2, size=G).astype(np.float64)
        rw[0], rw[1] = 0.0, 1.0  # never all equal
    elif rewards == "equal":
        rw = np.full(G, 1.0)
    else:
        rw = r6(rng.normal(0.5, 1.0, size=G))
    e_hi = eps if eps_high is None else eps_high
    adv = advantages(rw, scale)
    out = objective(logp, old, ref, mask, adv, eps, e_hi, beta, T)
    inputs = {"logp": logp.tolist(), "old_logp": old.tolist(), "ref_logp": ref.tolist(),
              "mask": mask.astype(int).tolist(), "rewards": rw.tolist(), "epsilon": eps, "beta": beta,
              "epsilon_high": e_hi, "scale_rewards": scale}
    expected = {"advantages": adv.tolist(), **{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}}
    return {"name": name, "what": what, "max_completion_length": T, "inputs": inputs, "expected": expected}


CASES = [
    dict(name="basic", what="G 4, T 8, prefix masks, binary rewards, eps 0.2, beta 0", seed=1, G=4, T=8, eps=0.2, beta=0.0),
    dict(name="g2_minimal", what="G 2, T 3, rows of 3 and 1 tokens", seed=2, G=2, T=3, eps=0.2, beta=0.0),
    dict(name="beta_kl", what="G 8, T 12, beta 0.1, continuous rewards, holes in masks", seed=3, G=8, T=12, eps=0.2, beta=0.1,
         mask_kind="holes", rewards="normal"),
    dict(name="clip_higher", what="G 6, T 10, eps 0.2, eps_high 0.28 (DAPO), wide ratios, beta 0.1", seed=4, G=6, T=10, eps=0.2,
         eps_high=0.28, beta=0.1, ratio_std=0.4, rewards="normal"),
    dict(name="equal_rewards", what="G 5, T 7, all rewards 1: advantages 0, loss = beta * KL only", seed=5, G=5, T=7, eps=0.2,
         beta=0.1, rewards="equal"),
    dict(name="no_std_scaling", what="G 16, T 12, scale_rewards none, continuous rewards", seed=6, G=16, T=12, eps=0.2, beta=0.0,
         scale="none", rewards="normal", mask_kind="holes"),
    dict(name="g16_wide", what="G 16, T 12, eps 0.1, eps_high 0.3, ratio std 0.5, beta 0.1", seed=7, G=16, T=12, eps=0.1,
         eps_high=0.3, beta=0.1, ratio_std=0.5),
    dict(name="on_policy", what="G 8, T 6, old_logp = logp (ratio 1, the first iteration), beta 0.1", seed=8, G=8, T=6, eps=0.2,
         beta=0.1, on_policy=True),
]


def self_check(cases):
    """A few facts the fixture must show, so a wrong generator fails here rather than in the TS test."""
    problems = []
    by = {c["name"]: c for c in cases}
    if any(a != 0.0 for a in by["equal_rewards"]["expected"]["advantages"]):
        problems.append("equal_rewards: advantages not all 0")
    if not any(c["expected"]["clip_frac_low"] > 0 for c in cases) or not any(c["expected"]["clip_frac_high"] > 0 for c in cases):
        problems.append("no case exercises both low and high clipping")
    for c in cases:
        if any(sum(row) == 0 for row in c["inputs"]["mask"]):
            problems.append(f"{c['name']}: a row with no token")
    # finite differences of the grpo loss on one case
    c = by["beta_kl"]
    i = c["inputs"]
    arr = lambda k: np.array(i[k], dtype=np.float64)
    adv = np.array(c["expected"]["advantages"])
    base = arr("logp")
    g = np.array(c["expected"]["grad_logp"])
    h = 1e-6
    worst = 0.0
    for (a, b) in [(0, 0), (1, 2), (3, 1), (7, 0)]:
        lp, lm = base.copy(), base.copy()
        lp[a, b] += h
        lm[a, b] -= h
        f = lambda x: objective(x, arr("old_logp"), arr("ref_logp"), arr("mask"), adv, i["epsilon"], i["epsilon_high"], i["beta"], len(base[0]))["loss_sequence_mean"]
        worst = max(worst, abs((f(lp) - f(lm)) / (2 * h) - g[a, b]))
    if worst > 1e-7:
        problems.append(f"finite differences off by {worst}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    cases = [make_case(**c) for c in CASES]
    problems = self_check(cases)
    doc = {"schema": "rl-objective-v1", "script": "tools/golden/make_rl_fixtures.py", "numpy": np.__version__, "cases": cases}
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False)
    with open(args.out, "w") as f:
        f.write(text + "\n")
    for c in cases:
        e = c["expected"]
        print(f"{c['name']:15s} G {len(c['inputs']['rewards']):2d} T {c['max_completion_length']:2d}  grpo {e['loss_sequence_mean']: .6e}  "
              f"dapo {e['loss_token_mean']: .6e}  dr_grpo {e['loss_dr_grpo']: .6e}  kl {e['kl_mean']:.4f}  "
              f"clip low {e['clip_frac_low']:.3f} high {e['clip_frac_high']:.3f}", file=sys.stderr)
    print(f"wrote {args.out} ({len(text)} bytes, {len(cases)} cases)", file=sys.stderr)
    for p in problems:
        print(f"PROBLEM {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
