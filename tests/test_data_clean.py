"""Script-safe cleaning, scripts, splits and statistics."""
from __future__ import annotations

import unicodedata

import pytest

from data_fixtures import REGION, SHEET, SRI, ZWJ
from xling.data.dictionary import BilingualDictionary


def _d(pairs, origin="test"):
    return BilingualDictionary(tuple(pairs), None, (origin,) * len(pairs))


def test_scripts():
    from xling.data.scripts import has_case, in_script, script_for_language, word_script

    assert word_script(SRI) == "sinhala" and in_script(SRI, "sinhala")
    assert not in_script("sheet", "sinhala") and in_script("café", "latin")
    assert word_script("नमस्ते") == "devanagari" and word_script("Привет") == "cyrillic"
    assert word_script("日本語です") == "japanese" and word_script("abcසි") == "mixed" and word_script("42") == "none"
    assert in_script("e\u0301", "latin")  # combining acute is inherited
    assert has_case("Straße") and not has_case(REGION) and not has_case("日本")
    assert script_for_language("si") == "sinhala" and script_for_language("en_GB") == "latin"
    assert script_for_language("xx") is None


def test_zwj_survives_cleaning_byte_for_byte():
    from xling.data.clean import CleanOptions, clean_pairs

    words = [("sri", SRI), ("region", REGION), ("sheet", SHEET), ("zwnj", "می\u200cخواهم")]
    c, rep = clean_pairs(_d(words), CleanOptions(src_script="latin", tgt_script="any", lower=True))
    assert [t.encode("utf-8") for _, t in c.pairs] == [t.encode("utf-8") for _, t in words]
    assert all(ZWJ.encode() in t.encode() for _, t in c.pairs[:3])
    assert rep.pairs_out == 4 and not any(k.startswith("dropped") for k in rep.steps)


def test_invisible_characters_removed_but_joiners_kept():
    from xling.data.clean import normalize_word

    assert normalize_word("\ufeffශ්" + ZWJ + "රී\u200b") == SRI
    assert normalize_word("soft\u00adware") == "software"
    decomposed = "cafe\u0301"
    assert normalize_word(decomposed) == unicodedata.normalize("NFC", decomposed) == "café"
    hindi = "हिन्दी"  # virama and vowel signs are combining marks: kept
    assert normalize_word(hindi) == hindi


def test_script_filter_drops_latin_on_sinhala_side():
    from xling.data.clean import CleanOptions, clean_pairs

    pairs = [("region", REGION), ("basic", "BASIC"), ("ok", "OK" + REGION), ("sum", "එකතුව"), ("2019", "2019"),
             ("ලංකා", "lanka")]
    c, rep = clean_pairs(_d(pairs), CleanOptions(src_script="latin", tgt_script="sinhala"))
    assert c.pairs == (("region", REGION), ("sum", "එකතුව"), ("2019", "2019"))
    assert rep.steps["dropped: target not sinhala script"] == 2  # Latin word, mixed word
    assert rep.steps["dropped: source not latin script"] == 1
    assert ["basic", "BASIC"] in [list(x) for x in rep.examples["dropped: target not sinhala script"]]
    c2, rep2 = clean_pairs(_d(pairs), CleanOptions(src_script="latin", tgt_script="sinhala", numerals=False))
    assert ("2019", "2019") not in c2.pairs


def test_lower_only_cased_scripts_and_counts():
    from xling.data.clean import CleanOptions, clean_pairs

    pairs = [("Sheet", SHEET), ("sheet", SHEET), ("Paris", "Paris"), ("Ελλάδα", "Grèce"), ("two words", "deux mots"),
             ("cat", "chat"), ("cat", "matou"), ("cat", "minet"), ("", "vide"), ("-able", "-able"), ("-", "tiret")]
    c, rep = clean_pairs(_d(pairs), CleanOptions(lower=True, max_translations=2))
    assert c.pairs == (("sheet", SHEET), ("paris", "paris"), ("ελλάδα", "grèce"), ("cat", "chat"), ("cat", "matou"))
    assert rep.steps["dropped: duplicate pair"] == 1
    assert rep.steps["dropped: multi-word"] == 1
    assert rep.steps["dropped: affix (leading/trailing hyphen)"] == 1
    assert rep.steps["dropped: source not any script"] == 1  # "-" has no letter
    assert rep.steps["dropped: over 2 translations per source word"] == 1
    assert rep.steps["dropped: empty word"] == 1
    assert rep.steps["lower-cased"] == 3
    assert rep.pairs_in == len(pairs) and rep.pairs_out == len(c) and c.origins == ("test",) * len(c)
    # without --lower, case is kept
    c2, _ = clean_pairs(_d(pairs), CleanOptions())
    assert ("Paris", "Paris") in c2.pairs and ("Sheet", SHEET) in c2.pairs


