"""The tiled numpy top-k and count_above of xling.lexicon.knn against brute force."""
from __future__ import annotations

import numpy as np
import pytest

from xling.data.errors import XlingError
from xling.lexicon.knn import brute_force_knn, count_above, knn, resolve_engine


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


def test_count_above(rng):
    q = rng.standard_normal((25, 5)).astype(np.float32)
    b = rng.standard_normal((6000, 5)).astype(np.float32)
    bias = (0.1 * rng.standard_normal(6000)).astype(np.float32)
    thr = rng.uniform(-1, 1.5, 25).astype(np.float32)
    ex = (np.array([0, 0, 3]), np.array([10, 20, 30]))
    got = count_above(q, b, thr, scale=2.0, base_bias=bias, exclude=ex, engine=resolve_engine("numpy", "cpu", 4096))
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    s = 2.0 * (qn.astype(np.float64) @ bn.T) - bias
    s[0, [10, 20]] = -np.inf
    s[3, 30] = -np.inf
    assert got.tolist() == (s > thr[:, None]).sum(axis=1).tolist()
    with pytest.raises(XlingError, match="thresholds"):
        count_above(q, b, thr[:3])


def test_logsumexp_tiled_matches_reference(rng):
    from xling.lexicon.knn import logsumexp_sim

    q = rng.standard_normal((30, 6)).astype(np.float32)
    b = rng.standard_normal((9000, 6)).astype(np.float32)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    s = 30.0 * (qn.astype(np.float64) @ bn.T)
    mx = s.max(axis=1)
    ref = np.log(np.exp(s - mx[:, None]).sum(axis=1)) + mx
    for backend in ("numpy", "torch"):
        got = logsumexp_sim(q, b, 30.0, backend=backend, device="cpu", chunk_elements=4096)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)
