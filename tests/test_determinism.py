"""The BLAS thread count never changes an output: the same inputs and seed give the same bytes.

Multi-threaded BLAS (OpenBLAS, MKL) cuts a product differently for different thread counts, and
float sums then differ in the last bits: a covariance over thousands of rows (Procrustes,
whitening, a Gram matrix) and, for some dimensions, plain products ``X @ W`` (OpenBLAS 0.3 with
the Haswell kernels here: a 600-column float32 product moves between 1 and 2 threads, a
300-column one does not). xling runs the small linear algebra on one BLAS thread
(:func:`xling.data.blas.blas_threads`) and every product over the rows in fixed blocks on one
BLAS thread each (:func:`xling.data.blas.map_rows`).

The commands run in child processes with ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS`` = 1 and = 4 (OpenBLAS caps the count at the cores there are) on a synthetic
pair large enough that threaded BLAS splits the work. With ``map_rows`` bypassed (``x @ w``
instead), ``test_align_and_lexicon_bytes_do_not_depend_on_blas_threads`` fails here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import random_orthogonal
from test_output import tiny_model  # noqa: F401 (a fixture: the tiny Hugging Face model folder)

XLING = [sys.executable, "-m", "xling.cli.main"]
N, DIM, SEED_PAIRS = 5000, 600, 2500
THREADS = (1, 4)


def _env(n: int) -> dict[str, str]:
    return {**os.environ, "OPENBLAS_NUM_THREADS": str(n), "OMP_NUM_THREADS": str(n), "MKL_NUM_THREADS": str(n)}


def _run(n: int, *args) -> str:
    r = subprocess.run([*XLING, "-q", *map(str, args)], env=_env(n), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _stable(obj, folder: Path):
    """A record without what changes from run to run: timings, speeds, and the output folder's name."""
    if isinstance(obj, dict):
        return {k: _stable(v, folder) for k, v in obj.items()
                if k != "timings" and "seconds" not in k and "per_sec" not in k}
    if isinstance(obj, list):
        return [_stable(v, folder) for v in obj]
    return obj.replace(str(folder), "OUT") if isinstance(obj, str) else obj


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Path:
    """src.npy/.words, tgt.npy/.words (a noisy rotation of src plus other words), seed and test dictionaries."""
    rng = np.random.default_rng(11)
    d = tmp_path_factory.mktemp("pair")
    x = rng.standard_normal((N, DIM)).astype(np.float32)
    x *= np.linspace(2.0, 0.5, DIM, dtype=np.float32)  # an uneven spectrum: whitening has work to do
    y = x @ random_orthogonal(DIM, rng) + 0.3 * rng.standard_normal((N, DIM)).astype(np.float32)
    for name, words, m in (("src", [f"s{i}" for i in range(N)], x), ("tgt", [f"t{i}" for i in range(N)], y)):
        np.save(d / f"{name}.npy", m)
        (d / f"{name}.words").write_text("".join(w + "\n" for w in words), encoding="utf-8")
    (d / "seed.tsv").write_text("".join(f"s{i}\tt{i}\n" for i in range(SEED_PAIRS)), encoding="utf-8")
    (d / "test.tsv").write_text("".join(f"s{i}\tt{i}\n" for i in range(SEED_PAIRS, SEED_PAIRS + 1500)),
                                encoding="utf-8")
    return d


def _outputs(pair: Path, out: Path, n: int, recipe_args: tuple) -> dict[str, bytes]:
    """align (cache output), then lexicon induce and lexicon eval on what it wrote; every byte of it."""
    _run(n, "align", pair / "src.npy", pair / "tgt.npy", "--dict", pair / "seed.tsv", "--format", "cache",
         "--seed", "5", "-o", out, *recipe_args)
    got = {f: (out / f).read_bytes() for f in ("src.npy", "tgt.npy", "map.npy")}
    rec = json.loads((out / "record.json").read_text(encoding="utf-8"))
    got["record"] = json.dumps(_stable(rec, out), sort_keys=True).encode()
    _run(n, "lexicon", "induce", out / "src.npy", out / "tgt.npy", "--top", "2000", "-k", "3", "-o", out / "pairs.tsv")
    got["pairs"] = (out / "pairs.tsv").read_bytes()
    ev = json.loads(_run(n, "lexicon", "eval", out / "src.npy", out / "tgt.npy", "--dict", pair / "test.tsv",
                         "--json"))
    got["eval"] = json.dumps(_stable(ev, out), sort_keys=True).encode()
    return got


@pytest.mark.slow
@pytest.mark.parametrize("recipe_args", [(), ("--recipe", "procrustes", "--space", "whitened")],
                         ids=["supervised", "whitened"])
def test_align_and_lexicon_bytes_do_not_depend_on_blas_threads(pair, tmp_path, recipe_args):
    runs = [_outputs(pair, tmp_path / f"o{n}", n, recipe_args) for n in THREADS]
    differ = [k for k in runs[0] if runs[0][k] != runs[1][k]]
    assert not differ, f"{differ} differ between {THREADS[0]} and {THREADS[1]} BLAS threads"
    assert runs[0]["pairs"].count(b"\n") == 3 * 2000


