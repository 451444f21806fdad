"""Bilingual dictionaries: pairs of (source word, target word), several translations allowed.

File format (MUSE style, and what ``xling lexicon induce`` writes): one pair a line,
``src<TAB>tgt[<TAB>score[<TAB>...]]`` or ``src<SPACE>tgt``. Lines are never split on
non-ASCII whitespace (U+00A0 may be part of a word). A tab-separated field with a space
in it, or a space-separated line with more than two fields, is a multi-word entry:
skipped and counted, not crashed on.

Lines starting with ``#`` are comments (so a ``#source<TAB>target`` header is skipped); they
are counted, never read as pairs. A word cannot begin with ``#`` in this format.

Encoding: the file must decode with ``encoding`` (UTF-8 by default). Bytes that do not are
an error, not a warning, naming the first such line and the number of such lines: a
dictionary in another encoding (say Latin-1) would silently match no vector of its accented
words (lower coverage, no message), and a UTF-8 file never has them.
Pass ``encoding="latin-1"`` (or convert the file with ``iconv``) for such a file.
"""
from __future__ import annotations

import io
import os
import sys
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

import numpy as np

from .atomic import atomic_open
from .errors import InputError, XlingError


@dataclass(frozen=True)
class DictReadReport:
    path: str
    lines: int = 0
    pairs: int = 0
    blank: int = 0
    multiword: int = 0
    duplicates: int = 0
    multiword_examples: tuple[str, ...] = ()
    comments: int = 0

    def as_dict(self) -> dict:
        return {"path": self.path, "lines": self.lines, "pairs": self.pairs, "blank": self.blank,
                "comments": self.comments, "multiword_skipped": self.multiword, "duplicates_dropped": self.duplicates}


@dataclass(frozen=True)
class VocabCoverage:
    """How a dictionary meets two vocabularies."""

    pairs_in: int
    pairs_kept: int
    src_oov_pairs: int  # pairs whose source word is missing (whatever the target)
    tgt_oov_pairs: int  # pairs whose target word is missing (whatever the source)
    src_words_in: int
    src_words_kept: int

    @property
    def coverage(self) -> float:
        """Fraction of source words with at least one pair in both vocabularies."""
        return self.src_words_kept / self.src_words_in if self.src_words_in else 0.0

    def as_dict(self) -> dict:
        return {"pairs_in": self.pairs_in, "pairs_kept": self.pairs_kept, "src_oov_pairs": self.src_oov_pairs,
                "tgt_oov_pairs": self.tgt_oov_pairs, "src_words_in": self.src_words_in,
                "src_words_kept": self.src_words_kept, "coverage": round(self.coverage, 6)}


_T = TypeVar("_T")


def _pick(xs: tuple[_T, ...], keep: Sequence[bool]) -> tuple[_T, ...]:
    """The items of ``xs`` whose ``keep`` flag is set (like the old zip: stops at the shorter one)."""
    return tuple(x for x, k in zip(xs, keep, strict=False) if k)


