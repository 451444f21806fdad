"""Evaluation (xling.lexicon.evaluate): criteria, P@k, MRR, OOV policies, bands, hubness."""
from __future__ import annotations

import numpy as np
import pytest

from xling.data.dictionary import BilingualDictionary
from xling.data.embeddings import Embeddings
from xling.data.errors import XlingError
from xling.lexicon.evaluate import OOVPolicy, band_label, evaluate, k_occurrence, skewness
from xling.lexicon.induce import induce
from xling.lexicon.retrieval import Retrieval, RetrievalParams, target_penalty


def on_circle(degrees) -> np.ndarray:
    a = np.radians(np.asarray(degrees, dtype=np.float64))
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32)


def pairs(*p) -> BilingualDictionary:
    return BilingualDictionary.from_pairs(p)


@pytest.fixture
def three_way():
    """A 2-d space where NN, CSLS (k=1) and inverted softmax (beta=10) translate s0 differently.

    Sources at 0, 15, 10, 40, 5 degrees; targets at 45 (near every source: a hub), -65 and -55.
    NN picks the hub t0 (cos 45° = 0.71); CSLS picks t2 (-55°), whose nearest source is s0
    itself, so its penalty is small while t0's is ~1; the inverted softmax picks t1 (-65°),
    the target for which s0 takes the largest share of the softmax over sources.
    """
    src = Embeddings(["s0", "s1", "s2", "s3", "s4"], on_circle([0, 15, 10, 40, 5]))
    tgt = Embeddings(["t0", "t1", "t2"], on_circle([45, -65, -55]))
    return src, tgt


NN, CSLS1, ISF10 = (RetrievalParams(Retrieval.nn), RetrievalParams(Retrieval.csls, csls_k=1),
                    RetrievalParams(Retrieval.isf, isf_beta=10))


@pytest.mark.parametrize("params, expected", [(NN, "t0"), (CSLS1, "t2"), (ISF10, "t1")])
def test_criteria_give_different_known_answers(three_way, params, expected):
    src, tgt = three_way
    res = induce(src, tgt, ["s0"], k=1, params=params)
    assert res.dictionary.pairs == (("s0", expected),)
    for gold in ("t0", "t1", "t2"):
        r = evaluate(src, tgt, pairs(("s0", gold)), params=params, ks=(1,), hub_k=1)
        assert r.precision(1) == (1.0 if gold == expected else 0.0)


def test_criteria_match_their_formulas(three_way):
    src, tgt = three_way
    c = src.vectors.astype(np.float64) @ tgt.vectors.T.astype(np.float64)
    r_s = c.max(axis=0)  # k=1: each target's best source
    r_t = c.max(axis=1)
    csls = 2 * c - r_t[:, None] - r_s[None, :]
    isf = 10 * c - np.log(np.exp(10 * c).sum(axis=0))[None, :]
    for params, ref in [(CSLS1, csls), (ISF10, isf)]:
        res = induce(src, tgt, k=3, params=params)
        got = np.array(res.dictionary.scores).reshape(5, 3)
        np.testing.assert_allclose(got, -np.sort(-ref, axis=1), atol=1e-5)


def test_two_gold_translations_count_once(three_way):
    src, tgt = three_way
    d = pairs(("s0", "t0"), ("s0", "t2"), ("s1", "t1"))
    r = evaluate(src, tgt, d, params=NN, ks=(1,), hub_k=1)
    assert r.src_words == 2 and r.overall.queries == 2
    # s0 is right (t0 is its NN), s1 is not (its NN is t0 too): 1 of 2, not 2 of 3
    assert r.precision(1) == 0.5


def test_oov_policies(three_way):
    src, tgt = three_way
    d = pairs(("s0", "t0"), ("zz", "t0"), ("s1", "qq"), ("s2", "t0"))
    skip = evaluate(src, tgt, d, params=NN, oov=OOVPolicy.skip, ks=(1,), hub_k=1)
    wrong = evaluate(src, tgt, d, params=NN, oov="wrong", ks=(1,), hub_k=1)
    for r in (skip, wrong):
        assert (r.src_words, r.covered) == (4, 2)
        assert r.coverage == 0.5
    assert skip.overall.queries == 2 and skip.precision(1) == 1.0 and skip.mrr == 1.0
    assert wrong.overall.queries == 4 and wrong.precision(1) == 0.5 and wrong.mrr == 0.5
    assert wrong.signature_parts() == {"retrieval": "nn", "oov": "wrong", "cov": "0.50"}
    # under 'wrong' the word missing from the source vectors has its own band row
    assert [b.label for b in wrong.bands][-1] == "oov" and wrong.bands[-1].queries == 1
    assert "oov" not in [b.label for b in skip.bands]


