"""Readers and writers for every word-vector format people have.

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
    fastText model (``.bin``): vectors of the in-vocabulary words, plus subword vectors
    for extra (out-of-vocabulary) words on request. Read only.
``gensim``
    gensim ``KeyedVectors.save`` files (``.kv``, ``.model``). They are Python pickles, so
    reading them needs ``allow_pickle=True``: never do that for untrusted files.
``cache``
    xling's binary cache: ``NAME.npy`` (float32, memory-mapped on read) plus ``NAME.words``
    (one word a line, UTF-8). Loads in well under a second at any size.
"""
from __future__ import annotations

import gzip
import io
import mmap
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .atomic import atomic_open, atomic_path
from .embeddings import Embeddings, ReadReport
from .errors import InputError, XlingError

Progress = Callable[[int, int], None]  # (done, total) in bytes or rows

FASTTEXT_MAGIC = 793712314
_BLOCK = 32 << 20  # bytes of text parsed at a time


class VecFormat(str, Enum):
    auto = "auto"
    text = "text"
    word2vec = "word2vec"
    fasttext = "fasttext"
    gensim = "gensim"
    cache = "cache"


class OnDuplicate(str, Enum):
    first = "first"  # keep the first row of a word, drop later ones (reported)
    last = "last"  # keep the last row
    error = "error"  # reject the file


class OnNonFinite(str, Enum):
    error = "error"  # reject the file at the first NaN/inf row
    drop = "drop"  # drop such rows (reported)
    keep = "keep"  # keep them (for `xling info`)


# ----------------------------------------------------------------- format detection
def cache_words_path(path: str | os.PathLike) -> Path:
    """The words file that goes with a cache matrix ``NAME.npy``: ``NAME.words``."""
    p = Path(path)
    return p.with_name(p.name[:-4] + ".words") if p.name.endswith(".npy") else p.with_name(p.name + ".words")


def detect_format(path: str | os.PathLike, for_writing: bool = False) -> VecFormat:
    """Guess a format from the file name and, for ``.bin`` files being read, the magic number."""
    name = os.fspath(path)
    if name == "-":
        return VecFormat.text
    low = name.lower()
    if low.endswith(".npy"):
        return VecFormat.cache
    if low.endswith((".kv", ".model", ".kv.gz")):
        return VecFormat.gensim
    if low.endswith(".bin"):
        if for_writing:
            return VecFormat.word2vec
        try:
            with open(name, "rb") as f:
                head = f.read(4)
        except FileNotFoundError:
            raise InputError("no such file", name) from None
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", name) from None
        if len(head) == 4 and int.from_bytes(head, "little", signed=True) == FASTTEXT_MAGIC:
            return VecFormat.fasttext
        return VecFormat.word2vec
    return VecFormat.text


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
        Called as the read advances (bytes for text, rows otherwise).

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

    if fmt is VecFormat.text:
        words, mat, report = _read_text(name, max_vocab, encoding, progress)
    elif fmt is VecFormat.word2vec:
        words, mat, report = _read_word2vec_bin(name, max_vocab, encoding, progress)
    elif fmt is VecFormat.fasttext:
        words, mat, report = _read_fasttext_bin(name, max_vocab, extra_words, progress)
    elif fmt is VecFormat.gensim:
        words, mat, report = _read_gensim(name, max_vocab, allow_pickle)
    elif fmt is VecFormat.cache:
        words, mat, report = _read_cache(name, max_vocab, mmap_cache, encoding)
    else:  # pragma: no cover - enum is exhaustive
        raise XlingError(f"unknown format {fmt}")
    return _finish(name, words, mat, report, on_duplicate, on_nonfinite)


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
    if fmt is VecFormat.text:
        _write_text(emb, name, precision, header, progress)
    elif fmt is VecFormat.word2vec:
        _write_word2vec_bin(emb, name, progress)
    elif fmt is VecFormat.cache:
        _write_cache(emb, name)
    elif fmt is VecFormat.gensim:
        _write_gensim(emb, name)
    elif fmt is VecFormat.fasttext:
        raise XlingError("a fastText .bin model cannot be made from vectors alone; "
                         "write .vec (text) or word2vec binary instead")
    return fmt


