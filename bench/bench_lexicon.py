"""Speed and memory of `xling lexicon eval` (CSLS), measured against references in the same run.

Two parts (each optional):

``synthetic``
    CSLS evaluation of ``--queries`` source words against ``--targets`` targets, the target
    penalty computed over ``--sources`` source words (random ``--dim``-d vectors), through
    :func:`xling.lexicon.evaluate.evaluate`. Reference: a plain float32 numpy matrix product of
    the same number of flops (the search's two products: penalty ``nt x ns`` and queries
    ``nq x nt``), in blocks of the same shape as the engine's tiles. Prints the ratio
    (search throughput / matmul throughput) and the peak RSS growth during the evaluation
    against the input size and the chunk budget.

``real``
    The public en→fr benchmark (``xling data bench en-fr``; ``$XLING_BENCH`` or the XDG cache): a quick
    Procrustes map (unit-center-unit, SVD of ``X^T Y``; 50-d English into 300-d or 50-d French),
    then NN and CSLS evaluation of the test dictionary, timed.

Usage::

    python bench/bench_lexicon.py synthetic --targets 200000 --sources 200000 --queries 1500 --dim 300
    python bench/bench_lexicon.py real
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np


def rss_mb() -> float:
    """Current resident set size (MB), from /proc."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_reference(d: int, total_flops: float, rows: int, cols: int,
                     rng: np.random.Generator) -> tuple[float, float]:
    """(wall, CPU) seconds of plain float32 products ``(rows x d) @ (d x cols)`` adding up to ``total_flops``."""
    a = rng.standard_normal((rows, d), dtype=np.float32)
    b = rng.standard_normal((cols, d), dtype=np.float32)
    out = np.empty((rows, cols), dtype=np.float32)
    per = 2.0 * rows * cols * d
    reps = max(1, round(total_flops / per))
    np.matmul(a, b.T, out=out)  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(reps):
        np.matmul(a, b.T, out=out)
    f = total_flops / (reps * per)
    return (time.perf_counter() - t0) * f, (time.process_time() - c0) * f


def synthetic(args) -> None:
    from xling.data.dictionary import BilingualDictionary
    from xling.data.embeddings import Embeddings
    from xling.lexicon.evaluate import evaluate
    from xling.lexicon.knn import _tile_shape, resolve_engine
    from xling.lexicon.retrieval import Retrieval, RetrievalParams

    rng = np.random.default_rng(args.seed)
    nq, nt, ns, d = args.queries, args.targets, args.sources, args.dim
    eng = resolve_engine(args.backend, "cpu", args.chunk_size)
    # 1. inputs (built before the baseline RSS is taken)
    src = Embeddings([f"s{i}" for i in range(ns)], rng.standard_normal((ns, d), dtype=np.float32))
    tgt = Embeddings([f"t{i}" for i in range(nt)], rng.standard_normal((nt, d), dtype=np.float32))
    pick = rng.choice(min(ns, nt), size=nq, replace=False)
    gold = BilingualDictionary(tuple((f"s{i}", f"t{i}") for i in pick.tolist()))
    input_mb = (src.vectors.nbytes + tgt.vectors.nbytes) / 2**20
    base_rss = rss_mb()
    # 2. the evaluation
    t0, c0 = time.perf_counter(), time.process_time()
    res = evaluate(src, tgt, gold, params=RetrievalParams(Retrieval.csls, csls_k=10), engine=eng)
    t_eval, c_eval = time.perf_counter() - t0, time.process_time() - c0
    growth = peak_rss_mb() - base_rss
    # 3. the reference: same flops, blocks shaped like the engine's chunks
    flops = 2.0 * d * (nt * ns + nq * nt)
    rows, cols = _tile_shape(ns, 10, eng)
    t_ref, c_ref = matmul_reference(d, flops, rows, cols, rng)
    chunk_mb = eng.chunk_elements * 4 / 2**20
    print(f"synthetic CSLS eval: {nq:,} queries x {nt:,} targets, penalty over {ns:,} sources, {d}-d, "
          f"engine {eng}, chunk {eng.chunk_elements:,} entries ({chunk_mb:.0f} MB)")
    print(f"  eval            {t_eval:8.2f} s  {flops / t_eval / 1e9:6.1f} GFLOP/s  (P@1 {res.precision(1):.4f})")
    print(f"  matmul roofline {t_ref:8.2f} s  {flops / t_ref / 1e9:6.1f} GFLOP/s  ({flops / 1e12:.2f} TFLOP)")
    print(f"  ratio (roofline time / eval time): wall {t_ref / t_eval:.3f}, CPU {c_ref / c_eval:.3f} "
          f"(CPU seconds: eval {c_eval:.1f}, matmul {c_ref:.1f}; the CPU ratio is robust to other load)")
    print(f"  input vectors {input_mb:.0f} MB; peak RSS growth during eval {growth:.0f} MB "
          f"(= {growth / chunk_mb:.2f} x chunk); an nt x ns similarity matrix would be "
          f"{nt * ns * 4 / 2**20:,.0f} MB")


