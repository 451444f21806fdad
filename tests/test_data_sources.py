"""Readers of real formats: dictd, gettext .po/.mo, CLDR annotations, identical strings."""
from __future__ import annotations

import pytest

from data_fixtures import (
    DICTD_ENTRIES,
    EN_CLDR,
    EN_KW,
    PO_TEXT,
    REGION,
    SHEET,
    SI_CLDR,
    SI_KW,
    SI_MESSAGES,
    SRI,
    b64,
    cldr_xml,
    mo_bytes,
    write_dictd,
)
from xling.data.errors import InputError


# ----------------------------------------------------------------------------- dictd
def test_dictd_base64_numbers():
    from xling.data.dictd import decode_b64_number

    assert decode_b64_number("LOB") == 11 * 64 * 64 + 14 * 64 + 1  # a real offset of freedict-eng-fra
    assert decode_b64_number("A") == 0 and decode_b64_number("/") == 63 and decode_b64_number("BA") == 64
    for n in (0, 1, 63, 64, 4095, 123456789):
        assert decode_b64_number(b64(n)) == n
    with pytest.raises(ValueError):
        decode_b64_number("A=")


@pytest.mark.parametrize("which", ["index", "dz", "base"])
def test_dictd_entries(tmp_path, which):
    from xling.data.dictd import read_dictd

    idx = write_dictd(tmp_path / "eng-fra")
    path = {"index": idx, "dz": tmp_path / "eng-fra.dict.dz", "base": tmp_path / "eng-fra"}[which]
    d, rep = read_dictd(path)
    tr = d.translations()
    assert tr["abandon"] == ["abandonner", "délaisser", "renoncer"]  # senses, notes dropped, see:/Synonyms dropped
    assert tr["cat"] == ["chat", "matou"]
    assert tr["compare"] == ["comparer"]  # a translation starting like "compare" is not a cross-reference
    assert tr["a lot"] == ["beaucoup"]  # multi-word headwords are kept for the cleaner to count
    assert tr["dog"] == ["chien"]  # example line skipped
    assert "00databaseshort" not in tr
    assert tr["well\u2010known"] == ["connu", "réputé"] and "wellknown" not in tr  # headword from the entry
    assert set(d.origins) == {"dictd:eng-fra"}
    assert rep.read == 6 and rep.skipped["see/synonym line"] == 2 and rep.skipped["note/example line"] == 1
    assert rep.skipped["notes removed"] == 3 and rep.skipped["database information entry"] == 1


def test_dictd_uncompressed(tmp_path):
    from xling.data.dictd import read_dictd

    write_dictd(tmp_path / "x", compress=False)
    d, _ = read_dictd(tmp_path / "x.index")
    assert ("cat", "chat") in d.pairs


def test_dictd_truncated_gzip(tmp_path):
    from xling.data.dictd import read_dictd

    write_dictd(tmp_path / "t")
    dz = tmp_path / "t.dict.dz"
    raw = dz.read_bytes()
    dz.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="truncated gzip") as e:
        read_dictd(tmp_path / "t")
    assert e.value.path == str(dz)


def test_dictd_index_past_end(tmp_path):
    from xling.data.dictd import read_dictd

    idx = write_dictd(tmp_path / "p")
    lines = idx.read_text(encoding="utf-8").splitlines()
    head = lines[2].split("\t")[0]
    lines[2] = f"{head}\t{b64(10_000)}\t{b64(50)}"
    idx.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="past the end") as e:
        read_dictd(idx)
    assert e.value.line == 3 and e.value.path == str(idx)


def test_dictd_bad_index_line(tmp_path):
    from xling.data.dictd import read_dictd

    idx = write_dictd(tmp_path / "b")
    with open(idx, "a", encoding="utf-8") as f:
        f.write("zebra only-two-fields\n")
    with pytest.raises(InputError) as e:
        read_dictd(idx)
    assert e.value.line == len(DICTD_ENTRIES) + 1


