"""Exact nearest-neighbour search, chunked so memory stays bounded whatever the vocabulary.

One entry point, :func:`knn`, returns the top-k base rows of every query row by cosine or
inner product, optionally of an *adjusted* score ``scale * sim(q, b) - base_bias[b]``
(which is how CSLS and similar criteria rank candidates). :func:`mean_topk` returns the
per-row mean of the top-k similarities (the CSLS penalty term) from the same chunked pass.
:func:`cross_topk` searches both ways at once (rows of ``a`` among rows of ``b`` and the reverse)
from one pass over ``a @ b.T``, as dictionary induction needs.

Backends (:class:`Backend`): ``numpy`` (cache-sized BLAS tiles folded into a running top-k by a compiled kernel),
``torch`` (CPU or CUDA, ``torch.topk``), ``faiss`` (``IndexFlatIP``; GPU when the installed
faiss has GPU support). ``auto`` picks torch on CUDA when a GPU is there, numpy otherwise.
The device is resolved by :mod:`xling.lexicon.device` (one policy for every operation and
trainer): ``device="cuda"`` without CUDA raises :class:`DeviceError`; it never falls back silently.

The reductions :func:`count_above` and :func:`logsumexp_sim` follow the engine too: numpy
engine -> numpy tiles, torch engine -> torch on the engine's device. faiss has no such
reductions, so a faiss engine uses the torch path when its device is ``cuda`` (and PyTorch sees
CUDA) and the numpy path otherwise (see :func:`reduction_backend`).
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from ..data.blas import blas_threads, default_threads  # noqa: F401 (re-exported)
from ..data.embeddings import row_norms
from ..data.errors import DeviceError, XlingError
from .device import Device, as_device, cuda_available, resolve_device  # noqa: F401 (re-exported)

Progress = Callable[[int, int], None]

#: default number of float32 similarity entries held at once (160 MB)
DEFAULT_CHUNK_ELEMENTS = 40 * 1024 * 1024


class Backend(str, Enum):
    auto = "auto"
    numpy = "numpy"
    torch = "torch"
    faiss = "faiss"


class Metric(str, Enum):
    cosine = "cosine"
    ip = "ip"


@dataclass(frozen=True)
class Engine:
    """A resolved (backend, device) pair plus the chunk budget."""

    backend: Backend
    device: Device
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS

    def __str__(self) -> str:
        return f"{self.backend.value}/{self.device.value}"


def faiss_gpus() -> int:
    try:
        import faiss
    except ImportError:  # pragma: no cover
        return 0
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get else 0


def resolve_engine(backend: Backend | str = Backend.auto, device: Device | str = Device.auto,
                   chunk_elements: int | None = None) -> Engine:
    """Turn ``auto`` choices into concrete ones and check that they can run here."""
    backend = Backend(backend)
    device = as_device(device)
    if backend is Backend.numpy and device is Device.cuda:
        raise DeviceError("the numpy backend runs on the CPU only; use --backend torch or faiss for cuda")
    if device is Device.cuda and backend is Backend.faiss and faiss_gpus():
        pass  # a GPU build of faiss runs on CUDA whether or not PyTorch sees it
    elif device is Device.auto and backend not in (Backend.auto, Backend.torch):
        device = Device.cpu  # auto puts only torch on the GPU
    else:
        device = resolve_device(device)
    if backend is Backend.auto:
        backend = Backend.torch if device is Device.cuda else Backend.numpy
    if backend is Backend.faiss:
        try:
            import faiss  # noqa: F401
        except ImportError:  # pragma: no cover
            raise DeviceError("backend 'faiss' needs the faiss package (pip install faiss-cpu)") from None
        if device is Device.cuda and not faiss_gpus():
            raise DeviceError("faiss on cuda needs a GPU build of faiss; this one is CPU-only "
                              "(use --backend torch for cuda)")
    if backend is Backend.torch:
        try:
            import torch  # noqa: F401
        except ImportError:  # pragma: no cover
            raise DeviceError("backend 'torch' needs PyTorch") from None
    ce = chunk_elements or DEFAULT_CHUNK_ELEMENTS
    if ce < 1024:
        raise XlingError(f"chunk size must be at least 1024 elements, got {ce}")
    return Engine(backend, device, ce)


# ======================================================================== public API
def knn(
    queries: np.ndarray,
    base: np.ndarray,
    k: int = 10,
    *,
    metric: Metric | str = Metric.cosine,
    backend: Backend | str = Backend.auto,
    device: Device | str = Device.auto,
    chunk_elements: int | None = None,
    scale: float = 1.0,
    base_bias: np.ndarray | None = None,
    exclude_self: bool = False,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k search of every query row against the base rows.

    Parameters
    ----------
    queries : ndarray, shape (nq, d)
    base : ndarray, shape (nb, d)
        May be a read-only memmap; it is never copied whole.
    k : int
        Neighbours per query (clipped to ``nb``).
    metric : Metric
        ``cosine`` (rows are normalised on the fly) or ``ip`` (raw inner product).
    scale, base_bias : float, ndarray shape (nb,), optional
        Rank by ``scale * sim - base_bias`` instead of ``sim`` (CSLS uses ``2`` and the
        target penalty). Returned scores are the adjusted ones.
    exclude_self : bool
        When queries and base are the same matrix, skip each row's own index.
    chunk_elements : int
        Upper bound on similarity entries held at once; memory is O(chunk), not O(nq * nb).

    Returns
    -------
    scores : ndarray, shape (nq, k), float32, best first
    indices : ndarray, shape (nq, k), int64
    """
    q, b, k, bias = _check(queries, base, k, base_bias, exclude_self)
    eng = engine or resolve_engine(backend, device, chunk_elements)
    metric = Metric(metric)
    if q.shape[0] == 0:
        return np.empty((0, k), np.float32), np.empty((0, k), np.int64)
    if eng.backend is Backend.faiss:
        return _faiss_knn(q, b, k, metric, scale, bias, exclude_self, eng, progress)
    if eng.backend is Backend.torch:
        return _torch_knn(q, b, k, metric, scale, bias, exclude_self, eng, progress)
    return _numpy_knn(q, b, k, metric, scale, bias, exclude_self, eng, progress)


