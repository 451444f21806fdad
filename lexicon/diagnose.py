"""Say what is likely wrong when a dictionary and two spaces do not fit together.

A swapped pair of vectors files, a dictionary read in the wrong direction, or two spaces that
were never aligned give numbers (low coverage, P@1 near 0) that look like results. These checks
turn those cases into messages; the CLI prints them as warnings and records carry them
(``"warnings": [...]``). Arrays / :class:`Embeddings` and a dictionary in, messages out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.dictionary import BilingualDictionary
from ..data.embeddings import Embeddings

#: coverage (share of the dictionary's pairs with both words in the vocabularies) below which we warn
MIN_COVERAGE = 0.5
#: mean cosine of the gold pairs below which two spaces look unaligned (aligned spaces: 0.3 and more, 0.72
#: on the demo's GloVe en -> fr after xling align; the same test words unmapped: 0.003)
MIN_GOLD_COSINE = 0.1


@dataclass(frozen=True)
class PairFit:
    """How a dictionary fits two vocabularies, as given and with the two sides swapped."""

    pairs: int
    coverage: float          # share of pairs with the source word in SRC and the target word in TGT
    swapped_coverage: float  # share with the source word in TGT and the target word in SRC
    gold_cosine: float | None  # mean cosine of the covered pairs (None: not computed / dims differ)


def pair_fit(src: Embeddings, tgt: Embeddings, dictionary: BilingualDictionary, *, cosine: bool = True,
             sample: int = 5000, seed: int = 0) -> PairFit:
    """Coverage as given and swapped, and the mean cosine of (a sample of ``sample``) covered pairs."""
    pairs = dictionary.pairs
    n = len(pairs)
    if n == 0:
        return PairFit(0, 0.0, 0.0, None)
    s_idx, t_idx = src.key_to_index, tgt.key_to_index
    fwd = [(s_idx[a], t_idx[b]) for a, b in pairs if a in s_idx and b in t_idx]
    rev = sum(1 for a, b in pairs if a in t_idx and b in s_idx)
    cos = None
    if cosine and fwd and src.dim == tgt.dim:
        rows = np.asarray(fwd, dtype=np.int64)
        if len(rows) > sample:
            rows = rows[np.random.default_rng(seed).choice(len(rows), sample, replace=False)]
        a = np.asarray(src.vectors[rows[:, 0]], dtype=np.float64)
        b = np.asarray(tgt.vectors[rows[:, 1]], dtype=np.float64)
        na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
        ok = (na > 0) & (nb > 0)
        if ok.any():
            cos = float(np.mean(np.sum(a[ok] * b[ok], axis=1) / (na[ok] * nb[ok])))
    return PairFit(n, len(fwd) / n, rev / n, cos)


def diagnose(fit: PairFit, *, what: str = "dictionary", aligned: bool = True,
             min_coverage: float = MIN_COVERAGE, min_cosine: float = MIN_GOLD_COSINE) -> list[str]:
    """Messages for what is likely wrong (empty when nothing is).

    Parameters
    ----------
    fit : from :func:`pair_fit`.
    what : how to name the dictionary in the messages (``"gold dictionary"``, ``"seed dictionary"``).
    aligned : the spaces are supposed to be aligned already (evaluation), so the gold pairs' cosine
        is checked; ``False`` for a seed dictionary before alignment.
    """
    out: list[str] = []
    if fit.pairs == 0:
        return out
    pct, rpct = 100 * fit.coverage, 100 * fit.swapped_coverage
    if fit.coverage < min_coverage:
        if fit.swapped_coverage >= max(min_coverage, 2 * fit.coverage):
            out.append(f"only {pct:.1f}% of the {what}'s pairs are in the vocabularies, {rpct:.1f}% with source "
                       f"and target swapped: SRC and TGT are likely given in the wrong order, or the "
                       f"{what} goes the other way (target -> source)")
        else:
            out.append(f"only {pct:.1f}% of the {what}'s pairs have both words in the vocabularies: check the "
                       f"languages, the case of the words (lower-cased vectors?) and --max-vocab")
    swapped = bool(out) and "swapped" in out[0]
    if aligned and not swapped and fit.gold_cosine is not None and fit.gold_cosine < min_cosine:
        out.append(f"the {what}'s pairs have mean cosine {fit.gold_cosine:.3f} (aligned spaces give 0.3 or more): "
                   f"the two spaces look unaligned; evaluate the mapped vectors written by xling align, or "
                   f"check that SRC and TGT are the right files")
    return out


def check_pairs(src: Embeddings, tgt: Embeddings, dictionary: BilingualDictionary, *, what: str = "dictionary",
                aligned: bool = True) -> list[str]:
    """:func:`pair_fit` then :func:`diagnose`: the warnings for this dictionary and these spaces."""
    return diagnose(pair_fit(src, tgt, dictionary, cosine=aligned), what=what, aligned=aligned)
