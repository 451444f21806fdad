"""Text corpora built from Debian packages with xling's own code (``xling data bench kjv-web|fr-text``).

``kjv-web``: the King James Bible (1611/1769) and the World English Bible (modern English) as two
CADE slices, from Debian's sword modules (``apt-get install diatheke sword-text-kjv sword-text-web``):

==============  ==========================================================================
``kjv.txt``     one verse a line, word tokens (letters, inner apostrophes), case kept
``web.txt``     the same for the WEB; books that are not in both Bibles (the WEB's
                deuterocanon) are left out, so both slices hold the same 66 books
``stats.json``  verses, tokens and books per slice, the sword modules and package versions
==============  ==========================================================================

``fr-text``: the French text of the vocabulary benchmark, from Debian's French documentation
(``apt-get install debian-handbook libreoffice-help-fr``, HTML read in place):

==================  ======================================================================
``train.txt``       one paragraph a line (prose only), from the files of the training part
``heldout.txt``     the same from the held-out files: 1 file in ``heldout_share`` (10), chosen
                    by a hash of its name (its path in Debian's layout, :func:`split_key`), so
                    no held-out paragraph is seen while choosing or training tokens
``stats.json``      files, paragraphs, words and characters of each part, package versions
==================  ======================================================================

Every file of a corpus is written at once (all or none, atomically); when all exist they are
kept and a rerun only reads the counts back. A missing package is a
:class:`~xling.data.benchmarks.MissingSource` naming the ``apt-get install`` line to run, raised
before anything is written; sources that give no text are an error too, never an empty corpus.
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from .benchmarks import Benchmark, BuildReport, Log, MissingSource, bench_dir, read_stats
from .errors import InputError, XlingError


def dpkg_versions(packages: Iterable[str]) -> dict[str, str | None]:
    """Installed versions of Debian packages (``dpkg-query``); None for one not installed or without dpkg."""
    out: dict[str, str | None] = {p: None for p in packages}
    exe = shutil.which("dpkg-query")
    if exe is None or not out:
        return out
    p = subprocess.run([exe, "-W", "-f=${Package}\t${Version}\n", *out], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        name, _, version = line.partition("\t")
        if name in out and version:
            out[name] = version
    return out


def _missing(packages: Sequence[str], looked: str = "") -> MissingSource:
    where = f" ({looked})" if looked else ""
    return MissingSource(f"missing {', '.join(packages)}{where}: run `apt-get install {' '.join(packages)}`")


def _all_exist(folder: Path, names: Sequence[str]) -> bool:
    return all((folder / n).is_file() for n in names)


def _kept(folder: Path, names: Sequence[str]) -> BuildReport:
    """The report of a corpus whose files are all there: nothing written, counts read back."""
    return BuildReport(os.fspath(folder), kept=list(names), stats=read_stats(folder / "stats.json"))


def _write_corpus(folder: Path, texts: dict[str, list[str]], stats: dict) -> list[str]:
    """Write each ``NAME: lines`` as a text file (one line each) and ``stats.json``, all at once."""
    from .atomic import atomic_paths

    names = [*texts, "stats.json"]
    with atomic_paths([folder / n for n in names]) as tmps:
        for tmp, lines in zip(tmps, texts.values(), strict=False):
            with open(tmp, "w", encoding="utf-8", newline="\n") as f:
                f.writelines(line + "\n" for line in lines)
        with open(tmps[-1], "w", encoding="utf-8") as f:
            json.dump(stats, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
    return names


def _tokens(lines: Iterable[str]) -> int:
    return sum(len(line.split()) for line in lines)


# ============================================================================ kjv-web
BIBLE_PACKAGES = {"kjv": "sword-text-kjv", "web": "sword-text-web"}
#: the sword module of each slice, as Debian's packages name them (any year's edition)
BIBLE_MODULE_NAMES = {"kjv": re.compile(r"(eng)?KJV(\d{4}eb)?", re.I), "web": re.compile(r"(eng)?WEB(\d{4}eb)?", re.I)}
BIBLE_KEYS = "Gen 1:1-Rev 22:21"
KJV_WEB_FILES = ("kjv.txt", "web.txt", "stats.json")

# a verse reference opens each verse: "Genesis 1:1: ", "I Samuel 3:4: ", "Esther (Greek) 1:1: ",
# at the start of a line or after markup (a psalm's title comes before its first verse)
_VERSE_REF = re.compile(r"(?:^|>)[ \t]*(?P<book>[1-4I]*[ ]?[A-Z][^<>:\n]*?) (?P<ch>\d+):(?P<v>\d+): ")
_NOTE = re.compile(r"<(note|title)\b.*?</\1>", re.S)
_GLOSSARY = re.compile(r"<div[^>]*type=\"glossary\"")  # the WEB appends its glossary to Rev 22:21
_TAG = re.compile(r"<[^>]*>")
_BIBLE_WORD = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)*")


def bible_tokens(markup: str) -> list[str]:
    """The words of a verse's OSIS text: notes and titles dropped, tags removed, ``’`` written ``'``."""
    text = _TAG.sub(" ", _NOTE.sub(" ", _GLOSSARY.split(markup)[0]))
    return [t.replace("\u2019", "'") for t in _BIBLE_WORD.findall(text)]


def parse_osis_verses(raw: str, module: str = "") -> list[tuple[str, str]]:
    """``(book, tokens)`` of every verse of diatheke's ``-f internal`` (OSIS) output.

    One verse a line, opened by its reference (``Genesis 1:1: ``); text before the reference
    (psalm titles) and the trailing ``(MODULE)`` line are dropped; verses without a word are
    skipped. ``tokens`` is the verse's words joined by one space.
    """
    if module:
        raw = raw.replace(f"({module})", "")
    out = []
    for line in raw.splitlines():
        m = _VERSE_REF.search(line)
        if m is None:
            continue
        toks = bible_tokens(line[m.end():])
        if toks:
            out.append((m.group("book").strip(), " ".join(toks)))
    return out


@dataclass
class BibleSlices:
    """Verses of several Bibles restricted to the books they all have."""

    verses: dict[str, list[str]]
    books: list[str]
    dropped: dict[str, list[str]] = field(default_factory=dict)


def common_books(parsed: dict[str, list[tuple[str, str]]]) -> BibleSlices:
    """Keep, in every slice, only the verses of books that every slice has (book order of the first slice).

    Raises :class:`XlingError` when a slice has no verse or the slices share no book.
    """
    for name, verses in parsed.items():
        if not verses:
            raise XlingError(f"{name}: no verse in diatheke's output (is the module empty?)")
    books_of = {name: list(dict.fromkeys(b for b, _ in verses)) for name, verses in parsed.items()}
    shared = set.intersection(*(set(b) for b in books_of.values()))
    if not shared:
        raise XlingError(f"{' and '.join(parsed)} share no book: {'; '.join(f'{n}: {b[0]} ...' for n, b in books_of.items())}")
    first = next(iter(books_of.values()))
    return BibleSlices(
        verses={name: [t for b, t in verses if b in shared] for name, verses in parsed.items()},
        books=[b for b in first if b in shared],
        dropped={name: [b for b in books if b not in shared] for name, books in books_of.items()})


def sword_bibles(diatheke: str = "diatheke") -> list[str]:
    """Names of the Bible text modules diatheke sees (``diatheke -b system -k modulelist``)."""
    p = subprocess.run([diatheke, "-b", "system", "-k", "modulelist"], capture_output=True, text=True)
    names, section = [], ""
    for line in p.stdout.splitlines():
        if line.endswith(":") and " : " not in line:
            section = line[:-1].strip()
        elif section == "Biblical Texts" and " : " in line:
            names.append(line.split(" : ", 1)[0].strip())
    return names


def pick_module(slice_name: str, available: Sequence[str]) -> str | None:
    """The installed module of a slice (``KJV``, ``engKJV2006eb``, ...): the last by name when several."""
    pattern = BIBLE_MODULE_NAMES[slice_name]
    hits = sorted(m for m in available if pattern.fullmatch(m))
    return hits[-1] if hits else None


def diatheke_text(module: str, diatheke: str = "diatheke", keys: str = BIBLE_KEYS) -> str:
    """diatheke's OSIS (``-f internal``) output of ``keys`` of a module."""
    p = subprocess.run([diatheke, "-b", module, "-f", "internal", "-k", keys], capture_output=True, text=True)
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or [f"exit code {p.returncode}"])[-1]
        raise XlingError(f"diatheke -b {module} failed: {err}")
    return p.stdout