def test_mrr_on_a_known_ranking():
    # targets at 0, 5, ..., 70 degrees: from q0 (0°) t_j is rank j+1, from q1 (70°) rank 15-j
    tgt = Embeddings([f"t{j}" for j in range(15)], on_circle(5 * np.arange(15)))
    src = Embeddings(["q0", "q1"], on_circle([0, 70]))
    d = pairs(("q0", "t2"), ("q1", "t1"))
    r = evaluate(src, tgt, d, params=NN, ks=(1, 5, 10))
    assert r.ranks.tolist() == [3, 14]
    assert r.mrr == pytest.approx((1 / 3 + 1 / 14) / 2)
    assert r.overall.precision == {1: 0.0, 5: 0.5, 10: 0.5}
    # a small retrieved list (rank 14 counted over all targets) gives the same exact ranks
    r1 = evaluate(src, tgt, d, params=NN, ks=(1,), hub_k=1)
    assert r1.ranks.tolist() == [3, 14]


def test_ranks_beyond_the_list_are_exact(rng):
    src = Embeddings([f"s{i}" for i in range(300)], rng.standard_normal((300, 6)).astype(np.float32))
    tgt = Embeddings([f"t{i}" for i in range(400)], rng.standard_normal((400, 6)).astype(np.float32))
    d = BilingualDictionary.from_pairs([(f"s{i}", f"t{(7 * i + j) % 400}") for i in range(60) for j in (0, 1)])
    params = RetrievalParams(Retrieval.csls, csls_k=5)
    r = evaluate(src, tgt, d, params=params, ks=(1, 5), hub_k=5)
    x = src.vectors / np.linalg.norm(src.vectors, axis=1, keepdims=True)
    y = tgt.vectors / np.linalg.norm(tgt.vectors, axis=1, keepdims=True)
    c = x.astype(np.float64) @ y.T.astype(np.float64)
    r_s = -np.sort(-c.T, axis=1)[:, :5].mean(axis=1)
    score = 2 * c - r_s[None, :]
    for n, i in enumerate(range(60)):
        gold = [(7 * i + j) % 400 for j in (0, 1)]
        best = score[i, gold].max()
        others = np.delete(score[i], gold)
        assert r.ranks[n] == 1 + int((others > best).sum())


def test_perfect_translation_all_criteria(rotated_pair):
    src, tgt, q = rotated_pair
    mapped = src.map(q)
    d = BilingualDictionary.from_pairs((f"s{i}", f"t{i}") for i in range(0, 600, 3))
    for kind in Retrieval:
        r = evaluate(mapped, tgt, d, params=RetrievalParams(kind))
        assert r.precision(1) == 1.0 and r.mrr == 1.0 and r.coverage == 1.0
    # unmapped, the same spaces translate badly: the evaluation can fail
    assert evaluate(src, tgt, d, params=NN).precision(1) < 0.2


def test_frequency_bands(rotated_pair):
    src, tgt, q = rotated_pair
    mapped = src.map(q)
    right = [(f"s{i}", f"t{i}") for i in list(range(10)) + list(range(100, 110))]
    wrong = [(f"s{i}", f"t{i + 1}") for i in range(500, 510)]
    r = evaluate(mapped, tgt, BilingualDictionary.from_pairs(right + wrong), params=NN, bands=(50, 200))
    assert [(b.label, b.lo, b.hi, b.queries) for b in r.bands] == [("0-50", 0, 50, 10), ("50-200", 50, 200, 10),
                                                                   ("200+", 200, None, 10)]
    assert [b.precision[1] for b in r.bands] == [1.0, 1.0, 0.0]
    assert r.precision(1) == pytest.approx(2 / 3)
    empty = evaluate(mapped, tgt, BilingualDictionary.from_pairs(right), params=NN, bands=(50, 200, 400))
    assert empty.bands[-1].queries == 0 and empty.bands[-1].precision[1] is None
    with pytest.raises(XlingError, match="increasing"):
        evaluate(mapped, tgt, BilingualDictionary.from_pairs(right), bands=(200, 50))


def test_band_labels():
    assert band_label(0, 1000) == "0-1k"
    assert band_label(1000, 5000) == "1k-5k"
    assert band_label(1500, 20000) == "1.5k-20k"
    assert band_label(200000, None) == "200k+"
    assert band_label(0, 1_000_000) == "0-1M"
    assert band_label(0, 37) == "0-37"


