#!/usr/bin/env python3
"""Float64 references for src/engine/analysis/head-stats.ts and selectivity.ts, computed in numpy from the
formulas (written from the definitions in those files' headers, vectorised over whole matrices, not a
translation of the TypeScript loops).

    python3 tools/golden/make_head_stats_fixtures.py [--out models/fixtures/analysis/head-stats.json]

Needs numpy only (scipy, when installed, cross-checks the Benjamini-Hochberg values). Writes
{"schema": "head-stats-v1", "numpy": <version>, "cases": [...], "pooled": {...}, "selectivity": {...}}:

cases[i]: {"name", "H", "T", "S", "pattern" (flat [H, T, S], float32-representable values; entries above
  the diagonal and in padded key columns are random junk that must be ignored), "ids" [T], "classes"
  {name: [0/1]*T}, "queries" (list or null = default 1..T-1), "bins", "heads": [{"nQueries", "nInduction",
  "mean" {stat: value|null}, "bins" [{"nQueries", "nInduction", "mean"}], "fit" {stat: {n, intercept, slope}}}]}
pooled: a log-position fit pooled over head 0 of the cases listed, per stat, and each listed case's head-0
  residual mean against it.
selectivity: "cohen" [{a, b, d, meanA, meanB, sdPooled}], "adjust" [{p, bh, holm}], "exactPerm" [{a, b, p}]
  (p = the exact two-sided permutation p-value by full enumeration of the relabelings, for the Monte Carlo
  test to approach), "quantile" [{x, p, value}] (numpy's default linear quantile).
Seeded (numpy default_rng(12)); floats are written by json (repr round-trips float64).
"""
import argparse
import itertools
import json
import math
import os

import numpy as np

BASE = ['entropy', 'entropyNorm', 'sink', 'prevToken', 'selfMass', 'maxProb', 'distance', 'relDistance', 'induction']


def causal_pattern(rng, H, T, S, sharp=1.0, onehot_heads=()):
    """[H, T, S] softmax rows over keys 0..q, rounded to float32; junk above the diagonal and in padding."""
    P = rng.uniform(0.2, 0.9, size=(H, T, S))  # junk everywhere first
    for h in range(H):
        for q in range(T):
            if h in onehot_heads:
                row = np.zeros(q + 1)
                row[rng.integers(0, q + 1)] = 1.0
            else:
                z = rng.normal(size=q + 1) * sharp
                row = np.exp(z - z.max())
                row /= row.sum()
            P[h, q, :q + 1] = row
    return P.astype(np.float32).astype(np.float64)


