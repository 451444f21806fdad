"""Text vectors: word2vec / fastText ``.vec`` / ``.txt``, optionally gzip-compressed.

An optional ``"n d"`` header, then ``word v1 ... vd`` per line. Lines are split from the
right, so a word may contain spaces or U+00A0; undecodable bytes survive as surrogate
escapes and are written back unchanged. Files above :data:`PARALLEL_MIN_BYTES` are parsed,
and large matrices formatted, by forked workers (:mod:`xling.data.parallel`).
"""
from __future__ import annotations

import contextlib
import functools
import gzip
import io
import mmap
import os
import sys
import warnings
import zlib

import numpy as np

from .atomic import atomic_open
from .embeddings import Embeddings
from .errors import InputError, XlingError
from .formats import Progress, RawVectors, ReadOptions, WriteOptions, parse_header
from .parallel import fork_imap

_BLOCK = 32 << 20  # bytes of text parsed at a time


def read(path: str, opts: ReadOptions) -> RawVectors:
    return _read_text(path, opts.max_vocab, opts.encoding, opts.progress)


def write(emb: Embeddings, path: str, opts: WriteOptions) -> None:
    _write_text(emb, path, opts.precision, opts.header, opts.progress)


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
                with warnings.catch_warnings():  # e.g. "input contained no data": the slow path says why
                    warnings.simplefilter("ignore")
                    mat = np.loadtxt(io.BytesIO(b"\n".join([p[2] for p in parts])), dtype=np.float32,
                                     comments=None, ndmin=2)
            except ValueError:
                mat = None
        if mat is None or mat.shape != (len(lines), d) or any(not p[0] for p in parts) or b"\r" in block:
            return self._parse_slow(lines, first_line, d)
        enc = self.encoding
        return [p[0].decode(enc, "surrogateescape") for p in parts], mat

    def _parse_slow(self, lines: list[bytes], first_line: int, d: int) -> tuple[list[str], np.ndarray]:
        words: list[str] = []
        mat: np.ndarray | None = None  # allocated once the first line has shown d values fit
        for i, raw in enumerate(lines):
            lineno = first_line + i
            word, values = self._split(raw, lineno, d)
            if mat is None:
                mat = np.empty((len(lines), d), dtype=np.float32)
            mat[i] = np.array(values, dtype=np.float32)
            words.append(word.decode(self.encoding, "surrogateescape"))
        assert mat is not None  # a block has at least one line
        return words, mat

    def _split(self, raw: bytes, lineno: int, d: int) -> tuple[bytes, list[bytes]]:
        """One line -> (word, d number fields), or an :class:`InputError` naming the line."""
        line = raw.rstrip(b" \t")
        if not line:
            self._error("empty line", lineno)
        fields = line.rsplit(b" ", d)  # the last d fields are numbers, the rest is the word
        if len(fields) < d + 1:
            tabs = " (fields are separated by tabs; a .vec file separates them by single spaces)" \
                if b"\t" in line else ""
            self._error(f"expected {d} values after the word, found {len(fields) - 1}{tabs}", lineno)
        word = fields[0]
        # a word may contain spaces ("New York"), but one ending in a number is far more
        # likely a row with too many values
        if b" " in word and _is_number(word.rsplit(b" ", 1)[-1]):
            self._error(f"expected {d} values after the word, found {len(line.split(b' ')) - 1}", lineno)
        if not word.strip(b" "):
            self._error("line starts with a space: empty word", lineno)
        if b"\r" in word:
            self._error("carriage return inside the word (a stray \\r, not a CRLF line end)", lineno)
        if word[:1] in (b" ", b"\t"):
            self._error(f"line starts with a space: the word would be {word.decode(self.encoding, 'replace')!r}",
                        lineno)
        for f in fields[1:]:
            if not _is_number(f):
                txt = f.decode(self.encoding, "backslashreplace")[:40]
                self._error(f"not a number: {txt!r}" if f else "two spaces in a row: empty value", lineno)
        return word, fields[1:]


def _is_number(token: bytes) -> bool:
    """A decimal float as C and numpy write it (Python's ``float`` would also take ``1_0``)."""
    if b"_" in token:
        return False
    try:
        float(token)
    except ValueError:
        return False
    return True


#: deflate cannot expand one compressed byte into more than about 1032 bytes
_GZ_MAX_RATIO = 1032


def _read_text(path: str, max_vocab: int | None, encoding: str, progress: Progress | None) -> RawVectors:
    f, size = _open_binary(path)
    try:
        return _read_text_stream(f, size, path, max_vocab, encoding, progress)
    except EOFError:
        raise InputError("truncated: the compressed data ends before the end of its stream", path) from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise InputError(f"corrupt gzip data ({e})", path) from None
    except MemoryError:
        raise InputError("out of memory while reading this file", path) from None
    finally:
        if f is not sys.stdin.buffer:
            f.close()


