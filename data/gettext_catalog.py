"""gettext message catalogs (``.po`` text and compiled ``.mo``) as anchor pairs.

Translated software is a parallel corpus of short strings: ``msgid`` (usually English) and
``msgstr`` (the translation). Two ways to get pairs:

* one catalog: ``msgid → msgstr`` (English → its language);
* two catalogs of the same program in two languages: messages joined on (domain, context,
  msgid), giving ``msgstr(src catalog) → msgstr(tgt catalog)``.

Single-word messages give a pair each; with ``word_pairs=True`` short messages with the same
number of words on both sides also give one pair per position (noisier: word order differs
between languages).
"""
from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .dictionary import BilingualDictionary
from .errors import InputError
from .sources import PairCollector, SourceReport, tokens

MO_MAGIC = 0x950412DE
CONTEXT_SEP = "\x04"  # msgctxt and msgid are joined by EOT in .mo files
_PLACEHOLDER = re.compile(r"%|\$\(|\$\{|\{[0-9A-Za-z_]*\}|<[^>]*>|&[a-z]+;|[\\|;=@#\n\t]")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            "'": "'", "?": "?"}


@dataclass(frozen=True)
class Message:
    """One catalog entry; plural forms keep only the singular ``msgid`` and ``msgstr[0]``."""

    context: str | None
    msgid: str
    msgstr: str
    fuzzy: bool = False


@dataclass(frozen=True)
class Catalog:
    path: str
    domain: str
    messages: tuple[Message, ...]
    header: str = ""

    @property
    def accelerator(self) -> str | None:
        """The ``X-Accelerator-Marker`` named in the header, if any (LibreOffice: ``~``)."""
        m = re.search(r"^X-Accelerator-Marker:\s*(\S)", self.header, re.M)
        return m.group(1) if m else None


# ----------------------------------------------------------------------------- .mo

def read_mo(path: str | os.PathLike) -> Catalog:
    """Read a compiled catalog (GNU ``.mo``, either byte order), checking every offset.

    Raises :class:`InputError` naming the file on a bad magic number, an unknown revision, or a
    table or string that points past the end of the file.
    """
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 20:
        raise InputError(f"not a .mo file: {len(data)} bytes, shorter than the header", path)
    # 1. byte order from the magic number
    if struct.unpack("<I", data[:4])[0] == MO_MAGIC:
        bo = "<"
    elif struct.unpack(">I", data[:4])[0] == MO_MAGIC:
        bo = ">"
    else:
        raise InputError(f"not a .mo file: bad magic number 0x{data[:4].hex()} (expected 0x950412de)", path)
    revision, n, orig_off, trans_off = struct.unpack(bo + "4I", data[4:20])
    if revision >> 16 not in (0, 1):
        raise InputError(f"unknown .mo major revision {revision >> 16}", path)

    # 2. the two tables of (length, offset), then the strings they point to
    def table(off: int, what: str) -> list[tuple[int, int]]:
        end = off + 8 * n
        if end > len(data):
            raise InputError(f"{what} table ({n} entries at byte {off}) runs past the end of the file "
                             f"({len(data)} bytes)", path)
        flat = struct.unpack_from(f"{bo}{2 * n}I", data, off)
        return list(zip(flat[0::2], flat[1::2], strict=True))

    def string(i: int, length: int, off: int, what: str) -> bytes:
        if off + length > len(data):
            raise InputError(f"{what} {i} (bytes {off}..{off + length}) points past the end of the file "
                             f"({len(data)} bytes)", path)
        return data[off: off + length]

    raw = [(string(i, *o, "msgid"), string(i, *t, "msgstr"))
           for i, (o, t) in enumerate(zip(table(orig_off, "msgid"), table(trans_off, "msgstr"), strict=True))]
    # 3. decode with the charset named in the header (the entry with an empty msgid)
    charset = "utf-8"
    for k, v in raw:
        if k == b"":
            m = re.search(rb"charset=([A-Za-z0-9_.:-]+)", v)
            if m and m.group(1).upper() != b"CHARSET":
                charset = m.group(1).decode("ascii")
    header, msgs = "", []
    for i, (k, v) in enumerate(raw):
        try:
            ks, vs = k.decode(charset), v.decode(charset)
        except (UnicodeDecodeError, LookupError) as e:
            raise InputError(f"message {i} cannot be decoded as {charset}: {e}", path) from None
        if not ks:
            header = vs
            continue
        ctx = None
        if CONTEXT_SEP in ks:
            ctx, ks = ks.split(CONTEXT_SEP, 1)
        msgs.append(Message(ctx, ks.split("\x00")[0], vs.split("\x00")[0]))
    return Catalog(os.fspath(path), _domain(path), tuple(msgs), header)


