"""`xling data ...` through the real Typer app, bad input included; the build pipeline (xling.data.build)
through the library."""
from __future__ import annotations

import json

import pytest

from data_fixtures import (
    EN_CLDR,
    PO_TEXT,
    REGION,
    SHEET,
    SI_CLDR,
    SI_MESSAGES,
    SRI,
    ZWJ,
    b64,
    cldr_xml,
    mo_bytes,
    write_dictd,
)


@pytest.fixture
def si_sources(tmp_path):
    (tmp_path / "en.xml").write_text(cldr_xml("en", EN_CLDR), encoding="utf-8")
    (tmp_path / "si.xml").write_text(cldr_xml("si", SI_CLDR), encoding="utf-8")
    lo = tmp_path / "lo" / "si" / "LC_MESSAGES"
    lo.mkdir(parents=True)
    (lo / "sc.mo").write_bytes(mo_bytes(SI_MESSAGES))
    (tmp_path / "iso_3166-1.mo").write_bytes(mo_bytes({"": "Content-Type: text/plain; charset=UTF-8\n",
                                                       "Sri Lanka": SRI + " ලංකාව", "India": "ඉන්දියාව",
                                                       "Ghana": "ඝානාව"}, byteorder=">"))
    return tmp_path


def _vec(path, words, dim=3):
    lines = [f"{len(words)} {dim}"] + [w + "".join(f" {0.1 * (i + k + 1):.3f}" for k in range(dim))
                                       for i, w in enumerate(words)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_build_en_si(cli, si_sources):
    t = si_sources
    out = t / "en-si.tsv"
    code, stdout, err = cli("data", "build", "--cldr-src", t / "en.xml", "--cldr-tgt", t / "si.xml",
                            "--gettext", f"libreoffice={t / 'lo' / 'si' / 'LC_MESSAGES'}",
                            "--gettext", f"iso-codes={t / 'iso_3166-1.mo'}",
                            "--src-lang", "en", "--tgt-lang", "si", "--lower", "-o", out, "--json")
    assert code == 0, err
    rec = json.loads(stdout)
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    pairs = {(r[0], r[1]) for r in rows}
    assert ("region", REGION) in pairs and ("sheet", SHEET) in pairs and ("india", "ඉන්දියාව") in pairs
    assert ("cat", "පූසා") in pairs
    assert ("basic", "BASIC") not in pairs and ("BASIC", "BASIC") not in pairs  # Latin on the Sinhala side
    assert rec["clean"]["steps"]["dropped: target not sinhala script"] == 1
    assert {r[2] for r in rows} == {"cldr", "gettext:libreoffice", "gettext:iso-codes"}
    assert out.read_bytes().count(ZWJ.encode()) == 2  # REGION and SHEET, byte for byte
    assert rec["pairs"] == len(rows) == rec["stats"]["pairs"]


def test_library_build_is_the_cli_build(cli, si_sources):
    # the same sources through xling.data.build and through `xling data build`: the same pairs, counts
    from xling.data.anchors import write_anchors
    from xling.data.build import Sources, build, clean_options, labelled_paths

    t = si_sources
    gettext = [f"libreoffice={t / 'lo' / 'si' / 'LC_MESSAGES'}", str(t / "iso_3166-1.mo")]
    assert labelled_paths(gettext) == {"libreoffice": [str(t / "lo" / "si" / "LC_MESSAGES")],
                                       "iso_3166-1": [str(t / "iso_3166-1.mo")]}
    vocab = {w: i for i, w in enumerate(["region", "sheet", "india", "cat", "ghana"])}
    opts = clean_options(src_lang="en", tgt_lang="si", lower=True)
    assert opts.src_script == "latin" and opts.tgt_script == "sinhala" and opts.lower
    res = build(Sources(cldr=(str(t / "en.xml"), str(t / "si.xml")), gettext=labelled_paths(gettext)), opts,
                src_vocab=vocab)
    pairs = set(res.dictionary)
    assert ("region", REGION) in pairs and ("india", "ඉන්දියාව") in pairs
    assert {s for s, _ in res.dictionary} <= set(vocab)
    assert res.coverage.src_oov_pairs > 0 and res.as_dict()["pairs"] == len(res.dictionary) == res.stats["pairs"]
    lib = t / "lib.tsv"
    write_anchors(res.dictionary, lib)
    v = _vec(t / "v.vec", list(vocab))
    code, stdout, err = cli("data", "build", "--cldr-src", t / "en.xml", "--cldr-tgt", t / "si.xml",
                            *[x for g in gettext for x in ("--gettext", g)], "--src", v, "--src-lang", "en",
                            "--tgt-lang", "si", "--lower", "-o", t / "cli.tsv", "--json")
    assert code == 0, err
    assert (t / "cli.tsv").read_bytes() == lib.read_bytes()
    rec = json.loads(stdout)
    assert {k: rec[k] for k in ("pairs", "sources", "clean", "stats")} == \
        {k: v for k, v in json.loads(json.dumps(res.as_dict())).items() if k != "coverage"}


def test_library_build_errors(tmp_path):
    from xling.data.build import Sources, clean_options
    from xling.data.errors import XlingError

    with pytest.raises(XlingError, match="no source given"):
        Sources()
    with pytest.raises(XlingError, match="--gettext-src needs --gettext"):
        Sources(gettext_src=["x.mo"], tsv=["d.tsv"])
    with pytest.raises(XlingError, match="unknown script 'klingon'"):
        clean_options(tgt_script="klingon")
    assert clean_options(src_script="any", tgt_lang="si").tgt_script == "sinhala"


def test_reader_commands_then_clean_stats(cli, si_sources, tmp_path):
    t = si_sources
    code, _, err = cli("data", "cldr", t / "en.xml", t / "si.xml", "-o", t / "cldr.tsv")
    assert code == 0, err
    code, _, err = cli("data", "gettext", t / "lo", "--origin", "gettext:lo", "-o", t / "lo.tsv", "--word-pairs")
    assert code == 0, err
    code, stdout, err = cli("data", "gettext", t / "iso_3166-1.mo")  # stdout
    assert code == 0 and "India\tඉන්දියාව\tgettext" in stdout
    code, stdout, err = cli("data", "clean", t / "cldr.tsv", t / "lo.tsv", "--src-lang", "en", "--tgt-script",
                            "sinhala", "-o", t / "all.tsv", "--json")
    assert code == 0, err
    rec = json.loads(stdout)
    assert rec["stats"]["origins"] == {"gettext:lo": rec["pairs"] - 4, "cldr": 4}
    assert ("Sri", SRI) in {tuple(x.split("\t")[:2]) for x in (t / "all.tsv").read_text("utf-8").splitlines()}
    code, stdout, err = cli("data", "stats", t / "all.tsv", "--json")
    assert code == 0, err
    st = json.loads(stdout)
    assert st["pairs"] == rec["pairs"] and st["tgt_scripts"] == {"sinhala": st["tgt_words"]}
    code, stdout, err = cli("data", "stats", t / "all.tsv")
    assert code == 0 and "translations" in stdout


def test_dictd_restrict_split_stats(cli, tmp_path):
    write_dictd(tmp_path / "eng-fra")
    code, stdout, err = cli("data", "dictd", tmp_path / "eng-fra", "-o", tmp_path / "raw.tsv", "--json")
    assert code == 0, err
    assert json.loads(stdout)["sources"][0]["skipped"]["see/synonym line"] == 2
    code, stdout, err = cli("data", "clean", tmp_path / "raw.tsv", "-o", tmp_path / "c.tsv", "--json")
    steps = json.loads(stdout)["clean"]["steps"]
    assert code == 0 and steps["dropped: multi-word"] == 1  # "a lot", skipped while reading, still counted
    src = _vec(tmp_path / "en.vec", ["cat", "dog", "abandon", "compare"])
    tgt = _vec(tmp_path / "fr.vec", ["chat", "chien", "abandonner", "renoncer", "matou"])
    code, stdout, err = cli("data", "restrict", tmp_path / "raw.tsv", "--src", src, "--tgt", tgt, "-o",
                            tmp_path / "r.tsv", "--json")
    assert code == 0, err
    cov = json.loads(stdout)
    assert cov["pairs_kept"] == 5 and cov["src_words_kept"] == 3 and cov["src_words_in"] == 5
    code, stdout, err = cli("data", "split", tmp_path / "r.tsv", "--src", src, "--train-size", "2", "--test-size", "1",
                            "--train", tmp_path / "train.tsv", "--test", tmp_path / "test.tsv", "--json")
    assert code == 0, err
    train = {x.split("\t")[0] for x in (tmp_path / "train.tsv").read_text("utf-8").splitlines()}
    test = {x.split("\t")[0] for x in (tmp_path / "test.tsv").read_text("utf-8").splitlines()}
    assert train == {"cat", "dog"} and test == {"abandon"}
    code, stdout, err = cli("data", "stats", tmp_path / "raw.tsv", "--src", src, "--tgt", tgt, "--json")
    assert code == 0 and json.loads(stdout)["coverage"]["pairs_kept"] == 5


def test_identical_command(cli, tmp_path):
    src = _vec(tmp_path / "a.vec", ["the", "paris", "2019", "berlin"])
    tgt = _vec(tmp_path / "b.vec", ["le", "berlin", "2019", "paris"])
    code, stdout, err = cli("data", "identical", src, tgt, "--mode", "numerals")
    assert code == 0, err
    assert stdout == "2019\t2019\tnumerals\n"
    code, stdout, err = cli("data", "identical", src, _vec(tmp_path / "c.vec", ["x", "y"]), "-o", tmp_path / "e.tsv")
    assert code == 0 and "no pair found" in err and (tmp_path / "e.tsv").read_text() == ""


def test_split_random_same_seed_same_bytes(cli, tmp_path):
    (tmp_path / "d.tsv").write_text("".join(f"w{i}\tt{i}\nw{i}\tu{i}\n" for i in range(30)), encoding="utf-8")
    outs = []
    for run in range(2):
        a, b = tmp_path / f"tr{run}.tsv", tmp_path / f"te{run}.tsv"
        code, _, err = cli("data", "split", tmp_path / "d.tsv", "--by", "random", "--test-fraction", "0.3",
                           "--seed", "7", "--train", a, "--test", b)
        assert code == 0, err
        outs.append((a.read_bytes(), b.read_bytes()))
    assert outs[0] == outs[1]
    test_words = {x.split("\t")[0] for x in outs[0][1].decode().splitlines()}
    train_words = {x.split("\t")[0] for x in outs[0][0].decode().splitlines()}
    assert len(test_words) == 9 and not test_words & train_words


# ----------------------------------------------------------------------------- bad input
def _one_line_error(code, err, *needles):
    assert code == 2
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], lines[0]


