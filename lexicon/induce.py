"""Bilingual lexicon induction: translate source words through two aligned spaces.

The output is a :class:`BilingualDictionary` with one pair per (word, candidate), its score
under the criterion, and the candidate's rank (1 = best); filters keep only confident pairs
(mutual nearest neighbours, a minimum score) so the result can seed another alignment.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..data.dictionary import BilingualDictionary
from ..data.embeddings import Embeddings
from ..data.errors import XlingError
from .knn import Engine, Metric, Progress, resolve_engine
from .retrieval import RetrievalParams, best_match, target_penalty, translate

#: the default criterion (CSLS, k 10): one frozen instance, not a call in a signature
DEFAULT_RETRIEVAL = RetrievalParams()


@dataclass(frozen=True)
class Induction:
    """The induced pairs and what the filters removed."""

    dictionary: BilingualDictionary          # pairs with scores, query order then rank
    ranks: tuple[int, ...]                   # rank of each pair among its word's k candidates
    queries: int                             # source words translated
    oov_words: tuple[str, ...] = field(default=())  # requested words not in the source vectors
    candidates: int = 0                      # pairs before filtering (queries * k)
    dropped_min_score: int = 0             # pairs scoring below ``min_score``
    dropped_mutual: int = 0

    def as_dict(self) -> dict:
        return {"queries": self.queries, "oov_words": len(self.oov_words), "candidates": self.candidates,
                "pairs": len(self.dictionary), "dropped_min_score": self.dropped_min_score,
                "dropped_mutual": self.dropped_mutual}


def induce(
    src: Embeddings,
    tgt: Embeddings,
    words: Sequence[str] | None = None,
    *,
    k: int = 5,
    params: RetrievalParams = DEFAULT_RETRIEVAL,
    mutual: bool = False,
    min_score: float | None = None,
    mutual_pool: int | None = None,
    engine: Engine | None = None,
    progress: Progress | None = None,
) -> Induction:
    """Translate ``words`` (default: every source word) into their ``k`` best targets.

    Parameters
    ----------
    src : Embeddings, n_s × d
        *Mapped* source vectors; all of them form the source side of the CSLS / ISF
        target penalty and of the backward search of the mutual filter.
    tgt : Embeddings, n_t × d
        Target vectors (the candidates).
    words : sequence of str, optional
        Source words to translate, in output order (repeats ignored); words missing from
        ``src`` are reported in ``oov_words``.
    k : int
        Candidates per word.
    params : RetrievalParams
        Criterion (nn, csls, isf) and its knobs; scores are in its units (cosine for nn,
        CSLS value, ``beta * cos - log-normaliser`` for isf).
    mutual : bool
        Keep a pair (x, y) only when x is also y's best source under the same criterion
        applied backwards (targets translated into the source vocabulary).
    min_score : float, optional
        Keep pairs scoring at least this (in the criterion's units).
    mutual_pool : int, optional
        Search backwards among the first ``mutual_pool`` source words only (the most frequent
        ones, as MUSE's and VecMap's dictionary induction do); default: all of ``src``.

    Returns
    -------
    Induction
    """
    # 1. checks and the queries
    if src.dim != tgt.dim:
        raise XlingError(f"source vectors are {src.dim}-d but target vectors are {tgt.dim}-d: the spaces "
                         "are not aligned (map the source into the target space first, e.g. with xling align)")
    if k < 1:
        raise XlingError(f"k must be at least 1, got {k}")
    if words is None:
        q_rows = np.arange(len(src), dtype=np.int64)
        oov: list[str] = []
    else:
        uniq = list(dict.fromkeys(words))
        idx = src.indices(uniq)
        oov = [w for w, i in zip(uniq, idx.tolist(), strict=True) if i < 0]
        q_rows = idx[idx >= 0]
    if q_rows.size == 0:
        raise XlingError(f"none of the {len(oov)} words to translate is in the source vectors")
    eng = engine or resolve_engine()
    k = min(k, len(tgt))

    # 2. forward search under the criterion (target penalty over the whole source vocabulary)
    s_vecs = src.vectors
    queries = np.asarray(s_vecs[q_rows], dtype=np.float32)
    pen = target_penalty(tgt.vectors, s_vecs, params, engine=eng, progress=progress)
    scores, cand = translate(queries, tgt.vectors, k, params=params, tgt_penalty=pen, engine=eng)
    rank = np.broadcast_to(np.arange(1, k + 1), cand.shape)
    keep = np.ones(cand.shape, dtype=bool)

    # 3. minimum score
    dropped_low = 0
    if min_score is not None:
        ok = scores >= min_score
        dropped_low = int((~ok).sum())
        keep &= ok

    # 4. mutual filter: each kept target's best source, searched backwards
    dropped_mut = 0
    if mutual:
        ys = np.unique(cand[keep])
        if ys.size:
            pool = s_vecs if mutual_pool is None else s_vecs[:max(1, int(mutual_pool))]
            back_pen = target_penalty(pool, tgt.vectors, params, engine=eng)
            _, best_src = best_match(np.asarray(tgt.vectors[ys], dtype=np.float32), pool, params, pen=back_pen,
                                     engine=eng, metric=Metric.cosine)
            back = np.full(len(tgt), -1, dtype=np.int64)
            back[ys] = best_src
            ok = back[cand] == q_rows[:, None]
            dropped_mut = int((keep & ~ok).sum())
            keep &= ok

    # 5. the pairs, in query order then rank
    rr, cc = np.nonzero(keep)
    sw, tw = src.words, tgt.words
    pairs = [(sw[q_rows[r]], tw[cand[r, c]]) for r, c in zip(rr.tolist(), cc.tolist(), strict=True)]
    d = BilingualDictionary(tuple(pairs), tuple(float(x) for x in scores[rr, cc]))
    return Induction(dictionary=d, ranks=tuple(int(x) for x in rank[rr, cc]), queries=int(q_rows.size),
                     oov_words=tuple(oov), candidates=int(cand.size), dropped_min_score=dropped_low,
                     dropped_mutual=dropped_mut)
