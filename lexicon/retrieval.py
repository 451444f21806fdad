"""The one retrieval layer: criteria, best-match search, dictionary induction and P@1.

Criteria (:class:`Retrieval`, knobs in :class:`RetrievalParams`):

``nn``
    nearest neighbour by cosine.
``csls``
    cross-domain similarity local scaling (Conneau et al. 2018):
    ``2 cos(x, y) - r_T(x) - r_S(y)``, where ``r_T(x)`` is the mean cosine of ``x`` to its
    ``k`` nearest targets and ``r_S(y)`` the mean cosine of ``y`` to its ``k`` nearest
    *sources*, both over the whole vocabularies given.
``isf``
    inverted softmax (Smith et al. 2017): ``beta cos(x, y) - log sum_x' exp(beta cos(x', y))``,
    i.e. the log-probability of retrieving ``x`` from ``y``, normalised over the sources.

All three reduce to one chunked top-k search of ``scale * sim - bias[target]``
(:func:`criterion_terms`); the query-side CSLS term does not change the ranking, so only
:func:`translate` adds it to the scores it returns.

Two kinds of callers share these functions:

* lexicon induction and evaluation pass raw vectors (``metric=cosine``, the default of
  :func:`translate`, :func:`target_penalty` and :func:`criterion_terms`);
* alignment passes spaces already prepared so that inner products are the cosines
  (``xling.align.procrustes.sim_spaces``): :func:`best_match`, :func:`induce_pairs`,
  :func:`stochastic_best` and :func:`precision_at_1` default to ``metric=ip``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from ..data.embeddings import unit_rows
from ..data.errors import XlingError
from .knn import Engine, Metric, Progress, cross_topk, knn, logsumexp_sim, mean_topk, resolve_engine


class Retrieval(str, Enum):
    nn = "nn"
    csls = "csls"
    isf = "isf"


class Direction(str, Enum):
    """Which best matches form an induced dictionary."""

    mutual = "mutual"  # pairs that are each other's best match
    union = "union"  # forward and backward matches
    forward = "forward"
    backward = "backward"


@dataclass(frozen=True)
class RetrievalParams:
    """The criterion and its knobs; ``signature()`` names them for result records."""

    retrieval: Retrieval = Retrieval.csls
    csls_k: int = 10
    isf_beta: float = 30.0

    def signature(self) -> str:
        if self.retrieval is Retrieval.csls:
            return f"retrieval=csls,k={self.csls_k}"
        if self.retrieval is Retrieval.isf:
            return f"retrieval=isf,beta={self.isf_beta:g}"
        return "retrieval=nn"

    @property
    def scale(self) -> float:
        """The factor of the similarity in the ranked score ``scale * sim - bias``."""
        if self.retrieval is Retrieval.csls:
            return 2.0
        if self.retrieval is Retrieval.isf:
            return float(self.isf_beta)
        return 1.0

    def check(self) -> RetrievalParams:
        """Raise :class:`XlingError` for knobs the criterion cannot use; returns ``self``."""
        if self.retrieval is Retrieval.csls and self.csls_k < 1:
            raise XlingError(f"CSLS needs k >= 1, got {self.csls_k} (use retrieval nn for plain nearest neighbours)")
        if self.retrieval is Retrieval.isf and not self.isf_beta > 0:
            raise XlingError(f"the inverted softmax needs beta > 0, got {self.isf_beta:g}")
        return self


def csls_penalty(queries: np.ndarray, base: np.ndarray, k: int = 10, *, engine: Engine | None = None,
                 progress: Progress | None = None, metric: Metric | str = Metric.cosine) -> np.ndarray:
    """``r(q)``: mean similarity of each query row to its ``k`` nearest base rows, shape (nq,)."""
    return mean_topk(queries, base, k, engine=engine or resolve_engine(), progress=progress, metric=metric)


def target_penalty(tgt: np.ndarray, src_pool: np.ndarray, params: RetrievalParams, *,
                   engine: Engine | None = None, progress: Progress | None = None,
                   metric: Metric | str = Metric.cosine) -> np.ndarray | None:
    """The target-side term of a criterion over the source vocabulary ``src_pool``, shape (nt,)
    (``r_S(y)`` for CSLS, the log-normaliser for ISF; ``None`` for NN)."""
    params.check()
    eng = engine or resolve_engine()
    if params.retrieval is Retrieval.csls:
        return csls_penalty(tgt, src_pool, params.csls_k, engine=eng, progress=progress, metric=metric)
    if params.retrieval is Retrieval.isf:
        return logsumexp_sim(tgt, src_pool, params.isf_beta, engine=eng, progress=progress, metric=metric)
    return None


def criterion_terms(params: RetrievalParams, tgt: np.ndarray, src_pool: np.ndarray | Callable[[], np.ndarray],
                    *, tgt_penalty: np.ndarray | None = None, engine: Engine | None = None,
                    progress: Progress | None = None,
                    metric: Metric | str = Metric.cosine) -> tuple[float, np.ndarray | None]:
    """``(scale, bias)`` such that the criterion ranks the rows of ``tgt`` by ``scale * sim - bias``.

    Parameters
    ----------
    tgt : ndarray, shape (nt, d)
    src_pool : ndarray, shape (ns, d), or a function returning it
        Source rows of the target-side term; a function is called only when the criterion
        needs them and ``tgt_penalty`` is not given.
    tgt_penalty : ndarray, shape (nt,), optional
        The target-side term, already computed.

    Returns
    -------
    scale : float
    bias : ndarray, shape (nt,), float32, or None (NN)
    """
    params.check()
    if params.retrieval is Retrieval.nn:
        return 1.0, None
    pen = tgt_penalty
    if pen is None:
        pool = src_pool() if callable(src_pool) else src_pool
        pen = target_penalty(tgt, pool, params, engine=engine, progress=progress, metric=metric)
    elif np.shape(pen) != (tgt.shape[0],):
        raise XlingError(f"tgt_penalty must have shape ({tgt.shape[0]},), got {np.shape(pen)}")
    return params.scale, np.asarray(pen, dtype=np.float32)


def translate(
    src: np.ndarray,
    tgt: np.ndarray,
    k: int = 1,
    *,
    params: RetrievalParams = RetrievalParams(),
    src_pool: np.ndarray | None = None,
    tgt_penalty: np.ndarray | None = None,
    engine: Engine | None = None,
    progress: Progress | None = None,
    metric: Metric | str = Metric.cosine,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best targets of every source row under a retrieval criterion.

    Parameters
    ----------
    src : ndarray, shape (nq, d)
        Mapped source vectors of the words to translate.
    tgt : ndarray, shape (nt, d)
        Target vectors (the candidates).
    src_pool : ndarray, shape (ns, d), optional
        The whole source vocabulary for the target-side term of CSLS / ISF
        (defaults to ``src``; pass the full vocabulary when ``src`` is a few queries).
    tgt_penalty : ndarray, shape (nt,), optional
        A precomputed target-side term (``r_S(y)`` for CSLS, the log-normaliser for ISF)
        to reuse across calls with the same spaces.

    Returns
    -------
    scores : ndarray, shape (nq, k), float32, in the criterion's units (the CSLS value
        includes its query-side term)
    indices : ndarray, shape (nq, k), int64 (rows of ``tgt``)
    """
    eng = engine or resolve_engine()
    scale, bias = criterion_terms(params, tgt, src if src_pool is None else src_pool, tgt_penalty=tgt_penalty,
                                  engine=eng, metric=metric)
    if bias is None:
        return knn(src, tgt, k, engine=eng, progress=progress, metric=metric)
    s, i = knn(src, tgt, k, scale=scale, base_bias=bias, engine=eng, progress=progress, metric=metric)
    if params.retrieval is Retrieval.csls:
        s -= csls_penalty(src, tgt, params.csls_k, engine=eng, metric=metric)[:, None]
    return s, i


