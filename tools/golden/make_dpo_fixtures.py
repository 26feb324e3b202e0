#!/usr/bin/env python3
"""DPO loss fixtures (issue 11, item 4): TRL's sigmoid DPO loss on given summed log-probs, in numpy float64
(default), or from TRL's own code in torch float64 (--trl).

Default mode, anywhere with numpy (no torch, no TRL, no GPU; deterministic):
    python3 tools/golden/make_dpo_fixtures.py --out models/fixtures/rl/dpo.json

--trl mode, on a machine with torch and TRL installed (the GPU machine, with the trl/datasets/dill/multiprocess
wheels carried and installed with pip --no-deps; written against the source of TRL v0.28.0 and of TRL main at
f2cd5771, see below; run with TRL 1.13.0 and torch 2.11 on 2026-12-05 to make the committed dpo-trl.json):
    python3 tools/golden/make_dpo_fixtures.py --trl --out models/fixtures/rl/dpo-trl.json
It feeds the same inputs (the same seeds) to TRL as torch float64 tensors and writes the same format.
  * TRL <= 0.28 has `DPOTrainer.dpo_loss(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
    loss_type)`: it is called unbound on a stub `self` (beta, label_smoothing, reference_free False,
    f_divergence_type "reverse_kl", accelerator.device cpu); the loss is losses.mean() and its gradient
    comes from torch.autograd; accuracy and margin as TRL's get_batch_loss_metrics computes them.
  * TRL >= 0.29 ("Refactor DPO", #3906) has no dpo_loss: the loss is inline in `DPOTrainer._compute_loss`.
    It is called unbound on a stub `self` with precompute_ref_log_probs (the reference sums come in the
    inputs), a stub model returning zero logits, and `selective_log_softmax` in TRL's module replaced by a
    function returning the given policy sums as the one completion token's log-prob (a clone of a leaf
    tensor, so autograd gives d loss / d sum exactly). Per-pair losses come from one-pair batches; the
    rewards, accuracy and margin from TRL's own metrics (self._metrics). TRL 1.13.0 (the wheel carried to the GPU
    machine in the session that first ran --trl) keeps this _compute_loss and adds `self._tp_size` to the stub.
  The output records which path ran, TRL's version, and whether TRL's "sigmoid" loss used label_smoothing
  (measured: the same inputs with label smoothing 0.1 and 0). TRL >= 0.29 ignores label_smoothing in
  "sigmoid" (it only enters "robust" and "exo_pair"), so for those cases dpo.test.ts compares TRL with the
  lab's loss at label smoothing 0 and says so.

The formula (TRL v0.28.0, commit 49ef33428c47235991acb4e185ea599b70c6dab4, trl/trainer/dpo_trainer.py,
DPOTrainer.dpo_loss, loss_type "sigmoid", f_divergence_type reverse_kl, reference_free False):
  logits      z = (pi_c - pi_r) - (ref_c - ref_r)         pi, ref: completion log-probs summed per sequence
  losses      l = -logsigmoid(beta z) (1 - ls) - logsigmoid(-beta z) ls      ls = label_smoothing (cDPO)
  loss        mean over the P pairs of l
  rewards     chosen_rewards = beta (pi_c - ref_c), rejected_rewards = beta (pi_r - ref_r)
  metrics     rewards_chosen / rewards_rejected = their means; accuracy = mean(chosen_rewards > rejected_rewards)
              (strict: a tie is not counted); margin = mean(chosen_rewards - rejected_rewards)
  gradients   (written out here, not by autograd) d l / d(beta z) = -(1 - ls) sigmoid(-beta z) + ls sigmoid(beta z);
              d loss / d pi_c = beta d l/d(beta z) / P, d loss / d pi_r = -beta d l/d(beta z) / P.
TRL main (f2cd57710ae345ea6428ae95363267fcf38a3dc8, _compute_loss) computes the same with ls = 0:
per_sequence_loss = -logsigmoid(beta * delta_score), delta_score = chosen_logratios - rejected_logratios.
logsigmoid(x) = -logaddexp(0, -x), stable for |x| in the thousands (torch's log_sigmoid is min(x, 0) - log1p(exp(-|x|))).

dpo.json: {"schema": "rl-dpo-v1", "script", "numpy", "source": {...}, "cases": [{"name", "what",
  "inputs": {"policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected" [P], "beta", "label_smoothing"},
  "expected": {"loss", "losses" [P], "logits" [P] (z, before beta), "grad_policy_chosen" [P], "grad_policy_rejected" [P],
               "rewards_chosen", "rewards_rejected", "accuracy", "margin"}}]}
Inputs are rounded to 6 decimals (exactly the float64 both sides parse); expected values are Python's repr
(shortest round-trip), so the TS side compares float64 with float64.
"""
import argparse
import json
import sys

