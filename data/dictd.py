"""dictd dictionaries (FreeDict as installed by Debian in ``/usr/share/dictd/``).

A dictionary is two files:

* ``NAME.index``: one line per headword, ``headword<TAB>offset<TAB>length``, where offset and
  length are numbers written in dictd's base64 digits (``A``=0 … ``Z``=25, ``a``=26 … ``z``=51,
  ``0``=52 … ``9``=61, ``+``=62, ``/``=63; most significant digit first, no padding);
* ``NAME.dict.dz``: the entries, gzip-compressed (dictzip adds a random-access table in the gzip
  header; a plain gzip reader reads it), or ``NAME.dict`` uncompressed.

A FreeDict entry starts with ``headword /IPA/ <pos>``; then come translations, one sense a line,
sometimes numbered (``1. abandonner, délaisser``), with notes in ``[..]``, ``<..>``, ``{..}`` or
``(..)``, and ``see: ...`` / ``Synonyms: ...`` lines, which are not translations.
"""
from __future__ import annotations

import gzip
import os
import re
import zlib
from pathlib import Path

from .dictionary import BilingualDictionary
from .errors import InputError
from .sources import PairCollector, SourceReport, origin_name

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUE = {c: i for i, c in enumerate(_B64)}
_SENSE_NUMBER = re.compile(r"^\s*\d+\s*[.)]\s*")
_NOTES = re.compile(r"\[[^\]]*\]|<[^>]*>|\{[^}]*\}|\([^)]*\)")
_SEE_LINE = re.compile(r"^(see(\s+also)?|synonyms?|syn|antonyms?|ant|cf|compare)\s*[:.]", re.I)
_NOTE_LINE = re.compile(r"^(notes?|examples?|e\.g|usage)\s*[:.]", re.I)
_EXAMPLE_START = ("\"", "“", "„", "«", "‘", "'")


def decode_b64_number(text: str) -> int:
    """Decode one dictd base64 number (``"LOB"`` → 45953). Raises ValueError on a bad digit."""
    if not text:
        raise ValueError("empty number")
    n = 0
    for c in text:
        v = _B64_VALUE.get(c)
        if v is None:
            raise ValueError(f"{c!r} is not a dictd base64 digit")
        n = n * 64 + v
    return n


def dictd_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(index, data)`` paths from either file or the common base name (``.../freedict-eng-fra``)."""
    p = Path(path)
    name = p.name
    for ext in (".index", ".dict.dz", ".dict"):
        if name.endswith(ext):
            p = p.with_name(name[: -len(ext)])
            break
    index = p.with_name(p.name + ".index")
    if not index.exists():
        raise InputError("no such dictd index (expected NAME.index beside NAME.dict.dz)", index)
    for ext in (".dict.dz", ".dict"):
        data = p.with_name(p.name + ext)
        if data.exists():
            return index, data
    raise InputError("no such dictd data file (expected NAME.dict.dz or NAME.dict)", p.with_name(p.name + ".dict.dz"))


def read_dictd_data(path: str | os.PathLike) -> bytes:
    """The uncompressed bytes of a ``.dict.dz`` (gzip/dictzip) or ``.dict`` file."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        if path.name.endswith(".dz"):
            raise InputError("not a gzip/dictzip file (bad magic number)", path)
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise InputError("truncated gzip data (the file ends before the end of the compressed stream)",
                         path) from None
    except (OSError, zlib.error) as e:
        raise InputError(f"corrupt gzip data: {e}", path) from None


def read_dictd_index(path: str | os.PathLike) -> list[tuple[str, int, int, int]]:
    """``[(headword, offset, length, line number)]`` from a dictd ``.index`` file."""
    out = []
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip(b"\n").rstrip(b"\r")
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"not UTF-8: {e.reason} at byte {e.start}", path, lineno) from None
            fields = text.split("\t")
            if len(fields) < 3:
                raise InputError(f"expected 'headword<TAB>offset<TAB>length', found {len(fields)} field(s)",
                                 path, lineno)
            try:
                off, length = decode_b64_number(fields[1]), decode_b64_number(fields[2])
            except ValueError as e:
                raise InputError(f"bad offset/length: {e}", path, lineno) from None
            out.append((fields[0], off, length, lineno))
    return out