def test_dictd_not_gzip(tmp_path):
    from xling.data.dictd import read_dictd

    write_dictd(tmp_path / "n")
    (tmp_path / "n.dict.dz").write_bytes(b"plain text, not gzip")
    with pytest.raises(InputError, match="not a gzip"):
        read_dictd(tmp_path / "n")


# ----------------------------------------------------------------------------- gettext
@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_mo_both_byte_orders(tmp_path, byteorder):
    from xling.data.gettext_catalog import read_catalog

    p = tmp_path / "sc.mo"
    msgs = dict(SI_MESSAGES, **{"one file\x00%d files": "එක ගොනුවක්\x00ගොනු %d"})
    p.write_bytes(mo_bytes(msgs, byteorder=byteorder))
    cat = read_catalog(p)
    by_id = {m.msgid: m for m in cat.messages}
    assert cat.domain == "sc" and cat.accelerator == "~"
    assert by_id["Region"].msgstr.encode() == REGION.encode()  # byte for byte, ZWJ included
    assert by_id["~Sheet"].context == "STR_SHEET" and by_id["~Sheet"].msgstr == SHEET
    assert by_id["one file"].msgstr == "එක ගොනුවක්"  # singular of a plural entry
    assert len(cat.messages) == len(msgs) - 1  # header is not a message


def test_mo_matches_python_gettext(tmp_path):
    import gettext

    from xling.data.gettext_catalog import read_mo

    p = tmp_path / "x.mo"
    p.write_bytes(mo_bytes(SI_MESSAGES))
    with open(p, "rb") as f:
        ref = gettext.GNUTranslations(f)._catalog
    ours = {((m.context + "\x04") if m.context else "") + m.msgid: m.msgstr for m in read_mo(p).messages}
    assert ours == {k: v for k, v in ref.items() if k}


def test_mo_bad_magic(tmp_path):
    from xling.data.gettext_catalog import read_catalog

    p = tmp_path / "bad.mo"
    p.write_bytes(mo_bytes(SI_MESSAGES, magic=0x12345678))
    with pytest.raises(InputError, match="bad magic number") as e:
        read_catalog(p)
    assert e.value.path == str(p)


def test_mo_truncated_table(tmp_path):
    from xling.data.gettext_catalog import read_mo

    p = tmp_path / "cut.mo"
    p.write_bytes(mo_bytes(SI_MESSAGES)[:60])
    with pytest.raises(InputError, match="past the end"):
        read_mo(p)


def test_po_parse(tmp_path):
    from xling.data.gettext_catalog import read_catalog

    p = tmp_path / "prog.po"
    p.write_text(PO_TEXT, encoding="utf-8")
    cat = read_catalog(p)
    by_id = {m.msgid: m for m in cat.messages}
    assert cat.accelerator == "_"
    assert by_id["Linked areas"].msgstr == "zones liées"  # continuation lines joined
    assert by_id["Close"].fuzzy and not by_id["_Open"].fuzzy
    assert by_id["Sheet"].context == "menu"
    assert by_id["one file"].msgstr == "un fichier"
    assert by_id['Say "hi"'].msgstr == 'Dis "salut"'
    assert "Obsolete" not in by_id


