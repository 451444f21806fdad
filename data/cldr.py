"""Unicode CLDR annotations (``common/annotations/LANG.xml``): emoji names in many languages.

Each file has, per code point (``cp``), a text-to-speech short name (``type="tts"``) and a
``|``-separated keyword list. Two languages aligned by code point give a few hundred pairs
for almost any language (``cp="😀"``: *grinning face* ↔ *සිනහ මුහුණ*).
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from enum import Enum
from pathlib import Path

from .dictionary import BilingualDictionary
from .errors import InputError
from .gettext_catalog import message_pairs
from .sources import PairCollector, SourceReport, is_single_word


class CldrFields(str, Enum):
    """What to align: the short names only, or the short names plus single keywords."""

    tts = "tts"
    tts_keywords = "tts+keywords"


def read_cldr_annotations(path: str | os.PathLike) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``(short names, keywords)``, both keyed by code point, from one annotation file.

    Malformed XML is an :class:`InputError` naming the file and line. External entities and
    DTDs are not fetched.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        line = e.position[0] if getattr(e, "position", None) else None
        msg = str(e).split(": line")[0]
        raise InputError(f"malformed XML: {msg}", path, line) from None
    if root.find("annotations") is None and root.tag != "annotations":
        raise InputError("no <annotations> element: not a CLDR annotations file", path)
    names: dict[str, str] = {}
    keywords: dict[str, list[str]] = {}
    for a in root.iter("annotation"):
        cp, text = a.get("cp"), (a.text or "").strip()
        if not cp or not text:
            continue
        if a.get("type") == "tts":
            names.setdefault(cp, text)
        else:
            keywords.setdefault(cp, [k.strip() for k in text.split("|") if k.strip()])
    return names, keywords


def cldr_pairs(src_path: str | os.PathLike, tgt_path: str | os.PathLike, *,
               fields: CldrFields = CldrFields.tts, word_pairs: bool = False, max_words: int = 3,
               origin: str = "cldr") -> tuple[BilingualDictionary, SourceReport]:
    """Pairs from two annotation files aligned by code point.

    1. short names of the same code point: a pair when both are one word (or, with
       ``word_pairs``, one pair per position when both have ``n ≤ max_words`` words);
    2. with ``fields="tts+keywords"``: also the single-word keywords of a code point when each
       side has exactly one (more would be a guess).
    """
    sn, sk = read_cldr_annotations(src_path)
    tn, tk = read_cldr_annotations(tgt_path)
    rep = SourceReport("cldr", f"{os.fspath(src_path)},{os.fspath(tgt_path)}")
    col = PairCollector(rep, origin)
    common = [cp for cp in sn if cp in tn]
    rep.skip("code point without a name in the other language", len(sn) + len(tn) - 2 * len(common))
    message_pairs([sn[cp] for cp in common], [tn[cp] for cp in common], rep, col, word_pairs=word_pairs,
                  max_words=max_words)
    if CldrFields(fields) is CldrFields.tts_keywords:
        for cp in sk:
            if cp not in tk:
                continue
            a = [w for w in sk[cp] if is_single_word(w)]
            b = [w for w in tk[cp] if is_single_word(w)]
            rep.read += 1
            if len(a) == 1 and len(b) == 1:
                col.add(a[0], b[0])
            else:
                rep.skip("keyword list not one word on each side")
    return col.result()
