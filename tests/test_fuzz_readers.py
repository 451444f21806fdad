"""Fuzz every reader: real small files in every format, truncated, bit-flipped and given lying
headers (fixed seeds), read by ``xling info`` in a child process under a 1 GiB address-space
limit. Each case must end in exit 0 (the damage was harmless: a changed value) or exit 2 with
exactly one line on stderr that names the file, never a traceback, never fastText's or numpy's
own output, never "out of memory", and within a few seconds. Dictionaries are fuzzed the same
way through :func:`read_dictionary`.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xling.data.embeddings import Embeddings
from xling.data.vectors import save_embeddings

SEED = 20261202
CASES_PER_FILE = 40  # x 7 files, plus the lying headers

# runs in the child: one CliRunner per case; fd 2 is redirected to catch what C++ code prints
DRIVER = r'''
import json, os, resource, signal, sys, tempfile, traceback
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from typer.testing import CliRunner
from xling.cli.main import app
from xling.data.dictionary import read_dictionary
from xling.data.errors import XlingError

def alarm(signum, frame):
    raise TimeoutError("took more than 20 s")

signal.signal(signal.SIGALRM, alarm)
runner = CliRunner()
for line in sys.stdin:
    case = json.loads(line)
    raw_err = tempfile.TemporaryFile()
    saved = os.dup(2)
    os.dup2(raw_err.fileno(), 2)
    signal.alarm(20)
    try:
        if case["reader"] == "dictionary":
            try:
                read_dictionary(case["path"])
                res = {"code": 0, "stderr": "", "exception": None}
            except XlingError as e:
                res = {"code": 2, "stderr": f"xling: error: {e}\n", "exception": None}
        else:
            r = runner.invoke(app, ["info", case["path"]])
            exc = r.exception if r.exception is not None and not isinstance(r.exception, SystemExit) else None
            res = {"code": r.exit_code, "stderr": r.stderr,
                   "exception": "".join(traceback.format_exception(exc)) if exc else None}
    except BaseException as e:
        res = {"code": -1, "stderr": "", "exception": "".join(traceback.format_exception(e))}
    finally:
        signal.alarm(0)
        os.dup2(saved, 2)
        os.close(saved)
    raw_err.seek(0)
    res["fd2"] = raw_err.read().decode("utf-8", "replace")
    res["id"] = case["id"]
    print(json.dumps(res), flush=True)
'''


def _corpus(d: Path) -> dict[str, tuple[str, Path]]:
    """Real small files in every readable format: name -> (reader, path)."""
    rng = np.random.default_rng(SEED)
    words = [f"w{i}" for i in range(40)] + ["naïve", "New York", "日本"]
    emb = Embeddings(words, rng.standard_normal((len(words), 10)).astype(np.float32))
    save_embeddings(emb, d / "v.vec", precision=7)
    save_embeddings(emb, d / "nohdr.txt", precision=7, header=False)
    with gzip.open(d / "v.vec.gz", "wb") as f:
        f.write((d / "v.vec").read_bytes())
    w2v = emb.subset([w for w in words if " " not in w])
    save_embeddings(w2v, d / "v.bin")
    save_embeddings(emb, d / "v.npy")
    (d / "dict.tsv").write_text("#source\ttarget\n" + "".join(f"w{i}\tv{i}\n" for i in range(30))
                                + "naïve\tnaïf\n", encoding="utf-8")
    files = {"text": ("vectors", d / "v.vec"), "text-noheader": ("vectors", d / "nohdr.txt"),
             "gzip": ("vectors", d / "v.vec.gz"), "word2vec": ("vectors", d / "v.bin"),
             "cache-npy": ("vectors", d / "v.npy"), "cache-words": ("vectors", d / "v.words"),
             "dictionary": ("dictionary", d / "dict.tsv")}
    fasttext = pytest.importorskip("fasttext")
    from test_vectors import train_fasttext

    (d / "c.txt").write_text("\n".join(" ".join(rng.choice(words[:40], 12)) for _ in range(800)) + "\n")
    train_fasttext(fasttext, d / "c.txt", dim=4, minn=2, maxn=3, bucket=20000).save_model(str(d / "ft.bin"))
    files["fasttext"] = ("vectors", d / "ft.bin")
    return files


def _mutants(name: str, raw: bytes, rng: np.random.Generator) -> list[tuple[str, bytes]]:
    """Truncations and bit flips; half the flips land in the first 1 KB, where headers and words are."""
    out = []
    for k in range(CASES_PER_FILE):
        if k % 2 == 0:
            cut = int(rng.integers(0, len(raw)))
            out.append((f"{name}-cut{cut}", raw[:cut]))
        else:
            b = bytearray(raw)
            span = min(len(b), 1024) if k % 4 == 1 else len(b)
            flips = [int(rng.integers(0, span)) for _ in range(int(rng.integers(1, 9)))]
            for pos in flips:
                b[pos] ^= 1 << int(rng.integers(0, 8))
            out.append((f"{name}-flip{'-'.join(map(str, flips[:3]))}", bytes(b)))
    return out


def _lying_headers(files: dict[str, tuple[str, Path]]) -> list[tuple[str, str, bytes]]:
    """(corpus name, case name, bytes): headers that claim more than the file holds."""
    vec = files["text"][1].read_bytes()
    body = vec[vec.index(b"\n") + 1:]
    w2v = files["word2vec"][1].read_bytes()
    wbody = w2v[w2v.index(b"\n") + 1:]
    npy = files["cache-npy"][1].read_bytes()
    ft = files["fasttext"][1].read_bytes()
    out = []
    for n, d in [(200, 999999999), (99999999999, 10), (43, 2 ** 40), (0, 10), (43, 0)]:
        out.append(("text", f"text-hdr{n}x{d}", f"{n} {d}\n".encode() + body))
        out.append(("gzip", f"gzip-hdr{n}x{d}", gzip.compress(f"{n} {d}\n".encode() + body)))
        out.append(("word2vec", f"word2vec-hdr{n}x{d}", f"{n} {d}\n".encode() + wbody))
    hlen = struct.unpack("<H", npy[8:10])[0]  # .npy 1.0: magic, version, header length, header
    for shape in [b"(43000000000, 10)", b"(43, 1000000000)", b"(10, 43)", b"(430,)", b"(0, 10)"]:
        head = npy[10:10 + hlen].rstrip(b" \n").replace(b"(43, 10)", shape).ljust(hlen - 1, b" ") + b"\n"
        out.append(("cache-npy", f"npy-shape{shape.decode()}", npy[:10] + head + npy[10 + hlen:]))
    # fastText: every int32 of the arguments and the dictionary header, set to a huge or negative value
    for off in range(8, 92, 4):
        for val in (2 ** 31 - 1, -5):
            b = bytearray(ft)
            if off in (76, 84):  # ntokens and the pruned-index size are int64
                b[off:off + 8] = struct.pack("<q", val if val > 0 else -5)
            else:
                b[off:off + 4] = struct.pack("<i", val)
            out.append(("fasttext", f"fasttext-field{off}={val}", bytes(b)))
    return out


def _write_case(d: Path, files, corpus: str, case: str, data: bytes) -> tuple[str, Path]:
    reader, src = files[corpus]
    if corpus.startswith("cache"):  # a cache is a pair of files: damage one, copy the other
        npy, words = d / f"{case}.npy", d / f"{case}.words"
        if corpus == "cache-npy":
            npy.write_bytes(data)
            words.write_bytes(files["cache-words"][1].read_bytes())
        else:
            npy.write_bytes(files["cache-npy"][1].read_bytes())
            words.write_bytes(data)
        return reader, npy
    p = d / (case + "".join(src.suffixes))
    p.write_bytes(data)
    return reader, p


@pytest.mark.slow
def test_fuzz_every_reader(tmp_path):
    files = _corpus(tmp_path)
    cases_dir = tmp_path / "cases"
    cases_dir.mkdir()
    rng = np.random.default_rng(SEED)
    cases = []
    for corpus in sorted(files):
        for case, data in _mutants(corpus, files[corpus][1].read_bytes(), rng):
            cases.append((corpus, case, data))
    cases += _lying_headers(files)
    jobs = {}
    for i, (corpus, case, data) in enumerate(cases):
        reader, path = _write_case(cases_dir, files, corpus, f"c{i:04d}-{re.sub(r'[^A-Za-z0-9=-]', '_', case)}", data)
        jobs[i] = {"id": i, "reader": reader, "path": str(path), "corpus": corpus}
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", DRIVER], input="\n".join(json.dumps(j) for j in jobs.values()),
                          capture_output=True, text=True, env=env, timeout=900)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(jobs), proc.stderr[-3000:]
    failures, rejected = [], 0
    for r in results:
        job = jobs[r["id"]]
        name = Path(job["path"]).name
        words_name = Path(job["path"]).with_suffix(".words").name
        problems = []
        if r["exception"]:
            problems.append("traceback:\n" + r["exception"][-800:])
        if r["fd2"]:
            problems.append("printed on fd 2: " + r["fd2"][:300])
        if r["code"] == 2:
            rejected += 1
            lines = r["stderr"].splitlines()
            if len(lines) != 1 or not lines[0].startswith("xling: error: "):
                problems.append(f"stderr is not one error line: {r['stderr'][:500]!r}")
            elif name not in lines[0] and words_name not in lines[0]:
                problems.append(f"error does not name the file: {lines[0]}")
            elif "out of memory" in lines[0]:
                problems.append(f"allocated what the header claimed: {lines[0]}")
        elif r["code"] != 0:
            problems.append(f"exit {r['code']}: {r['stderr'][:300]!r}")
        if problems:
            failures.append(f"{name}: " + "; ".join(problems))
    print(f"\nfuzz: {len(results)} cases, {rejected} rejected with one line, "
          f"{len(results) - rejected} read (harmless damage), {len(failures)} failures")
    assert not failures, "\n".join(failures[:20])
