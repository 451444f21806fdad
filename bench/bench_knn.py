"""Exact top-k search throughput against the float32 matrix-product roofline, and its memory.

    python bench/bench_knn.py [--queries 200000] [--base 200000] [--dim 300] [--k 10]
                              [--backends numpy,torch,faiss] [--device cpu]

The roofline is a plain numpy float32 product of the same shapes (queries x dim by dim x base),
computed block by block (the full product would not fit in memory) in the same run. Each
backend runs in a fresh process so its peak RSS is its own; the memory figure is the peak RSS
growth over the process's RSS after the two matrices were loaded, compared with the size of
the two matrices.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap

sys.path.insert(0, os.path.dirname(__file__))
from _util import machine, run_child  # noqa: E402

SETUP = """
import json, time, os, numpy as np
from _util import current_rss_mib, peak_rss_mib
rng = np.random.default_rng(0)
q = rng.standard_normal(({nq}, {d}), dtype=np.float32)
b = rng.standard_normal(({nb}, {d}), dtype=np.float32)
{imports}
base_rss = current_rss_mib()
"""

ROOFLINE = SETUP + """
block = 2048
out = np.empty((block, {nb}), dtype=np.float32)
np.matmul(q[:block], b.T, out=out)  # warm up
t = time.perf_counter(); c = time.process_time()
for s in range(0, {nq}, block):
    m = min(block, {nq} - s)
    np.matmul(q[s:s + m], b.T, out=out[:m])
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "cpu": time.process_time() - c}}))
"""

SEARCH = SETUP + """
from xling.lexicon.knn import knn
if "{device}" == "cuda":
    import torch; torch.cuda.synchronize()
t = time.perf_counter(); c = time.process_time()
s, i = knn(q, b, {k}, backend="{backend}", device="{device}")
dt = time.perf_counter() - t
peak = peak_rss_mib()
print(json.dumps({{"seconds": dt, "cpu": time.process_time() - c, "peak_growth_mib": peak - base_rss, "matrices_mib": (q.nbytes + b.nbytes) / 2**20}}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=200_000)
    ap.add_argument("--base", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--backends", default="numpy,torch,faiss")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    fmt = dict(nq=args.queries, nb=args.base, d=args.dim, k=args.k, device=args.device)
    gflop = 2.0 * args.queries * args.base * args.dim / 1e9
    res = {"queries": args.queries, "base": args.base, "dim": args.dim, "k": args.k, "gflop": gflop,
           "machine": machine()}
    roof = run_child(textwrap.dedent(ROOFLINE.format(imports="", **fmt)))
    res["numpy_matmul"] = {"seconds": round(roof["seconds"], 2), "cpu_seconds": round(roof["cpu"], 2),
                           "gflops": round(gflop / roof["seconds"], 1)}
    for be in args.backends.split(","):
        # libraries are imported before the baseline RSS is read: the figure is the search's own
        imports = "import xling.lexicon.knn" + {"torch": "; import torch", "faiss": "; import faiss"}.get(be, "")
        r = run_child(textwrap.dedent(SEARCH.format(backend=be, imports=imports, **fmt)))
        res[be] = {"seconds": round(r["seconds"], 2), "gflops": round(gflop / r["seconds"], 1),
                   "fraction_of_roofline": round(roof["seconds"] / r["seconds"], 3),
                   "cpu_seconds": round(r["cpu"], 2),
                   "fraction_of_roofline_cpu_time": round(roof["cpu"] / r["cpu"], 3),
                   "peak_growth_mib": round(r["peak_growth_mib"], 1),
                   "peak_growth_over_matrices": round(r["peak_growth_mib"] / r["matrices_mib"], 3),
                   "matrices_mib": round(r["matrices_mib"], 1)}
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