def test_po_malformed_line(tmp_path):
    from xling.data.gettext_catalog import read_po

    p = tmp_path / "bad.po"
    p.write_text('msgid "a"\nmsgstr "b"\nthis is not po\n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_po(p)
    assert e.value.line == 3


def test_gettext_pairs_one_catalog(tmp_path):
    from xling.data.gettext_catalog import gettext_pairs, read_mo

    p = tmp_path / "sc.mo"
    p.write_bytes(mo_bytes(SI_MESSAGES))
    d, rep = gettext_pairs([read_mo(p)])
    assert set(d.pairs) == {("Region", REGION), ("Sheet", SHEET), ("Sum", "එකතුව"), ("BASIC", "BASIC"),
                            ("Date", "දිනය")}  # accelerators "~" and "(~D)" removed
    assert rep.skipped["placeholder or markup in message"] == 1
    assert rep.skipped["untranslated message"] == 1
    assert rep.skipped["multi-word message"] == 2
    d2, rep2 = gettext_pairs([read_mo(p)], word_pairs=True, max_words=2)
    assert ("Linked", "සබැඳි") in d2.pairs and ("areas", REGION) in d2.pairs and ("Sri", SRI) in d2.pairs
    assert rep2.skipped["multi-word message split into word pairs"] == 2


def test_gettext_pairs_two_catalogs(tmp_path):
    from xling.data.gettext_catalog import gettext_pairs, read_catalog

    (tmp_path / "fr").mkdir()
    (tmp_path / "si").mkdir()
    (tmp_path / "fr" / "sc.mo").write_bytes(mo_bytes({"Region": "Région", "STR_SHEET\x04~Sheet": "~Feuille",
                                                      "Sum": "Somme", "Only French": "Seulement"}))
    (tmp_path / "si" / "sc.mo").write_bytes(mo_bytes(SI_MESSAGES))
    (tmp_path / "si" / "other.mo").write_bytes(mo_bytes({"Region": "වෙනත්"}))  # another domain: not joined
    d, rep = gettext_pairs([read_catalog(tmp_path / "si" / "sc.mo"), read_catalog(tmp_path / "si" / "other.mo")],
                           [read_catalog(tmp_path / "fr" / "sc.mo")])
    assert set(d.pairs) == {("Région", REGION), ("Feuille", SHEET), ("Somme", "එකතුව")}
    assert rep.skipped["message not in the source-language catalogs"] >= 1


# ----------------------------------------------------------------------------- CLDR
def test_cldr_pairs(tmp_path):
    from xling.data.cldr import cldr_pairs

    (tmp_path / "en.xml").write_text(cldr_xml("en", EN_CLDR, EN_KW), encoding="utf-8")
    (tmp_path / "si.xml").write_text(cldr_xml("si", SI_CLDR, SI_KW), encoding="utf-8")
    d, rep = cldr_pairs(tmp_path / "en.xml", tmp_path / "si.xml")
    assert set(d.pairs) == {("cat", "පූසා"), ("globe", "ගෝලය"), ("scissors", "කතුර"), ("percent", "සියයට")}
    assert rep.skipped["multi-word message"] == 1  # grinning face
    assert rep.skipped["code point without a name in the other language"] == 2
    d2, _ = cldr_pairs(tmp_path / "en.xml", tmp_path / "si.xml", fields="tts+keywords", word_pairs=True)
    assert ("grinning", "සිනහ") in d2.pairs and ("face", "මුහුණ") in d2.pairs


def test_cldr_malformed_xml(tmp_path):
    from xling.data.cldr import read_cldr_annotations

    p = tmp_path / "bad.xml"
    p.write_text('<?xml version="1.0"?>\n<ldml>\n<annotations>\n<annotation cp="x">oops</annot>\n</ldml>\n',
                 encoding="utf-8")
    with pytest.raises(InputError, match="malformed XML") as e:
        read_cldr_annotations(p)
    assert e.value.line == 4


# ----------------------------------------------------------------------------- identical
def test_identical_and_numerals():
    from xling.data.identical import identical_pairs

    src = ["the", "paris", "2019", "1,000", "a", "berlin"]
    tgt = ["berlin", "le", "paris", "2019", "1,000", "a"]
    d, _ = identical_pairs(src, tgt)
    assert d.pairs == (("paris", "paris"), ("2019", "2019"), ("1,000", "1,000"), ("a", "a"), ("berlin", "berlin"))
    d, rep = identical_pairs(src, tgt, mode="numerals")
    assert d.pairs == (("2019", "2019"), ("1,000", "1,000")) and rep.skipped["shared, not a numeral"] == 3
    d, _ = identical_pairs(src, tgt, min_length=2)
    assert ("a", "a") not in d.pairs
