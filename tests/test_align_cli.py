"""`xling align`, `xling apply`, `xling align-multi` end to end through the real CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import random_orthogonal
from data_fixtures import write_vec
from xling.data.vectors import load_embeddings

N, D = 400, 16


@pytest.fixture
def spaces(tmp_path, rng):
    """A source space (16-d), a rotated target (16-d) and a 40-d target, with a seed dictionary
    that has multi-word lines, out-of-vocabulary words and several translations per word."""
    src_words = [f"w{i}" for i in range(N - 20)] + [str(1900 + i) for i in range(20)]
    tgt_words = [f"m{i}" for i in range(N - 20)] + [str(1900 + i) for i in range(20)]
    x = rng.standard_normal((N, D)).astype(np.float32) * 2 + 0.5
    q = random_orthogonal(D, rng)
    y = x @ q + 0.01 * rng.standard_normal((N, D)).astype(np.float32)
    w40 = random_orthogonal(40, rng)[:D]
    y40 = x @ w40 + 0.01 * rng.standard_normal((N, 40)).astype(np.float32)
    write_vec(tmp_path / "src.vec", src_words, x)
    write_vec(tmp_path / "tgt.vec", tgt_words, y)
    write_vec(tmp_path / "tgt40.vec", tgt_words, y40)
    lines = [f"{src_words[i]}\t{tgt_words[i]}" for i in range(200)]
    lines += ["ice cream\tglace", "w1\tm1", "nope\tm2", "w3\tnada", "w4\tm5"]
    (tmp_path / "seed.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    test = [f"{src_words[i]}\t{tgt_words[i]}" for i in range(250, N)]
    (tmp_path / "test.tsv").write_text("\n".join(test) + "\n", encoding="utf-8")
    return tmp_path


def _p1(out, first=250):
    """Nearest-neighbour P@1 of source word i -> target word i among the held-out words."""
    s = load_embeddings(out / "src.npy").vectors
    t = load_embeddings(out / "tgt.npy").vectors
    s = s / np.linalg.norm(s, axis=1, keepdims=True)
    t = t / np.linalg.norm(t, axis=1, keepdims=True)
    return float(np.mean((s[first:] @ t.T).argmax(axis=1) == np.arange(first, N)))


@pytest.mark.parametrize("tgt", ["tgt.vec", "tgt40.vec"])
def test_align_end_to_end(cli, spaces, tgt):
    out = spaces / "out"
    code, stdout, err = cli("align", spaces / "src.vec", spaces / tgt, "--dict", spaces / "seed.tsv", "-o", out,
                            "--cutoff", "300", "--json")
    assert code == 0, err
    rec = json.loads(stdout)
    assert _p1(out) == 1.0
    d = rec["dictionaries"][0]
    assert d["multiword_skipped"] == 1 and d["vocab"]["src_oov_pairs"] == 1 and d["vocab"]["tgt_oov_pairs"] == 1
    assert rec["seed_dictionary"]["held_out_pairs"] > 0 and rec["refit"]
    assert rec["candidates"][0]["iterations"][0]["val_p1"] is not None
    on_disk = json.loads((out / "record.json").read_text())
    assert on_disk["chosen"] == rec["chosen"] and on_disk["signature"].startswith("recipe=supervised")
    w = np.load(out / "map.npy")
    assert w.shape == (D, 40 if tgt == "tgt40.vec" else D)
    # `apply` repeats the normalisation and the map: same rows as the aligned output
    code, _, err = cli("apply", out / "map.npy", spaces / "src.vec", spaces / "again.vec")
    assert code == 0, err
    again = load_embeddings(spaces / "again.vec").vectors
    assert np.allclose(again, load_embeddings(out / "src.npy").vectors, atol=1e-5)


def test_same_seed_same_bytes_and_formats(cli, spaces):
    outs = []
    for name in ("a", "b"):
        out = spaces / name
        code, _, err = cli("align", spaces / "src.vec", spaces / "tgt.vec", "--recipe", "unsupervised", "-o", out,
                           "--cutoff", "300", "--iterations", "8", "--seed", "3", "--format", "text")
        assert code == 0, err
        outs.append(out)
    for f in ("src.vec", "tgt.vec", "map.npy"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes()
    rec = json.loads((outs[0] / "record.json").read_text())
    assert rec["recipe"] == "unsupervised" and rec["seed"] == 3 and rec["timings"]["total"] >= 0


def test_recipes_and_flags_through_cli(cli, spaces):
    out = spaces / "o"
    code, stdout, err = cli("align", spaces / "src.vec", spaces / "tgt.vec", "--recipe", "identical", "-o", out,
                            "--normalize", "unit", "--space", "shared", "--whiten", "--src-reweight", "0.5",
                            "--iterations", "2", "--cutoff", "300", "--json")
    assert code == 0, err
    rec = json.loads(stdout)
    assert rec["chosen"] == "unit/shared" and rec["map"]["target_transformed"]
    assert (out / "tgt_map.npy").exists()
    assert rec["seed_dictionary"]["kind"] == "identical" and rec["seed_dictionary"]["pairs"] == 20
    code, _, err = cli("apply", out / "tgt_map.npy", spaces / "tgt.vec", spaces / "t.vec")
    assert code == 0, err
    assert np.allclose(load_embeddings(spaces / "t.vec").vectors, load_embeddings(out / "tgt.npy").vectors, atol=1e-5)


def test_align_multi_cli(cli, spaces, rng):
    # a third language: another rotation of the source
    src = load_embeddings(spaces / "src.vec")
    z = src.vectors @ random_orthogonal(D, rng)
    write_vec(spaces / "third.vec", [f"k{i}" for i in range(N)], z)
    (spaces / "a-c.tsv").write_text("\n".join(f"w{i}\tk{i}" for i in range(200)) + "\n", encoding="utf-8")
    out = spaces / "multi"
    code, stdout, err = cli("align-multi", spaces / "src.vec", spaces / "tgt.vec", spaces / "third.vec",
                            "--dict", spaces / "seed.tsv", "--dict", spaces / "a-c.tsv", "-o", out, "--json")
    assert code == 0, err
    rec = json.loads(stdout)
    assert rec["method"] == "gpa" and rec["tuples"] == 200
    t = load_embeddings(out / "tgt.npy").vectors
    c = load_embeddings(out / "third.npy").vectors
    t = t / np.linalg.norm(t, axis=1, keepdims=True)
    c = c / np.linalg.norm(c, axis=1, keepdims=True)
    assert np.mean((t[250:380] @ c[:380].T).argmax(axis=1) == np.arange(250, 380)) == 1.0
    code, _, err = cli("apply", out / "map-third.npy", spaces / "third.vec", spaces / "third-mapped.npy")
    assert code == 0, err
    assert np.allclose(load_embeddings(spaces / "third-mapped.npy").vectors, load_embeddings(out / "third.npy").vectors,
                       atol=1e-5)


# ------------------------------------------------------------------ bad input
def test_dictionary_without_any_pair_in_vocab(cli, spaces):
    (spaces / "bad.tsv").write_text("foo\tbar\nw1\tbaz\nqux\tm2\nice cream\tglace\n", encoding="utf-8")
    code, _, err = cli("align", spaces / "src.vec", spaces / "tgt.vec", "--dict", spaces / "bad.tsv", "-o",
                       spaces / "out")
    assert code == 2
    assert "bad.tsv: no pair has both words in the vocabularies: 3 pairs read, 2 with the source word out of " \
           "vocabulary, 2 with the target word out of vocabulary" in " ".join(err.split())
    assert "multi-word" in err and "Traceback" not in err
    assert not (spaces / "out").exists()  # nothing half-written


def test_bad_inputs_are_one_line_errors(cli, spaces):
    (spaces / "onecol.tsv").write_text("w1\tm1\nw2\n", encoding="utf-8")
    cases = [
        (("align", spaces / "src.vec", spaces / "tgt.vec", "--dict", spaces / "onecol.tsv", "-o", spaces / "o"),
         "onecol.tsv:2:"),
        (("align", spaces / "src.vec", spaces / "tgt.vec", "-o", spaces / "o"), "needs --dict"),
        (("align", spaces / "missing.vec", spaces / "tgt.vec", "--dict", spaces / "seed.tsv", "-o", spaces / "o"),
         "missing.vec"),
        (("align", spaces / "src.vec", spaces / "tgt.vec", "--dict", spaces / "seed.tsv", "-o", spaces / "o",
          "--normalize", "unit,sphere"), "unknown normalisation step 'sphere'"),
        (("align", spaces / "src.vec", spaces / "tgt.vec", "--dict", spaces / "seed.tsv", "-o", spaces / "o",
          "--format", "fasttext"), "cannot be written"),
        (("align-multi", spaces / "src.vec", spaces / "tgt.vec", spaces / "tgt40.vec", "--dict",
          spaces / "seed.tsv", "-o", spaces / "o"), "need 2 dictionaries"),
        (("apply", spaces / "nomap.npy", spaces / "src.vec", spaces / "x.vec"), "nomap.npy: no such file"),
    ]
    for args, msg in cases:
        code, _, err = cli(*args)
        assert code == 2, (args, err)
        assert msg in " ".join(err.split()) and "Traceback" not in err, (msg, err)
    assert not (spaces / "o").exists()


def test_apply_with_mismatched_dimensions(cli, spaces):
    np.save(spaces / "map.npy", np.eye(40, dtype=np.float32))
    code, _, err = cli("apply", spaces / "map.npy", spaces / "src.vec", spaces / "x.vec")
    assert code == 2 and "the map takes 40-d vectors but" in err and "16-d" in err
    assert not (spaces / "x.vec").exists()


def test_cuda_without_gpu_is_an_error(cli, spaces):
    from xling.lexicon.knn import cuda_available

    if cuda_available():
        pytest.skip("this machine has CUDA")
    code, _, err = cli("align", spaces / "src.vec", spaces / "tgt.vec", "--dict", spaces / "seed.tsv", "-o",
                       spaces / "o", "--device", "cuda")
    assert code == 2 and "cuda" in err


@pytest.mark.gpu
def test_align_on_cuda(cli, spaces):
    from xling.lexicon.knn import cuda_available

    if not cuda_available():
        pytest.skip("no CUDA device")
    out = spaces / "gpu"
    code, _, err = cli("align", spaces / "src.vec", spaces / "tgt40.vec", "--dict", spaces / "seed.tsv", "-o", out,
                       "--device", "cuda", "--recipe", "rcsls", "--cutoff", "300")
    assert code == 0, err
    assert _p1(out) == 1.0


def test_unsupervised_starts_through_cli(cli, spaces, tmp_path):
    code, stdout, err = cli("align", spaces / "src.vec", spaces / "tgt.vec", "--recipe", "unsupervised", "-o",
                            tmp_path / "u", "--start", "numerals", "--start", "similarity", "--cutoff", "300", "--json")
    assert code == 0, err
    rec = json.loads(stdout)
    names = [c["name"] for c in rec["candidates"]]
    assert names == ["unit/whitened/numerals", "unit/whitened/similarity"]
    assert rec["chosen"] in names and all(c["criterion"] is not None for c in rec["candidates"])
    assert rec["candidates"][0]["seed_pairs"] == 20  # the 20 shared numerals
    # no word spelled alike and only the identical start: one-line error, exit 2, nothing written
    other = tmp_path / "other.vec"
    other.write_text("2 3\nxa 1 0 0\nxb 0 1 0\n", encoding="utf-8")
    small = tmp_path / "small.vec"
    small.write_text("2 3\nya 1 0 0\nyb 0 1 0\n", encoding="utf-8")
    code, _, err = cli("align", small, other, "--recipe", "unsupervised", "--start", "identical", "-o", tmp_path / "e")
    assert code == 2 and "no dictionary-free start applies" in err and not (tmp_path / "e").exists()


# ------------------------------------------------------------------ artefacts, records, options
def test_aligned_map_save_load_apply_without_the_cli(spaces, tmp_path):
    """A library user saves, reloads and re-applies a map; the folder is the one `xling apply` reads."""
    from xling.align.artefact import AlignedMap, Side
    from xling.align.pipeline import align, make_config
    from xling.data.jsonfile import SCHEMA, read_json

    src, tgt = load_embeddings(spaces / "src.vec"), load_embeddings(spaces / "tgt40.vec")
    pairs = (np.arange(200), np.arange(200))
    res = align(src.vectors, tgt.vectors, pairs=pairs, config=make_config("procrustes", normalize="unit,center"))
    am = AlignedMap.from_result(res)
    rec = am.save(tmp_path / "m")
    assert rec["kind"] == "align" and rec["schema"] == SCHEMA and list(rec)[:2] == ["kind", "schema"]
    assert read_json(tmp_path / "m" / "record.json") == rec and rec["src_normalization"]["steps"] == ["unit", "center"]
    back = AlignedMap.load(tmp_path / "m")
    assert np.array_equal(back.map.wx, res.map.wx) and back.map.wz is None and back.map.isometric
    assert np.allclose(back.apply(src.vectors), res.src_vectors, atol=1e-5)
    assert np.allclose(back.apply(tgt.vectors, Side.tgt), res.tgt_vectors, atol=1e-5)
    # a held-back word: normalised with the training statistics, not its own
    one = back.apply(src.vectors[:1])
    assert np.allclose(one, res.src_vectors[:1], atol=1e-5)


def test_aligned_map_load_rejects_other_records(spaces, tmp_path):
    from xling.align.artefact import AlignedMap
    from xling.data.errors import InputError
    from xling.data.jsonfile import RecordKind, write_record

    (tmp_path / "x").mkdir()
    write_record(tmp_path / "x" / "record.json", {"spaces": []}, RecordKind.align_multi)
    with pytest.raises(InputError, match="align-multi record"):
        AlignedMap.load(tmp_path / "x")
    with pytest.raises(InputError, match="record.json: no such file"):
        AlignedMap.load(tmp_path / "nothing")


def test_records_carry_kind_and_schema_and_apply_takes_the_folder(cli, spaces):
    out = spaces / "k"
    code, stdout, err = cli("align", spaces / "src.vec", spaces / "tgt.vec", "--dict", spaces / "seed.tsv", "-o", out,
                            "--recipe", "procrustes", "--json")
    assert code == 0, err
    assert json.loads(stdout)["kind"] == "align" and json.loads(stdout)["schema"] == 1
    assert json.loads((out / "record.json").read_text())["kind"] == "align"
    code, _, err = cli("apply", out, spaces / "src.vec", spaces / "f.npy")
    assert code == 0, err
    assert np.array_equal(load_embeddings(spaces / "f.npy").vectors, load_embeddings(out / "src.npy").vectors)
    code, stdout, err = cli("align-multi", spaces / "src.vec", spaces / "tgt.vec", "--dict", spaces / "seed.tsv",
                            "-o", spaces / "mm", "--method", "pivot", "--json")
    assert code == 0, err
    rec = json.loads(stdout)
    assert rec["kind"] == "align-multi" and [e["map"].rsplit("/", 1)[1] for e in rec["spaces"]] == \
        ["map-src.npy", "map-tgt.npy"]
    from xling.align.artefact import MultiAlignment

    multi = MultiAlignment.load(spaces / "mm")
    assert multi.names == ["src", "tgt"]
    tgt = load_embeddings(spaces / "tgt.vec").vectors
    assert np.allclose(multi.side("tgt").apply(tgt), load_embeddings(spaces / "mm" / "tgt.npy").vectors, atol=1e-5)


def test_every_setting_has_one_cli_option_with_help_in_a_panel():
    """The CLI declares each AlignConfig setting once (CONFIG_OPTIONS), mapped by its flat name."""
    import inspect

    from xling.align.pipeline import FLAT
    from xling.cli.align import CONFIG_OPTIONS, align_cmd

    assert set(CONFIG_OPTIONS) | {"seed"} == set(FLAT)
    params = inspect.signature(align_cmd).parameters
    assert "settings" not in params
    for name, p in params.items():
        assert p.default.help, name
        assert p.default.rich_help_panel, name


def test_align_help_is_grouped_in_panels(cli):
    code, stdout, err = cli("align", "--help")
    assert code == 0, err
    panels = [line.split("─ ", 1)[1].split(" ─")[0] for line in stdout.splitlines() if line.startswith("╭─ ")]
    for p in ("Input", "Recipe", "Map", "Refinement / self-learning", "Validation and choice", "Unsupervised seed",
              "RCSLS", "Output", "Compute"):
        assert p in panels, (p, panels)
    assert panels.index("Map") < panels.index("RCSLS") < panels.index("Compute")


def test_retrieval_flags_and_the_old_csls_alias(cli, spaces):
    recs = {}
    for name, flags in {"nn": ("--csls", "0"), "k5": ("--csls", "5"), "isf": ("--retrieval", "isf", "--isf-beta", "20"),
                        "k3": ("--csls-k", "3")}.items():
        code, stdout, err = cli("align", spaces / "src.vec", spaces / "tgt.vec", "--dict", spaces / "seed.tsv",
                                "-o", spaces / name, "--recipe", "procrustes", *flags, "--json")
        assert code == 0, err
        recs[name] = json.loads(stdout)["config"]
    assert recs["nn"]["retrieval"] == "nn" and recs["k5"]["retrieval"] == "csls" and recs["k5"]["csls_k"] == 5
    assert recs["isf"]["retrieval"] == "isf" and recs["isf"]["isf_beta"] == 20 and recs["k3"]["csls_k"] == 3
    code, stdout, _ = cli("align", "--help")
    assert "--csls-k" in stdout and "--csls " not in stdout  # the old flag works, hidden


def test_records_written_before_kinds_still_load(cli, spaces):
    """A record.json without kind/schema (older xling) is still an align record for apply and AlignedMap."""
    from xling.align.artefact import AlignedMap, SideMap

    out = spaces / "old"
    code, _, err = cli("align", spaces / "src.vec", spaces / "tgt.vec", "--dict", spaces / "seed.tsv", "-o", out,
                       "--recipe", "procrustes")
    assert code == 0, err
    rec = json.loads((out / "record.json").read_text())
    (out / "record.json").write_text(json.dumps({k: v for k, v in rec.items() if k not in ("kind", "schema")}))
    src = load_embeddings(spaces / "src.vec").vectors
    mapped = load_embeddings(out / "src.npy").vectors
    assert np.allclose(AlignedMap.load(out).apply(src), mapped, atol=1e-5)
    assert np.allclose(SideMap.load(out / "map.npy").apply(src), mapped, atol=1e-5)
    assert SideMap.load(out / "map.npy", normalize=False).norm is None


def test_apply_folder_target_side_and_dimension_errors(cli, spaces):
    out = spaces / "fold"
    code, _, err = cli("align", spaces / "src.vec", spaces / "tgt40.vec", "--dict", spaces / "seed.tsv", "-o", out,
                       "--recipe", "procrustes")
    assert code == 0, err
    assert not (out / "tgt_map.npy").exists()  # the target stays in its space: only its normalisation applies
    code, _, err = cli("apply", out, spaces / "tgt40.vec", spaces / "t.npy", "--side", "tgt")
    assert code == 0, err
    assert np.allclose(load_embeddings(spaces / "t.npy").vectors, load_embeddings(out / "tgt.npy").vectors, atol=1e-5)
    # 16-d vectors into the 40-d target's normalisation, or with a --record beside a folder: one line, exit 2
    for args, msg in [(("apply", out, spaces / "src.vec", spaces / "x.npy", "--side", "tgt"), "takes 40-d vectors"),
                      (("apply", out, spaces / "src.vec", spaces / "x.npy", "--record", out / "record.json"),
                       "--record goes with a map file")]:
        code, _, err = cli(*args)
        assert code == 2 and msg in " ".join(err.split()) and "Traceback" not in err, err
        assert not (spaces / "x.npy").exists()


def test_progress_lines_name_the_candidate_and_phase(cli, spaces):
    """Progress of the default recipe's candidate search: every seed map validated by successive
    halving, then the refinement iterations of the kept half only, each line naming its candidate."""
    from xling.align.pipeline import Phase, align, make_config
    from xling.align.refine import IterationLog

    src = load_embeddings(spaces / "src.vec")
    tgt = load_embeddings(spaces / "tgt.vec")
    pairs = (np.arange(200), np.arange(200))
    seen: list[tuple[str, Phase, IterationLog]] = []
    res = align(src.vectors, tgt.vectors, pairs=pairs, config=make_config("supervised", cutoff=300),
                log=lambda name, phase, e: seen.append((name, phase, e)))
    cands = {c["name"]: c for c in res.record["candidates"] if not c["name"].endswith("/identity")}
    assert len(cands) == 4  # 2 normalisations x 2 spaces (shared = target for equal dimensions): halving applies
    assert res.record["skipped_candidates"] == ["unit,center,unit/shared", "unit/shared"]
    halving = [n for n, p, _ in seen if p is Phase.halving]
    assert halving == list(cands)  # every candidate's seed map, in order, once
    refined = [n for n, c in cands.items() if c["refined"]]
    assert 0 < len(refined) < len(cands)
    for name, c in cands.items():
        its = [e.iteration for n, p, e in seen if n == name and p is Phase.refine]
        assert its == ([e["iteration"] for e in c["iterations"]] if c["refined"] else [])
    # the CLI prints them (candidate names containing brackets or commas are not eaten as markup)
    code, _, err = cli("align", spaces / "src.vec", spaces / "tgt.vec", "--dict", spaces / "seed.tsv",
                       "-o", spaces / "out", "--cutoff", "300")
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.startswith("candidate ")]
    assert any(ln.startswith("candidate unit,center,unit/target · halving · iteration 0: dictionary ")
               for ln in lines)
    assert any(" · refine · iteration 1: " in ln for ln in lines)
    assert all(" · halving · " in ln or " · refine · " in ln for ln in lines)
