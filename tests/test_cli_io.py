"""`xling convert` and `xling info` through the real Typer app."""
from __future__ import annotations

import json

import numpy as np
import pytest

from xling.data.embeddings import Embeddings
from xling.data.vectors import load_embeddings, save_embeddings


@pytest.fixture
def vec(tmp_path, rng):
    e = Embeddings([f"w{i}" for i in range(30)], rng.standard_normal((30, 5)).astype(np.float32))
    save_embeddings(e, tmp_path / "a.vec", precision=9)
    return tmp_path / "a.vec", e


@pytest.mark.parametrize("ext", [".npy", ".bin", ".kv", ".txt"])
def test_convert_round_trip(cli, vec, tmp_path, ext):
    path, e = vec
    code, out, err = cli("convert", path, tmp_path / f"b{ext}", "--precision", "9")
    assert code == 0, err
    code, out, err = cli("convert", tmp_path / f"b{ext}", tmp_path / "c.vec", "--precision", "9", "--allow-pickle")
    assert code == 0, err
    back = load_embeddings(tmp_path / "c.vec")
    assert back.words == e.words and np.array_equal(back.vectors, e.vectors)


def test_convert_to_stdout_with_max_vocab(cli, vec):
    path, e = vec
    code, out, err = cli("convert", path, "-", "--max-vocab", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "3 5" and [ln.split(" ")[0] for ln in lines[1:]] == ["w0", "w1", "w2"]


def test_convert_from_stdin(cli, tmp_path):
    code, out, err = cli("convert", "-", tmp_path / "o.npy", input="2 2\na 1 2\nb 3 4\n")
    assert code == 0, err
    assert load_embeddings(tmp_path / "o.npy").words == ("a", "b")


def test_info_json_reports_duplicates_nonfinite_norms(cli, tmp_path):
    p = tmp_path / "x.vec"
    p.write_text("4 2\na 3 4\nb 0 0\na 1 1\nc nan 1\n")
    code, out, err = cli("info", p, "--json")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["words"] == 3 and rec["dim"] == 2 and rec["duplicates_dropped"] == 1
    assert rec["nonfinite_rows"] == 1 and rec["zero_rows"] == 1 and rec["norm_max"] == 5.0
    code, out, err = cli("info", p)
    assert code == 0 and "duplicates dropped" in out


@pytest.mark.parametrize("content,msg", [
    ("2 2\na 1 2\n", "x.vec:1: header says 2 rows but the file has 1"),
    ("2 2\na 1 2\nb 1 q\n", "x.vec:3: not a number: 'q'"),
    ("", "x.vec: empty file"),
    ("1 2\na nan 2\n", "x.vec:2: non-finite"),
])
def test_bad_input_one_line_exit_2(cli, tmp_path, content, msg):
    p = tmp_path / "x.vec"
    p.write_text(content)
    code, out, err = cli("convert", p, tmp_path / "y.npy")
    assert code == 2
    assert msg in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "y.npy").exists()


def test_drop_nonfinite_flag(cli, tmp_path):
    p = tmp_path / "x.vec"
    p.write_text("2 2\na nan 2\nb 1 2\n")
    code, out, err = cli("convert", p, tmp_path / "y.npy", "--drop-nonfinite")
    assert code == 0
    assert load_embeddings(tmp_path / "y.npy").words == ("b",)


def test_missing_file_and_gensim_without_pickle(cli, tmp_path, vec):
    code, out, err = cli("info", tmp_path / "none.vec")
    assert code == 2 and "none.vec: no such file" in err
    path, _ = vec
    cli("convert", path, tmp_path / "g.kv")
    code, out, err = cli("info", tmp_path / "g.kv")
    assert code == 2 and "--allow-pickle" in err