import numpy as np

TRL_V028 = "49ef33428c47235991acb4e185ea599b70c6dab4"
TRL_MAIN = "f2cd57710ae345ea6428ae95363267fcf38a3dc8"


def logsigmoid(x):
    return -np.logaddexp(0.0, -x)


def dpo_numpy(pc, pr, rc, rr, beta, ls):
    """TRL's sigmoid DPO loss (v0.28.0 dpo_loss) and its gradient, float64, [P] arrays in."""
    P = len(pc)
    z = (pc - pr) - (rc - rr)  # [P]
    bz = beta * z
    losses = -logsigmoid(bz) * (1 - ls) - logsigmoid(-bz) * ls  # [P]
    dl_dbz = -(1 - ls) * np.exp(logsigmoid(-bz)) + ls * np.exp(logsigmoid(bz))  # [P]
    cr, rj = beta * (pc - rc), beta * (pr - rr)
    return {
        "loss": float(losses.mean()),
        "losses": losses,
        "logits": z,
        "grad_policy_chosen": beta * dl_dbz / P,
        "grad_policy_rejected": -beta * dl_dbz / P,
        "rewards_chosen": float(cr.mean()),
        "rewards_rejected": float(rj.mean()),
        "accuracy": float((cr > rj).mean()),
        "margin": float((cr - rj).mean()),
    }


def random_inputs(seed, P):
    """Summed completion log-probs of P pairs: the reference's about -(2..40), the policy's within a few nats of it."""
    rng = np.random.default_rng(seed)
    r6 = lambda a: np.round(a, 6)
    rc = r6(-rng.gamma(2.0, 8.0, size=P) - 0.5)
    rr = r6(-rng.gamma(2.0, 8.0, size=P) - 0.5)
    pc = r6(np.minimum(rc + rng.normal(0.0, 3.0, size=P), -1e-3))
    pr = r6(np.minimum(rr + rng.normal(0.0, 3.0, size=P), -1e-3))
    return pc, pr, rc, rr


def edge_inputs():
    """Pairs built to fail a careless implementation: z = 0 (policy = reference), chosen = rejected, beta z of
    about +-800 (a naive log(sigmoid) gives -inf / log(0)), a tie of the rewards (not counted as accurate),
    a tiny z, long sequences (sums in the thousands)."""
    pc = [-12.5, -7.25, -3000.0, -1000.0, -40.0, -9.0, -2500.123456]
    pr = [-20.0, -7.25, -1400.0, -2600.0, -40.000001, -9.5, -2600.654321]
    rc = [-12.5, -8.0, -1400.0, -1400.0, -40.0, -9.25, -2480.0]
    rr = [-20.0, -8.0, -1400.0, -1400.0, -40.0, -9.75, -2590.5]
    return tuple(np.array(v, dtype=np.float64) for v in (pc, pr, rc, rr))


CASES = [
    dict(name="b01", what="P 6, beta 0.1, label smoothing 0 (TRL's defaults)", seed=11, P=6, beta=0.1, ls=0.0),
    dict(name="b01_ls", what="P 6, beta 0.1, label smoothing 0.1 (cDPO)", seed=12, P=6, beta=0.1, ls=0.1),
    dict(name="b05", what="P 5, beta 0.5, label smoothing 0", seed=13, P=5, beta=0.5, ls=0.0),
    dict(name="b05_ls", what="P 5, beta 0.5, label smoothing 0.1", seed=14, P=5, beta=0.5, ls=0.1),
    dict(name="single", what="P 1, beta 0.1, label smoothing 0", seed=15, P=1, beta=0.1, ls=0.0),
    dict(name="edges", what="P 7 edge pairs (z 0, chosen = rejected, beta z +-800, a reward tie, tiny z), beta 0.5, ls 0.1",
         seed=None, P=7, beta=0.5, ls=0.1),
    dict(name="edges_ls0", what="the edge pairs at beta 0.1, label smoothing 0", seed=None, P=7, beta=0.1, ls=0.0),
]


def case_inputs(c):
    return edge_inputs() if c["seed"] is None else random_inputs(c["seed"], c["P"])


