"""numba kernel of the exact top-k search (imported lazily: numba is slow to import).

:func:`topk_update` folds one tile of raw similarities into a running top-k per query row,
applying the base-side scale (inverse norms) and bias on the fly, so each similarity is read
once, from the CPU cache, right after BLAS wrote it. It runs without the GIL, so several Python
threads (each with its own tile and single-threaded BLAS) search in parallel. Order: score descending, base index
ascending; NaN ranks below every number (as ``argsort`` puts it last). Compiled functions
are cached on disk (``cache=True``) so only the first run pays the JIT.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _better(v, j, vs, js):
    """Does candidate (v, j) rank before slot (vs, js)? ``js < 0`` marks an empty slot; the
    candidate's index is always the larger one (columns arrive in ascending order)."""
    if js < 0:
        return True
    if vs != vs:  # a NaN slot: any number beats it
        return v == v
    return v > vs


@njit(cache=True, nogil=True)
def topk_update(s, c0, inv_b, bias, self0, vals, idx):
    """Fold the tile ``s`` (m, c), columns ``c0 .. c0 + c`` of the base, into ``vals``/``idx``.

    Parameters
    ----------
    s : float32 (m, c)
        Raw products of m query rows with c base rows.
    inv_b, bias : float32 (nb,) or (0,)
        Per-base-row factor and offset: the score is ``s * inv_b - bias`` (empty: not used).
    self0 : int64
        Query row ``r`` of the tile is base row ``self0 + r`` and must be skipped (-1: none).
    vals, idx : float32 / int64 (m, k)
        The running top k of each row, best first; empty slots have index -1.
    """
    m, c = s.shape
    k = vals.shape[1]
    use_inv = inv_b.shape[0] > 0
    use_bias = bias.shape[0] > 0
    for r in range(m):
        own = self0 + r if self0 >= 0 else -1
        tv = vals[r, k - 1]
        tj = idx[r, k - 1]
        loose = tj < 0 or tv != tv  # the last slot is empty or NaN: the fast test is not enough
        thr = -np.inf if loose else tv
        for j in range(c):
            v = s[r, j]
            if use_inv:
                v = v * inv_b[c0 + j]
            if use_bias:
                v = v - bias[c0 + j]
            if not (v > thr or loose):
                continue
            col = c0 + j
            if col == own or not _better(v, col, vals[r, k - 1], idx[r, k - 1]):
                continue
            p = k - 1
            while p > 0 and _better(v, col, vals[r, p - 1], idx[r, p - 1]):
                vals[r, p] = vals[r, p - 1]
                idx[r, p] = idx[r, p - 1]
                p -= 1
            vals[r, p] = v
            idx[r, p] = col
            tv = vals[r, k - 1]
            tj = idx[r, k - 1]
            loose = tj < 0 or tv != tv
            thr = -np.inf if loose else tv


def empty_state(m: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A running top-k with every slot empty."""
    return np.full((m, k), np.nan, dtype=np.float32), np.full((m, k), -1, dtype=np.int64)
