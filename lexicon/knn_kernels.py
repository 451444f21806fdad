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


#: columns of the second-level screen: a row that has a score above its running k-th gets re-read
#: in blocks of this many columns, and only blocks with such a score go through the insertion loop
_BLOCK = 32


@njit(cache=True, nogil=True, inline="always")
def _above_plain(s, r, lo, hi, thr):
    n = np.int64(0)
    for j in range(lo, hi):
        n += np.int64(s[r, j] > thr)
    return n


@njit(cache=True, nogil=True, inline="always")
def _above_inv(s, r, lo, hi, c0, inv_b, thr):
    n = np.int64(0)
    for j in range(lo, hi):
        n += np.int64(s[r, j] * inv_b[c0 + j] > thr)
    return n


@njit(cache=True, nogil=True, inline="always")
def _above_bias(s, r, lo, hi, c0, bias, thr):
    n = np.int64(0)
    for j in range(lo, hi):
        n += np.int64(s[r, j] - bias[c0 + j] > thr)
    return n


@njit(cache=True, nogil=True, inline="always")
def _above_inv_bias(s, r, lo, hi, c0, inv_b, bias, thr):
    n = np.int64(0)
    for j in range(lo, hi):
        n += np.int64(s[r, j] * inv_b[c0 + j] - bias[c0 + j] > thr)
    return n


@njit(cache=True, nogil=True, inline="always")
def _count_above(s, r, lo, hi, c0, inv_b, bias, use_inv, use_bias, thr):
    """How many columns ``lo .. hi`` of row ``r`` score strictly above ``thr`` (NaN never does).

    A branch-free count: the compiler turns it into SIMD compares, at a fraction of the cost of
    the insertion loop per column (one loop per case, so no test is left inside it). It computes
    the score exactly as :func:`topk_update` does (same float32 operations, in the same order),
    so a column it rules out could not enter."""
    if use_inv and use_bias:
        return _above_inv_bias(s, r, lo, hi, c0, inv_b, bias, thr)
    if use_inv:
        return _above_inv(s, r, lo, hi, c0, inv_b, thr)
    if use_bias:
        return _above_bias(s, r, lo, hi, c0, bias, thr)
    return _above_plain(s, r, lo, hi, thr)


@njit(cache=True, nogil=True)
def topk_update(s, c0, inv_b, bias, self0, vals, idx):
    """Fold the tile ``s`` (m, c), columns ``c0 .. c0 + c`` of the base, into ``vals``/``idx``.

    Once a row's k slots hold numbers, a column enters only when it scores strictly above the
    k-th (a tie goes to the lower index, which came first). Most columns do not, so each row is
    first screened whole, then by blocks of :data:`_BLOCK` columns, with :func:`_count_above`
    (SIMD); only the blocks that hold an entrant go through the insertion loop.

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
    # one inlined copy per case: the tests on inv_b and bias are constants in each, folded away
    if inv_b.shape[0] > 0:
        if bias.shape[0] > 0:
            _topk_update(s, c0, inv_b, bias, self0, vals, idx, True, True)
        else:
            _topk_update(s, c0, inv_b, bias, self0, vals, idx, True, False)
    elif bias.shape[0] > 0:
        _topk_update(s, c0, inv_b, bias, self0, vals, idx, False, True)
    else:
        _topk_update(s, c0, inv_b, bias, self0, vals, idx, False, False)


@njit(cache=True, nogil=True, inline="always")
def _insert(vals, idx, r, v, i):
    """Put the score ``v`` of index ``i``, which beats the last slot, into row ``r`` of a running top k
    (best first: the slots it beats move down one)."""
    p = vals.shape[1] - 1
    while p > 0 and _better(v, i, vals[r, p - 1], idx[r, p - 1]):
        vals[r, p] = vals[r, p - 1]
        idx[r, p] = idx[r, p - 1]
        p -= 1
    vals[r, p] = v
    idx[r, p] = i


@njit(cache=True, nogil=True, inline="always")
def _topk_update(s, c0, inv_b, bias, self0, vals, idx, use_inv, use_bias):
    m, c = s.shape
    k = vals.shape[1]
    for r in range(m):
        own = self0 + r if self0 >= 0 else -1
        tv = vals[r, k - 1]
        tj = idx[r, k - 1]
        loose = tj < 0 or tv != tv  # the last slot is empty or NaN: every column must be looked at
        if not loose and _count_above(s, r, 0, c, c0, inv_b, bias, use_inv, use_bias, tv) == 0:
            continue
        for j0 in range(0, c, _BLOCK):
            j1 = min(j0 + _BLOCK, c)
            if not loose and _count_above(s, r, j0, j1, c0, inv_b, bias, use_inv, use_bias, tv) == 0:
                continue
            for j in range(j0, j1):
                v = s[r, j]
                if use_inv:
                    v = v * inv_b[c0 + j]
                if use_bias:
                    v = v - bias[c0 + j]
                if not (loose or v > tv):
                    continue
                col = c0 + j
                if col == own or not _better(v, col, vals[r, k - 1], idx[r, k - 1]):
                    continue
                _insert(vals, idx, r, v, col)
                tv = vals[r, k - 1]
                tj = idx[r, k - 1]
                loose = tj < 0 or tv != tv


def empty_state(m: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A running top-k with every slot empty."""
    return np.full((m, k), np.nan, dtype=np.float32), np.full((m, k), -1, dtype=np.int64)