# ----------------------------------------------------------------- post-processing
def _finish(path: str, words: list[str], mat: np.ndarray, report: dict, on_duplicate: OnDuplicate,
            on_nonfinite: OnNonFinite) -> Embeddings:
    keep: np.ndarray | None = None
    line_of = report.pop("line_of", lambda i: i + 1)
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
    rep = ReadReport(path=path, format=report["format"], rows_read=report["rows_read"], rows_kept=len(words),
                     header=report.get("header"), duplicates_dropped=len(dups), nonfinite_dropped=n_nonfinite,
                     duplicate_examples=dup_examples, nonfinite_examples=tuple(nonfinite_examples),
                     truncated=report.get("truncated", False))
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


# ----------------------------------------------------------------- text format
def _open_binary(path: str):
    if path == "-":
        return sys.stdin.buffer, None
    size = os.path.getsize(path)
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb"), size
    return open(path, "rb"), size


def magic_gz(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _parse_header(line: bytes) -> tuple[int, int] | None:
    parts = line.split()
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[0]), int(parts[1])
    return None


class _TextParser:
    """Parses blocks of complete lines of a ``.vec`` file into words and a float32 matrix."""

    def __init__(self, path: str, dim: int | None, encoding: str):
        self.path = path
        self.dim = dim
        self.encoding = encoding

    def _error(self, msg: str, line: int):
        raise InputError(msg, self.path, line)

    def parse(self, block: bytes, first_line: int) -> tuple[list[str], np.ndarray]:
        """``block`` holds complete lines (each ending in ``\\n``); ``first_line`` is the
        1-based file line number of its first line.

        Fast path: the word ends at the first space and numpy's C parser reads the rest.
        Any surprise (a word with spaces, a bad row) sends the block to :meth:`_parse_slow`,
        which splits each line from the right and names the first bad line.
        """
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
        lines = block.split(b"\n")
        lines.pop()  # after the final newline
        parts = [ln.partition(b" ") for ln in lines]
        if self.dim is None:
            self.dim = len(parts[0][2].split())
            if self.dim == 0:
                self._error("no vector values on the line", first_line)
        d = self.dim
        mat = None
        if b"\n\n" not in block and not block.startswith(b"\n"):
            try:
                mat = np.loadtxt(io.BytesIO(b"\n".join([p[2] for p in parts])), dtype=np.float32,
                                 comments=None, ndmin=2)
            except ValueError:
                mat = None
        if mat is None or mat.shape != (len(lines), d) or any(not p[0] for p in parts):
            return self._parse_slow(lines, first_line)
        enc = self.encoding
        return [p[0].decode(enc, "surrogateescape") for p in parts], mat

    def _parse_slow(self, lines: list[bytes], first_line: int) -> tuple[list[str], np.ndarray]:
        d = self.dim
        words: list[str] = []
        mat = np.empty((len(lines), d), dtype=np.float32)
        for i, raw in enumerate(lines):
            lineno = first_line + i
            line = raw.rstrip(b" \t")
            if not line:
                self._error("empty line", lineno)
            fields = line.rsplit(b" ", d)  # the last d fields are numbers, the rest is the word
            if len(fields) < d + 1:
                self._error(f"expected {d} values after the word, found {len(fields) - 1}", lineno)
            word = fields[0]
            # a word may contain spaces ("New York"), but one ending in a number is far more
            # likely a row with too many values
            if b" " in word and _is_number(word.rsplit(b" ", 1)[-1]):
                self._error(f"expected {d} values after the word, found {len(line.split(b' ')) - 1}", lineno)
            if not word.strip(b" "):
                self._error("line starts with a space: empty word", lineno)
            for f in fields[1:]:
                if not _is_number(f):
                    txt = f.decode(self.encoding, "backslashreplace")[:40]
                    self._error(f"not a number: {txt!r}" if f else "two spaces in a row: empty value", lineno)
            mat[i] = np.array(fields[1:], dtype=np.float32)
            words.append(word.decode(self.encoding, "surrogateescape"))
        return words, mat