def test_bad_tsv_one_column(cli, tmp_path):
    p = tmp_path / "bad.tsv"
    p.write_text("cat\tchat\nlonely\n", encoding="utf-8")
    out = tmp_path / "out.tsv"
    for args in (("stats", p), ("clean", p, "-o", out), ("build", "--tsv", p, "-o", out)):
        code, _, err = cli("data", *args)
        _one_line_error(code, err, f"{p}:2:")
    assert not out.exists()


def test_bad_mo_magic(cli, tmp_path):
    p = tmp_path / "bad.mo"
    p.write_bytes(b"\x00\x01\x02\x03" + b"\x00" * 40)
    code, _, err = cli("data", "gettext", p, "-o", tmp_path / "o.tsv")
    _one_line_error(code, err, str(p), "bad magic")
    assert not (tmp_path / "o.tsv").exists()


def test_bad_po_line(cli, tmp_path):
    p = tmp_path / "x.po"
    p.write_text(PO_TEXT + "garbage line\n", encoding="utf-8")
    code, _, err = cli("data", "gettext", p)
    _one_line_error(code, err, f"{p}:{PO_TEXT.count(chr(10)) + 1}:")


def test_bad_xml(cli, tmp_path, si_sources):
    p = tmp_path / "broken.xml"
    p.write_text("<ldml>\n<annotations>\n<annotation cp='x'>a\n</ldml>\n", encoding="utf-8")
    code, _, err = cli("data", "cldr", si_sources / "en.xml", p)
    _one_line_error(code, err, f"{p}:4:", "malformed XML")