@njit(cache=True, nogil=True, inline="always")
def _count_above_cols(s, r, lo, hi, sc, off, thr):
    """How many columns ``lo .. hi`` of row ``r`` score (``s * sc - off``) strictly above their
    own threshold ``thr[j]`` (SIMD, as :func:`_count_above`)."""
    n = np.int64(0)
    for j in range(lo, hi):
        n += np.int64(s[r, j] * sc - off > thr[j])
    return n


@njit(cache=True, nogil=True)
def topk_update_cols(s, r0, c0, sc, bias, vals, idx):
    """Fold the tile ``s`` (m, c) into the running top k of each of its *columns*.

    The tile holds the products of rows ``r0 .. r0 + m`` of one matrix (the candidates) with
    rows ``c0 .. c0 + c`` of another (whose top k are kept): the score of candidate ``r0 + r``
    for column ``c0 + j`` is ``s[r, j] * sc - bias[r0 + r]`` (``bias`` empty: not used). Same
    order and screen as :func:`topk_update` (candidates arrive in ascending index order); the
    screen compares a whole row of the tile with each column's k-th at once.

    Parameters
    ----------
    s : float32 (m, c)
    r0, c0 : int64
    sc : float32
    bias : float32 (n_rows,) or (0,)
    vals, idx : float32 / int64 (n_cols, k)
        The running top k of every column, best first; empty slots have index -1.
    """
    m, c = s.shape
    k = vals.shape[1]
    use_bias = bias.shape[0] > 0
    thr = np.empty(c, dtype=np.float32)
    loose = False  # some column's last slot is empty or NaN: every score must be looked at
    for j in range(c):
        thr[j] = vals[c0 + j, k - 1]
        if idx[c0 + j, k - 1] < 0 or thr[j] != thr[j]:
            loose = True
    for r in range(m):
        off = bias[r0 + r] if use_bias else np.float32(0.0)
        if not loose and _count_above_cols(s, r, 0, c, sc, off, thr) == 0:
            continue
        row = r0 + r
        for j0 in range(0, c, _BLOCK):
            j1 = min(j0 + _BLOCK, c)
            if not loose and _count_above_cols(s, r, j0, j1, sc, off, thr) == 0:
                continue
            for j in range(j0, j1):
                v = s[r, j] * sc - off
                if not (loose or v > thr[j]):
                    continue
                col = c0 + j
                if not _better(v, row, vals[col, k - 1], idx[col, k - 1]):
                    continue
                _insert(vals, idx, col, v, row)
                thr[j] = vals[col, k - 1]
        if loose:
            loose = False
            for j in range(c):
                if idx[c0 + j, k - 1] < 0 or thr[j] != thr[j]:
                    loose = True
                    break