def _read_text_stream(f, size: int | None, path: str, max_vocab: int | None, encoding: str,
                      progress: Progress | None) -> RawVectors:
    # the bytes of text the input can hold: a plain file's size, or a bound for a gzip stream
    gz = size is not None and magic_gz(path)
    capacity = None if size is None else size * _GZ_MAX_RATIO if gz else size
    first = f.readline()
    bom = first.startswith(b"\xef\xbb\xbf")
    if bom:
        first = first[3:]
    if not first.strip():
        if not first:
            raise InputError("empty file", path)
        raise InputError("first line is empty", path, 1)
    header = parse_header(first)
    if header is not None:
        n_hdr, d_hdr = header
        if d_hdr <= 0:
            raise InputError(f"header gives dimension {d_hdr}", path, 1)
        if capacity is not None and 2 * d_hdr > capacity:  # a row is at least " 0" per value
            raise InputError(f"header gives dimension {d_hdr:,}: one row would need at least {2 * d_hdr:,} "
                             f"bytes, more than the whole file {'can expand to' if gz else 'has'} "
                             f"({capacity:,})", path, 1)
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
    if workers > 1 and size is not None:  # (more than one worker only for a file of known size)
        if parser.dim is None:
            parser.dim = len(first.partition(b" ")[2].split())
        body_start = f.tell() if header is not None else (3 if bom else 0)
        all_words, all_mat = _read_text_parallel(path, body_start, size, parser.dim, header is not None, workers,
                                                 encoding, progress)
        if n_hdr is not None and len(all_words) != n_hdr:
            if len(all_words) > n_hdr:
                raise InputError(f"header says {n_hdr} rows but there are more", path, 1 + n_hdr + 1)
            raise InputError(f"header says {n_hdr} rows but the file has {len(all_words)}", path, 1)
        return RawVectors(all_words, all_mat, "text", header, False, 2 if header is not None else 1)
    out = None
    if n_hdr and parser.dim is not None:  # with a header the parser knows the dimension
        rows = n_hdr if limit is None else min(n_hdr, limit)
        # a lying header must not make us allocate terabytes: preallocate only what the
        # input can hold (each row is at least 2*d+2 bytes), else grow block by block
        if capacity is not None and rows * (2 * parser.dim + 2) <= capacity:
            try:
                out = np.empty((rows, parser.dim), dtype=np.float32)
            except MemoryError:
                out = None
    chunks: list[np.ndarray] = []
    words: list[str] = []
    done_bytes = len(first)
    raw = getattr(f, "fileobj", None) if gz else None  # the compressed file under a GzipFile
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
        if progress:  # bytes of the file read so far (of the compressed file for a .gz)
            progress(raw.tell() if raw is not None else done_bytes, size or 0)
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
    return RawVectors(words, mat, "text", header, truncated, 2 if header is not None else 1)


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
    ranges = list(zip(cuts[:-1], cuts[1:], strict=True))
    counts = [_count_lines(path, a, b) for a, b in ranges]  # memchr speed: a small part of the time
    n = sum(counts)
    # anonymous shared mapping: forked workers write their rows straight into it
    shared = mmap.mmap(-1, max(1, n * dim * 4))
    first_line = 2 if has_header else 1
    jobs, row = [], 0
    for (a, b), c in zip(ranges, counts, strict=True):
        jobs.append((a, b, first_line + row, row, c))
        row += c
    work = functools.partial(_parse_range, shared, path, dim, n, encoding)
    results = []
    with contextlib.closing(fork_imap(work, jobs, len(jobs))) as parsed:
        for i, words in enumerate(parsed):
            results.append(words)
            if progress:
                progress(ranges[i][1], size)
    mat = np.frombuffer(shared, dtype=np.float32, count=n * dim).reshape(n, dim)
    words = [w for ws in results for w in ws]
    return words, mat


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


def _parse_range(shared: mmap.mmap, path: str, dim: int, n: int, encoding: str,
                 job: tuple[int, int, int, int, int]) -> list[str]:
    """Worker: parse bytes ``[a, b)`` of the file into rows ``row0...`` of the shared matrix."""
    a, b, first_line, row0, count = job
    out = np.frombuffer(shared, dtype=np.float32, count=n * dim).reshape(n, dim)
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
    fmt = " ".join([f"%.{precision}g"] * d)
    chunk = 8192
    starts = list(range(0, n, chunk))
    workers = _write_workers(n * d)
    with atomic_open(path, "wb") as f:
        if header:
            f.write(f"{n} {d}\n".encode())
        if workers > 1:
            # formatting floats is the cost: forked workers format chunks, we write in order
            chunks = fork_imap(functools.partial(_format_rows, emb, fmt, chunk), starts, workers)
        else:
            chunks = (_format_rows(emb, fmt, chunk, s0) for s0 in starts)
        with contextlib.closing(chunks):  # an error here stops the workers at once
            for s0, data in zip(starts, chunks, strict=True):
                f.write(data)
                if progress:
                    progress(min(s0 + chunk, n), n)


def _format_rows(emb: Embeddings, fmt: str, chunk: int, s0: int) -> bytes:
    rows = np.asarray(emb.vectors[s0:s0 + chunk], dtype=np.float32).tolist()
    lines = [w + " " + (fmt % tuple(r)) for w, r in zip(emb.words[s0:s0 + chunk], rows, strict=True)]
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def _write_workers(values: int) -> int:
    if values < 20_000_000 or sys.platform != "linux":
        return 1
    env = os.environ.get("XLING_IO_WORKERS")
    return max(1, int(env) if env and env.isdigit() else min(os.cpu_count() or 1, 8))
