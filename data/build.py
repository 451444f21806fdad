"""The anchor-dictionary build pipeline: read sources, merge, clean, restrict to vocabularies.

``xling data build`` and ``xling data clean`` are this module plus option parsing and printing:

1. :func:`read_sources` reads every source of a :class:`Sources` (CLDR annotations, gettext
   catalogs, dictd files, dictionary files, identical strings of two vocabularies) and merges
   them in that order (a pair found twice keeps its first origin);
2. :func:`clean_and_restrict` applies the script-safe filters of :func:`xling.data.clean.clean_pairs`
   and, given vocabularies, keeps the pairs whose words are in them;
3. :func:`build` does both. The result is a :class:`BuildResult` (the dictionary and every count);
   writing it is :func:`xling.data.anchors.write_anchors`'s job.

Arrays and word lists in, dictionaries and reports out: no vectors file is read here (pass the
words / vocabularies of vectors loaded by the caller).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clean import CleanOptions, CleanReport
from .dictionary import BilingualDictionary, VocabCoverage
from .errors import XlingError


@dataclass(frozen=True)
class Sources:
    """Where the pairs come from (every field optional; at least one source is needed).

    cldr : (source-language annotations, target-language annotations), optional
    gettext : {label: [target-language catalogs or folders]}; the label names the origin
        (``gettext:<label>``)
    gettext_src : source-language catalogs of the same programs (msgstr -> msgstr instead of
        msgid -> msgstr)
    dictd, tsv : dictd dictionaries, dictionary files (src<TAB>tgt[<TAB>origin])
    identical : (source words, target words): pair strings found in both
    word_pairs, max_words : also pair words by position in short messages (CLDR, gettext)
    """

    cldr: tuple[str, str] | None = None
    gettext: Mapping[str, Sequence[str]] = field(default_factory=dict)
    gettext_src: Sequence[str] = ()
    dictd: Sequence[str] = ()
    tsv: Sequence[str] = ()
    identical: tuple[Sequence[str], Sequence[str]] | None = None
    word_pairs: bool = False
    max_words: int = 3

    def __post_init__(self):
        if self.gettext_src and not self.gettext:
            raise XlingError("--gettext-src needs --gettext (the target-language catalogs)")
        if not (self.cldr or self.gettext or self.dictd or self.tsv or self.identical is not None):
            raise XlingError("no source given: use --cldr-src/--cldr-tgt, --gettext, --dictd, --tsv or --identical")


@dataclass(frozen=True)
class BuildResult:
    """A cleaned dictionary and how it was made."""

    dictionary: BilingualDictionary
    sources: list[dict]  # one read report (as_dict) per source
    clean: CleanReport
    coverage: VocabCoverage | None  # when restricted to vocabularies
    stats: dict  # xling.data.anchors.dictionary_stats of the result

    def as_dict(self) -> dict:
        return {"pairs": len(self.dictionary), "sources": self.sources, "clean": self.clean.as_dict(),
                "coverage": self.coverage.as_dict() if self.coverage else None, "stats": self.stats}


def labelled_paths(args: Sequence[str]) -> dict[str, list[str]]:
    """``LABEL=PATH`` arguments grouped by label; a bare PATH (or one that exists as written) is
    labelled by its file or folder name."""
    out: dict[str, list[str]] = {}
    for a in args:
        label, sep, path = a.partition("=")
        if not sep or "/" in label or not label or os.path.exists(a):
            path = a
            label = Path(a.rstrip("/")).stem
        out.setdefault(label, []).append(path)
    return out


def clean_options(*, src_lang: str | None = None, tgt_lang: str | None = None, src_script: str | None = None,
                  tgt_script: str | None = None, lower: bool = False, single_word: bool = True,
                  numerals: bool = True, max_translations: int | None = None,
                  ascii_punct: bool = True) -> CleanOptions:
    """:class:`CleanOptions` with each side's script given by name or by language code (the
    script wins; ``any``: no script filter)."""
    from .scripts import Script, script_for_language

    def pick(script, lang, side):
        if script is not None:
            try:
                return Script(script.lower()).value
            except ValueError:
                raise XlingError(f"--{side}-script: unknown script {script!r}; one of: "
                                 f"{', '.join(s.value for s in Script)}") from None
        if lang is not None:
            s = script_for_language(lang)
            if s is None:
                raise XlingError(f"--{side}-lang: no script known for language {lang!r}; "
                                 f"give --{side}-script instead")
            return s
        return None

    return CleanOptions(src_script=pick(src_script, src_lang, "src"), tgt_script=pick(tgt_script, tgt_lang, "tgt"),
                        lower=lower, single_word=single_word, numerals=numerals,
                        max_translations=max_translations, ascii_punct=ascii_punct)


def read_sources(sources: Sources) -> tuple[BilingualDictionary, list[dict]]:
    """Read and merge every source, in the order cldr, gettext, dictd, tsv, identical.

    Returns
    -------
    (BilingualDictionary, list of dict)
        The merged pairs (first origin kept) and one read report per source.
    """
    from .anchors import merge, read_anchors
    from .cldr import cldr_pairs
    from .dictd import read_dictd
    from .gettext_catalog import find_catalogs, gettext_pairs, read_catalog
    from .identical import identical_pairs

    found: list[tuple[BilingualDictionary, Any]] = []  # (pairs, the reader's report)
    if sources.cldr:
        found.append(cldr_pairs(*sources.cldr, word_pairs=sources.word_pairs, max_words=sources.max_words))
    src = [read_catalog(p) for p in find_catalogs(list(sources.gettext_src))] if sources.gettext_src else None
    for label, paths in sources.gettext.items():
        tgt = [read_catalog(p) for p in find_catalogs(list(paths))]
        found.append(gettext_pairs(tgt, src, word_pairs=sources.word_pairs, max_words=sources.max_words,
                                   origin=f"gettext:{label}"))
    found += [read_dictd(p) for p in sources.dictd]
    found += [read_anchors(p) for p in sources.tsv]
    if sources.identical is not None:
        found.append(identical_pairs(*sources.identical))
    return merge([d for d, _ in found]), [r.as_dict() for _, r in found]


def clean_and_restrict(d: BilingualDictionary, opts: CleanOptions, sources: list[dict], *,
                       src_vocab: Mapping[str, int] | None = None,
                       tgt_vocab: Mapping[str, int] | None = None) -> BuildResult:
    """Clean merged pairs and, given vocabularies, keep those whose words are in them.

    ``sources`` are the read reports; multi-word lines that a dictionary reader skipped are
    counted as the cleaning's multi-word drops, so the counts add up.
    """
    from .anchors import dictionary_stats, restrict_to_vocab
    from .clean import clean_pairs

    c, crep = clean_pairs(d, opts)
    read_multi = sum(r.get("multiword_skipped", 0) for r in sources)
    if read_multi:
        crep.pairs_in += read_multi
        crep.count("dropped: multi-word", n=read_multi)
    cov = None
    if src_vocab is not None or tgt_vocab is not None:
        c, cov = restrict_to_vocab(c, src_vocab, tgt_vocab)
    return BuildResult(c, sources, crep, cov, dictionary_stats(c))


def build(sources: Sources, opts: CleanOptions | None = None, *, src_vocab: Mapping[str, int] | None = None,
          tgt_vocab: Mapping[str, int] | None = None) -> BuildResult:
    """Read, merge, clean and restrict: one anchor dictionary from several sources (``opts``
    default: :class:`CleanOptions`'s defaults)."""
    d, reports = read_sources(sources)
    return clean_and_restrict(d, opts or CleanOptions(), reports, src_vocab=src_vocab, tgt_vocab=tgt_vocab)