def per_query(P, ids, classes):
    """Every statistic for every query q of every head: dict stat -> [H, T] (row q; q = 0 meaningless), hasCopy [T]."""
    H, T, _ = P.shape
    A = P[:, :, :T] * np.tril(np.ones((T, T)))  # visible part only: A[h, q, k] = p for k <= q else 0
    q = np.arange(T, dtype=np.float64)
    k = np.arange(T, dtype=np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        plogp = np.where(A > 0, A * np.log(np.where(A > 0, A, 1.0)), 0.0)
        ent = -plogp.sum(axis=2)
        dist = (A * (q[:, None] - k[None, :])).sum(axis=2)
        out = {
            'entropy': ent,
            'entropyNorm': ent / np.log(q + 1),
            'sink': A[:, :, 0],
            'prevToken': np.concatenate([np.zeros((H, 1)), np.stack([np.diagonal(A[h], offset=-1) for h in range(H)])], axis=1),
            'selfMass': np.stack([np.diagonal(A[h]) for h in range(H)]),
            'maxProb': A.max(axis=2),
            'distance': dist,
            'relDistance': dist / q,
        }
    ids = np.asarray(ids)
    # M[q, k] = 1 iff key k = j + 1 for some j < q with ids[j] == ids[q]
    same = (ids[:, None] == ids[None, :]) & (np.arange(T)[None, :] < np.arange(T)[:, None])  # [q, j]
    M = np.zeros((T, T))
    M[:, 1:] = same[:, :T - 1]
    out['induction'] = (A * M[None]).sum(axis=2)
    for name, m in classes.items():
        out['mass:' + name] = (A * np.asarray(m, dtype=np.float64)[None, None, :]).sum(axis=2)
    return out, M.any(axis=1)


def fit(x, y):
    n = len(y)
    if n == 0:
        return {'n': 0, 'intercept': 0.0, 'slope': 0.0}
    if n == 1 or np.ptp(x) == 0:
        return {'n': n, 'intercept': float(np.mean(y)), 'slope': 0.0}
    b, a = np.polyfit(x, y, 1)  # least squares, independent of the TS two-pass sums
    return {'n': n, 'intercept': float(a), 'slope': float(b)}


def mean_or_none(v):
    return float(np.mean(v)) if len(v) else None


def make_case(rng, name, H, T, S, n_vocab, n_classes, queries, bins, sharp=1.0, onehot_heads=()):
    P = causal_pattern(rng, H, T, S, sharp, onehot_heads)
    ids = rng.integers(0, n_vocab, size=T)
    classes = {f'c{i}': (rng.random(T) < 0.35).astype(int).tolist() for i in range(n_classes)}
    vals, has = per_query(P, ids, classes)
    Q = np.arange(1, T) if queries is None else np.array(sorted({q for q in queries if q > 0}), dtype=int)
    stats = BASE + ['mass:' + c for c in classes]
    heads = []
    for h in range(H):
        def sel(stat, qs):
            qs = qs[has[qs]] if stat == 'induction' else qs
            return qs, vals[stat][h, qs]
        rb = np.minimum(bins - 1, np.floor(bins * Q / T)).astype(int)
        heads.append({
            'nQueries': int(len(Q)), 'nInduction': int(has[Q].sum()),
            'mean': {s: mean_or_none(sel(s, Q)[1]) for s in stats},
            'bins': [{'nQueries': int((rb == b).sum()), 'nInduction': int(has[Q[rb == b]].sum()),
                      'mean': {s: mean_or_none(sel(s, Q[rb == b])[1]) for s in stats}} for b in range(bins)],
            'fit': {s: fit(np.log(sel(s, Q)[0] + 1.0), sel(s, Q)[1]) for s in stats},
        })
    case = {'name': name, 'H': H, 'T': T, 'S': S, 'pattern': P.reshape(-1).tolist(), 'ids': ids.tolist(), 'classes': classes,
            'queries': None if queries is None else list(queries), 'bins': bins, 'heads': heads}
    return case, (P, ids, classes, Q, vals, has)


def cohen(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    sp = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    return {'a': a.tolist(), 'b': b.tolist(), 'd': (a.mean() - b.mean()) / sp, 'meanA': a.mean(), 'meanB': b.mean(), 'sdPooled': sp}


def bh(p):  # statsmodels multipletests(method='fdr_bh')
    p = np.asarray(p, float)
    o = np.argsort(p)
    raw = p[o] * len(p) / np.arange(1, len(p) + 1)
    adj = np.minimum(1, np.minimum.accumulate(raw[::-1])[::-1])
    out = np.empty_like(adj)
    out[o] = adj
    return out


def holm(p):  # statsmodels multipletests(method='holm')
    p = np.asarray(p, float)
    o = np.argsort(p)
    raw = p[o] * (len(p) - np.arange(len(p)))
    adj = np.minimum(1, np.maximum.accumulate(raw))
    out = np.empty_like(adj)
    out[o] = adj
    return out


def exact_perm(a, b):
    x = np.concatenate([a, b])
    d0 = abs(cohen(a, b)['d'])
    hits = total = 0
    for idx in itertools.combinations(range(len(x)), len(a)):
        m = np.zeros(len(x), bool)
        m[list(idx)] = True
        hits += abs(cohen(x[m], x[~m])['d']) >= d0 * (1 - 1e-9)
        total += 1
    return {'a': list(map(float, a)), 'b': list(map(float, b)), 'p': hits / total, 'n': total}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default='models/fixtures/analysis/head-stats.json')
    args = ap.parse_args()
    rng = np.random.default_rng(12)
    specs = [
        dict(name='small-repeats', H=3, T=9, S=9, n_vocab=3, n_classes=2, queries=None, bins=5),
        dict(name='padded-keys', H=2, T=17, S=20, n_vocab=5, n_classes=1, queries=None, bins=5, sharp=3.0),
        dict(name='query-subset', H=4, T=33, S=33, n_vocab=6, n_classes=3, queries=[0, 31, 3, 7, 7, 12, 20, 25, 32], bins=4),
        dict(name='one-hot-and-two-tokens', H=2, T=2, S=2, n_vocab=2, n_classes=1, queries=None, bins=5, onehot_heads=(1,)),
        dict(name='one-hot-rows', H=2, T=12, S=12, n_vocab=4, n_classes=2, queries=None, bins=3, onehot_heads=(0,)),
        dict(name='no-copies', H=1, T=6, S=6, n_vocab=1000, n_classes=1, queries=None, bins=5),
    ]
    cases, raws = [], []
    for s in specs:
        c, r = make_case(rng, **s)
        cases.append(c)
        raws.append(r)
    # log-position fit pooled over head 0 of the first three cases, residual means of each against it
    pooled_cases = [0, 1, 2]
    pooled = {'cases': pooled_cases, 'fit': {}, 'residual': {}}
    for stat in ['entropy', 'induction', 'sink']:
        xs, ys = [], []
        for i in pooled_cases:
            _, _, _, Q, vals, has = raws[i]
            qs = Q[has[Q]] if stat == 'induction' else Q
            xs.append(np.log(qs + 1.0))
            ys.append(vals[stat][0, qs])
        f = fit(np.concatenate(xs), np.concatenate(ys))
        pooled['fit'][stat] = f
        pooled['residual'][stat] = [float(np.mean(y - f['intercept'] - f['slope'] * x)) if len(y) else None for x, y in zip(xs, ys)]

    # selectivity references
    srng = np.random.default_rng(34)
    cohen_cases = [cohen(srng.normal(0, 1, 5), srng.normal(0.5, 2, 7)), cohen(srng.normal(3, 1, 30), srng.normal(2, 1.5, 25)),
                   cohen([1.0, 2.0, 3.0], [1.0, 1.0, 1.5, 2.0])]
    p_lists = [[0.01, 0.04, 0.03, 0.005, 0.2, 0.5, 0.04, 1.0], srng.uniform(0, 0.1, 25).tolist() + [0.0002, 0.0002, 0.9],
               [0.05], [0.3, 0.3, 0.3, 0.001]]
    adjust = []
    for p in p_lists:
        q, hp = bh(p), holm(p)
        try:
            from scipy.stats import false_discovery_control
            assert np.allclose(false_discovery_control(np.array(p), method='bh'), q, rtol=1e-12, atol=0), 'BH disagrees with scipy'
        except ImportError:
            pass
        adjust.append({'p': list(map(float, p)), 'bh': q.tolist(), 'holm': hp.tolist()})
    exact = [exact_perm(srng.normal(0, 1, 4), srng.normal(1, 1, 4)), exact_perm(srng.normal(0, 1, 5), srng.normal(2, 1, 3)),
             exact_perm(srng.normal(0, 1, 3), srng.normal(0, 1, 6)), exact_perm(np.array([1.0, 2, 3, 4]), np.array([5.0, 6, 7, 8]))]
    quant = []
    for n, p in [(10, 0.025), (10, 0.975), (2000, 0.025), (2000, 0.975), (7, 0.5), (1, 0.3)]:
        x = np.sort(srng.normal(size=n))
        quant.append({'x': x.tolist(), 'p': p, 'value': float(np.quantile(x, p))})

    out = {'schema': 'head-stats-v1', 'numpy': np.__version__, 'cases': cases, 'pooled': pooled,
           'selectivity': {'cohen': cohen_cases, 'adjust': adjust, 'exactPerm': exact, 'quantile': quant}}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(out, f, allow_nan=False, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {args.out}: {len(cases)} pattern cases, {len(cohen_cases)} d, {len(adjust)} adjust, {len(exact)} exact-perm, {len(quant)} quantile')


if __name__ == '__main__':
    main()
