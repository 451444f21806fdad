"""The manual works as written: every example in README.md, CONTRIBUTING.md and docs/ is run or checked.

Fenced blocks are tagged:

- ```` ```sh ```` and ```` ```python ````: run, in order, page by page, in one temporary folder per page
  that holds tiny stand-ins, under the names the manual uses, for what a ``system`` block builds:
  ``bench-en-fr/``, a tiny version of the public en→fr benchmark (the files of
  ``xling data bench en-fr``, made from the demo data shipped in the package); ``bible-text/``
  (``kjv.txt``, ``web.txt``: a dozen real verses of each Bible, repeated, as
  ``xling data bench kjv-web`` writes them); ``fr-text/`` (``train.txt``, ``heldout.txt``: French
  lines, as ``xling data bench fr-text`` writes them); ``minilm/`` (a one-layer BERT with a
  WordPiece tokenizer trained here, the files of all-MiniLM-L6-v2's folder);
- ```` ```sh bench ```` / ```` ```python bench ```` (needs the full benchmark or a long run) and
  ```` ```sh system ```` / ```` ```python system ```` (needs Debian packages, a model or a corpus that
  the tests do not have): not run; every ``xling`` command line must name existing commands and
  options, every ``python`` script it runs must exist, every ``from xling... import`` must
  resolve, and the block must parse;
- ```` ```text ````, ```` ```toml ````, ...: shown only. A shell or Python block without one of the
  tags above fails the test.

``docs/cli.md`` is generated from the Typer app; it must be what ``docs/gen_cli.py`` writes now.
"""
from __future__ import annotations

import ast
import os
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p for p in [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")]
               if p.exists())
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
RUN = {"sh", "python"}
CHECK = {"bench", "system"}
SHOWN = {"text", "toml", "json", "tsv", "markdown", "md", "diff"}