def test_bad_dictd(cli, tmp_path):
    idx = write_dictd(tmp_path / "d")
    dz = tmp_path / "d.dict.dz"
    good = dz.read_bytes()
    dz.write_bytes(good[:-12])
    code, _, err = cli("data", "dictd", tmp_path / "d")
    _one_line_error(code, err, str(dz), "truncated")
    dz.write_bytes(good)
    with open(idx, "a", encoding="utf-8") as f:
        f.write(f"zzz\t{b64(99999)}\t{b64(10)}\n")
    n = len(idx.read_text(encoding="utf-8").splitlines())
    code, _, err = cli("data", "dictd", idx)
    _one_line_error(code, err, f"{idx}:{n}:", "past the end")
    code, _, err = cli("data", "dictd", tmp_path / "missing")
    _one_line_error(code, err, "missing.index")


def test_bad_options(cli, tmp_path):
    (tmp_path / "d.tsv").write_text("a\tb\n", encoding="utf-8")
    code, _, err = cli("data", "clean", tmp_path / "d.tsv", "--json")
    _one_line_error(code, err, "--json")
    code, _, err = cli("data", "clean", tmp_path / "d.tsv", "--tgt-lang", "qq")
    _one_line_error(code, err, "qq")
    code, _, err = cli("data", "clean", tmp_path / "d.tsv", "--tgt-script", "klingon")
    _one_line_error(code, err, "klingon")
    code, _, err = cli("data", "split", tmp_path / "d.tsv", "--train", tmp_path / "a", "--test", tmp_path / "b")
    _one_line_error(code, err, "--src")
    code, _, err = cli("data", "build", "-o", tmp_path / "x.tsv")
    _one_line_error(code, err, "no source")
    code, _, err = cli("data", "restrict", tmp_path / "d.tsv", "--src", _vec(tmp_path / "v.vec", ["x"]),
                       "-o", tmp_path / "r.tsv")
    _one_line_error(code, err, "no pair")