def procrustes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``W`` (dx x dy) with orthonormal rows minimising ``|X W - Y|`` (semi-orthogonal when dx < dy)."""
    u, _, vt = np.linalg.svd(x.T.astype(np.float64) @ y.astype(np.float64), full_matrices=False)
    return (u @ vt).astype(np.float32)


def unit_center_unit(m: np.ndarray) -> np.ndarray:
    m = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-30)
    m = m - m.mean(axis=0)
    return (m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-30)).astype(np.float32)


def real(args) -> None:
    from xling.data.benchmarks import bench_dir
    from xling.data.dictionary import read_dictionary
    from xling.data.vectors import load_embeddings
    from xling.lexicon.evaluate import evaluate
    from xling.lexicon.knn import resolve_engine
    from xling.lexicon.retrieval import Retrieval, RetrievalParams

    root = os.fspath(bench_dir("en-fr"))
    eng = resolve_engine(args.backend, "cpu", args.chunk_size)
    en = load_embeddings(os.path.join(root, "en.vec"))
    train, _ = read_dictionary(os.path.join(root, "en-fr.train.tsv"))
    test, _ = read_dictionary(os.path.join(root, "en-fr.test.tsv"))
    print(f"en→fr benchmark ({root}), engine {eng}")
    for name in args.targets_files:
        fr = load_embeddings(os.path.join(root, name))
        t0 = time.perf_counter()
        xs, ys = en.with_vectors(unit_center_unit(en.vectors)), fr.with_vectors(unit_center_unit(fr.vectors))
        sub, _ = train.restrict(xs, ys)
        si, ti = sub.index_pairs(xs, ys)
        w = procrustes(xs.vectors[si], ys.vectors[ti])
        mapped = xs.map(w)
        t_map = time.perf_counter() - t0
        if args.save_mapped:
            from xling.data.vectors import save_embeddings

            save_embeddings(mapped, args.save_mapped.replace("{}", name.split(".")[0]))
            save_embeddings(ys, args.save_mapped.replace("{}", name.split(".")[0] + "-target"))
        for kind in ("nn", "csls"):
            t0, c0 = time.perf_counter(), time.process_time()
            r = evaluate(mapped, ys, test, params=RetrievalParams(Retrieval(kind)), oov="wrong", engine=eng)
            t_ev, c_ev = time.perf_counter() - t0, time.process_time() - c0
            print(f"  {name:9s} {kind:4s}: P@1 {100 * r.precision(1):5.2f}  P@10 {100 * r.precision(10):5.2f}  "
                  f"MRR {100 * r.mrr:5.2f}  coverage {r.coverage:.3f}  eval {t_ev:6.2f} s wall, "
                  f"{c_ev:6.2f} CPU-s  (map {t_map:.2f} s)")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="part", required=True)
    s = sub.add_parser("synthetic")
    s.add_argument("--queries", type=int, default=1500)
    s.add_argument("--targets", type=int, default=200_000)
    s.add_argument("--sources", type=int, default=200_000)
    s.add_argument("--dim", type=int, default=300)
    s.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("real")
    r.add_argument("--targets-files", nargs="+", default=["fr.vec", "fr50.vec"])
    r.add_argument("--save-mapped", default=None,
                   help="also write the mapped English and normalised French vectors, e.g. /tmp/en2{}.npy "
                        "('{}' becomes the target file's stem; '-target' is added for the French side)")
    for q in (s, r):
        q.add_argument("--backend", default="numpy")
        q.add_argument("--chunk-size", type=int, default=None)
    args = p.parse_args(argv)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    synthetic(args) if args.part == "synthetic" else real(args)


if __name__ == "__main__":
    main()
