"""xling.data.corpora and `xling data bench kjv-web|fr-text`: the parsers on real-format inputs,
the held-out split, missing sources, nothing written on failure.

The Bible fixtures are verbatim lines of diatheke's ``-f internal`` (OSIS) output of Debian's
``sword-text-kjv`` (engKJV2006eb) and ``sword-text-web`` (engWEB2015eb); both Bibles are in the
public domain. The test that runs diatheke itself is skipped where it is not installed.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from xling.data.benchmarks import BUILDERS, Benchmark, MissingSource, build_benchmark
from xling.data.corpora import (
    FR_SOURCES,
    build_fr_text,
    build_kjv_web,
    common_books,
    diatheke_text,
    html_paragraphs,
    is_heldout,
    parse_osis_verses,
    pick_module,
    split_key,
    sword_bibles,
)
from xling.data.errors import InputError, XlingError

KJV = """\
Genesis 1:1: In the <w savlm="strong:H7225">beginning</w> <w savlm="strong:H0430">God</w> <w savlm="strong:H1254">created</w> the <w savlm="strong:H8064">heaven</w> <w savlm="strong:H0853">and</w> the <w savlm="strong:H0776">earth</w>.
Genesis 1:2: And the <w savlm="strong:H0776">earth</w> <w savlm="strong:H1961">was</w> without <w savlm="strong:H8414">form</w>, and <w savlm="strong:H0922">void</w>; and <w savlm="strong:H2822">darkness</w> <transChange type="added">was</transChange> upon the <w savlm="strong:H6440">face</w> of the <w savlm="strong:H8415">deep</w>. And the <w savlm="strong:H7307">Spirit</w> of <w savlm="strong:H0430">God</w> <w savlm="strong:H7363">moved</w> <w savlm="strong:H5921">upon</w> the <w savlm="strong:H6440">face</w> of the <w savlm="strong:H4325">waters</w>.  <div eID="gen3" type="x-p"/>
<title canonical="true" type="psalm">A <w savlm="strong:H4210">Psalm</w> of <w savlm="strong:H1732">David</w>, when he <w savlm="strong:H1272">fled</w> <w savlm="strong:H6440">from</w> <w savlm="strong:H0053">Absalom</w> his <w savlm="strong:H1121">son</w>.</title> <lg sID="gen2600"/> <l level="1" sID="gen2601"/> Psalms 3:1: <divineName><w savlm="strong:H3068">LORD</w></divineName>, how are they <w savlm="strong:H7231">increased</w> that <w savlm="strong:H6862">trouble</w> me! <w savlm="strong:H7227">many</w> <transChange type="added">are</transChange> they that rise <w savlm="strong:H6965">up</w> against me. <l eID="gen2601" level="1"/>
(engKJV2006eb)
"""

WEB = """\
Genesis 1:1: <w savlm="strong:H0430">In</w> <w savlm="strong:H0853">the</w> <w savlm="strong:H7225">beginning</w>, <w savlm="strong:H0430">God</w><w savlm="strong:H1254">created</w> <w savlm="strong:H0853">the</w> <w savlm="strong:H8064">heavens</w> <w savlm="strong:H0430">and</w> <w savlm="strong:H0853">the</w> <w savlm="strong:H0776">earth</w>.
Genesis 1:2: <w savlm="strong:H6440">The</w> <w savlm="strong:H0776">earth</w> <w savlm="strong:H1961">was</w> <w savlm="strong:H8414">formless</w> <w savlm="strong:H0430">and</w> <w savlm="strong:H8414">empty</w>. <w savlm="strong:H2822">Darkness</w> <w savlm="strong:H1961">was</w> <w savlm="strong:H5921">on</w> <w savlm="strong:H6440">the</w> <w savlm="strong:H6440">surface</w> <w savlm="strong:H0776">of</w> <w savlm="strong:H6440">the</w> <w savlm="strong:H8415">deep</w> <w savlm="strong:H0430">and</w> <w savlm="strong:H0430">God’s</w> <w savlm="strong:H7307">Spirit</w> <w savlm="strong:H1961">was</w> <w savlm="strong:H7363">hovering</w> <w savlm="strong:H5921">over</w> <w savlm="strong:H6440">the</w> <w savlm="strong:H6440">surface</w> <w savlm="strong:H0776">of</w> <w savlm="strong:H6440">the</w> <w savlm="strong:H4325">waters</w>. <div eID="gen25" type="x-p"/>
<title canonical="true" type="psalm">A Psalm by David, when he fled from Absalom his son.</title> <lg sID="gen7860"/> <l level="1" sID="gen7861"/>Psalms 3:1: Yahweh, how <w savlm="strong:H1732">my</w> adversaries <w savlm="strong:H1121">have</w> increased!<l eID="gen7861" level="1"/> <l level="2" sID="gen7862"/>Many <w savlm="strong:H1121">are</w> <w savlm="strong:H1121">those</w> <w savlm="strong:H1121">who</w> rise <w savlm="strong:H1121">up</w> <w savlm="strong:H6440">against</w> <w savlm="strong:H6440">me</w>. <l eID="gen7862" level="2"/>
Tobit 1:1: The book of the words of Tobit, the son of Tobiel, the son of Ananiel, the son of Aduel, the son of Gabael, of the seed of Asiel, of the tribe of Naphtali;
Revelation of John 22:21: <w savlm="strong:G3956">The</w> <w savlm="strong:G5485">grace</w> <w savlm="strong:G5485">of</w> <w savlm="strong:G3956">the</w> <w savlm="strong:G2962">Lord</w> <w savlm="strong:G2424">Jesus</w> <w savlm="strong:G2962">Christ</w> <w savlm="strong:G3956">be</w> <w savlm="strong:G3326">with</w> <w savlm="strong:G3956">all</w> <w savlm="strong:G3956">the</w> saints. Amen.  <chapter eID="Rev.22"/><div eID="gen35836" type="x-p"/> <div canonical="true" eID="gen35575" osisID="Rev" type="book"/> <div sID="gen35837" type="glossary"/> <milestone n="Glossary" type="x-usfm-h"/>  <div sID="gen35838" type="introduction"/> <div sID="gen35839" type="x-p"/> The following words used in the World English Bible (WEB) are not very common.<div eID="gen35839" type="x-p"/>
(engWEB2015eb)
"""


# ============================================================================ kjv-web
def test_osis_verses_keep_words_only():
    kjv = parse_osis_verses(KJV, "engKJV2006eb")
    assert [b for b, _ in kjv] == ["Genesis", "Genesis", "Psalms"]
    assert kjv[0][1] == "In the beginning God created the heaven and the earth"
    assert kjv[1][1].startswith("And the earth was without form and void and darkness was upon the face")
    # the psalm's title (before the reference) and the module line are not text; LORD is
    assert kjv[2][1] == "LORD how are they increased that trouble me many are they that rise up against me"
    web = parse_osis_verses(WEB, "engWEB2015eb")
    # two Strong's-tagged words that touch stay two words; ’ is written '
    assert web[0][1] == "In the beginning God created the heavens and the earth"
    assert "God's Spirit was hovering" in web[1][1]
    assert [b for b, _ in web] == ["Genesis", "Genesis", "Psalms", "Tobit", "Revelation of John"]
    # the glossary the WEB appends to the last verse is cut off
    assert web[-1][1] == "The grace of the Lord Jesus Christ be with all the saints Amen"
    assert all("engWEB" not in t for _, t in web)


def test_slices_keep_the_books_both_bibles_have():
    sl = common_books({"kjv": parse_osis_verses(KJV), "web": parse_osis_verses(WEB)})
    assert sl.books == ["Genesis", "Psalms"]
    assert sl.dropped == {"kjv": [], "web": ["Tobit", "Revelation of John"]}
    assert len(sl.verses["kjv"]) == len(sl.verses["web"]) == 3
    with pytest.raises(XlingError, match="web: no verse"):
        common_books({"kjv": parse_osis_verses(KJV), "web": parse_osis_verses("(engWEB2015eb)\n")})
    with pytest.raises(XlingError, match="share no book"):
        common_books({"kjv": parse_osis_verses(KJV), "web": parse_osis_verses(WEB.split("\n", 3)[3])[1:]})


def test_modules_are_found_by_name_whatever_the_edition():
    assert pick_module("kjv", ["engKJV2006eb", "engWEB2015eb"]) == "engKJV2006eb"
    assert pick_module("kjv", ["KJV", "WEB"]) == "KJV"
    assert pick_module("web", ["engWEB2015eb", "engWEB2020eb", "engWEBBE2015eb"]) == "engWEB2020eb"
    assert pick_module("web", ["engKJV2006eb", "KJVA"]) is None


def test_kjv_web_without_diatheke_names_the_packages_and_writes_nothing(monkeypatch, tmp_path, cli):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    out = tmp_path / "bible"
    with pytest.raises(MissingSource, match=r"apt-get install diatheke sword-text-kjv sword-text-web"):
        build_kjv_web(out)
    code, stdout, err = cli("data", "bench", "kjv-web", "-o", out)
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "`apt-get install diatheke sword-text-kjv sword-text-web`" in err
    assert not out.exists()


needs_diatheke = pytest.mark.skipif(shutil.which("diatheke") is None,
                                    reason="needs apt-get install diatheke sword-text-kjv sword-text-web")


@needs_diatheke
def test_kjv_web_without_the_modules_names_them(monkeypatch, tmp_path):
    (tmp_path / "sword" / "mods.d").mkdir(parents=True)
    monkeypatch.setenv("SWORD_PATH", str(tmp_path / "sword"))  # a sword library without any module
    monkeypatch.setenv("HOME", str(tmp_path))  # and no ~/.sword
    assert sword_bibles() == []
    with pytest.raises(MissingSource, match=r"`apt-get install sword-text-kjv sword-text-web`"):
        build_kjv_web(tmp_path / "bible")
    assert not (tmp_path / "bible").exists()


@needs_diatheke
def test_real_diatheke_output_parses():
    kjv = pick_module("kjv", sword_bibles())
    if kjv is None:
        pytest.skip("needs apt-get install sword-text-kjv")
    verses = parse_osis_verses(diatheke_text(kjv, keys="Gen 1:1-3"), kjv)
    assert [t for _, t in verses][0] == "In the beginning God created the heaven and the earth"
    assert len(verses) == 3 and verses[2][1] == "And God said Let there be light and there was light"


def test_kept_corpus_is_read_back_not_rebuilt(monkeypatch, tmp_path):
    out = tmp_path / "bible"
    out.mkdir()
    stats = {"slices": {"kjv": {"verses": 3, "tokens": 30}, "web": {"verses": 3, "tokens": 28}}, "books": 2}
    (out / "kjv.txt").write_text("a\n")
    (out / "web.txt").write_text("b\n")
    (out / "stats.json").write_text(json.dumps(stats))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no diatheke needed: nothing to build
    rep = build_kjv_web(out)
    assert rep.written == [] and rep.kept == ["kjv.txt", "web.txt", "stats.json"]
    assert rep.summary == "kjv 3 verses / 30 tokens, web 3 verses / 28 tokens (2 books)"
    (out / "stats.json").write_text("{")
    with pytest.raises(InputError, match="stats.json"):
        build_kjv_web(out)


# ============================================================================ fr-text
HANDBOOK_APT = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Chapitre 6. Maintenance et mises à jour : les outils APT</title>
<script type="text/javascript">var x = "ceci n'est pas du texte mais du code";</script></head>
<body><div class="chapter"><div class="titlepage"><h2 class="title">Maintenance et mises à jour</h2></div>
<p>Ce qui rend Debian si populaire auprès des administrateurs, c&#8217;est sa facilité
d&#8217;installation et la simplicité de la mise à jour de l&#8217;ensemble du système.</p>
<pre class="screen"><code class="computeroutput">apt install paquet avec des options nombreuses</code></pre>
<ul><li><p>Le fichier <code>sources.list</code> contient la liste des dépôts consultés par APT.</p></li>
<li>1.2.3 4.5.6 7.8.9 10.11 12.13 14.15</li></ul>
<p>Ce paragraphe revient sur chaque page du manuel pour rien du tout.</p>
</div></body></html>
"""
HANDBOOK_INDEX = """<html><head><title>Cahier de l'Admin Debian</title></head><body>
<p>Ce livre est né d&eacute;but 2004 d'une idée de Raphaël Hertzog pour les administrateurs.</p>
<p>Ce paragraphe revient sur chaque page du manuel pour rien du tout.</p></body></html>
"""
HELP_PAGE = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Barre Rechercher</title></head><body>
<h1 id="bm_id1">Barre Rechercher</h1>
<p class="paragraph">Utilisez la barre Rechercher pour trouver du texte dans le document courant.</p>
<table><tr><td><p>Saisissez le texte que vous voulez rechercher dans le document.</p></td></tr></table>
<div class="relatedtopics"><p>Ce paragraphe revient sur chaque page du manuel pour rien du tout.</p></div>
</body></html>
"""


def fr_sources(root: Path) -> dict[str, Path]:
    """Two tiny packages laid out as Debian installs them (their split keys are Debian's paths)."""
    hb, lo = root / "handbook" / "fr-FR", root / "lo-help" / "text"
    (lo / "shared").mkdir(parents=True)
    hb.mkdir(parents=True)
    (hb / "apt.html").write_text(HANDBOOK_APT, encoding="utf-8")
    (hb / "index.html").write_text(HANDBOOK_INDEX, encoding="utf-8")  # the held-out file (1 in 10)
    (lo / "shared" / "find_toolbar.html").write_text(HELP_PAGE, encoding="utf-8")
    (hb / "style.css").write_text("p { }")
    return {"debian-handbook": hb, "libreoffice-help-fr": lo}


def test_html_paragraphs_keep_prose_only():
    paras = html_paragraphs(HANDBOOK_APT)
    assert paras[0] == "Chapitre 6. Maintenance et mises à jour : les outils APT"
    assert ("Ce qui rend Debian si populaire auprès des administrateurs, c’est sa facilité d’installation "
            "et la simplicité de la mise à jour de l’ensemble du système.") in paras
    assert all("apt install" not in p and "var x" not in p for p in paras)  # code and scripts
    assert all(not p.startswith("1.2.3") for p in paras)  # not prose: mostly digits
    assert "Maintenance et mises à jour" not in paras  # fewer than 6 words
    assert "Le fichier contient la liste des dépôts consultés par APT." in paras


def test_split_is_by_the_debian_path_and_deterministic():
    # the keys are the files' paths in Debian's layout: the split of the published benchmark
    assert split_key("debian-handbook", "index.html") == FR_SOURCES["debian-handbook"] + "/index.html"
    assert is_heldout(split_key("debian-handbook", "index.html"))
    assert not is_heldout(split_key("debian-handbook", "apt.html"))
    assert not is_heldout(split_key("libreoffice-help-fr", "shared/find_toolbar.html"))
    assert is_heldout(split_key("debian-handbook", "security.html"), 2)
    assert split_key("other-package", "a/b.html") == "other-package/a/b.html"


def test_fr_text_builds_train_heldout_stats(tmp_path):
    rep = build_fr_text(tmp_path / "a", sources=fr_sources(tmp_path / "src1"))
    assert rep.written == ["train.txt", "heldout.txt", "stats.json"]
    train = (tmp_path / "a" / "train.txt").read_text(encoding="utf-8").splitlines()
    held = (tmp_path / "a" / "heldout.txt").read_text(encoding="utf-8").splitlines()
    assert held == ["Ce livre est né début 2004 d'une idée de Raphaël Hertzog pour les administrateurs."]
    assert "Utilisez la barre Rechercher pour trouver du texte dans le document courant." in train
    # a repeated paragraph is kept once, in the first file (by key) that has it: apt.html, a training file
    assert sum(p.startswith("Ce paragraphe revient") for p in train + held) == 1
    assert train.index("Ce paragraphe revient sur chaque page du manuel pour rien du tout.") < len(train)
    stats = json.loads((tmp_path / "a" / "stats.json").read_text())
    assert stats["files"] == {"train": 2, "heldout": 1} and stats["repeated_paragraphs"] == 2
    assert stats["train"]["paragraphs"] == len(train) and stats["heldout"]["words"] == 14
    assert rep.summary.startswith(f"train {len(train)} paragraphs")
    # same bytes from another copy of the sources elsewhere
    build_fr_text(tmp_path / "b", sources=fr_sources(tmp_path / "src2"))
    for f in ("train.txt", "heldout.txt", "stats.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    # a second run keeps the files
    again = build_fr_text(tmp_path / "a", sources=fr_sources(tmp_path / "src3"))
    assert again.written == [] and again.summary == rep.summary


def test_fr_text_missing_or_empty_sources_write_nothing(tmp_path):
    src = fr_sources(tmp_path / "src")
    out = tmp_path / "out"
    with pytest.raises(MissingSource, match=r"missing libreoffice-help-fr \(looked in .*nowhere\): "
                                            r"run `apt-get install libreoffice-help-fr`"):
        build_fr_text(out, sources={**src, "libreoffice-help-fr": tmp_path / "nowhere"})
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(XlingError, match="no HTML file in .*empty"):
        build_fr_text(out, sources={**src, "libreoffice-help-fr": empty})
    (empty / "x.html").write_text("<p>trop court</p>")
    with pytest.raises(XlingError, match=r"no French paragraph in the training part \(1 file\) of .*empty"):
        build_fr_text(out, sources={"libreoffice-help-fr": empty})
    (empty / "x.html").write_text("<p>Un paragraphe assez long pour compter comme de la prose.</p>")
    with pytest.raises(XlingError, match=r"no French paragraph in the held-out part \(0 files\)"):
        build_fr_text(out, sources={"libreoffice-help-fr": empty})
    (empty / "x.html").write_bytes(b"<p>caf\xe9 au lait pour tout le monde ici</p>")
    with pytest.raises(InputError, match=r"x.html: not UTF-8"):
        build_fr_text(out, sources={"libreoffice-help-fr": empty})
    assert not out.exists()
    # the output is written whole or not at all: a failure leaves an older partial folder as it was
    out.mkdir()
    (out / "train.txt").write_text("old\n")
    with pytest.raises(InputError):
        build_fr_text(out, sources={"libreoffice-help-fr": empty})
    assert sorted(p.name for p in out.iterdir()) == ["train.txt"] and (out / "train.txt").read_text() == "old\n"


def test_registered_as_benchmarks(tmp_path):
    assert BUILDERS[Benchmark("kjv-web")].function() is build_kjv_web
    assert BUILDERS[Benchmark("fr-text")].function() is build_fr_text
    rep = build_benchmark("fr-text", tmp_path / "t", sources=fr_sources(tmp_path / "src"))
    assert (tmp_path / "t" / "heldout.txt").exists() and rep.folder == str(tmp_path / "t")
    with pytest.raises(XlingError, match="kjv-web does not use freedict_dir"):
        build_benchmark("kjv-web", tmp_path / "k", freedict_dir=tmp_path)


def test_makefile_builds_the_corpora_with_xling(tmp_path):
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("needs GNU make")
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(root / "experiments"), "XLING=xling",
                          "MODEL_DIR=model", f"RESULTS={tmp_path}/r", "cade", "vocab"],
                         capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin",
                                                                          "HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert f"xling data bench kjv-web -o {tmp_path}/r/cade/text" in lines
    assert f"xling data bench fr-text -o {tmp_path}/r/vocab/text" in lines
    assert any(ln.startswith(f"xling cade train {tmp_path}/r/cade/text/kjv.txt {tmp_path}/r/cade/text/web.txt")
               for ln in lines)
    assert "cade_bible" not in res.stdout and "vocab_text" not in res.stdout


@pytest.mark.slow
@needs_diatheke
def test_real_kjv_web_build_gives_the_published_counts(tmp_path, cli):
    if None in (pick_module("kjv", sword_bibles()), pick_module("web", sword_bibles())):
        pytest.skip("needs apt-get install sword-text-kjv sword-text-web")
    code, stdout, err = cli("data", "bench", "kjv-web", "-o", tmp_path / "b", "--json")
    assert code == 0, err
    st = json.loads(stdout)["slices"]
    assert (st["kjv"]["verses"], st["kjv"]["tokens"]) == (31_102, 790_605)
    assert (st["web"]["verses"], st["web"]["tokens"]) == (31_095, 749_906)
    assert len(st["web"]["left_out_books"]) == 14 and st["kjv"]["left_out_books"] == []
    first = (tmp_path / "b" / "kjv.txt").read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == "In the beginning God created the heaven and the earth"


@pytest.mark.slow
@pytest.mark.skipif(not all(Path(d).is_dir() for d in FR_SOURCES.values()),
                    reason="needs apt-get install debian-handbook libreoffice-help-fr")
def test_real_fr_text_build_gives_the_published_counts(tmp_path, cli):
    code, stdout, err = cli("data", "bench", "fr-text", "-o", tmp_path / "t")
    assert code == 0, err
    assert stdout.startswith("fr-text: train 26,677 paragraphs / 628,389 words, "
                             "held-out 2,924 paragraphs / 57,713 words")
    stats = json.loads((tmp_path / "t" / "stats.json").read_text())
    assert stats["files_per_package"] == {"debian-handbook": 127, "libreoffice-help-fr": 2560}


def test_cli_fr_text_folders_from_options_or_environment(cli, tmp_path, monkeypatch):
    """--debian-handbook-dir / --libreoffice-help-dir, or XLING_DEBIAN_HANDBOOK_DIR / XLING_LIBREOFFICE_HELP_DIR:
    the same files as the builder given the folders."""
    src = fr_sources(tmp_path / "src")
    build_fr_text(tmp_path / "ref", sources=src)
    code, _, err = cli("data", "bench", "fr-text", "-o", tmp_path / "opt", "--debian-handbook-dir",
                       src["debian-handbook"], "--libreoffice-help-dir", src["libreoffice-help-fr"])
    assert code == 0, err
    monkeypatch.setenv("XLING_DEBIAN_HANDBOOK_DIR", str(src["debian-handbook"]))
    monkeypatch.setenv("XLING_LIBREOFFICE_HELP_DIR", str(src["libreoffice-help-fr"]))
    monkeypatch.setenv("XLING_CLDR_DIR", str(tmp_path / "cldr"))  # another builder's folder: not used, no error
    code, _, err = cli("data", "bench", "fr-text", "-o", tmp_path / "env")
    assert code == 0, err
    for out in ("opt", "env"):
        for f in ("train.txt", "heldout.txt"):
            assert (tmp_path / out / f).read_bytes() == (tmp_path / "ref" / f).read_bytes()
    monkeypatch.setenv("XLING_LIBREOFFICE_HELP_DIR", str(tmp_path / "nowhere"))
    code, _, err = cli("data", "bench", "fr-text", "-o", tmp_path / "none")
    assert code == 2 and "apt-get install libreoffice-help-fr" in err and str(tmp_path / "nowhere") in err
    code, _, err = cli("data", "bench", "fr-text", "-o", tmp_path / "none", "--cldr-dir", tmp_path)
    assert code == 2 and "--cldr-dir does not apply to fr-text" in err  # given on the command line: refused
    assert not (tmp_path / "none").exists()
