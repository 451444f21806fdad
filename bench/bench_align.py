"""Alignment quality and speed on the public en→fr benchmark (built by `xling data bench en-fr`;
results in BENCHMARKS.md).

    python bench/bench_align.py [--targets fr fr50] [--recipes procrustes supervised unsupervised]
                                [--reference] [--repro]

For each target space and recipe: align with the train dictionary (none for unsupervised),
then P@1 on the test dictionary by NN and by CSLS (k=10, both penalties over the whole
vocabularies, a source word right if any gold translation is retrieved, coverage 100%).
Times: reading the .vec files, align (wall; its CPU time, all threads, in the notes), CSLS evaluation.

``--reference`` runs, in the same process, the plain pipeline peers use (source padded with
zero columns to the target dimension, unit-center-unit, square Procrustes, CSLS computed in
the full dimension) and prints the time ratios against it. ``--repro`` aligns twice and
checks that the map bytes and the P@1 are identical.
"""
from __future__ import annotations

import argparse
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=str(bench_dir("en-fr")), help="benchmark folder (xling data bench en-fr)")
    ap.add_argument("--targets", nargs="+", default=["fr", "fr50"])
    ap.add_argument("--recipes", nargs="+", default=["procrustes", "supervised"])
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--repro", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    eng = resolve_engine()
    b = need_bench(args.bench)
    t0 = time.perf_counter()
    en = load_embeddings(os.path.join(b, "en.vec"))
    t_load_en = time.perf_counter() - t0
    train_d, _ = read_dictionary(os.path.join(b, "en-fr.train.tsv"))
    test_d, _ = read_dictionary(os.path.join(b, "en-fr.test.tsv"))
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
