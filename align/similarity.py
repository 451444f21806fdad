"""Cosine similarities between mapped spaces, computed in the smallest space that gives them
exactly, plus dictionary induction (NN / CSLS, mutual or union, optionally stochastic) and
the CSLS P@1 used for validation.

With an isometric map (``W Wᵀ = I``, the source of dimension dx <= dz),
``cos(x W, z) = (x/|x|)·((z/|z|) Wᵀ)``: targets are projected through ``Wᵀ`` once, keeping
their *full* norm, and every similarity then costs dx instead of dz multiply-adds.
"""
from __future__ import annotations

from enum import Enum

import numpy as np

from ..data.embeddings import unit_rows
from ..lexicon.knn import Engine, knn, mean_topk, resolve_engine
from .procrustes import LinearMap


class Direction(str, Enum):
    mutual = "mutual"  # pairs that are each other's best match
    union = "union"  # forward and backward matches
    forward = "forward"
    backward = "backward"


def sim_spaces(x: np.ndarray, z: np.ndarray, m: LinearMap | None) -> tuple[np.ndarray, np.ndarray]:
    """Matrices ``a`` (nx, r) and ``b`` (nz, r) with ``a @ b.T = cos(map(x), map(z))``.

    ``m=None`` compares ``x`` and ``z`` as they are (same dimension).
    """
    if m is None:
        return unit_rows(x), unit_rows(z)
    if m.wz is None and m.isometric:
        return unit_rows(x), unit_rows(z) @ m.wx.T
    a = unit_rows(np.asarray(x, dtype=np.float32) @ m.wx)
    b = unit_rows(z) if m.wz is None else unit_rows(np.asarray(z, dtype=np.float32) @ m.wz)
    return a, b


def csls_best(a: np.ndarray, b: np.ndarray, csls_k: int, engine: Engine,
              pool: np.ndarray | None = None, pen: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Best target of every row of ``a`` under CSLS (``csls_k=0``: plain NN), inner products.

    ``pool`` (default ``a``) is the source vocabulary of the target-side penalty; ``pen`` that
    penalty when it is already known.
    Returns (scores without the query-side term, shape (na,); indices, shape (na,)).
    """
    if csls_k <= 0:
        s, i = knn(a, b, 1, metric="ip", engine=engine)
        return s[:, 0], i[:, 0]
    if pen is None:
        pen = mean_topk(b, a if pool is None else pool, csls_k, metric="ip", engine=engine)
    s, i = knn(a, b, 1, metric="ip", scale=2.0, base_bias=pen, engine=engine)
    return s[:, 0], i[:, 0]


def _stochastic_best(a, b, csls_k, keep_prob, rng, engine, rows=1024, pen_b=None):
    """Like :func:`csls_best`, but each similarity is dropped with probability ``1 - keep_prob``
    (stochastic dictionary induction, Artetxe et al. 2019)."""
    if csls_k <= 0:
        pen_b = np.zeros(b.shape[0], np.float32)
    elif pen_b is None:
        pen_b = mean_topk(b, a, csls_k, metric="ip", engine=engine)
    scale = np.float32(2.0 if csls_k > 0 else 1.0)
    thr = max(1, int(round(keep_prob * 256)))
    best_s = np.empty(a.shape[0], np.float32)
    best_i = np.empty(a.shape[0], np.int64)
    for r0 in range(0, a.shape[0], rows):
        s = a[r0:r0 + rows] @ b.T
        s *= scale
        s -= pen_b
        drop = np.frombuffer(rng.bytes(s.size), dtype=np.uint8).reshape(s.shape) >= thr
        s[drop] = -np.inf
        i = s.argmax(axis=1)
        best_i[r0:r0 + rows] = i
        best_s[r0:r0 + rows] = s[np.arange(s.shape[0]), i]
    return best_s, best_i


def induce(a: np.ndarray, b: np.ndarray, *, direction: Direction = Direction.mutual, csls_k: int = 10,
           keep_prob: float = 1.0, rng: np.random.Generator | None = None,
           engine: Engine | None = None, pen_b: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Induce a dictionary between the rows of ``a`` and ``b`` (already in one space).

    Parameters
    ----------
    a : ndarray, shape (na, r)
        Unit-normalised source rows (usually the most frequent words).
    b : ndarray, shape (nb, r)
        Target rows such that ``a @ b.T`` are the cosines.
    direction : Direction
    csls_k : int
        CSLS neighbourhood (0: nearest neighbour).
    keep_prob : float
        Stochastic induction: probability of keeping each similarity (1: deterministic).
    pen_b : ndarray, shape (nb,), optional
        The CSLS penalty of the rows of ``b`` over the rows of ``a``, when already computed.

    Returns
    -------
    src, tgt : ndarray, shape (m,), int64 row indices of the induced pairs (sorted, unique)
    objective : float
        Mean best score, forward and backward averaged (the self-learning objective).
    """
    eng = engine or resolve_engine()
    if keep_prob < 1.0:
        rng = rng if rng is not None else np.random.default_rng(0)
        fs, fi = _stochastic_best(a, b, csls_k, keep_prob, rng, eng, pen_b=pen_b)
        bs, bi = _stochastic_best(b, a, csls_k, keep_prob, rng, eng)
    else:
        fs, fi = csls_best(a, b, csls_k, eng, pen=pen_b)
        bs, bi = csls_best(b, a, csls_k, eng)
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


def p_at_1(a_q: np.ndarray, b: np.ndarray, gold: list[set[int]], *, csls_k: int = 10,
           pool: np.ndarray | None = None, tgt_penalty: np.ndarray | None = None,
           engine: Engine | None = None) -> float:
    """Share of query rows whose best target (CSLS, or NN when ``csls_k=0``) is a gold one.

    ``pool`` (rows like ``a_q``, default ``a_q``) is the source vocabulary of the target-side
    CSLS penalty; ``tgt_penalty`` a precomputed one.
    """
    eng = engine or resolve_engine()
    if a_q.shape[0] == 0:
        return 0.0
    if csls_k <= 0:
        _, i = knn(a_q, b, 1, metric="ip", engine=eng)
    else:
        pen = tgt_penalty if tgt_penalty is not None else mean_topk(b, a_q if pool is None else pool, csls_k,
                                                                    metric="ip", engine=eng)
        _, i = knn(a_q, b, 1, metric="ip", scale=2.0, base_bias=pen, engine=eng)
    return float(np.mean([int(t) in g for t, g in zip(i[:, 0], gold)]))