def test_hubness_on_a_constructed_hub(rng):
    n_q, n_t = 40, 30
    queries = np.abs(rng.standard_normal((n_q, 5))).astype(np.float32)  # all in the positive orthant
    others = -np.abs(rng.standard_normal((n_t - 1, 5))).astype(np.float32)
    tgt = Embeddings(["hub"] + [f"t{i}" for i in range(n_t - 1)], np.vstack([np.ones((1, 5), np.float32), others]))
    src = Embeddings([f"q{i}" for i in range(n_q)], queries)
    d = BilingualDictionary.from_pairs((f"q{i}", f"t{i % (n_t - 1)}") for i in range(n_q))
    r = evaluate(src, tgt, d, params=NN, hub_k=1, n_hubs=1)
    h = r.hubness
    assert h.hubs == (("hub", n_q),) and h.max_occurrence == n_q
    assert h.hub_query_share == 1.0 and h.hub_slot_share == 1.0
    # one spike among n zeros: skewness (n - 2) / sqrt(n - 1)
    assert h.skewness == pytest.approx((n_t - 2) / np.sqrt(n_t - 1))
    assert r.precision(1) == 0.0


def test_skewness_and_k_occurrence():
    from scipy.stats import skew

    x = np.array([0, 0, 1, 5, 2, 9, 0, 3])
    assert skewness(x) == pytest.approx(skew(x))
    assert skewness(np.ones(7)) == 0.0
    occ = k_occurrence(np.array([[0, 1], [0, 2], [0, 1]]), 4)
    assert occ.tolist() == [3, 2, 1, 0]


def test_precomputed_penalty_is_reused(rotated_pair):
    src, tgt, q = rotated_pair
    mapped = src.map(q)
    d = BilingualDictionary.from_pairs((f"s{i}", f"t{(i * 5) % 600}") for i in range(50))
    params = RetrievalParams(Retrieval.csls)
    pen = target_penalty(tgt.vectors, mapped.vectors, params)
    a = evaluate(mapped, tgt, d, params=params)
    b = evaluate(mapped, tgt, d, params=params, tgt_penalty=pen)
    assert np.array_equal(a.ranks, b.ranks) and np.array_equal(a.top_indices, b.top_indices)
    with pytest.raises(XlingError, match="tgt_penalty"):
        evaluate(mapped, tgt, d, params=params, tgt_penalty=pen[:5])


def test_backends_agree(rotated_pair):
    src, tgt, q = rotated_pair
    mapped = src.map(q + 0.3 * np.eye(q.shape[0], dtype=np.float32))  # imperfect map: ranks spread
    d = BilingualDictionary.from_pairs((f"s{i}", f"t{i}") for i in range(0, 600, 2))
    from xling.lexicon.knn import resolve_engine

    res = [evaluate(mapped, tgt, d, engine=resolve_engine(b, "cpu")) for b in ("numpy", "torch", "faiss")]
    for r in res[1:]:
        assert r.overall == res[0].overall


def test_bad_input(three_way):
    src, tgt = three_way
    with pytest.raises(XlingError, match="empty"):
        evaluate(src, tgt, BilingualDictionary(()))
    with pytest.raises(XlingError, match="no source word of the dictionary"):
        evaluate(src, tgt, pairs(("zz", "t0"), ("s0", "qq")))
    flat = Embeddings(["a", "b"], np.eye(2, 3, dtype=np.float32))
    with pytest.raises(XlingError, match="not aligned"):
        evaluate(flat, tgt, pairs(("a", "t0")))
    with pytest.raises(XlingError, match="not aligned"):
        induce(flat, tgt)
    with pytest.raises(XlingError, match="none of the 1 words"):
        induce(src, tgt, ["nope"])


def test_induce_mutual_and_min_score(three_way):
    src, tgt = three_way
    # by NN every source goes to the hub t0, whose own nearest source is s3 (40°, next to 45°)
    res = induce(src, tgt, k=1, params=NN)
    assert [t for _, t in res.dictionary.pairs] == ["t0"] * 5
    mutual = induce(src, tgt, k=1, params=NN, mutual=True)
    assert mutual.dictionary.pairs == (("s3", "t0"),) and mutual.dropped_mutual == 4
    # cos(s0, t0) = cos 45° = 0.707 < 0.75 <= cos 5°..35°: the minimum score drops s0 only
    thr = induce(src, tgt, k=1, params=NN, min_score=0.75)
    assert [s for s, _ in thr.dictionary.pairs] == ["s1", "s2", "s3", "s4"] and thr.dropped_min_score == 1
    assert thr.ranks == (1, 1, 1, 1)


def _cuda() -> bool:
    from xling.lexicon.knn import cuda_available

    return cuda_available()


@pytest.mark.gpu
def test_cuda_engine_agrees_with_cpu(rotated_pair):
    if not _cuda():
        pytest.skip("needs a CUDA device")
    from xling.lexicon.knn import resolve_engine

    src, tgt, q = rotated_pair
    mapped = src.map(q + 0.3 * np.eye(q.shape[0], dtype=np.float32))
    d = BilingualDictionary.from_pairs((f"s{i}", f"t{i}") for i in range(0, 600, 2))
    for kind in Retrieval:
        params = RetrievalParams(kind)
        cpu = evaluate(mapped, tgt, d, params=params, engine=resolve_engine("numpy", "cpu"))
        gpu = evaluate(mapped, tgt, d, params=params, engine=resolve_engine("torch", "cuda"))
        assert gpu.overall == cpu.overall


