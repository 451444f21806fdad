"""word2vec binary (``.bin`` that is not a fastText model).

``"n d\\n"``, then ``word<space><d little-endian float32>`` per record, records separated by
``\\n`` (original word2vec) or not at all (gensim).
"""
from __future__ import annotations

import mmap
import os
import sys

import numpy as np

from .atomic import atomic_open
from .embeddings import Embeddings
from .errors import InputError, XlingError
from .formats import Progress, RawVectors, ReadOptions, WriteOptions, parse_header


def read(path: str, opts: ReadOptions) -> RawVectors:
    return _read_word2vec_bin(path, opts.max_vocab, opts.encoding, opts.progress)


def write(emb: Embeddings, path: str, opts: WriteOptions) -> None:
    _write_word2vec_bin(emb, path, opts.progress)


def _read_word2vec_bin(path: str, max_vocab: int | None, encoding: str, progress: Progress | None):
    with open(path, "rb") as f:
        if os.path.getsize(path) == 0:
            raise InputError("empty file", path)
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        nl = buf.find(b"\n", 0, 256)
        header = parse_header(buf[:nl]) if nl > 0 else None
        if header is None:
            raise InputError("not a word2vec binary file: the first line must be '<rows> <dim>'", path, 1)
        n, d = header
        if d <= 0:
            raise InputError(f"header gives dimension {d}", path, 1)
        if n == 0:
            raise InputError("header says 0 vectors", path, 1)
        rec = 4 * d
        # every record is at least a 1-byte word, a space and 4*d bytes: a header that claims
        # more than the file can hold is refused before anything is allocated
        need, have = n * (rec + 2), len(buf) - (nl + 1)
        if need > have:
            raise InputError(f"truncated file or wrong header: {n:,} vectors of dimension {d:,} need at least "
                             f"{need:,} bytes, the file has {have:,} after its header", path, 1)
        n_read = n if max_vocab is None else min(n, max_vocab)
        out = np.empty((n_read, d), dtype=np.float32)
        out_bytes = out.view(np.uint8).reshape(-1)
        words: list[str] = []
        pos = nl + 1
        total = len(buf)
        step = max(1, n_read // 100)
        for i in range(n_read):
            # records may be separated by '\n' (original word2vec) or not (gensim)
            while pos < total and buf[pos] in (10, 13):
                pos += 1
            sp = buf.find(b" ", pos, pos + 100000)
            if sp < 0:
                raise InputError(f"truncated: header says {n} vectors, record {i + 1} is incomplete", path,
                                 i + 2)
            w = buf[pos:sp].decode(encoding, "surrogateescape")
            if not w:
                raise InputError(f"record {i + 1} has an empty word", path, i + 2)
            if sp + 1 + rec > total:
                raise InputError(f"truncated: header says {n} vectors, the file ends inside record {i + 1} "
                                 f"({w!r})", path, i + 2)
            out_bytes[i * rec:(i + 1) * rec] = np.frombuffer(buf, dtype=np.uint8, count=rec, offset=sp + 1)
            words.append(w)
            pos = sp + 1 + rec
            if progress and (i % step == 0 or i == n_read - 1):
                progress(pos, total)
        if max_vocab is None or n_read == n:
            rest = buf[pos:min(total, pos + 2)].strip() if pos < total else b""
            if rest:
                raise InputError(f"header says {n} vectors but there is more data after the last one", path,
                                 n + 2)
        if sys.byteorder != "little":  # pragma: no cover
            out.byteswap(inplace=True)
        return RawVectors(words, out, "word2vec", header, n_read < n, 2)
    finally:
        buf.close()


def _write_word2vec_bin(emb: Embeddings, path: str, progress: Progress | None):
    n, d = emb.shape
    bad = next((w for w in emb.words if " " in w or "\n" in w or not w), None)
    if bad is not None:
        raise XlingError(f"word {bad!r} cannot be written to word2vec binary (contains a space or newline)")
    chunk = 65536
    with atomic_open(path, "wb") as f:
        f.write(f"{n} {d}\n".encode())
        for s in range(0, n, chunk):
            rows = np.ascontiguousarray(emb.vectors[s:s + chunk], dtype="<f4")
            parts = []
            for w, r in zip(emb.words[s:s + chunk], rows, strict=True):
                parts.append(w.encode("utf-8", "surrogateescape") + b" ")
                parts.append(r.tobytes())
                parts.append(b"\n")
            f.write(b"".join(parts))
            if progress:
                progress(min(s + chunk, n), n)
