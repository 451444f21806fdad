"""Anchor dictionaries with their origins: read/write, merge, restrict, statistics.

An anchor file is a dictionary file (``src<TAB>tgt``) with an optional third column naming
where each pair came from (``cldr``, ``gettext:iso_3166-1``, ``dictd:freedict-eng-fra``);
:func:`xling.data.dictionary.read_dictionary` reads it as a plain dictionary.
"""
from __future__ import annotations

import os
import statistics
from collections import Counter
from collections.abc import Sequence

from .dictionary import (
    BilingualDictionary,
    DictFormat,
    DictReadReport,
    VocabCoverage,
    read_dictionary,
    write_dictionary,
)
from .errors import InputError
from .scripts import script_mix


def read_anchors(path: str | os.PathLike, *, default_origin: str | None = None) -> tuple[BilingualDictionary,
                                                                                          DictReadReport]:
    """Read a dictionary file, keeping a non-numeric third column as the pairs' origins.

    Lines are validated by :func:`read_dictionary` (one column → error with the line).
    ``"-"`` reads stdin (origins included).
    """
    name = os.fspath(path)
    if name == "-":  # read stdin once into a file, so the origin column can be read too
        import sys
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "stdin.tsv")
            with open(p, "wb") as f:
                f.write(sys.stdin.buffer.read())
            try:
                return read_anchors(p, default_origin=default_origin or "stdin")
            except InputError as e:
                raise InputError(e.message, "-", e.line) from None
    d, rep = read_dictionary(path, with_scores=False)
    origin_of: dict[tuple[str, str], str] = {}
    with open(name, encoding="utf-8", errors="surrogateescape") as f:
        for raw in f:
            fields = raw.rstrip("\n").rstrip("\r").split("\t")
            if len(fields) >= 3 and fields[2] and not _is_number(fields[2]):
                origin_of.setdefault((fields[0].strip(" ").lstrip("\ufeff"), fields[1].strip(" ")), fields[2])
    fallback = default_origin or os.path.basename(name)
    origins = tuple(origin_of.get(p, fallback) for p in d.pairs)
    return BilingualDictionary(d.pairs, None, origins), rep


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def write_anchors(d: BilingualDictionary, path: str | os.PathLike, *, with_origin: bool = True,
                  format: DictFormat = DictFormat.tsv) -> None:
    """Write ``src<TAB>tgt[<TAB>origin]`` atomically (``"-"``: stdout); ``format="muse"``: ``src tgt``."""
    plain = BilingualDictionary(d.pairs)
    cols = [d.origins] if with_origin and d.origins is not None else []
    write_dictionary(plain, path, extra_columns=cols, format=format)


def merge(dicts: Sequence[BilingualDictionary]) -> BilingualDictionary:
    """Concatenate dictionaries (origins kept, ``"?"`` where unknown); repeated pairs keep the first."""
    pairs: list[tuple[str, str]] = []
    origins: list[str] = []
    for d in dicts:
        pairs.extend(d.pairs)
        origins.extend(d.origins if d.origins is not None else ("?",) * len(d))
    return BilingualDictionary.from_pairs(pairs, origins=origins)


def dictionary_stats(d: BilingualDictionary, *, src_vocab=None, tgt_vocab=None) -> dict:
    """Pairs, unique words, translations per source word, script mix, origins and coverage.

    ``src_vocab``/``tgt_vocab``: anything with ``in`` (e.g. ``Embeddings.key_to_index``); when
    given, the coverage of :meth:`BilingualDictionary.restrict` is added.
    """
    tr = d.translations()
    per = [len(v) for v in tr.values()]
    tgt_count = Counter(t for _, t in d.pairs)
    hist = Counter(min(n, 5) for n in per)
    out = {
        "pairs": len(d),
        "src_words": len(tr),
        "tgt_words": len(tgt_count),
        "translations_per_src_word": {
            "mean": round(statistics.fmean(per), 4) if per else 0.0,
            "median": statistics.median(per) if per else 0,
            "max": max(per, default=0),
            "histogram": {("5+" if k == 5 else str(k)): hist[k] for k in sorted(hist)},
        },
        "src_words_per_tgt_word_mean": round(statistics.fmean(tgt_count.values()), 4) if tgt_count else 0.0,
        "identical_pairs": sum(1 for s, t in d.pairs if s == t),
        "src_scripts": script_mix(tr.keys()),
        "tgt_scripts": script_mix(tgt_count.keys()),
        "origins": dict(Counter(d.origins).most_common()) if d.origins is not None else {},
    }
    if src_vocab is not None or tgt_vocab is not None:
        _, cov = d.restrict(src_vocab if src_vocab is not None else _All(), tgt_vocab if tgt_vocab is not None
                            else _All())
        out["coverage"] = cov.as_dict()
    return out


class _All:
    def __contains__(self, item) -> bool:
        return True


def restrict_to_vocab(d: BilingualDictionary, src_vocab=None, tgt_vocab=None) -> tuple[BilingualDictionary,
                                                                                      VocabCoverage]:
    """:meth:`BilingualDictionary.restrict` with either vocabulary optional (None: no limit)."""
    return d.restrict(src_vocab if src_vocab is not None else _All(), tgt_vocab if tgt_vocab is not None else _All())
