"""New-token selection: frequent corpus words that the tokenizer splits into several pieces,
and reading/writing token lists."""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from ..data.errors import InputError, XlingError


@dataclass(frozen=True)
class Candidate:
    word: str
    count: int
    pieces: int


def read_lines(path: str | os.PathLike) -> Iterator[str]:
    """Yield the lines of a UTF-8 text file (``-`` = stdin), without line ends.

    Raises :class:`InputError` naming the line when a line is not valid UTF-8.
    """
    import sys

    f = sys.stdin.buffer if os.fspath(path) == "-" else open(path, "rb")
    try:
        for no, raw in enumerate(f, 1):
            try:
                yield raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise InputError(f"not valid UTF-8 (byte {e.start})", path, no) from None
    finally:
        if f is not sys.stdin.buffer:
            f.close()


def count_words(lines: Iterable[str], segmenter) -> Counter:
    """Count the words of ``lines`` as ``segmenter`` sees them (normalised and pre-tokenised)."""
    counts: Counter = Counter()
    for line in lines:
        counts.update(segmenter.words(line))
    return counts


def select_candidates(counts: Counter, segmenter, *, top: int = 2000, min_count: int = 2,
                      min_pieces: int = 2, min_length: int = 2, alphabetic: bool = True) -> list[Candidate]:
    """The ``top`` most frequent words that ``segmenter`` splits into ``>= min_pieces`` pieces.

    Parameters
    ----------
    counts : Counter
        Word → frequency (from :func:`count_words`).
    top : int
        Number of candidates to return (fewer when the corpus has fewer).
    min_count, min_length : int
        Ignore rarer or shorter words.
    alphabetic : bool
        Keep only words made of letters (no digits, no punctuation).

    Returns
    -------
    list of Candidate, most frequent first (ties: alphabetical), each with its current piece count.
    """
    pool = [(w, c) for w, c in counts.items()
            if c >= min_count and len(w) >= min_length and (not alphabetic or w.isalpha())
            and segmenter.token_to_id(w) is None]
    pool.sort(key=lambda wc: (-wc[1], wc[0]))
    out: list[Candidate] = []
    batch = 4096
    for start in range(0, len(pool), batch):
        chunk = pool[start:start + batch]
        for (w, c), ids in zip(chunk, segmenter.pieces([w for w, _ in chunk])):
            if len(ids) >= min_pieces:
                out.append(Candidate(w, c, len(ids)))
                if len(out) >= top:
                    return out
    return out


def read_tokens(path: str | os.PathLike) -> list[str]:
    """Read a token list: the first tab-separated column of each non-empty line.

    ``xling vocab candidates`` output (``word<TAB>count<TAB>pieces``) is accepted as is.
    Raises :class:`InputError` when the file holds no token.
    """
    tokens = []
    for line in read_lines(path):
        tok = line.split("\t", 1)[0].strip()
        if tok:
            tokens.append(tok)
    if not tokens:
        raise InputError("empty token list: no token to add", path)
    return tokens


@dataclass
class TokenPlan:
    """Which tokens will really be added, and why the others were skipped."""

    added: list[str]
    existing: list[str]
    duplicates: int
    renormalized: int

    def as_dict(self) -> dict:
        return {"requested": len(self.added) + len(self.existing) + self.duplicates,
                "added": len(self.added), "skipped_existing": len(self.existing),
                "skipped_duplicates": self.duplicates, "normalized": self.renormalized,
                "existing_examples": self.existing[:5]}


def plan_tokens(tokens: Sequence[str], segmenter) -> TokenPlan:
    """Normalise tokens as the tokenizer normalises text; skip (and count) existing and repeated ones.

    An added token only matches text if it is written as the tokenizer's normaliser writes
    text (e.g. an uncased BERT lower-cases and strips accents), hence the normalisation.
    """
    added, existing, seen = [], [], set()
    dup = renorm = 0
    for t in tokens:
        n = segmenter.normalize(t).strip()
        if not n:
            dup += 1
            continue
        renorm += n != t
        if n in seen:
            dup += 1
        elif segmenter.token_to_id(n) is not None:
            existing.append(n)
        else:
            added.append(n)
        seen.add(n)
    if not added:
        raise XlingError(f"no new token to add: {len(existing)} of {len(tokens)} tokens already exist "
                         f"in the vocabulary, {dup} repeated")
    return TokenPlan(added, existing, dup, renorm)
