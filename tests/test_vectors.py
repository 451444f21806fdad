"""Readers and writers: round trips for every format, and every kind of malformed file."""
from __future__ import annotations

import gzip
import os

import numpy as np
import pytest

from xling.data.embeddings import Embeddings
from xling.data.errors import InputError, XlingError
from xling.data.vectors import VecFormat, cache_words_path, detect_format, load_embeddings, save_embeddings


@pytest.fixture
def emb(rng):
    words = ["the", "a\u00a0b", "naïve", "\u0dc1\u0dca\u200d\u0dbb\u0dd3", "x y", "w5", "élan", "日本"]
    words += [f"w{i}" for i in range(6, 40)]
    return Embeddings(words, rng.standard_normal((len(words), 7)).astype(np.float32))


def write(path, text: str | bytes):
    mode = "wb" if isinstance(text, bytes) else "w"
    with open(path, mode, **({} if isinstance(text, bytes) else {"encoding": "utf-8"})) as f:
        f.write(text)
    return path


# --------------------------------------------------------------------- round trips
@pytest.mark.parametrize("name,fmt", [("v.vec", "text"), ("v.txt", "text"), ("v.npy", "cache")])
def test_round_trip_exact(tmp_path, emb, name, fmt):
    p = tmp_path / name
    assert save_embeddings(emb, p, precision=9) is VecFormat(fmt)
    back = load_embeddings(p)
    assert back.words == emb.words
    assert np.array_equal(back.vectors, emb.vectors)
    assert back.report.format == fmt


def test_word2vec_binary_round_trip(tmp_path, emb):
    e = emb.subset(np.array([i for i, w in enumerate(emb.words) if " " not in w]))
    p = tmp_path / "v.bin"
    save_embeddings(e, p)
    assert detect_format(p) is VecFormat.word2vec
    back = load_embeddings(p)
    assert back.words == e.words and np.array_equal(back.vectors, e.vectors)


def test_word2vec_binary_readable_by_gensim(tmp_path, emb):
    from gensim.models import KeyedVectors

    e = emb.subset(np.array([i for i, w in enumerate(emb.words) if " " not in w]))
    save_embeddings(e, tmp_path / "v.bin")
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    assert list(kv.index_to_key) == list(e.words)
    assert np.array_equal(kv.vectors, e.vectors)
    # and gensim's own binary output (no newline between records) reads back
    kv.save_word2vec_format(str(tmp_path / "g.bin"), binary=True)
    back = load_embeddings(tmp_path / "g.bin")
    assert back.words == e.words and np.array_equal(back.vectors, e.vectors)


def test_text_readable_by_gensim_and_back(tmp_path, emb):
    from gensim.models import KeyedVectors

    e = emb.subset(np.array([i for i, w in enumerate(emb.words) if " " not in w and "\u00a0" not in w]))
    save_embeddings(e, tmp_path / "v.vec", precision=9)
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "v.vec"))
    assert np.array_equal(kv.vectors, e.vectors)


def test_gensim_round_trip_needs_allow_pickle(tmp_path, emb):
    p = tmp_path / "v.kv"
    save_embeddings(emb, p)
    with pytest.raises(InputError, match="pickle"):
        load_embeddings(p)
    back = load_embeddings(p, allow_pickle=True)
    assert back.words == emb.words and np.array_equal(back.vectors, emb.vectors)


def test_keyedvectors_objects(emb):
    kv = emb.to_keyedvectors()
    back = Embeddings.from_keyedvectors(kv)
    assert back.words == emb.words and np.array_equal(back.vectors, emb.vectors)