def blocks(page: Path) -> list[tuple[str, str, str, int]]:
    """(language, qualifier, code, line) of every fenced block of a page."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        info = m.group(1).split()
        lang, qual = (info + ["", ""])[:2]
        out.append((lang, qual, m.group(2), text.count("\n", 0, m.start()) + 1))
    return out


def rel(page: Path) -> str:
    return str(page.relative_to(ROOT))


# --- the command reference ------------------------------------------------------------------

def test_cli_reference_is_generated_from_the_app():
    gen = runpy.run_path(str(ROOT / "docs" / "gen_cli.py"))
    assert gen["main"](["--check"]) == 0, "docs/cli.md is out of date: run python docs/gen_cli.py"


def test_readme_is_short():
    assert (ROOT / "README.md").stat().st_size <= 15_000


def test_pages_link_to_existing_files():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (page.parent / target).exists(), f"{rel(page)}: link to missing {target}"


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_block_is_tagged(page):
    for lang, qual, _code, line in blocks(page):
        where = f"{rel(page)}:{line}"
        if lang in RUN:
            assert qual in ("", *CHECK), f"{where}: unknown qualifier {qual!r} (use bench or system)"
        else:
            assert lang in SHOWN, f"{where}: tag the block sh/python (run), sh bench/system (checked) or text"


# --- static checks of every block -------------------------------------------------------------

def _xling_tree():
    import typer

    from xling.cli.main import app

    root = typer.main.get_command(app)
    return root, root.context_class(root, info_name="xling")


def _shell_commands(code: str) -> list[list[str]]:
    """The simple commands of a shell block (continuations joined, split at pipes and lists)."""
    joined = re.sub(r"\\\n", " ", code)
    out = []
    heredoc = None
    for line in joined.split("\n"):
        if heredoc is not None:  # skip the body of a here-document
            if line.strip() == heredoc:
                heredoc = None
            continue
        m = re.search(r"<<-?\s*'?(\w+)'?", line)
        if m:
            heredoc = m.group(1)
            line = line[:m.start()]
        line = line.split(" #")[0] if not line.lstrip().startswith("#") else ""
        for part in re.split(r"\|\||&&|[|;&]", line):
            try:
                words = shlex.split(part)
            except ValueError:
                continue
            while words and re.match(r"^\w+=", words[0]):  # VAR=value before a command
                words = words[1:]
            if words:
                out.append(words)
    return out


def check_xling_line(words: list[str], root, ctx) -> str | None:
    """Why this ``xling ...`` command line would fail to parse, or None."""
    cmd, path = root, ["xling"]
    i = 1
    while hasattr(cmd, "list_commands") and i < len(words):
        w = words[i]
        if w.startswith("-"):
            if w in ("-q", "--quiet", "--version", "-h", "--help"):
                i += 1
                continue
            return f"{' '.join(path)}: unknown option {w}"
        sub = cmd.get_command(ctx, w)
        if sub is None:
            return f"{' '.join(path)}: no command {w!r}"
        cmd, ctx, path = sub, sub.context_class(sub, info_name=w, parent=ctx), [*path, w]
        i += 1
    names = {"--help", "-h"}
    for p in cmd.params:
        names.update(getattr(p, "opts", ()))
        names.update(getattr(p, "secondary_opts", ()))
    for w in words[i:]:
        if w == "--":
            break
        if w.startswith("-") and w != "-" and not re.match(r"^-\d", w):
            flag = w.split("=", 1)[0]
            if flag not in names:
                return f"{' '.join(path)}: unknown option {flag}"
    return None


def check_block(lang: str, code: str) -> list[str]:
    problems = []
    if lang == "python":
        try:
            tree = ast.parse(code)
        except SyntaxError as e:
            return [f"syntax error: {e}"]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "xling":
                import importlib

                mod = importlib.import_module(node.module)
                for alias in node.names:
                    if not hasattr(mod, alias.name):
                        try:
                            importlib.import_module(f"{node.module}.{alias.name}")
                        except ImportError:
                            problems.append(f"from {node.module} import {alias.name}: no such name")
        return problems
    syntax = subprocess.run(["bash", "-n"], input=code, text=True, capture_output=True)
    if syntax.returncode:
        problems.append(f"shell syntax: {syntax.stderr.strip()}")
    root, ctx = _xling_tree()
    for words in _shell_commands(code):
        if words[0] == "xling":
            why = check_xling_line(words, root, ctx)
            if why:
                problems.append(f"{' '.join(words)}\n    -> {why}")
        elif words[0] in ("python", "python3") and len(words) > 1 and words[1].endswith(".py"):
            if not (ROOT / words[1]).exists():
                problems.append(f"{words[1]}: no such script in the repository")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_command_and_import_exists(page):
    problems = []
    for lang, _qual, code, line in blocks(page):
        if lang in RUN:
            problems += [f"{rel(page)}:{line}: {p}" for p in check_block(lang, code)]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_unknown_commands_and_flags():
    assert check_block("sh", "xling align a.vec b.vec -o out/ --seed 1") == []
    assert check_block("sh", "xling lexicon eval a b --dict d | head -3") == []
    assert "unknown option --no-such-flag" in check_block("sh", "xling align a b --no-such-flag 3")[0]
    assert "no command 'evaluate'" in check_block("sh", "xling lexicon evaluate a b")[0]
    assert "no such script" in check_block("sh", "python bench/nope.py x")[0]
    assert "no such name" in check_block("python", "from xling.data.vectors import nope")[0]
    assert "syntax" in check_block("python", "def f(:\n")[0]


# --- running the examples ---------------------------------------------------------------------

def _write_vec(path: Path, words, mat: np.ndarray) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{len(words)} {mat.shape[1]}\n")
        for w, row in zip(words, mat, strict=True):
            f.write(w + " " + " ".join(f"{v:.5g}" for v in row) + "\n")


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory) -> Path:
    """bench-en-fr/ as ``xling data bench en-fr`` writes it, from the package's demo data
    (real GloVe / French vectors and dictionaries, a few thousand words)."""
    from importlib.resources import files

    from xling.data.vectors import load_embeddings

    demo = Path(str(files("xling.data").joinpath("demo")))
    if not (demo / "en.npy").exists():
        pytest.skip("the demo data (data/demo) is not in this checkout")
    out = tmp_path_factory.mktemp("bench") / "bench-en-fr"
    out.mkdir()
    en = load_embeddings(demo / "en.npy", mmap_cache=False)
    fr = load_embeddings(demo / "fr.npy", mmap_cache=False)
    _write_vec(out / "en.vec", en.words, en.vectors.astype(np.float32))
    _write_vec(out / "fr.vec", fr.words, fr.vectors.astype(np.float32))
    y = fr.vectors.astype(np.float64)
    y = y - y.mean(0)
    _, _, vt = np.linalg.svd(y, full_matrices=False)
    _write_vec(out / "fr50.vec", fr.words, (y @ vt[:50].T).astype(np.float32))
    (out / "en-fr.train.tsv").write_bytes((demo / "en-fr.seed.tsv").read_bytes())
    (out / "en-fr.test.tsv").write_bytes((demo / "en-fr.test.tsv").read_bytes())
    return out


@pytest.fixture(scope="module")
def tiny_sources(tmp_path_factory) -> dict[str, str]:
    """Tiny real-format copies of the Debian sources docs/data.md reads (a FreeDict dictd pair,
    LibreOffice and iso-codes catalogs, CLDR annotations): the page's variables point at them."""
    from data_fixtures import DICTD_ENTRIES, EN_CLDR, SI_CLDR, SI_MESSAGES, cldr_xml, mo_bytes, write_dictd

    root = tmp_path_factory.mktemp("debian")
    (root / "dictd").mkdir()
    write_dictd(root / "dictd" / "freedict-eng-fra", DICTD_ENTRIES)
    (root / "cldr").mkdir()
    (root / "cldr" / "en.xml").write_text(cldr_xml("en", EN_CLDR), encoding="utf-8")
    (root / "cldr" / "si.xml").write_text(cldr_xml("si", SI_CLDR), encoding="utf-8")
    (root / "lo-si").mkdir()
    (root / "lo-si" / "sc.mo").write_bytes(mo_bytes(SI_MESSAGES))
    iso = root / "iso_3166-1.mo"
    iso.write_bytes(mo_bytes({"": SI_MESSAGES[""], "India": "ඉන්දියාව", "Japan": "ජපානය"}))
    return {"DICTD": str(root / "dictd"), "CLDR": str(root / "cldr"), "LO_SI": str(root / "lo-si"), "ISO_SI": str(iso)}


