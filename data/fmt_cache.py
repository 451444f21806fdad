"""xling's binary cache: ``NAME.npy`` (float32, memory-mapped on read) plus ``NAME.words``
(one word a line, UTF-8). Loads in well under a second at any size.
"""
from __future__ import annotations

import numpy as np

from .atomic import atomic_open, atomic_path
from .embeddings import Embeddings
from .errors import InputError, XlingError
from .formats import RawVectors, ReadOptions, WriteOptions, cache_words_path


def read(path: str, opts: ReadOptions) -> RawVectors:
    return _read_cache(path, opts.max_vocab, opts.mmap, opts.encoding)


def write(emb: Embeddings, path: str, opts: WriteOptions) -> None:
    _write_cache(emb, path)


def _read_cache(path: str, max_vocab: int | None, use_mmap: bool, encoding: str):
    wpath = cache_words_path(path)
    if not wpath.exists():
        raise InputError(f"the words file {wpath} that goes with this matrix is missing", path)
    try:
        mat = np.load(path, mmap_mode="r" if use_mmap else None, allow_pickle=False)
    except ValueError as e:
        raise InputError(f"not a float matrix in .npy format: {e}", path) from None
    if mat.ndim != 2 or mat.dtype.kind != "f":
        raise InputError(f"expected a 2-d float matrix, found shape {mat.shape} dtype {mat.dtype}", path)
    with open(wpath, "rb") as f:
        raw = f.read()
    words = raw.decode(encoding, "surrogateescape").split("\n")
    if words and words[-1] == "":
        words.pop()
    if len(words) != mat.shape[0]:
        raise InputError(f"{len(words)} words but the matrix has {mat.shape[0]} rows", wpath,
                         min(len(words), mat.shape[0]) + 1)
    if max_vocab is not None:
        words, mat = words[:max_vocab], mat[:max_vocab]
    if mat.dtype != np.float32:
        mat = mat.astype(np.float32)
    return RawVectors(words, mat, "cache", None, max_vocab is not None and len(words) == max_vocab, 1)


def _write_cache(emb: Embeddings, path: str):
    if not path.endswith(".npy"):
        raise XlingError(f"a cache file name must end in .npy: {path}")
    bad = next((w for w in emb.words if "\n" in w or "\r" in w), None)
    if bad is not None:
        raise XlingError(f"word {bad!r} contains a line break and cannot go into a words file")
    wpath = cache_words_path(path)
    with atomic_path(path, suffix=".npy") as tmp:
        with open(tmp, "wb") as f:
            np.lib.format.write_array(f, np.ascontiguousarray(emb.vectors, dtype=np.float32), allow_pickle=False)
        with atomic_open(wpath, "wb") as wf:
            for s in range(0, len(emb), 100000):
                wf.write(("\n".join(emb.words[s:s + 100000]) + "\n").encode("utf-8", "surrogateescape"))
