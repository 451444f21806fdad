"""The manual works as written: every example in README.md, CONTRIBUTING.md and docs/ is run or checked.

Fenced blocks are tagged:

- ```` ```sh ```` and ```` ```python ````: run, in order, page by page, in one temporary folder per page
  that holds ``bench-en-fr/``, a tiny version of the public en→fr benchmark (the files of
  ``xling data bench en-fr``, made from the demo data shipped in the package);
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


RUN_PAGES = [p for p in PAGES if any(lang in RUN and not qual for lang, qual, _, _ in blocks(p))]


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN_PAGES, ids=rel)
def test_examples_run(page, tiny_bench, tmp_path):
    """Every sh/python block of the page, in order, in one folder (a block may use an earlier one's files)."""
    (tmp_path / "bench-en-fr").symlink_to(tiny_bench, target_is_directory=True)
    env = dict(os.environ, HOME=str(tmp_path), XLING_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               OMP_NUM_THREADS="2", XLING_IO_WORKERS="1")
    for lang, qual, code, line in blocks(page):
        if lang not in RUN or qual:
            continue
        argv = ["bash", "-euo", "pipefail", "-c", code] if lang == "sh" else [sys.executable, "-c", code]
        p = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, (f"{rel(page)}:{line}: the example fails (exit {p.returncode})\n"
                                   f"{code}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-3000:]}")
