"""Reading and writing word vectors in every format people have: the entry points.

Each format is its own module behind one interface (:mod:`xling.data.formats`); this
module picks the format, then handles duplicates and NaN/inf rows the same way for all.

Every reader checks what a file claims (header sizes and counts) against the bytes it can
hold before allocating, and every problem with a file is one :class:`InputError` naming the
file and, where there is one, the line: a corrupt download cannot exhaust memory or come
through as a traceback (``tests/test_fuzz_readers.py``).

Formats (:class:`VecFormat`):

``text``
    word2vec / fastText text (``.vec``, ``.txt``, optionally gzip-compressed ``.gz``):
    an optional ``"n d"`` header, then ``word v1 ... vd`` per line. Lines are split from
    the right, so a word may contain spaces or U+00A0; undecodable bytes survive as
    surrogate escapes and are written back unchanged.
``word2vec``
    word2vec binary (``.bin`` that is not a fastText model): ``"n d\\n"`` then
    ``word<space><d little-endian float32>`` records.
``fasttext``
    fastText model (``.bin``, ``.ftz``), checked to its last byte before it is loaded: vectors of the in-vocabulary words, plus subword vectors
    for extra (out-of-vocabulary) words on request. Read only.
``gensim``
    gensim ``KeyedVectors.save`` files (``.kv``, ``.model``). They are Python pickles, so
    reading them needs ``allow_pickle=True``: never do that for untrusted files.
``cache``
    xling's binary cache: ``NAME.npy`` (float32, memory-mapped on read) plus ``NAME.words``
    (one word a line, UTF-8). Loads in well under a second at any size.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .embeddings import Embeddings, ReadReport
from .errors import InputError, XlingError
from .formats import (
    FASTTEXT_MAGIC,
    OnDuplicate,
    OnNonFinite,
    Progress,
    RawVectors,
    ReadOptions,
    VecFormat,
    WriteOptions,
    cache_words_path,
    detect_format,
    reader,
    writer,
)

__all__ = ["FASTTEXT_MAGIC", "OnDuplicate", "OnNonFinite", "Progress", "VecFormat", "cache_words_path",
           "detect_format", "load_embeddings", "nonfinite_rows", "save_embeddings"]


# ----------------------------------------------------------------- public API
def load_embeddings(
    path: str | os.PathLike,
    *,
    format: VecFormat | str = VecFormat.auto,
    max_vocab: int | None = None,
    on_duplicate: OnDuplicate | str = OnDuplicate.first,
    on_nonfinite: OnNonFinite | str = OnNonFinite.error,
    extra_words: Sequence[str] | None = None,
    allow_pickle: bool = False,
    mmap_cache: bool = True,
    encoding: str = "utf-8",
    progress: Progress | None = None,
) -> Embeddings:
    """Read word vectors from ``path`` (``"-"``: text from stdin).

    Parameters
    ----------
    format : VecFormat
        ``auto`` guesses from the name (and the magic number of ``.bin`` files).
    max_vocab : int, optional
        Read only the first ``max_vocab`` rows (files are usually in frequency order).
    on_duplicate : OnDuplicate
        What to do with a word seen twice; the count is in ``emb.report``.
    on_nonfinite : OnNonFinite
        What to do with rows holding NaN or inf.
    extra_words : sequence of str, optional
        fastText ``.bin`` only: also build vectors for these (out-of-vocabulary) words
        from their character n-grams; they are appended after the vocabulary.
    allow_pickle : bool
        gensim files only: they are pickles, which can run code. Only for trusted files.
    progress : callable(done, total), optional
        Called as the read advances with the bytes of the file read so far and the file's size
        (of the compressed file for a ``.gz``; 0 for stdin), whatever the format.

    Returns
    -------
    Embeddings
        with ``.report`` (:class:`ReadReport`) saying what was read and dropped.
    """
    fmt = VecFormat(format)
    on_duplicate = OnDuplicate(on_duplicate)
    on_nonfinite = OnNonFinite(on_nonfinite)
    name = os.fspath(path)
    if max_vocab is not None and max_vocab <= 0:
        raise XlingError(f"max_vocab must be positive, got {max_vocab}")
    if fmt is VecFormat.auto:
        fmt = detect_format(name)
    if name != "-" and not os.path.exists(name):
        raise InputError("no such file", name)
    if name != "-" and os.path.isdir(name):
        raise InputError("is a directory, not a vectors file", name)
    if extra_words and fmt is not VecFormat.fasttext:
        raise XlingError("vectors for out-of-vocabulary words need a fastText .bin model")

    opts = ReadOptions(max_vocab=max_vocab, encoding=encoding, progress=progress, extra_words=extra_words,
                       allow_pickle=allow_pickle, mmap=mmap_cache)
    return _finish(name, reader(fmt)(name, opts), on_duplicate, on_nonfinite)


def save_embeddings(
    emb: Embeddings,
    path: str | os.PathLike,
    *,
    format: VecFormat | str = VecFormat.auto,
    precision: int = 6,
    header: bool = True,
    progress: Progress | None = None,
) -> VecFormat:
    """Write ``emb`` to ``path`` atomically (``"-"``: text to stdout). Returns the format used.

    ``precision`` is the number of significant digits of the text format (``9`` is exact
    for float32); the binary formats are always exact.
    """
    fmt = VecFormat(format)
    name = os.fspath(path)
    if fmt is VecFormat.auto:
        fmt = detect_format(name, for_writing=True)
    writer(fmt)(emb, name, WriteOptions(precision=precision, header=header, progress=progress))
    return fmt


# ----------------------------------------------------------------- post-processing
def _finish(path: str, raw: RawVectors, on_duplicate: OnDuplicate, on_nonfinite: OnNonFinite) -> Embeddings:
    words, mat, line_of = raw.words, raw.matrix, raw.line_of
    if mat.ndim != 2 or mat.shape[0] == 0 or mat.shape[1] == 0:
        raise InputError(f"no vectors: the matrix is {' x '.join(map(str, mat.shape))}", path)
    keep: np.ndarray | None = None
    nonfinite_examples: list[str] = []
    n_nonfinite = 0
    if on_nonfinite is not OnNonFinite.keep:
        bad = nonfinite_rows(mat)
        if bad.size:
            if on_nonfinite is OnNonFinite.error:
                i = int(bad[0])
                raise InputError(f"non-finite value (NaN or inf) in the vector of {words[i]!r} "
                                 f"({bad.size} such rows; --drop-nonfinite drops them)", path, line_of(i))
            keep = np.ones(len(words), dtype=bool)
            keep[bad] = False
            n_nonfinite = int(bad.size)
            nonfinite_examples = [words[i] for i in bad[:5].tolist()]

    k2i: dict[str, int] = {}
    dups: list[int] = []
    for i, w in enumerate(words):
        if keep is not None and not keep[i]:
            continue
        j = k2i.get(w)
        if j is None:
            k2i[w] = i
        elif on_duplicate is OnDuplicate.error:
            raise InputError(f"duplicate word {w!r} (first at row {j + 1}; --on-duplicate first keeps the first)",
                             path, line_of(i))
        elif on_duplicate is OnDuplicate.first:
            dups.append(i)
        else:  # last
            dups.append(j)
            k2i[w] = i
    if dups:
        if keep is None:
            keep = np.ones(len(words), dtype=bool)
        keep[np.asarray(dups)] = False
    if keep is not None:
        idx = np.flatnonzero(keep)
        dup_examples = tuple(words[i] for i in dups[:5])
        words = [words[i] for i in idx.tolist()]
        mat = np.ascontiguousarray(mat[idx])
    else:
        dup_examples = ()
    rep = ReadReport(path=path, format=raw.format, rows_read=len(raw.words), rows_kept=len(words),
                     header=raw.header, duplicates_dropped=len(dups), nonfinite_dropped=n_nonfinite,
                     duplicate_examples=dup_examples, nonfinite_examples=tuple(nonfinite_examples),
                     truncated=raw.truncated)
    return Embeddings(words, mat, check_unique=False, report=rep)


def nonfinite_rows(mat: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Indices of the rows of ``mat`` holding NaN or inf, read chunk by chunk (memmap-friendly)."""
    out = []
    for s in range(0, mat.shape[0], chunk):
        c = np.asarray(mat[s:s + chunk])
        bad = ~np.isfinite(c).all(axis=1)
        if bad.any():
            out.append(np.flatnonzero(bad) + s)
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)
