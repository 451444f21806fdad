"""Interrupts end every command the same way: SIGINT (Ctrl-C, sent by a terminal to the whole process
group) exits 130 and SIGTERM exits 143, each with one line on stderr, no traceback, no output and no
temporary file left behind.

The real CLI runs in a child process and gets a real signal. The timing is deterministic: either an
input is a fifo that the test feeds only in part (xling is then waiting in ``read`` when the signal
comes), or the test waits until the output's temporary file exists before it sends the signal.
The parallel reader and writer (forked workers) have their own test in ``test_cli_io.py``.
"""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from data_fixtures import write_vec
from test_output import tiny_model  # noqa: F401 (a fixture: the tiny Hugging Face model folder)

XLING = [sys.executable, "-m", "xling.cli.main"]
SIGNALS = {"SIGINT to the group": (signal.SIGINT, True, 130, "xling: error: interrupted\n"),
           "SIGTERM": (signal.SIGTERM, False, 143, "xling: error: interrupted (SIGTERM)\n")}

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fifos and process groups (Linux)")


@pytest.fixture
def inputs(tmp_path):
    """A small aligned pair, a seed dictionary and two corpora in tmp_path/in."""
    rng = np.random.default_rng(7)
    d = tmp_path / "in"
    d.mkdir()
    n, dim = 200, 10
    x = rng.standard_normal((n, dim)).astype(np.float32)
    write_vec(d / "src.vec", [f"w{i}" for i in range(n)], x)
    write_vec(d / "tgt.vec", [f"m{i}" for i in range(n)], x[:, ::-1].copy())
    (d / "seed.tsv").write_text("".join(f"w{i}\tm{i}\n" for i in range(100)), encoding="utf-8")
    (d / "a.txt").write_text("the cat sat on the mat\n" * 50, encoding="utf-8")
    (d / "b.txt").write_text("a dog ran to the park\n" * 50, encoding="utf-8")
    return d


def _send(proc: subprocess.Popen, sig: int, group: bool) -> None:
    if group:
        os.killpg(proc.pid, sig)  # as a terminal does
    else:
        proc.send_signal(sig)


def _finish(proc: subprocess.Popen, sig: int, group: bool) -> tuple[int, str, float]:
    t0 = time.monotonic()
    _send(proc, sig, group)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err.decode(), time.monotonic() - t0