def mean_topk(
    queries: np.ndarray,
    base: np.ndarray,
    k: int = 10,
    *,
    metric: Metric | str = Metric.cosine,
    backend: Backend | str = Backend.auto,
    device: Device | str = Device.auto,
    chunk_elements: int | None = None,
    exclude_self: bool = False,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> np.ndarray:
    """Mean similarity of each query to its ``k`` nearest base rows, shape (nq,), float32.

    This is the CSLS penalty ``r(q) = mean of the k largest sim(q, b)``, computed in the same
    bounded-memory pass as :func:`knn`.
    """
    scores, _ = knn(queries, base, k, metric=metric, backend=backend, device=device,
                    chunk_elements=chunk_elements, exclude_self=exclude_self, progress=progress, engine=engine)
    return scores.mean(axis=1, dtype=np.float64).astype(np.float32)


def cross_topk(
    a: np.ndarray,
    b: np.ndarray,
    k: int = 10,
    *,
    scale: float = 1.0,
    a_bias: np.ndarray | None = None,
    b_bias: np.ndarray | None = None,
    engine: Engine | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Both directions of one product of inner products, in one pass over it.

    The same as ``knn(a, b, k, metric="ip", scale=scale, base_bias=b_bias)`` and
    ``knn(b, a, k, metric="ip", scale=scale, base_bias=a_bias)`` (the same neighbours, order and
    scores), but each similarity ``a_i . b_j`` is computed once and folded into the top k of row
    ``i`` and of column ``j`` (:func:`xling.lexicon.knn_kernels.topk_update_cols`) while the tile
    is in the CPU cache: half the products of two searches. Dictionary induction searches both
    ways (its CSLS terms, then its forward and backward best matches).

    The numpy backend does it in one pass when ``scale`` is a power of two (``2 a.b`` is then
    exactly ``(2 a).b``, as :func:`knn` computes it); otherwise, and on the other backends, it
    runs the two searches.

    Returns
    -------
    (scores, indices) of the rows of ``a`` among the rows of ``b``, shapes (na, min(k, nb));
    (scores, indices) of the rows of ``b`` among the rows of ``a``, shapes (nb, min(k, na)).
    """
    import math

    a, b, kr, b_bias = _check(a, b, k, b_bias, False)
    _, _, kc, a_bias = _check(b, a, k, a_bias, False)
    eng = engine or resolve_engine()
    if eng.backend is not Backend.numpy or math.frexp(scale)[0] != 0.5 or a.shape[0] == 0:
        return (knn(a, b, kr, metric=Metric.ip, scale=scale, base_bias=b_bias, engine=eng),
                knn(b, a, kc, metric=Metric.ip, scale=scale, base_bias=a_bias, engine=eng))
    return _numpy_cross(a, b, kr, kc, np.float32(scale), a_bias, b_bias, eng)


def count_above(
    queries: np.ndarray,
    base: np.ndarray,
    thresholds: np.ndarray,
    *,
    metric: Metric | str = Metric.cosine,
    scale: float = 1.0,
    base_bias: np.ndarray | None = None,
    exclude: tuple[np.ndarray, np.ndarray] | None = None,
    engine: Engine | None = None,
) -> np.ndarray:
    """How many base rows score strictly above each query's threshold, shape (nq,), int64.

    The score is the adjusted one of :func:`knn` (``scale * sim - base_bias``); this gives the
    exact rank of a given candidate among all base rows (evaluation's MRR) in one chunked pass,
    on the engine's backend and device (a torch engine on cuda counts on the GPU; a faiss
    engine: see :func:`reduction_backend`).

    Parameters
    ----------
    queries : ndarray, shape (nq, d)
    base : ndarray, shape (nb, d)
    thresholds : ndarray, shape (nq,)
    exclude : (rows, cols) int arrays, optional
        (query row, base row) pairs never counted (e.g. the gold candidates themselves).
    """
    q, b, _, bias = _check(queries, base, 1, base_bias, False)
    thr = np.asarray(thresholds, dtype=np.float32).reshape(-1)
    if thr.shape[0] != q.shape[0]:
        raise XlingError(f"thresholds must have shape ({q.shape[0]},), got {thr.shape}")
    eng = engine or resolve_engine()
    cos = Metric(metric) is Metric.cosine
    ex_r = ex_c = None
    if exclude is not None:
        ex_r, ex_c = (np.asarray(a, dtype=np.int64).reshape(-1) for a in exclude)
    if reduction_backend(eng) is Backend.torch:
        return _torch_count_above(q, b, thr, cos, scale, bias, ex_r, ex_c, eng)
    return _numpy_count_above(q, b, thr, cos, scale, bias, ex_r, ex_c, eng)


def reduction_backend(eng: Engine) -> Backend:
    """Backend of the reductions (:func:`count_above`, :func:`logsumexp_sim`) under ``eng``.

    numpy -> numpy; torch -> torch (on the engine's device); faiss, which has no such
    reductions -> torch when the engine runs on cuda and PyTorch sees CUDA, numpy otherwise.
    """
    if eng.backend is Backend.torch:
        return Backend.torch
    if eng.backend is Backend.faiss and eng.device is Device.cuda and cuda_available():
        return Backend.torch
    return Backend.numpy


def _numpy_count_above(q, b, thr, cos, scale, bias, ex_r, ex_c, eng):
    nq, nb = q.shape[0], b.shape[0]
    inv_b = _inv_norms(b) * np.float32(scale) if cos else None
    rows, cols = _tile_shape(nb, 1, eng)
    out = np.zeros(nq, dtype=np.int64)
    for r0 in range(0, nq, rows):
        qc = np.asarray(q[r0:r0 + rows], dtype=np.float32)
        qc = qc * _inv_norms(qc)[:, None] if cos else qc * np.float32(scale)
        m = qc.shape[0]
        t = thr[r0:r0 + m, None]
        for c0 in range(0, nb, cols):
            c1 = min(nb, c0 + cols)
            s = qc @ np.asarray(b[c0:c1], dtype=np.float32).T
            if cos:
                assert inv_b is not None
                s *= inv_b[c0:c1]
            if bias is not None:
                s -= bias[c0:c1]
            if ex_r is not None:
                hit = (ex_r >= r0) & (ex_r < r0 + m) & (ex_c >= c0) & (ex_c < c1)
                s[ex_r[hit] - r0, ex_c[hit] - c0] = -np.inf
            out[r0:r0 + m] += np.count_nonzero(s > t, axis=1)
    return out


def _torch_count_above(q, b, thr, cos, scale, bias, ex_r, ex_c, eng):
    """:func:`count_above` with torch on the engine's device; the scores are computed as
    :func:`_torch_knn` computes them, so a threshold taken from its scores counts consistently."""
    import torch

    dev = _torch_dev(eng)
    nq, nb = q.shape[0], b.shape[0]
    bt, inv_b = _torch_base(b, cos, scale, dev, eng)
    bias_t = torch.from_numpy(bias).to(dev) if bias is not None else None
    rows = _query_rows_per_chunk(nb, eng)
    out = np.zeros(nq, dtype=np.int64)
    with torch.inference_mode():
        for r0 in range(0, nq, rows):
            qc = _torch_queries(q[r0:r0 + rows], cos, scale, dev)
            m = qc.shape[0]
            s = qc @ bt.T
            if cos:
                s *= inv_b
            if bias_t is not None:
                s -= bias_t
            if ex_r is not None:
                hit = (ex_r >= r0) & (ex_r < r0 + m)
                if hit.any():
                    s[torch.from_numpy(ex_r[hit] - r0).to(dev), torch.from_numpy(ex_c[hit]).to(dev)] = float("-inf")
            t = torch.from_numpy(np.ascontiguousarray(thr[r0:r0 + m])).to(dev)
            out[r0:r0 + m] = (s > t[:, None]).sum(dim=1).cpu().numpy()
    return out


# ======================================================================== internals
def _check(queries, base, k, base_bias, exclude_self):
    q = np.asarray(queries) if not isinstance(queries, np.ndarray) else queries
    b = np.asarray(base) if not isinstance(base, np.ndarray) else base
    if q.ndim != 2 or b.ndim != 2:
        raise XlingError("queries and base must be 2-d matrices")
    if q.shape[1] != b.shape[1]:
        raise XlingError(f"queries are {q.shape[1]}-d but the base vectors are {b.shape[1]}-d "
                         "(are the spaces aligned?)")
    if b.shape[0] == 0:
        raise XlingError("the base has no vectors")
    if exclude_self and q.shape[0] != b.shape[0]:
        raise XlingError("exclude_self needs queries and base to be the same matrix")
    if k < 1:
        raise XlingError(f"k must be at least 1, got {k}")
    k = min(int(k), b.shape[0] - (1 if exclude_self else 0))
    if k < 1:
        raise XlingError("the base has no vectors besides the query itself")
    bias = None
    if base_bias is not None:
        bias = np.asarray(base_bias, dtype=np.float32)
        if bias.shape != (b.shape[0],):
            raise XlingError(f"base_bias must have shape ({b.shape[0]},), got {bias.shape}")
    return q, b, k, bias


def _inv_norms(x: np.ndarray) -> np.ndarray:
    n = row_norms(x)
    n[n == 0] = 1.0
    return (1.0 / n).astype(np.float32)


def _query_rows_per_chunk(nb: int, eng: Engine, floor: int = 8) -> int:
    return max(floor, min(4096, eng.chunk_elements // max(nb, 1)))



# ------------------------------------------------------------------------ numpy
#: similarity tile (rows x cols) of one task: small enough to stay in the CPU cache while the
#: kernel reads it back (1 MB: a core's L2), large enough for BLAS to run at full speed (on 200k x 50
#: against 17k x 50, 512 x 512 took 0.55x the time of 1024 x 4096, whose 16 MB tile spills to L3)
_TILE_ROWS, _TILE_COLS = 512, 512


def _tile_shape(nb: int, k: int, eng: Engine, tasks: int = 1) -> tuple[int, int]:
    """(rows, cols) of a tile; ``tasks`` tiles together stay within the chunk budget."""
    cols = min(nb, max(_TILE_COLS, 4 * k))
    rows = max(8, min(_TILE_ROWS, eng.chunk_elements // (cols * tasks)))
    return rows, cols


def _numpy_knn(q, b, k, metric, scale, bias, exclude_self, eng, progress):
    """Exact top-k: cache-sized similarity tiles folded into a running top-k, on all cores.

    1. the base is normalised (and scaled) once when a copy fits in the chunk budget; otherwise
       its inverse norms are applied tile by tile (a memory-mapped base is read in place);
    2. the work is cut into tasks (a block of query rows, a range of base rows), one per core at
       least; each task computes ``rows x cols`` tiles with single-threaded BLAS and folds each
       tile, while it is still in the CPU cache, into the rows' running top k with a compiled
       kernel (:func:`xling.lexicon.knn_kernels.topk_update`) that applies bias and scale on
       the fly. BLAS threads and the kernel would fight over the cores, so BLAS is held at one
       thread and the tasks run in parallel instead (numpy and the kernel release the GIL);
    3. tasks that split one query block over several base ranges are merged at the end.
    Ties are broken towards the lower base index and NaN ranks last, as in
    the float64 brute-force reference in the tests.
    """
    from .knn_kernels import empty_state, topk_update

    nq, nb = q.shape[0], b.shape[0]
    cos = metric is Metric.cosine
    sc = np.float32(scale)
    none = np.empty(0, dtype=np.float32)
    inv_b = none
    fits = nb * b.shape[1] <= eng.chunk_elements
    if cos and fits:
        b = np.asarray(b, dtype=np.float32) * (_inv_norms(b) * sc)[:, None]
    elif cos:
        inv_b = _inv_norms(b) * sc
    elif fits and b.dtype != np.float32:
        b = np.asarray(b, dtype=np.float32)
    bias = none if bias is None else np.ascontiguousarray(bias, dtype=np.float32)
    threads = default_threads()
    rows, cols = _tile_shape(nb, k, eng, threads)
    rows = min(rows, max(8, -(-nq // threads)))
    blocks = list(range(0, nq, rows))
    parts = max(1, min(threads // len(blocks), nb // cols))  # base ranges per block
    bounds = np.linspace(0, nb, parts + 1).astype(np.int64)
    out_s = np.empty((nq, k), dtype=np.float32)
    out_i = np.empty((nq, k), dtype=np.int64)

    def task(r0: int, lo: int, hi: int):
        qc = np.asarray(q[r0:r0 + rows], dtype=np.float32)
        if cos:
            qc = qc * _inv_norms(qc)[:, None]
        elif scale != 1.0:
            qc = qc * sc
        m = qc.shape[0]
        vals, idx = empty_state(m, k)
        tile = np.empty((m, min(cols, hi - lo)), dtype=np.float32)
        for c0 in range(lo, hi, cols):
            bc = np.asarray(b[c0:min(hi, c0 + cols)], dtype=np.float32)
            t = tile[:, :bc.shape[0]]
            np.matmul(qc, bc.T, out=t)
            topk_update(t, c0, inv_b, bias, r0 if exclude_self else -1, vals, idx)
        return vals, idx

    jobs = [(r0, int(lo), int(hi)) for r0 in blocks for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    if len(jobs) == 1:  # a tiny search: no pool (its set-up would dominate); one BLAS thread (same bytes)
        with blas_threads(1):
            vals, idx = task(*jobs[0])
        out_s[:], out_i[:] = vals, idx
        if progress:
            progress(nq, nq)
        return out_s, out_i
    with blas_threads(1), ThreadPoolExecutor(threads) as pool:
        futures = {pool.submit(task, *job): job[0] for job in jobs}
        found: dict[int, list] = {}
        done = 0
        for f in as_completed(futures):
            r0 = futures[f]
            found.setdefault(r0, []).append(f.result())
            if len(found[r0]) < parts:
                continue
            vals, idx = found.pop(r0)[0] if parts == 1 else _merge(found.pop(r0), k)
            m = vals.shape[0]
            out_s[r0:r0 + m], out_i[r0:r0 + m] = vals, idx
            done += m
            if progress:
                progress(done, nq)
    return out_s, out_i


def _numpy_cross(a, b, kr, kc, sc, a_bias, b_bias, eng):
    """:func:`cross_topk` on the numpy backend: each task takes a range of the rows of ``a`` and
    keeps its rows' top ``kr`` and every column's top ``kc`` over its range (the column lists of
    the tasks are merged at the end), tile by tile as :func:`_numpy_knn`."""
    from .knn_kernels import empty_state, topk_update, topk_update_cols

    na, nb = a.shape[0], b.shape[0]
    none = np.empty(0, dtype=np.float32)
    row_scale = none if sc == 1 else np.full(nb, sc, dtype=np.float32)  # the row side's score: s * sc - b_bias
    b_bias = none if b_bias is None else np.ascontiguousarray(b_bias, dtype=np.float32)
    a_bias = none if a_bias is None else np.ascontiguousarray(a_bias, dtype=np.float32)
    threads = default_threads()
    rows, cols = _tile_shape(nb, max(kr, kc), eng, threads)
    n_tasks = max(1, min(threads, -(-na // rows)))
    bounds = np.linspace(0, na, n_tasks + 1).astype(np.int64)

    def task(lo: int, hi: int):
        rv, ri = empty_state(hi - lo, kr)
        cv, ci = empty_state(nb, kc)
        tile = np.empty((min(rows, hi - lo), min(cols, nb)), dtype=np.float32)
        for r0 in range(lo, hi, rows):
            qc = np.asarray(a[r0:min(hi, r0 + rows)], dtype=np.float32)
            m = qc.shape[0]
            for c0 in range(0, nb, cols):
                bc = np.asarray(b[c0:c0 + cols], dtype=np.float32)
                t = tile[:m, :bc.shape[0]]
                np.matmul(qc, bc.T, out=t)
                topk_update(t, c0, row_scale, b_bias, -1, rv[r0 - lo:r0 - lo + m], ri[r0 - lo:r0 - lo + m])
                topk_update_cols(t, r0, c0, sc, a_bias, cv, ci)
        return rv, ri, cv, ci

    with blas_threads(1), ThreadPoolExecutor(n_tasks) as pool:
        parts = list(pool.map(lambda lh: task(int(lh[0]), int(lh[1])), zip(bounds[:-1], bounds[1:], strict=True)))
    row_s = np.concatenate([p[0] for p in parts])
    row_i = np.concatenate([p[1] for p in parts])
    col_s, col_i = parts[0][2], parts[0][3]
    if len(parts) > 1:
        col_s, col_i = _merge([(p[2], p[3]) for p in parts], kc)
    return (row_s, row_i), (col_s, col_i)


def _merge(states: list, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge running top-k states of disjoint base ranges (empty slots go last)."""
    vals = np.hstack([v for v, _ in states])
    idx = np.hstack([i for _, i in states])
    empty = idx < 0
    idx = np.where(empty, np.iinfo(np.int64).max, idx)
    s, i = _sort_pairs(vals, idx)
    s, i = s[:, :k], i[:, :k]
    return s, np.where(i == np.iinfo(np.int64).max, -1, i)


def _sort_pairs(vals: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = _row_lexsort(vals, idx)
    return (np.take_along_axis(vals, order, axis=1).astype(np.float32),
            np.take_along_axis(idx, order, axis=1).astype(np.int64))


def _row_lexsort(vals: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Per-row order: score descending, index ascending."""
    o = np.argsort(idx, axis=1, kind="stable")
    v = np.take_along_axis(vals, o, axis=1)
    o2 = np.argsort(-v, axis=1, kind="stable")
    return np.take_along_axis(o, o2, axis=1)


# ------------------------------------------------------------------------ torch
def _torch_dev(eng: Engine):
    import torch

    return torch.device(eng.device.value)  # a resolved engine: cpu or cuda, checked by resolve_engine


def _torch_base(b, cos, scale, dev, eng):
    """The base on ``dev`` (shared, not copied, when it is a float32 array on the CPU) and, for
    cosine, its inverse norms times ``scale``."""
    import torch

    nb = b.shape[0]
    if dev.type == "cpu" and isinstance(b, np.ndarray) and b.dtype == np.float32 and b.flags.c_contiguous:
        import warnings

        with warnings.catch_warnings():  # read-only memory is fine: the base is never written
            warnings.simplefilter("ignore", UserWarning)
            bt = torch.from_numpy(np.asarray(b))  # shares memory: no copy of the base on the CPU
    else:
        bt = torch.empty((nb, b.shape[1]), dtype=torch.float32, device=dev)
        step = max(1, eng.chunk_elements // max(b.shape[1], 1))
        for s0 in range(0, nb, step):
            bt[s0:s0 + step] = torch.from_numpy(np.ascontiguousarray(b[s0:s0 + step], dtype=np.float32)).to(dev)
    inv_b = None
    if cos:
        inv_b = bt.norm(dim=1)
        inv_b[inv_b == 0] = 1
        inv_b = inv_b.reciprocal_() * scale
    return bt, inv_b


def _torch_queries(rows, cos, scale, dev):
    """A block of query rows on ``dev``: unit length (cosine) or times ``scale`` (inner product)."""
    import torch

    qc = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)).to(dev)
    if cos:
        n = qc.norm(dim=1, keepdim=True)
        n[n == 0] = 1
        qc = qc / n
    elif scale != 1.0:
        qc = qc * scale
    return qc


def _torch_knn(q, b, k, metric, scale, bias, exclude_self, eng, progress):
    import torch

    dev = _torch_dev(eng)
    nq, nb = q.shape[0], b.shape[0]
    cos = metric is Metric.cosine
    # base goes to the device once, in chunks of rows (it is the reused operand)
    bt, inv_b = _torch_base(b, cos, scale, dev, eng)
    bias_t = torch.from_numpy(bias).to(dev) if bias is not None else None
    rows = _query_rows_per_chunk(nb, eng)
    out_s = np.empty((nq, k), dtype=np.float32)
    out_i = np.empty((nq, k), dtype=np.int64)
    with torch.inference_mode():
        for r0 in range(0, nq, rows):
            qc = _torch_queries(q[r0:r0 + rows], cos, scale, dev)
            s = qc @ bt.T
            if cos:
                s *= inv_b
            if bias_t is not None:
                s -= bias_t
            if exclude_self:
                ii = torch.arange(r0, r0 + qc.shape[0], device=dev)
                s[torch.arange(qc.shape[0], device=dev), ii] = float("-inf")
            vs, ix = torch.topk(s, k, dim=1, largest=True, sorted=True)
            out_s[r0:r0 + qc.shape[0]] = vs.cpu().numpy()
            out_i[r0:r0 + qc.shape[0]] = ix.cpu().numpy()
            if progress:
                progress(min(r0 + rows, nq), nq)
    return out_s, out_i


# ------------------------------------------------------------------------ faiss
def _faiss_knn(q, b, k, metric, scale, bias, exclude_self, eng, progress):
    import faiss

    d = b.shape[1]
    cos = metric is Metric.cosine
    extra = 1 if bias is not None else 0
    index: Any = faiss.IndexFlatIP(d + extra)  # a GPU index below: the same add/search
    if eng.device is Device.cuda:  # pragma: no cover - needs faiss-gpu
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
    inv_b = _inv_norms(b) if cos else None
    step = max(1, eng.chunk_elements // max(d, 1))
    for s0 in range(0, b.shape[0], step):
        bc = np.asarray(b[s0:s0 + step], dtype=np.float32)
        if cos:
            assert inv_b is not None
            bc = bc * inv_b[s0:s0 + step, None]
        if extra:
            # scale*<q,b> - bias_b == <[scale*q, 1], [b, -bias_b]>: exact, in one inner product
            bc = np.hstack([bc, -bias[s0:s0 + step, None]])
        index.add(np.ascontiguousarray(bc, dtype=np.float32))
    kk = k + (1 if exclude_self else 0)
    rows = _query_rows_per_chunk(b.shape[0], eng, floor=256)
    nq = q.shape[0]
    out_s = np.empty((nq, k), dtype=np.float32)
    out_i = np.empty((nq, k), dtype=np.int64)
    for r0 in range(0, nq, rows):
        qc = np.asarray(q[r0:r0 + rows], dtype=np.float32)
        if cos:
            qc = qc * _inv_norms(qc)[:, None]
        qc = qc * np.float32(scale)
        if extra:
            qc = np.hstack([qc, np.ones((qc.shape[0], 1), np.float32)])
        s, i = index.search(np.ascontiguousarray(qc), kk)
        if exclude_self:
            own = np.arange(r0, r0 + qc.shape[0])[:, None]
            keep = i != own
            # drop the own index (or the last column when it is not among the top kk)
            keep[keep.all(axis=1), -1] = False
            s = s[keep].reshape(qc.shape[0], k)
            i = i[keep].reshape(qc.shape[0], k)
        s, i = _sort_pairs(s, i)
        out_s[r0:r0 + qc.shape[0]] = s
        out_i[r0:r0 + qc.shape[0]] = i
        if progress:
            progress(min(r0 + rows, nq), nq)
    return out_s, out_i


def logsumexp_sim(
    queries: np.ndarray,
    base: np.ndarray,
    beta: float,
    *,
    metric: Metric | str = Metric.cosine,
    backend: Backend | str = Backend.auto,
    device: Device | str = Device.auto,
    chunk_elements: int | None = None,
    engine: Engine | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """``log sum_b exp(beta * sim(q, b))`` for every query row, shape (nq,), float32.

    The normaliser of the inverted softmax, computed chunk by chunk (stable: max-shifted), on
    the engine's backend and device (a faiss engine: see :func:`reduction_backend`).
    """
    q, b, _, _ = _check(queries, base, 1, None, False)
    eng = engine or resolve_engine(backend, device, chunk_elements)
    cos = Metric(metric) is Metric.cosine
    if reduction_backend(eng) is Backend.torch:
        return _torch_logsumexp(q, b, beta, cos, eng, progress)
    nq, nb = q.shape[0], b.shape[0]
    out = np.empty(nq, dtype=np.float32)
    # numpy: cache-sized tiles with a running (max, sum) per row, as in the top-k search
    rows, cols = _tile_shape(nb, 1, eng)
    sim = np.empty((rows, cols), dtype=np.float32)
    beta32 = np.float32(beta)
    for r0 in range(0, nq, rows):
        qc = np.asarray(q[r0:r0 + rows], dtype=np.float32)
        qc = qc * _inv_norms(qc)[:, None] if cos else qc
        m = qc.shape[0]
        mx = np.full(m, -np.inf, dtype=np.float64)
        acc = np.zeros(m, dtype=np.float64)
        for c0 in range(0, nb, cols):
            bc = np.asarray(b[c0:c0 + cols], dtype=np.float32)
            bc = bc * (_inv_norms(bc) * beta32)[:, None] if cos else bc * beta32
            t = sim[:m, :bc.shape[0]]
            np.matmul(qc, bc.T, out=t)
            new_mx = np.maximum(mx, t.max(axis=1))
            t -= new_mx[:, None].astype(np.float32)
            np.exp(t, out=t)
            acc = acc * np.exp(mx - new_mx) + t.sum(axis=1, dtype=np.float64)
            mx = new_mx
        out[r0:r0 + m] = (np.log(acc) + mx).astype(np.float32)
        if progress:
            progress(min(r0 + m, nq), nq)
    return out


def _torch_logsumexp(q, b, beta, cos, eng, progress):
    """:func:`logsumexp_sim` with torch on the engine's device."""
    import torch

    dev = _torch_dev(eng)
    nq = q.shape[0]
    rows = _query_rows_per_chunk(b.shape[0], eng)
    out = np.empty(nq, dtype=np.float32)
    bt = torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32)).to(dev)
    if cos:
        bt = bt / bt.norm(dim=1, keepdim=True).clamp_min(1e-30)
    with torch.inference_mode():
        for r0 in range(0, nq, rows):
            qc = torch.from_numpy(np.ascontiguousarray(q[r0:r0 + rows], dtype=np.float32)).to(dev)
            if cos:
                qc = qc / qc.norm(dim=1, keepdim=True).clamp_min(1e-30)
            out[r0:r0 + qc.shape[0]] = torch.logsumexp(beta * (qc @ bt.T), dim=1).cpu().numpy()
            if progress:
                progress(min(r0 + rows, nq), nq)
    return out
