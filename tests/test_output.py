"""The output layer (xling.data.atomic) and the command-line habits, through the real commands.

Full disks and read-only file systems are real: a small tmpfs mounted in a private mount namespace
(``unshare -rm``; the tests skip where that is not allowed). Two writers are two real processes; a
closed stdout is a real pipe closed by its reader.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import random_orthogonal
from data_fixtures import write_vec

N, D = 300, 12
XLING = [sys.executable, "-m", "xling.cli.main"]


@pytest.fixture
def spaces(tmp_path, rng):
    """src.vec, tgt.vec (a rotation of src), seed.tsv and test.tsv in tmp_path/in."""
    d = tmp_path / "in"
    d.mkdir()
    src_words, tgt_words = [f"w{i}" for i in range(N)], [f"m{i}" for i in range(N)]
    x = rng.standard_normal((N, D)).astype(np.float32)
    y = x @ random_orthogonal(D, rng) + 0.01 * rng.standard_normal((N, D)).astype(np.float32)
    write_vec(d / "src.vec", src_words, x)
    write_vec(d / "tgt.vec", tgt_words, y)
    (d / "seed.tsv").write_text("".join(f"{src_words[i]}\t{tgt_words[i]}\n" for i in range(150)), encoding="utf-8")
    (d / "test.tsv").write_text("".join(f"{src_words[i]}\t{tgt_words[i]}\n" for i in range(150, N)),
                                encoding="utf-8")
    (d / "a.txt").write_text("".join(f"the cat {i % 7} sat on the mat {i % 5}\n" for i in range(60)),
                             encoding="utf-8")
    (d / "b.txt").write_text("".join(f"a dog {i % 6} ran to the park {i % 4}\n" for i in range(60)),
                             encoding="utf-8")
    (d / "stats.json").write_text(json.dumps({  # a `data stats --json` record, for xling report
        "path": "seed.tsv", "pairs": 150, "src_words": 150, "tgt_words": 150,
        "translations_per_src_word": {"mean": 1.0}, "identical_pairs": 0, "origins": {"tsv": 150}}))
    return d


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny Hugging Face model folder, sharded in two (the embeddings; a shard vocab expand hard-links),
    with a sub-folder, a WordPiece tokenizer trained here (tests/vocab_fixtures.py); beside it the
    words to add and the same matrix bare (emb.npy + emb.vocab)."""
    from safetensors.numpy import save_file

    from vocab_fixtures import save_tokenizer_dir, train_tokenizer

    base = tmp_path_factory.mktemp("vocab")
    model = base / "model"
    tok = train_tokenizer("wordpiece", vocab_size=200)
    save_tokenizer_dir(model, tok, "wordpiece")
    n, d = tok.get_vocab_size(with_added_tokens=True), 8
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((n, d)).astype(np.float32)
    shards = {"model-00001-of-00002.safetensors": {"model.embed_tokens.weight": emb},
              "model-00002-of-00002.safetensors": {"model.norm.weight": np.ones(d, np.float32)}}
    for name, tensors in shards.items():
        save_file(tensors, str(model / name), metadata={"format": "pt"})
    (model / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {"total_size": 4 * (n * d + d)},
         "weight_map": {k: name for name, tensors in shards.items() for k in tensors}}))
    (model / "config.json").write_text(json.dumps({"vocab_size": n, "tie_word_embeddings": True,
                                                   "architectures": ["LlamaForCausalLM"]}))
    (model / "1_Pooling").mkdir()
    (model / "1_Pooling" / "config.json").write_text("{}")
    (base / "words.txt").write_text("maison\nfromage\npomme\nmontagne\n", encoding="utf-8")
    np.save(base / "emb.npy", emb)
    vocab = sorted(tok.get_vocab(), key=tok.get_vocab().get)
    (base / "emb.vocab").write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
    return model


def _expand(model: Path, out, *extra) -> list:
    return ["vocab", "expand", model, "--tokens", model.parent / "words.txt", "-o", out, *extra]


