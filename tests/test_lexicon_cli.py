"""`xling lexicon induce` / `xling lexicon eval` through the real Typer app."""
from __future__ import annotations

import json

import numpy as np
import pytest

from xling.data.dictionary import read_dictionary
from xling.data.embeddings import Embeddings
from xling.data.vectors import save_embeddings


@pytest.fixture
def spaces(tmp_path, rotated_pair):
    """Mapped source / target .vec files (word i translates to word i) and a test dictionary."""
    src, tgt, q = rotated_pair
    s, t = tmp_path / "src.vec", tmp_path / "tgt.vec"
    save_embeddings(src.map(q), str(s))
    save_embeddings(tgt, str(t))
    d = tmp_path / "test.tsv"
    lines = [f"s{i}\tt{i}" for i in range(0, 600, 5)] + ["s1\tt2", "zzz\tt3", "s2\tqqq"]
    d.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return s, t, d


def test_eval_json_record(cli, spaces):
    s, t, d = spaces
    code, out, err = cli("lexicon", "eval", s, t, "--dict", d, "--json", "--bands", "100,300")
    assert code == 0, err
    rec = json.loads(out)
    # 121 source words: s0..s595 step 5 (s1 also, with a wrong gold), zzz (oov), s2 (tgt oov)
    assert rec["coverage"] == {"src_words": 123, "covered": 121, "oov": 2, "coverage": pytest.approx(121 / 123, 1e-5)}
    assert rec["signature"].startswith("retrieval=csls,k=10|oov=wrong|cov=0.98|xling=")
    assert rec["queries"] == 123
    assert rec["p@1"] == pytest.approx(120 / 123)
    assert [b["band"] for b in rec["bands"]] == ["0-100", "100-300", "300+", "oov"]
    assert rec["hubness"]["k"] == 10 and rec["engine"].endswith("/cpu")


def test_eval_oov_skip_and_all(cli, spaces):
    s, t, d = spaces
    code, out, err = cli("lexicon", "eval", s, t, "--dict", d, "--json", "--oov", "skip", "--retrieval", "all",
                         "--isf-beta", "20", "--csls-k", "5")
    assert code == 0, err
    recs = json.loads(out)["results"]
    assert [r["retrieval"] for r in recs] == ["nn", "csls", "isf"]
    assert recs[1]["signature"].startswith("retrieval=csls,k=5|oov=skip|cov=0.98|")
    assert recs[2]["signature"].startswith("retrieval=isf,beta=20|oov=skip|")
    for r in recs:
        assert r["queries"] == 121 and r["p@1"] == pytest.approx(120 / 121)


def test_eval_table_for_people(cli, spaces):
    s, t, d = spaces
    code, out, err = cli("lexicon", "eval", s, t, "--dict", d, "--retrieval", "nn", "--max-vocab", "300")
    assert code == 0, err
    assert "P@1" in out and "MRR" in out and "hubness" in out
    assert "signature: retrieval=nn|oov=wrong|cov=0.49|" in out  # --max-vocab 300 leaves 61 of 123
    assert "coverage 61/123" in out


def test_eval_bad_input(cli, spaces, tmp_path):
    s, t, d = spaces
    empty = tmp_path / "empty.tsv"
    empty.write_text("", encoding="utf-8")
    code, out, err = cli("lexicon", "eval", s, t, "--dict", empty)
    assert code == 2 and "empty dictionary" in err and len(err.strip().splitlines()) == 1 and out == ""
    oov = tmp_path / "oov.tsv"
    oov.write_text("aaa\tbbb\nccc\tt1\n", encoding="utf-8")
    code, _, err = cli("lexicon", "eval", s, t, "--dict", oov)
    assert code == 2 and f"{oov}: no pair has both words in the vocabularies: 2 pairs read" in err
    other = tmp_path / "other.vec"
    save_embeddings(Embeddings(["t1", "t2"], np.eye(2, 5, dtype=np.float32)), str(other))
    code, _, err = cli("lexicon", "eval", s, other, "--dict", d)
    assert code == 2 and "not aligned" in err and "24-d" in err and "5-d" in err
    one_col = tmp_path / "one.tsv"
    one_col.write_text("s1\tt1\nlonely\n", encoding="utf-8")
    code, _, err = cli("lexicon", "eval", s, t, "--dict", one_col)
    assert code == 2 and f"{one_col}:2:" in err
    code, _, err = cli("lexicon", "eval", s, t, "--dict", d, "--bands", "10,x")
    assert code == 2 and "--bands" in err
    code, _, err = cli("lexicon", "eval", s, t, "--dict", d, "--bands", "50,10")
    assert code == 2 and "increasing" in err
    code, _, err = cli("lexicon", "eval", s, t, "--dict", tmp_path / "missing.tsv")
    assert code == 2 and "missing.tsv" in err