# ----------------------------------------------------------------------------- .po

def _unquote(s: str, path, lineno: int) -> str:
    s = s.strip()
    if len(s) < 2 or s[0] != '"' or s[-1] != '"':
        raise InputError(f"expected a quoted string, found {s[:40]!r}", path, lineno)
    out, i, body = [], 0, s[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            e = body[i + 1]
            if e in _ESCAPES:
                out.append(_ESCAPES[e])
                i += 2
                continue
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            if m is not None:  # an octal escape: 1 to 3 digits
                out.append(chr(int(m.group(0), 8)))
                i += 1 + len(m.group(0))
                continue
            raise InputError(f"unknown escape \\{e}", path, lineno)
        if c == '"':
            raise InputError("unescaped quote inside a string", path, lineno)
        out.append(c)
        i += 1
    return "".join(out)


def read_po(path: str | os.PathLike) -> Catalog:
    """Read a ``.po`` file (UTF-8). Obsolete ``#~`` entries are skipped; ``#, fuzzy`` is kept as a flag.

    A line that is not a comment, keyword or quoted continuation is an error naming the line.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as e:
        bad_line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise InputError(f"not UTF-8: {e.reason}", path, bad_line) from None
    msgs: list[Message] = []
    header = ""
    cur: dict[str, str] = {}
    field_name: str | None = None
    fuzzy = next_fuzzy = False

    def flush():
        nonlocal header, cur
        if "msgid" in cur:
            if cur["msgid"] == "" and cur.get("msgctxt") is None:
                header = cur.get("msgstr", "")
            else:
                msgs.append(Message(cur.get("msgctxt"), cur["msgid"], cur.get("msgstr", ""), fuzzy))
        cur = {}

    kw = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*)$")
    for lineno, line in enumerate(lines, 1):
        s = line.strip()
        if lineno == 1 and s.startswith("\ufeff"):
            s = s[1:]
        if not s:
            continue
        if s.startswith("#"):
            if s.startswith("#,") and "fuzzy" in s:
                next_fuzzy = True
            continue  # comments, flags, references, obsolete #~ entries
        m = kw.match(s)
        if m:
            key, plural_n, rest = m.group(1), m.group(2), m.group(3)
            if key in ("msgctxt", "msgid") and ("msgstr" in cur or (key == "msgctxt" and "msgid" in cur)):
                flush()
            if key in ("msgctxt", "msgid") and not cur:
                fuzzy, next_fuzzy = next_fuzzy, False
            if key.startswith("msgstr") and "msgid" not in cur:
                raise InputError("msgstr without a msgid before it", path, lineno)
            if plural_n is not None:
                key = "msgstr" if plural_n == "0" else None
            field_name = key
            if key is not None:
                cur[key] = _unquote(rest, path, lineno)
            continue
        if s.startswith('"'):
            if field_name is None and not cur:
                raise InputError("string continuation outside an entry", path, lineno)
            if field_name is not None:
                cur[field_name] += _unquote(s, path, lineno)
            continue
        raise InputError(f"not a .po line: {s[:40]!r}", path, lineno)
    flush()
    return Catalog(os.fspath(path), _domain(path), tuple(msgs), header)


def _domain(path: Path) -> str:
    return path.name.rsplit(".", 1)[0]


def read_catalog(path: str | os.PathLike) -> Catalog:
    """A ``.mo`` or ``.po`` file, by its first bytes (``.mo`` starts with the magic number)."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    with open(path, "rb") as f:
        head = f.read(4)
    if path.suffix == ".mo" or (len(head) == 4 and MO_MAGIC in struct.unpack("<I", head) + struct.unpack(">I", head)):
        return read_mo(path)
    return read_po(path)


def find_catalogs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given, folders expanded to the ``.mo``/``.po`` files under them (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix in (".mo", ".po") and q.is_file())
            if not found:
                raise InputError("no .mo or .po file in this folder", p)
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise InputError("no such file", p)
    return out


# ----------------------------------------------------------------------------- pairs

def strip_accelerator(text: str, marker: str | None = None) -> str:
    """Remove keyboard accelerators: ``"(~b)"`` suffixes, the marker before a letter (``"~End"``),
    and GTK's ``_`` at the start of a word (``"_Apply"``)."""
    marks = "".join(sorted(set((marker or "") + "~")))
    text = re.sub(r"\s*\(\s*[" + re.escape(marks + "_&") + r"]\w\s*\)", "", text)
    text = re.sub(r"(?:^|(?<=\s))_(?=\w)", "", text)
    return re.sub("[" + re.escape(marks) + r"](?=\w)", "", text)


def message_pairs(src_texts: Sequence[str], tgt_texts: Sequence[str], report: SourceReport, collector: PairCollector,
                  *, word_pairs: bool = False, max_words: int = 3) -> None:
    """Add the pairs of aligned messages ``src_texts[i] ↔ tgt_texts[i]`` to ``collector``.

    1. empty translations and strings with placeholders or markup (``%s``, ``$(ARG1)``, ``<b>``,
       ``;`` lists) are skipped;
    2. both sides are split into words (punctuation around words trimmed);
    3. one word on each side → a pair; with ``word_pairs``, ``n ≤ max_words`` words on each
       side → ``n`` pairs by position; anything else is a counted skip.
    """
    for s, t in zip(src_texts, tgt_texts, strict=False):
        report.read += 1
        if not s.strip() or not t.strip():
            report.skip("untranslated message")
            continue
        if _PLACEHOLDER.search(s) or _PLACEHOLDER.search(t):
            report.skip("placeholder or markup in message")
            continue
        ws, wt = tokens(s), tokens(t)
        if not ws or not wt:
            report.skip("no word in message")
        elif len(ws) == 1 and len(wt) == 1:
            collector.add(ws[0], wt[0])
        elif word_pairs and len(ws) == len(wt) <= max_words:
            report.skip("multi-word message split into word pairs")
            for a, b in zip(ws, wt, strict=True):
                collector.add(a, b)
        else:
            report.skip("multi-word message")


def gettext_pairs(tgt_catalogs: Sequence[Catalog], src_catalogs: Sequence[Catalog] | None = None, *,
                  word_pairs: bool = False, max_words: int = 3, include_fuzzy: bool = False,
                  origin: str = "gettext") -> tuple[BilingualDictionary, SourceReport]:
    """Word pairs from catalogs.

    Parameters
    ----------
    tgt_catalogs : catalogs in the target language.
    src_catalogs : None: pairs are ``msgid → msgstr`` of ``tgt_catalogs``. Otherwise catalogs of
        the same program(s) in the source language: messages are joined on (domain, context, msgid)
        and pairs are ``msgstr(src) → msgstr(tgt)``.
    word_pairs, max_words : also pair words by position in messages of ``n ≤ max_words`` words
        on both sides.
    include_fuzzy : keep translations flagged fuzzy in ``.po`` files (default: skipped).
    """
    paths = ",".join(c.path for c in tgt_catalogs[:3]) + (",..." if len(tgt_catalogs) > 3 else "")
    rep = SourceReport("gettext", paths)
    col = PairCollector(rep, origin)

    def usable(cat: Catalog):
        for m in cat.messages:
            if m.fuzzy and not include_fuzzy:
                rep.skip("fuzzy translation")
                continue
            yield m, strip_accelerator(m.msgid, cat.accelerator), strip_accelerator(m.msgstr, cat.accelerator)

    if src_catalogs is None:
        src_t, tgt_t = [], []
        for cat in tgt_catalogs:
            for _, mid, mstr in usable(cat):
                src_t.append(mid)
                tgt_t.append(mstr)
    else:
        src_index: dict[tuple, str] = {}
        for cat in src_catalogs:
            for m, _, mstr in usable(cat):
                if mstr.strip():
                    src_index.setdefault((cat.domain, m.context, m.msgid), mstr)
        src_t, tgt_t = [], []
        for cat in tgt_catalogs:
            for m, _, mstr in usable(cat):
                key = (cat.domain, m.context, m.msgid)
                if key not in src_index:
                    rep.skip("message not in the source-language catalogs")
                    continue
                src_t.append(src_index[key])
                tgt_t.append(mstr)
    message_pairs(src_t, tgt_t, rep, col, word_pairs=word_pairs, max_words=max_words)
    return col.result()