@pytest.mark.slow
def test_fasttext_bin_in_vocabulary_and_subwords(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    rng = np.random.default_rng(0)
    vocab = ["river", "rivers", "bank", "banks", "money", "water", "fish", "loan"]
    corpus = tmp_path / "c.txt"
    write(corpus, "\n".join(" ".join(rng.choice(vocab, 10)) for _ in range(1500)) + "\n")
    model = fasttext.train_unsupervised(str(corpus), model="skipgram", dim=12, epoch=1, minCount=1, thread=1,
                                        verbose=0, minn=2, maxn=4)
    model.save_model(str(tmp_path / "m.bin"))
    assert detect_format(tmp_path / "m.bin") is VecFormat.fasttext
    e = load_embeddings(tmp_path / "m.bin", extra_words=["riverbank"])
    assert e.words[:-1] == tuple(model.get_words())
    assert e.words[-1] == "riverbank"
    for w in ["river", "money", "riverbank"]:
        assert np.allclose(e[w], model.get_word_vector(w))
    assert np.abs(e["riverbank"]).sum() > 0  # built from subwords, not a zero row
    # .bin -> .vec -> read back: the in-vocabulary vectors survive
    save_embeddings(load_embeddings(tmp_path / "m.bin"), tmp_path / "m.vec", precision=9)
    v = load_embeddings(tmp_path / "m.vec")
    assert np.array_equal(v.vectors, np.stack([model.get_word_vector(w) for w in model.get_words()]))
    with pytest.raises(XlingError, match="cannot be made"):
        save_embeddings(v, tmp_path / "x.vec", format="fasttext")


def test_fasttext_bad_file(tmp_path):
    p = tmp_path / "bad.bin"
    p.write_bytes((793712314).to_bytes(4, "little") + b"\x00" * 10)
    with pytest.raises(InputError, match="bad.bin"):
        load_embeddings(p)


def test_cache_is_memory_mapped_and_max_vocab(tmp_path, emb):
    p = tmp_path / "v.npy"
    save_embeddings(emb, p)
    assert cache_words_path(p).name == "v.words"
    e = load_embeddings(p, max_vocab=5)
    assert isinstance(e.vectors, np.memmap) or isinstance(e.vectors.base, np.memmap)
    assert e.words == emb.words[:5] and np.array_equal(e.vectors, emb.vectors[:5])


# --------------------------------------------------------------------- text format details
def test_header_optional_and_crlf_and_trailing_space(tmp_path):
    p = write(tmp_path / "v.vec", "a 1 2 \r\nb 3 4 \r\n")
    e = load_embeddings(p)
    assert e.words == ("a", "b") and e.vectors.tolist() == [[1, 2], [3, 4]]
    assert e.report.header is None


def test_trailing_blank_lines_are_harmless_elsewhere_an_error(tmp_path, monkeypatch):
    import xling.data.vectors as V

    p = write(tmp_path / "v.vec", "2 2\na 1 2\nb 3 4\n\n\n")
    assert load_embeddings(p).words == ("a", "b")
    monkeypatch.setattr(V, "_BLOCK", 4)  # the blank tail arrives in its own reads
    assert load_embeddings(p).words == ("a", "b")
    with pytest.raises(InputError, match=r"w\.vec:3: empty line"):
        load_embeddings(write(tmp_path / "w.vec", "2 2\na 1 2\n\nb 3 4\n"))


def test_tokens_with_spaces_split_from_the_right(tmp_path):
    p = write(tmp_path / "v.vec", "2 3\nNew York 1 2 3\nnon\u00a0breaking 4 5 6\n")
    e = load_embeddings(p)
    assert e.words == ("New York", "non\u00a0breaking")
    assert e.vectors[1].tolist() == [4, 5, 6]


def test_undecodable_bytes_survive(tmp_path):
    raw = b"1 2\ncaf\xe9 1 2\n"  # latin-1 byte inside a utf-8 file
    p = write(tmp_path / "v.vec", raw)
    e = load_embeddings(p)
    assert e.words[0] == "caf\udce9"
    save_embeddings(e, tmp_path / "o.vec")
    assert (tmp_path / "o.vec").read_bytes().startswith(b"1 2\ncaf\xe9 ")


def test_gzip_text(tmp_path, emb):
    save_embeddings(emb, tmp_path / "v.vec", precision=9)
    with gzip.open(tmp_path / "v.vec.gz", "wb") as f:
        f.write((tmp_path / "v.vec").read_bytes())
    e = load_embeddings(tmp_path / "v.vec.gz")
    assert e.words == emb.words and np.array_equal(e.vectors, emb.vectors)


def test_max_vocab_reads_first_rows(tmp_path, emb):
    save_embeddings(emb, tmp_path / "v.vec", precision=9)
    e = load_embeddings(tmp_path / "v.vec", max_vocab=3)
    assert e.words == emb.words[:3] and e.report.truncated
    assert np.array_equal(e.vectors, emb.vectors[:3])


def test_large_file_parsed_across_blocks(tmp_path, rng, monkeypatch):
    import xling.data.vectors as V

    monkeypatch.setattr(V, "_BLOCK", 1000)  # force many blocks, lines cut at block edges
    x = rng.standard_normal((500, 9)).astype(np.float32)
    e = Embeddings([f"w{i}" for i in range(500)], x)
    save_embeddings(e, tmp_path / "v.vec", precision=9)
    back = load_embeddings(tmp_path / "v.vec")
    assert back.words == e.words and np.array_equal(back.vectors, x)
    assert load_embeddings(tmp_path / "v.vec", max_vocab=123).words == e.words[:123]


# --------------------------------------------------------------------- duplicates and non-finite
def test_duplicates_policies(tmp_path):
    p = write(tmp_path / "v.vec", "a 1 1\nb 2 2\na 3 3\n")
    e = load_embeddings(p)
    assert e.words == ("a", "b") and e["a"].tolist() == [1, 1]
    assert e.report.duplicates_dropped == 1 and e.report.duplicate_examples == ("a",)
    e = load_embeddings(p, on_duplicate="last")
    assert e.words == ("b", "a") and e["a"].tolist() == [3, 3]
    with pytest.raises(InputError, match=r"v\.vec:3: duplicate word 'a'"):
        load_embeddings(p, on_duplicate="error")


def test_nonfinite_error_or_drop(tmp_path):
    p = write(tmp_path / "v.vec", "2 2\na 1 nan\nb 2 2\nc inf 0\n".replace("2 2\n", "3 2\n", 1))
    with pytest.raises(InputError, match=r"v\.vec:2: non-finite"):
        load_embeddings(p)
    e = load_embeddings(p, on_nonfinite="drop")
    assert e.words == ("b",) and e.report.nonfinite_dropped == 2


# --------------------------------------------------------------------- malformed files
@pytest.mark.parametrize("content,pattern", [
    ("3 2\na 1 2\nb 3 4\n", r"v\.vec:1: header says 3 rows but the file has 2"),
    ("1 2\na 1 2\nb 3 4\n", r"v\.vec:3: header says 1 rows but there are more"),
    ("2 3\na 1 2 3\nb 3 4\n", r"v\.vec:3: expected 3 values after the word, found 2"),
    ("a 1 2\nb 3 4 5\n", r"v\.vec:2: expected 2 values"),
    ("2 2\na 1 2\nb 3 x\n", r"v\.vec:3: not a number: 'x'"),
    ("2 2\na 1 2\n\nb 3 4\n", r"v\.vec:3: empty line"),
    ("", r"v\.vec: empty file"),
    ("2 2\n", r"v\.vec: header but no vectors"),
    ("2 0\n", r"v\.vec:1: header gives dimension 0"),
])
def test_malformed_text(tmp_path, content, pattern):
    p = write(tmp_path / "v.vec", content)
    with pytest.raises(InputError, match=pattern):
        load_embeddings(p)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_embeddings(tmp_path / "nope.vec")
    with pytest.raises(InputError, match="directory"):
        load_embeddings(tmp_path)


def test_truncated_word2vec_binary(tmp_path, emb):
    e = emb.subset(np.arange(5, 20))
    save_embeddings(e, tmp_path / "v.bin")
    raw = (tmp_path / "v.bin").read_bytes()
    (tmp_path / "t.bin").write_bytes(raw[:-10])
    with pytest.raises(InputError, match=r"t\.bin:\d+: truncated"):
        load_embeddings(tmp_path / "t.bin")
    (tmp_path / "h.bin").write_bytes(b"junk header\n" + raw)
    with pytest.raises(InputError, match="not a word2vec binary"):
        load_embeddings(tmp_path / "h.bin")


def test_cache_missing_words_and_mismatch(tmp_path, emb):
    save_embeddings(emb, tmp_path / "v.npy")
    os.remove(tmp_path / "v.words")
    with pytest.raises(InputError, match="words file"):
        load_embeddings(tmp_path / "v.npy")
    save_embeddings(emb, tmp_path / "v.npy")
    (tmp_path / "v.words").write_text("a\nb\n")
    with pytest.raises(InputError, match="2 words but the matrix has"):
        load_embeddings(tmp_path / "v.npy")
    np.save(tmp_path / "o.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "o.words").write_text("a\n")
    with pytest.raises(InputError, match="o.npy"):
        load_embeddings(tmp_path / "o.npy")


# --------------------------------------------------------------------- atomic writes
def test_interrupted_write_leaves_nothing(tmp_path, emb):
    calls = {"n": 0}

    def boom(done, total):
        calls["n"] += 1
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        save_embeddings(emb, tmp_path / "out.vec", progress=boom)
    assert calls["n"] == 1
    assert list(tmp_path.iterdir()) == []


def test_existing_output_survives_failed_write(tmp_path, emb):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(XlingError):
        save_embeddings(emb, target)  # 'x y' cannot go into word2vec binary
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


# --------------------------------------------------------------------- Embeddings type
def test_embeddings_is_immutable_and_ops_return_new(emb):
    with pytest.raises(ValueError):
        emb.vectors[0, 0] = 1.0
    n = emb.normalize()
    assert np.allclose(np.linalg.norm(n.vectors, axis=1), 1.0, atol=1e-6)
    assert not np.allclose(np.linalg.norm(emb.vectors, axis=1), 1.0)
    c = emb.center()
    assert np.allclose(c.vectors.mean(axis=0), 0.0, atol=1e-6)
    w = np.eye(7, 3, dtype=np.float32)
    assert np.array_equal(emb.map(w).vectors, emb.vectors @ w)
    assert emb.subset(["the", "w7"]).words == ("the", "w7")
    assert emb.indices(["the", "nope"]).tolist() == [0, -1]
    with pytest.raises(XlingError, match="duplicate"):
        Embeddings(["a", "a"], np.zeros((2, 2)))
    with pytest.raises(XlingError, match="not in the vocabulary"):
        emb.subset(["nope"])


def test_parallel_parse_matches_sequential(tmp_path, rng, monkeypatch):
    import xling.data.vectors as V

    x = rng.standard_normal((3000, 6)).astype(np.float32)
    words = [f"w{i}" for i in range(3000)]
    words[1700] = "New York"  # a word with a space lands in a worker's block
    e = Embeddings(words, x)
    save_embeddings(e, tmp_path / "v.vec", precision=9)
    with open(tmp_path / "v.vec", "ab") as f:
        f.write(b"\n\n")  # trailing blank lines are harmless
    monkeypatch.setattr(V, "PARALLEL_MIN_BYTES", 20_000)
    monkeypatch.setattr(V, "_BLOCK", 7_000)
    monkeypatch.setenv("XLING_IO_WORKERS", "3")
    assert V._parallel_workers(str(tmp_path / "v.vec"), (tmp_path / "v.vec").stat().st_size, None) == 3
    back = load_embeddings(tmp_path / "v.vec")
    assert back.words == e.words and np.array_equal(back.vectors, x)
    # an error in a later range still names the right file line
    lines = (tmp_path / "v.vec").read_text().splitlines()
    bad = list(lines)
    bad[2501] = bad[2501].rsplit(" ", 1)[0] + " oops"
    (tmp_path / "bad.vec").write_text("\n".join(bad) + "\n")
    with pytest.raises(InputError, match=r"bad\.vec:2502: not a number: 'oops'"):
        load_embeddings(tmp_path / "bad.vec")
    # header/row-count disagreement is still caught
    (tmp_path / "hdr.vec").write_text("\n".join(["3001 6"] + lines[1:]) + "\n")
    with pytest.raises(InputError, match="header says 3001 rows but the file has 3000"):
        load_embeddings(tmp_path / "hdr.vec")


def test_parallel_write_matches_sequential(tmp_path, rng, monkeypatch):
    import xling.data.vectors as V

    e = Embeddings([f"w{i}" for i in range(20000)], rng.standard_normal((20000, 3)).astype(np.float32))
    save_embeddings(e, tmp_path / "seq.vec")
    monkeypatch.setattr(V, "_write_workers", lambda values: 2)
    save_embeddings(e, tmp_path / "par.vec")
    assert (tmp_path / "seq.vec").read_bytes() == (tmp_path / "par.vec").read_bytes()


def test_outputs_get_the_usual_file_mode(tmp_path, emb):
    old = os.umask(0o022)
    try:
        save_embeddings(emb, tmp_path / "v.vec")
    finally:
        os.umask(old)
    assert (tmp_path / "v.vec").stat().st_mode & 0o777 == 0o644