def test_small_align_bytes_do_not_depend_on_blas_threads(tmp_path):
    """A quick run of the same check, align-multi's GPA too (a pair too small to move the bits of an
    unfixed product here)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((400, 24)).astype(np.float32)
    for name, m in (("s", x), ("t", x @ random_orthogonal(24, rng))):
        np.save(tmp_path / f"{name}.npy", m)
        (tmp_path / f"{name}.words").write_text("".join(f"{name}{i}\n" for i in range(400)), encoding="utf-8")
    (tmp_path / "seed.tsv").write_text("".join(f"s{i}\tt{i}\n" for i in range(150)), encoding="utf-8")
    outs = []
    for n in THREADS:
        out = tmp_path / f"o{n}"
        _run(n, "align", tmp_path / "s.npy", tmp_path / "t.npy", "--dict", tmp_path / "seed.tsv", "--format", "cache",
             "-o", out)
        outs.append([(out / f).read_bytes() for f in ("src.npy", "tgt.npy", "map.npy")])
        multi = tmp_path / f"m{n}"
        _run(n, "align-multi", tmp_path / "s.npy", tmp_path / "t.npy", "--dict", tmp_path / "seed.tsv", "--method",
             "gpa", "--format", "cache", "-o", multi)
        outs[-1] += [p.read_bytes() for p in sorted(multi.glob("*.npy"))]
    assert len(outs[0]) > 4 and outs[0] == outs[1]


def test_map_rows_bytes_do_not_depend_on_threads(rng):
    from threadpoolctl import threadpool_limits

    from xling.data.blas import MAP_BLOCK_ROWS, map_rows

    x = rng.standard_normal((2 * MAP_BLOCK_ROWS + 77, 40)).astype(np.float32)
    w = rng.standard_normal((40, 33)).astype(np.float32)
    outs = []
    for blas, threads in ((1, 1), (2, 2), (4, 3)):
        with threadpool_limits(blas):
            outs.append(map_rows(x, w, threads=threads).tobytes())
    assert outs[0] == outs[1] == outs[2]
    np.testing.assert_allclose(np.frombuffer(outs[0], np.float32).reshape(len(x), 33), x @ w, rtol=1e-5, atol=1e-5)
    with threadpool_limits(4):
        unit = map_rows(x, w, unit=True, threads=2)
    np.testing.assert_allclose(unit, (x / np.linalg.norm(x, axis=1, keepdims=True)) @ w, rtol=1e-5, atol=1e-5)


def test_gram_rows_bytes_do_not_depend_on_threads(rng):
    from threadpoolctl import threadpool_limits

    from xling.data.blas import MAP_BLOCK_ROWS, gram_rows

    x = rng.standard_normal((3 * MAP_BLOCK_ROWS + 5, 30))
    outs = []
    for blas, threads in ((1, 1), (2, 2), (4, 3)):
        with threadpool_limits(blas):
            outs.append(gram_rows(x, threads=threads).tobytes())
    assert outs[0] == outs[1] == outs[2]
    np.testing.assert_allclose(np.frombuffer(outs[0]).reshape(30, 30), x.T @ x, rtol=1e-10)


def _folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder; JSON records without their timings and the folder's name."""
    got = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            raw = p.read_bytes()
            if p.suffix == ".json":
                raw = json.dumps(_stable(json.loads(raw), folder), sort_keys=True).encode()
            got[str(p.relative_to(folder))] = raw
    return got


def test_cade_train_bytes_do_not_depend_on_blas_threads(tmp_path):
    """With one training thread (what --seed's bytes promise), neither does CADE's."""
    (tmp_path / "a.txt").write_text("".join(f"the cat {i % 7} sat on the mat {i % 5}\n" for i in range(300)),
                                    encoding="utf-8")
    (tmp_path / "b.txt").write_text("".join(f"a dog {i % 6} ran to the park {i % 4}\n" for i in range(300)),
                                    encoding="utf-8")
    runs = []
    for n in THREADS:
        out = tmp_path / f"c{n}"
        _run(n, "cade", "train", tmp_path / "a.txt", tmp_path / "b.txt", "-o", out, "--dim", "16", "--epochs", "2",
             "--min-count", "1", "--threads", "1", "--replicates", "1", "--seed", "3")
        runs.append(_folder_bytes(out))
    assert len(runs[0]) >= 3 and runs[0] == runs[1]


@pytest.mark.parametrize("init", ["mvn", "subword-mean"])
def test_vocab_expand_bytes_do_not_depend_on_blas_threads(tiny_model, tmp_path, init):  # noqa: F811
    runs = []
    for n in THREADS:
        out = tmp_path / f"m{n}"
        _run(n, "vocab", "expand", tiny_model, "--tokens", tiny_model.parent / "words.txt", "--init", init,
             "--seed", "2", "-o", out)
        runs.append(_folder_bytes(out))
    assert any(k.endswith(".safetensors") for k in runs[0]) and runs[0] == runs[1]


def test_rcsls_map_does_not_depend_on_torch_threads():
    """RCSLS trains with torch, which splits a CPU product by its thread count: the loop runs on a
    fixed count, so the map's bytes are the same whatever the caller's (or the machine's) setting."""
    import torch

    from xling.align.rcsls import RcslsOptions, rcsls

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4000, 600)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q, _ = np.linalg.qr(rng.standard_normal((600, 600)))
    z = (x @ q + 0.3 * rng.standard_normal((4000, 600))).astype(np.float32)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    idx = np.arange(2000)
    before = torch.get_num_threads()
    maps = []
    try:
        for threads in (1, 4):
            torch.set_num_threads(threads)
            m, _ = rcsls(x, z, idx, idx, np.eye(600, dtype=np.float32), RcslsOptions(epochs=3))
            maps.append(m.wx.tobytes())
            assert torch.get_num_threads() == threads  # the caller's setting is restored
    finally:
        torch.set_num_threads(before)
    assert maps[0] == maps[1]
