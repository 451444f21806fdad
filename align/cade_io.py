"""CADE's files: corpora in, slices out (vectors + word counts), and slices back in.

A corpus is UTF-8 text, one sentence a line, tokens separated by whitespace. A trained slice
(or the compass) named ``name`` is saved in a folder as two files::

    <name>.vec          the vectors (word2vec text format)
    <name>.counts.tsv   word<TAB>count lines, most frequent first (the slice's own counts)

which is what ``xling cade train`` writes and ``xling cade shift --min-count`` reads. A library
user trains with :func:`xling.align.cade.train_compass` / :func:`~xling.align.cade.train_slice`,
saves with :func:`save_slice`, reloads with :func:`load_slice` and ranks with
:func:`xling.align.cade.shift_scores`, without CLI code.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..data.embeddings import Embeddings
from ..data.errors import InputError, XlingError
from .w2v import Vocab

Progress = Callable[[int, int], None]

#: name of the compass's files in an output folder (no slice may take it)
COMPASS = "compass"
VEC_SUFFIXES = (".vec.gz", ".txt.gz", ".vec", ".txt", ".bin", ".npy", ".kv")


# ---------------------------------------------------------------------------- names
def slice_name(path: str | os.PathLike) -> str:
    """``corpora/kjv.txt`` -> ``kjv``; ``out/kjv.vec`` -> ``kjv``."""
    name = Path(path).name
    for suf in VEC_SUFFIXES:
        if name.endswith(suf) and len(name) > len(suf):
            return name[: -len(suf)]
    return Path(name).stem or name


def slice_labels(paths: Sequence[str | os.PathLike]) -> list[str]:
    """A distinct label per vectors file: its slice name, or its path where two names collide
    (``run1/kjv.vec run2/kjv.vec``)."""
    names = [slice_name(Path(p)) for p in paths]
    labels = [n if names.count(n) == 1 else str(p) for n, p in zip(names, paths, strict=True)]
    return [lab if labels.count(lab) == 1 else f"{lab} ({i + 1})" for i, lab in enumerate(labels)]


def check_slice_names(names: Sequence[str]) -> None:
    """Every slice needs its own file names, and none may be the compass's (XlingError)."""
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise XlingError(f"two corpora would write the same slice name {dupes[0]!r}: rename one file")
    if COMPASS in names:
        raise XlingError(f"a corpus named {COMPASS!r} would clash with the compass output: rename it")


def vectors_path(folder: str | os.PathLike, name: str) -> Path:
    """``folder/<name>.vec``."""
    return Path(folder) / f"{name}.vec"


def counts_path(vec_path: str | os.PathLike) -> Path:
    """Where a slice's word counts live next to its vectors: ``out/<slice>.counts.tsv``."""
    return Path(vec_path).with_name(slice_name(vec_path) + ".counts.tsv")


# ---------------------------------------------------------------------------- corpora
def read_corpus(path: str | os.PathLike, *, lowercase: bool = False) -> list[list[str]]:
    """Sentences of a corpus: one a line, whitespace-separated tokens, UTF-8 (errors name the line)."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    if path.is_dir():
        raise InputError("is a directory, not a corpus", path)
    sentences = []
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError("not UTF-8 text (a corpus is UTF-8, one sentence a line)", path, lineno) from None
            toks = (line.lower() if lowercase else line).split()
            if toks:
                sentences.append(toks)
    if not sentences:
        raise InputError("empty corpus: no tokens", path)
    return sentences


def read_corpora(paths: Sequence[str | os.PathLike], *, lowercase: bool = False
                 ) -> tuple[list[str], list[list[list[str]]]]:
    """Slice names and sentences of every corpus; the names are checked first, so a clash
    fails before anything is read (and a bad corpus before anything is trained)."""
    names = [slice_name(p) for p in paths]
    check_slice_names(names)
    return names, [read_corpus(p, lowercase=lowercase) for p in paths]


# ---------------------------------------------------------------------------- counts
def write_counts(vocab: Vocab, path: str | os.PathLike) -> None:
    """``word<TAB>count`` lines, most frequent first, written atomically."""
    from ..data.atomic import atomic_open

    with atomic_open(path) as f:
        for w, c in zip(vocab.words, vocab.counts.tolist(), strict=True):
            f.write(f"{w}\t{c}\n")


def read_counts(path: str | os.PathLike) -> dict[str, int]:
    """The ``word<TAB>count`` file of :func:`write_counts` (errors name the line)."""
    counts = {}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            word, _, count = line.rpartition("\t")
            if not word or not count.isdigit():
                raise InputError("expected 'word<TAB>count'", path, lineno)
            counts[word] = int(count)
    return counts


# ---------------------------------------------------------------------------- slices
@dataclass(frozen=True)
class SliceFiles:
    """Where a saved slice lives."""

    vectors: Path
    counts: Path


@dataclass(frozen=True)
class LoadedSlice:
    """A slice read back: its vectors and, when its counts file is there, its word counts."""

    embeddings: Embeddings
    counts: dict[str, int] | None


def save_slice(model, folder: str | os.PathLike, name: str, *, precision: int = 6,
               progress: Progress | None = None) -> SliceFiles:
    """Write a trained :class:`~xling.align.cade.Slice` or :class:`~xling.align.cade.Compass`
    as ``folder/<name>.vec`` and ``folder/<name>.counts.tsv`` (each written atomically).

    Parameters
    ----------
    model : Slice or Compass
        Anything with ``vocab`` (words and counts) and ``embeddings()``.
    folder : path
        Created when missing.
    precision : int
        Significant digits of the vectors.
    progress : callable(rows_done, rows_total), optional
    """
    from ..data.vectors import VecFormat, save_embeddings

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vec = vectors_path(folder, name)
    save_embeddings(model.embeddings(), str(vec), format=VecFormat.auto, precision=precision, progress=progress)
    write_counts(model.vocab, counts_path(vec))
    return SliceFiles(vec, counts_path(vec))


def load_counts(vec_path: str | os.PathLike, *, required: bool = False) -> dict[str, int] | None:
    """The counts saved next to a slice's vectors; None when absent (InputError if ``required``)."""
    p = counts_path(vec_path)
    if p.exists():
        return read_counts(p)
    if required:
        raise InputError(f"--min-count needs word counts, but {p} is missing (written by `xling cade train`)",
                         vec_path)
    return None


def load_slice(vec_path: str | os.PathLike, *, max_vocab: int | None = None, counts_required: bool = False,
               progress: Progress | None = None) -> LoadedSlice:
    """Read a slice saved by :func:`save_slice` (or any vectors file, then without counts)."""
    from ..data.vectors import load_embeddings

    emb = load_embeddings(str(vec_path), max_vocab=max_vocab, progress=progress)
    return LoadedSlice(emb, load_counts(vec_path, required=counts_required))


def frequent_words(a: LoadedSlice, b: LoadedSlice, min_count: int) -> list[str]:
    """Words of ``a`` (in its order) seen at least ``min_count`` times in both slices."""
    if a.counts is None or b.counts is None:
        raise XlingError("both slices need their word counts (<slice>.counts.tsv) for a minimum count")
    words = [w for w in a.embeddings.index_to_key
             if a.counts.get(w, 0) >= min_count and b.counts.get(w, 0) >= min_count]
    if len(words) < 2:
        raise XlingError(f"fewer than 2 words occur at least {min_count} times in both slices: lower --min-count")
    return words
