"""The one retrieval layer (xling.lexicon.retrieval), as alignment and lexicon commands use it,
checked against brute-force numpy; and the one numerals definition."""
from __future__ import annotations

import json

import numpy as np
import pytest

from data_fixtures import write_vec
from xling.align.procrustes import sim_spaces, solve_map
from xling.align.seeds import identical_pairs as seed_pairs
from xling.align.seeds import unsupervised_seed
from xling.data.dictionary import BilingualDictionary
from xling.data.errors import XlingError
from xling.data.identical import IdenticalMode, identical_pairs, is_numeral
from xling.lexicon.evaluate import evaluate
from xling.lexicon.retrieval import (
    Direction,
    Retrieval,
    RetrievalParams,
    best_match,
    best_targets,
    criterion_terms,
    induce_pairs,
    precision_at_1,
    stochastic_best,
    target_penalty,
    translate,
)

CRITERIA = [RetrievalParams(Retrieval.nn), RetrievalParams(Retrieval.csls, csls_k=3),
            RetrievalParams(Retrieval.isf, isf_beta=12.0)]


def unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_scores(a, b, pool, params):
    """``scale * cos - bias`` for every (row of a, row of b), float64, from the definitions."""
    cos = unit(a) @ unit(b).T
    if params.retrieval is Retrieval.nn:
        return cos
    back = unit(b) @ unit(pool).T  # (nb, npool)
    if params.retrieval is Retrieval.csls:
        r_s = np.sort(back, axis=1)[:, ::-1][:, :params.csls_k].mean(axis=1)
        return 2 * cos - r_s[None, :]
    lse = np.log(np.exp(params.isf_beta * back).sum(axis=1))
    return params.isf_beta * cos - lse[None, :]


@pytest.fixture
def noisy(rng):
    """Two 12-d spaces, word i of ``x`` near word i of ``z`` (noise large enough for hubs and errors)."""
    x = rng.standard_normal((150, 12)).astype(np.float32)
    z = (x + 0.9 * rng.standard_normal((150, 12))).astype(np.float32)
    return x, z


# ------------------------------------------------------------------ criteria
@pytest.mark.parametrize("params", CRITERIA, ids=lambda p: p.retrieval.value)
def test_best_match_and_translate_follow_the_definitions(noisy, params):
    x, z = noisy
    ref = brute_scores(x, z, x, params)
    # best_match on prepared rows (the alignment side), translate on raw vectors (the lexicon side)
    a, b = sim_spaces(x, z, None)
    s, i = best_match(a, b, params)
    assert np.array_equal(i, ref.argmax(axis=1))
    assert np.allclose(s, ref.max(axis=1), atol=1e-4)
    s2, i2 = translate(x, z, 3, params=params)
    assert np.array_equal(i2[:, 0], ref.argmax(axis=1))
    assert np.array_equal(i2, np.argsort(-ref, axis=1, kind="stable")[:, :3])
    if params.retrieval is Retrieval.csls:  # translate adds the query-side term to its scores
        r_t = np.sort(unit(x) @ unit(z).T, axis=1)[:, ::-1][:, :3].mean(axis=1)
        assert np.allclose(s2[:, 0], ref.max(axis=1) - r_t, atol=1e-4)
    else:
        assert np.allclose(s2[:, 0], ref.max(axis=1), atol=1e-4)


@pytest.mark.parametrize("params", CRITERIA[1:], ids=lambda p: p.retrieval.value)
def test_criterion_terms_pool_and_penalty(noisy, params):
    x, z = noisy
    calls = []

    def pool():
        calls.append(1)
        return x[:50]

    scale, bias = criterion_terms(params, z, pool)
    assert calls == [1] and scale == params.scale
    assert np.allclose(bias, target_penalty(z, x[:50], params), atol=1e-6)
    # a given penalty is used as is, and the pool is then never built
    _, bias2 = criterion_terms(params, z, pool, tgt_penalty=bias)
    assert calls == [1] and np.array_equal(bias2, bias)
    with pytest.raises(XlingError, match="tgt_penalty must have shape"):
        criterion_terms(params, z, x, tgt_penalty=bias[:-1])
    # best_match's pool is the source side of the penalty
    _, i = best_match(*sim_spaces(x, z, None), params, pool=unit(x[:50]).astype(np.float32))
    assert np.array_equal(i, brute_scores(x, z, x[:50], params).argmax(axis=1))