def build_kjv_web(folder: str | os.PathLike | None = None, *, log: Log | None = None) -> BuildReport:
    """Build ``kjv.txt``, ``web.txt`` and ``stats.json`` (see the module's docstring) in ``folder``.

    The modules are found by name among those diatheke lists (:data:`BIBLE_MODULE_NAMES`).
    """
    say = log or (lambda s: None)
    out = Path(folder) if folder is not None else bench_dir(Benchmark("kjv-web"))
    if _all_exist(out, KJV_WEB_FILES):
        rep = _kept(out, KJV_WEB_FILES)
        rep.summary = bible_summary(rep.stats)
        return rep
    exe = shutil.which("diatheke")
    if exe is None:
        raise _missing(["diatheke", *BIBLE_PACKAGES.values()])
    available = sword_bibles(exe)
    modules = {s: pick_module(s, available) for s in BIBLE_PACKAGES}
    absent = [BIBLE_PACKAGES[s] for s, m in modules.items() if m is None]
    if absent:
        raise _missing(absent, "diatheke lists " + (", ".join(available) or "no Bible"))
    parsed = {}
    for s, m in modules.items():
        assert m is not None
        say(f"reading {m} with diatheke")
        parsed[s] = parse_osis_verses(diatheke_text(m, exe), m)
    slices = common_books(parsed)
    stats = {
        "slices": {s: {"module": modules[s], "verses": len(v), "tokens": _tokens(v),
                       "left_out_books": slices.dropped[s]} for s, v in slices.verses.items()},
        "books": len(slices.books), "keys": BIBLE_KEYS,
        "versions": dpkg_versions(["diatheke", *BIBLE_PACKAGES.values()]),
    }
    written = _write_corpus(out, {f"{s}.txt": v for s, v in slices.verses.items()}, stats)
    return BuildReport(os.fspath(out), written=written, stats=stats, summary=bible_summary(stats))


