"""Identical strings and numerals shared by two vocabularies: the free anchors of every pair.

Related languages share many spellings (names, loanwords, numbers); unrelated scripts share
almost only numerals. These are the classic weak supervision for alignment (Artetxe et al.
2017 used numerals only; Søgaard et al. 2018 identical strings).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum

from .dictionary import BilingualDictionary
from .sources import PairCollector, SourceReport

_NUMERAL = re.compile(r"^[0-9]+(?:[.,][0-9]+)*$")


class IdenticalMode(str, Enum):
    identical = "identical"  # every string in both vocabularies
    numerals = "numerals"  # only numbers written with ASCII digits


def is_numeral(word: str) -> bool:
    """``"2019"``, ``"3.14"``, ``"1,000"``: ASCII digits with optional ``.``/``,`` groups.

    The one definition of a numeral in xling: the ``numerals`` seed of ``xling align``
    (:func:`xling.align.seeds.identical_pairs`), ``xling data identical --mode numerals`` and
    the numbers let through ``xling data clean``'s script filter. Times, ranges, fractions and
    dates (``12:30``, ``1990-2000``, ``1/2``) are *not* numerals here: tokenisers split them
    differently across corpora (so they are rare, with poorly trained vectors), and ``3/4`` is
    a fraction, or a date read day-first or month-first depending on the locale. A plain number
    means the same in every language, which is what makes it a safe anchor (Artetxe et al. 2017
    aligned from numerals alone). ``.``/``,`` groups stay because ``1,000`` and ``3.5`` are
    frequent tokens; the two separators swap roles between locales, a known, rare source of
    wrong pairs (``1.000`` is one thousand in German, one in English).
    """
    return _NUMERAL.match(word) is not None


def identical_pairs(src_words: Sequence[str], tgt_words: Sequence[str], *,
                    mode: IdenticalMode = IdenticalMode.identical, min_length: int = 1,
                    origin: str | None = None) -> tuple[BilingualDictionary, SourceReport]:
    """Pairs ``(w, w)`` for words in both vocabularies, in the source vocabulary's order.

    Parameters
    ----------
    src_words, tgt_words : vocabularies (e.g. ``Embeddings.words``), most frequent first.
    mode : ``identical`` (all shared strings) or ``numerals`` (shared numbers only).
    min_length : shorter strings are skipped (counted): one-letter strings are rarely anchors.
    """
    mode = IdenticalMode(mode)
    rep = SourceReport(mode.value, "")
    col = PairCollector(rep, origin or mode.value)
    tgt = set(tgt_words)
    for w in src_words:
        rep.read += 1
        if w not in tgt:
            continue
        if mode is IdenticalMode.numerals and not is_numeral(w):
            rep.skip("shared, not a numeral")
            continue
        if len(w) < min_length:
            rep.skip(f"shorter than {min_length} characters")
            continue
        col.add(w, w)
    return col.result()