def test_nn_needs_no_pool_and_bad_knobs_are_refused(noisy):
    x, z = noisy
    assert criterion_terms(RetrievalParams(Retrieval.nn), z, lambda: pytest.fail("pool built for nn")) == (1.0, None)
    with pytest.raises(XlingError, match="CSLS needs k >= 1"):
        best_match(x, z, RetrievalParams(Retrieval.csls, csls_k=0))
    with pytest.raises(XlingError, match="beta > 0"):
        translate(x, z, params=RetrievalParams(Retrieval.isf, isf_beta=0.0))
    assert RetrievalParams(Retrieval.isf, isf_beta=12.0).signature() == "retrieval=isf,beta=12"


# ------------------------------------------------------------------ induction
@pytest.mark.parametrize("params", CRITERIA, ids=lambda p: p.retrieval.value)
def test_induce_pairs_directions_match_brute_force(noisy, params):
    x, z = noisy
    a, b = sim_spaces(x[:100], z[:80], None)
    fwd_s, bwd_s = brute_scores(x[:100], z[:80], x[:100], params), brute_scores(z[:80], x[:100], z[:80], params)
    fi, bi = fwd_s.argmax(axis=1), bwd_s.argmax(axis=1)
    fwd = {(s, int(t)) for s, t in enumerate(fi)}
    bwd = {(int(s), t) for t, s in enumerate(bi)}
    want = {Direction.forward: fwd, Direction.backward: bwd, Direction.union: fwd | bwd, Direction.mutual: fwd & bwd}
    for direction, expect in want.items():
        s, t, obj = induce_pairs(a, b, params, direction=direction)
        assert set(zip(s.tolist(), t.tolist(), strict=True)) == expect, direction
        assert s.dtype == np.int64 and list(zip(s, t, strict=True)) == sorted(zip(s, t, strict=True))
        assert obj == pytest.approx((fwd_s.max(axis=1).mean() + bwd_s.max(axis=1).mean()) / 2, abs=1e-4)
    assert len(want[Direction.mutual]) < len(want[Direction.forward])  # the noise makes a difference


def stochastic_reference(a, b, params, keep_prob, rng, rows=1024):
    """The documented draw: one byte per similarity, blocks of ``rows`` query rows, kept when below
    round(keep_prob * 256); ranking as best_match."""
    scale, bias = criterion_terms(params, b, a, metric="ip")
    bias = np.zeros(b.shape[0], np.float32) if bias is None else bias
    out = []
    for r0 in range(0, a.shape[0], rows):
        s = (a[r0:r0 + rows] @ b.T) * np.float32(scale) - bias
        keep = np.frombuffer(rng.bytes(s.size), dtype=np.uint8).reshape(s.shape) < max(1, round(keep_prob * 256))
        out.append(np.where(keep, s, -np.inf).argmax(axis=1))
    return np.concatenate(out)