def test_build_two_catalogs_identical_and_stdin_stats(cli, tmp_path):
    (tmp_path / "fr").mkdir()
    (tmp_path / "si").mkdir()
    (tmp_path / "fr" / "sc.mo").write_bytes(mo_bytes({"Region": "Région", "STR_SHEET\x04~Sheet": "~Feuille",
                                                      "Sum": "Somme"}))
    (tmp_path / "si" / "sc.mo").write_bytes(mo_bytes(SI_MESSAGES))
    src = _vec(tmp_path / "fr.vec", ["région", "feuille", "2019", "somme"])
    tgt = _vec(tmp_path / "si.vec", [REGION, "2019", SHEET])
    out = tmp_path / "fr-si.tsv"
    code, stdout, err = cli("data", "build", "--gettext", f"lo={tmp_path / 'si'}", "--gettext-src", tmp_path / "fr",
                            "--identical", "--src", src, "--tgt", tgt, "--src-lang", "fr", "--tgt-lang", "si",
                            "--lower", "-o", out, "--json")
    assert code == 0, err
    rec = json.loads(stdout)
    rows = {tuple(x.split("\t")) for x in out.read_text("utf-8").splitlines()}
    assert rows == {("région", REGION, "gettext:lo"), ("feuille", SHEET, "gettext:lo"), ("2019", "2019", "identical")}
    assert rec["coverage"]["src_oov_pairs"] == 0 and rec["coverage"]["tgt_oov_pairs"] == 1  # somme → එකතුව
    code, stdout, err = cli("data", "stats", "-", "--json", input=out.read_text("utf-8"))
    assert code == 0, err
    assert json.loads(stdout)["origins"] == {"gettext:lo": 2, "identical": 1}
    code, _, err = cli("data", "stats", "-", input="a\tb\nlonely\n")
    _one_line_error(code, err, "-:2:")
