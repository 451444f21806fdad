"""The repository stands alone: no tracked file names a path outside it.

A clone has no shared workspace folder beside it, no home or work folder of the machine the project
was written on, and no old benchmark folder in the home cache (xling builds its benchmarks itself,
into a cache folder resolved at run time). Every tracked text file is read, this one included (its
FORBIDDEN table, the only place where the forms are written out, is the one part not matched).
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# what must not appear, and why
FORBIDDEN = {
    r"\.\./shared": "the xling workspace's shared folder (not in a clone)",
    r"(?<![\w.~-])/work/": "an absolute path of the machine xling was written on",
    r"(?<![\w.~-])/root/": "the home folder of the machine xling was written on",
    r"~/\.cache/xling-bench": "the old benchmark folder (now `xling data bench`, default in the XDG cache)",
    r"\.cache/xling-bench": "the old benchmark folder (now `xling data bench`, default in the XDG cache)",
}
PATTERN = re.compile("|".join(f"(?:{p})" for p in FORBIDDEN))

# This very file names the patterns it looks for; it is checked too, outside the FORBIDDEN table.
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()


def tracked_files() -> list[str]:
    try:
        res = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an sdist or wheel): nothing tracked to check")
    return [f for f in res.stdout.decode("utf-8", "surrogateescape").split("\0") if f]


def offending_lines(path: Path, skip: range | None = None) -> list[str]:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return []  # binary (e.g. .npy): no path text in it
    out = []
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if skip is not None and n in skip:
            continue
        if PATTERN.search(line):
            out.append(f"{path.relative_to(ROOT).as_posix()}:{n}: {line.strip()[:160]}")
    return out


def _table_lines() -> range:
    """The lines of this file's FORBIDDEN table (the only place the patterns may be written)."""
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    start = next(i for i, ln in enumerate(lines, 1) if ln.startswith("FORBIDDEN = {"))
    end = next(i for i, ln in enumerate(lines, 1) if i > start and ln == "}")
    return range(start, end + 1)


def test_no_tracked_file_names_a_path_outside_the_repository():
    files = tracked_files()
    assert files, "git ls-files listed nothing"
    missing = [f for f in files if not (ROOT / f).exists()]
    bad: list[str] = []
    for f in files:
        if f in missing:
            continue  # deleted in the work tree, not yet committed: nothing to read
        bad += offending_lines(ROOT / f, _table_lines() if f == THIS else None)
    assert not bad, "paths outside the repository:\n" + "\n".join(bad)


def test_the_check_finds_each_forbidden_form():
    """Guard the guard: every form is caught, and ordinary paths are not."""
    up, work, root, old = "../" + "shared", "/" + "work/", "/" + "root/", ".cache/" + "xling-bench"
    caught = [f"bash {up}/bench/build_en_fr.sh", f"see ../{up}/design/BENCH.md", f"--vecmap {work}vecmap",
              f'read_dictionary("{root}.cache/x.tsv")', f"B=~/{old}", f"$HOME/{old}"]
    fine = ["/usr/share/dictd/freedict-eng-fra.index", "~/.cache/xling/bench/en-fr", "data/demo/en.npy",
            "a network/work/ flow", "src/xling/__init__.py"]
    for text in caught:
        assert PATTERN.search(text), text
    for text in fine:
        assert not PATTERN.search(text), text
