"""The dictionary-free recipe says when it most likely failed (issue 18): its criterion against the
same self-learning started from random pairs, a warning on stderr and in record.json."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import random_orthogonal
from data_fixtures import write_vec
from xling.align.pipeline import (
    MIN_CRITERION_MARGIN,
    Recipe,
    Start,
    align,
    criterion,
    failure_check,
    failure_warning,
    make_config,
    null_criterion,
)
from xling.align.procrustes import sim_spaces
from xling.lexicon.knn import resolve_engine
from xling.lexicon.retrieval import precision_at_1

N, D = 600, 24


def _pair(rng, related: bool):
    """Source and target rows; the target in another word order. ``related``: a rotation of the source
    plus noise (row ``inv[i]`` translates source row ``i``); otherwise drawn independently."""
    x = (rng.standard_normal((N, D)) * np.linspace(3, 0.5, D)).astype(np.float32)
    perm = rng.permutation(N)
    if related:
        z = (x @ random_orthogonal(D, rng) + 0.05 * rng.standard_normal((N, D))).astype(np.float32)
    else:
        z = (rng.standard_normal((N, D)) * np.linspace(3, 0.5, D)).astype(np.float32)
    return x, z[perm], np.argsort(perm)


def _words(n, prefix):
    return [f"{prefix}{i}" for i in range(n)]


def test_aligned_pair_passes_the_check(rng):
    x, z, inv = _pair(rng, related=True)
    res = align(x, z, src_words=_words(N, "s"), tgt_words=_words(N, "t"), config=make_config(Recipe.unsupervised))
    a, b = sim_spaces(res.src_vectors, res.tgt_vectors, None)
    assert precision_at_1(a, b, [{int(inv[i])} for i in range(N)]) == 1.0  # it did align
    check = res.record["unsupervised_check"]
    assert check["failed"] is False and check["margin"] > 0.3
    assert check["criterion"] == pytest.approx(check["null_criterion"] + check["margin"], abs=1e-5)
    assert "warnings" not in res.record


@pytest.mark.parametrize("starts", [None, (Start.similarity,)])  # several starts compared, or one
def test_unrelated_pair_is_flagged(rng, starts):
    x, z, inv = _pair(rng, related=False)
    res = align(x, z, src_words=_words(N, "s"), tgt_words=_words(N, "t"),
                config=make_config(Recipe.unsupervised, starts=starts))
    check = res.record["unsupervised_check"]
    assert check["failed"] is True and abs(check["margin"]) < MIN_CRITERION_MARGIN
    chosen = next(c for c in res.record["candidates"] if c["name"] == res.record["chosen"])
    assert chosen["criterion"] == pytest.approx(check["criterion"], abs=1e-6)  # scored even when alone
    (msg,) = res.record["warnings"]
    assert "most likely failed" in msg and "--dict" in msg and "\n" not in msg


def test_no_check_when_a_dictionary_validates(rotated_pair):
    src, tgt, _ = rotated_pair
    res = align(src.vectors, tgt.vectors, pairs=(np.arange(300), np.arange(300)), config=make_config("supervised"))
    assert "unsupervised_check" not in res.record and "warnings" not in res.record


def test_null_criterion_is_seeded_and_below_an_alignment(rotated_pair):
    src, tgt, _ = rotated_pair
    cfg = make_config(Recipe.unsupervised, cutoff=600)
    eng = resolve_engine()
    x = src.vectors / np.linalg.norm(src.vectors, axis=1, keepdims=True)
    z = tgt.vectors / np.linalg.norm(tgt.vectors, axis=1, keepdims=True)
    opts = cfg.map_options(cfg.spaces[0])
    a = null_criterion(x, z, 400, opts, cfg.refine, eng, seed=1)
    assert a == null_criterion(x, z, 400, opts, cfg.refine, eng, seed=1)
    from xling.align.procrustes import solve_map

    good = criterion(x, z, solve_map(x, z, opts), 600, cfg.refine.retrieval, eng)
    assert good - a > MIN_CRITERION_MARGIN


def test_failure_check_threshold_and_message():
    assert failure_check(0.62, 0.60)["failed"] is True
    ok = failure_check(0.69, 0.59)
    assert ok["failed"] is False and ok["margin"] == pytest.approx(0.10)
    msg = failure_warning(failure_check(0.625, 0.6))
    assert "0.625" in msg and "0.600" in msg and "--dict" in msg


def test_cli_warns_on_stderr_and_in_the_record(cli, tmp_path, rng):
    for name, related in (("good", True), ("bad", False)):
        x, z, _ = _pair(rng, related)
        write_vec(tmp_path / f"{name}_src.vec", _words(N, "s"), x)
        write_vec(tmp_path / f"{name}_tgt.vec", _words(N, "t"), z)
        out = tmp_path / f"out_{name}"
        code, _, err = cli("align", tmp_path / f"{name}_src.vec", tmp_path / f"{name}_tgt.vec", "--recipe",
                           "unsupervised", "-o", out)
        assert code == 0, err
        rec = json.loads((out / "record.json").read_text())
        flagged = "most likely failed" in err
        assert flagged is (not related)
        assert rec["unsupervised_check"]["failed"] is (not related)
        assert any("most likely failed" in w for w in rec["warnings"]) is (not related)
        if not related:
            assert err.count("most likely failed") == 1 and "--dict" in err
