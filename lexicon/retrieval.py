"""Retrieval criteria for translating words through two aligned spaces.

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

All three reduce to one chunked top-k search of ``scale * cos - bias[target]``; the query-side
CSLS term does not change the ranking and is added to the returned scores afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from ..data.errors import XlingError
from .knn import Engine, Metric, Progress, knn, logsumexp_sim, mean_topk, resolve_engine


class Retrieval(str, Enum):
    nn = "nn"
    csls = "csls"
    isf = "isf"


@dataclass(frozen=True)
class RetrievalParams:
    """The knobs of a criterion; ``signature()`` names them for result records."""

    retrieval: Retrieval = Retrieval.csls
    csls_k: int = 10
    isf_beta: float = 30.0

    def signature(self) -> str:
        if self.retrieval is Retrieval.csls:
            return f"retrieval=csls,k={self.csls_k}"
        if self.retrieval is Retrieval.isf:
            return f"retrieval=isf,beta={self.isf_beta:g}"
        return "retrieval=nn"


def csls_penalty(queries: np.ndarray, base: np.ndarray, k: int = 10, *, engine: Engine | None = None,
                 progress: Progress | None = None, metric: Metric | str = Metric.cosine) -> np.ndarray:
    """``r(q)``: mean cosine of each query row to its ``k`` nearest base rows, shape (nq,)."""
    return mean_topk(queries, base, k, engine=engine or resolve_engine(), progress=progress, metric=metric)


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
    scores : ndarray, shape (nq, k), float32
    indices : ndarray, shape (nq, k), int64 (rows of ``tgt``)
    """
    eng = engine or resolve_engine()
    pool = src if src_pool is None else src_pool
    r = params.retrieval
    if r is Retrieval.nn:
        return knn(src, tgt, k, engine=eng, progress=progress)
    if r is Retrieval.csls:
        if params.csls_k < 1:
            raise XlingError("CSLS needs k >= 1")
        pen = tgt_penalty if tgt_penalty is not None else target_penalty(tgt, pool, params, engine=eng)
        s, i = knn(src, tgt, k, scale=2.0, base_bias=pen, engine=eng, progress=progress)
        s -= csls_penalty(src, tgt, params.csls_k, engine=eng)[:, None]
        return s, i
    if r is Retrieval.isf:
        pen = tgt_penalty if tgt_penalty is not None else target_penalty(tgt, pool, params, engine=eng)
        return knn(src, tgt, k, scale=params.isf_beta, base_bias=pen, engine=eng, progress=progress)
    raise XlingError(f"unknown retrieval {r}")  # pragma: no cover


def target_penalty(tgt: np.ndarray, src_pool: np.ndarray, params: RetrievalParams, *,
                   engine: Engine | None = None, progress: Progress | None = None,
                   metric: Metric | str = Metric.cosine) -> np.ndarray | None:
    """The target-side term of a criterion over the source vocabulary ``src_pool``, shape (nt,)."""
    eng = engine or resolve_engine()
    if params.retrieval is Retrieval.csls:
        return csls_penalty(tgt, src_pool, params.csls_k, engine=eng, progress=progress, metric=metric)
    if params.retrieval is Retrieval.isf:
        return logsumexp_sim(tgt, src_pool, params.isf_beta, engine=eng, progress=progress, metric=metric)
    return None


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
    from .knn import blas_threads

    d = src.shape[1]
    if tgt.shape[1] != d or d < 8:
        return None
    for low in (src, tgt):
        gram = np.zeros((d, d), dtype=np.float64)
        for s0 in range(0, low.shape[0], 8192):  # float64 blocks of at most 8192 rows
            c = np.asarray(low[s0:s0 + 8192], dtype=np.float64)
            gram += c.T @ c
        with blas_threads(1):  # small (d x d): threads only slow it down
            w, v = np.linalg.eigh(gram)
        keep = w > rel_tol * max(float(w[-1]), 1e-300)
        r = int(keep.sum())
        if 0 < r <= max_fraction * d:
            return SharedSubspace(src, tgt, v[:, keep].astype(np.float32))
    return None

