"""Read a Hugging Face model folder and write it back with a larger vocabulary.

Only safetensors weights are read (never pickles). The folder is rewritten into a temporary
folder beside the output and renamed into place, so a failed run leaves nothing half-written.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.errors import InputError, XlingError
from ..data.jsonfile import read_json

INPUT_SUFFIXES = ("word_embeddings.weight", "embed_tokens.weight", "wte.weight", "shared.weight",
                  "embed_in.weight", "word_embedding.weight")
# Weight formats that would be stale after the rewrite: never copied to the output.
STALE_WEIGHTS = (".bin", ".h5", ".msgpack", ".onnx", ".ot", ".pt", ".pth", ".ckpt", ".gguf")


@dataclass
class Checkpoint:
    """A model folder: config, tensors (torch, original dtypes), tokenizer, and vocabulary roles.

    Attributes
    ----------
    input_key : str
        Name of the input embedding matrix, shape (n_rows, d).
    output_keys : list of str
        Other 2-D tensors with one row per token (untied LM heads / output embeddings).
    bias_keys : list of str
        1-D tensors with one entry per token (LM head biases).
    tied : bool
        Whether the output embedding shares the input matrix (kept that way).
    """

    path: Path
    config: dict
    tensors: dict
    metadata: dict | None
    tokenizer: object
    input_key: str
    output_keys: list = field(default_factory=list)
    bias_keys: list = field(default_factory=list)
    tied: bool = True

    @property
    def n_rows(self) -> int:
        return int(self.tensors[self.input_key].shape[0])

    def matrix(self, key: str | None = None) -> np.ndarray:
        """A float32 numpy copy of a per-token tensor (default: the input embeddings)."""
        return self.tensors[key or self.input_key].detach().to(dtype=_torch().float32).numpy().copy()


def _torch():
    import torch

    return torch


def load_tokenizer_only(path: str | os.PathLike):
    """The ``tokenizers.Tokenizer`` of a model folder (``tokenizer.json``), without the weights."""
    from tokenizers import Tokenizer

    path = Path(path)
    if not path.is_dir():
        raise InputError("not a model folder", path)
    if not (path / "tokenizer.json").is_file():
        raise InputError("no tokenizer.json in the model folder (a fast Hugging Face tokenizer is needed)", path)
    try:
        return Tokenizer.from_file(str(path / "tokenizer.json"))
    except Exception as e:  # the tokenizers library raises plain Exceptions
        raise InputError(f"cannot read tokenizer: {e}", path / "tokenizer.json") from None


def read_model_dir(path: str | os.PathLike) -> tuple[dict, object]:
    """Check a model folder and read its config and tokenizer (not the weights).

    Raises
    ------
    InputError
        When ``tokenizer.json``, ``model.safetensors`` or ``config.json`` is missing.
    """
    path = Path(path)
    tokenizer = load_tokenizer_only(path)
    weights = path / "model.safetensors"
    if not weights.is_file():
        other = "model.safetensors.index.json (sharded)" if (path / "model.safetensors.index.json").exists() \
            else "pytorch_model.bin" if (path / "pytorch_model.bin").exists() else None
        hint = f"; found {other}, which is not read: save it as one model.safetensors" if other else ""
        raise InputError(f"no model.safetensors weights in the model folder{hint}", path)
    if not (path / "config.json").is_file():
        raise InputError("no config.json in the model folder", path)
    return read_json(path / "config.json"), tokenizer


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load ``config.json``, ``tokenizer.json`` and ``model.safetensors`` from a model folder.

    Raises
    ------
    InputError
        When the folder lacks one of them, or no input embedding matrix is found.
    """
    from safetensors import safe_open

    path = Path(path)
    config, tokenizer = read_model_dir(path)
    weights = path / "model.safetensors"
    tensors = {}
    try:
        with safe_open(str(weights), framework="pt") as f:
            metadata = f.metadata()
            for k in f.keys():
                tensors[k] = f.get_tensor(k)
    except Exception as e:
        raise InputError(f"cannot read safetensors: {e}", weights) from None
    ck = Checkpoint(path, config, tensors, metadata, tokenizer, input_key="")
    _find_roles(ck)
    return ck


