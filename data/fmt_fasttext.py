"""fastText models (``.bin``): read only.

The vectors of the in-vocabulary words, plus subword vectors for extra (out-of-vocabulary)
words on request.

Before the fasttext library sees a file, :func:`check_model` walks its whole layout (header,
arguments, dictionary, both matrices, end of file) and checks every size and count against
the bytes the file actually has. A truncated or corrupt model is one :class:`InputError`
naming the file and the byte offset, found in memory bounded by the file's own size: the
library itself would trust a corrupt header (allocating whatever it claims) or read a
truncated matrix without complaint.

Layout (little-endian; fastText's ``FastText::saveModel``)::

    int32 magic, int32 version
    args: int32 dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate; float64 t
    dictionary: int32 size nwords nlabels; int64 ntokens pruneidx_size (-1: not pruned)
                size x (word bytes, NUL, int64 count, int8 type); pruneidx_size x (int32, int32)
    uint8 quant_input; input matrix; uint8 quant_output; output matrix
    dense matrix: int64 m n; m*n float32
    quantized matrix: uint8 qnorm; int64 m n; int32 codesize; codesize bytes; product quantizer;
                      if qnorm: m bytes of norm codes, product quantizer
    product quantizer: int32 dim nsubq dsub lastdsub; dim*256 float32 centroids
"""
from __future__ import annotations

import contextlib
import mmap
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .embeddings import Embeddings
from .errors import InputError, XlingError
from .formats import FASTTEXT_MAGIC, Progress, RawVectors, ReadOptions, WriteOptions

_MODEL_SUPERVISED = 3
_KSUB = 256  # centroids per sub-quantizer


def read(path: str, opts: ReadOptions) -> RawVectors:
    return _read_fasttext_bin(path, opts.max_vocab, opts.extra_words, opts.progress)


def write(emb: Embeddings, path: str, opts: WriteOptions) -> None:
    raise XlingError("a fastText .bin model cannot be made from vectors alone; "
                     "write .vec (text) or word2vec binary instead")