def bible_summary(stats: dict) -> str:
    parts = [f"{s} {st['verses']:,} verses / {st['tokens']:,} tokens" for s, st in stats.get("slices", {}).items()]
    return ", ".join(parts) + f" ({stats.get('books', 0)} books)"


# ============================================================================ fr-text
#: where Debian installs the French HTML of each package
FR_SOURCES = {"debian-handbook": "/usr/share/doc/debian-handbook/html/fr-FR",
              "libreoffice-help-fr": "/usr/share/libreoffice/help/fr/text"}
FR_TEXT_FILES = ("train.txt", "heldout.txt", "stats.json")
HELDOUT_SHARE = 10
_BLOCKS = {"p", "li", "td", "th", "h1", "h2", "h3", "h4", "dd", "dt", "title", "div"}
_SKIP = {"script", "style", "pre", "code", "kbd", "tt"}


class _Paragraphs(HTMLParser):
    """Text of each block element (``p``, ``li``, headings, ...), code and scripts left out."""

    def __init__(self, min_words: int, min_letters: float):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.buf: list[str] = []
        self.skip = 0
        self.min_words, self.min_letters = min_words, min_letters

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        if tag in _BLOCKS:
            self.flush()

    def handle_endtag(self, tag):
        if tag in _SKIP and self.skip:
            self.skip -= 1
        if tag in _BLOCKS:
            self.flush()

    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)

    def flush(self):
        text = re.sub(r"\s+", " ", html.unescape("".join(self.buf))).strip()
        self.buf = []
        if len(text.split()) >= self.min_words and sum(c.isalpha() for c in text) > self.min_letters * len(text):
            self.parts.append(text)


def html_paragraphs(text: str, min_words: int = 6, min_letters: float = 0.6) -> list[str]:
    """The prose paragraphs of an HTML page: each block's text with white space collapsed, kept
    when it has at least ``min_words`` words and more than ``min_letters`` of its characters are letters."""
    p = _Paragraphs(min_words, min_letters)
    p.feed(text)
    p.close()
    p.flush()
    return p.parts


def split_key(package: str, relpath: str) -> str:
    """The name a file is split by: its path in Debian's layout (``/usr/share/.../fr/text/x.html``),
    wherever the folder actually is; ``PACKAGE/relpath`` for a package not in :data:`FR_SOURCES`.

    Independent of where the files are read from, and the same split as the first benchmark runs
    (which hashed the installed path).
    """
    return f"{FR_SOURCES.get(package, package)}/{relpath}"


def is_heldout(key: str, share: int = HELDOUT_SHARE) -> bool:
    """Whether the file named ``key`` (:func:`split_key`) is held out: SHA-1 of the name modulo ``share`` is 0."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % share == 0


def html_files(sources: dict[str, str | os.PathLike]) -> list[tuple[str, str, Path]]:
    """``(split key, package, path)`` of every ``*.html`` under each package's folder, sorted by key."""
    found = []
    for package, root in sources.items():
        root = Path(root)
        found += [(split_key(package, f.relative_to(root).as_posix()), package, f) for f in root.rglob("*.html")]
    return sorted(found)


