"""Bilingual lexicon induction evaluation: P@k, MRR, coverage, frequency bands, hubness.

Protocol (the field's, made explicit):

* one query per *source word* of the test dictionary; a word with several gold translations
  is right at ``k`` when **any** of them is among its ``k`` best targets (counted once);
* the out-of-vocabulary policy is a parameter (:class:`OOVPolicy`): ``skip`` leaves source
  words with no pair in both vocabularies out of the denominator, ``wrong`` keeps them as
  misses; coverage is always part of the result;
* the target-side terms of CSLS / inverted softmax are computed over the whole source
  vocabulary given (``src`` or ``src_pool``), not over the test words;
* MRR uses the exact rank of the best-ranked gold translation among *all* targets.

Nothing here reads or writes files: arrays / :class:`Embeddings` and a
:class:`BilingualDictionary` in, an :class:`EvalResult` out.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from ..data.dictionary import BilingualDictionary
from ..data.embeddings import Embeddings
from ..data.errors import XlingError
from .knn import Engine, Metric, Progress, count_above, knn, resolve_engine
from .retrieval import RetrievalParams, SharedSubspace, criterion_terms, shared_subspace

#: the default criterion (CSLS, k 10): one frozen instance, not a call in a signature
DEFAULT_RETRIEVAL = RetrievalParams()

#: default upper edges of the source-word frequency bands (rank in the source vectors file)
DEFAULT_BANDS: tuple[int, ...] = (1000, 5000, 20000)
DEFAULT_KS: tuple[int, ...] = (1, 5, 10)


class OOVPolicy(str, Enum):
    """What happens to a source word whose pairs are all out of vocabulary."""

    skip = "skip"    # left out of the denominator (coverage tells how many)
    wrong = "wrong"  # counted as a miss at every k


@dataclass(frozen=True)
class Scores:
    """P@k and MRR over a set of queries (``None`` when the set is empty)."""

    queries: int
    precision: dict[int, float | None]
    mrr: float | None

    def as_dict(self) -> dict:
        out: dict = {"queries": self.queries}
        out.update({f"p@{k}": v for k, v in self.precision.items()})
        out["mrr"] = self.mrr
        return out


@dataclass(frozen=True)
class BandScores(Scores):
    """Scores of the source words whose frequency rank is in ``[lo, hi)`` (``hi=None``: no end)."""

    label: str = ""
    lo: int = 0
    hi: int | None = None

    def as_dict(self) -> dict:
        return {"band": self.label, "lo": self.lo, "hi": self.hi, **super().as_dict()}


@dataclass(frozen=True)
class Hubness:
    """How concentrated the retrieved targets are.

    ``k_occurrence`` N_k(y) counts the queries that have target ``y`` among their ``k`` best;
    a hub is a target with a large N_k. ``skewness`` is the (population) skewness of N_k over
    all targets (0 for a flat distribution, large and positive with hubs).
    """

    k: int
    queries: int
    skewness: float
    max_occurrence: int
    hubs: tuple[tuple[str, int], ...]      # the most retrieved targets and their N_k
    hub_query_share: float                 # fraction of queries with one of ``hubs`` in their top k
    hub_slot_share: float                  # fraction of all top-k slots taken by ``hubs``

    def as_dict(self) -> dict:
        return {"k": self.k, "queries": self.queries, "skewness": self.skewness,
                "max_occurrence": self.max_occurrence, "hubs": [list(h) for h in self.hubs],
                "hub_query_share": self.hub_query_share, "hub_slot_share": self.hub_slot_share}


@dataclass(frozen=True)
class EvalResult:
    """Everything one evaluation measured, plus the recipe that produced it."""

    params: RetrievalParams
    oov: OOVPolicy
    ks: tuple[int, ...]
    src_words: int              # unique source words in the dictionary
    covered: int                # ... with a pair in both vocabularies (the queries searched)
    overall: Scores
    bands: tuple[BandScores, ...]
    hubness: Hubness
    query_words: tuple[str, ...] = field(repr=False)    # covered source words, dictionary order
    ranks: np.ndarray = field(repr=False)               # (covered,) 1-based rank of the best gold
    top_indices: np.ndarray = field(repr=False)         # (covered, max k) retrieved target rows

    @property
    def coverage(self) -> float:
        return self.covered / self.src_words if self.src_words else 0.0

    def precision(self, k: int) -> float | None:
        return self.overall.precision[k]

    @property
    def mrr(self) -> float | None:
        return self.overall.mrr

    def signature_parts(self) -> dict[str, str]:
        """``retrieval=csls,k=10``, ``oov=skip``, ``cov=0.93`` as a dict, for ``cli.common.signature``."""
        # rounded down, so that a coverage below 100% never reads 1.00
        return {"retrieval": self.params.signature().split("=", 1)[1], "oov": self.oov.value,
                "cov": f"{math.floor(self.coverage * 100 + 1e-9) / 100:.2f}"}

    def as_dict(self) -> dict:
        return {"retrieval": self.params.retrieval.value, "csls_k": self.params.csls_k,
                "isf_beta": self.params.isf_beta, "oov": self.oov.value,
                "coverage": {"src_words": self.src_words, "covered": self.covered,
                             "oov": self.src_words - self.covered, "coverage": round(self.coverage, 6)},
                **self.overall.as_dict(), "bands": [b.as_dict() for b in self.bands],
                "hubness": self.hubness.as_dict()}


# ======================================================================== public API
def evaluate(
    src: Embeddings,
    tgt: Embeddings,
    dictionary: BilingualDictionary,
    *,
    params: RetrievalParams = DEFAULT_RETRIEVAL,
    oov: OOVPolicy | str = OOVPolicy.wrong,
    ks: Sequence[int] = DEFAULT_KS,
    bands: Sequence[int] = DEFAULT_BANDS,
    hub_k: int = 10,
    n_hubs: int = 10,
    src_pool: np.ndarray | None = None,
    tgt_penalty: np.ndarray | None = None,
    engine: Engine | None = None,
    progress: Progress | None = None,
    subspace: SharedSubspace | None | str = "auto",
) -> EvalResult:
    """Evaluate translation of the dictionary's source words through two aligned spaces.

    Parameters
    ----------
    src : Embeddings, n_s words × d
        *Mapped* source vectors, in frequency order (row ``i`` is the ``i``-th most frequent
        word: the frequency bands use this rank).
    tgt : Embeddings, n_t words × d
        Target vectors (the candidates searched; cap them beforehand for the field's 200k).
    dictionary : BilingualDictionary
        Gold pairs; a source word's translations are all its pairs.
    params : RetrievalParams
        Criterion (nn, csls, isf) and its knobs.
    oov : OOVPolicy
        ``skip`` or ``wrong`` for source words with no pair in both vocabularies.
    ks : sequence of int
        Cut-offs of P@k.
    bands : sequence of int
        Increasing upper edges of frequency bands: ``(1000, 5000)`` gives 0-1k, 1k-5k, 5k+.
    hub_k, n_hubs : int
        k of the k-occurrence, and how many top hubs to report.
    src_pool : ndarray, shape (n_p, d), optional
        Source vectors for the target-side CSLS/ISF term (default: all of ``src``).
    tgt_penalty : ndarray, shape (n_t,), optional
        That term, precomputed (reuse across evaluations with the same spaces).
    engine : Engine
        Nearest-neighbour backend/device/chunk budget.
    subspace : SharedSubspace or None or "auto"
        ``"auto"``: when one space is low-rank (:func:`shared_subspace`), compute in its
        subspace (the same cosines, cheaper); a :class:`SharedSubspace` built from these
        ``src.vectors`` and ``tgt.vectors``: reuse it and its projections (several criteria
        on one pair of spaces); ``None``: the full space. Ignored when ``src_pool`` is given.

    Returns
    -------
    EvalResult
    """
    # 1. check the inputs
    ks = tuple(sorted({int(k) for k in ks}))
    if not ks or ks[0] < 1:
        raise XlingError("P@k cut-offs must be positive integers")
    edges = _check_bands(bands)
    oov = OOVPolicy(oov)
    if src.dim != tgt.dim:
        raise XlingError(f"source vectors are {src.dim}-d but target vectors are {tgt.dim}-d: the spaces "
                         "are not aligned (map the source into the target space first, e.g. with xling align)")
    if len(dictionary) == 0:
        raise XlingError("the dictionary is empty")
    eng = engine or resolve_engine()

    # 2. one query per source word; gold = its translations that are in the target vocabulary
    qs = _queries(src, tgt, dictionary)

    # 3. the space searched: the full one, or the low-rank subspace (the same cosines, cheaper)
    space = _search_space(src, tgt, qs.rows, src_pool, subspace)

    # 4. the criterion as one adjusted search: scale * cos - bias[target]
    scale, bias = criterion_terms(params, space.tgt, space.pool, tgt_penalty=tgt_penalty, engine=eng,
                                  progress=progress, metric=space.metric)
    kmax = min(max(max(ks), hub_k), len(tgt))
    _, top = knn(space.queries, space.tgt, kmax, scale=scale, base_bias=bias, engine=eng, metric=space.metric)

    # 5. ranks: from the top list when a gold is there, else counted over all targets
    ranks = _gold_ranks(space.queries, space.tgt, qs.gold, top, scale, bias, eng, space.metric)

    # 6. overall, per band, hubness
    n_oov = qs.src_words - qs.covered
    overall = _scores(ranks, ks, n_oov if oov is OOVPolicy.wrong else 0)
    band_list = _bands(ranks, qs.rows, qs.uncovered_rows, n_oov - qs.uncovered_rows.size, ks, edges, oov)
    hub = _hubness(top[:, :min(hub_k, kmax)], len(tgt), tgt.words, n_hubs)
    return EvalResult(params=params, oov=oov, ks=ks, src_words=qs.src_words, covered=qs.covered, overall=overall,
                      bands=band_list, hubness=hub, query_words=qs.words, ranks=ranks, top_indices=top)


def band_label(lo: int, hi: int | None) -> str:
    """``0-1k``, ``1k-5k``, ``20k+``."""
    return f"{_short(lo)}+" if hi is None else f"{_short(lo)}-{_short(hi)}"


def k_occurrence(top: np.ndarray, n_targets: int) -> np.ndarray:
    """N_k(y): how many rows of ``top`` (shape (nq, k), target indices) contain ``y``, shape (n_targets,)."""
    return np.bincount(np.asarray(top, dtype=np.int64).ravel(), minlength=n_targets)


def skewness(x: np.ndarray) -> float:
    """Population skewness ``E[(x - mean)^3] / std^3`` (0 when ``x`` is constant)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return 0.0
    c = x - x.mean()
    sd = math.sqrt(float(np.mean(c * c)))
    return 0.0 if sd == 0 else float(np.mean(c ** 3) / sd ** 3)


# ======================================================================== internals
@dataclass(frozen=True)
class _Queries:
    """The dictionary's source words as queries."""

    words: tuple[str, ...]        # covered source words, dictionary order
    rows: np.ndarray              # (covered,) their rows in the source vectors
    gold: list[list[int]]         # per query, the target rows of its translations (sorted)
    uncovered_rows: np.ndarray    # source rows of words in the source vocabulary with no translation in the target one
    src_words: int                # unique source words in the dictionary

    @property
    def covered(self) -> int:
        return len(self.words)


def _queries(src: Embeddings, tgt: Embeddings, dictionary: BilingualDictionary) -> _Queries:
    """One query per source word with at least one translation in both vocabularies."""
    gold_sets = dictionary.translations()
    s2i, t2i = src.key_to_index, tgt.key_to_index
    q_words, q_rows, q_gold, inv_rank = [], [], [], []
    for w, golds in gold_sets.items():
        g = sorted({t2i[t] for t in golds if t in t2i})
        r = s2i.get(w, -1)
        if r >= 0 and g:
            q_words.append(w)
            q_rows.append(r)
            q_gold.append(g)
        elif r >= 0:
            inv_rank.append(r)  # in the source vocabulary, but no translation in the target one
    if not q_words:
        n_src_oov = sum(w not in s2i for w in gold_sets)
        raise XlingError(f"no source word of the dictionary has a translation in both vocabularies: "
                         f"{len(gold_sets)} source words, {n_src_oov} of them out of the source vocabulary, "
                         f"the others have only out-of-vocabulary translations")
    return _Queries(tuple(q_words), np.asarray(q_rows, dtype=np.int64), q_gold,
                    np.asarray(inv_rank, dtype=np.int64), len(gold_sets))


@dataclass(frozen=True)
class _Space:
    """What the search runs on: query rows, target rows, the metric, and the source pool (lazily)."""

    queries: np.ndarray
    tgt: np.ndarray
    metric: Metric
    pool: Callable[[], np.ndarray]


def _search_space(src: Embeddings, tgt: Embeddings, q_rows: np.ndarray, src_pool: np.ndarray | None,
                  subspace: SharedSubspace | None | str) -> _Space:
    """The full space, or the shared low-rank subspace (see :func:`evaluate`'s ``subspace``)."""
    if src_pool is not None:
        subspace = None
    elif isinstance(subspace, str):
        if subspace != "auto":
            raise XlingError(f"subspace must be a SharedSubspace, None or 'auto', got {subspace!r}")
        subspace = shared_subspace(src.vectors, tgt.vectors)
    elif subspace is not None and not subspace.matches(src.vectors, tgt.vectors):
        raise XlingError("subspace was built from other vectors than src and tgt")
    if subspace is None:
        pool = (lambda: src.vectors) if src_pool is None else (lambda: src_pool)
        return _Space(np.asarray(src.vectors[q_rows], dtype=np.float32), tgt.vectors, Metric.cosine, pool)
    # the whole source is projected only if the criterion needs it
    return _Space(subspace.source_rows(q_rows), subspace.target(), Metric.ip, subspace.source)


def _gold_ranks(queries, tgt_vecs, q_gold, top, scale, bias, eng, metric=Metric.cosine) -> np.ndarray:
    """1-based rank of each query's best-ranked gold target.

    Inside the retrieved list the rank is the list position (so P@k and MRR agree exactly);
    beyond it, ``1 +`` the number of non-gold targets scoring above the best gold score.
    """
    nq, kmax = top.shape
    ranks = np.zeros(nq, dtype=np.int64)
    missing = []
    for i, g in enumerate(q_gold):
        hit = np.flatnonzero(np.isin(top[i], g))
        if hit.size:
            ranks[i] = hit[0] + 1
        else:
            missing.append(i)
    if not missing:
        return ranks
    miss = np.asarray(missing, dtype=np.int64)
    qm = queries[miss]
    # best gold score of each query, by the same formula the search uses
    gq = np.repeat(np.arange(miss.size), [len(q_gold[i]) for i in missing])
    gt = np.concatenate([np.asarray(q_gold[i], dtype=np.int64) for i in missing])
    tv = np.asarray(tgt_vecs[gt], dtype=np.float32)
    if metric is Metric.cosine:
        qn = qm / np.maximum(np.linalg.norm(qm, axis=1, keepdims=True), 1e-30)
        tn = tv / np.maximum(np.linalg.norm(tv, axis=1, keepdims=True), 1e-30)
    else:
        qn, tn = qm, tv
    gs = scale * np.einsum("ij,ij->i", qn[gq], tn)
    if bias is not None:
        gs = gs - bias[gt]
    best = np.full(miss.size, -np.inf, dtype=np.float64)
    np.maximum.at(best, gq, gs)
    above = count_above(qm, tgt_vecs, best.astype(np.float32), scale=scale, base_bias=bias,
                        exclude=(gq, gt), engine=eng, metric=metric)
    ranks[miss] = np.maximum(above + 1, kmax + 1)
    return ranks


def _scores(ranks: np.ndarray, ks: tuple[int, ...], extra_misses: int = 0) -> Scores:
    n = ranks.size + extra_misses
    if n == 0:
        return Scores(0, {k: None for k in ks}, None)
    return Scores(n, {k: float((ranks <= k).sum() / n) for k in ks}, float((1.0 / ranks).sum() / n))


def _check_bands(bands: Sequence[int]) -> tuple[int, ...]:
    edges = tuple(int(b) for b in bands)
    if any(b <= 0 for b in edges) or any(b >= c for b, c in zip(edges, edges[1:], strict=False)):
        raise XlingError(f"frequency bands must be increasing positive ranks, got {list(bands)}")
    return edges


def _bands(ranks, q_rows, uncovered_rows, n_src_missing, ks, edges, oov) -> tuple[BandScores, ...]:
    """Scores per source-frequency band; under ``wrong`` the uncovered in-vocabulary words count
    as misses in their band, and words missing from the source vocabulary get an ``oov`` row."""
    out = []
    bounds = (0,) + edges
    for lo, hi in zip(bounds, edges + (None,), strict=True):
        sel = (q_rows >= lo) if hi is None else ((q_rows >= lo) & (q_rows < hi))
        extra = 0
        if oov is OOVPolicy.wrong and uncovered_rows.size:
            extra = int(((uncovered_rows >= lo) if hi is None else
                         ((uncovered_rows >= lo) & (uncovered_rows < hi))).sum())
        s = _scores(ranks[sel], ks, extra)
        out.append(BandScores(s.queries, s.precision, s.mrr, label=band_label(lo, hi), lo=lo, hi=hi))
    if oov is OOVPolicy.wrong and n_src_missing:
        s = _scores(ranks[:0], ks, n_src_missing)
        out.append(BandScores(s.queries, s.precision, s.mrr, label="oov", lo=-1, hi=None))
    return tuple(out)


def _hubness(top: np.ndarray, n_targets: int, words, n_hubs: int) -> Hubness:
    nq, k = top.shape
    occ = k_occurrence(top, n_targets)
    order = np.argsort(-occ, kind="stable")[:n_hubs]
    order = order[occ[order] > 0]
    hub_set = np.zeros(n_targets, dtype=bool)
    hub_set[order] = True
    in_top = hub_set[top]
    return Hubness(k=k, queries=nq, skewness=skewness(occ), max_occurrence=int(occ.max(initial=0)),
                   hubs=tuple((words[i], int(occ[i])) for i in order.tolist()),
                   hub_query_share=float(in_top.any(axis=1).mean()) if nq else 0.0,
                   hub_slot_share=float(in_top.mean()) if nq else 0.0)


def _short(n: int) -> str:
    for div, suf in ((1_000_000, "M"), (1000, "k")):
        if n >= div and n % (div // 10) == 0:
            v = n / div
            return f"{v:g}{suf}"
    return str(n)
