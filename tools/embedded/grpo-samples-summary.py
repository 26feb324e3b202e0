#!/usr/bin/env python3
"""Per-task sampled reward of a `lab grpo` run, from its samples.jsonl (issue 11's GRPO attempts).

  python3 tools/embedded/grpo-samples-summary.py <run>/samples.jsonl [--window 50]

Prints, for each task (Velmic prompts start with "Velmic is"; the rest are arithmetic), the mean reward of
the sampled completions and the share of groups with mixed rewards (the groups that carry GRPO's signal),
over the first and the last `window` steps and in between, so a run's learning curve shows per task.
"""
import argparse, json, statistics
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("samples")
ap.add_argument("--window", type=int, default=50)
a = ap.parse_args()
by = defaultdict(lambda: defaultdict(list))  # task -> step -> [(group mean, mixed)]
for n, line in enumerate(open(a.samples, encoding="utf-8"), 1):
    try:
        r = json.loads(line)
    except json.JSONDecodeError as e:
        raise SystemExit(f"{a.samples}:{n}: not JSON ({e})")
    rewards = [c["reward"] for c in r["completions"]]
    task = "conlang" if r["prompt"].startswith("Velmic is") else "arithmetic"
    by[task][r["step"]].append((statistics.fmean(rewards), len(set(rewards)) > 1))
for task, steps in sorted(by.items()):
    s = sorted(steps)
    w = min(a.window, max(1, len(s) // 3))
    parts = [("first", s[:w]), ("middle", s[w:-w] if len(s) > 2 * w else []), ("last", s[-w:])]
    out = []
    for name, ks in parts:
        g = [x for k in ks for x in steps[k]]
        if g:
            out.append(f"{name} {len(ks)} steps: reward {statistics.fmean(m for m, _ in g):.3f}, mixed groups {sum(x for _, x in g)}/{len(g)}")
    print(f"{task} ({len(s)} steps): " + "; ".join(out))