def _split_dict(n_src=40, per=3):
    return _d([(f"w{i}", f"t{i}_{j}") for i in range(n_src) for j in range(1 + i % per)])


@pytest.mark.parametrize("mode", ["frequency", "random"])
def test_split_never_leaks_and_keeps_translations_together(mode):
    from xling.data.split import split_dictionary

    d = _split_dict()
    ranks = {f"w{i}": (i * 7) % 40 for i in range(40)}
    tr, te, rep = split_dictionary(d, mode=mode, train_size=25, test_size=10, ranks=ranks, seed=3)
    s_tr, s_te = {s for s, _ in tr.pairs}, {s for s, _ in te.pairs}
    assert not s_tr & s_te
    assert len(s_tr) == 25 and len(s_te) == 10 and rep.unused_words == 5
    full = d.translations()
    for part in (tr, te):
        for s, ts in part.translations().items():
            assert ts == full[s]
    if mode == "frequency":
        assert s_tr == {w for w, r in ranks.items() if r < 25}
        assert s_te == {w for w, r in ranks.items() if 25 <= r < 35}


def test_split_random_seeded_and_fraction():
    from xling.data.split import split_dictionary

    d = _split_dict()
    a = split_dictionary(d, mode="random", seed=1, test_fraction=0.25)
    b = split_dictionary(d, mode="random", seed=1, test_fraction=0.25)
    c = split_dictionary(d, mode="random", seed=2, test_fraction=0.25)
    assert a[0].pairs == b[0].pairs and a[1].pairs == b[1].pairs
    assert a[1].pairs != c[1].pairs
    assert a[2].test_words == 10 and a[2].train_words == 30


def test_split_frequency_unranked_and_errors():
    from xling.data.errors import XlingError
    from xling.data.split import split_dictionary

    d = _split_dict(10)
    tr, te, rep = split_dictionary(d, train_size=3, test_size=3, ranks={f"w{i}": i for i in range(8)})
    assert rep.unranked_words == 2 and {s for s, _ in te.pairs} == {"w3", "w4", "w5"}
    with pytest.raises(XlingError, match="ranking"):
        split_dictionary(d)
    with pytest.raises(XlingError, match="no source word left"):
        split_dictionary(d, train_size=100, ranks={f"w{i}": i for i in range(10)})


def test_stats_and_coverage():
    from xling.data.anchors import dictionary_stats

    d = BilingualDictionary((("cat", "chat"), ("cat", "matou"), ("dog", "chien"), ("sri", SRI), ("paris", "paris")),
                            None, ("a", "a", "b", "c", "c"))
    st = dictionary_stats(d, src_vocab={"cat", "dog", "paris"}, tgt_vocab={"chat", "chien"})
    assert st["pairs"] == 5 and st["src_words"] == 4 and st["tgt_words"] == 5
    assert st["translations_per_src_word"]["max"] == 2 and st["translations_per_src_word"]["histogram"] == {"1": 3,
                                                                                                          "2": 1}
    assert st["tgt_scripts"] == {"latin": 4, "sinhala": 1} and st["identical_pairs"] == 1
    assert st["origins"] == {"a": 2, "c": 2, "b": 1}
    cov = st["coverage"]
    assert cov["pairs_kept"] == 2 and cov["src_words_kept"] == 2 and cov["src_oov_pairs"] == 1
    assert cov["coverage"] == 0.5


def test_anchor_file_round_trip(tmp_path):
    from xling.data.anchors import read_anchors, write_anchors
    from xling.data.dictionary import read_dictionary

    d = BilingualDictionary((("sri", SRI), ("cat", "chat")), None, ("cldr", "dictd:x"))
    p = tmp_path / "a.tsv"
    write_anchors(d, p)
    back, _ = read_anchors(p)
    assert back.pairs == d.pairs and back.origins == d.origins
    assert p.read_bytes().count(ZWJ.encode()) == 1
    plain, _ = read_dictionary(p)  # the plain reader ignores the origin column
    assert plain.pairs == d.pairs


def test_typographic_hyphens_to_ascii_counted():
    from xling.data.clean import CleanOptions, clean_pairs

    d = _d([("well\u2010known", "connu"), ("o\u2019clock", "heure"), ("cat", "chat")])
    c, rep = clean_pairs(d)
    assert c.pairs == (("well-known", "connu"), ("o'clock", "heure"), ("cat", "chat"))
    assert rep.steps["normalised (typographic hyphen/apostrophe to ASCII)"] == 2
    c2, _ = clean_pairs(d, CleanOptions(ascii_punct=False))
    assert c2.pairs == d.pairs
