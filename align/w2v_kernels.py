"""numba kernels of xling's word2vec trainer (imported lazily: numba is slow to import).

Everything here works on plain arrays; :func:`xling.align.w2v.train` is the public entry.
Compiled functions are cached on disk (``cache=True``) so only the first run pays the JIT.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

MAX_EXP = 6.0
EXP_TABLE_SIZE = 1000
_LCG_MUL = np.uint64(25214903917)
_LCG_ADD = np.uint64(11)


def make_exp_table() -> np.ndarray:
    """sigmoid(x) for x in [-MAX_EXP, MAX_EXP), ``EXP_TABLE_SIZE`` entries, float32."""
    x = (np.arange(EXP_TABLE_SIZE, dtype=np.float64) / EXP_TABLE_SIZE * 2 - 1) * MAX_EXP
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


@njit(cache=True, nogil=True)
def _splitmix(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def _next(r):
    return r * _LCG_MUL + _LCG_ADD


@njit(cache=True, nogil=True, inline="always")
def _uniform(r):
    """A float in [0, 1) from the high bits of the LCG state."""
    return np.float32((r >> np.uint64(40)) & np.uint64(0xFFFFFF)) / np.float32(16777216.0)


@njit(cache=True, nogil=True, inline="always")
def _draw_negative(r, cum):
    """Bisect ``cum`` (cumulative unigram^0.75 table) at a random point."""
    target = np.int64((r >> np.uint64(16)) % np.uint64(cum[-1]))
    lo = 0
    hi = cum.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if cum[mid] > target:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _sigmoid(f, exp_table):
    if f >= MAX_EXP:
        return np.float32(1.0)
    if f <= -MAX_EXP:
        return np.float32(0.0)
    return exp_table[int((f + MAX_EXP) * (EXP_TABLE_SIZE / MAX_EXP / 2))]


@njit(cache=True, nogil=True, fastmath=True)
def _neg_step(l1, predict, syn1, cum, exp_table, negative, alpha, train_output, neu1e, r):
    """One positive + ``negative`` negative updates of input vector ``l1`` predicting word ``predict``.

    Accumulates the input-side gradient into ``neu1e``; writes ``syn1`` only when trained.
    Returns the new random state.
    """
    dim = l1.shape[0]
    for k in range(negative + 1):
        if k == 0:
            target = predict
            label = np.float32(1.0)
        else:
            r = _next(r)
            target = _draw_negative(r, cum)
            if target == predict:
                continue
            label = np.float32(0.0)
        row = syn1[target]
        f = np.float32(0.0)
        for j in range(dim):
            f += l1[j] * row[j]
        g = (label - _sigmoid(f, exp_table)) * alpha
        if train_output:
            for j in range(dim):
                neu1e[j] += g * row[j]
                row[j] += g * l1[j]
        else:
            for j in range(dim):
                neu1e[j] += g * row[j]
    return r


@njit(cache=True, nogil=True, fastmath=True)
def _train_chunk(tokens, offsets, s0, s1, syn0, syn1, cum, keep, exp_table, sg, window, negative,
                 train_output, alpha0, min_alpha, epoch, epochs, n_words, r):
    dim = syn0.shape[1]
    max_len = 0
    for s in range(s0, s1):
        if offsets[s + 1] - offsets[s] > max_len:
            max_len = offsets[s + 1] - offsets[s]
    buf = np.empty(max_len, dtype=np.int32)
    neu1e = np.empty(dim, dtype=np.float32)
    neu1 = np.empty(dim, dtype=np.float32)
    total = np.float64(n_words) * epochs
    for s in range(s0, s1):
        # 1. learning rate decays linearly with the words already processed
        frac = (np.float64(epoch) * n_words + offsets[s]) / total
        alpha = np.float32(alpha0 - (alpha0 - min_alpha) * frac)
        if alpha < min_alpha:
            alpha = np.float32(min_alpha)
        # 2. subsample frequent words
        n = 0
        for p in range(offsets[s], offsets[s + 1]):
            w = tokens[p]
            if keep[w] < 1.0:
                r = _next(r)
                if _uniform(r) > keep[w]:
                    continue
            buf[n] = w
            n += 1
        # 3. every position with a reduced random window
        for i in range(n):
            r = _next(r)
            b = np.int64((r >> np.uint64(16)) % np.uint64(window))
            lo = max(0, i - window + b)
            hi = min(n, i + window + 1 - b)
            word = buf[i]
            if sg:
                # skip-gram: each context word's input vector predicts the centre word
                for c in range(lo, hi):
                    if c == i:
                        continue
                    l1 = syn0[buf[c]]
                    neu1e[:] = 0.0
                    r = _neg_step(l1, word, syn1, cum, exp_table, negative, alpha, train_output, neu1e, r)
                    for j in range(dim):
                        l1[j] += neu1e[j]
            else:
                # CBOW: the mean of the context input vectors predicts the centre word
                neu1[:] = 0.0
                cnt = 0
                for c in range(lo, hi):
                    if c == i:
                        continue
                    row = syn0[buf[c]]
                    for j in range(dim):
                        neu1[j] += row[j]
                    cnt += 1
                if cnt == 0:
                    continue
                inv = np.float32(1.0) / cnt
                for j in range(dim):
                    neu1[j] *= inv
                neu1e[:] = 0.0
                r = _neg_step(neu1, word, syn1, cum, exp_table, negative, alpha, train_output, neu1e, r)
                for c in range(lo, hi):
                    if c == i:
                        continue
                    row = syn0[buf[c]]
                    for j in range(dim):
                        row[j] += neu1e[j]
    return r


@njit(cache=True, parallel=True, nogil=True)
def run_chunks(tokens, offsets, bounds, c0, c1, syn0, syn1, cum, keep, exp_table, sg, window, negative,
               train_output, alpha0, min_alpha, epoch, epochs, n_words, seed):
    """Hogwild pass over work items ``c0..c1``: threads update ``syn0`` (and ``syn1``) without locks.

    Each work item has its own random stream derived from (seed, epoch, item), so with one
    thread the result depends only on the seed.
    """
    for c in prange(c0, c1):
        r = _splitmix(_splitmix(seed ^ np.uint64(epoch)) ^ np.uint64(c))
        _train_chunk(tokens, offsets, bounds[c], bounds[c + 1], syn0, syn1, cum, keep, exp_table, sg, window,
                     negative, train_output, alpha0, min_alpha, epoch, epochs, n_words, r)


_WARM = [False]


def warm_up() -> None:
    """Compile (or load from cache) every specialisation once, on a toy problem."""
    if _WARM[0]:
        return
    tokens = np.array([0, 1, 2, 1, 0], dtype=np.int32)
    offsets = np.array([0, 5], dtype=np.int64)
    bounds = np.array([0, 1], dtype=np.int64)
    cum = np.array([10, 20, 30], dtype=np.int64)
    keep = np.ones(3, np.float32)
    table = make_exp_table()
    for sg in (True, False):
        for train_output in (True, False):
            syn0 = np.zeros((3, 4), np.float32)
            syn1 = np.zeros((3, 4), np.float32)
            run_chunks(tokens, offsets, bounds, 0, 1, syn0, syn1, cum, keep, table, sg, 2, 1, train_output,
                       0.025, 0.0001, 0, 1, 5, np.uint64(1))
    _WARM[0] = True
