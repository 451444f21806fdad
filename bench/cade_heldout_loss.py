"""Is held-out loss a usable criterion for CADE's slice learning rate? (It is not: see BENCHMARKS.md.)

    python bench/cade_heldout_loss.py --corpus kjv.txt --alphas 0.04 0.025 0.016 0.01 0.006 0.004
    python bench/cade_heldout_loss.py --corpus big.txt --alphas 0.04 0.025 0.01 0.004

Same split and donor-word injection as ``bench_cade.py`` (strength 0.5). For every slice rate,
each half's sentences are split 90/10 (fixed seed); a slice is trained on the 90 % against the
compass's frozen output matrix, and its skip-gram negative-sampling loss is measured on the
held-out 10 %: every (word, context) pair within the window, weighted as training sees it
(reduced-window weight (W - d + 1) / W times both words' subsampling keep probabilities), with
``negative`` negatives per pair drawn from the slice's unigram^0.75 (fixed seed). Prints the mean
loss of the two halves per rate: a rate chosen by held-out loss would be the lowest.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_cade as bc  # noqa: E402


def heldout_loss(sl, output, held, params, seed=0) -> float:
    """Weighted mean skip-gram NS loss of slice ``sl`` (rows of ``output``: its context vectors) on ``held``."""
    from xling.align.w2v import CUM_TABLE_DOMAIN, cum_table, encode, keep_probability

    corpus = encode(held, sl.vocab)
    toks, offs = corpus.tokens, corpus.offsets
    keep = keep_probability(sl.vocab.counts, params.sample).astype(np.float64)
    v, u = sl.vectors.astype(np.float64), output.astype(np.float64)
    cum = cum_table(sl.vocab.counts, params.ns_exponent)
    rng = np.random.default_rng(seed)
    sentence = np.repeat(np.arange(len(offs) - 1), np.diff(offs))
    total = weight = 0.0
    for d in range(1, params.window + 1):
        i = np.arange(len(toks) - d)
        i = i[sentence[i] == sentence[i + d]]
        for w, c in ((toks[i], toks[i + d]), (toks[i + d], toks[i])):
            wt = keep[w] * keep[c] * (params.window - d + 1) / params.window
            neg = np.searchsorted(cum, rng.integers(0, CUM_TABLE_DOMAIN, (len(w), params.negative)), side="right")
            neg = np.minimum(neg, len(cum) - 1)
            pos = np.einsum("ij,ij->i", v[w], u[c])
            ns = np.einsum("ij,ikj->ik", v[w], u[neg])
            loss = np.logaddexp(0.0, -pos) + np.logaddexp(0.0, ns).sum(axis=1)
            total += float((wt * loss).sum())
            weight += float(wt.sum())
    return total / weight


def main(argv=None) -> int:
    from xling.align.cade import train_compass, train_slice
    from xling.align.w2v import W2VParams

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="one sentence a line (default: KJV via diatheke)")
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.04, 0.025, 0.016, 0.01, 0.006, 0.004])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--splits", type=int, default=1)
    ap.add_argument("--min-count", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    sents = bc.load_corpus(args.corpus)
    for seed in range(1, args.splits + 1):
        a, b, *_ = bc.split_inject(sents, seed, 10, 0.5, args.min_count)
        p = W2VParams(arch="sg", epochs=args.epochs, threads=args.threads, seed=seed)
        comp = train_compass(a + b, p, min_count=args.min_count)
        losses = []
        for alpha in args.alphas:
            pa = replace(p, alpha=alpha)
            per_half = []
            for half in (a, b):
                held = np.random.default_rng(7).random(len(half)) < 0.1
                train_part = [s for s, h in zip(half, held, strict=True) if not h]
                sl = train_slice(train_part, comp, pa, min_count=args.min_count, init="random")
                rows = np.array([comp.vocab.key_to_index[w] for w in sl.vocab.words])
                held_out = [s for s, h in zip(half, held, strict=True) if h]
                per_half.append(heldout_loss(sl, comp.output[rows], held_out, pa))
            losses.append(float(np.mean(per_half)))
        best = args.alphas[int(np.argmin(losses))]
        print(f"split {seed}: held-out loss " + ", ".join(f"alpha {al:g} {x:.4f}" for al, x in zip(args.alphas, losses, strict=True))
              + f"; lowest at {best:g}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
