#!/usr/bin/env bash
# A/B on the GPU machine: `lab sft` of two bundles (e.g. one built at an older commit, and .bundle/ now) on the
# same data, model and seed, alternated twice: the losses must be identical and the step times are compared.
#   bash tools/bench/sft-ab.sh <old bundle's lab.mjs>     (carry .devkit, .bundle and the old bundle)
# Build the old bundle in a worktree of the older commit: node tools/bundle-cli.mjs, then copy .bundle/lab.mjs.
set -uo pipefail
OLD=${1:?give the old bundle lab.mjs}
source .devkit/enter.sh
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
W=/tmp/ab; rm -rf $W; mkdir -p $W
node .bundle/lab.mjs tasks --task arithmetic,conlang --split train --n 20000 --seed 1 --out $W/train.jsonl 2>&1 | tail -1
node .bundle/lab.mjs init --config tools/embedded/config.json --tokenizer models/lab-default --seed 0 --out $W/init 2>&1 | tail -1
for v in old new old2 new2; do
  B=.bundle/lab.mjs; [[ $v == old* ]] && B=$OLD
  s0=$SECONDS
  node $B sft --model $W/init --data $W/train.jsonl --full --steps 400 --lr 2e-3 --lr-schedule cosine --warmup-steps 40 --batch-size 64 --seed 0 --out $W/$v 2>&1 | grep -v "^step\|Warning" | tail -3
  echo "$v wall $((SECONDS - s0)) s"
  cp $W/$v/metrics.jsonl $OUT/metrics-$v.jsonl
done
python3 - <<'PY'
import json, statistics as st
m = {v: [json.loads(l) for l in open(f'/tmp/ab/{v}/metrics.jsonl')] for v in ['old', 'new', 'old2', 'new2']}
for a, b in [('old', 'new'), ('old', 'old2'), ('new', 'new2')]:
    d = max(abs(x['loss'] - y['loss']) for x, y in zip(m[a], m[b]))
    print(f'{a} vs {b}: {len(m[a])} / {len(m[b])} steps, max |loss diff| {d:.3g}')
for v in m:
    s = [x['step_s'] * 1000 for x in m[v][20:]]
    print(f'{v}: step median {st.median(s):.2f} ms (steps 21-400), mean {st.mean(s):.2f} ms, final loss {m[v][-1]["loss"]:.4f}, tokens/s median {st.median([x["tokens_per_s"] for x in m[v][20:]]):.0f}')
PY
