"""Alignment quality and speed on the public en→fr benchmark (built by `xling data bench en-fr`;
results in BENCHMARKS.md), or another pair's (``--pair en-fi --targets fi50 fi``).

    python bench/bench_align.py [--targets fr fr50] [--recipes procrustes supervised unsupervised]
                                [--reference] [--repro]
    python bench/bench_align.py --targets fr50 --starts identical train [--set NAME=JSON ...]

For each target space and recipe: align with the train dictionary (none for unsupervised),
then P@1 on the test dictionary by NN and by CSLS (k=10, both penalties over the whole
vocabularies, a source word right if any gold translation is retrieved, coverage 100%).
Times: reading the .vec files, align (wall; its CPU time, all threads, in the notes), CSLS evaluation.

``--starts`` (diagnostic of the dictionary-free recipe; the test dictionary is not read) self-learns
the unsupervised recipe's map from each named start (``identical``, ``identical20k``: identical
strings among the 20,000 most frequent words of each side, ``similarity``, ``train``: the train
dictionary, an oracle start) with ``--set name=json`` overrides (e.g. ``--set direction='"union"'``),
and prints the dictionary-free criterion at cutoffs 2k/4k/10k/20k and the CSLS P@1 on the *train*
dictionary, a dev set the recipe never sees (inflated for the ``train`` start).

``--reference`` runs, in the same process, the plain pipeline peers use (source padded with
zero columns to the target dimension, unit-center-unit, square Procrustes, CSLS computed in
the full dimension) and prints the time ratios against it. ``--repro`` aligns twice and
checks that the map bytes and the P@1 are identical.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from _util import need_bench
from xling.align.normalize import normalize
from xling.align.pipeline import align, make_config
from xling.align.procrustes import LinearMap, procrustes, sim_spaces
from xling.cli.plots import markdown_table
from xling.data.benchmarks import bench_dir
from xling.data.dictionary import read_dictionary
from xling.data.embeddings import unit_rows
from xling.data.vectors import load_embeddings
from xling.lexicon.knn import mean_topk, resolve_engine
from xling.lexicon.retrieval import Retrieval, RetrievalParams, precision_at_1


def evaluate(x_norm, z_norm, m: LinearMap | None, queries, gold, engine):
    """(P@1 NN, P@1 CSLS) in % with the whole source vocabulary in the target penalty."""
    a, b = sim_spaces(x_norm, z_norm, m)
    pen = mean_topk(b, a, 10, metric="ip", engine=engine)
    nn = precision_at_1(a[queries], b, gold, RetrievalParams(Retrieval.nn), engine=engine)
    csls = precision_at_1(a[queries], b, gold, tgt_penalty=pen, engine=engine)
    return 100 * nn, 100 * csls


def reference(en, fr, train, queries, gold, engine):
    """Peers' pipeline: pad the source with zeros, unit-center-unit, square Procrustes, full-d CSLS."""
    t0 = time.perf_counter()
    pad = fr.dim - en.dim
    x = np.hstack([en.vectors, np.zeros((len(en), max(pad, 0)), np.float32)]) if pad > 0 else en.vectors
    x, _ = normalize(x, "unit,center,unit")
    z, _ = normalize(fr.vectors, "unit,center,unit")
    w = procrustes(x[train[0]], z[train[1]])
    xw = unit_rows(x @ w)
    t_map = time.perf_counter() - t0
    t0 = time.perf_counter()
    zz = unit_rows(z)
    pen = mean_topk(zz, xw, 10, metric="ip", engine=engine)
    nn = precision_at_1(xw[queries], zz, gold, RetrievalParams(Retrieval.nn), engine=engine)
    cs = precision_at_1(xw[queries], zz, gold, tgt_penalty=pen, engine=engine)
    return 100 * nn, 100 * cs, t_map, time.perf_counter() - t0


