"""The word-vector formats and the one interface every format module implements.

Each format lives in its own module (``fmt_text``, ``fmt_word2vec``, ``fmt_fasttext``,
``fmt_gensim``, ``fmt_cache``) with two functions:

``read(path, opts: ReadOptions) -> RawVectors``
    words and a float32 matrix in file order, before duplicates and NaN/inf rows are
    handled (:func:`xling.data.vectors.load_embeddings` does that, once for all formats).
``write(emb, path, opts: WriteOptions) -> None``
    atomic (a temporary name renamed into place), or a clear error for a read-only format.

:func:`reader` and :func:`writer` look a module up by :class:`VecFormat`, importing it only
when used. A new format is a new ``fmt_*.py`` module plus one line in ``_MODULES``.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from .embeddings import Embeddings

Progress = Callable[[int, int], None]  # (done, total): bytes of the file reading, rows writing

FASTTEXT_MAGIC = 793712314


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


@dataclass(frozen=True)
class ReadOptions:
    """What a reader may be asked for (each format uses the fields that apply to it)."""

    max_vocab: int | None = None
    encoding: str = "utf-8"
    progress: Progress | None = None
    extra_words: Sequence[str] | None = None  # fastText .bin: subword vectors for these words
    allow_pickle: bool = False  # gensim: the file is a pickle
    mmap: bool = True  # cache: memory-map the matrix


@dataclass(frozen=True)
class WriteOptions:
    precision: int = 6  # significant digits of the text format
    header: bool = True  # text: write the "n d" line
    progress: Progress | None = None


@dataclass
class RawVectors:
    """What a reader returns: rows in file order, not yet checked for duplicates or NaN."""

    words: list[str]
    matrix: np.ndarray
    format: str
    header: tuple[int, int] | None = None
    truncated: bool = False  # stopped at max_vocab
    first_line: int | None = 1  # file line of row 0 (None: rows are not lines)

    def line_of(self, i: int) -> int | None:
        return None if self.first_line is None else i + self.first_line


_MODULES = {
    VecFormat.text: "fmt_text",
    VecFormat.word2vec: "fmt_word2vec",
    VecFormat.fasttext: "fmt_fasttext",
    VecFormat.gensim: "fmt_gensim",
    VecFormat.cache: "fmt_cache",
}


def _module(fmt: VecFormat):
    return importlib.import_module(f"{__package__}.{_MODULES[fmt]}")


def reader(fmt: VecFormat) -> Callable[[str, ReadOptions], RawVectors]:
    """The ``read`` function of a format (not ``auto``: call :func:`detect_format` first)."""
    return _module(VecFormat(fmt)).read


def writer(fmt: VecFormat) -> Callable[[Embeddings, str, WriteOptions], None]:
    """The ``write`` function of a format."""
    return _module(VecFormat(fmt)).write


# ----------------------------------------------------------------- names and detection
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
    if low.endswith((".bin", ".ftz")):  # .ftz: a quantized fastText model
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


def parse_header(line: bytes) -> tuple[int, int] | None:
    """``b"n d"`` -> ``(n, d)``; anything else -> None."""
    parts = line.split()
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[0]), int(parts[1])
    return None