def _interrupt_while_reading(argv: list, fifo: Path, head: bytes, sig: int, group: bool) -> tuple[int, str, float]:
    """Run xling with ``fifo`` as one input; feed it ``head`` only, then send ``sig`` while xling waits."""
    os.mkfifo(fifo)
    proc = subprocess.Popen([*XLING, "-q", *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while True:  # the writing end opens once xling has opened the reading end
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as e:
            assert e.errno == errno.ENXIO, e
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "xling never opened its input"
            time.sleep(0.01)
    try:
        os.write(fd, head)
        time.sleep(0.5)  # xling has read what there is and waits for the rest, which never comes
        assert proc.poll() is None, proc.communicate()
        return _finish(proc, sig, group)
    finally:
        os.close(fd)
        if proc.poll() is None:  # pragma: no cover - only when an assertion failed above
            proc.kill()
            proc.wait()


def _commands(d: Path, out: Path, model: Path) -> dict[str, tuple[list, Path, bytes]]:
    """command -> (argv, the input that is a fifo, the part of it that comes)."""
    cade = ["--dim", "4", "--epochs", "1", "--min-count", "1", "--threads", "1", "--replicates", "1"]
    return {
        "convert": (["convert", d / "big.vec", out / "x.npy"], d / "big.vec", b"3 2\na 1 2\nb 3"),
        "align": (["align", d / "src.vec", d / "tgt.vec", "--dict", d / "dict.tsv", "-o", out / "al"],
                  d / "dict.tsv", b"w1\tm1\nw2\tm2\nw3\t"),
        "lexicon eval": (["lexicon", "eval", d / "src.vec", d / "tgt.vec", "--dict", d / "dict.tsv", "--json"],
                         d / "dict.tsv", b"w1\tm1\nw2\t"),
        "lexicon induce": (["lexicon", "induce", d / "src.vec", d / "t.vec", "-o", out / "pairs.tsv"],
                           d / "t.vec", b"200 10\nm0 0.5"),
        "cade train": (["cade", "train", d / "a.txt", d / "c.txt", "-o", out / "cade", *cade], d / "c.txt",
                       b"a dog ran to\n"),
        "vocab expand": (["vocab", "expand", model, "--tokens", d / "words.txt", "-o", out / "model"],
                         d / "words.txt", b"maison\nfrom"),
    }


@pytest.mark.parametrize("how", list(SIGNALS))
@pytest.mark.parametrize("command", ["convert", "align", "lexicon eval", "lexicon induce", "cade train",
                                     "vocab expand"])
def test_a_signal_while_an_input_is_read(inputs, tmp_path, tiny_model, command, how):  # noqa: F811
    sig, group, code, line = SIGNALS[how]
    out = tmp_path / "out"
    out.mkdir()
    argv, fifo, head = _commands(inputs, out, tiny_model)[command]
    rc, err, took = _interrupt_while_reading(argv, fifo, head, sig, group)
    assert (rc, err) == (code, line), (command, how, rc, err)
    assert took < 5.0, took
    assert sorted(p.name for p in out.iterdir()) == [], command  # no output, no temporary file
    assert sorted(p.name for p in inputs.iterdir() if p.name.startswith(".")) == []


@pytest.fixture
def big(tmp_path):
    """A 12000 x 300 cache: formatting it as a .vec takes a few seconds, in this process alone."""
    rng = np.random.default_rng(3)
    np.save(tmp_path / "big.npy", rng.standard_normal((12000, 300)).astype(np.float32))
    (tmp_path / "big.words").write_text("".join(f"w{i}\n" for i in range(12000)), encoding="utf-8")
    return tmp_path / "big.npy"


def _wait_for(folder: Path, suffix: str, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(suffix)]
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.005)
    raise AssertionError(f"no temporary *{suffix} appeared")


@pytest.mark.parametrize("how", list(SIGNALS))
def test_a_signal_while_the_output_is_written(big, tmp_path, how):
    """The temporary file exists when the signal comes: it is removed, the final name never appears,
    and an older file under that name is left as it was."""
    sig, group, code, line = SIGNALS[how]
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.vec").write_text("1 2\nold 1 2\n", encoding="utf-8")
    env = dict(os.environ, XLING_IO_WORKERS="1")  # one process: the parallel writer has its own test
    for target in ("new.vec", "old.vec"):
        proc = subprocess.Popen([*XLING, "-q", "convert", str(big), str(out / target)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, start_new_session=True)
        tmp = _wait_for(out, ".tmp", proc)
        rc, err, took = _finish(proc, sig, group)
        assert (rc, err) == (code, line), (target, tmp, rc, err)
        assert took < 5.0, took
        assert sorted(p.name for p in out.iterdir()) == ["old.vec"], target
        assert (out / "old.vec").read_text(encoding="utf-8") == "1 2\nold 1 2\n"


@pytest.mark.parametrize("how", list(SIGNALS))
def test_a_signal_while_an_output_folder_is_built(big, tmp_path, how):
    """align's folder is built aside: interrupted while it is, nothing of it is left, and the earlier
    run's folder (replaced with --force) stays whole."""
    sig, group, code, line = SIGNALS[how]
    d = tmp_path
    (d / "seed.tsv").write_text("".join(f"w{i}\tw{i}\n" for i in range(50)), encoding="utf-8")
    argv = [*XLING, "-q", "align", str(big), str(big), "--dict", str(d / "seed.tsv"), "--recipe", "procrustes",
            "--format", "text", "-o", str(d / "al"), "--force"]
    small = d / "small"
    small.mkdir()
    write_vec(small / "s.vec", [f"w{i}" for i in range(60)], np.eye(60, 8, dtype=np.float32) + 1)
    first = subprocess.run([*XLING, "-q", "align", str(small / "s.vec"), str(small / "s.vec"), "--dict",
                            str(d / "seed.tsv"), "-o", str(d / "al")], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in (d / "al").iterdir()}
    env = dict(os.environ, XLING_IO_WORKERS="1")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    _wait_for(d, ".xling-tmp", proc)
    rc, err, took = _finish(proc, sig, group)
    assert (rc, err) == (code, line), (rc, err)
    assert took < 5.0, took
    assert sorted(p.name for p in d.iterdir() if p.name.startswith(".")) == []
    assert {p.name: p.read_bytes() for p in (d / "al").iterdir()} == before


def test_interrupts_in_the_library_restore_the_handlers():
    """:func:`interrupts` turns the signals into Interrupted (exit code 128 + signum) and puts the
    previous handlers back; a second signal while the first one's clean-up runs is ignored."""
    from xling.data.parallel import Interrupted, interrupts

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted) as e, interrupts():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # during the clean-up: ignored
            time.sleep(0.05)
    assert e.value.signum == signal.SIGTERM and e.value.exit_code == 143
    assert isinstance(e.value, KeyboardInterrupt)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