def french_paragraphs(sources: dict[str, str | os.PathLike], share: int = HELDOUT_SHARE
                      ) -> tuple[list[str], list[str], dict]:
    """``(train, heldout, counts)`` paragraphs of the HTML files of ``sources`` ({package: folder}).

    Files in key order; a paragraph already seen (LibreOffice's help repeats boilerplate) is kept
    once, where it first appears. A file that is not UTF-8 is an :class:`InputError`.
    """
    train: list[str] = []
    held: list[str] = []
    seen: set[str] = set()
    files = {"train": 0, "heldout": 0}
    per_package = {p: 0 for p in sources}
    repeated = 0
    for key, package, path in html_files(sources):
        try:
            page = path.read_text(encoding="utf-8", errors="strict")
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 (byte {e.start})", path) from None
        part = "heldout" if is_heldout(key, share) else "train"
        files[part] += 1
        per_package[package] += 1
        dest = held if part == "heldout" else train
        for para in html_paragraphs(page):
            if para in seen:
                repeated += 1
                continue
            seen.add(para)
            dest.append(para)
    counts = {"files": files, "files_per_package": per_package, "repeated_paragraphs": repeated}
    return train, held, counts


def build_fr_text(folder: str | os.PathLike | None = None, *, sources: dict[str, str | os.PathLike] | None = None,
                  debian_handbook_dir: str | os.PathLike | None = None,
                  libreoffice_help_dir: str | os.PathLike | None = None,
                  heldout_share: int = HELDOUT_SHARE, log: Log | None = None) -> BuildReport:
    """Build ``train.txt``, ``heldout.txt`` and ``stats.json`` (see the module's docstring) in ``folder``.

    ``sources`` ({Debian package: folder of its French HTML}) defaults to :data:`FR_SOURCES`;
    ``debian_handbook_dir`` / ``libreoffice_help_dir`` replace one package's folder.
    """
    given = {p: d for p, d in (("debian-handbook", debian_handbook_dir), ("libreoffice-help-fr", libreoffice_help_dir))
             if d is not None}
    if given:
        sources = {**(FR_SOURCES if sources is None else sources), **given}
    say = log or (lambda s: None)
    out = Path(folder) if folder is not None else bench_dir(Benchmark("fr-text"))
    if _all_exist(out, FR_TEXT_FILES):
        rep = _kept(out, FR_TEXT_FILES)
        rep.summary = fr_text_summary(rep.stats)
        return rep
    if heldout_share < 2:
        raise XlingError(f"heldout_share must be at least 2 (1 file in N is held out), not {heldout_share}")
    src = dict(FR_SOURCES if sources is None else sources)
    absent = [p for p, d in src.items() if not Path(d).is_dir()]
    if absent:
        raise _missing(absent, "looked in " + ", ".join(os.fspath(src[p]) for p in absent))
    say("reading " + ", ".join(f"{p} ({d})" for p, d in src.items()))
    train, held, counts = french_paragraphs(src, heldout_share)
    empty = [p for p, n in counts["files_per_package"].items() if n == 0]
    if empty:
        raise XlingError(f"no HTML file in {', '.join(os.fspath(src[p]) for p in empty)} "
                         f"(is {', '.join(empty)} complete? `apt-get install --reinstall {' '.join(empty)}`)")
    for part, key, lines in (("training", "train", train), ("held-out", "heldout", held)):
        if not lines:
            n = counts["files"][key]
            raise XlingError(f"no French paragraph in the {part} part ({n} file{'s' * (n != 1)}) of "
                             f"{', '.join(str(d) for d in src.values())}: nothing written")
    stats = {
        **counts,
        "train": {"paragraphs": len(train), "words": _tokens(train), "chars": sum(map(len, train))},
        "heldout": {"paragraphs": len(held), "words": _tokens(held), "chars": sum(map(len, held))},
        "heldout_share": heldout_share,
        "versions": dpkg_versions(src) if sources is None else {},
    }
    written = _write_corpus(out, {"train.txt": train, "heldout.txt": held}, stats)
    return BuildReport(os.fspath(out), written=written, stats=stats, summary=fr_text_summary(stats))


def fr_text_summary(stats: dict) -> str:
    tr, he = stats.get("train", {}), stats.get("heldout", {})
    return (f"train {tr.get('paragraphs', 0):,} paragraphs / {tr.get('words', 0):,} words, "
            f"held-out {he.get('paragraphs', 0):,} paragraphs / {he.get('words', 0):,} words")