@pytest.mark.parametrize("params", CRITERIA, ids=lambda p: p.retrieval.value)
def test_stochastic_induction_draws_as_documented(noisy, params):
    x, z = noisy
    a, b = sim_spaces(x, z, None)
    # keep_prob 1: nothing dropped, the deterministic best match, and one byte drawn per similarity
    rng, twin = np.random.default_rng(7), np.random.default_rng(7)
    s, i = stochastic_best(a, b, params, 1.0, rng, rows=64)
    assert np.array_equal(i, best_match(a, b, params)[1])
    twin.bytes(a.shape[0] * b.shape[0])
    assert rng.bytes(8) == twin.bytes(8)
    # keep_prob 0.3: the same draws as the reference, block by block
    i = stochastic_best(a, b, params, 0.3, np.random.default_rng(3), rows=64)[1]
    assert np.array_equal(i, stochastic_reference(a, b, params, 0.3, np.random.default_rng(3), rows=64))
    assert not np.array_equal(i, best_match(a, b, params)[1])
    # induce_pairs: forward draws first, then backward, from the one generator
    rng = np.random.default_rng(11)
    s, t, _ = induce_pairs(a, b, params, direction=Direction.union, keep_prob=0.3, rng=rng)
    ref = np.random.default_rng(11)
    fi = stochastic_reference(a, b, params, 0.3, ref)
    bi = stochastic_reference(b, a, params, 0.3, ref)
    expect = {(k, int(v)) for k, v in enumerate(fi)} | {(int(v), k) for k, v in enumerate(bi)}
    assert set(zip(s.tolist(), t.tolist(), strict=True)) == expect
    assert rng.bytes(8) == ref.bytes(8)


def test_precision_at_1_is_the_lexicon_evaluation_p1(noisy):
    """Alignment's validation P@1 and lexicon eval's P@1 are one computation."""
    from xling.data.embeddings import Embeddings

    x, z = noisy
    m = solve_map(x[:100], z[:100])
    xs = np.asarray(x @ m.wx, dtype=np.float32)
    src = Embeddings([f"s{i}" for i in range(150)], xs)
    tgt = Embeddings([f"t{i}" for i in range(150)], z)
    gold = BilingualDictionary.from_pairs([(f"s{i}", f"t{i}") for i in range(100, 150)])
    a, b = sim_spaces(x, z, m)
    seen = set()
    for params in CRITERIA:
        p_align = precision_at_1(a[100:], b, [{i} for i in range(100, 150)], params, pool=a)
        p_lex = evaluate(src, tgt, gold, params=params, subspace=None).precision(1)
        assert p_align == pytest.approx(p_lex)
        seen.add(round(p_align, 6))
    assert 0 < min(seen) and max(seen) < 1  # a hard enough case for the check to mean something
    assert precision_at_1(a[:0], b, []) == 0.0


@pytest.mark.parametrize("params", CRITERIA[1:], ids=lambda p: p.retrieval.value)
def test_best_targets_is_best_match_with_the_term_where_it_matters(rng, params):
    """The validation's search with the target-side term computed only where a bound says it can
    decide: the same best targets as the search with the whole term, hubs and ties included."""
    x = rng.standard_normal((900, 10)).astype(np.float32)
    z = (x[:700] + 0.8 * rng.standard_normal((700, 10))).astype(np.float32)
    z[[20, 400]] = z[20]  # two identical targets: the lower index wins, as in best_match
    z[30] = x[:900].mean(axis=0) * 3  # a hub: near every source, a large target-side term
    a, b = sim_spaces(x, z, None)
    queries = a[50:250]
    ref = best_match(queries, b, params, pool=a)[1]
    for bound_pool in (10, 100, 400):
        got = best_targets(queries, b, params, pool=a, bound_pool=bound_pool)
        np.testing.assert_array_equal(got, ref)
    gold = [{int(t)} for t in ref]
    assert precision_at_1(queries, b, gold, params, pool=a) == 1.0


def test_unsupervised_seed_is_a_union_induction(rng):
    x = rng.standard_normal((60, 8)).astype(np.float32)
    z = x @ np.linalg.qr(rng.standard_normal((8, 8)))[0].astype(np.float32)
    for params in (RetrievalParams(), RetrievalParams(Retrieval.nn)):
        s, t = unsupervised_seed(x, z, size=60, retrieval=params)
        assert s.size >= 60 and s.dtype == np.int64
        assert np.mean(s == t) > 0.9  # a rotation: the profiles match word for word


# ------------------------------------------------------------------ numerals
TRICKY = ["2019", "3.14", "1,000", "1.000", "12:30", "1990-2000", "1/2", "٣", "²", "1e5", "-5", "5.", ".5",
          "1,,2", "x1", "１２", "007", "the"]


