"""2,000,000 x 300 vectors (2.4 GB float32) must load, search and write within 24 GiB.

    python bench/bench_scale.py [--rows 2000000] [--dim 300] [--queries 20000]

Each stage runs in a fresh process and reports its wall time and peak RSS:
  write-text   save_embeddings(.vec)  from a random matrix
  read-text    load_embeddings(.vec)
  write-cache  text -> cache (.npy + .words)
  read-cache   load the cache (memory-mapped)
  search       top-10 of QUERIES rows against all 2M rows, and the CSLS penalty of the
               queries (mean top-10 similarity), from the memory-mapped cache
Files go to $XLING_BENCH (default: the en-fr benchmark folder in the XDG cache, see `xling data bench`) and are deleted at the end
unless --keep.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap

sys.path.insert(0, os.path.dirname(__file__))
from _util import BENCH_DIR, machine, run_child  # noqa: E402

STAGE = """
import json, time, numpy as np
from _util import peak_rss_mib
from xling.data.embeddings import Embeddings
from xling.data.vectors import load_embeddings, save_embeddings
t = time.perf_counter()
{body}
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "peak_rss_gib": peak_rss_mib() / 1024}}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--queries", type=int, default=2_000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--stages", default="write-text,read-text,write-cache,read-cache,search",
                    help="comma-separated subset (later stages need the files of earlier ones: --keep)")
    args = ap.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    vec = BENCH_DIR / f"scale-{args.rows}x{args.dim}.vec"
    npy = BENCH_DIR / f"scale-{args.rows}x{args.dim}.npy"
    r, d, nq = args.rows, args.dim, args.queries
    stages = {
        "write-text": f"""
rng = np.random.default_rng(0)
x = (rng.standard_normal(({r}, {d}), dtype=np.float32) * 0.3)
save_embeddings(Embeddings([f"w{{i}}" for i in range({r})], x, check_unique=False), {str(vec)!r})""",
        "read-text": f"e = load_embeddings({str(vec)!r}); assert e.shape == ({r}, {d})",
        "write-cache": f"save_embeddings(load_embeddings({str(vec)!r}), {str(npy)!r})",
        "read-cache": f"e = load_embeddings({str(npy)!r}); e.key_to_index; assert e.shape == ({r}, {d})",
        "search": f"""
from xling.lexicon.knn import knn, mean_topk
e = load_embeddings({str(npy)!r})
q = np.ascontiguousarray(e.vectors[:{nq}])
s, i = knn(q, e.vectors, 10)
r_ = mean_topk(q, e.vectors, 10)
assert (i[:, 0] == np.arange({nq})).all()""",
    }
    res = {"rows": r, "dim": d, "queries": nq, "matrix_gib": r * d * 4 / 2**30, "machine": machine()}
    try:
        for name, body in stages.items():
            if name not in args.stages.split(","):
                continue
            out = run_child(textwrap.dedent(STAGE.format(body=textwrap.dedent(body))))
            res[name] = {"seconds": round(out["seconds"], 1), "peak_rss_gib": round(out["peak_rss_gib"], 2)}
            print(name, res[name], file=sys.stderr, flush=True)
        if vec.exists():
            res["text_file_gib"] = round(vec.stat().st_size / 2**30, 2)
    finally:
        if not args.keep:
            for p in (vec, npy, npy.with_suffix(".words")):
                if p.exists():
                    p.unlink()
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