def diagnose_starts(b: str, pair: str, targets, starts, overrides: dict, eng) -> None:
    """Each start self-learned as the unsupervised recipe does; criterion and train-dictionary P@1."""
    from xling.align.pipeline import criterion
    from xling.align.refine import refine
    from xling.align.seeds import identical_pairs, unsupervised_seed

    en = load_embeddings(os.path.join(b, "en.vec"))
    cfg = make_config("unsupervised", **{k: json.loads(v) for k, v in overrides.items()})
    for tg in targets:
        fr = load_embeddings(os.path.join(b, f"{tg}.vec"))
        d, _ = read_dictionary(os.path.join(b, f"{pair}.train.tsv"))
        d, _ = d.restrict(en.key_to_index, fr.key_to_index)
        tr = d.translations()
        queries, gold = en.indices(tr.keys()), [set(fr.indices(v).tolist()) for v in tr.values()]
        x, _ = normalize(en.vectors, cfg.normalize[0])
        z, _ = normalize(fr.vectors, cfg.normalize[0])
        for start in starts:
            if start == "train":
                seed = d.index_pairs(en, fr)
            elif start == "similarity":
                seed = unsupervised_seed(x, z, size=cfg.unsupervised.size, retrieval=cfg.refine.retrieval, engine=eng)
            else:
                seed = identical_pairs(en.words, fr.words, max_rank=20000 if start == "identical20k" else None)
            t0 = time.perf_counter()
            res = refine(x, z, *seed, map_opts=cfg.map_options(cfg.spaces[0]), opts=cfg.refine, seed=cfg.seed,
                         engine=eng)
            crit = [criterion(x, z, res.map, k, cfg.refine.retrieval, eng) for k in (2000, 4000, 10000, 20000)]
            _, cs = evaluate(x, z, res.map, queries, gold, eng)
            print(f"{tg} start={start} {overrides or ''} seed pairs {seed[0].size}, final {res.src.size}, "
                  f"iteration {res.best_iteration}; criterion 2k/4k/10k/20k "
                  + " / ".join(f"{c:.4f}" for c in crit) + f"; train-dictionary CSLS P@1 {cs:.2f}"
                  f" ({time.perf_counter() - t0:.0f} s)", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pair", default="en-fr", help="benchmark pair (xling data bench PAIR): en-fr, en-fi")
    ap.add_argument("--bench", help="benchmark folder (default: where xling data bench PAIR writes it)")
    ap.add_argument("--targets", nargs="+", default=["fr", "fr50"])
    ap.add_argument("--recipes", nargs="+", default=["procrustes", "supervised"])
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--repro", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--starts", nargs="+", choices=["identical", "identical20k", "similarity", "train"], help="diagnose the unsupervised starts (see above), then stop")
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=JSON", help="overrides for --starts")
    args = ap.parse_args(argv)
    eng = resolve_engine()
    b = need_bench(args.bench or str(bench_dir(args.pair)),
                   files=["en.vec", f"{args.pair}.train.tsv", f"{args.pair}.test.tsv", *(f"{t}.vec" for t in args.targets)])
    if args.starts:
        return diagnose_starts(b, args.pair, args.targets, args.starts, dict(kv.split("=", 1) for kv in args.set), eng)
    t0 = time.perf_counter()
    en = load_embeddings(os.path.join(b, "en.vec"))
    t_load_en = time.perf_counter() - t0
    train_d, _ = read_dictionary(os.path.join(b, f"{args.pair}.train.tsv"))
    test_d, _ = read_dictionary(os.path.join(b, f"{args.pair}.test.tsv"))
    rows = []
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; en.vec read in {t_load_en:.1f} s",
          flush=True)
    for tg in args.targets:
        t0 = time.perf_counter()
        fr = load_embeddings(os.path.join(b, f"{tg}.vec"))
        t_load = t_load_en + time.perf_counter() - t0
        kept, cov = train_d.restrict(en.key_to_index, fr.key_to_index)
        train = kept.index_pairs(en, fr)
        tr = test_d.translations()
        queries = en.indices(tr.keys())
        if (queries < 0).any() or cov.coverage < 1:
            sys.exit("test or train words missing from the vocabularies: rebuild the benchmark")
        gold = [set(fr.indices(v).tolist()) for v in tr.values()]
        ref = None
        if args.reference:
            rn, rc, rt_map, rt_eval = reference(en, fr, train, queries, gold, eng)
            ref = rt_map + rt_eval + t_load
            rows.append((tg, "reference (pad + ucu Procrustes)", rn, rc, t_load, rt_map, rt_eval, 1.0, ""))
            print(rows[-1], flush=True)
        for recipe in args.recipes:
            cfg = make_config(recipe, seed=args.seed)
            t0, c0 = time.perf_counter(), time.process_time()
            res = align(en.vectors, fr.vectors, pairs=None if recipe == "unsupervised" else train,
                        src_words=en.words, tgt_words=fr.words, config=cfg, engine=eng)
            t_align, c_align = time.perf_counter() - t0, time.process_time() - c0
            # evaluate the mapped outputs (in the source subspace when the map is isometric)
            m = res.map
            t0 = time.perf_counter()
            if m.isometric:
                nn, cs = evaluate(res.src_vectors @ m.wx.T, res.tgt_vectors, LinearMap(m.wx, None, True), queries,
                                  gold, eng)
            else:
                nn, cs = evaluate(res.src_vectors, res.tgt_vectors, None, queries, gold, eng)
            t_eval = time.perf_counter() - t0
            total = t_load + t_align + t_eval
            note = (f"{res.record['chosen']} it={res.record['best_iteration']}; align CPU {c_align:.1f} s "
                    f"(all threads; less load-bound than wall)")
            check = res.record.get("unsupervised_check")
            if check:  # the dictionary-free result against its null (issue 18)
                note += (f"; criterion {check['criterion']:.3f} vs null {check['null_criterion']:.3f}"
                         + (" FAILED (warned)" if check["failed"] else ""))
            if args.repro:
                again = align(en.vectors, fr.vectors, pairs=None if recipe == "unsupervised" else train,
                              src_words=en.words, tgt_words=fr.words, config=cfg, engine=eng)
                note += "; repro " + ("identical" if again.map.wx.tobytes() == m.wx.tobytes() else "DIFFERENT")
            rows.append((tg, recipe, nn, cs, t_load, t_align, t_eval, total / ref if ref else float("nan"), note))
            print(rows[-1], flush=True)
    print("\n" + markdown_table(["target", "method", "P@1 NN", "P@1 CSLS", "read s", "align s", "CSLS eval s",
                          "time / reference", "notes"],
                         [[r[0], r[1], *(f"{v:.1f}" for v in r[2:7]), f"{r[7]:.2f}", r[8]] for r in rows]))


if __name__ == "__main__":
    main()
