"""What every anchor-pair reader returns: pairs with their origin, and a report of what was skipped.

Readers live in :mod:`.dictd`, :mod:`.gettext_catalog`, :mod:`.cldr` and :mod:`.identical`;
each returns ``(BilingualDictionary with origins, SourceReport)``. Words are split into
single tokens here, with the same rules for every source.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field

from .dictionary import BilingualDictionary

# punctuation trimmed from both ends of a token taken out of running text
_TRIM = " \t\"'.,;:!?…()[]{}<>«»‹›“”„‘’‚–—*·/\\|"
_SPACE = re.compile(r"\s+")


@dataclass
class SourceReport:
    """Counts of what a reader read and what it skipped (one counter per reason)."""

    source: str
    path: str
    read: int = 0  # entries (headwords, messages, annotations) read
    pairs: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] += n

    def as_dict(self) -> dict:
        return {"source": self.source, "path": self.path, "entries_read": self.read, "pairs": self.pairs,
                "skipped": dict(self.skipped.most_common())}


def trim_token(tok: str) -> str:
    """Strip surrounding punctuation and spaces (never characters inside the word)."""
    return tok.strip(_TRIM)


def tokens(text: str) -> list[str]:
    """Split running text on any Unicode whitespace and trim punctuation; empty tokens dropped."""
    return [t for t in (trim_token(x) for x in _SPACE.split(text)) if t]


def is_single_word(text: str) -> bool:
    """True when ``text`` has no whitespace inside it (after trimming)."""
    t = text.strip()
    return bool(t) and _SPACE.search(t) is None


class PairCollector:
    """Collects (src, tgt) pairs with their origin, dropping repeats (the first wins)."""

    def __init__(self, report: SourceReport, origin: str):
        self.report, self.origin = report, origin
        self._pairs: list[tuple[str, str]] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, src: str, tgt: str) -> None:
        p = (src, tgt)
        if p in self._seen:
            self.report.skip("duplicate pair")
            return
        self._seen.add(p)
        self._pairs.append(p)

    def result(self) -> tuple[BilingualDictionary, SourceReport]:
        self.report.pairs = len(self._pairs)
        return BilingualDictionary(tuple(self._pairs), None, (self.origin,) * len(self._pairs)), self.report


def origin_name(kind: str, path: str | os.PathLike) -> str:
    """``"dictd:freedict-eng-fra"``: a short origin label for pairs read from ``path``."""
    base = os.path.basename(os.fspath(path).rstrip("/"))
    for ext in (".dict.dz", ".index", ".dict", ".mo", ".po", ".xml", ".tsv", ".txt", ".vec"):
        if base.endswith(ext):
            base = base[: -len(ext)]
            break
    return f"{kind}:{base}"
