"""Script-safe cleaning of anchor pairs, every filter counted.

What it never does: drop U+200D/U+200C (zero-width joiner/non-joiner, needed inside Sinhala,
Devanagari and Persian words), drop combining marks, or lower-case a script without case.
Unicode NFC keeps both joiners and composes marks onto their letters.
"""
from __future__ import annotations

import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field

from .dictionary import BilingualDictionary
from .identical import is_numeral
from .scripts import Script, has_case, in_script
from .sources import is_single_word

KEEP_FORMAT = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: part of words
# typographic hyphens and apostrophes as vector vocabularies spell them (FreeDict writes
# "well\u2010known", GloVe has "well-known"); U+02BC (a letter in some languages) is left alone
ASCII_PUNCT = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2019": "'"})


@dataclass(frozen=True)
class CleanOptions:
    """Cleaning choices (``None``/``False``: step off).

    src_script, tgt_script : a :class:`Script` name (``"latin"``, ``"sinhala"``, ...) every letter of
        the word must be in; ``None`` or ``"any"``: any script, but at least one letter.
    lower : lower-case words whose letters are all in cased scripts (Latin, Greek, Cyrillic, ...).
    single_word : drop pairs with whitespace inside a word, and affixes (``-able``, ``anti-``).
    numerals : let numbers (``2019``) through the script filter.
    ascii_punct : write U+2010/U+2011 hyphens as ``-`` and U+2019 as ``'``.
    max_translations : keep at most this many translations per source word (the first ones).
    """

    src_script: str | None = None
    tgt_script: str | None = None
    lower: bool = False
    single_word: bool = True
    numerals: bool = True
    ascii_punct: bool = True
    max_translations: int | None = None


_STEP_ORDER = ("normalised (NFC", "normalised (typographic", "dropped: empty", "dropped: multi-word",
               "dropped: affix", "dropped: source not", "dropped: target not", "lower-cased", "dropped: duplicate", "dropped: over")


@dataclass
class CleanReport:
    """Pairs in, pairs out, and per step the pairs dropped (or words changed) with examples."""

    pairs_in: int = 0
    pairs_out: int = 0
    steps: OrderedDict[str, int] = field(default_factory=OrderedDict)
    examples: dict[str, list] = field(default_factory=dict)

    def count(self, step: str, example=None, n: int = 1) -> None:
        self.steps[step] = self.steps.get(step, 0) + n
        if example is not None:
            ex = self.examples.setdefault(step, [])
            if len(ex) < 3:
                ex.append(example)

    def ordered_steps(self) -> OrderedDict[str, int]:
        """The counters in pipeline order (not in order of first occurrence)."""
        def rank(step: str) -> int:
            return next((i for i, p in enumerate(_STEP_ORDER) if step.startswith(p)), len(_STEP_ORDER))
        return OrderedDict(sorted(self.steps.items(), key=lambda kv: rank(kv[0])))

    def as_dict(self) -> dict:
        return {"pairs_in": self.pairs_in, "pairs_out": self.pairs_out, "steps": dict(self.ordered_steps()),
                "examples": {k: [list(e) if isinstance(e, tuple) else e for e in v]
                             for k, v in self.examples.items()}}


def normalize_word(word: str) -> str:
    """NFC, surrounding whitespace stripped, invisible format characters (U+200B, U+FEFF, U+00AD,
    U+2060 ...) removed, U+200C/U+200D kept exactly where they are."""
    w = unicodedata.normalize("NFC", word.strip())
    if any(unicodedata.category(c) == "Cf" and c not in KEEP_FORMAT for c in w):
        w = "".join(c for c in w if unicodedata.category(c) != "Cf" or c in KEEP_FORMAT)
    return w.strip()


def lower_word(word: str) -> str:
    """Lower-case ``word`` only when all its letters are in scripts with case."""
    return word.lower() if has_case(word) else word


def _is_affix(word: str) -> bool:
    return len(word) > 1 and (word[0] in "-\u2010\u2011" or word[-1] in "-\u2010\u2011")


def _script_ok(word: str, script: str | None, numerals: bool) -> bool:
    if numerals and is_numeral(word):
        return True
    return in_script(word, script or Script.any)


def clean_pairs(d: BilingualDictionary, opts: CleanOptions = CleanOptions()) -> tuple[BilingualDictionary,
                                                                                       CleanReport]:
    """Clean a dictionary; origins travel with their pairs.

    1. normalise both words (:func:`normalize_word`, then ASCII hyphens/apostrophes when
       ``ascii_punct``); empty words dropped;
    2. single-word filter (whitespace inside a word; affixes with a leading/trailing hyphen);
    3. script filter per side (every letter in the language's script; at least one letter);
    4. lower-casing (cased scripts only), when asked;
    5. duplicate pairs dropped (the first wins);
    6. at most ``max_translations`` translations per source word.

    Returns
    -------
    (cleaned dictionary, :class:`CleanReport`) with one counter per step.
    """
    rep = CleanReport(pairs_in=len(d))
    src_label = f"source not {opts.src_script or 'any'} script"
    tgt_label = f"target not {opts.tgt_script or 'any'} script"
    seen: set[tuple[str, str]] = set()
    per_src: dict[str, int] = {}
    out, origins = [], []
    for n, (s0, t0) in enumerate(d.pairs):
        # 1. normalise
        s, t = normalize_word(s0), normalize_word(t0)
        if (s, t) != (s0.strip(), t0.strip()):
            rep.count("normalised (NFC / invisible characters)", (s0, t0))
        if opts.ascii_punct:
            a, b = s.translate(ASCII_PUNCT), t.translate(ASCII_PUNCT)
            if (a, b) != (s, t):
                rep.count("normalised (typographic hyphen/apostrophe to ASCII)", (s, t))
            s, t = a, b
        if not s or not t:
            rep.count("dropped: empty word", (s0, t0))
            continue
        # 2. single words (an affix such as "-able" is not a word either)
        if opts.single_word and not (is_single_word(s) and is_single_word(t)):
            rep.count("dropped: multi-word", (s, t))
            continue
        if opts.single_word and (_is_affix(s) or _is_affix(t)):
            rep.count("dropped: affix (leading/trailing hyphen)", (s, t))
            continue
        # 3. scripts
        if not _script_ok(s, opts.src_script, opts.numerals):
            rep.count("dropped: " + src_label, (s, t))
            continue
        if not _script_ok(t, opts.tgt_script, opts.numerals):
            rep.count("dropped: " + tgt_label, (s, t))
            continue
        # 4. case
        if opts.lower:
            ls, lt = lower_word(s), lower_word(t)
            if (ls, lt) != (s, t):
                rep.count("lower-cased", (s, t))
            s, t = ls, lt
        # 5. duplicates
        if (s, t) in seen:
            rep.count("dropped: duplicate pair", (s, t))
            continue
        # 6. translations per source word
        if opts.max_translations is not None and per_src.get(s, 0) >= opts.max_translations:
            rep.count(f"dropped: over {opts.max_translations} translations per source word", (s, t))
            continue
        seen.add((s, t))
        per_src[s] = per_src.get(s, 0) + 1
        out.append((s, t))
        if d.origins is not None:
            origins.append(d.origins[n])
    rep.pairs_out = len(out)
    return BilingualDictionary(tuple(out), None, tuple(origins) if d.origins is not None else None), rep
