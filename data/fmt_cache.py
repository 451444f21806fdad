"""xling's binary cache: ``NAME.npy`` (float32, memory-mapped on read) plus ``NAME.words``
(one word a line, UTF-8). Loads in well under a second at any size.
"""
from __future__ import annotations

import os

import numpy as np

from .atomic import atomic_paths
from .embeddings import Embeddings
from .errors import InputError, XlingError
from .formats import RawVectors, ReadOptions, WriteOptions, cache_words_path


def read(path: str, opts: ReadOptions) -> RawVectors:
    return _read_cache(path, opts.max_vocab, opts.mmap, opts.encoding)


def write(emb: Embeddings, path: str, opts: WriteOptions) -> None:
    _write_cache(emb, path)


def _read_cache(path: str, max_vocab: int | None, use_mmap: bool, encoding: str) -> RawVectors:
    wpath = cache_words_path(path)
    if not wpath.exists():
        raise InputError(f"the words file {wpath} that goes with this matrix is missing", path)
    _check_npy(path)
    try:
        mat = np.load(path, mmap_mode="r" if use_mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"not a float matrix in .npy format: {e}", path) from None
    if mat.ndim != 2 or mat.dtype.kind != "f":
        raise InputError(f"expected a 2-d float matrix, found shape {mat.shape} dtype {mat.dtype}", path)
    words = read_words(wpath, encoding)
    if len(words) != mat.shape[0]:
        raise InputError(f"{len(words)} words but the matrix has {mat.shape[0]} rows", wpath,
                         min(len(words), mat.shape[0]) + 1)
    if max_vocab is not None:
        words, mat = words[:max_vocab], mat[:max_vocab]
    if mat.dtype != np.float32:
        mat = mat.astype(np.float32)
    return RawVectors(words, mat, "cache", None, max_vocab is not None and len(words) == max_vocab, 1)


def _check_npy(path: str) -> None:
    """The ``.npy`` header's shape and dtype must account for the file's bytes exactly (checked
    before numpy allocates or maps anything)."""
    fmt = np.lib.format
    size = os.path.getsize(path)
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _fortran, dtype = read_header(f)
            start = f.tell()
    except (ValueError, OSError, EOFError, SyntaxError, UnicodeDecodeError) as e:
        raise InputError(f"not a matrix in .npy format ({str(e).splitlines()[0] if str(e) else type(e).__name__})",
                         path) from None
    if len(shape) != 2 or dtype.kind != "f":
        raise InputError(f"expected a 2-d float matrix, found shape {shape} dtype {dtype}", path)
    need = shape[0] * shape[1] * dtype.itemsize
    if need != size - start:
        raise InputError(f"the header says a {shape[0]:,} x {shape[1]:,} {dtype} matrix ({need:,} bytes), "
                         f"the file has {size - start:,} bytes of data", path)


def read_words(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    """One word a line; ``\\r\\n`` line ends are accepted. An empty word or a carriage return
    inside a word is an error naming the line (the writer never makes either)."""
    with open(path, "rb") as f:
        raw = f.read()
    words = raw.decode(encoding, "surrogateescape").removeprefix("\ufeff").split("\n")  # a BOM is no word
    if words and words[-1] == "":
        words.pop()
    for i, w in enumerate(words):
        if w.endswith("\r"):
            w = words[i] = w[:-1]
        if not w or "\r" in w:
            raise InputError("empty word" if not w else "carriage return inside a word", path, i + 1)
    return words


def _write_cache(emb: Embeddings, path: str):
    if not path.endswith(".npy"):
        raise XlingError(f"a cache file name must end in .npy: {path}")
    bad = next((w for w in emb.words if "\n" in w or "\r" in w), None)
    if bad is not None:
        raise XlingError(f"word {bad!r} contains a line break and cannot go into a words file")
    wpath = cache_words_path(path)
    # the pair is all or nothing: both written to temporaries, renamed only when both are complete
    with atomic_paths([path, wpath], [".npy", ""]) as (tmp, wtmp):
        with open(tmp, "wb") as f:
            np.lib.format.write_array(f, np.ascontiguousarray(emb.vectors, dtype=np.float32), allow_pickle=False)
        with open(wtmp, "wb") as wf:
            for s in range(0, len(emb), 100000):
                wf.write(("\n".join(emb.words[s:s + 100000]) + "\n").encode("utf-8", "surrogateescape"))
