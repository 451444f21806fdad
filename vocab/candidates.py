"""New-token selection: frequent corpus words that the tokenizer splits into several pieces,
and reading/writing token lists."""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from ..data.errors import InputError, XlingError


@dataclass(frozen=True)
class Candidate:
    """A word worth adding: its corpus frequency and how many tokens running text gives it now."""

    word: str
    count: int
    pieces: int

    @property
    def saved(self) -> int:
        """Tokens saved on the corpus if the word became one token: count × (pieces − 1)."""
        return self.count * (self.pieces - 1)


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
    """Count the words of ``lines`` as ``segmenter`` sees them in running text (normalised,
    pre-tokenised, decoded to Unicode: no byte-level mojibake, no word-start marker)."""
    counts: Counter = Counter()
    for line in lines:
        counts.update(segmenter.words(line))
    return counts


def in_context_pieces(words: Sequence[str], segmenter) -> list[int | None]:
    """Tokens each word takes in running text (after a space, with the word-start marker).

    ``None`` for a word the pre-tokeniser splits (it can never become one token). A word the
    model can only write as its unknown token counts as 2 pieces (adding it makes it readable).
    """
    if not hasattr(segmenter, "context_forms"):  # a bare vocabulary: greedy WordPiece
        return [len(p) for p in segmenter.pieces(list(words))]
    unk = _unk_id(segmenter)
    out: list[int | None] = []
    for w in words:
        forms = segmenter.context_forms(w)
        if len(forms) != 1:
            out.append(None)
            continue
        ids = segmenter.model_pieces(forms[0])
        out.append(2 if ids == [unk] and unk is not None else len(ids))
    return out


def _unk_id(segmenter) -> int | None:
    import json

    model = json.loads(segmenter.tok.to_str()).get("model") or {}
    if model.get("type") == "Unigram":
        return model.get("unk_id")
    unk = model.get("unk_token")
    return segmenter.token_to_id(unk) if unk else None


def select_candidates(counts: Counter, segmenter, *, top: int = 2000, min_count: int = 2,
                      min_pieces: int = 2, min_length: int = 2, alphabetic: bool = True) -> list[Candidate]:
    """The ``top`` words that would save the most tokens on the corpus as single tokens.

    Pieces are counted in running text (the word after a space, with the tokenizer's word-start
    marker), so a word that is already one token in context is never proposed, and one that is
    a vocabulary entry only without its marker (``"les"`` but not ``"Ġles"``) is.

    Parameters
    ----------
    counts : Counter
        Word → frequency (from :func:`count_words`).
    top : int
        Number of candidates to return (fewer when the corpus has fewer).
    min_count, min_length : int
        Ignore rarer or shorter words.
    min_pieces : int
        Only words that take at least this many tokens now (at least 2).
    alphabetic : bool
        Keep only words made of letters (no digits, no punctuation).

    Returns
    -------
    list of Candidate, most tokens saved (count × (pieces − 1)) first; ties: more frequent, then
    alphabetical.
    """
    pool = [(w, c) for w, c in counts.items()
            if c >= min_count and len(w) >= min_length and (not alphabetic or w.isalpha())]
    out = [Candidate(w, c, p) for (w, c), p in zip(pool, in_context_pieces([w for w, _ in pool], segmenter), strict=True)
           if p is not None and p >= max(2, min_pieces)]
    out.sort(key=lambda c: (-c.saved, -c.count, c.word))
    return out[:top]


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
