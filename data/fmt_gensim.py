"""gensim ``KeyedVectors.save`` files (``.kv``, ``.model``).

They are Python pickles, so reading them needs ``allow_pickle=True``: never for untrusted files.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .embeddings import Embeddings
from .errors import InputError
from .formats import RawVectors, ReadOptions, WriteOptions


def read(path: str, opts: ReadOptions) -> RawVectors:
    return _read_gensim(path, opts.max_vocab, opts.allow_pickle)


def write(emb: Embeddings, path: str, opts: WriteOptions) -> None:
    _write_gensim(emb, path)


def _read_gensim(path: str, max_vocab: int | None, allow_pickle: bool):
    if not allow_pickle:
        raise InputError("gensim's native format is a Python pickle, which can run code when loaded; "
                         "pass --allow-pickle (allow_pickle=True) only for files you trust", path)
    from gensim.models import KeyedVectors

    try:
        obj = KeyedVectors.load(path, mmap="r")
    except Exception as e:  # gensim raises many kinds for a bad pickle
        raise InputError(f"not a readable gensim KeyedVectors file: {type(e).__name__}: {e}", path) from None
    kv = getattr(obj, "wv", obj)
    words = list(kv.index_to_key)
    mat = kv.vectors
    if max_vocab is not None:
        words, mat = words[:max_vocab], mat[:max_vocab]
    return RawVectors(words, np.asarray(mat, dtype=np.float32), "gensim", None,
                      max_vocab is not None and len(words) < len(kv.index_to_key), None)


def _write_gensim(emb: Embeddings, path: str):
    kv = emb.to_keyedvectors()
    target = Path(path)
    with atomic_path(target, suffix=target.suffix) as tmp:
        kv.save(os.fspath(tmp), sep_limit=1 << 62)  # one self-contained file
