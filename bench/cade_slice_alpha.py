"""CADE's slice learning rate, and a context-metric shift score, against the Procrustes baseline.

    python bench/cade_slice_alpha.py --corpus kjv.txt --strength 0.5 --splits 6
    python bench/cade_slice_alpha.py --corpus big.txt --strength 0.5 --splits 4 --alphas 0.025 0.01 0.005

Same task as ``bench_cade.py`` (split in halves, donor-word injection in B, candidates = words
seen >= 10 times in both halves) with single training runs (``--replicates 1``) and one
training seed per split, so that many splits are affordable. For every split: one gensim
compass on A+B, then CADE slices A and B with each slice learning rate in ``--alphas``, ranked by
cosine distance; with ``--context`` also by the *context metric*: cosine after mapping both
vectors by C^(1/2), C = sum_c p(c) u_c u_c^T over the compass's frozen output vectors u_c
weighted by unigram frequency p(c) (the uncentred correlation of the two slices' logits over
contexts). Baseline: ``bench_cade.procrustes_baseline`` (two independent gensim models, B rotated onto
A by orthogonal Procrustes on the candidates' unit vectors), cosine distance. Prints mean rank of the 10 targets (1 = most
shifted) and recall@10, per split and averaged, and the compass's median output-vector norm.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_cade as bc  # noqa: E402


def cosine_distance(xa, xb):
    from xling.data.embeddings import unit_rows

    return 1.0 - np.einsum("ij,ij->i", unit_rows(xa), unit_rows(xb))


def context_metric(compass) -> np.ndarray:
    """C^(1/2) for C = sum_c p(c) u_c u_c^T (unigram-weighted second moment of the output vectors)."""
    u = compass.output.astype(np.float64)
    p = compass.vocab.counts / compass.vocab.counts.sum()
    ev, vecs = np.linalg.eigh((u * p[:, None]).T @ u)
    return (vecs * np.sqrt(np.maximum(ev, 0.0))) @ vecs.T


def slice_variants(args) -> list[tuple[str, float, int, int]]:
    """(name, slice alpha, slice epochs, replicates) of every CADE variant asked for."""
    out = [(f"cade_alpha{a:g}", a, args.slice_epochs or args.epochs, 1) for a in args.alphas]
    for spec in args.variants:
        try:
            parts = spec.split("/")
            alpha = "auto" if parts[0] == "auto" else float(parts[0])
            epochs = int(parts[1]) if len(parts) > 1 else args.slice_epochs or args.epochs
            reps = int(parts[2]) if len(parts) > 2 else 1
        except (ValueError, IndexError):
            raise SystemExit(f"--variants: {spec!r} is not ALPHA[/EPOCHS[/REPLICATES]]") from None
        label = "auto" if alpha == "auto" else f"a{alpha:g}"
        out.append((f"cade_{label}_e{epochs}_r{reps}", alpha, epochs, reps))
    return out


def split_scores(sents, seed, args) -> tuple[dict[str, np.ndarray], list[str], list[str], float]:
    from xling.align.cade import default_slice_alpha, output_norm, train_compass, train_slice
    from xling.align.w2v import W2VParams

    a, b2, targets, _, _, _, cand = bc.split_inject(sents, seed, args.targets, args.strength, args.min_count)
    p = W2VParams(arch=args.arch, epochs=args.epochs, threads=args.threads, seed=seed)
    comp = train_compass(a + b2, p, min_count=args.min_count)
    metric = context_metric(comp) if args.context else None
    out = {}
    for name, alpha, epochs, reps in slice_variants(args):
        pa = replace(p, alpha=default_slice_alpha([a, b2], epochs) if alpha == "auto" else alpha, epochs=epochs)
        sa = train_slice(a, comp, pa, min_count=args.min_count, init="random", replicates=reps).embeddings()
        sb = train_slice(b2, comp, pa, min_count=args.min_count, init="random", replicates=reps).embeddings()
        xa = np.asarray(sa.vectors[sa.indices(cand)], np.float64)
        xb = np.asarray(sb.vectors[sb.indices(cand)], np.float64)
        out[name] = cosine_distance(xa, xb)
        if metric is not None:
            out[f"{name}_context"] = cosine_distance(xa @ metric, xb @ metric)
    base = bc.procrustes_baseline(a, b2, p, args.min_count, cand)[1]
    if list(base.words) != cand:
        raise SystemExit("a candidate word is missing from a baseline model")
    out["procrustes"] = base.cosine
    return out, cand, targets, output_norm(comp)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="one sentence a line (default: KJV via diatheke)")
    ap.add_argument("--strength", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=5, help="compass and slices (and the baseline)")
    ap.add_argument("--slice-epochs", type=int, default=None, help="slices only (default: --epochs)")
    ap.add_argument("--alphas", type=float, nargs="*", default=[0.025, 0.01], help="slice learning rates")
    ap.add_argument("--variants", nargs="+", default=[], metavar="ALPHA[/EPOCHS[/REPLICATES]]",
                    help="more CADE variants: slice rate ('auto': cade train's default), slice epochs, "
                         "replicates (e.g. auto/5/3 0.01/15/1)")
    ap.add_argument("--context", action="store_true", help="also rank by the context metric")
    ap.add_argument("--splits", type=int, default=6, help="number of splits")
    ap.add_argument("--first-split", type=int, default=1,
                    help="seed of the first split (splits use seeds F..F+N-1; pick unseen ones to confirm a choice)")
    ap.add_argument("--arch", default="sg", choices=["sg", "cbow"])
    ap.add_argument("--targets", type=int, default=10)
    ap.add_argument("--min-count", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    sents = bc.load_corpus(args.corpus)
    res: dict[str, list[dict]] = {}
    norms = []
    for seed in range(args.first_split, args.first_split + args.splits):
        scores, cand, targets, norm = split_scores(sents, seed, args)
        norms.append(norm)
        for name, s in scores.items():
            ranking = [cand[i] for i in np.lexsort((np.arange(len(s)), -s))]
            res.setdefault(name, []).append(bc.metrics(ranking, targets))
        print(f"split {seed}: compass median output norm {norm:.2f}; "
              + ", ".join(f"{k} {v[-1]['mean_rank']:.1f}" for k, v in res.items()), flush=True)
    print(f"corpus {args.corpus or 'KJV'}, {sum(map(len, sents)):,} tokens, strength {args.strength}, "
          f"{args.epochs} epochs (slices {args.slice_epochs or args.epochs}), {args.arch}; median compass output norm {np.mean(norms):.2f}")
    print("| method | mean rank of targets | recall@10 |")
    print("|---|---|---|")
    for name, v in res.items():
        ranks = ", ".join(f"{x['mean_rank']:.1f}" for x in v)
        print(f"| {name} | {np.mean([x['mean_rank'] for x in v]):.1f} ({ranks}) | "
              f"{np.mean([x['recall@10'] for x in v]):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