def test_help_is_fast_and_lazy():
    import subprocess
    import sys

    code = ("import sys, xling.cli.main; "
            "print(int(any(m in sys.modules for m in ['torch', 'faiss', 'gensim', 'transformers', 'fasttext'])))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0"


def test_version(cli):
    code, out, err = cli("--version")
    assert code == 0 and out.startswith("xling ")


def test_corrupt_fasttext_model_is_one_line(cli, tmp_path):
    fasttext = pytest.importorskip("fasttext")
    rng = np.random.default_rng(0)
    (tmp_path / "c.txt").write_text("\n".join(" ".join(rng.choice(["a", "b", "c", "d"], 9)) for _ in range(300)))
    from test_vectors import train_fasttext

    train_fasttext(fasttext, tmp_path / "c.txt", dim=4, bucket=20000).save_model(str(tmp_path / "m.bin"))
    raw = (tmp_path / "m.bin").read_bytes()
    (tmp_path / "half.bin").write_bytes(raw[:len(raw) // 2])
    (tmp_path / "fake.bin").write_bytes(raw[:8] + rng.bytes(5000))
    for name in ["half.bin", "fake.bin"]:
        code, out, err = cli("info", tmp_path / name)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and f"{name}: not a valid fastText model" in err, err
    assert cli("info", tmp_path / "m.bin")[0] == 0


def test_empty_cache_fails_info_and_convert(cli, tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((0, 5), dtype=np.float32))
    (tmp_path / "e.words").write_text("")
    for args in [("info", tmp_path / "e.npy"), ("convert", tmp_path / "e.npy", tmp_path / "o.vec")]:
        code, out, err = cli(*args)
        assert code == 2 and err.count("\n") == 1 and "e.npy: no vectors: the matrix is 0 x 5" in err, err
    assert not (tmp_path / "o.vec").exists()


# --------------------------------------------------------------------- interrupts
# the real CLI in a child process, with the parallel thresholds lowered so that a 40 MB file is
# parsed (and a 20000 x 300 matrix formatted) by 2 forked workers
_LAUNCH = ("import sys, xling.data.fmt_text as T; T.PARALLEL_MIN_BYTES = 1 << 20; "
           "T._write_workers = lambda values: 2; from xling.cli.main import app; sys.argv[0] = 'xling'; app()")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _interrupt_mid_run(tmp_path, args, sig):
    import os
    import subprocess
    import sys
    import time

    env = dict(os.environ, XLING_IO_WORKERS="2", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", _LAUNCH, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until both workers run
    assert len(_children(proc.pid)) == 2, proc.communicate()
    workers = _children(proc.pid)
    time.sleep(0.2)
    t0 = time.monotonic()
    os.killpg(proc.pid, sig)  # as a terminal does: the whole process group
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - t0
    for w in workers:  # reaped, not left running or as zombies
        assert not os.path.exists(f"/proc/{w}") or "zombie" not in open(f"/proc/{w}/status").read().lower()
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the group is left
    return proc.returncode, err.decode(), took


@pytest.mark.slow
@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="fork-based workers")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_interrupting_the_parallel_reader_and_writer(tmp_path, sig):
    import signal

    row = b" ".join([b"0.123456"] * 300)
    (tmp_path / "big.vec").write_bytes(b"15000 300\n" + b"".join(b"w%d %s\n" % (i, row) for i in range(15000)))
    np.save(tmp_path / "big.npy", np.full((20000, 300), 0.123456, dtype=np.float32))
    (tmp_path / "big.words").write_text("".join(f"w{i}\n" for i in range(20000)))
    for src, dst in [("big.vec", "out.npy"), ("big.npy", "out.vec")]:
        code, err, took = _interrupt_mid_run(tmp_path, ["convert", tmp_path / src, tmp_path / dst],
                                             getattr(signal, sig))
        want = ((130, "xling: error: interrupted\n") if sig == "SIGINT"
                else (143, "xling: error: interrupted (SIGTERM)\n"))
        assert (code, err) == want, (src, code, err)
        print(f"{sig} {src}: exit {code} {took:.2f} s after the signal")
        assert took < 2.0, took
        left = sorted(p.name for p in tmp_path.iterdir())
        assert left == ["big.npy", "big.vec", "big.words"], left  # no output, no temporary file


def test_bad_text_inputs_are_one_line(cli, tmp_path):
    import gzip

    raw = gzip.compress(b"2 2\na 1 2\nb 3 4\n" * 40)
    (tmp_path / "t.vec.gz").write_bytes(raw[:len(raw) // 2])
    bad = bytearray(raw)
    bad[-8] ^= 0xFF  # the CRC
    (tmp_path / "c.vec.gz").write_bytes(bytes(bad))
    (tmp_path / "tab.vec").write_text("2 2\na\t1\t2\nb\t3\t4\n")
    (tmp_path / "lie.vec").write_text("200 999999999\na 1 2\n")
    (tmp_path / "lie.bin").write_bytes(b"99999999999 300\na " + bytes(1200))
    for name, what in [("t.vec.gz", "truncated"), ("c.vec.gz", "corrupt gzip data"), ("tab.vec", "separated by tabs"),
                       ("lie.vec", "header gives dimension"), ("lie.bin", "wrong header")]:
        code, out, err = cli("info", tmp_path / name)
        assert code == 2 and err.count("\n") == 1 and name in err and what in err, (name, err)