def test_induce_mutual_pool(three_way):
    src, tgt = three_way
    # among the first two sources only (0° and 15°), t0's best source is s1
    res = induce(src, tgt, ["s0", "s1"], k=1, params=NN, mutual=True, mutual_pool=2)
    assert res.dictionary.pairs == (("s1", "t0"),)


def test_low_rank_source_is_evaluated_in_its_subspace_with_the_same_results(rng):
    """A semi-orthogonal map leaves the source in a 6-d subspace of the 40-d target space:
    the evaluation then runs in that subspace and must give exactly the full-space answers."""
    from xling.data.dictionary import BilingualDictionary
    from xling.data.embeddings import Embeddings
    from xling.lexicon.evaluate import evaluate
    from xling.lexicon.retrieval import Retrieval, RetrievalParams, shared_subspace

    n, d, r = 400, 40, 6
    x = rng.standard_normal((n, r)).astype(np.float32)
    w, _ = np.linalg.qr(rng.standard_normal((d, r)))
    xs = (x @ w.T.astype(np.float32)).astype(np.float32)  # rank r inside d dimensions
    z = (xs + 0.3 * rng.standard_normal((n, d))).astype(np.float32)
    src = Embeddings([f"s{i}" for i in range(n)], xs)
    tgt = Embeddings([f"t{i}" for i in range(n)], z)
    sub = shared_subspace(xs, z)
    assert sub is not None
    red = (sub.source(), sub.target())
    assert red[0].shape == (n, r) and red[1].shape == (n, r)
    full = (xs / np.linalg.norm(xs, axis=1, keepdims=True)) @ (z / np.linalg.norm(z, axis=1, keepdims=True)).T
    np.testing.assert_allclose(red[0] @ red[1].T, full, atol=2e-5)
    assert shared_subspace(z, z + 1) is None  # full rank: nothing to gain
    d_ = BilingualDictionary.from_pairs([(f"s{i}", f"t{i}") for i in range(0, n, 3)])
    for crit in Retrieval:
        got = evaluate(src, tgt, d_, params=RetrievalParams(crit))
        # the same evaluation with the reduction disabled (a src_pool turns it off)
        ref = evaluate(src, tgt, d_, params=RetrievalParams(crit), src_pool=src.vectors)
        assert got.overall == ref.overall
        assert np.array_equal(got.ranks, ref.ranks)
        assert np.array_equal(evaluate(src, tgt, d_, params=RetrievalParams(crit), subspace=None).ranks, ref.ranks)


def test_one_shared_subspace_serves_every_criterion_and_projects_only_what_each_needs(rng):
    """lexicon eval --retrieval all finds the subspace once: NN projects only the query rows,
    CSLS then projects the whole source for its pool, and the results equal fresh evaluations."""
    from xling.data.dictionary import BilingualDictionary
    from xling.data.embeddings import Embeddings
    from xling.data.errors import XlingError
    from xling.lexicon.evaluate import evaluate
    from xling.lexicon.retrieval import Retrieval, RetrievalParams, shared_subspace

    n, d, r = 300, 32, 4
    w, _ = np.linalg.qr(rng.standard_normal((d, r)))
    xs = (rng.standard_normal((n, r)) @ w.T).astype(np.float32)
    z = (xs + 0.3 * rng.standard_normal((n, d))).astype(np.float32)
    src = Embeddings([f"s{i}" for i in range(n)], xs)
    tgt = Embeddings([f"t{i}" for i in range(n)], z)
    dic = BilingualDictionary.from_pairs([(f"s{i}", f"t{i}") for i in range(0, n, 5)])
    sub = shared_subspace(src.vectors, tgt.vectors)
    assert sub is not None and sub.rank == r
    nn = evaluate(src, tgt, dic, params=RetrievalParams(Retrieval.nn), subspace=sub)
    assert sub._src_r is None  # NN needed the query rows only
    assert nn.overall == evaluate(src, tgt, dic, params=RetrievalParams(Retrieval.nn)).overall
    for crit in (Retrieval.csls, Retrieval.isf):
        got = evaluate(src, tgt, dic, params=RetrievalParams(crit), subspace=sub)
        assert np.array_equal(got.ranks, evaluate(src, tgt, dic, params=RetrievalParams(crit)).ranks)
    assert sub._src_r is not None and sub._src_r.shape == (n, r)
    other = Embeddings(src.words, src.vectors.copy())
    with pytest.raises(XlingError, match="other vectors"):
        evaluate(other, tgt, dic, subspace=sub)