def entry_headword(text: str, index_headword: str) -> str:
    """The headword as the entry's first line spells it (``well-known /welnoun/`` → ``well-known``).

    dictfmt writes index keys without punctuation (``wellknown``), so the index is only the
    fallback, used when the first line has no headword.
    """
    first = text.split("\n", 1)[0]
    first = _NOTES.sub(" ", first)
    cut = first.find(" /")
    if cut >= 0:
        first = first[:cut]
    first = " ".join(first.split())
    return first or index_headword


def parse_entry(text: str) -> tuple[list[str], dict[str, int]]:
    """Translations in one FreeDict entry (headword line excluded) and counts of skipped lines.

    1. the first line is the headword line (``word /IPA/ <pos>``): skipped;
    2. ``see:``, ``Synonyms:``, example and note lines are skipped;
    3. a leading sense number (``2.``) is removed, then notes in ``[..] <..> {..} (..)``;
    4. the rest is split on ``,`` and ``;`` into translations.
    """
    skipped: dict[str, int] = {}
    out: list[str] = []
    for line in text.split("\n")[1:]:
        s = line.strip()
        if not s:
            continue
        key = "see/synonym line" if _SEE_LINE.match(s) else \
            "note/example line" if _NOTE_LINE.match(s) or s.startswith(_EXAMPLE_START) else None
        if key:
            skipped[key] = skipped.get(key, 0) + 1
            continue
        s = _SENSE_NUMBER.sub("", s)
        s, n_notes = _NOTES.subn(" ", s)
        if n_notes:
            skipped["notes removed"] = skipped.get("notes removed", 0) + n_notes
        for part in re.split(r"[,;]", s):
            part = " ".join(part.split())
            if part:
                out.append(part)
    return out, skipped


def read_dictd(path: str | os.PathLike, *, origin: str | None = None,
               progress=None) -> tuple[BilingualDictionary, SourceReport]:
    """Read a dictd dictionary into (headword, translation) pairs.

    Parameters
    ----------
    path : the ``.index``, the ``.dict.dz``, or their common base name.
    origin : label of the pairs (default ``"dictd:NAME"``).
    progress : optional ``callback(done, total)``.

    Returns
    -------
    (BilingualDictionary with origins, SourceReport). Multi-word headwords and translations are
    kept (the cleaner's single-word filter counts them); database-information entries
    (``00databaseinfo`` ...) are skipped. The headword is taken from the entry's first line
    (the index keys lose punctuation: ``wellknown`` for *well-known*).
    """
    index, data_path = dictd_paths(path)
    entries = read_dictd_index(index)
    data = read_dictd_data(data_path)
    rep = SourceReport("dictd", os.fspath(index))
    col = PairCollector(rep, origin or origin_name("dictd", index))
    for n, (head, off, length, lineno) in enumerate(entries):
        if off + length > len(data):
            raise InputError(f"entry {head!r} points past the end of the data (bytes {off}..{off + length}, "
                             f"{os.path.basename(data_path)} has {len(data)} bytes)", index, lineno)
        head = head.strip()
        if head.startswith(("00database", "00-database")) or not head:
            rep.skip("database information entry")
            continue
        rep.read += 1
        try:
            text = data[off: off + length].decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"entry {head!r} is not UTF-8 ({e.reason})", index, lineno) from None
        head = entry_headword(text, head)
        translations, skipped = parse_entry(text)
        for k, v in skipped.items():
            rep.skip(k, v)
        if not translations:
            rep.skip("entry without translation")
        for t in translations:
            col.add(head, t)
        if progress is not None and n % 1000 == 0:
            progress(n, len(entries))
    return col.result()
