"""Unicode scripts of words: which writing system a word is in, and whether it has case.

Python's :mod:`unicodedata` has no ``Script`` property, so the script of a character is
read from the first word(s) of its Unicode name (``SINHALA LETTER KA`` → Sinhala,
``LATIN SMALL LETTER E WITH ACUTE`` → Latin, ``CJK UNIFIED IDEOGRAPH-4E00`` → Han).
Combining marks without a script of their own (``COMBINING ACUTE ACCENT``) are
*inherited*: they take the script of the letter they sit on. Digits, punctuation and
the zero-width (non-)joiner are *common*: allowed in any script.
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from enum import Enum
from functools import lru_cache

COMMON = "common"
INHERITED = "inherited"
UNKNOWN = "unknown"

# first word(s) of a Unicode character name -> script (names are stable by Unicode policy)
_NAME_PREFIX = {
    "CJK": "han", "KANGXI": "han", "IDEOGRAPHIC": "han", "HANGUL": "hangul", "HIRAGANA": "hiragana",
    "KATAKANA": "katakana", "HALFWIDTH KATAKANA": "katakana", "FULLWIDTH LATIN": "latin",
    "OLD ITALIC": "old_italic", "NEW TAI": "new_tai_lue", "TAI LE": "tai_le", "TAI THAM": "tai_tham",
    "TAI VIET": "tai_viet", "OL CHIKI": "ol_chiki", "CANADIAN SYLLABICS": "canadian_aboriginal",
    "MEETEI MAYEK": "meetei_mayek", "SYLOTI NAGRI": "syloti_nagri", "GUNJALA GONDI": "gunjala_gondi",
    "MASARAM GONDI": "masaram_gondi", "HANIFI ROHINGYA": "hanifi_rohingya", "NYIAKENG PUACHUE": "nyiakeng",
}
# scripts whose letters have upper and lower case
CASED_SCRIPTS = frozenset({"latin", "greek", "cyrillic", "armenian", "georgian", "coptic", "glagolitic",
                           "deseret", "adlam", "cherokee", "osage", "old_hungarian", "warang", "medefaidrin"})


class Script(str, Enum):
    """Script filters offered on the command line (``any``: no filter)."""

    any = "any"
    latin = "latin"
    sinhala = "sinhala"
    devanagari = "devanagari"
    tamil = "tamil"
    bengali = "bengali"
    telugu = "telugu"
    kannada = "kannada"
    malayalam = "malayalam"
    gujarati = "gujarati"
    gurmukhi = "gurmukhi"
    thai = "thai"
    greek = "greek"
    cyrillic = "cyrillic"
    arabic = "arabic"
    hebrew = "hebrew"
    armenian = "armenian"
    georgian = "georgian"
    ethiopic = "ethiopic"
    han = "han"
    hangul = "hangul"
    japanese = "japanese"  # han + hiragana + katakana


# ISO 639-1 language -> script of its ordinary spelling (for --src-lang/--tgt-lang)
LANGUAGE_SCRIPTS = {
    **{lang: "latin" for lang in (
        "en af az bs ca cs cy da de eo es et eu fi fil fr ga gl hr ht hu id is it jv lt lv ms mt nl no nb nn "
        "pl pt ro sk sl so sq sv sw tl tr uz vi yo zu la lb").split()},
    "si": "sinhala", "hi": "devanagari", "mr": "devanagari", "ne": "devanagari", "sa": "devanagari",
    "ta": "tamil", "bn": "bengali", "as": "bengali", "te": "telugu", "kn": "kannada", "ml": "malayalam",
    "gu": "gujarati", "pa": "gurmukhi", "th": "thai", "el": "greek", "ru": "cyrillic", "uk": "cyrillic",
    "bg": "cyrillic", "sr": "cyrillic", "mk": "cyrillic", "be": "cyrillic", "kk": "cyrillic", "mn": "cyrillic",
    "ar": "arabic", "fa": "arabic", "ur": "arabic", "ps": "arabic", "he": "hebrew", "yi": "hebrew",
    "hy": "armenian", "ka": "georgian", "am": "ethiopic", "ti": "ethiopic", "zh": "han", "ko": "hangul",
    "ja": "japanese",
}

_SCRIPT_GROUPS = {"japanese": frozenset({"han", "hiragana", "katakana"})}


def script_for_language(lang: str) -> str | None:
    """Script of a language code (``"si"`` → ``"sinhala"``; ``"en_GB"`` → ``"latin"``); None if unknown."""
    return LANGUAGE_SCRIPTS.get(lang.replace("-", "_").split("_")[0].lower())


@lru_cache(maxsize=65536)
def char_script(ch: str) -> str:
    """Script of one character: a lower-case name, ``"common"``, ``"inherited"`` or ``"unknown"``."""
    cat = unicodedata.category(ch)
    if ch in "\u200c\u200d":  # ZWNJ / ZWJ: shape the letters around them, belong to every script
        return COMMON
    name = unicodedata.name(ch, "")
    if cat[0] == "M" and (not name or name.startswith("COMBINING")):
        return INHERITED
    if cat[0] not in "LM":
        return COMMON
    if not name:
        return UNKNOWN
    for n in (2, 1):
        prefix = " ".join(name.split(" ")[:n])
        if prefix in _NAME_PREFIX:
            return _NAME_PREFIX[prefix]
    first = name.split(" ")[0]
    if first in {"MODIFIER", "SMALL", "FULLWIDTH", "CIRCLED", "PARENTHESIZED", "MATHEMATICAL"}:
        # e.g. MODIFIER LETTER SMALL H (Latin), FULLWIDTH LATIN ...; look one word further
        rest = name.split(" ")
        for w in rest[1:]:
            if w in {"LATIN", "GREEK", "CYRILLIC"}:
                return w.lower()
        return COMMON
    return first.lower()


def word_scripts(word: str) -> frozenset[str]:
    """The scripts of a word's letters (common and inherited characters left out)."""
    return frozenset(s for s in map(char_script, word) if s not in (COMMON, INHERITED))


def word_script(word: str) -> str:
    """One label for a word: its script, ``"mixed"`` for several, ``"none"`` without letters."""
    s = word_scripts(word)
    if not s:
        return "none"
    if len(s) == 1:
        return next(iter(s))
    for group, members in _SCRIPT_GROUPS.items():
        if s <= members:
            return group
    return "mixed"


def in_script(word: str, script: str | Script) -> bool:
    """True when every letter of ``word`` is in ``script`` (and it has at least one letter).

    Combining marks, digits, punctuation and U+200C/U+200D are allowed anywhere.
    ``script="any"`` accepts every word with a letter.
    """
    script = script.value if isinstance(script, Script) else script
    s = word_scripts(word)
    if not s:
        return False
    if script == "any":
        return True
    return s <= _SCRIPT_GROUPS.get(script, frozenset({script}))


def has_case(word: str) -> bool:
    """True when all letters of ``word`` are in scripts with upper and lower case."""
    s = word_scripts(word)
    return bool(s) and s <= CASED_SCRIPTS


def script_mix(words) -> dict[str, int]:
    """``{script: number of words}``, most frequent first."""
    return dict(Counter(map(word_script, words)).most_common())
