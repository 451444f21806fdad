"""Products that give the same bytes whatever the BLAS thread count, and the thread controls.

Multi-threaded BLAS splits a product differently for different thread counts, and float32 sums
change in the last bits. Every product over the rows of a matrix that ends in an output goes
through :func:`map_rows` or :func:`gram_rows` (fixed row blocks, one BLAS thread each); small
products run under ``blas_threads(1)`` (:func:`one_blas_thread`).
"""
from __future__ import annotations

import os

import numpy as np

_BLAS = None


def blas_threads(n: int):
    """Context manager holding the BLAS libraries at ``n`` threads (threadpoolctl; the loaded
    libraries are looked up once per process)."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=n, user_api="blas")


def default_threads() -> int:
    """Cores this process may use (at least 1): the search's tasks, the word2vec trainer's threads."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: rows a block of :func:`map_rows` (fixed: the blocking, hence the bytes, never depend on the machine)
MAP_BLOCK_ROWS = 4096


def map_rows(x: np.ndarray, w: np.ndarray, *, unit: bool = False, threads: int | None = None) -> np.ndarray:
    """``x @ w`` in float32 with the same bytes whatever the BLAS thread count.

    Multi-threaded BLAS splits a product differently for different thread counts, and the
    float32 sums change in the last bits (the mapped vectors of ``xling align`` moved by up
    to 9e-8 between 1 and 8 threads). Here the rows go in fixed blocks of
    :data:`MAP_BLOCK_ROWS`, each multiplied on one BLAS thread; the blocks run in parallel on
    ``threads`` Python threads (default: the cores available), which changes the speed only.
    ``x`` may be memory-mapped. ``unit=True``: ``unit_rows(x) @ w`` (each block normalised on
    the way, no normalised copy of ``x``). Every product over the rows of a matrix that ends
    in an output goes through here (or :func:`gram_rows`); small ones run under
    ``blas_threads(1)``.
    """
    from .embeddings import unit_rows

    w = np.asarray(w, dtype=np.float32)
    out = np.empty((x.shape[0], w.shape[1]), dtype=np.float32)

    def block(s: int) -> None:
        c = x[s:s + MAP_BLOCK_ROWS]
        np.matmul(unit_rows(c) if unit else np.asarray(c, dtype=np.float32), w, out=out[s:s + MAP_BLOCK_ROWS])

    _blocks(block, x.shape[0], threads)
    return out


def gram_rows(x: np.ndarray, *, threads: int | None = None) -> np.ndarray:
    """``xᵀ x`` in float64 with the same bytes whatever the BLAS thread count (a covariance over
    many rows is where threaded BLAS changes the bits most): the Gram matrices of fixed blocks of
    :data:`MAP_BLOCK_ROWS` rows, each on one BLAS thread, summed in block order."""
    d = x.shape[1]
    starts = range(0, x.shape[0], MAP_BLOCK_ROWS)
    parts: dict[int, np.ndarray] = {}

    def block(s: int) -> None:
        c = np.asarray(x[s:s + MAP_BLOCK_ROWS], dtype=np.float64)
        parts[s] = c.T @ c

    out = np.zeros((d, d), dtype=np.float64)
    wave = max(1, min(threads or default_threads(), (1 << 30) // max(1, 8 * d * d)))  # <= 1 GiB of blocks at once
    for i in range(0, len(starts), wave):
        group = starts[i:i + wave]
        _blocks(block, len(group) * MAP_BLOCK_ROWS, threads, starts=group)
        for s in group:
            out += parts.pop(s)
    return out


def one_blas_thread(fn):
    """Decorator: ``fn`` runs on one BLAS thread, so that its small products give the same bytes
    whatever the thread count (the loops of align-multi's GPA, contrastive refinement's gradient)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with blas_threads(1):
            return fn(*args, **kwargs)

    return wrapper


def _blocks(fn, n: int, threads: int | None, starts: range | None = None) -> None:
    """``fn(start)`` for each block of rows, on one BLAS thread each, in parallel Python threads."""
    from concurrent.futures import ThreadPoolExecutor

    starts = range(0, n, MAP_BLOCK_ROWS) if starts is None else starts
    with blas_threads(1):
        if len(starts) <= 1:
            for s in starts:
                fn(s)
        else:
            with ThreadPoolExecutor(min(len(starts), threads or default_threads())) as ex:
                list(ex.map(fn, starts))