@pytest.fixture(scope="module")
def tiny_fasttext(tmp_path_factory) -> Path:
    """cc.fr.300.bin: a real (tiny) fastText model under the name of fastText's French model, and
    extra.txt, words it has no vector for (their vectors come from its subwords)."""
    import fasttext

    from test_vectors import train_fasttext

    root = tmp_path_factory.mktemp("fasttext")
    corpus = root / "corpus.txt"
    corpus.write_text("le chat mange la souris et le chien regarde le chat dans la maison\n" * 50, encoding="utf-8")
    train_fasttext(fasttext, corpus, model="skipgram", dim=12).save_model(str(root / "cc.fr.300.bin"))
    (root / "extra.txt").write_text("chaton\nmaisons\n", encoding="utf-8")
    return root


# Real verses of the King James Bible and of the World English Bible (both public domain), as
# `xling data bench kjv-web` writes them: where the two translations differ (meat/food, LORD/Yahweh, thee/you).
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


@pytest.fixture(scope="module")
def tiny_bible(tmp_path_factory) -> Path:
    """bible-text/ as ``xling data bench kjv-web`` writes it: the verses above, 40 times in a seeded order."""
    out = tmp_path_factory.mktemp("bible") / "bible-text"
    out.mkdir()
    rng = np.random.default_rng(0)
    for name, text in (("kjv", KJV_VERSES), ("web", WEB_VERSES)):
        verses = text.splitlines() * 40
        (out / f"{name}.txt").write_text("".join(verses[i] + "\n" for i in rng.permutation(len(verses))),
                                         encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def tiny_fr_text(tmp_path_factory) -> Path:
    """fr-text/ as ``xling data bench fr-text`` writes it (French lines of tests/vocab_fixtures.py)."""
    from vocab_fixtures import french_lines

    out = tmp_path_factory.mktemp("fr") / "fr-text"
    out.mkdir()
    (out / "train.txt").write_text("".join(x + "\n" for x in french_lines(300, seed=1)), encoding="utf-8")
    (out / "heldout.txt").write_text("".join(x + "\n" for x in french_lines(40, seed=2)), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def tiny_minilm(tmp_path_factory) -> Path:
    """minilm/: a one-layer BERT (random weights) with a WordPiece tokenizer trained here on English."""
    pytest.importorskip("transformers")
    import torch
    from transformers import BertConfig, BertModel

    from vocab_fixtures import save_tokenizer_dir, train_tokenizer

    out = tmp_path_factory.mktemp("model") / "minilm"
    tok = train_tokenizer("wordpiece", vocab_size=300)
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)).eval()
    model.save_pretrained(str(out), safe_serialization=True)
    save_tokenizer_dir(out, tok, "wordpiece")
    return out


RUN_PAGES = [p for p in PAGES if any(lang in RUN and not qual for lang, qual, _, _ in blocks(p))]


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN_PAGES, ids=rel)
def test_examples_run(page, tiny_bench, tiny_bible, tiny_fr_text, tiny_minilm, tiny_sources, tiny_fasttext,
                      tmp_path):
    """Every sh/python block of the page, in order, in one folder (a block may use an earlier one's files)."""
    for folder in (tiny_bench, tiny_bible, tiny_fr_text, tiny_minilm):
        (tmp_path / folder.name).symlink_to(folder, target_is_directory=True)
    for name in ("cc.fr.300.bin", "extra.txt"):
        (tmp_path / name).symlink_to(tiny_fasttext / name)
    env = dict(os.environ, HOME=str(tmp_path), XLING_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               OMP_NUM_THREADS="2", XLING_IO_WORKERS="1", **tiny_sources)
    for lang, qual, code, line in blocks(page):
        if lang not in RUN or qual:
            continue
        argv = ["bash", "-euo", "pipefail", "-c", code] if lang == "sh" else [sys.executable, "-c", code]
        p = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, (f"{rel(page)}:{line}: the example fails (exit {p.returncode})\n"
                                   f"{code}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-3000:]}")