def _expand_bare(model: Path, out, *extra) -> list:
    b = model.parent
    return ["vocab", "expand", "--embeddings", b / "emb.npy", "--vocab", b / "emb.vocab", "--tokens", b / "words.txt",
            "-o", out, *extra]


def _align(d: Path, out, *extra) -> list:
    return ["align", d / "src.vec", d / "tgt.vec", "--dict", d / "seed.tsv", "-o", out, *extra]


def _writers(d: Path, target: Path, model: Path) -> dict[str, list]:
    """Every writer of xling, writing ``target`` (a folder or a file); ``model``: see tiny_model."""
    return {
        "align": _align(d, target),
        "align-multi": ["align-multi", d / "src.vec", d / "tgt.vec", "--dict", d / "seed.tsv", "-o", target],
        "cade train": ["cade", "train", d / "a.txt", d / "b.txt", "-o", target, "--dim", "4", "--epochs", "1",
                       "--min-count", "1", "--threads", "1", "--replicates", "1"],
        "lexicon induce": ["lexicon", "induce", d / "src.vec", d / "tgt.vec", "-o", target],
        "data build": ["data", "build", "--tsv", d / "seed.tsv", "-o", target],
        "convert npy": ["convert", d / "src.vec", f"{target}.npy"],
        "convert vec": ["convert", d / "src.vec", f"{target}.vec"],
        "convert bin": ["convert", d / "src.vec", f"{target}.bin"],
        "vocab expand": _expand(model, target),
        "vocab expand bare": _expand_bare(model, target),
        "report": ["report", d / "stats.json", "-o", target, "--no-plots"],
    }


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------------------------------------------------------
# folders: built aside, swapped in whole, --force and its limits