def test_one_numeral_definition():
    assert [w for w in TRICKY if is_numeral(w)] == ["2019", "3.14", "1,000", "1.000", "007"]
    src = TRICKY + ["only-src", "42"]
    tgt = list(reversed(TRICKY)) + ["42", "only-tgt"]
    s, t = seed_pairs(src, tgt, numerals_only=True)
    d, _ = identical_pairs(src, tgt, mode=IdenticalMode.numerals)
    assert [(src[i], tgt[j]) for i, j in zip(s, t, strict=True)] == list(d.pairs)
    assert [p[0] for p in d.pairs] == ["2019", "3.14", "1,000", "1.000", "007", "42"]


def test_align_numerals_seed_equals_data_identical_numerals(cli, tmp_path, rng):
    words = [f"w{i}" for i in range(120)] + TRICKY[:-1]
    x = rng.standard_normal((len(words), 8)).astype(np.float32)
    write_vec(tmp_path / "s.vec", words, x)
    write_vec(tmp_path / "t.vec", words[::-1], x[::-1] @ np.linalg.qr(rng.standard_normal((8, 8)))[0])
    code, out, err = cli("data", "identical", tmp_path / "s.vec", tmp_path / "t.vec", "--mode", "numerals",
                         "-o", tmp_path / "num.tsv")
    assert code == 0, err
    lines = (tmp_path / "num.tsv").read_text(encoding="utf-8").splitlines()
    assert sorted(line.split("\t")[0] for line in lines) == sorted(["2019", "3.14", "1,000", "1.000", "007"])
    code, out, err = cli("align", tmp_path / "s.vec", tmp_path / "t.vec", "--seed-dict", "numerals",
                         "--recipe", "procrustes", "-o", tmp_path / "o", "--json")
    assert code == 0, err
    assert json.loads(out)["seed_dictionary"]["pairs"] == len(lines)


# ------------------------------------------------------------------ one spelling on the command line
def test_align_csls_alias_is_csls_k_and_retrieval_nn(cli, tmp_path, rng):
    """The old ``align --csls K`` gives the bytes of ``--csls-k K`` (``--retrieval nn`` for 0), with a warning."""
    words = [f"w{i}" for i in range(200)]
    x = rng.standard_normal((200, 8)).astype(np.float32)
    write_vec(tmp_path / "s.vec", words, x)
    write_vec(tmp_path / "t.vec", words, x @ np.linalg.qr(rng.standard_normal((8, 8)))[0]
              + 0.8 * rng.standard_normal((200, 8)).astype(np.float32))
    (tmp_path / "d.tsv").write_text("".join(f"w{i}\tw{i}\n" for i in range(60)), encoding="utf-8")
    maps = {}
    for name, flags in {"old0": ("--csls", "0"), "nn": ("--retrieval", "nn"), "old4": ("--csls", "4"),
                        "k4": ("--csls-k", "4")}.items():
        code, _, err = cli("align", tmp_path / "s.vec", tmp_path / "t.vec", "--dict", tmp_path / "d.tsv",
                           "--recipe", "semi", "--iterations", "3", "--cutoff", "150", "-o", tmp_path / name, *flags)
        assert code == 0, err
        assert ("--csls is deprecated" in err) == name.startswith("old")
        maps[name] = (tmp_path / name / "map.npy").read_bytes()
    assert maps["old0"] == maps["nn"] and maps["old4"] == maps["k4"]
    assert maps["nn"] != maps["k4"]  # the criterion matters here
    code, _, err = cli("align", tmp_path / "s.vec", tmp_path / "t.vec", "--dict", tmp_path / "d.tsv",
                       "-o", tmp_path / "x", "--csls", "4", "--csls-k", "5")
    assert code == 2 and "give --csls-k / --retrieval only" in err
    code, _, err = cli("align", tmp_path / "s.vec", tmp_path / "t.vec", "--dict", tmp_path / "d.tsv",
                       "-o", tmp_path / "y", "--retrieval", "csls", "--csls-k", "0")
    assert code == 2 and "Traceback" not in err