@dataclass(frozen=True)
class BilingualDictionary:
    """An ordered, duplicate-free list of (src, tgt) pairs.

    ``scores`` (optional, one float per pair) and ``origins`` (optional, where each pair
    came from: ``"freedict"``, ``"identical"``, ...) travel with the pairs.
    """

    pairs: tuple[tuple[str, str], ...]
    scores: tuple[float, ...] | None = None
    origins: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.scores is not None and len(self.scores) != len(self.pairs):
            raise XlingError("scores must have one value per pair")
        if self.origins is not None and len(self.origins) != len(self.pairs):
            raise XlingError("origins must have one value per pair")

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]], scores: Sequence[float] | None = None,
                   origins: Sequence[str] | None = None) -> BilingualDictionary:
        """Build from pairs, dropping repeated pairs (the first one wins)."""
        seen: set[tuple[str, str]] = set()
        out, sc, og = [], [], []
        for n, p in enumerate(pairs):
            p = (p[0], p[1])
            if p in seen:
                continue
            seen.add(p)
            out.append(p)
            if scores is not None:
                sc.append(float(scores[n]))
            if origins is not None:
                og.append(origins[n])
        return cls(tuple(out), tuple(sc) if scores is not None else None, tuple(og) if origins is not None else None)

    def __len__(self) -> int:
        return len(self.pairs)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.pairs)

    @property
    def src_words(self) -> list[str]:
        """Unique source words in order of first appearance."""
        return list(OrderedDict.fromkeys(s for s, _ in self.pairs))

    @property
    def tgt_words(self) -> list[str]:
        return list(OrderedDict.fromkeys(t for _, t in self.pairs))

    def translations(self) -> OrderedDict[str, list[str]]:
        """``src -> [tgt, ...]`` in file order: the gold sets for evaluation."""
        out: OrderedDict[str, list[str]] = OrderedDict()
        for s, t in self.pairs:
            out.setdefault(s, []).append(t)
        return out

    def select(self, keep: Sequence[bool] | np.ndarray) -> BilingualDictionary:
        mask = list(map(bool, keep))
        return BilingualDictionary(_pick(self.pairs, mask),
                                   _pick(self.scores, mask) if self.scores is not None else None,
                                   _pick(self.origins, mask) if self.origins is not None else None)

    def restrict(self, src_vocab, tgt_vocab) -> tuple[BilingualDictionary, VocabCoverage]:
        """Keep the pairs whose words are both in the vocabularies (anything with ``in``)."""
        s_in = [s in src_vocab for s, _ in self.pairs]
        t_in = [t in tgt_vocab for _, t in self.pairs]
        keep = [a and b for a, b in zip(s_in, t_in, strict=True)]
        sub = self.select(keep)
        cov = VocabCoverage(pairs_in=len(self), pairs_kept=len(sub), src_oov_pairs=s_in.count(False),
                            tgt_oov_pairs=t_in.count(False), src_words_in=len(set(s for s, _ in self.pairs)),
                            src_words_kept=len(set(s for s, _ in sub.pairs)))
        return sub, cov

    def index_pairs(self, src_emb, tgt_emb) -> tuple[np.ndarray, np.ndarray]:
        """Row indices (src, tgt) of the pairs; every word must be in the embeddings
        (call :meth:`restrict` first)."""
        s = src_emb.indices(s for s, _ in self.pairs)
        t = tgt_emb.indices(t for _, t in self.pairs)
        if (s < 0).any() or (t < 0).any():
            raise XlingError("dictionary has words outside the vocabularies; restrict it first")
        return s, t


def require_pairs(d: BilingualDictionary, cov: VocabCoverage, path: str) -> None:
    """Raise the one-line error users need when no pair survives :meth:`restrict`."""
    if cov.pairs_kept == 0:
        raise InputError(f"no pair has both words in the vocabularies: {cov.pairs_in} pairs read, "
                         f"{cov.src_oov_pairs} with the source word out of vocabulary, "
                         f"{cov.tgt_oov_pairs} with the target word out of vocabulary", path)


def _open_text(path: str, encoding: str):
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding=encoding, errors="surrogateescape", newline=None)
    if not os.path.exists(path):
        raise InputError("no such file", path)
    if os.path.isdir(path):
        raise InputError("is a directory, not a dictionary file", path)
    return open(path, encoding=encoding, errors="surrogateescape", newline=None)


