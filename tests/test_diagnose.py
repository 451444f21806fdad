"""No silent wrong results (issue 16.5): swapped files, a reversed dictionary and unaligned spaces
give one warning in lexicon eval and align, and the records carry it."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import random_orthogonal
from xling.data.dictionary import BilingualDictionary
from xling.data.embeddings import Embeddings
from xling.data.vectors import save_embeddings
from xling.lexicon.diagnose import check_pairs, diagnose, pair_fit


@pytest.fixture
def world(tmp_path):
    """SRC words s*, TGT words t*, plus 60 names spelled alike in both (as real vocabularies share
    names and numbers); ``mapped`` is SRC in TGT's space, ``raw`` SRC in its own space."""
    rng = np.random.default_rng(7)
    n, shared, d = 400, 60, 16
    x = rng.standard_normal((n + shared, d)).astype(np.float32)
    q = random_orthogonal(d, rng)
    y = (x @ q + 0.05 * rng.standard_normal(x.shape)).astype(np.float32)
    names = [f"name{i}" for i in range(shared)]
    src_w = [f"s{i}" for i in range(n)] + names
    tgt_w = [f"t{i}" for i in range(n)] + names
    save_embeddings(Embeddings(src_w, x), str(tmp_path / "raw.vec"))
    save_embeddings(Embeddings(src_w, x @ q), str(tmp_path / "mapped.vec"))
    save_embeddings(Embeddings(tgt_w, y), str(tmp_path / "tgt.vec"))
    pairs = [(src_w[i], tgt_w[i]) for i in range(0, n + shared, 2)]
    (tmp_path / "gold.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in pairs), encoding="utf-8")
    (tmp_path / "reversed.tsv").write_text("".join(f"{b}\t{a}\n" for a, b in pairs), encoding="utf-8")
    return tmp_path, Embeddings(src_w, x @ q), Embeddings(tgt_w, y), Embeddings(src_w, x), BilingualDictionary(pairs)


def test_library_diagnosis(world):
    _, mapped, tgt, raw, d = world
    assert check_pairs(mapped, tgt, d) == []
    fit = pair_fit(mapped, tgt, d)
    assert fit.coverage == 1.0 and fit.gold_cosine > 0.9
    swapped = check_pairs(tgt, mapped, d)
    assert len(swapped) == 1 and "wrong order" in swapped[0] and "other way" in swapped[0]
    f = pair_fit(tgt, mapped, d)
    assert f.coverage == pytest.approx(30 / 230) and f.swapped_coverage == 1.0
    unaligned = check_pairs(raw, tgt, d)
    assert len(unaligned) == 1 and "unaligned" in unaligned[0]
    assert abs(pair_fit(raw, tgt, d).gold_cosine) < 0.1
    assert check_pairs(raw, tgt, d, aligned=False) == []  # a seed dictionary before alignment
    # low coverage that swapping does not explain
    low = diagnose(pair_fit(mapped, tgt, BilingualDictionary([("s0", "t0"), ("zz", "yy"), ("aa", "bb")])))
    assert len(low) == 1 and "check the languages" in low[0]


def _eval(cli, folder, src, tgt, dict_name):
    code, out, err = cli("lexicon", "eval", folder / src, folder / tgt, "--dict", folder / dict_name,
                         "--retrieval", "nn", "--json")
    assert code == 0, err
    return json.loads(out), err


def test_lexicon_eval_warns_on_swapped_reversed_and_unaligned(cli, world):
    folder = world[0]
    rec, err = _eval(cli, folder, "mapped.vec", "tgt.vec", "gold.tsv")
    assert rec["warnings"] == [] and "warning" not in err and rec["p@1"] > 0.9
    for a, b, dict_name in [("tgt.vec", "mapped.vec", "gold.tsv"), ("mapped.vec", "tgt.vec", "reversed.tsv")]:
        rec, err = _eval(cli, folder, a, b, dict_name)
        assert len(rec["warnings"]) == 1 and "wrong order" in rec["warnings"][0]
        assert err.count("warning") == 1 and "13.0% of the gold dictionary's pairs" in err
    rec, err = _eval(cli, folder, "raw.vec", "tgt.vec", "gold.tsv")
    assert len(rec["warnings"]) == 1 and "unaligned" in rec["warnings"][0] and rec["p@1"] < 0.1
    assert err.count("warning") == 1


def test_align_warns_when_the_seed_dictionary_fits_swapped(cli, world):
    folder = world[0]
    code, _, err = cli("align", folder / "tgt.vec", folder / "raw.vec", "--dict", folder / "gold.tsv",
                       "-o", folder / "out", "--json")
    assert code == 0, err
    assert err.count("warning") == 1 and "wrong order" in err
    rec = json.loads((folder / "out" / "record.json").read_text())
    assert len(rec["warnings"]) == 1 and "seed dictionary" in rec["warnings"][0]
    code, _, err = cli("align", folder / "raw.vec", folder / "tgt.vec", "--dict", folder / "gold.tsv",
                       "-o", folder / "ok", "--json")
    assert code == 0 and "warning" not in err
    assert json.loads((folder / "ok" / "record.json").read_text())["warnings"] == []
