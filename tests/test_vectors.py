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


def train_fasttext(fasttext, corpus, **kw):
    """fastText on a tiny corpus stops with "Encountered NaN" in some runs (it is not repeatable
    even on one thread): try again."""
    for _ in range(20):
        try:
            return fasttext.train_unsupervised(str(corpus), epoch=1, minCount=1, thread=1, verbose=0, **kw)
        except RuntimeError as e:
            if "NaN" not in str(e):
                raise
    raise RuntimeError("fastText failed 20 times")


@pytest.fixture(scope="module")
def ft_model(tmp_path_factory):
    """A real fastText model trained here on a tiny corpus (about 650 KB)."""
    fasttext = pytest.importorskip("fasttext")
    d = tmp_path_factory.mktemp("ft")
    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(200)]
    write(d / "c.txt", "\n".join(" ".join(rng.choice(vocab, 12)) for _ in range(1500)) + "\n")
    train_fasttext(fasttext, d / "c.txt", dim=8, minn=2, maxn=3, bucket=20000).save_model(str(d / "m.bin"))
    return d / "m.bin"


def test_fasttext_model_is_checked_to_its_last_byte(tmp_path, ft_model):
    import struct
    import time

    from xling.data.fmt_fasttext import check_model

    raw = ft_model.read_bytes()
    lay = check_model(str(ft_model))
    assert (lay.dim, lay.nwords, lay.size) == (8, 201, len(raw))  # 200 words and </s>
    cases = {
        "half.bin": (raw[:len(raw) // 2], r"half\.bin: not a valid fastText model: truncated or corrupt: the input "
                                          r"matrix \(20,201 x 8 float32\) needs"),
        "short.bin": (raw[:-1], r"short\.bin: .*the output matrix .* needs 6,432 bytes, 6,431 left"),
        "long.bin": (raw + b"\0", r"long\.bin: .*1 bytes of unexpected data after the model"),
        # the header claims two billion dictionary entries: refused before any is read
        "lying.bin": (raw[:64] + struct.pack("<iii", 2_000_000_000, 2_000_000_000, 0) + raw[76:],
                      r"lying\.bin: .*a dictionary of 2,000,000,000 entries needs 18,000,000,000 bytes"),
        "dim.bin": (raw[:8] + struct.pack("<i", 9) + raw[12:], r"dim\.bin: .*input matrix is 20,201 x 8, expected "
                                                               r"20,201 x 9"),
        "fake.bin": (raw[:8] + np.random.default_rng(0).bytes(5000), r"fake\.bin: not a valid fastText model"),
    }
    for name, (data, msg) in cases.items():
        (tmp_path / name).write_bytes(data)
        t0 = time.perf_counter()
        with pytest.raises(InputError, match=msg):
            load_embeddings(tmp_path / name)
        assert time.perf_counter() - t0 < 2, name


def gensim_test_file(name: str):
    """A small real file shipped with gensim's tests (skip when this gensim has none)."""
    gensim = pytest.importorskip("gensim")
    p = os.path.join(os.path.dirname(gensim.__file__), "test", "test_data", name)
    if not os.path.exists(p):
        pytest.skip(f"gensim's test data has no {name}")
    return p


@pytest.mark.parametrize("name", ["lee_fasttext_new.bin", "pang_lee_polarity_fasttext.bin", "toy-model.bin",
                                  "toy-model-pretrained.bin", "crime-and-punishment.bin"])
def test_real_fasttext_models_pass_the_check(name):
    """Models made by fastText versions 11 and 12, supervised ones, one with an empty word."""
    fasttext = pytest.importorskip("fasttext.FastText")
    from xling.data.fmt_fasttext import check_model

    p = gensim_test_file(name)
    lay = check_model(p)
    model = fasttext._FastText(model_path=p)
    words = model.get_words(on_unicode_error="surrogateescape")
    assert (lay.dim, lay.nwords) == (model.get_dimension(), len(words))
    e = load_embeddings(p)
    assert e.words == tuple(words) and e.dim == lay.dim
    for w in words[:50]:
        if w.isascii():
            assert np.array_equal(e[w], model.get_word_vector(w))
    odd = [w for w in words if not w.encode("utf-8", "surrogateescape").decode("utf-8", "ignore") == w]
    if odd:  # words that are not UTF-8 (pang_lee: 'clich\xe9s') read with their own vectors
        assert len({e[w].tobytes() for w in odd}) == len(odd)


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
    import xling.data.fmt_text as V

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
    import xling.data.fmt_text as V

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
    import xling.data.fmt_text as V

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
    import xling.data.fmt_text as V

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


def test_every_format_has_one_module_behind_the_interface():
    import pickle

    from xling.data import formats
    from xling.data.errors import InputError as IE

    for fmt in formats.VecFormat:
        if fmt is formats.VecFormat.auto:
            continue
        assert callable(formats.reader(fmt)) and callable(formats.writer(fmt))
    # errors raised in a worker process reach the parent with their file and line
    e = pickle.loads(pickle.dumps(IE("bad", "f.vec", 7)))
    assert (e.path, e.line, str(e)) == ("f.vec", 7, "f.vec:7: bad")


# --------------------------------------------------------------------- readers that cannot be fooled
def test_lying_headers_are_refused_before_allocating(tmp_path):
    p = write(tmp_path / "v.vec", "200 999999999\na 1 2\n")
    with pytest.raises(InputError, match=r"v\.vec:1: header gives dimension 999,999,999: one row would need at "
                                         r"least 1,999,999,998 bytes, more than the whole file has \(20\)"):
        load_embeddings(p)
    with gzip.open(tmp_path / "v.vec.gz", "wb") as f:
        f.write(b"200 999999999\na 1 2\n")
    with pytest.raises(InputError, match=r"v\.vec\.gz:1: header gives dimension .* can expand to"):
        load_embeddings(tmp_path / "v.vec.gz")
    # a row count beyond what the file holds is not preallocated: the rows are counted
    p = write(tmp_path / "n.vec", "99999999999 2\na 1 2\n")
    with pytest.raises(InputError, match=r"n\.vec:1: header says 99999999999 rows but the file has 1"):
        load_embeddings(p)
    p = write(tmp_path / "v.bin", b"99999999999 300\na " + bytes(1200))
    with pytest.raises(InputError, match=r"v\.bin:1: truncated file or wrong header: 99,999,999,999 vectors of "
                                         r"dimension 300 need at least 120,199,999,998,798 bytes, the file has "
                                         r"1,202 after its header"):
        load_embeddings(p)
    with pytest.raises(InputError, match=r"z\.bin:1: header says 0 vectors"):
        load_embeddings(write(tmp_path / "z.bin", b"0 300\n"))


def test_gzip_errors_name_the_file(tmp_path):
    with gzip.open(tmp_path / "v.vec.gz", "wb") as f:
        f.write(b"2 2\na 1 2\nb 3 4\n" * 50)
    raw = (tmp_path / "v.vec.gz").read_bytes()
    write(tmp_path / "t.vec.gz", raw[:len(raw) // 2])
    with pytest.raises(InputError, match=r"t\.vec\.gz: truncated: the compressed data ends"):
        load_embeddings(tmp_path / "t.vec.gz")
    for name, at in [("crc.vec.gz", -8), ("method.vec.gz", 2)]:  # the checksum; the compression method
        bad = bytearray(raw)
        bad[at] ^= 0xFF
        write(tmp_path / name, bytes(bad))
        with pytest.raises(InputError, match=name.replace(".", r"\.") + ": corrupt gzip data"):
            load_embeddings(tmp_path / name)


@pytest.mark.parametrize("content,pattern", [
    ("2 2\n the 1 2\nb 3 4\n", r"v\.vec:2: line starts with a space: the word would be ' the'"),
    ("2 2\na 1_0 2\nb 3 4\n", r"v\.vec:2: not a number: '1_0'"),
    ("2 2\na 1 2\r\nb\rc 3 4\r\n", r"v\.vec:3: carriage return inside the word"),
    ("2 2\na\t1\t2\nb\t3\t4\n", r"v\.vec:2: expected 2 values after the word, found 0 \(fields are separated by "
                                r"tabs"),
])
def test_strict_text_parsing(tmp_path, content, pattern):
    import warnings

    p = write(tmp_path / "v.vec", content)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy UserWarning before the error
        with pytest.raises(InputError, match=pattern):
            load_embeddings(p)


def test_cache_words_crlf_empty_matrix_and_lying_npy_header(tmp_path, emb):
    save_embeddings(emb, tmp_path / "v.npy")
    wp = cache_words_path(tmp_path / "v.npy")
    wp.write_bytes(wp.read_bytes().replace(b"\n", b"\r\n"))  # edited on Windows
    assert load_embeddings(tmp_path / "v.npy").words == emb.words  # no '\r' in the words
    wp.write_bytes(wp.read_bytes().replace(b"\r\n", b"\n").replace(b"w7\n", b"w\r7\n"))
    with pytest.raises(InputError, match=r"v\.words:10: carriage return inside a word"):
        load_embeddings(tmp_path / "v.npy")
    # a 0 x d cache is not a vocabulary
    np.save(tmp_path / "e.npy", np.zeros((0, 7), dtype=np.float32))
    write(tmp_path / "e.words", "")
    with pytest.raises(InputError, match=r"e\.npy: no vectors: the matrix is 0 x 7"):
        load_embeddings(tmp_path / "e.npy")
    # the .npy header must account for the file's bytes
    raw = (tmp_path / "v.npy").read_bytes()
    write(tmp_path / "t.npy", raw[:-4])
    wp2 = cache_words_path(tmp_path / "t.npy")
    wp2.write_bytes(cache_words_path(tmp_path / "v.npy").read_bytes())
    for mmap_cache in (True, False):
        with pytest.raises(InputError, match=r"t\.npy: the header says a 42 x 7 float32 matrix \(1,176 bytes\), "
                                             r"the file has 1,172 bytes of data"):
            load_embeddings(tmp_path / "t.npy", mmap_cache=mmap_cache)
    write(tmp_path / "h.npy", raw.replace(b"(42, 7), }" + b" " * 11, b"(4200000000000, 7), }"))
    cache_words_path(tmp_path / "h.npy").write_bytes(cache_words_path(tmp_path / "v.npy").read_bytes())
    with pytest.raises(InputError, match=r"h\.npy: the header says a 4,200,000,000,000 x 7 float32 matrix"):
        load_embeddings(tmp_path / "h.npy")


# --------------------------------------------------------------------- gensim's KeyedVectors queries
def test_most_similar_similarity_get_vector_match_gensim():
    """On a real file (vectors trained on the Lee corpus, shipped with gensim's tests)."""
    from gensim.models import KeyedVectors

    p = gensim_test_file("lee_fasttext.vec")
    kv = KeyedVectors.load_word2vec_format(p)
    e = load_embeddings(p)
    assert e.words == tuple(kv.index_to_key)
    words = list(kv.index_to_key)
    w0, w1, w2, w3 = words[10], words[25], words[40], words[300]
    for w in (w0, w3):
        assert np.array_equal(e.get_vector(w), kv.get_vector(w))
        assert np.allclose(e.get_vector(w, norm=True), kv.get_vector(w, norm=True), atol=1e-6)
    assert np.array_equal(e.get_vector(7), kv.get_vector(7))  # a row number, as gensim
    assert e.similarity(w0, w1) == pytest.approx(float(kv.similarity(w0, w1)), abs=1e-6)
    vec = kv.get_vector(w2)
    queries = [
        dict(positive=w0),
        dict(positive=[w0, w1], negative=[w2], topn=7),
        dict(positive=[(w0, 2.0), w1], negative=[(w3, -0.5)], topn=12),
        dict(positive=[vec, w1], topn=5),
        dict(positive=[w3], restrict_vocab=200, topn=10),
        dict(negative=[w1], topn=3),
    ]
    for q in queries:
        ours, theirs = e.most_similar(**q), kv.most_similar(**q)
        assert [w for w, _ in ours] == [w for w, _ in theirs], q
        assert np.allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5), q
    assert np.allclose(e.most_similar(w0, topn=None), kv.most_similar(w0, topn=None), atol=1e-5)
    assert e.most_similar(w0, topn=0) == kv.most_similar(w0, topn=0) == []
    for bad in (lambda m: m("no-such-word"), lambda m: m([w0], negative=["no-such-word"])):
        with pytest.raises(KeyError):
            bad(e.most_similar)
        with pytest.raises(KeyError):
            bad(kv.most_similar)
    with pytest.raises(ValueError):
        e.most_similar([])
    with pytest.raises(KeyError):
        e.get_vector("no-such-word")


def test_most_similar_with_a_zero_row_and_memmap(tmp_path):
    x = np.array([[1, 0], [0, 0], [1, 1], [-1, 0], [0.9, 0.1]], dtype=np.float32)
    e = Embeddings(["a", "zero", "b", "c", "d"], x)
    assert e.get_vector("zero", norm=True).tolist() == [0, 0] and e.similarity("a", "zero") == 0
    assert [w for w, _ in e.most_similar("a", topn=10)] == ["d", "b", "c"]  # the zero row never ranks
    assert np.isnan(e.most_similar("a", topn=None)[1])
    save_embeddings(e, tmp_path / "v.npy")
    m = load_embeddings(tmp_path / "v.npy")  # memory-mapped, searched chunk by chunk
    assert m.most_similar("a", topn=2, chunk_rows=2) == e.most_similar("a", topn=2)


# --------------------------------------------------------------------- progress (issue 16.6: no '0/?', no TB/s)
@pytest.mark.parametrize("name", ["v.vec", "v.vec.gz", "v.bin", "ft"])
def test_progress_is_bytes_of_the_file(tmp_path, emb, name, request):
    import gzip as _gz

    if name == "ft":
        path = str(request.getfixturevalue("ft_model"))
    else:
        path = str(tmp_path / name)
        if name.endswith(".gz"):
            save_embeddings(emb, str(tmp_path / "v.vec"))
            with open(tmp_path / "v.vec", "rb") as f:
                write(path, _gz.compress(f.read()))
        else:
            keep = [i for i, w in enumerate(emb.words) if " " not in w]
            save_embeddings(Embeddings([emb.words[i] for i in keep], emb.vectors[keep]), path)
    size = os.path.getsize(path)
    calls = []
    load_embeddings(path, progress=lambda done, total: calls.append((done, total)))
    assert calls and all(total == size for _, total in calls), (calls[:3], size)
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and 0 < dones[-1] <= size
    assert dones[-1] >= size - 2  # the end of the file (a text file's last newline may be left)


def test_mean_rate_column_ignores_bursts():
    from rich.progress import Progress, TransferSpeedColumn

    from xling.cli.bars import MeanRateColumn

    now = [0.0]
    col = MeanRateColumn()
    with Progress(col, TransferSpeedColumn(), get_time=lambda: now[0], disable=True) as p:
        t = p.add_task("reading", total=200_000_000)
        assert str(col.render(p.tasks[0])) == ""  # first sight: no rate yet
        now[0] = 10.0
        p.update(t, completed=1_000_000)
        now[0] = 10.001  # the other workers' ranges arrive together
        p.update(t, completed=100_000_000)
        task = p.tasks[0]
        assert str(col.render(task)) == "10.0 MB/s"
        assert str(TransferSpeedColumn().render(task)) == "99.0 GB/s"  # what rich's own column shows
        # a resumed download: the bytes already there do not count
        r = p.add_task("downloading", total=200_000_000)
        p.update(r, completed=150_000_000)
        assert str(col.render(p.tasks[1])) == ""
        now[0] = 12.001
        p.update(r, completed=152_000_000)
        assert str(col.render(p.tasks[1])) == "1.0 MB/s"