def to_json(c, out):
    pc, pr, rc, rr = case_inputs(c)
    inputs = {"policy_chosen": pc.tolist(), "policy_rejected": pr.tolist(), "ref_chosen": rc.tolist(),
              "ref_rejected": rr.tolist(), "beta": c["beta"], "label_smoothing": c["ls"]}
    expected = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}
    return {"name": c["name"], "what": c["what"], "inputs": inputs, "expected": expected}


def self_check(cases):
    """Facts the fixture must show, so a wrong generator fails here rather than in the TS test."""
    problems = []
    for c in cases:
        e = c["expected"]
        if not all(np.isfinite(e["losses"])) or not np.isfinite(e["loss"]):
            problems.append(f"{c['name']}: a non-finite loss")
    # edges at beta 0.5, ls 0.1: pair 2 has beta z = -800 (loss 0.9 * 800), pair 3 beta z = +800 (loss 0.1 * 800)
    edges = next(c for c in cases if c["name"] == "edges")["expected"]["losses"]
    if abs(edges[2] - 720.0) > 1e-9 or abs(edges[3] - 80.0) > 1e-9:
        problems.append(f"edges: beta z = -+800 give {edges[2]}, {edges[3]}, expected 720 and 80")
    # central differences of the loss along each input, on one random and one edge case
    for name in ("b05_ls", "edges"):
        c = next(x for x in cases if x["name"] == name)
        i = c["inputs"]
        base = [np.array(i[k]) for k in ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected")]
        for which, key in ((0, "grad_policy_chosen"), (1, "grad_policy_rejected")):
            for p in range(len(base[0])):
                h = 1e-5
                up = [b.copy() for b in base]
                dn = [b.copy() for b in base]
                up[which][p] += h
                dn[which][p] -= h
                f = lambda a: dpo_numpy(*a, i["beta"], i["label_smoothing"])["loss"]
                fd = (f(up) - f(dn)) / (2 * h)
                if abs(fd - c["expected"][key][p]) > 1e-8:
                    problems.append(f"{name} {key}[{p}]: finite difference {fd} vs {c['expected'][key][p]}")
    return problems


# ---- TRL (torch float64) -------------------------------------------------------------------------


def trl_runner():
    """A function (pc, pr, rc, rr, beta, ls) -> the expected dict from TRL's own code, and which path it uses."""
    import inspect
    from collections import defaultdict
    from types import SimpleNamespace

    import torch
    import trl
    import trl.trainer.dpo_trainer as dt
    from trl import DPOTrainer

    t64 = lambda a, grad=False: torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)
    cpu = torch.device("cpu")

    if hasattr(DPOTrainer, "dpo_loss"):  # TRL <= 0.28
        params = inspect.signature(DPOTrainer.dpo_loss).parameters

        def run(pc, pr, rc, rr, beta, ls):
            stub = SimpleNamespace(beta=beta, label_smoothing=ls, reference_free=False, f_divergence_type="reverse_kl",
                                   f_divergence_params=None, loss_type="sigmoid", accelerator=SimpleNamespace(device=cpu),
                                   use_weighting=False)
            c, r = t64(pc, True), t64(pr, True)
            kw = {"loss_type": "sigmoid"} if "loss_type" in params else {}
            losses, cr, rj = DPOTrainer.dpo_loss(stub, c, r, t64(rc), t64(rr), **kw)
            loss = losses.mean()
            loss.backward()
            return {
                "loss": loss.item(), "losses": losses.detach().numpy(), "logits": (pc - pr) - (rc - rr),
                "grad_policy_chosen": c.grad.numpy(), "grad_policy_rejected": r.grad.numpy(),
                "rewards_chosen": cr.mean().item(), "rewards_rejected": rj.mean().item(),
                "accuracy": (cr > rj).double().mean().item(), "margin": (cr - rj).mean().item(),
            }

        return run, "DPOTrainer.dpo_loss", trl.__version__, torch.__version__

    # TRL >= 0.29: the loss lives in DPOTrainer._compute_loss
    def once(pc, pr, rc, rr, beta, ls):
        P = len(pc)
        sums = t64(np.concatenate([pc, pr]), True)  # [2P]: the batch is [chosen..., rejected...]
        ids = torch.zeros((2 * P, 2), dtype=torch.long)  # [2P, 2]: one prompt token, one completion token
        inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
                  "completion_mask": torch.tensor([[0, 1]] * (2 * P)), "ref_chosen_logps": t64(rc), "ref_rejected_logps": t64(rr)}
        model = lambda **kw: SimpleNamespace(logits=torch.zeros((2 * P, 2, 4), dtype=torch.float64), aux_loss=None)
        metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
        same = lambda x: x
        stub = SimpleNamespace(
            model=SimpleNamespace(training=True), accelerator=SimpleNamespace(device=cpu, gather=same, gather_for_metrics=same),
            aux_loss_enabled=False, ld_alpha=None, precompute_ref_logps=True, f_divergence_type="reverse_kl",
            f_alpha_divergence_coef=0.5, beta=beta, label_smoothing=ls, loss_types=["sigmoid"], loss_weights=[1.0],
            use_weighting=False, _metrics=metrics, _total_train_tokens=0, _tp_size=1, args=SimpleNamespace(discopop_tau=0.05),
        )
        real = dt.selective_log_softmax
        dt.selective_log_softmax = lambda logits, labels: sums.clone()[:, None]  # [2P, 1] per-token log-probs
        try:
            loss = DPOTrainer._compute_loss(stub, model, inputs, False)
        finally:
            dt.selective_log_softmax = real
        loss.backward()
        m = metrics["train"]
        return loss, sums.grad.numpy(), {k: m[k][-1] for k in ("rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins")}

    def run(pc, pr, rc, rr, beta, ls):
        P = len(pc)
        loss, g, m = once(pc, pr, rc, rr, beta, ls)
        losses = np.array([once(pc[i:i + 1], pr[i:i + 1], rc[i:i + 1], rr[i:i + 1], beta, ls)[0].item() for i in range(P)])
        return {
            "loss": loss.item(), "losses": losses, "logits": (pc - pr) - (rc - rr),
            "grad_policy_chosen": g[:P], "grad_policy_rejected": g[P:],
            "rewards_chosen": m["rewards/chosen"], "rewards_rejected": m["rewards/rejected"],
            "accuracy": m["rewards/accuracies"], "margin": m["rewards/margins"],
        }

    return run, "DPOTrainer._compute_loss", trl.__version__, torch.__version__


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--trl", action="store_true", help="compute with TRL's own code (torch float64): dpo-trl.json")
    args = ap.parse_args()
    source = {"formula": "TRL v0.28.0 trl/trainer/dpo_trainer.py DPOTrainer.dpo_loss, loss_type sigmoid", "trl_commit": TRL_V028,
              "trl_main_read": TRL_MAIN}
    np_cases = [to_json(c, dpo_numpy(*case_inputs(c), c["beta"], c["ls"])) for c in CASES]
    problems = self_check(np_cases)
    if args.trl:
        run, path, trl_version, torch_version = trl_runner()
        cases = []
        for c in CASES:
            out = run(*case_inputs(c), c["beta"], c["ls"])
            cases.append(to_json(c, {k: (np.asarray(v, dtype=np.float64) if isinstance(v, np.ndarray) else float(v)) for k, v in out.items()}))
        pc, pr, rc, rr = case_inputs(CASES[1])
        with_ls, without = run(pc, pr, rc, rr, 0.1, 0.1)["loss"], run(pc, pr, rc, rr, 0.1, 0.0)["loss"]
        uses_ls = abs(with_ls - without) > 1e-9
        source = {"trl_version": trl_version, "torch": torch_version, "path": path, "sigmoid_uses_label_smoothing": uses_ls}
        # TRL against the numpy formula: equal where TRL applies the label smoothing
        for t, n in zip(cases, np_cases):
            if not uses_ls and t["inputs"]["label_smoothing"] != 0:
                continue
            worst = max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(t["expected"]["losses"], n["expected"]["losses"]))
            if worst > 1e-12:
                problems.append(f"{t['name']}: TRL's losses differ from the numpy formula by {worst:.3e} (relative)")
        print(f"TRL {trl_version} via {path}; sigmoid uses label_smoothing: {uses_ls}", file=sys.stderr)
    else:
        cases = np_cases
    doc = {"schema": "rl-dpo-v1", "script": "tools/golden/make_dpo_fixtures.py" + (" --trl" if args.trl else ""),
           "numpy": np.__version__, "source": source, "cases": cases}
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False)
    with open(args.out, "w") as f:
        f.write(text + "\n")
    for c in cases:
        e = c["expected"]
        print(f"{c['name']:10s} P {len(e['losses'])}  beta {c['inputs']['beta']:.1f} ls {c['inputs']['label_smoothing']:.1f}  "
              f"loss {e['loss']: .6e}  acc {e['accuracy']:.3f}  margin {e['margin']: .4f}", file=sys.stderr)
    print(f"wrote {args.out} ({len(text)} bytes, {len(cases)} cases)", file=sys.stderr)
    for p in problems:
        print(f"PROBLEM {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