def test_induce_round_trip(cli, spaces, tmp_path):
    s, t, _ = spaces
    out_path = tmp_path / "induced.tsv"
    code, out, err = cli("lexicon", "induce", s, t, "--top", "50", "-k", "3", "--retrieval", "csls", "-o", out_path)
    assert code == 0, err
    assert out == ""
    d, rep = read_dictionary(out_path)
    assert rep.pairs == 150 and len(d) == 150
    rows = [line.split("\t") for line in out_path.read_text(encoding="utf-8").splitlines()]
    assert all(len(r) == 4 for r in rows)
    assert [r[3] for r in rows[:3]] == ["1", "2", "3"]
    assert [(r[0], r[1]) for r in rows if r[3] == "1"] == [(f"s{i}", f"t{i}") for i in range(50)]
    assert all(float(a[2]) >= float(b[2]) for a, b in zip(rows[::3], rows[1::3], strict=False))
    # the induced dictionary evaluates perfectly against the same spaces
    code, out, err = cli("lexicon", "eval", s, t, "--dict", out_path, "--json", "--retrieval", "nn")
    assert code == 0, err
    assert json.loads(out)["p@10"] == 1.0


def test_induce_stdout_words_filters(cli, spaces, tmp_path):
    s, t, _ = spaces
    words = tmp_path / "words.txt"
    words.write_text("s3\ns7\nnot-a-word\ns3\n", encoding="utf-8")
    code, out, err = cli("lexicon", "induce", s, t, "--words", words, "--retrieval", "nn", "-k", "2")
    assert code == 0, err
    lines = out.strip().split("\n")
    assert [tuple(x.split("\t")[:2]) for x in lines][::2] == [("s3", "t3"), ("s7", "t7")]
    assert "1 of the words to translate" in err and "not-a-word" in err
    # isf scores the right translation ~0 and the runner-up far below: the minimum score and the
    # mutual filter each keep only the right ones
    code, out, err = cli("lexicon", "induce", s, t, "--words", words, "--retrieval", "isf", "-k", "2",
                         "--min-score", "-0.5", "--mutual")
    assert code == 0, err
    assert [tuple(x.split("\t")[:2]) for x in out.strip().split("\n")] == [("s3", "t3"), ("s7", "t7")]
    # the old spelling --threshold still works (hidden, with a warning), never together with the new one
    code, old, err = cli("lexicon", "induce", s, t, "--words", words, "--retrieval", "isf", "-k", "2",
                         "--threshold", "-0.5", "--mutual")
    assert code == 0 and old == out and "--threshold is deprecated" in err
    code, _, err = cli("lexicon", "induce", s, t, "--threshold", "0", "--min-score", "0")
    assert code == 2 and "give --min-score only" in err
    code, helptext, _ = cli("lexicon", "induce", "--help")
    assert "--min-score" in helptext and "--threshold" not in helptext
    code, out, _ = cli("lexicon", "induce", s, t, "--words", "-", "--retrieval", "nn", input="s9\n")
    assert out.split("\t")[:2] == ["s9", "t9"]


def test_induce_bad_input(cli, spaces, tmp_path):
    s, t, _ = spaces
    code, _, err = cli("lexicon", "induce", s, t, "--words", "x", "--top", "3")
    assert code == 2 and "not both" in err
    nothing = tmp_path / "nothing.txt"
    nothing.write_text("zz1\nzz2\n", encoding="utf-8")
    code, out, err = cli("lexicon", "induce", s, t, "--words", nothing)
    assert code == 2 and "none of the 2 words" in err and out == ""
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n", encoding="utf-8")
    code, _, err = cli("lexicon", "induce", s, t, "--words", blank)
    assert code == 2 and "no word to translate" in err
    out_path = tmp_path / "never.tsv"
    other = tmp_path / "other.vec"
    save_embeddings(Embeddings(["t1", "t2"], np.eye(2, 5, dtype=np.float32)), str(other))
    code, _, err = cli("lexicon", "induce", s, other, "-o", out_path)
    assert code == 2 and "not aligned" in err and not out_path.exists()
    code, _, err = cli("lexicon", "induce", s, t, "--device", "cuda", "--backend", "numpy")
    assert code == 2 and "error" in err