def _find_roles(ck: Checkpoint) -> None:
    t = ck.tensors
    inputs = [k for k in t if k.endswith(INPUT_SUFFIXES) and t[k].ndim == 2]
    if not inputs:
        vs = ck.config.get("vocab_size")
        inputs = [k for k in t if t[k].ndim == 2 and "embed" in k and t[k].shape[0] == vs]
    if not inputs:
        raise InputError("no input embedding matrix found in model.safetensors "
                         f"(looked for *{'/*'.join(INPUT_SUFFIXES)})", ck.path / "model.safetensors")
    ck.input_key = min(inputs, key=len)
    n, d = t[ck.input_key].shape
    ck.output_keys = [k for k in t if k != ck.input_key and t[k].ndim == 2 and t[k].shape[0] == n
                      and t[k].shape[1] == d]
    ck.bias_keys = [k for k in t if t[k].ndim == 1 and t[k].shape[0] == n]
    ck.tied = bool(ck.config.get("tie_word_embeddings", True))
    tok_size = ck.tokenizer.get_vocab_size(with_added_tokens=True)
    if tok_size > n:
        raise InputError(f"tokenizer has {tok_size} tokens but the embedding matrix {ck.input_key} "
                         f"has only {n} rows", ck.path)


def is_lm(config: dict) -> bool:
    """True for causal language models (the loss is then reported by ``vocab eval``)."""
    return any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in config.get("architectures") or [])


def write_checkpoint(ck: Checkpoint, out: str | os.PathLike, tensors: dict, tokenizer, new_tokens: list[str],
                     report: dict, *, force: bool = False) -> Path:
    """Write the expanded folder: weights, config, tokenizer files, copied extras, ``xling-vocab.json``.

    Parameters
    ----------
    tensors : dict of str → torch.Tensor
        All tensors of the new checkpoint.
    tokenizer : tokenizers.Tokenizer
        The tokenizer with the new tokens added (its ids must be the new rows).
    new_tokens : list of str
        Tokens appended to ``vocab.txt`` (when the source folder has one), in id order.
    """
    from safetensors.torch import save_file

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise XlingError(f"{out}: exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise XlingError(f"{out}: folder exists and is not empty (use --force to replace it)")
    if out.resolve() == ck.path.resolve():
        raise XlingError(f"{out}: the output folder must differ from the input model folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        # 1. copy everything that is not rewritten and not stale weights
        rewritten = {"model.safetensors", "config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json"}
        for item in ck.path.iterdir():
            if item.name in rewritten or item.name.endswith(STALE_WEIGHTS) or item.name.startswith("."):
                continue
            if item.name in ("onnx", "openvino") and item.is_dir():
                continue
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, tmp / item.name)
        # 2. weights (safetensors only), config with the new vocabulary size
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp / "model.safetensors"),
                  metadata=ck.metadata or {"format": "pt"})
        config = dict(ck.config)
        config["vocab_size"] = int(tensors[ck.input_key].shape[0])
        _write_json(tmp / "config.json", config)
        # 3. tokenizer files
        tokenizer.save(str(tmp / "tokenizer.json"))
        if (ck.path / "vocab.txt").is_file():
            with open(ck.path / "vocab.txt", encoding="utf-8", newline="") as f:
                text = f.read()
            if text and not text.endswith("\n"):
                text += "\n"
            with open(tmp / "vocab.txt", "w", encoding="utf-8", newline="") as f:
                f.write(text + "".join(t + "\n" for t in new_tokens))
        if (ck.path / "tokenizer_config.json").is_file():
            tc = read_json(ck.path / "tokenizer_config.json")
            if isinstance(tc.get("added_tokens_decoder"), dict):
                for t in new_tokens:
                    tc["added_tokens_decoder"][str(tokenizer.token_to_id(t))] = {
                        "content": t, "lstrip": False, "normalized": True, "rstrip": False,
                        "single_word": True, "special": False}
            _write_json(tmp / "tokenizer_config.json", tc)
        _write_json(tmp / "xling-vocab.json", report)
        # 4. swap into place
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_json(path: Path, obj: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")