def _is_number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _read_text(path: str, max_vocab: int | None, encoding: str, progress: Progress | None):
    f, size = _open_binary(path)
    try:
        first = f.readline()
        bom = first.startswith(b"\xef\xbb\xbf")
        if bom:
            first = first[3:]
        if not first.strip():
            if not first:
                raise InputError("empty file", path)
            raise InputError("first line is empty", path, 1)
        header = _parse_header(first)
        if header is not None:
            n_hdr, d_hdr = header
            if d_hdr <= 0:
                raise InputError(f"header gives dimension {d_hdr}", path, 1)
            parser = _TextParser(path, d_hdr, encoding)
            pending = b""
            line_no = 2
        else:
            n_hdr = None
            parser = _TextParser(path, None, encoding)
            pending = first if first.endswith(b"\n") else first + b"\n"
            line_no = 1
        limit = max_vocab if max_vocab is not None else None
        workers = _parallel_workers(path, size, max_vocab)
        if workers > 1:
            if parser.dim is None:
                parser.dim = len(first.partition(b" ")[2].split())
            body_start = f.tell() if header is not None else (3 if bom else 0)
            words, mat = _read_text_parallel(path, body_start, size, parser.dim, header is not None, workers,
                                             encoding, progress)
            if n_hdr is not None and len(words) != n_hdr:
                if len(words) > n_hdr:
                    raise InputError(f"header says {n_hdr} rows but there are more", path, 1 + n_hdr + 1)
                raise InputError(f"header says {n_hdr} rows but the file has {len(words)}", path, 1)
            offset = 2 if header is not None else 1
            return words, mat, {"format": "text", "rows_read": len(words), "header": header, "truncated": False,
                                "line_of": lambda i: i + offset}
        out = None
        if n_hdr:
            rows = n_hdr if limit is None else min(n_hdr, limit)
            plausible = size is None or magic_gz(path) or rows * parser.dim * 2 <= size
            if plausible:  # a lying header must not make us allocate terabytes
                out = np.empty((rows, parser.dim), dtype=np.float32)
        chunks: list[np.ndarray] = []
        words: list[str] = []
        done_bytes = len(first)
        truncated = False
        for block in _line_blocks(f, pending, strip_tail=True):
            done_bytes += len(block)
            if limit is not None:
                nl = _nth_newline(block, limit - len(words))
                if nl is not None:
                    block = block[:nl + 1]
                    truncated = True
            bw, bm = parser.parse(block, line_no)
            r0 = len(words)
            words.extend(bw)
            line_no += len(bw)
            if n_hdr is not None and len(words) > n_hdr:
                raise InputError(f"header says {n_hdr} rows but there are more", path, 1 + n_hdr + 1)
            if out is not None and len(words) <= out.shape[0]:
                out[r0:r0 + len(bw)] = bm
            else:
                chunks.append(bm)
            if progress:
                progress(done_bytes, size or 0)
            if truncated:
                break
        if not words:
            raise InputError("no vectors in file" if header is None else "header but no vectors", path)
        if n_hdr is not None and not truncated and len(words) < n_hdr and (limit is None or len(words) < limit):
            raise InputError(f"header says {n_hdr} rows but the file has {len(words)}", path, 1)
        if out is not None:
            mat = out[:len(words)]
        else:
            mat = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
            chunks.clear()
        offset = 2 if header is not None else 1
        report = {"format": "text", "rows_read": len(words), "header": header, "truncated": truncated,
                  "line_of": lambda i: i + offset}
        return words, mat, report
    finally:
        if f is not sys.stdin.buffer:
            f.close()