def test_rerun_with_another_format_leaves_no_stale_file(cli, spaces, tmp_path):
    out = tmp_path / "out"
    assert cli(*_align(spaces, out, "--format", "text"))[0] == 0
    assert {"src.vec", "tgt.vec", "map.npy", "record.json", ".xling-output"} <= set(_leftovers(out))
    code, _, err = cli(*_align(spaces, out, "--format", "cache"))
    assert code == 2 and "not empty" in err and "--force" in err  # refused without --force
    assert "src.vec" in _leftovers(out)  # untouched
    code, _, err = cli(*_align(spaces, out, "--format", "cache", "--force"))
    assert code == 0, err
    files = _leftovers(out)
    assert "src.vec" not in files and "tgt.vec" not in files and {"src.npy", "tgt.npy", "map.npy"} <= set(files)
    rec = json.loads((out / "record.json").read_text())
    assert rec["outputs"]["src"] == str(out / "src.npy") and rec["outputs"]["map"] == str(out / "map.npy")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_force_never_replaces_a_foreign_folder_or_an_input(cli, spaces, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    code, _, err = cli(*_align(spaces, foreign, "--force"))
    assert code == 2 and "not a folder xling wrote" in err and (foreign / "thesis.tex").read_text() == "precious"
    # the folder holding the inputs, or a parent of it, is refused even when xling wrote it
    (spaces / ".xling-output").write_text("")
    for target in (spaces, tmp_path):
        code, _, err = cli(*_align(spaces, target, "--force"))
        assert code == 2 and "holds the input" in err, err
    assert (spaces / "src.vec").exists() and (spaces / "seed.tsv").exists()
    code, _, err = cli("cade", "train", spaces / "a.txt", spaces / "b.txt", "-o", spaces, "--force")
    assert code == 2 and "holds the input" in err
    # an empty existing folder is fine without --force
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli(*_align(spaces, empty))[0] == 0 and (empty / "map.npy").exists()


def test_errors_name_the_users_path_and_leave_nothing(cli, spaces, tiny_model, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    for name, args in _writers(spaces, blocker / "sub" / "out", tiny_model).items():
        code, _, err = cli("-q", *args)
        assert code == 2, (name, err)
        assert err.count("\n") == 1 and "Traceback" not in err, (name, err)
        assert str(blocker) in err and "is a file" in err, (name, err)
        assert ".tmp" not in err and "xling-tmp" not in err, (name, err)
    assert _leftovers(tmp_path) == ["afile", "in"] and blocker.read_text() == "x"


def test_a_failed_run_leaves_no_empty_folder(cli, spaces, tmp_path):
    out = tmp_path / "new" / "deeper" / "out"
    (spaces / "bad.tsv").write_text("only-one-column\n")
    code, _, err = cli("align", spaces / "src.vec", spaces / "tgt.vec", "--dict", spaces / "bad.tsv", "-o", out)
    assert code == 2
    assert not (tmp_path / "new").exists()
    code, _, err = cli("cade", "train", spaces / "a.txt", spaces / "missing.txt", "-o", out)
    assert code == 2 and not (tmp_path / "new").exists()


def test_two_writers_into_one_folder_never_mix(spaces, tmp_path):
    """Two real processes write one folder at once: one wins whole, the other writes nothing."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    procs = [subprocess.Popen([*XLING, "-q", *map(str, _align(spaces, out, "--format", fmt))], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for fmt in ("text", "cache")]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(c for c, _ in results)
    assert codes == [0, 2], results
    loser_err = [e for c, e in results if c == 2][0]
    assert loser_err.count("\n") == 1 and str(out) in loser_err
    files = set(_leftovers(out))
    rec = json.loads((out / "record.json").read_text())
    kept = {Path(rec["outputs"]["src"]).name, Path(rec["outputs"]["tgt"]).name}
    if rec["outputs"]["src"].endswith(".npy"):  # a cache is NAME.npy + NAME.words
        kept |= {"src.words", "tgt.words"}
    assert files == kept | {"map.npy", "record.json", ".xling-output"}, files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_vocab_expand_force_follows_the_output_layer(cli, tiny_model, tmp_path):
    """vocab expand (model folder and bare matrix) goes through the one output layer: --force replaces
    only a marked folder (or one an earlier xling marked with xling-vocab.json), never an input."""
    model, base = tiny_model, tiny_model.parent
    out = tmp_path / "out"
    code, _, err = cli(*_expand(model, out))
    assert code == 0, err
    assert {".xling-output", "xling-vocab.json", "config.json", "1_Pooling"} <= set(_leftovers(out))
    # the shard without the embeddings is the same file (hard link from the temporary folder)
    untouched = "model-00002-of-00002.safetensors"
    assert os.path.samefile(out / untouched, model / untouched)
    assert json.loads((out / "xling-vocab.json").read_text())["files"]["linked"] == [untouched]
    # refused without --force, then replaced whole with it
    code, _, err = cli(*_expand(model, out, "--init", "random"))
    assert code == 2 and "not empty" in err and "--force" in err
    (out / "stale.txt").write_text("from an earlier run")
    code, _, err = cli(*_expand(model, out, "--init", "random", "--force"))
    assert code == 0, err
    assert "stale.txt" not in _leftovers(out)
    assert json.loads((out / "xling-vocab.json").read_text())["init"]["method"] == "random"
    # backward compatible: a folder an earlier xling wrote has xling-vocab.json but no .xling-output
    for args in (_expand, _expand_bare):
        (out / ".xling-output").unlink()
        code, _, err = cli(*args(model, out, "--force"))
        assert code == 0, (args, err)
        assert (out / ".xling-output").is_file() and (out / "xling-vocab.json").is_file()
    assert {"embeddings.npy", "vocab.txt"} <= set(_leftovers(out))
    # a foreign folder, the model folder, its parent (which holds every input), a folder inside it
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    for args in (_expand, _expand_bare):
        code, _, err = cli(*args(model, foreign, "--force"))
        assert code == 2 and "not a folder xling wrote" in err and "xling-vocab.json" in err, err
    assert (foreign / "notes.txt").read_text() == "keep"
    (base / ".xling-output").write_text("")  # even a marked folder is refused when it holds an input
    try:
        for target, msg in ((model, "must not be the model folder"), (base, "must not be the model folder"),
                            (model / "sub", "must not be inside the model folder")):
            code, _, err = cli(*_expand(model, target, "--force"))
            assert code == 2 and msg in err and err.count("\n") == 1, err
        code, _, err = cli(*_expand_bare(model, base, "--force"))
        assert code == 2 and "holds the input" in err, err
        words = tmp_path / "w" / "words.txt"  # a token file inside the output folder
        words.parent.mkdir()
        shutil.copy(base / "words.txt", words)
        (words.parent / ".xling-output").write_text("")
        for args in (_expand, _expand_bare):
            argv = args(model, words.parent, "--force")
            argv[argv.index("--tokens") + 1] = words
            code, _, err = cli(*argv)
            assert code == 2 and "holds the input" in err and words.exists(), err
    finally:
        (base / ".xling-output").unlink()
    assert (model / "config.json").is_file() and not (model / "sub").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_cache_pair_is_all_or_nothing(cli, spaces, tmp_path, rng):
    """convert IN OUT.npy writes OUT.npy and OUT.words together or not at all."""
    from xling.data.embeddings import Embeddings
    from xling.data.vectors import save_embeddings

    # OUT.npy is a folder: no OUT.words is left behind
    (tmp_path / "a.npy").mkdir()
    code, _, err = cli("convert", spaces / "src.vec", tmp_path / "a.npy")
    assert code == 2 and f"{tmp_path / 'a.npy'}: is a directory" in err, err
    assert not (tmp_path / "a.words").exists()
    # an earlier pair, then OUT.words is a folder: OUT.npy already replaced is put back
    assert cli("convert", spaces / "src.vec", tmp_path / "b.npy")[0] == 0
    old_npy = (tmp_path / "b.npy").read_bytes()
    (tmp_path / "b.words").rename(tmp_path / "b.words.keep")
    (tmp_path / "b.words").mkdir()
    code, _, err = cli("convert", spaces / "tgt.vec", tmp_path / "b.npy")
    assert code == 2 and f"{tmp_path / 'b.words'}: is a directory" in err, err
    assert (tmp_path / "b.npy").read_bytes() == old_npy and (tmp_path / "b.words").is_dir()
    # failing midway (a word UTF-8 cannot encode, met after the matrix was written): the old pair stays
    (tmp_path / "b.words").rmdir()
    (tmp_path / "b.words.keep").rename(tmp_path / "b.words")
    old_words = (tmp_path / "b.words").read_bytes()
    bad = Embeddings(["ok", "lone\ud800"], rng.standard_normal((2, D)).astype(np.float32))
    with pytest.raises(UnicodeEncodeError):
        save_embeddings(bad, tmp_path / "b.npy")
    assert (tmp_path / "b.npy").read_bytes() == old_npy and (tmp_path / "b.words").read_bytes() == old_words
    with pytest.raises(UnicodeEncodeError):
        save_embeddings(bad, tmp_path / "c.npy")
    assert not (tmp_path / "c.npy").exists() and not (tmp_path / "c.words").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


def test_report_folder_goes_through_the_output_layer(cli, spaces, tmp_path):
    out = tmp_path / "rep"
    code, stdout, err = cli("report", spaces / "stats.json", "-o", out, "--no-plots", "--json")
    assert code == 0, err
    assert set(_leftovers(out)) == {"report.md", "report.json", ".xling-output"}
    assert json.loads(stdout)["report"] == str(out / "report.md")
    code, _, err = cli("report", spaces / "stats.json", "-o", out, "--no-plots")
    assert code == 2 and "not empty" in err and "--force" in err
    (out / "stale.png").write_bytes(b"old figure")
    code, _, err = cli("report", spaces / "stats.json", "-o", out, "--no-plots", "--force")
    assert code == 0, err
    assert set(_leftovers(out)) == {"report.md", "report.json", ".xling-output"}  # replaced whole
    (spaces / ".xling-output").write_text("")
    try:  # a folder that holds an input is refused, even one xling marked
        for target in (spaces, tmp_path):
            code, _, err = cli("report", spaces / "stats.json", "-o", target, "--no-plots", "--force")
            assert code == 2 and "holds the input" in err, err
    finally:
        (spaces / ".xling-output").unlink()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.md").write_text("keep")
    code, _, err = cli("report", spaces / "stats.json", "-o", foreign, "--no-plots", "--force")
    assert code == 2 and "not a folder xling wrote" in err and (foreign / "notes.md").read_text() == "keep"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_output_folder_in_the_library(tmp_path):
    from xling.data.atomic import MARKER, output_folder
    from xling.data.errors import OutputError

    out = tmp_path / "o"
    with output_folder(out) as tmp:
        (tmp / "a.txt").write_text("1")
        assert not out.exists()  # nothing under the final name until the end
    assert sorted(p.name for p in out.iterdir()) == sorted(["a.txt", MARKER])
    with pytest.raises(RuntimeError), output_folder(out, force=True) as tmp:
        (tmp / "b.txt").write_text("2")
        raise RuntimeError("boom")
    assert sorted(p.name for p in out.iterdir()) == sorted(["a.txt", MARKER])  # the old one, untouched
    with pytest.raises(OutputError, match="not empty"), output_folder(out):
        pass
    with pytest.raises(OutputError) as e, output_folder(out, force=True) as tmp:
        os.mkdir(tmp / "b.txt")
        open(tmp / "b.txt", "w")  # a file-system error inside: reported against the final folder
    assert str(out / "b.txt") in str(e.value) and ".xling-tmp" not in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


# ---------------------------------------------------------------------------------------------------------------
# full disk and read-only file system: a real tmpfs in a private mount namespace


def _in_namespace(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def tmpfs_ok(tmp_path_factory):
    d = tmp_path_factory.mktemp("mnt")
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    r = _in_namespace(f"mount -t tmpfs -o size=16k none {d} && echo ok")
    if r.stdout.strip() != "ok":
        pytest.skip(f"cannot mount a tmpfs in a user namespace: {r.stderr.strip()}")
    return True


@pytest.mark.parametrize("mount_opts,reason", [("size=64k", "no space left"), ("ro", "read-only file system")])
def test_full_disk_and_read_only_for_every_writer(tmpfs_ok, spaces, tiny_model, tmp_path, mount_opts, reason):
    import shlex

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    lines = [f"mount -t tmpfs -o {mount_opts} none {mnt} || exit 9"]
    if mount_opts != "ro":  # fill the disk up: the next write of any size fails with ENOSPC
        lines.append(f"dd if=/dev/zero of={mnt}/fill bs=1k count=1000 2>/dev/null; ls -A {mnt}")
    writers = _writers(spaces, mnt / "out", tiny_model)
    for name, args in writers.items():
        cmd = " ".join(shlex.quote(str(a)) for a in [*XLING, "-q", *args])
        lines.append(f"echo '## {name}'; {cmd}; echo \"rc=$?\"; ls -A {mnt}; echo '##.'")
    r = _in_namespace("\n".join(lines))
    assert r.returncode == 0, r.stderr
    blocks = r.stdout.split("## ")[1:]
    before = r.stdout.split("## ")[0].strip()  # what was on the disk before: nothing, or the filler
    errs = r.stderr.splitlines()
    assert len(blocks) == len(writers)
    for block, name in zip(blocks, writers, strict=True):
        body = block.split("\n", 1)[1]
        assert "rc=2" in body, (name, body, r.stderr)
        assert body.split("rc=2", 1)[1].strip() == (before + "\n##.").strip(), (name, body)  # nothing left
    assert len(errs) == len(writers), r.stderr  # one line each, no traceback
    for line, name in zip(errs, writers, strict=True):
        assert line.startswith("xling: error: ") and reason in line and str(mnt / "out") in line, (name, line)
        assert ".tmp" not in line and "xling-tmp" not in line, (name, line)


# ---------------------------------------------------------------------------------------------------------------
# habits: global flags after the subcommand, closed stdout pipes, --json beside data on stdout


def test_quiet_after_the_subcommand(cli, spaces):
    for args in (["info", spaces / "src.vec", "-q"], ["lexicon", "eval", spaces / "src.vec", spaces / "tgt.vec",
                                                      "--dict", spaces / "test.tsv", "--quiet"]):
        code, out, err = cli(*args)
        assert code == 0, err
        assert out.strip()


@pytest.mark.parametrize("args", [
    ["info", "{d}/src.vec"],
    ["lexicon", "eval", "{d}/src.vec", "{d}/tgt.vec", "--dict", "{d}/test.tsv"],
    ["lexicon", "eval", "{d}/src.vec", "{d}/tgt.vec", "--dict", "{d}/test.tsv", "--json"],
    ["lexicon", "induce", "{d}/src.vec", "{d}/tgt.vec"],
    ["data", "stats", "{d}/seed.tsv"],
    ["convert", "{d}/src.vec", "-"],
])
def test_closed_stdout_pipe_exits_0(spaces, args):
    """`xling ... | head -1` under `set -o pipefail`: the reader goes away first, xling exits 0 quietly."""
    argv = [*XLING, *[a.format(d=spaces) for a in args]]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdout.close()  # the reader is gone before xling writes its first line
    err = p.stderr.read()
    p.stderr.close()
    assert p.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err and "error" not in err, err
    sh = subprocess.run(["bash", "-c", "set -o pipefail; " + " ".join(map(str, argv)) + " | head -1"],
                        capture_output=True, text=True, timeout=120)
    assert sh.returncode == 0 and sh.stdout.count("\n") == 1, sh


def test_convert_to_stdout_keeps_the_json_record_off_it(cli, spaces):
    code, out, err = cli("convert", spaces / "src.vec", "-", "--json")
    assert code == 0, err
    assert out.splitlines()[0] == f"{N} {D}" and len(out.splitlines()) == N + 1  # only the vectors
    rec = json.loads(err[err.index("{"):])
    assert rec["rows"] == N if "rows" in rec else rec
    code, out, _ = cli("convert", spaces / "src.vec", str(spaces / "copy.vec"), "--json")
    assert code == 0 and json.loads(out)  # to a file: the record is on stdout as always


# ---------------------------------------------------------------------------------------------------------------
# determinism: cade train says when it is not reproducible (BLAS threads: tests/test_determinism.py)


def test_cade_train_says_when_it_is_not_reproducible(cli, spaces, tmp_path):
    common = ["cade", "train", spaces / "a.txt", spaces / "b.txt", "--dim", "4", "--epochs", "1", "--min-count", "1",
              "--replicates", "1", "--seed", "3"]
    code, _, err = cli(*common, "-o", tmp_path / "t2", "--threads", "2")
    assert code == 0 and "not bit-reproducible" in err
    assert json.loads((tmp_path / "t2" / "cade.json").read_text())["params"]["bit_reproducible"] is False
    code, _, err = cli(*common, "-o", tmp_path / "t1", "--threads", "1")
    assert code == 0 and "not bit-reproducible" not in err
    assert json.loads((tmp_path / "t1" / "cade.json").read_text())["params"]["bit_reproducible"] is True


def test_stdout_on_a_full_device_is_one_line(spaces):
    for args in (["convert", spaces / "src.vec", "-"], ["lexicon", "induce", spaces / "src.vec", spaces / "tgt.vec"]):
        with open("/dev/full", "w") as full:
            r = subprocess.run([*XLING, "-q", *map(str, args)], stdout=full, stderr=subprocess.PIPE, text=True,
                               timeout=120)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
        assert "no space left" in r.stderr


@pytest.mark.parametrize("name", ["out.vec", "out.npy", "out.kv", "out.bin"])
def test_convert_onto_a_folder_names_the_users_path(cli, spaces, tmp_path, name):
    (tmp_path / name).mkdir()
    code, _, err = cli("convert", spaces / "src.vec", tmp_path / name)
    assert code == 2 and err.count("\n") == 1 and f"{tmp_path / name}: is a directory" in err, err
    assert ".tmp" not in err and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------------------------------------------------------
# audit: an output that is a device or a fifo, symbolic links, a byte-order mark


def _device(path: Path, minor: int) -> Path:
    """A copy of /dev/null (minor 3) or /dev/full (minor 7) in the test's folder (root only)."""
    import stat

    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("mknod needs root")
    return path


def test_a_device_or_fifo_output_is_written_in_place(cli, spaces, tmp_path):
    """`convert IN /dev/null` (or a fifo) writes into it: renaming a file onto it would replace the device
    (as root, /dev/full itself was replaced by a regular file). A full device is one line, exit 2."""
    import stat
    import threading

    fifo = tmp_path / "pipe.vec"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code, _, err = cli("convert", spaces / "src.vec", fifo)
    reader.join(30)
    assert code == 0, err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and got and got[0].split(b"\n")[0] == f"{N} {D}".encode()
    null = _device(tmp_path / "null", 3)
    code, _, err = cli("convert", spaces / "src.vec", null)
    assert code == 0 and stat.S_ISCHR(os.stat(null).st_mode), err
    full = _device(tmp_path / "full", 7)
    code, _, err = cli("convert", spaces / "src.vec", full)
    assert code == 2 and err == f"xling: error: {full}: no space left on the device\n", err
    assert stat.S_ISCHR(os.stat(full).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "in", "null", "pipe.vec"]


def test_force_and_symbolic_links(cli, spaces, tmp_path):
    """An output folder named by a link is built where the link points (the link stays); an input named
    through a link inside that folder is still an input; a file output that is a link is replaced by
    the file, and what the link pointed to stays as it was."""
    real, link = tmp_path / "real", tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    code, _, err = cli(*_align(spaces, link))
    assert code == 0, err
    code, _, err = cli(*_align(spaces, link, "--format", "cache", "--force"))
    assert code == 0, err
    assert link.is_symlink() and (real / "src.npy").is_file() and not (real / "src.vec").exists()
    (real / "in.vec").symlink_to(spaces / "src.vec")
    before = _leftovers(real)
    code, _, err = cli("align", link / "in.vec", spaces / "tgt.vec", "--dict", spaces / "seed.tsv", "-o", link,
                       "--force")
    assert code == 2 and "holds the input" in err and _leftovers(real) == before, err
    target = tmp_path / "target.vec"
    target.write_text("1 2\nold 1 2\n", encoding="utf-8")
    (tmp_path / "l.vec").symlink_to(target)
    code, _, err = cli("convert", spaces / "src.vec", tmp_path / "l.vec")
    assert code == 0, err
    assert not (tmp_path / "l.vec").is_symlink() and (tmp_path / "l.vec").read_text().startswith(f"{N} {D}\n")
    assert target.read_text(encoding="utf-8") == "1 2\nold 1 2\n"


def test_a_byte_order_mark_is_not_part_of_the_first_word(cli, tmp_path):
    from xling.data.dictionary import read_dictionary
    from xling.data.vectors import load_embeddings

    bom = b"\xef\xbb\xbf"
    np.save(tmp_path / "c.npy", np.eye(2, dtype=np.float32))
    (tmp_path / "c.words").write_bytes(bom + b"a\nb\n")
    (tmp_path / "t.vec").write_bytes(bom + b"2 2\nx 1 0\ny 0 1\n")
    (tmp_path / "d.tsv").write_bytes(bom + b"a\tx\nb\ty\n")
    assert load_embeddings(str(tmp_path / "c.npy")).words[0] == "a"
    assert load_embeddings(str(tmp_path / "t.vec")).words[0] == "x"
    assert list(read_dictionary(str(tmp_path / "d.tsv"))[0].pairs)[0] == ("a", "x")
    code, out, err = cli("lexicon", "eval", tmp_path / "c.npy", tmp_path / "t.vec", "--dict", tmp_path / "d.tsv",
                         "--json")
    assert code == 0 and json.loads(out)["coverage"]["coverage"] == 1.0, err