def _read_fasttext_bin(path: str, max_vocab: int | None, extra_words: Sequence[str] | None,
                       progress: Progress | None):
    try:
        import fasttext  # noqa: F401
        import fasttext.FastText as ft
    except ImportError as e:  # pragma: no cover
        raise XlingError(f"reading fastText .bin needs the fasttext package ({e})") from None
    check_model(path)
    try:
        with _quiet_stderr():
            model = ft._FastText(model_path=path)  # load_model without its stderr warning
    except (ValueError, RuntimeError, MemoryError) as e:  # fastText's message is several lines
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(f"not a readable fastText model ({first})", path) from None
    words = list(model.get_words(on_unicode_error="surrogateescape"))  # non-UTF-8 words survive
    if model.get_dimension() <= 0 or not words:
        raise InputError("not a readable fastText model: no words or dimension 0", path)
    if max_vocab is not None:
        words = words[:max_vocab]
    truncated = max_vocab is not None and len(words) == max_vocab
    extra = [w for w in (extra_words or []) if w]
    all_words = words + extra
    d = model.get_dimension()
    out = np.empty((len(all_words), d), dtype=np.float32)
    step = max(1, len(all_words) // 100)
    size = os.path.getsize(path)
    import fasttext_pybind

    vec = fasttext_pybind.Vector(d)
    for i, w in enumerate(all_words):
        # as bytes: a word that is not UTF-8 (read with surrogate escapes) gets its own vector
        model.f.getWordVector(vec, w.encode("utf-8", "surrogateescape"))
        out[i] = np.asarray(vec)
        if progress and (i % step == 0 or i == len(all_words) - 1):
            progress(size * (i + 1) // len(all_words), size)  # in bytes of the model, as every reader
    return RawVectors(all_words, out, "fasttext", (len(words), d), truncated, None)


@contextlib.contextmanager
def _quiet_stderr():
    """Silence what the C++ library prints on file descriptor 2 (our errors are ours)."""
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no stderr at all
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@dataclass(frozen=True)
class ModelLayout:
    """What :func:`check_model` found: enough to trust the file."""

    version: int
    dim: int
    nwords: int
    nlabels: int
    quantized: bool
    size: int


class _Cursor:
    def __init__(self, buf, path: str):
        self.buf, self.path, self.pos, self.size = buf, path, 0, len(buf)

    def fail(self, msg: str):
        raise InputError(f"not a valid fastText model: {msg} (byte {self.pos:,} of {self.size:,})", self.path)

    def need(self, nbytes: int, what: str) -> None:
        if nbytes < 0 or self.pos + nbytes > self.size:
            self.fail(f"truncated or corrupt: {what} needs {nbytes:,} bytes, {self.size - self.pos:,} left")

    def unpack(self, fmt: str, what: str) -> tuple:
        n = struct.calcsize(fmt)
        self.need(n, what)
        out = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return out

    def skip(self, nbytes: int, what: str) -> None:
        self.need(nbytes, what)
        self.pos += nbytes

    def flag(self, what: str) -> bool:
        (v,) = self.unpack("<B", what)
        if v > 1:
            self.pos -= 1
            self.fail(f"{what} flag is {v}, expected 0 or 1")
        return bool(v)


def check_model(path: str) -> ModelLayout:
    """Walk a fastText ``.bin`` from its header to its last byte; raise :class:`InputError` at
    the first size, count or flag that the file cannot back. Reads nothing into memory but
    the dictionary's words, one at a time."""
    size = os.path.getsize(path)
    if size == 0:
        raise InputError("empty file", path)
    with open(path, "rb") as f:
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        return _walk(_Cursor(buf, path))
    finally:
        buf.close()


def _walk(c: _Cursor) -> ModelLayout:
    magic, version = c.unpack("<ii", "the header")
    if magic != FASTTEXT_MAGIC:
        c.pos = 0
        c.fail("wrong magic number")
    if not 10 <= version <= 12:
        c.pos = 4
        c.fail(f"unknown version {version}")
    (dim, ws, epoch, min_count, neg, word_ngrams, loss, model, bucket, minn, maxn, lr_update,
     _t) = c.unpack("<12id", "the training arguments")
    if not 0 < dim <= 1 << 20:
        c.fail(f"dimension {dim}")
    if bucket < 0 or minn < 0 or maxn < 0 or word_ngrams < 0:
        c.fail(f"negative bucket, minn, maxn or wordNgrams ({bucket}, {minn}, {maxn}, {word_ngrams})")
    n_entries, nwords, nlabels, ntokens, prune = c.unpack("<iiiqq", "the dictionary header")
    if min(n_entries, nwords, nlabels, ntokens) < 0 or n_entries != nwords + nlabels:
        c.fail(f"dictionary counts do not add up: {n_entries} entries, {nwords} words, {nlabels} labels")
    if nwords == 0:
        c.fail("no words in the dictionary")
    # each entry is at least its NUL (real models hold an empty word), an int64 count and an int8 type
    c.need(9 * n_entries, f"a dictionary of {n_entries:,} entries")
    seen = [0, 0]
    buf = c.buf
    for i in range(n_entries):
        end = buf.find(b"\0", c.pos)
        if end < 0:
            c.fail(f"truncated or corrupt: dictionary entry {i + 1} has no end")
        c.pos = end + 1
        count, kind = c.unpack("<qb", f"dictionary entry {i + 1}")
        if count < 0 or kind not in (0, 1):
            c.fail(f"dictionary entry {i + 1} has count {count} and type {kind}")
        seen[kind] += 1
    if seen != [nwords, nlabels]:
        c.fail(f"the dictionary holds {seen[0]} words and {seen[1]} labels, its header says {nwords} and {nlabels}")
    if prune < -1:
        c.fail(f"pruned-index size {prune}")
    if prune > 0:
        c.skip(8 * prune, f"a pruned index of {prune:,} pairs")
    quant_in = c.flag("quantized input")
    rows_in = nwords + bucket if prune < 0 else None
    _matrix(c, quant_in, dim, rows_in, nwords, "input matrix")
    quant_out = c.flag("quantized output")
    rows_out = nlabels if model == _MODEL_SUPERVISED else nwords
    _matrix(c, quant_out, dim, rows_out, 0, "output matrix")
    if c.pos != c.size:
        c.fail(f"{c.size - c.pos:,} bytes of unexpected data after the model")
    return ModelLayout(version, dim, nwords, nlabels, quant_in, c.size)


def _matrix(c: _Cursor, quantized: bool, dim: int, rows: int | None, min_rows: int, what: str) -> None:
    if quantized:
        qnorm = c.flag(f"{what} norm")
    m, n = c.unpack("<qq", f"the {what} shape")
    if n != dim or m < min_rows or (rows is not None and m != rows):
        want = f"{rows:,}" if rows is not None else f"at least {min_rows:,}"
        c.fail(f"{what} is {m:,} x {n:,}, expected {want} x {dim}")
    if not quantized:
        c.skip(4 * m * n, f"the {what} ({m:,} x {n:,} float32)")
        return
    (codesize,) = c.unpack("<i", f"the {what} code size")
    c.skip(codesize, f"the {what} codes")
    _quantizer(c, dim, what)
    if qnorm:
        c.skip(m, f"the {what} norm codes")
        _quantizer(c, 1, what + " norm")


def _quantizer(c: _Cursor, dim: int, what: str) -> None:
    qdim, nsubq, dsub, lastdsub = c.unpack("<4i", f"the {what} quantizer")
    if qdim != dim or nsubq <= 0 or dsub <= 0 or lastdsub <= 0:
        c.fail(f"{what} quantizer has dim {qdim}, {nsubq} sub-quantizers of {dsub} (last {lastdsub})")
    c.skip(4 * qdim * _KSUB, f"the {what} centroids")