#: files above this size are parsed by several processes (``XLING_IO_WORKERS`` caps how many)
PARALLEL_MIN_BYTES = 64 << 20


def _parallel_workers(path: str, size: int | None, max_vocab: int | None) -> int:
    if path == "-" or size is None or size < PARALLEL_MIN_BYTES or max_vocab is not None or magic_gz(path):
        return 1
    if sys.platform != "linux":
        return 1
    env = os.environ.get("XLING_IO_WORKERS")
    n = int(env) if env and env.isdigit() else min(os.cpu_count() or 1, 8)
    return max(1, min(n, size // (PARALLEL_MIN_BYTES // 2)))


def _read_text_parallel(path: str, start: int, size: int, dim: int, has_header: bool, workers: int,
                        encoding: str, progress: Progress | None):
    """Parse byte ranges of the file in ``workers`` forked processes into one shared matrix.

    Pass 1 counts the lines of each range (so every range knows its first row and file
    line), pass 2 parses each range in a worker straight into an anonymous shared mapping.
    """
    import multiprocessing as mp

    # trailing blank lines at the very end are harmless: stop before them
    with open(path, "rb") as f:
        tail_from = max(start, size - 4096)
        f.seek(tail_from)
        tail = f.read()
        end = tail_from + len(tail.rstrip(b"\r\n \t"))
        if end <= start:
            raise InputError("header but no vectors" if has_header else "no vectors in file", path)
        cuts = [start]
        for i in range(1, workers):
            pos = start + (end - start) * i // workers
            f.seek(pos)
            while True:
                chunk = f.read(1 << 16)
                j = chunk.find(b"\n")
                if j >= 0 or not chunk:
                    pos = pos + j + 1 if j >= 0 else end
                    break
                pos += len(chunk)
            if cuts[-1] < pos < end:
                cuts.append(pos)
        cuts.append(end)
    ranges = list(zip(cuts[:-1], cuts[1:]))
    counts = [_count_lines(path, a, b) for a, b in ranges]  # memchr speed: a small part of the time
    n = sum(counts)
    # anonymous shared mapping: forked workers write their rows straight into it
    global _SHARED
    _SHARED = mmap.mmap(-1, max(1, n * dim * 4))
    try:
        first_line = 2 if has_header else 1
        jobs, row = [], 0
        for (a, b), c in zip(ranges, counts):
            jobs.append((path, a, b, first_line + row, dim, row, c, n, encoding))
            row += c
        results = []
        with mp.get_context("fork").Pool(len(ranges)) as pool:
            for i, words in enumerate(pool.starmap(_parse_range, jobs)):
                results.append(words)
                if progress:
                    progress(ranges[i][1], size)
        mat = np.frombuffer(_SHARED, dtype=np.float32, count=n * dim).reshape(n, dim)
    finally:
        _SHARED = None
    words = [w for ws in results for w in ws]
    return words, mat


_SHARED: mmap.mmap | None = None


def _count_lines(path: str, a: int, b: int) -> int:
    n = 0
    last = b"\n"
    with open(path, "rb") as f:
        f.seek(a)
        left = b - a
        while left > 0:
            chunk = f.read(min(_BLOCK, left))
            if not chunk:
                break
            n += chunk.count(b"\n")
            last = chunk[-1:]
            left -= len(chunk)
    return n + (last != b"\n")


def _parse_range(path: str, a: int, b: int, first_line: int, dim: int, row0: int, count: int, n: int,
                 encoding: str) -> list[str]:
    """Worker: parse bytes ``[a, b)`` of the file into rows ``row0...`` of the shared matrix."""
    out = np.frombuffer(_SHARED, dtype=np.float32, count=n * dim).reshape(n, dim)
    parser = _TextParser(path, dim, encoding)
    words: list[str] = []
    with open(path, "rb") as f:
        f.seek(a)
        for block in _line_blocks(f, limit=b - a):
            bw, bm = parser.parse(block, first_line + len(words))
            out[row0 + len(words):row0 + len(words) + len(bw)] = bm
            words.extend(bw)
    if len(words) != count:  # pragma: no cover - both passes read the same bytes
        raise InputError("file changed while it was read", path)
    return words


def _line_blocks(f, pending: bytes = b"", *, limit: int | None = None, strip_tail: bool = False):
    """Blocks of complete lines (each ending in ``\\n``) read from ``f`` after ``pending``.

    At most ``limit`` bytes are read; a last line without a newline gets one. With
    ``strip_tail``, blank lines at the very end of the input are dropped (they are harmless
    there; anywhere else they are an error of the parser). A block is held back until the next
    read shows whether it is the last one.
    """
    held = None
    left = limit
    while True:
        n = _BLOCK if left is None else min(_BLOCK, left)
        data = f.read(n) if n > 0 else b""
        if left is not None:
            left -= len(data)
        if not data:
            final = (held or b"") + pending
            if strip_tail:
                final = final.rstrip(b"\r\n \t")
            if final:
                yield final if final.endswith(b"\n") else final + b"\n"
            return
        data = pending + data
        cut = data.rfind(b"\n")
        if cut < 0:
            pending = data
            continue
        if held is not None:
            yield held
        held, pending = data[:cut + 1], data[cut + 1:]


def _nth_newline(block: bytes, n: int) -> int | None:
    """Index of the n-th ``\\n`` in ``block`` (1-based n), or None when there are fewer."""
    if n <= 0:
        return -1
    nl = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
    return int(nl[n - 1]) if nl.size >= n else None


def _write_text(emb: Embeddings, path: str, precision: int, header: bool, progress: Progress | None):
    n, d = emb.shape
    bad = next((w for w in emb.words if "\n" in w or "\r" in w or not w), None)
    if bad is not None:
        raise XlingError(f"word {bad!r} cannot be written to a text vectors file (empty or has a newline)")
    global _WRITE_SRC
    _WRITE_SRC = (emb, " ".join([f"%.{precision}g"] * d))
    chunk = 8192
    starts = range(0, n, chunk)
    workers = _write_workers(n * d)
    try:
        with atomic_open(path, "wb") as f:
            if header:
                f.write(f"{n} {d}\n".encode())
            if workers > 1:
                import multiprocessing as mp

                # formatting floats is the cost: forked workers format chunks, we write in order
                with mp.get_context("fork").Pool(workers) as pool:
                    for s0, data in zip(starts, pool.imap(_format_rows, starts)):
                        f.write(data)
                        if progress:
                            progress(min(s0 + chunk, n), n)
            else:
                for s0 in starts:
                    f.write(_format_rows(s0, chunk))
                    if progress:
                        progress(min(s0 + chunk, n), n)
    finally:
        _WRITE_SRC = None


_WRITE_SRC: tuple | None = None


def _format_rows(s0: int, chunk: int = 8192) -> bytes:
    emb, fmt = _WRITE_SRC
    rows = np.asarray(emb.vectors[s0:s0 + chunk], dtype=np.float32).tolist()
    lines = [w + " " + (fmt % tuple(r)) for w, r in zip(emb.words[s0:s0 + chunk], rows)]
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def _write_workers(values: int) -> int:
    if values < 20_000_000 or sys.platform != "linux":
        return 1
    env = os.environ.get("XLING_IO_WORKERS")
    return max(1, int(env) if env and env.isdigit() else min(os.cpu_count() or 1, 8))


# ----------------------------------------------------------------- word2vec binary
def _read_word2vec_bin(path: str, max_vocab: int | None, encoding: str, progress: Progress | None):
    with open(path, "rb") as f:
        if os.path.getsize(path) == 0:
            raise InputError("empty file", path)
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        nl = buf.find(b"\n", 0, 256)
        header = _parse_header(buf[:nl]) if nl > 0 else None
        if header is None:
            raise InputError("not a word2vec binary file: the first line must be '<rows> <dim>'", path, 1)
        n, d = header
        if d <= 0:
            raise InputError(f"header gives dimension {d}", path, 1)
        n_read = n if max_vocab is None else min(n, max_vocab)
        rec = 4 * d
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
                progress(i + 1, n_read)
        if max_vocab is None or n_read == n:
            rest = buf[pos:min(total, pos + 2)].strip() if pos < total else b""
            if rest:
                raise InputError(f"header says {n} vectors but there is more data after the last one", path,
                                 n + 2)
        if sys.byteorder != "little":  # pragma: no cover
            out.byteswap(inplace=True)
        report = {"format": "word2vec", "rows_read": n_read, "header": header, "truncated": n_read < n,
                  "line_of": lambda i: i + 2}
        return words, out, report
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
            for w, r in zip(emb.words[s:s + chunk], rows):
                parts.append(w.encode("utf-8", "surrogateescape") + b" ")
                parts.append(r.tobytes())
                parts.append(b"\n")
            f.write(b"".join(parts))
            if progress:
                progress(min(s + chunk, n), n)


# ----------------------------------------------------------------- fastText binary
def _read_fasttext_bin(path: str, max_vocab: int | None, extra_words: Sequence[str] | None,
                       progress: Progress | None):
    try:
        import fasttext  # noqa: F401
        import fasttext.FastText as ft
    except ImportError as e:  # pragma: no cover
        raise XlingError(f"reading fastText .bin needs the fasttext package ({e})") from None
    with open(path, "rb") as f:
        head = f.read(8)
    version = int.from_bytes(head[4:8], "little", signed=True) if len(head) == 8 else -1
    if not 10 <= version <= 12:
        raise InputError(f"not a readable fastText model: unknown version {version}", path)
    try:
        model = ft._FastText(model_path=path)  # load_model without its stderr warning
    except (ValueError, RuntimeError, MemoryError) as e:
        raise InputError(f"not a readable fastText model: {e}", path) from None
    if model.get_dimension() <= 0 or not model.get_words():
        raise InputError("not a readable fastText model: no words or dimension 0", path)
    words = list(model.get_words(on_unicode_error="surrogateescape"))
    if max_vocab is not None:
        words = words[:max_vocab]
    truncated = max_vocab is not None and len(words) == max_vocab
    extra = [w for w in (extra_words or []) if w]
    all_words = words + extra
    d = model.get_dimension()
    out = np.empty((len(all_words), d), dtype=np.float32)
    step = max(1, len(all_words) // 100)
    for i, w in enumerate(all_words):
        out[i] = model.get_word_vector(w)
        if progress and (i % step == 0 or i == len(all_words) - 1):
            progress(i + 1, len(all_words))
    report = {"format": "fasttext", "rows_read": len(all_words), "header": (len(words), d), "truncated": truncated,
              "line_of": lambda i: None}
    return all_words, out, report


# ----------------------------------------------------------------- gensim
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
    report = {"format": "gensim", "rows_read": len(words), "header": None,
              "truncated": max_vocab is not None and len(words) < len(kv.index_to_key), "line_of": lambda i: None}
    return words, np.asarray(mat, dtype=np.float32), report


def _write_gensim(emb: Embeddings, path: str):
    kv = emb.to_keyedvectors()
    target = Path(path)
    with atomic_path(target, suffix=target.suffix) as tmp:
        kv.save(os.fspath(tmp), sep_limit=1 << 62)  # one self-contained file


# ----------------------------------------------------------------- cache
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
    report = {"format": "cache", "rows_read": len(words), "header": None,
              "truncated": max_vocab is not None and len(words) == max_vocab, "line_of": lambda i: i + 1}
    return words, mat, report


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
