"""Bilingual dictionary files: formats, skips, errors, coverage."""
from __future__ import annotations

import numpy as np
import pytest

from xling.data.dictionary import BilingualDictionary, read_dictionary, require_pairs, write_dictionary
from xling.data.embeddings import Embeddings
from xling.data.errors import InputError


def test_tab_and_space_separated_with_multiword_and_duplicates(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_text("cat\tchat\ncat\tchatte\ndog chien\nice cream\tglace\nnew york new\nx\u00a0y\tz\n"
                 "cat\tchat\n\nbig\tgrand\t0.75\n", encoding="utf-8")
    d, rep = read_dictionary(p)
    assert d.pairs == (("cat", "chat"), ("cat", "chatte"), ("dog", "chien"), ("x\u00a0y", "z"), ("big", "grand"))
    assert rep.multiword == 2 and rep.duplicates == 1 and rep.blank == 1 and rep.lines == 9
    assert d.translations()["cat"] == ["chat", "chatte"]
    assert d.src_words == ["cat", "dog", "x\u00a0y", "big"]
    assert d.scores[-1] == 0.75 and np.isnan(d.scores[0])


def test_one_column_line_is_an_error_with_line(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_text("cat\tchat\nlonely\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"d\.tsv:2: expected"):
        read_dictionary(p)


def test_empty_and_missing(tmp_path):
    (tmp_path / "e.tsv").write_text("")
    with pytest.raises(InputError, match="empty dictionary"):
        read_dictionary(tmp_path / "e.tsv")
    with pytest.raises(InputError, match="no such file"):
        read_dictionary(tmp_path / "nope.tsv")


def test_restrict_reports_oov_and_require_pairs():
    d = BilingualDictionary.from_pairs([("a", "x"), ("b", "y"), ("c", "zz"), ("qq", "x")])
    sub, cov = d.restrict({"a", "b", "c"}, {"x", "y"})
    assert sub.pairs == (("a", "x"), ("b", "y"))
    assert (cov.src_oov_pairs, cov.tgt_oov_pairs, cov.src_words_in, cov.src_words_kept) == (1, 1, 4, 2)
    assert cov.coverage == 0.5
    none, cov0 = d.restrict(set(), set())
    with pytest.raises(InputError, match="4 pairs read, 4 with the source word out of vocabulary"):
        require_pairs(none, cov0, "d.tsv")


def test_index_pairs_and_write_round_trip(tmp_path):
    src = Embeddings(["a", "b"], np.eye(2))
    tgt = Embeddings(["x", "y"], np.eye(2))
    d = BilingualDictionary.from_pairs([("b", "x"), ("a", "y")], scores=[0.5, 0.25])
    s, t = d.index_pairs(src, tgt)
    assert s.tolist() == [1, 0] and t.tolist() == [0, 1]
    write_dictionary(d, tmp_path / "o.tsv", extra_columns=[[1, 2]])
    assert (tmp_path / "o.tsv").read_text() == "b\tx\t0.500000\t1\na\ty\t0.250000\t2\n"
    back, _ = read_dictionary(tmp_path / "o.tsv")
    assert back.pairs == d.pairs and back.scores == (0.5, 0.25)


def test_comment_lines_are_skipped(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_bytes("\ufeff#source\ttarget\ncat\tchat\n# a note\ndog\tchien\n".encode("utf-8"))
    d, rep = read_dictionary(p)
    assert d.pairs == (("cat", "chat"), ("dog", "chien")) and rep.comments == 2 and rep.as_dict()["comments"] == 2


def test_non_utf8_dictionary_is_an_error_with_a_count(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_bytes("cat\tchat\ncafé\tcafé\nnaïve\tnaïf\nsea\tmer\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"d\.tsv:2: not valid utf-8: 2 of 4 lines have bytes that do not decode"):
        read_dictionary(p)
    d, _ = read_dictionary(p, encoding="latin-1")  # read right when the encoding is given
    assert d.pairs[1] == ("café", "café")


# ----------------------------------------------------------------------------- MUSE format (issue 16.6)
def _muse_read(path):
    """MUSE's own reading of a dictionary line: ``word1, word2 = line.split()``."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word1, word2 = line.rstrip().split()
        out.append((word1, word2))
    return out


def test_write_muse_format_two_columns_and_multiword_refused(tmp_path):
    from xling.data.dictionary import DictFormat
    from xling.data.errors import XlingError

    d = BilingualDictionary([("cat", "chat"), ("dog", "chien")], scores=np.array([0.5, 0.25]))
    write_dictionary(d, tmp_path / "m.txt", extra_columns=[[1, 2]], format=DictFormat.muse)
    assert (tmp_path / "m.txt").read_text(encoding="utf-8") == "cat chat\ndog chien\n"
    assert _muse_read(tmp_path / "m.txt") == [("cat", "chat"), ("dog", "chien")]
    back, _ = read_dictionary(tmp_path / "m.txt")
    assert list(back.pairs) == list(d.pairs)
    for bad in [("ice cream", "glace"), ("a\u00a0b", "c"), ("x", "")]:
        with pytest.raises(XlingError, match="MUSE format"):
            write_dictionary(BilingualDictionary([("cat", "chat"), bad]), tmp_path / "bad.txt", format="muse")
        assert not (tmp_path / "bad.txt").exists()


def test_every_dictionary_writer_has_format_muse(cli, tmp_path):
    from xling.data.vectors import save_embeddings

    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(40)] + ["12", "paris"]
    x = rng.standard_normal((len(words), 8)).astype(np.float32)
    save_embeddings(Embeddings(words, x), str(tmp_path / "s.vec"))
    save_embeddings(Embeddings([w.upper() if w.startswith("w") else w for w in words], x), str(tmp_path / "t.vec"))
    (tmp_path / "d.tsv").write_text("".join(f"w{i}\tW{i}\torigin\n" for i in range(40)), encoding="utf-8")
    runs = {
        "induce.txt": ("lexicon", "induce", tmp_path / "s.vec", tmp_path / "t.vec", "--top", "10", "-k", "2",
                       "--retrieval", "nn", "-o", tmp_path / "induce.txt"),
        "identical.txt": ("data", "identical", tmp_path / "s.vec", tmp_path / "t.vec", "-o",
                          tmp_path / "identical.txt"),
        "restrict.txt": ("data", "restrict", tmp_path / "d.tsv", "--src", tmp_path / "s.vec", "-o",
                         tmp_path / "restrict.txt"),
        "train.txt": ("data", "split", tmp_path / "d.tsv", "--by", "random", "--test-fraction", "0.25",
                      "--train", tmp_path / "train.txt", "--test", tmp_path / "test.txt"),
    }
    for name, args in runs.items():
        code, _, err = cli(*args, "--format", "muse")
        assert code == 0, (name, err)
        pairs = _muse_read(tmp_path / name)
        assert pairs and all(len(p) == 2 for p in pairs)
        assert "\t" not in (tmp_path / name).read_text(encoding="utf-8")
    assert _muse_read(tmp_path / "induce.txt")[:2] == [("w0", "W0"), ("w0", _muse_read(tmp_path / "induce.txt")[1][1])]
    assert set(_muse_read(tmp_path / "identical.txt")) == {("12", "12"), ("paris", "paris")}
    assert len(_muse_read(tmp_path / "train.txt")) + len(_muse_read(tmp_path / "test.txt")) == 40
    # the default stays xling's tab-separated form with its extra columns
    code, _, err = cli("data", "restrict", tmp_path / "d.tsv", "--src", tmp_path / "s.vec", "-o", tmp_path / "r.tsv")
    assert code == 0 and (tmp_path / "r.tsv").read_text(encoding="utf-8").startswith("w0\tW0\torigin\n")
