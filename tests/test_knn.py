"""The nearest-neighbour engine (xling.lexicon.knn) and the device policy (xling.lexicon.device):
every backend against a brute-force reference, the tiled numpy top-k, count_above, logsumexp."""
from __future__ import annotations

import numpy as np
import pytest

from xling.data.errors import DeviceError, XlingError
from xling.lexicon.device import NO_CUDA, Device, resolve_device, torch_device
from xling.lexicon.knn import (
    Backend,
    Metric,
    count_above,
    cuda_available,
    knn,
    logsumexp_sim,
    mean_topk,
    reduction_backend,
    resolve_engine,
)

CPU_BACKENDS = ["numpy", "torch", "faiss"]


def brute_force_knn(queries: np.ndarray, base: np.ndarray, k: int, metric: Metric | str = Metric.cosine,
                    scale: float = 1.0, base_bias: np.ndarray | None = None,
                    exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Reference top-k (float64, full matrix, stable sort): what every backend must reproduce."""
    q = np.asarray(queries, dtype=np.float64)
    b = np.asarray(base, dtype=np.float64)
    if Metric(metric) is Metric.cosine:
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-30)
    s = scale * (q @ b.T)
    if base_bias is not None:
        s = s - np.asarray(base_bias, dtype=np.float64)[None, :]
    if exclude_self:
        np.fill_diagonal(s, -np.inf)
    k = min(k, b.shape[0] - (1 if exclude_self else 0))
    idx = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(s, idx, axis=1), idx


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


@pytest.mark.parametrize("nq, nb, d, k, chunk", [(37, 9001, 6, 10, None), (20, 5000, 3, 60, 2048),
                                                 (300, 4200, 5, 1, 4096)])
def test_tiled_topk_matches_brute_force(rng, nq, nb, d, k, chunk):
    q = rng.standard_normal((nq, d)).astype(np.float32)
    b = rng.standard_normal((nb, d)).astype(np.float32)
    bias = (0.1 * rng.standard_normal(nb)).astype(np.float32)
    for scale, bb in [(1.0, None), (2.0, bias)]:
        s, i = knn(q, b, k, backend="numpy", chunk_elements=chunk, scale=scale, base_bias=bb)
        s2, i2 = brute_force_knn(q, b, k, scale=scale, base_bias=bb)
        np.testing.assert_allclose(s, s2, atol=1e-5)
        # same neighbours, except float32 near-ties (score gap below 1e-5) that may swap
        diff = i != i2
        assert diff.mean() < 0.01
        assert np.all(np.abs(s2[diff] - s[diff]) < 1e-5)


def test_tiled_topk_ties_and_ordered_data():
    # many exact ties spread over several tiles: lower index first, as the reference
    b = np.repeat(np.eye(3, dtype=np.float32), 3000, axis=0)
    q = np.eye(3, dtype=np.float32)
    _, i = knn(q, b, 7, backend="numpy")
    assert np.array_equal(i, brute_force_knn(q, b, 7)[1])
    # scores rising along the base (every tile beats the last): the dense-merge path
    b = np.stack([np.arange(10000) / 10000, np.zeros(10000)], axis=1).astype(np.float32)
    q = np.array([[1.0, 0.0], [1.0, 0.5]], dtype=np.float32)
    _, i = knn(q, b, 5, backend="numpy", metric="ip")
    assert i[1].tolist() == [9999, 9998, 9997, 9996, 9995]
    assert i[0].tolist() == [9999, 9998, 9997, 9996, 9995]


@pytest.mark.slow
def test_exclude_self_tiled(rng):
    x = rng.standard_normal((5000, 4)).astype(np.float32)
    _, i = knn(x[:4500], x[:4500], 3, backend="numpy", exclude_self=True)
    assert np.array_equal(i, brute_force_knn(x[:4500], x[:4500], 3, exclude_self=True)[1])


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_count_above(rng, backend):
    q = rng.standard_normal((25, 5)).astype(np.float32)
    b = rng.standard_normal((6000, 5)).astype(np.float32)
    bias = (0.1 * rng.standard_normal(6000)).astype(np.float32)
    thr = rng.uniform(-1, 1.5, 25).astype(np.float32)
    ex = (np.array([0, 0, 3]), np.array([10, 20, 30]))
    got = count_above(q, b, thr, scale=2.0, base_bias=bias, exclude=ex, engine=resolve_engine(backend, "cpu", 4096))
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    s = 2.0 * (qn.astype(np.float64) @ bn.T) - bias
    s[0, [10, 20]] = -np.inf
    s[3, 30] = -np.inf
    assert got.tolist() == (s > thr[:, None]).sum(axis=1).tolist()
    with pytest.raises(XlingError, match="thresholds"):
        count_above(q, b, thr[:3])


def test_logsumexp_tiled_matches_reference(rng):
    q = rng.standard_normal((30, 6)).astype(np.float32)
    b = rng.standard_normal((9000, 6)).astype(np.float32)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    s = 30.0 * (qn.astype(np.float64) @ bn.T)
    mx = s.max(axis=1)
    ref = np.log(np.exp(s - mx[:, None]).sum(axis=1)) + mx
    for backend in CPU_BACKENDS:
        got = logsumexp_sim(q, b, 30.0, backend=backend, device="cpu", chunk_elements=4096)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs CUDA")
def test_cuda_matches_brute_force(qb, rng):
    q, b = qb
    bias = rng.random(b.shape[0]).astype(np.float32)
    got = knn(q, b, 10, backend="torch", device="cuda", scale=2.0, base_bias=bias)
    assert_same_neighbours(got, brute_force_knn(q, b, 10, scale=2.0, base_bias=bias), atol=1e-4)
    np.testing.assert_allclose(mean_topk(q, b, 10, device="cuda"), brute_force_knn(q, b, 10)[0].mean(1), atol=1e-4)


# ------------------------------------------------------------------------ the device policy
def test_resolve_device_is_the_one_policy(monkeypatch, qb):
    import xling.lexicon.device as D

    assert resolve_device("cpu") is Device.cpu and resolve_device(Device.cpu) is Device.cpu
    assert resolve_device("CPU") is Device.cpu
    assert resolve_device("auto") is (Device.cuda if cuda_available() else Device.cpu)
    with pytest.raises(XlingError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    assert str(torch_device("cpu")) == "cpu"
    # without CUDA: one error text from every entry point (engine, trainer), never a fallback
    monkeypatch.setattr(D, "cuda_available", lambda: False)
    assert resolve_device("auto") is Device.cpu
    with pytest.raises(DeviceError) as e1:
        resolve_device("cuda")
    with pytest.raises(DeviceError) as e2:
        resolve_engine("torch", "cuda")
    with pytest.raises(DeviceError) as e3:
        torch_device("cuda")
    assert str(e1.value) == str(e2.value) == str(e3.value) == NO_CUDA
    assert resolve_engine("auto", "auto").device is Device.cpu


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_reductions_follow_the_engine(backend):
    eng = resolve_engine(backend, "cpu")
    # on the CPU, faiss has no reductions of its own: they run on the numpy path
    assert reduction_backend(eng) is (Backend.torch if backend == "torch" else Backend.numpy)


def test_count_above_agrees_with_the_engines_knn_scores(qb, rng):
    # the rank of the k-th neighbour, counted by count_above with the same engine, is k - 1
    q, b = qb
    bias = (0.1 * rng.standard_normal(b.shape[0])).astype(np.float32)
    for backend in CPU_BACKENDS:
        eng = resolve_engine(backend, "cpu", 8192)
        s, i = knn(q, b, 5, scale=2.0, base_bias=bias, engine=eng)
        above = count_above(q, b, s[:, 4], scale=2.0, base_bias=bias, engine=eng)
        ties = (s[:, :4] == s[:, 4:5]).any(axis=1)
        if backend == "faiss":
            # faiss folds the bias into its inner product and rounds differently from the numpy
            # count, so a threshold equal to a faiss score may count its own row: off by at most one
            assert np.isin(above[~ties], [4, 5]).all()
        else:
            assert (above[~ties] == 4).all(), backend


# ------------------------------------------------------------------------ CUDA against the CPU reference
@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs CUDA")
@pytest.mark.parametrize("metric", ["cosine", "ip"])
def test_cuda_count_above_matches_cpu(rng, metric):
    q = rng.standard_normal((300, 12)).astype(np.float32)
    b = rng.standard_normal((7000, 12)).astype(np.float32)
    bias = (0.1 * rng.standard_normal(7000)).astype(np.float32)
    thr = rng.uniform(-1, 1.5, 300).astype(np.float32)
    ex = (np.array([0, 0, 3, 299]), np.array([10, 20, 30, 6999]))
    kw = dict(metric=metric, scale=2.0, base_bias=bias, exclude=ex)
    cpu = count_above(q, b, thr, engine=resolve_engine("numpy", "cpu", 4096), **kw)
    eng = resolve_engine("torch", "cuda", 4096)
    assert reduction_backend(eng) is Backend.torch
    got = count_above(q, b, thr, engine=eng, **kw)
    # float32 on two devices: a count may differ only where a score is within 1e-5 of the threshold
    assert np.abs(got - cpu).max() <= 1 and (got == cpu).mean() > 0.99


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs CUDA")
def test_cuda_logsumexp_matches_cpu(rng):
    q = rng.standard_normal((200, 8)).astype(np.float32)
    b = rng.standard_normal((9000, 8)).astype(np.float32)
    cpu = logsumexp_sim(q, b, 20.0, backend="numpy", device="cpu")
    got = logsumexp_sim(q, b, 20.0, backend="torch", device="cuda")
    np.testing.assert_allclose(got, cpu, rtol=1e-5, atol=1e-4)



@pytest.mark.parametrize("cores", [1, 3])
@pytest.mark.parametrize("scale", [1.0, 2.0, 3.0])
def test_cross_topk_is_both_searches(rng, monkeypatch, cores, scale):
    # one pass over a @ b.T gives exactly the two searches (neighbours, order, score bytes): with
    # biases, NaN and -inf scores, exact ties across tiles and tasks, k above one side's size;
    # scale 3 (not a power of two) runs the two searches
    import xling.lexicon.knn as K
    from xling.lexicon.knn import cross_topk

    monkeypatch.setattr(K, "default_threads", lambda: cores)
    a = rng.standard_normal((1_500, 6)).astype(np.float32)
    b = rng.standard_normal((1_200, 6)).astype(np.float32)
    a[[3, 700, 1_400]] = a[3]  # identical candidates of every column: ties broken by the lower row
    b[[10, 600, 1_100]] = b[10]
    a_bias = rng.random(a.shape[0]).astype(np.float32)
    b_bias = rng.random(b.shape[0]).astype(np.float32)
    a_bias[[5, 6]], b_bias[[7, 8]] = np.nan, np.inf
    for k in (1, 10):
        for biases in ((None, None), (a_bias, b_bias)):
            (rs, ri), (cs, ci) = cross_topk(a, b, k, scale=scale, a_bias=biases[0], b_bias=biases[1])
            fs, fi = knn(a, b, k, metric="ip", scale=scale, base_bias=biases[1])
            bs, bi = knn(b, a, k, metric="ip", scale=scale, base_bias=biases[0])
            np.testing.assert_array_equal(ri, fi)
            np.testing.assert_array_equal(ci, bi)
            assert rs.tobytes() == fs.tobytes() and cs.tobytes() == bs.tobytes()
            assert_same_neighbours((rs, ri), brute_force_knn(a, b, k, metric="ip", scale=scale, base_bias=biases[1]))
    # a side smaller than k: its lists are clipped as knn clips them
    (rs, ri), (cs, ci) = cross_topk(a[:4], b, 10)
    assert ri.shape == (4, 10) and ci.shape == (1_200, 4)
    np.testing.assert_array_equal(ci, knn(b, a[:4], 10, metric="ip")[1])
