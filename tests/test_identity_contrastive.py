"""Issue 18: the identity candidate (never worse than not aligning) and contrastive refinement."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import random_orthogonal
from xling.align.contrastive import ContrastiveOptions, contrastive
from xling.align.normalize import normalize
from xling.align.pipeline import Recipe, align, make_config
from xling.align.procrustes import MapOptions, solve_map
from xling.align.refine import Validation, validate
from xling.lexicon.knn import resolve_engine
from xling.lexicon.retrieval import RetrievalParams

N, D = 1500, 32


@pytest.fixture
def words():
    return np.random.default_rng(3).standard_normal((N, D)).astype(np.float32)


def _noisy(x, noise, seed, q=None):
    rng = np.random.default_rng(seed)
    return ((x if q is None else x @ q) + noise * rng.standard_normal(x.shape)).astype(np.float32)


def _pairs(n):
    return np.arange(n), np.arange(n)


# ------------------------------------------------------------------ identity candidate
VAL = (np.arange(1000, 1500), np.arange(1000, 1500))


@pytest.fixture
def words64():
    return np.random.default_rng(3).standard_normal((N, 64)).astype(np.float32)


def test_identity_wins_on_an_already_aligned_pair(words64):
    """Spaces in one space with strong noise and 80 seed pairs in 64 dimensions: every learned map
    fits the noise, the identity validates far better, is chosen (no refit), and the output is the
    normalised spaces unmapped."""
    z = _noisy(words64, 1.5, 4)
    cfg = make_config(Recipe.supervised, cutoff=N)
    res = align(words64, z, pairs=_pairs(80), val_pairs=VAL, config=cfg)
    rec = res.record
    assert rec["identity"] is True and rec["chosen"].endswith("/identity")
    by_name = {c["name"]: c["val_p1"] for c in rec["candidates"]}
    aligned_best = max(v for k, v in by_name.items() if not k.endswith("/identity"))
    assert by_name[rec["chosen"]] > 0.9 and aligned_best < 0.3
    assert rec["refit"] is False and np.array_equal(res.map.wx, np.eye(64, dtype=np.float32))
    spec = rec["chosen"].rsplit("/", 1)[0]
    assert np.array_equal(res.src_vectors, normalize(words64, spec)[0])
    # switched off, an aligned candidate is chosen instead
    off = align(words64, z, pairs=_pairs(80), val_pairs=VAL, config=cfg.with_overrides(identity=False))
    assert off.record["identity"] is False and not any(c["name"].endswith("/identity")
                                                        for c in off.record["candidates"])


def test_identity_loses_on_a_rotated_pair(words64):
    z = _noisy(words64, 1.5, 4, random_orthogonal(64, np.random.default_rng(5)))
    rec = align(words64, z, pairs=_pairs(80), val_pairs=VAL, config=make_config(Recipe.supervised, cutoff=N)).record
    ident = [c for c in rec["candidates"] if c["name"].endswith("/identity")]
    assert len(ident) == 2 and all(c["val_p1"] < 0.01 for c in ident)
    assert rec["identity"] is False and not rec["chosen"].endswith("/identity")


def test_identity_needs_equal_dimensions(words):
    z = _noisy(words, 0.3, 4, random_orthogonal(D, np.random.default_rng(5)))[:, :24]
    rec = align(words, z, pairs=_pairs(400), config=make_config(Recipe.supervised, cutoff=N)).record
    assert rec["identity"] is False and not any(c["name"].endswith("/identity") for c in rec["candidates"])


# ------------------------------------------------------------------ contrastive refinement
@pytest.fixture
def hard_pair(words):
    """A rotated pair with strong noise and a few stretched target dimensions, unit rows."""
    q = random_orthogonal(D, np.random.default_rng(5))
    z = _noisy(words, 1.2, 6, q)
    z[:, :6] *= 2.0
    x = words / np.linalg.norm(words, axis=1, keepdims=True)
    return x, (z / np.linalg.norm(z, axis=1, keepdims=True)).astype(np.float32)


def test_contrastive_improves_a_weak_seed_map(hard_pair):
    """A map solved from 60 pairs only: the contrastive rounds (hard negatives, then self-learning
    with confident pairs) validate clearly better on 500 held-out words."""
    x, z = hard_pair
    eng = resolve_engine()
    seed = np.arange(60)
    weak = solve_map(x[seed], z[seed], MapOptions())
    val = Validation(np.arange(1000, 1500), [{i} for i in range(1000, 1500)], pool_size=0)
    before = validate(x, z, weak, val, RetrievalParams(), eng)
    opts = ContrastiveOptions(neg_pool=1000, augment=600)
    m, info = contrastive(x, z, seed, seed, weak, opts=opts, engine=eng)
    after = validate(x, z, m, val, RetrievalParams(), eng)
    assert after > before + 0.05, (before, after)
    assert [r["round"] for r in info["rounds"]] == [0, 1] and info["rounds"][1]["added"] > 0
    assert all(r["loss_last"] < r["loss_first"] for r in info["rounds"])
    again, _ = contrastive(x, z, seed, seed, weak, opts=opts, engine=eng)
    assert again.wx.tobytes() == m.wx.tobytes()


def test_contrastive_step_in_align_is_validated_and_reproducible(hard_pair):
    """In the pipeline the step is a validated candidate: kept only when it validates better than
    the map it starts from, with the same bytes for the same seed."""
    x, z = hard_pair
    cfg = make_config(Recipe.supervised, cutoff=1000, contrastive=True, identity=False)
    a = align(x, z, pairs=_pairs(300), config=cfg)
    info = a.record["contrastive"]
    assert info["kept"] == (info["val_p1_after"] > info["val_p1_before"])
    b = align(x, z, pairs=_pairs(300), config=cfg)
    assert a.map.wx.tobytes() == b.map.wx.tobytes() and a.src_vectors.tobytes() == b.src_vectors.tobytes()
    assert a.record["config"]["contrastive"] is True


def test_contrastive_is_rejected_when_it_does_not_help(rng):
    """An exactly rotated pair: Procrustes already validates perfectly, so the contrastive map cannot
    validate better and the result is byte-identical to the run without the step."""
    n, d = 800, 16
    x = rng.standard_normal((n, d)).astype(np.float32)
    z = (x @ random_orthogonal(d, rng) + 0.01 * rng.standard_normal((n, d))).astype(np.float32)
    base = make_config(Recipe.supervised, cutoff=n)
    with_step = align(x, z, pairs=_pairs(300), config=base.with_overrides(contrastive=True, contrastive_steps=5))
    without = align(x, z, pairs=_pairs(300), config=base)
    info = with_step.record["contrastive"]
    assert info["kept"] is False and info["val_p1_before"] == 1.0
    assert with_step.map.wx.tobytes() == without.map.wx.tobytes()
    assert without.record["contrastive"] is None


def test_contrastive_without_validation_words_is_not_run(rng):
    n, d = 400, 8
    x = rng.standard_normal((n, d)).astype(np.float32)
    z = (x @ random_orthogonal(d, rng)).astype(np.float32)
    res = align(x, z, pairs=_pairs(100), config=make_config(Recipe.procrustes, contrastive=True))
    assert res.record["contrastive"] == {"kept": False, "skipped": "no validation words"}


# ------------------------------------------------------------------ CLI
def _write_vec(path, words, vectors):
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{len(words)} {vectors.shape[1]}\n")
        for w, v in zip(words, vectors, strict=True):
            f.write(w + " " + " ".join(f"{x:.6f}" for x in v) + "\n")


def test_cli_flags_reach_the_record(cli, tmp_path, rng):
    """--contrastive/--contrastive-steps and --no-identity-candidate are settings of the record."""
    import json

    n, d = 500, 12
    x = rng.standard_normal((n, d)).astype(np.float32)
    z = (x @ random_orthogonal(d, rng) + 0.3 * rng.standard_normal((n, d))).astype(np.float32)
    _write_vec(tmp_path / "s.vec", [f"s{i}" for i in range(n)], x)
    _write_vec(tmp_path / "t.vec", [f"t{i}" for i in range(n)], z)
    (tmp_path / "seed.tsv").write_text("".join(f"s{i}\tt{i}\n" for i in range(200)), encoding="utf-8")
    base = ["align", tmp_path / "s.vec", tmp_path / "t.vec", "--dict", tmp_path / "seed.tsv", "--cutoff", "500",
            "--json"]
    code, stdout, err = cli(*base, "-o", tmp_path / "a", "--contrastive", "--contrastive-steps", "3")
    assert code == 0, err
    rec = json.loads(stdout)
    assert rec["config"]["contrastive"] is True and rec["config"]["contrastive_steps"] == 3
    assert rec["config"]["identity"] is True and rec["identity"] is False
    assert [r["round"] for r in rec["contrastive"]["rounds"]] == [0, 1] and isinstance(rec["contrastive"]["kept"], bool)
    code, stdout, err = cli(*base, "-o", tmp_path / "b", "--no-identity-candidate")
    assert code == 0, err
    rec = json.loads(stdout)
    assert rec["config"]["identity"] is False and rec["contrastive"] is None
    assert not any(c["name"].endswith("/identity") for c in rec["candidates"])
