"""Benchmark of CADE: synthetic semantic change, stability across seeds, slice-trainer throughput.

    python bench/bench_cade.py                      # the KJV of `xling data bench kjv-web` (built if missing)
    python bench/bench_cade.py --corpus kjv.txt     # or any text, one sentence a line

1. The corpus (lower-cased) is shuffled by sentence and split into two halves A and B.
2. Synthetic change (the usual "donor word" injection): pick ``--targets`` mid-frequency target
   words and as many donor words of similar frequency. In B, every donor occurrence is replaced
   by its target, and the target's own occurrences are renamed away, so in B each target
   carries the donor's meaning. Every other word keeps its meaning.
3. CADE (compass on A+B, slices A and B with the compass output frozen) ranks the shared words
   by cosine distance and by neighbour overlap; the baseline trains two independent gensim
   Word2Vec models and aligns B onto A with orthogonal Procrustes on all shared words.
   Reported: recall@10 of the targets and their mean rank (1 = most shifted).
4. Stability: the same with another seed; overlap of the two top-50 lists.
5. Throughput: xling's slice trainer vs gensim Word2Vec, same corpus (half A), same settings,
   same process, words/s = corpus words x epochs / training seconds (vocabulary building and
   numba compilation excluded).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace

import numpy as np


def load_corpus(path: str | None) -> list[list[str]]:
    if path is None:
        from xling.data.corpora import build_kjv_web

        path = os.path.join(build_kjv_web(log=print).folder, "kjv.txt")
    with open(path, encoding="utf-8") as f:
        return [line.lower().split() for line in f if line.strip()]


def inject(a, b, n_targets, rng, strength=1.0, lo_rank=200, hi_rank=2000):
    """Choose targets and donors among words of rank lo..hi in both halves; rewrite B.

    With ``strength`` s < 1 each donor occurrence becomes its target with probability s and each
    of the target's own occurrences is renamed away with probability s: in B the target is a
    mix of its old sense and the donor's (a smaller, harder-to-detect change).
    """
    from xling.align.w2v import build_vocab, count_words

    va, vb = build_vocab(count_words(a), 1), build_vocab(count_words(b), 1)
    band = [w for w in va.words[lo_rank:hi_rank] if w in vb.key_to_index and vb.key_to_index[w] < hi_rank]
    picks = rng.choice(len(band), 2 * n_targets, replace=False)
    targets = [band[i] for i in picks[:n_targets]]
    donors = [band[i] for i in picks[n_targets:]]
    swap = {t: t + "_orig" for t in targets}
    swap.update(dict(zip(donors, targets, strict=True)))
    b2 = [[swap[w] if w in swap and (strength >= 1 or rng.random() < strength) else w for w in s] for s in b]
    return targets, donors, b2


def metrics(ranking, gold):
    pos = {w: i + 1 for i, w in enumerate(ranking)}
    ranks = [pos[g] for g in gold if g in pos]
    return {"recall@10": len(set(ranking[:10]) & set(gold)) / len(gold),
            "mean_rank": float(np.mean(ranks)) if ranks else float("nan"),
            "found": len(ranks), "candidates": len(ranking)}


def frequency_z(score, count_a, count_b, half_window=100):
    """Robust z-score of each word's shift among the ~200 words of nearest effective frequency.

    Effective frequency: -log(1/count_a + 1/count_b) (a vector's noise falls with its count in
    each slice). For each word: (score - median) / (1.4826 MAD) over its frequency neighbours.
    A control for "rare words move more", tried as a measure (see BENCHMARKS.md).
    """
    x = -np.log(1.0 / np.asarray(count_a, float) + 1.0 / np.asarray(count_b, float))
    order = np.argsort(x, kind="stable")
    s = np.asarray(score, float)[order]
    n, w = len(s), 2 * half_window + 1
    z = np.empty(n)
    for i in range(n):
        lo = min(max(0, i - half_window), max(0, n - w))
        win = s[lo:lo + w]
        med = np.median(win)
        z[i] = (s[i] - med) / (1.4826 * np.median(np.abs(win - med)) + 1e-12)
    out = np.empty(n)
    out[order] = z
    return out


def gensim_model(sents, p, min_count):
    from gensim.models import Word2Vec

    from xling.align.cade import _stable_hash

    m = Word2Vec(vector_size=p.dim, window=p.window, negative=p.negative, sg=int(p.arch.value == "sg"),
                 min_count=min_count, sample=p.sample, workers=p.threads, seed=p.seed, epochs=p.epochs,
                 hashfxn=_stable_hash)
    m.build_vocab(sents)
    t0 = time.perf_counter()
    m.train(sents, total_examples=len(sents), epochs=p.epochs)
    return m, time.perf_counter() - t0


def procrustes_baseline(a_sents, b_sents, p, min_count, cand, replicates=(1,)):
    """Two independent word2vec models, B rotated onto A (scipy orthogonal Procrustes).

    For each R in ``replicates``: the shift scores averaged over R such pairs trained with the
    replicate seeds CADE uses (the baseline's counterpart of ``cade train --replicates R``).
    """
    from scipy.linalg import orthogonal_procrustes

    from xling.align.cade import ShiftTable, replicate_seed, shift_scores
    from xling.data.embeddings import Embeddings, unit_rows

    tables = []
    for r in range(max(replicates)):
        pr = replace(p, seed=replicate_seed(p.seed, r))
        ma, _ = gensim_model(a_sents, pr, min_count)
        mb, _ = gensim_model(b_sents, pr, min_count)
        ea = Embeddings(ma.wv.index_to_key, ma.wv.vectors)
        eb = Embeddings(mb.wv.index_to_key, mb.wv.vectors)
        shared = [w for w in cand if w in ea and w in eb]
        xa = unit_rows(np.asarray(ea.vectors[ea.indices(shared)]))
        xb = unit_rows(np.asarray(eb.vectors[eb.indices(shared)]))
        w, _ = orthogonal_procrustes(xb, xa)  # xb @ w ≈ xa
        tables.append(shift_scores(Embeddings(shared, xa), Embeddings(shared, xb @ w), k=10))
    out = {}
    for R in replicates:
        t = tables[:R]
        out[R] = ShiftTable(t[0].words, np.mean([x.cosine for x in t], 0), np.mean([x.neighbours for x in t], 0), 10)
    return out


def cade_run(a_sents, b_sents, p, min_count, cand, init, replicates=(1,), slice_alpha=None):
    """One compass; for each R in ``replicates``, slices A and B trained with ``replicates=R``."""
    from xling.align.cade import default_slice_alpha, shift_scores, train_compass, train_slice

    comp = train_compass(a_sents + b_sents, p, min_count=min_count)
    p = replace(p, alpha=default_slice_alpha([a_sents, b_sents], p.epochs) if slice_alpha is None else slice_alpha)
    out = {}
    for R in replicates:
        sa = train_slice(a_sents, comp, p, min_count=min_count, init=init, replicates=R)
        sb = train_slice(b_sents, comp, p, min_count=min_count, init=init, replicates=R)
        out[R] = shift_scores(sa.embeddings(), sb.embeddings(), k=10, words=cand)
    return out


def throughput(sents, p, min_count):
    """words/s of xling (frozen output, as in CADE; and full word2vec) and gensim on the same corpus."""
    from xling.align import w2v

    _, g_sec = gensim_model(sents, p, min_count)
    vocab = w2v.build_vocab(w2v.count_words(sents), min_count)
    corpus = w2v.encode(sents, vocab)
    out = {"gensim": corpus.n_words * p.epochs / g_sec}
    for name, train_output in (("xling_frozen", False), ("xling_full", True)):
        syn0 = w2v.init_input_vectors(len(vocab), p.dim, p.seed)
        syn1 = np.random.default_rng(p.seed).standard_normal(syn0.shape).astype(np.float32) * 0.1
        st = w2v.train(corpus, syn0, syn1, vocab.counts, p, train_output=train_output)
        out[name] = st.words_per_sec
    out["ratio_frozen"] = out["xling_frozen"] / out["gensim"]
    out["ratio_full"] = out["xling_full"] / out["gensim"]
    return out


def split_inject(sents, seed, n_targets, strength, min_count, max_sentences=None):
    """One split: sentences shuffled with ``seed`` and halved into A and B, the change injected
    into B (``inject``). Returns A, the rewritten B, targets, donors, the word counts of A and of
    B, and the candidates (words seen ``min_count`` times in both halves, A's frequency order)."""
    from xling.align.w2v import build_vocab, count_words

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(sents))
    if max_sentences:
        order = order[:max_sentences]
    half = len(order) // 2
    a = [sents[i] for i in order[:half]]
    b = [sents[i] for i in order[half:]]
    targets, donors, b2 = inject(a, b, n_targets, rng, strength)
    ca, cb = count_words(a), count_words(b2)
    cand = [w for w in build_vocab(ca, min_count).words if cb.get(w, 0) >= min_count]
    return a, b2, targets, donors, ca, cb, cand


def quality_run(sents, args, seed):
    """One split + injection + CADE (2 training seeds) + Procrustes baseline (2 training seeds)."""
    from xling.align.cade import top_overlap
    from xling.align.w2v import W2VParams

    a, b2, targets, donors, ca, cb, cand = split_inject(sents, seed, args.targets, args.strength, args.min_count,
                                                         args.max_sentences)
    p = W2VParams(arch=args.arch, dim=args.dim, window=args.window, epochs=args.epochs, threads=args.threads,
                  seed=seed)
    p2 = replace(p, seed=seed + 100)
    run = {"seed": seed, "half_tokens": [sum(map(len, a)), sum(map(len, b2))], "targets": targets,
           "donors": donors}
    reps = tuple(args.replicates)
    cade1 = cade_run(a, b2, p, args.min_count, cand, args.init, reps, args.slice_alpha)
    cade2 = cade_run(a, b2, p2, args.min_count, cand, args.init, reps, args.slice_alpha)
    base1 = procrustes_baseline(a, b2, p, args.min_count, cand, reps)
    base2 = procrustes_baseline(a, b2, p2, args.min_count, cand, reps)
    for method, m1, m2 in (("cade", cade1, cade2), ("procrustes", base1, base2)):
        for R in reps:
            for by in ("cosine", "neighbours"):
                t1, t2 = m1[R], m2[R]
                run[method_name(method, by, R)] = {
                    **metrics(t1.ranking(by), targets),
                    "top50_overlap_2_seeds": top_overlap(t1.ranking(by), t2.ranking(by), 50)}
        # the frequency-controlled variant of the single-run cosine ranking
        rk = []
        for t in (m1[reps[0]], m2[reps[0]]):
            z = frequency_z(t.cosine, [ca[w] for w in t.words], [cb[w] for w in t.words])
            rk.append([t.words[i] for i in np.lexsort((np.arange(len(z)), -z))])
        run[method_name(method, "cosine", reps[0]) + "_freqz"] = {
            **metrics(rk[0], targets), "top50_overlap_2_seeds": top_overlap(rk[0], rk[1], 50)}
    return run


def method_name(method, by, replicates):
    return f"{method}_{by}" + ("" if replicates == 1 else f"_r{replicates}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="one sentence a line (default: KJV via diatheke)")
    ap.add_argument("--max-sentences", type=int, default=None)
    ap.add_argument("--arch", default="sg", choices=["sg", "cbow"])
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--min-count", type=int, default=10)
    ap.add_argument("--slice-alpha", type=float, default=None,
                    help="start learning rate of CADE's slices (default: cade train's, "
                         "xling.align.cade.default_slice_alpha)")
    ap.add_argument("--init", default="random", choices=["compass", "random"], help="slice input vectors start")
    ap.add_argument("--strength", type=float, default=1.0, help="share of donor/target occurrences swapped")
    ap.add_argument("--targets", type=int, default=10)
    ap.add_argument("--replicates", type=int, nargs="+", default=[1, 3],
                    help="slice replicates R to compare (cade train --replicates R; the baseline averages "
                         "the shift over R independently trained and aligned pairs)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3],
                    help="one split + target choice per seed (training seeds: s and s+100)")
    ap.add_argument("--no-speed", action="store_true", help="skip the throughput part")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    from xling.align.w2v import W2VParams

    sents = load_corpus(args.corpus)
    res = {"corpus": args.corpus or "KJV (diatheke engKJV2006eb)", "tokens": sum(map(len, sents)),
           "settings": {k: getattr(args, k) for k in ("arch", "init", "slice_alpha", "strength", "dim", "window", "epochs",
                                                     "min_count", "threads", "seeds", "replicates")},
           "runs": []}
    names = [n for m in ("cade", "procrustes") for n in
             [method_name(m, by, R) for R in args.replicates for by in ("cosine", "neighbours")]
             + [method_name(m, "cosine", args.replicates[0]) + "_freqz"]]
    t0 = time.perf_counter()
    for seed in args.seeds:
        run = quality_run(sents, args, seed)
        res["runs"].append(run)
        print(f"seed {seed}: halves {run['half_tokens']} tokens, targets "
              f"{', '.join(f'{t}<-{d}' for t, d in zip(run['targets'], run['donors'], strict=True))}", flush=True)
    res["quality_seconds"] = round(time.perf_counter() - t0, 1)
    print(f"corpus: {res['corpus']}, {res['tokens']:,} tokens; mean over seeds {args.seeds} "
          f"(per-seed values in brackets)")
    print("| method | recall@10 | mean rank of targets | top-50 overlap (2 training seeds) |")
    print("|---|---|---|---|")
    for name in names:
        cols = []
        for key, fmt in (("recall@10", "{:.2f}"), ("mean_rank", "{:.1f}"), ("top50_overlap_2_seeds", "{:.2f}")):
            vals = [r[name][key] for r in res["runs"]]
            cols.append(fmt.format(np.mean(vals)) + " (" + ", ".join(fmt.format(v) for v in vals) + ")")
        print(f"| {name} | " + " | ".join(cols) + " |")
    print(f"candidates (words with count >= {args.min_count} in both halves): "
          f"{', '.join(str(r[method_name('cade', 'cosine', args.replicates[0])]['candidates']) for r in res['runs'])}")
    if not args.no_speed:
        half = [sents[i] for i in np.random.default_rng(args.seeds[0]).permutation(len(sents))[: len(sents) // 2]]
        p = W2VParams(arch=args.arch, dim=args.dim, window=args.window, epochs=args.epochs, seed=args.seeds[0])
        print("| threads | gensim words/s | xling frozen output (CADE slice) | ratio | xling full word2vec | ratio |")
        print("|---|---|---|---|---|---|")
        for threads in sorted({1, args.threads}):
            t = throughput(half, replace(p, threads=threads), args.min_count)
            res[f"throughput_threads{threads}"] = t
            print(f"| {threads} | {t['gensim']:,.0f} | {t['xling_frozen']:,.0f} | {t['ratio_frozen']:.2f} | "
                  f"{t['xling_full']:,.0f} | {t['ratio_full']:.2f} |", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
