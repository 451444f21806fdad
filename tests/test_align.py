"""Alignment core: normalisation, Procrustes, refinement, seeds, recipes, multilingual."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import random_orthogonal
from xling.align.multi import MultiMethod, align_multi
from xling.align.normalize import NormRecord, apply_record, normalize, parse_steps
from xling.align.pipeline import Recipe, SeedKind, Start, align, make_config
from xling.align.procrustes import Dewhiten, MapOptions, MapSpace, procrustes, sim_spaces, solve_map
from xling.align.refine import RefineOptions, Validation, first_step, refine
from xling.align.seeds import holdout_split, identical_pairs, similarity_profiles
from xling.data.errors import XlingError
from xling.lexicon.retrieval import Direction, RetrievalParams, induce_pairs, precision_at_1


def _p1(res, test_idx):
    """P@1 (CSLS) of source row i -> target row i on the mapped outputs."""
    a, b = sim_spaces(res.src_vectors, res.tgt_vectors, None)
    return precision_at_1(a[test_idx], b, [{int(i)} for i in test_idx], pool=a)


def _semi_orthogonal(dx, dz, rng):
    return random_orthogonal(dz, rng)[:dx]  # (dx, dz), orthonormal rows


# ------------------------------------------------------------------ normalisation
def test_normalize_steps_in_order_and_record_repeats_them(rng):
    x = (rng.standard_normal((50, 6)) * 3 + 1).astype(np.float32)
    y, rec = normalize(x, "unit,center,unit")
    assert np.allclose(np.linalg.norm(y, axis=1), 1, atol=1e-5)
    assert rec.steps == parse_steps(["unit", "center", "unit"])
    # the record applied to the same vectors gives the same matrix, also after a JSON round trip
    again = apply_record(x, NormRecord.from_dict(rec.as_dict()))
    assert np.allclose(again, y, atol=1e-6)
    c, _ = normalize(x, "center")
    assert np.allclose(c.mean(axis=0), 0, atol=1e-5)
    u, _ = normalize(x, "unitdim")
    assert np.allclose(u.std(axis=0), 1, atol=1e-4)
    assert np.array_equal(normalize(x, "none")[0], x)
    assert x[0, 0] != y[0, 0]  # the input was not modified in place
    with pytest.raises(XlingError, match="unknown normalisation step 'unti'"):
        parse_steps("unit,unti")


# ------------------------------------------------------------------ Procrustes
def test_procrustes_recovers_rotation(rotated_pair):
    src, tgt, q = rotated_pair
    w = procrustes(src.vectors, tgt.vectors)
    assert np.abs(w - q).max() < 0.01
    assert np.allclose(w @ w.T, np.eye(w.shape[0]), atol=1e-4)


@pytest.mark.parametrize("dx,dz", [(12, 40), (40, 12)])
def test_semi_orthogonal_map_for_different_dimensions(rng, dx, dz):
    n = 500
    if dx < dz:
        x = rng.standard_normal((n, dx)).astype(np.float32)
        w_true = _semi_orthogonal(dx, dz, rng)
        z = x @ w_true + 0.01 * rng.standard_normal((n, dz)).astype(np.float32)
    else:
        z = rng.standard_normal((n, dz)).astype(np.float32)
        w_true = _semi_orthogonal(dz, dx, rng)
        x = z @ w_true + 0.01 * rng.standard_normal((n, dx)).astype(np.float32)
    m = solve_map(x[:200], z[:200])
    assert m.wx.shape == (dx, dz)
    if dx < dz:
        assert m.isometric and np.allclose(m.wx @ m.wx.T, np.eye(dx), atol=1e-4)
        assert np.abs(m.wx - w_true).max() < 0.02
    a, b = sim_spaces(x, z, m)
    assert precision_at_1(a[200:], b, [{i} for i in range(200, n)]) == 1.0
    # the subspace similarities are exactly the cosines of the mapped vectors
    xm = x[:5] @ m.wx
    cos = (xm / np.linalg.norm(xm, axis=1, keepdims=True)) @ (z / np.linalg.norm(z, axis=1, keepdims=True)).T
    assert np.allclose(a[:5] @ b.T, cos, atol=1e-4)


def test_vecmap_steps_whiten_reweight_dewhiten_dimred(rotated_pair):
    src, tgt, _ = rotated_pair
    x, z = src.vectors, tgt.vectors
    for opts in [MapOptions(whiten=True, src_reweight=0.5, trg_reweight=0.5, src_dewhiten=Dewhiten.src,
                            trg_dewhiten=Dewhiten.trg),
                 MapOptions(whiten=True, src_dewhiten=Dewhiten.trg, trg_dewhiten=Dewhiten.src),
                 MapOptions(space=MapSpace.shared), MapOptions(whiten=True, dim_reduction=20)]:
        m = solve_map(x[:300], z[:300], opts)
        assert m.wz is not None and m.out_dim == (opts.dim_reduction or x.shape[1])
        a, b = sim_spaces(x, z, m)
        assert precision_at_1(a[300:], b, [{i} for i in range(300, len(x))]) == 1.0, opts
    with pytest.raises(XlingError, match="larger than the common space"):
        solve_map(x[:300], z[:300], MapOptions(whiten=True, dim_reduction=99))
    with pytest.raises(XlingError, match="no aligned pair"):
        procrustes(x[:0], z[:0])


# ------------------------------------------------------------------ recipes
@pytest.mark.parametrize("recipe", list(Recipe))
def test_every_recipe_recovers_the_rotation(rotated_pair, recipe):
    src, tgt, q = rotated_pair
    n = len(src)
    words = [f"w{i}" for i in range(n)]  # identical spellings, for the identical recipe
    pairs = (np.arange(250), np.arange(250))
    cfg = make_config(recipe, iterations=2 if recipe is not Recipe.unsupervised else None, cutoff=400,
                      rcsls_epochs=5)
    res = align(src.vectors, tgt.vectors, pairs=pairs, src_words=words, tgt_words=words, config=cfg)
    assert _p1(res, np.arange(250, n)) == 1.0
    if res.map.wz is None and res.src_norm.signature() == "unit,center,unit" and not cfg.rcsls:
        assert np.abs(res.map.wx - q).max() < 0.05
    assert res.record["recipe"] == recipe.value and res.record["iterations" if False else "candidates"]


def test_candidate_search_refines_the_better_half(rotated_pair, rng):
    """Equal dimensions: four candidates (2 normalisations x the target and whitened spaces; the
    shared space, the same cosines as the target one here, is skipped): all are validated, the two
    best seed maps are refined, and refining from a precomputed first step gives the same map as
    from scratch."""
    src, tgt, _ = rotated_pair
    z = tgt.vectors + 0.3 * rng.standard_normal(tgt.vectors.shape).astype(np.float32)
    pairs = (np.arange(300), np.arange(300))
    res = align(src.vectors, z, pairs=pairs, config=make_config(Recipe.supervised, cutoff=400))
    cands = res.record["candidates"]
    ident = [c for c in cands if c["name"].endswith("/identity")]  # validated after the search, never refined
    assert len(ident) == 2 and not any(c["refined"] for c in ident) and res.record["identity"] is False
    cands = [c for c in cands if c not in ident]
    assert res.record["skipped_candidates"] == ["unit,center,unit/shared", "unit/shared"]
    assert len(cands) == 4 and sum(c["refined"] for c in cands) == 2
    assert {c["name"] for c in cands} >= {"unit/whitened", "unit,center,unit/whitened"}
    first = [c["iterations"][0]["val_p1"] for c in cands]
    refined = [c["refined"] for c in cands]
    assert min(v for v, r in zip(first, refined, strict=True) if r) >= max(v for v, r in zip(first, refined, strict=True) if not r)
    assert all(len(c["iterations"]) == 1 for c in cands if not c["refined"])
    assert all(len(c["iterations"]) > 1 for c in cands if c["refined"])
    x, _ = normalize(src.vectors, "unit")
    zz, _ = normalize(z, "unit")
    val = Validation(np.arange(300, 400), [{i} for i in range(300, 400)], pool_size=0)
    opts = RefineOptions(iterations=2, cutoff=400)
    fs = first_step(x, zz, pairs[0], pairs[1], val=val)
    a = refine(x, zz, *pairs, opts=opts, val=val, first=fs)
    b = refine(x, zz, *pairs, opts=opts, val=val)
    assert a.map.wx.tobytes() == b.map.wx.tobytes() and a.best_iteration == b.best_iteration


def test_choices_given_by_value_become_their_enums():
    """make_config(direction="union") means the union (a plain string used to fall through to mutual)."""
    cfg = make_config(Recipe.semi, direction="mutual", spaces=["whitened", "target"], starts=("similarity",))
    assert cfg.refine.direction is Direction.mutual
    assert cfg.spaces == (MapSpace.whitened, MapSpace.target) and cfg.unsupervised.starts == (Start.similarity,)
    assert make_config(Recipe.supervised, direction="union").refine.direction is Direction.union
    with pytest.raises(ValueError, match="sideways"):
        make_config(Recipe.supervised, direction="sideways")


def test_six_candidates_when_dimensions_differ(rotated_pair, rng):
    """A 24-d source against a 30-d target: the shared space differs from the target one, so the
    six candidates (2 normalisations x 3 spaces) are validated and the three best refined."""
    src, tgt, _ = rotated_pair
    noise = rng.standard_normal((len(tgt), 6)).astype(np.float32)
    z = np.hstack([tgt.vectors + 0.3 * rng.standard_normal(tgt.vectors.shape).astype(np.float32), 0.3 * noise])
    pairs = (np.arange(300), np.arange(300))
    res = align(src.vectors, z, pairs=pairs, config=make_config(Recipe.supervised, cutoff=400))
    cands = res.record["candidates"]
    assert res.record["skipped_candidates"] == [] and not any(c["name"].endswith("/identity") for c in cands)
    assert len(cands) == 6 and sum(c["refined"] for c in cands) == 3
    first = [c["iterations"][0]["val_p1"] for c in cands]
    refined = [c["refined"] for c in cands]
    assert min(v for v, r in zip(first, refined, strict=True) if r) >= max(v for v, r in zip(first, refined, strict=True) if not r)


def test_shared_space_is_the_target_space_for_equal_dimensions(rotated_pair, rng):
    """Why the shared candidate is skipped for equal dimensions and a plain map: alone, it validates
    and retrieves exactly as the target-space map does."""
    src, tgt, _ = rotated_pair
    z = tgt.vectors + 0.3 * rng.standard_normal(tgt.vectors.shape).astype(np.float32)
    pairs = (np.arange(300), np.arange(300))
    out = {}
    for space in (MapSpace.target, MapSpace.shared):
        res = align(src.vectors, z, pairs=pairs, config=make_config(Recipe.supervised, cutoff=400, spaces=(space,),
                                                                    normalize="unit", identity=False))
        assert res.record["skipped_candidates"] == []  # one space only: nothing to skip
        a, b = sim_spaces(res.src_vectors, res.tgt_vectors, None)
        out[space] = (res.record["candidates"][0]["val_p1"], (a @ b.T).argmax(axis=1))
    assert out[MapSpace.target][0] == pytest.approx(out[MapSpace.shared][0])
    assert np.array_equal(out[MapSpace.target][1], out[MapSpace.shared][1])


def test_unsupervised_seed_finds_translations_without_anchors(rotated_pair):
    src, tgt, _ = rotated_pair
    perm = np.random.default_rng(3).permutation(len(tgt))  # the target in another word order
    z = tgt.vectors[perm]
    # stochastic dictionary induction from keep-probability 0.1 up to 1
    cfg = make_config(Recipe.unsupervised, iterations=60, cutoff=600, stochastic_initial=0.1,
                      stochastic_interval=1, threshold=0.005, direction=Direction.union,
                      normalize="unit,center,unit", starts=(Start.similarity,))
    res = align(src.vectors, z, config=cfg)
    a, b = sim_spaces(res.src_vectors, res.tgt_vectors, None)
    inv = np.argsort(perm)  # source row i translates to target row inv[i]
    assert precision_at_1(a, b, [{int(inv[i])} for i in range(len(src))]) == 1.0
    log = res.record["candidates"][0]["iterations"]
    assert log[0]["keep_prob"] == pytest.approx(0.1) and log[-1]["keep_prob"] == 1.0


def test_unsupervised_criterion_rejects_a_misleading_start(rotated_pair):
    """Identical spellings that are all false friends: the identical start self-learns a wrong map,
    the similarity start the right one, and the dictionary-free criterion picks the right one."""
    src, tgt, _ = rotated_pair
    n = len(src)
    perm = np.random.default_rng(5).permutation(n)
    src_words = [f"w{i}" for i in range(n)]
    tgt_words = [f"w{int(perm[i])}" for i in range(n)]  # target row i is spelled like source row perm[i]
    res = align(src.vectors, tgt.vectors, src_words=src_words, tgt_words=tgt_words,
                config=make_config(Recipe.unsupervised, cutoff=600))
    cands = {c["name"]: c for c in res.record["candidates"]}
    # the identity start (same dimensions) is wrong too: the spaces are rotated
    assert set(cands) == {"unit/whitened/identical", "unit/whitened/similarity", "unit/whitened/identity"}
    assert res.record["chosen"] == "unit/whitened/similarity"
    assert cands["unit/whitened/similarity"]["criterion"] > cands["unit/whitened/identical"]["criterion"]
    assert cands["unit/whitened/similarity"]["criterion"] > cands["unit/whitened/identity"]["criterion"]
    a, b = sim_spaces(res.src_vectors, res.tgt_vectors, None)
    assert precision_at_1(a, b, [{i} for i in range(n)]) == 1.0


def test_identity_start_for_spaces_already_shared(rotated_pair, rng):
    """Two vocabularies embedded in one space (as by one multilingual model), in different word
    orders and without any identical spelling: the identity start finds the translations, and
    it is skipped (not an error) when the dimensions differ."""
    src, _, _ = rotated_pair
    n = len(src)
    perm = rng.permutation(n)
    z = src.vectors[perm] + 0.05 * rng.standard_normal(src.vectors.shape).astype(np.float32)
    tgt_words = [f"t{i}" for i in range(n)]
    src_words = [f"s{i}" for i in range(n)]
    res = align(src.vectors, z, src_words=src_words, tgt_words=tgt_words,
                config=make_config(Recipe.unsupervised, cutoff=600, starts=(Start.identity,)))
    a, b = sim_spaces(res.src_vectors, res.tgt_vectors, None)
    inv = np.argsort(perm)
    assert precision_at_1(a, b, [{int(inv[i])} for i in range(n)]) == 1.0
    with pytest.raises(XlingError, match="no dictionary-free start"):
        align(src.vectors, z[:, :10], config=make_config(Recipe.unsupervised, starts=(Start.identity,)))


def test_final_space_resolves_the_kept_dictionary(rotated_pair):
    """--final-space: self-learning with orthogonal maps, then one solve in the whitened space
    from the kept dictionary (with the held-out pairs added back when there are any)."""
    src, tgt, _ = rotated_pair
    n = len(src)
    for recipe, pairs in ((Recipe.unsupervised, None), (Recipe.procrustes, (np.arange(250), np.arange(250)))):
        cfg = make_config(recipe, spaces=(MapSpace.target,), final_space=MapSpace.whitened, cutoff=600,
                          val_fraction=0.1 if pairs is not None else None)
        res = align(src.vectors, tgt.vectors, pairs=pairs, config=cfg)
        assert res.record["chosen"].split("/")[1] == "target"
        assert res.record["final_space"] == "whitened" and res.map.wz is not None
        assert res.record["refit"] is (pairs is not None)
        assert _p1(res, np.arange(250, n)) == 1.0
    plain = align(src.vectors, tgt.vectors, pairs=pairs, config=make_config(Recipe.procrustes, val_fraction=0.1))
    assert plain.record["final_space"] == "target" and plain.map.wz is None


def test_same_seed_same_map(rotated_pair):
    src, tgt, _ = rotated_pair
    cfg = make_config(Recipe.unsupervised, iterations=6, cutoff=600, seed=7)
    a = align(src.vectors, tgt.vectors, config=cfg)
    b = align(src.vectors, tgt.vectors, config=cfg)
    assert a.map.wx.tobytes() == b.map.wx.tobytes()


def test_refinement_improves_a_noisy_seed_and_keeps_the_best_iteration(rng):
    n, d = 800, 20
    x = rng.standard_normal((n, d)).astype(np.float32)
    q = random_orthogonal(d, rng)
    z = (x @ q + 0.25 * rng.standard_normal((n, d))).astype(np.float32)
    x, _ = normalize(x, "unit")
    z, _ = normalize(z, "unit")
    # a seed of 60 pairs, 40 of them wrong
    s = np.arange(60)
    t = s.copy()
    t[:40] = rng.permutation(np.arange(100, 140))
    val = Validation(np.arange(600, 800), [{i} for i in range(600, 800)], pool_size=0)
    res = refine(x, z, s, t, opts=RefineOptions(iterations=4, cutoff=600, keep_seed=False), val=val)
    p = [e.val_p1 for e in res.log]
    assert p[0] < 0.9 and max(p) > p[0] + 0.2
    assert res.best_iteration == int(np.argmax(p))
    a, b = sim_spaces(x, z, res.map)
    assert precision_at_1(a[600:], b, [{i} for i in range(600, 800)], pool=a) == pytest.approx(max(p))


def test_induce_directions(rotated_pair):
    src, tgt, _ = rotated_pair
    a, b = sim_spaces(src.vectors[:100], tgt.vectors[:100], solve_map(src.vectors, tgt.vectors))
    for direction in Direction:
        s, t, obj = induce_pairs(a, b, RetrievalParams(csls_k=5), direction=direction)
        assert np.array_equal(s, t) and s.size == 100 and 0 < obj <= 2
    s, t, _ = induce_pairs(a, b, direction=Direction.union, keep_prob=0.5, rng=np.random.default_rng(1))
    assert s.size >= 100  # stochastic: some wrong matches among the 200 proposals


# ------------------------------------------------------------------ seeds
def test_identical_and_numeral_seeds():
    src = ["the", "paris", "1990", "3.5", "x"]
    tgt = ["le", "1990", "paris", "3.5", "y", "the"]
    s, t = identical_pairs(src, tgt)
    assert [(src[i], tgt[j]) for i, j in zip(s, t, strict=True)] == [("the", "the"), ("paris", "paris"), ("1990", "1990"),
                                                        ("3.5", "3.5")]
    s, t = identical_pairs(src, tgt, numerals_only=True)
    assert [src[i] for i in s] == ["1990", "3.5"]
    assert identical_pairs(src, tgt, max_rank=3)[0].tolist() == [1, 2]


def test_similarity_profiles_do_not_depend_on_rotation(rotated_pair):
    src, _, _ = rotated_pair
    q = random_orthogonal(src.dim, np.random.default_rng(5))
    assert np.allclose(similarity_profiles(src.vectors, 100), similarity_profiles(src.vectors @ q, 100), atol=1e-4)


def test_holdout_split_by_source_word():
    src = np.array([0, 0, 1, 2, 2, 2, 3, 4, 5, 6])
    tr, va = holdout_split(src, 0.3, seed=1)
    assert (tr ^ va).all() and va.any()
    assert not set(src[tr]) & set(src[va])  # a source word is on one side only
    tr2, va2 = holdout_split(src, 0.3, seed=1)
    assert np.array_equal(va, va2)


# ------------------------------------------------------------------ multilingual
@pytest.mark.parametrize("method", list(MultiMethod))
def test_three_rotated_copies_recover_all_maps(rng, method):
    n, d = 400, 16
    a = rng.standard_normal((n, d)).astype(np.float32)
    qb, qc = random_orthogonal(d, rng), random_orthogonal(d, rng)
    b = (a @ qb + 0.01 * rng.standard_normal((n, d))).astype(np.float32)
    c = (a @ qc + 0.01 * rng.standard_normal((n, d))).astype(np.float32)
    pairs = [(np.arange(200), np.arange(200))] * 2
    maps, info = align_multi([a, b, c], pairs, method=method)
    mapped = [x @ w for x, w in zip([a, b, c], maps, strict=True)]
    for i in range(3):
        for j in range(3):
            if i != j:
                assert precision_at_1(*sim_spaces(mapped[i][200:], mapped[j], None), [{k} for k in range(200, n)]) == 1.0
    # the maps are the inverse rotations, up to the common rotation of the shared space
    rel_b = maps[1].T @ np.linalg.pinv(maps[0].T)  # maps b's space back to a's via the shared space
    assert np.abs(maps[0] @ np.linalg.pinv(maps[1]) - qb).max() < 0.05
    assert np.abs(maps[0] @ np.linalg.pinv(maps[2]) - qc).max() < 0.05
    assert rel_b.shape == (d, d)
    if method is MultiMethod.gpa:
        assert info["tuples"] == 200 and info["iterations"] >= 1


def test_multi_errors(rng):
    a = rng.standard_normal((10, 4)).astype(np.float32)
    with pytest.raises(XlingError, match="one dictionary per non-pivot"):
        align_multi([a, a], [])
    with pytest.raises(XlingError, match="fewer than 2"):
        align_multi([a, a, a], [(np.array([0]), np.array([0])), (np.array([1]), np.array([1]))],
                    method=MultiMethod.gpa)


def test_config_errors():
    with pytest.raises(XlingError, match="unknown normalisation"):
        make_config(Recipe.supervised, normalize="unit,bogus")
    cfg = make_config("semi", iterations=None, cutoff=50)
    assert cfg.refine.iterations == 30 and cfg.refine.cutoff == 50 and cfg.seed_kind is SeedKind.dictionary
    with pytest.raises(XlingError, match="needs a seed dictionary"):
        align(np.eye(4, dtype=np.float32), np.eye(4, dtype=np.float32), config=make_config("supervised"))


def test_config_is_composed_from_the_option_classes():
    """make_config's flat names land in the option classes; the same config can be built directly."""
    from dataclasses import replace

    from xling.align.pipeline import FLAT, AlignConfig, SelectOptions, UnsupervisedOptions
    from xling.align.rcsls import RcslsOptions

    cfg = make_config(Recipe.rcsls, cutoff=500, whiten=True, rcsls_epochs=7, val_fraction=0.2, unsup_size=99)
    assert cfg.refine.cutoff == 500 and cfg.map.whiten and cfg.map.space is MapSpace.target
    assert cfg.rcsls == RcslsOptions(epochs=7, lr=1.0, k=cfg.rcsls.k, n_neg=500)  # n_neg follows the cutoff
    assert cfg.select == SelectOptions(val_fraction=0.2) and cfg.unsupervised.size == 99
    direct = AlignConfig(recipe=Recipe.rcsls, normalize=("unit",), map=MapOptions(whiten=True),
                         refine=replace(make_config(Recipe.rcsls).refine, cutoff=500),
                         select=SelectOptions(val_fraction=0.2), unsupervised=UnsupervisedOptions(size=99),
                         rcsls=RcslsOptions(epochs=7, k=cfg.rcsls.k, n_neg=500))
    assert direct == cfg
    # the flat view is the record's config: every flat name, recipe first, enums as values
    flat = cfg.as_dict()
    assert list(flat) == ["recipe", *FLAT] and flat["rcsls"] is True and flat["rcsls_epochs"] == 7
    assert flat["spaces"] == ["target"] and flat["cutoff"] == 500
    # a step that is off keeps no settings; turning it off and on again
    sup = make_config(Recipe.supervised, rcsls_epochs=7)
    assert sup.rcsls is None and sup.as_dict()["rcsls"] is False
    assert make_config(Recipe.rcsls, rcsls=False).rcsls is None
    assert make_config(Recipe.supervised, rcsls=True, cutoff=300).rcsls.n_neg == 300
    with pytest.raises(TypeError, match="unknown alignment setting 'cutof'"):
        make_config(Recipe.supervised, cutof=3)
    with pytest.raises(ValueError, match="spaces="):
        AlignConfig(map=MapOptions(space=MapSpace.whitened))
    # the whitened space implies its steps (as a MapOptions of its own would)
    assert cfg.map_options(MapSpace.whitened) == MapOptions(whiten=True, space=MapSpace.whitened)