def best_match(a: np.ndarray, b: np.ndarray, params: RetrievalParams = RetrievalParams(), *,
               pool: np.ndarray | None = None, pen: np.ndarray | None = None, engine: Engine | None = None,
               metric: Metric | str = Metric.ip) -> tuple[np.ndarray, np.ndarray]:
    """Best row of ``b`` for every row of ``a`` under the criterion.

    ``pool`` (default ``a``) is the source side of the target-side term; ``pen`` that term
    when it is already known.

    Returns
    -------
    scores : ndarray, shape (na,), float32: ``scale * sim - bias`` (no query-side term)
    indices : ndarray, shape (na,), int64
    """
    eng = engine or resolve_engine()
    scale, bias = criterion_terms(params, b, a if pool is None else pool, tgt_penalty=pen, engine=eng,
                                  metric=metric)
    if bias is None:
        s, i = knn(a, b, 1, metric=metric, engine=eng)
    else:
        s, i = knn(a, b, 1, metric=metric, scale=scale, base_bias=bias, engine=eng)
    return s[:, 0], i[:, 0]


def stochastic_best(a: np.ndarray, b: np.ndarray, params: RetrievalParams, keep_prob: float,
                    rng: np.random.Generator, *, pen: np.ndarray | None = None, engine: Engine | None = None,
                    rows: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`best_match` (inner products of the rows), but each similarity is dropped with
    probability ``1 - keep_prob`` (stochastic dictionary induction, Artetxe et al. 2019).

    The draws are ``rng.bytes`` of one byte per similarity, block of ``rows`` by block: a
    similarity survives when its byte is below ``round(keep_prob * 256)`` (at least 1).
    """
    eng = engine or resolve_engine()
    scale, bias = criterion_terms(params, b, a, tgt_penalty=pen, engine=eng, metric=Metric.ip)
    pen_b = np.zeros(b.shape[0], np.float32) if bias is None else bias
    scale32 = np.float32(scale)
    thr = max(1, round(keep_prob * 256))
    best_s = np.empty(a.shape[0], np.float32)
    best_i = np.empty(a.shape[0], np.int64)
    from ..data.blas import map_rows

    for r0 in range(0, a.shape[0], rows):
        s = np.ascontiguousarray(map_rows(b, a[r0:r0 + rows].T).T)  # the same bytes whatever the BLAS threads
        s *= scale32
        s -= pen_b
        drop = np.frombuffer(rng.bytes(s.size), dtype=np.uint8).reshape(s.shape) >= thr
        s[drop] = -np.inf
        i = s.argmax(axis=1)
        best_i[r0:r0 + rows] = i
        best_s[r0:r0 + rows] = s[np.arange(s.shape[0]), i]
    return best_s, best_i


def _best_both_ways(a: np.ndarray, b: np.ndarray, params: RetrievalParams, pen_b: np.ndarray | None,
                    eng: Engine) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``best_match(a, b, pen=pen_b)`` and ``best_match(b, a)``: the same answers, from passes over
    ``a @ b.T`` that serve both directions (:func:`xling.lexicon.knn.cross_topk`): one for both
    CSLS terms (``pen_b`` not given), one for both best matches.

    Returns ((forward scores, forward indices), (backward scores, backward indices)), each (n,)."""
    params.check()
    pen_a: np.ndarray | None = None
    if params.retrieval is Retrieval.csls:
        k = params.csls_k
        if pen_b is None:
            (sa, _), (sb, _) = cross_topk(a, b, k, engine=eng)
            pen_a, pen_b = _row_mean(sa), _row_mean(sb)
        else:
            pen_a = csls_penalty(a, b, k, engine=eng, metric=Metric.ip)
    elif params.retrieval is Retrieval.isf:
        pen_a = target_penalty(a, b, params, engine=eng, metric=Metric.ip)
        if pen_b is None:
            pen_b = target_penalty(b, a, params, engine=eng, metric=Metric.ip)
    if pen_b is not None and np.shape(pen_b) != (b.shape[0],):
        raise XlingError(f"pen_b must have shape ({b.shape[0]},), got {np.shape(pen_b)}")
    (fs, fi), (bs, bi) = cross_topk(a, b, 1, scale=params.scale, a_bias=pen_a, b_bias=pen_b, engine=eng)
    return (fs[:, 0], fi[:, 0]), (bs[:, 0], bi[:, 0])


def _row_mean(scores: np.ndarray) -> np.ndarray:
    """The CSLS term from the top-k scores, as :func:`xling.lexicon.knn.mean_topk` computes it."""
    return scores.mean(axis=1, dtype=np.float64).astype(np.float32)


def induce_pairs(a: np.ndarray, b: np.ndarray, params: RetrievalParams = RetrievalParams(), *,
                 direction: Direction = Direction.mutual, keep_prob: float = 1.0,
                 rng: np.random.Generator | None = None, engine: Engine | None = None,
                 pen_b: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Induce a dictionary between the rows of ``a`` and ``b`` (already in one space).

    Parameters
    ----------
    a : ndarray, shape (na, r)
        Source rows (usually the most frequent words) such that ``a @ b.T`` are the cosines.
    b : ndarray, shape (nb, r)
        Target rows.
    params : RetrievalParams
        Criterion of the best matches, forward (target term over ``a``) and backward
        (source term over ``b``).
    direction : Direction
    keep_prob : float
        Stochastic induction: probability of keeping each similarity (1: deterministic).
        The forward search draws from ``rng`` first, then the backward one.
    pen_b : ndarray, shape (nb,), optional
        The target-side term of the rows of ``b`` over the rows of ``a``, when already computed.

    Returns
    -------
    src, tgt : ndarray, shape (m,), int64 row indices of the induced pairs (sorted, unique)
    objective : float
        Mean best score, forward and backward averaged (the self-learning objective).
    """
    eng = engine or resolve_engine()
    if keep_prob < 1.0:
        rng = rng if rng is not None else np.random.default_rng(0)
        fs, fi = stochastic_best(a, b, params, keep_prob, rng, pen=pen_b, engine=eng)
        bs, bi = stochastic_best(b, a, params, keep_prob, rng, engine=eng)
    else:
        (fs, fi), (bs, bi) = _best_both_ways(a, b, params, pen_b, eng)
    objective = float((fs.mean(dtype=np.float64) + bs.mean(dtype=np.float64)) / 2)
    fwd = np.stack([np.arange(a.shape[0]), fi])
    bwd = np.stack([bi, np.arange(b.shape[0])])
    if direction is Direction.forward:
        pairs = fwd
    elif direction is Direction.backward:
        pairs = bwd
    elif direction is Direction.union:
        pairs = np.concatenate([fwd, bwd], axis=1)
    else:
        pairs = fwd[:, bi[fi] == np.arange(a.shape[0])]
    pairs = np.unique(pairs, axis=1)
    return pairs[0].astype(np.int64), pairs[1].astype(np.int64), objective


def precision_at_1(a_q: np.ndarray, b: np.ndarray, gold: Sequence[set[int]],
                   params: RetrievalParams = RetrievalParams(), *, pool: np.ndarray | None = None,
                   tgt_penalty: np.ndarray | None = None, engine: Engine | None = None,
                   metric: Metric | str = Metric.ip) -> float:
    """Share of query rows whose best target under the criterion is a gold one.

    ``pool`` (rows like ``a_q``, default ``a_q``) is the source side of the target-side term;
    ``tgt_penalty`` a precomputed one. 0 when there is no query.
    """
    if a_q.shape[0] == 0:
        return 0.0
    if tgt_penalty is None and params.retrieval is not Retrieval.nn:
        i = best_targets(a_q, b, params, pool=a_q if pool is None else pool, engine=engine, metric=metric)
    else:
        _, i = best_match(a_q, b, params, pool=pool, pen=tgt_penalty, engine=engine, metric=metric)
    return float(np.mean([int(t) in g for t, g in zip(i, gold, strict=True)]))


#: pool rows of the lower bounds of :func:`best_targets`
BOUND_POOL = 2048


def best_targets(a_q: np.ndarray, b: np.ndarray, params: RetrievalParams, *, pool: np.ndarray,
                 engine: Engine | None = None, metric: Metric | str = Metric.ip,
                 bound_pool: int = BOUND_POOL) -> np.ndarray:
    """Best row of ``b`` for every row of ``a_q`` under the criterion (as :func:`best_match`), with
    the target-side term computed only for the targets that can be a query's best.

    The target-side term over the whole ``pool`` (``r_S(y)`` of CSLS: the mean of the ``k`` best
    similarities of target ``y`` over the pool; ISF's log-sum-exp) costs ``nb x n_pool``
    similarities, while a few queries need it for a few targets only. Over the first
    ``bound_pool`` rows of the pool, each term is a lower bound of the true one (the ``i``-th best
    over a subset is at most the ``i``-th best over the whole; a log-sum-exp over fewer terms is
    smaller), so ``scale * sim - bound`` bounds every score from above. Then, until no target
    whose bound reaches a query's best exact score so far lacks its exact term:
    the exact term of those targets. The answer is the one :func:`best_match` gives with the
    whole term (the same search over the targets kept, in their order, with the same exact
    terms); bounds are compared with a margin of 1e-4 so float rounding never prunes a target
    that could win.

    Returns
    -------
    indices : ndarray, shape (nq,), int64 (rows of ``b``)
    """
    eng = engine or resolve_engine()
    nq, nb = a_q.shape[0], b.shape[0]
    scale = np.float32(params.scale)
    if params.retrieval is Retrieval.nn or pool.shape[0] <= 2 * bound_pool or nq * nb > eng.chunk_elements:
        return best_match(a_q, b, params, pool=pool, engine=eng, metric=metric)[1]
    # 1. upper bounds of every score, from the term over the first rows of the pool
    lo = target_penalty(b, pool[:bound_pool], params, engine=eng, metric=metric)
    assert lo is not None
    qa, ba = (unit_rows(a_q), unit_rows(b)) if Metric(metric) is Metric.cosine else (a_q, b)
    sim = np.asarray(qa, np.float32) @ np.asarray(ba, np.float32).T
    sim *= scale
    ub = sim - np.asarray(lo, np.float32)
    # 2. exact terms where a bound reaches a query's best exact score
    exact = np.zeros(nb, np.float32)
    known = np.zeros(nb, bool)
    new = np.unique(np.argmax(ub, axis=1))
    while new.size:
        pen = target_penalty(b[new], pool, params, engine=eng, metric=metric)
        assert pen is not None
        exact[new] = pen
        known[new] = True
        cols = np.flatnonzero(known)
        best = (sim[:, cols] - exact[cols]).max(axis=1)
        need = (ub >= (best - np.float32(1e-4))[:, None]).any(axis=0)
        new = np.flatnonzero(need & ~known)
    # 3. the search over the targets kept, with their exact terms
    rows = np.flatnonzero(known)
    _, i = knn(a_q, b[rows], 1, metric=metric, scale=float(scale), base_bias=exact[rows], engine=eng)
    return rows[i[:, 0]]


class SharedSubspace:
    """Two spaces seen through the row space of the lower-rank one (see :func:`shared_subspace`).

    Projections are computed when first asked for and kept, so several evaluations of the
    same pair of spaces (``lexicon eval --retrieval all``) pay for them once, and only the
    rows needed: the query rows always, the whole source only for a CSLS / ISF pool.
    """

    def __init__(self, src: np.ndarray, tgt: np.ndarray, basis: np.ndarray):
        self.src, self.tgt, self.basis = src, tgt, basis  # basis: (d, r) float32, orthonormal columns
        self._src_r: np.ndarray | None = None
        self._tgt_r: np.ndarray | None = None

    @property
    def rank(self) -> int:
        return int(self.basis.shape[1])

    def matches(self, src: np.ndarray, tgt: np.ndarray) -> bool:
        """Whether this subspace was built from these two matrices."""
        return src is self.src and tgt is self.tgt

    def source(self) -> np.ndarray:
        """Every source row, unit length then projected, shape (n_s, r) float32."""
        if self._src_r is None:
            self._src_r = self.project(self.src)
        return self._src_r

    def target(self) -> np.ndarray:
        """Every target row, unit length then projected, shape (n_t, r) float32."""
        if self._tgt_r is None:
            self._tgt_r = self.project(self.tgt)
        return self._tgt_r

    def source_rows(self, rows: np.ndarray) -> np.ndarray:
        """Source rows ``rows`` only, projected (reuses the full projection when it exists)."""
        if self._src_r is not None:
            return self._src_r[rows]
        return self.project(np.asarray(self.src[rows], dtype=np.float32))

    def project(self, x: np.ndarray) -> np.ndarray:
        from ..data.embeddings import chunked_matmul

        return chunked_matmul(x, self.basis, unit=True)


def shared_subspace(src: np.ndarray, tgt: np.ndarray, *, max_fraction: float = 0.5,
                    rel_tol: float = 1e-10) -> SharedSubspace | None:
    """The row space of the lower-rank of two spaces, when it is small enough to pay; else None.

    A semi-orthogonal map ``X W`` (e.g. 50-d GloVe into a 300-d space) leaves the mapped
    vectors in a ``r``-dimensional subspace. Every similarity xling computes pairs a source
    row with a target row, and ``x . z = (x B) . (z B)`` when ``x`` lies in the span of the
    orthonormal basis ``B``; with rows first divided by their *full* norms, inner products of
    the projections are exactly the cosines, at ``r / d`` of the cost. Returns ``None`` when
    neither matrix has numerical rank ``<= max_fraction * d`` (eigenvalues of the Gram matrix
    below ``rel_tol`` times the largest count as zero: float32 rounding, not real signal).
    """
    from ..data.blas import blas_threads, gram_rows

    d = src.shape[1]
    if tgt.shape[1] != d or d < 8:
        return None
    for low in (src, tgt):
        gram = gram_rows(low)  # float64 blocks, the same bytes whatever the BLAS threads
        with blas_threads(1):  # small (d x d): threads only slow it down
            w, v = np.linalg.eigh(gram)
        keep = w > rel_tol * max(float(w[-1]), 1e-300)
        r = int(keep.sum())
        if 0 < r <= max_fraction * d:
            return SharedSubspace(src, tgt, v[:, keep].astype(np.float32))
    return None

