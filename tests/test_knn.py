"""The nearest-neighbour engine: every backend against a brute-force reference."""
from __future__ import annotations

import numpy as np
import pytest

from xling.data.errors import DeviceError, XlingError
from xling.lexicon.knn import Backend, brute_force_knn, cuda_available, knn, logsumexp_sim, mean_topk, resolve_engine

CPU_BACKENDS = ["numpy", "torch", "faiss"]


@pytest.fixture
def qb(rng):
    q = rng.standard_normal((257, 16)).astype(np.float32)
    b = rng.standard_normal((3001, 16)).astype(np.float32)
    b[5] = 0.0  # a zero row must not produce NaN
    return q, b


def assert_same_neighbours(got, ref, atol=1e-5):
    gs, gi = got
    rs, ri = ref
    assert gi.shape == ri.shape and gs.dtype == np.float32 and gi.dtype == np.int64
    np.testing.assert_allclose(gs, rs, atol=atol)
    # indices agree except where the reference itself has (numerical) ties
    diff = gi != ri
    if diff.any():
        assert np.allclose(gs[diff], rs[diff], atol=atol)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("metric", ["cosine", "ip"])
@pytest.mark.parametrize("chunk", [None, 4096, 50_000])
def test_knn_matches_brute_force(qb, backend, metric, chunk):
    q, b = qb
    got = knn(q, b, 10, metric=metric, backend=backend, device="cpu", chunk_elements=chunk)
    assert_same_neighbours(got, brute_force_knn(q, b, 10, metric))


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_adjusted_scores_and_exclude_self(qb, rng, backend):
    q, b = qb
    bias = rng.random(b.shape[0]).astype(np.float32)
    got = knn(q, b, 7, backend=backend, scale=2.0, base_bias=bias, chunk_elements=8192)
    assert_same_neighbours(got, brute_force_knn(q, b, 7, scale=2.0, base_bias=bias))
    got = knn(b[:400], b[:400], 5, backend=backend, exclude_self=True)
    ref = brute_force_knn(b[:400], b[:400], 5, exclude_self=True)
    assert_same_neighbours(got, ref)
    assert not (got[1] == np.arange(400)[:, None]).any()


@pytest.mark.slow
def test_large_base_many_tiles_exact_with_ties(rng):
    # a base wider than many tiles: the running top-k crosses tile boundaries; result must be exact
    q = rng.standard_normal((40, 8)).astype(np.float32)
    b = rng.standard_normal((60_000, 8)).astype(np.float32)
    b[100:200] = b[100]  # exact ties are broken by the lower index
    q[0] = b[100]
    got = knn(q, b, 20, backend="numpy")
    ref = brute_force_knn(q, b, 20)
    assert_same_neighbours(got, ref)
    # the 100 identical rows tie (up to BLAS rounding, which may differ by column position)
    assert set(got[1][0].tolist()) <= set(range(100, 200))


@pytest.mark.parametrize("cores", [1, 2, 5])
@pytest.mark.slow
def test_numpy_tasks_split_and_merge(rng, monkeypatch, cores):
    # few queries against a wide base: the base is split over several tasks whose top-k
    # lists are merged; NaN ranks last, -inf is still selected when needed, ties take the
    # lower index, and the answer does not depend on the number of cores
    import xling.lexicon.knn as K

    monkeypatch.setattr(K, "default_threads", lambda: cores)
    q = rng.standard_normal((3, 8)).astype(np.float32)
    b = rng.standard_normal((20_000, 8)).astype(np.float32)
    b /= np.linalg.norm(b, axis=1, keepdims=True) * 1.01
    q[0] = 0.0
    q[0, 0] = 1.0
    b[[7, 9_000, 19_999]] = q[0]  # exact ties (products are exact) across the task boundaries
    bias = np.zeros(b.shape[0], np.float32)
    bias[100:110] = np.nan
    bias[5] = np.inf
    got = knn(q, b, 5, metric="ip", base_bias=bias)
    ref = brute_force_knn(q, b, 5, metric="ip", base_bias=bias)
    assert_same_neighbours(got, ref)
    assert got[1][0, :3].tolist() == [7, 9_000, 19_999]
    assert not np.isin(got[1], np.arange(100, 110)).any()
    # a tiny base where NaN and -inf must fill the list: -inf before NaN, then by index
    s, i = knn(q[:1], b[:4], 4, metric="ip", base_bias=np.array([np.nan, np.inf, 0, np.nan], np.float32))
    assert i[0].tolist() == [2, 1, 0, 3] and np.isneginf(s[0, 1]) and np.isnan(s[0, 2:]).all()
    # exclude_self with several query blocks
    c = b[:3_000]
    got = knn(c, c, 3, exclude_self=True)
    assert not (got[1] == np.arange(3_000)[:, None]).any()
    assert_same_neighbours(got, brute_force_knn(c, c, 3, exclude_self=True))


def test_k_larger_than_base_and_empty_queries(rng):
    b = rng.standard_normal((3, 4)).astype(np.float32)
    s, i = knn(b, b, 10, backend="numpy")
    assert s.shape == (3, 3) and sorted(i[0].tolist()) == [0, 1, 2]
    s, i = knn(np.empty((0, 4), np.float32), b, 2)
    assert s.shape == (0, 2)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_mean_topk_is_csls_penalty(qb, backend):
    q, b = qb
    r = mean_topk(q, b, 10, backend=backend)
    ref = brute_force_knn(q, b, 10)[0].mean(axis=1)
    np.testing.assert_allclose(r, ref, atol=1e-5)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_logsumexp(qb, backend):
    q, b = qb
    out = logsumexp_sim(q, b, 10.0, backend=backend)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-30)
    from scipy.special import logsumexp

    np.testing.assert_allclose(out, logsumexp(10.0 * (qn.astype(np.float64) @ bn.T), axis=1), rtol=1e-5)


def test_memmap_base(tmp_path, qb):
    q, b = qb
    np.save(tmp_path / "b.npy", b)
    bm = np.load(tmp_path / "b.npy", mmap_mode="r")
    assert_same_neighbours(knn(q, bm, 5, backend="numpy", chunk_elements=2048), brute_force_knn(q, b, 5))


def test_device_and_argument_errors(qb):
    q, b = qb
    if not cuda_available():
        with pytest.raises(DeviceError, match="no CUDA device"):
            knn(q, b, 3, device="cuda")
        with pytest.raises(DeviceError):
            resolve_engine("torch", "cuda")
    with pytest.raises(DeviceError, match="numpy backend runs on the CPU"):
        resolve_engine("numpy", "cuda")
    with pytest.raises(XlingError, match="16-d"):
        knn(q[:, :8], b, 3)
    with pytest.raises(XlingError, match="k must be"):
        knn(q, b, 0)
    with pytest.raises(XlingError, match="base_bias"):
        knn(q, b, 3, base_bias=np.zeros(3))
    assert resolve_engine("auto", "cpu").backend is Backend.numpy


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs CUDA")
def test_cuda_matches_brute_force(qb, rng):
    q, b = qb
    bias = rng.random(b.shape[0]).astype(np.float32)
    got = knn(q, b, 10, backend="torch", device="cuda", scale=2.0, base_bias=bias)
    assert_same_neighbours(got, brute_force_knn(q, b, 10, scale=2.0, base_bias=bias), atol=1e-4)
    np.testing.assert_allclose(mean_topk(q, b, 10, device="cuda"), brute_force_knn(q, b, 10)[0].mean(1), atol=1e-4)
