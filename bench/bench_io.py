"""Parsing speed of text .vec files against gensim, and loading the binary cache.

    python bench/bench_io.py [--rows 200000] [--dim 300] [--repeat 3]

Writes a synthetic ROWS x DIM .vec (6 significant digits, as fastText writes) under
$XLING_BENCH (default: the en-fr benchmark folder in the XDG cache, see `xling data bench`), then times in fresh processes:
gensim ``KeyedVectors.load_word2vec_format``, ``xling.data.vectors.load_embeddings`` on the
same file, and loading xling's cache (.npy + .words). Prints medians and the speed-up ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import BENCH_DIR, machine, run_child  # noqa: E402

CHILD = r"""
import json, time, sys
from _util import peak_rss_mib
t = time.perf_counter()
{body}
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "peak_rss_mib": peak_rss_mib()}}))
"""


def child(body: str) -> dict:
    return run_child(CHILD.format(body=body))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from xling.data.embeddings import Embeddings
    from xling.data.vectors import save_embeddings

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    vec = BENCH_DIR / f"synth-{args.rows}x{args.dim}.vec"
    npy = BENCH_DIR / f"synth-{args.rows}x{args.dim}.npy"
    if not vec.exists() or not npy.exists():
        rng = np.random.default_rng(0)
        x = (rng.standard_normal((args.rows, args.dim)) * 0.3).astype(np.float32)
        emb = Embeddings([f"w{i}" for i in range(args.rows)], x)
        t = time.perf_counter()
        save_embeddings(emb, vec)
        print(f"wrote {vec} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        save_embeddings(emb, npy)
        del x, emb
    size_mb = vec.stat().st_size / 1e6

    res = {"rows": args.rows, "dim": args.dim, "file_mb": round(size_mb, 1), "machine": machine()}
    runs = {"gensim": [], "xling": [], "cache": []}
    for _ in range(args.repeat):  # interleaved, so load on the machine hits both alike
        runs["gensim"].append(child(f"from gensim.models import KeyedVectors\n"
                                    f"kv = KeyedVectors.load_word2vec_format({str(vec)!r})"))
        runs["xling"].append(child(f"from xling.data.vectors import load_embeddings\n"
                                   f"e = load_embeddings({str(vec)!r})"))
        runs["cache"].append(child(f"from xling.data.vectors import load_embeddings\n"
                                   f"e = load_embeddings({str(npy)!r}); e.key_to_index"))
    for k, v in runs.items():
        secs = sorted(r["seconds"] for r in v)
        res[k] = {"median_s": round(secs[len(secs) // 2], 3), "all_s": [round(s, 3) for s in secs],
                  "peak_rss_mib": round(max(r["peak_rss_mib"] for r in v), 1)}
    res["gensim_mb_per_s"] = round(size_mb / res["gensim"]["median_s"], 1)
    res["xling_mb_per_s"] = round(size_mb / res["xling"]["median_s"], 1)
    res["speedup_vs_gensim"] = round(res["gensim"]["median_s"] / res["xling"]["median_s"], 2)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