def _has_surrogates(text: str) -> bool:
    """True when ``surrogateescape`` decoding left undecodable bytes in ``text``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_dictionary(path: str | os.PathLike, *, encoding: str = "utf-8", allow_empty: bool = False,
                    with_scores: bool = True) -> tuple[BilingualDictionary, DictReadReport]:
    """Read a dictionary file (``"-"``: stdin).

    Returns the dictionary and a report of what was skipped. An empty dictionary is an
    error unless ``allow_empty``. A line with a single column is an error naming the line.
    ``#`` lines are comments. Undecodable bytes (a file not in ``encoding``) are an error that
    names the first such line and counts them (see the module docstring for why).
    """
    name = os.fspath(path)
    f = _open_text(name, encoding)
    pairs: list[tuple[str, str]] = []
    scores: list[float] = []
    any_score = False
    seen: set[tuple[str, str]] = set()
    lines = blank = multi = dups = comments = 0
    undecodable, first_bad = 0, 0
    multi_ex: list[str] = []
    try:
        for lineno, raw in enumerate(f, 1):
            lines = lineno
            line = raw.rstrip("\n").rstrip("\r")
            if lineno == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if not line.strip(" \t"):
                blank += 1
                continue
            if line.startswith("#"):
                comments += 1
                continue
            if _has_surrogates(line):
                undecodable += 1
                first_bad = first_bad or lineno
                continue
            score = float("nan")
            if "\t" in line:
                fields = line.split("\t")
                if len(fields) < 2 or not fields[0] or not fields[1]:
                    raise InputError("expected 'source<TAB>target', found one column", name, lineno)
                s, t = fields[0].strip(" "), fields[1].strip(" ")
                if len(fields) > 2 and with_scores:
                    try:
                        score = float(fields[2])
                        any_score = True
                    except ValueError:
                        pass
                if " " in s or " " in t or not s or not t:
                    multi += 1
                    if len(multi_ex) < 5:
                        multi_ex.append(line)
                    continue
            else:
                fields = [x for x in line.split(" ") if x]
                if len(fields) < 2:
                    raise InputError("expected 'source target' (tab or space separated), found one column",
                                     name, lineno)
                if len(fields) > 2:
                    multi += 1
                    if len(multi_ex) < 5:
                        multi_ex.append(line)
                    continue
                s, t = fields
            if (s, t) in seen:
                dups += 1
                continue
            seen.add((s, t))
            pairs.append((s, t))
            scores.append(score)
    except UnicodeDecodeError as e:  # only with a non-default strict codec
        raise InputError(f"cannot decode: {e}", name, lines + 1) from None
    finally:
        if name != "-":
            f.close()
        else:
            f.detach()
    if undecodable:
        raise InputError(f"not valid {encoding}: {undecodable} of {lines} lines have bytes that do not decode "
                         f"(this is the first); convert the file (e.g. iconv -f latin1 -t utf-8) or pass its "
                         f"encoding", name, first_bad)
    if not pairs and not allow_empty:
        what = f"no usable pair in {lines} lines" if lines else "empty dictionary"
        if multi:
            what += f" ({multi} multi-word lines skipped)"
        raise InputError(what, name)
    d = BilingualDictionary(tuple(pairs), tuple(scores) if any_score else None)
    rep = DictReadReport(path=name, lines=lines, pairs=len(pairs), blank=blank, multiword=multi, duplicates=dups,
                         multiword_examples=tuple(multi_ex), comments=comments)
    return d, rep


class DictFormat(str, Enum):
    """How a dictionary is written.

    ``tsv``: ``src<TAB>tgt[<TAB>score][<TAB>extra...]`` (xling's, every column kept).
    ``muse``: ``src tgt``, two space-separated columns and nothing else, as MUSE's reader
    (``word1, word2 = line.split()``) and VecMap's expect; scores and extra columns are dropped.
    """

    tsv = "tsv"
    muse = "muse"


def write_dictionary(d: BilingualDictionary, path: str | os.PathLike, *, extra_columns: Sequence[Sequence] = (),
                     header: Sequence[str] | None = None, format: DictFormat = DictFormat.tsv) -> None:
    """Write the pairs atomically (``"-"``: stdout) in ``format`` (see :class:`DictFormat`).

    Raises
    ------
    XlingError
        ``format="muse"`` with a word that has whitespace in it (a multi-word entry) or is empty:
        MUSE's reader would break on that line. Nothing is written.
    """
    format = DictFormat(format)
    if format is DictFormat.muse:
        bad = [(s, t) for s, t in d.pairs if len(s.split()) != 1 or len(t.split()) != 1
               or s.split()[0] != s or t.split()[0] != t]
        if bad:
            raise XlingError(f"{len(bad):,} pairs have a word with whitespace in it (e.g. {bad[0][0]!r} -> "
                             f"{bad[0][1]!r}), which the MUSE format (two space-separated words) cannot hold: "
                             f"write --format tsv, or drop multi-word entries first")
    with atomic_open(os.fspath(path), "w") as f:
        if format is DictFormat.muse:
            for s, t in d.pairs:
                f.write(f"{s} {t}\n")
            return
        if header:
            f.write("\t".join(header) + "\n")
        for n, (s, t) in enumerate(d.pairs):
            row = [s, t]
            if d.scores is not None:
                row.append(f"{d.scores[n]:.6f}")
            row.extend(str(col[n]) for col in extra_columns)
            f.write("\t".join(row) + "\n")
