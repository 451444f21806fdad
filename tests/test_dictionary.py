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
