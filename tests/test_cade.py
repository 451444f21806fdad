"""CADE: the frozen-output trainer, compass-aligned slices, shift ranking, and the `xling cade` commands.

Corpora are generated here: sentences drawn from a few "topics" (disjoint word sets), so that
words of one topic share contexts and a word moved from one topic to another has shifted.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest

from xling.align import w2v
from xling.align.cade import (
    SLICE_ALPHA,
    ShiftMeasure,
    neighbours,
    shift_scores,
    top_overlap,
    train_compass,
    train_slice,
)
from xling.align.w2v import Arch, W2VParams
from xling.data.embeddings import Embeddings, unit_rows
from xling.data.errors import XlingError

N_TOPICS, TOPIC_WORDS = 6, 10


def topic_corpus(seed: int, n_sent: int = 1500, moving: str | None = None, topic_of_moving: int = 0):
    """Sentences of 8 words, each from one topic (+ shared filler words)."""
    rng = np.random.default_rng(seed)
    topics = [[f"t{t}w{i}" for i in range(TOPIC_WORDS)] for t in range(N_TOPICS)]
    fillers = ["the", "a", "of", "and"]
    out = []
    for _ in range(n_sent):
        t = int(rng.integers(N_TOPICS))
        words = list(rng.choice(topics[t], 6)) + list(rng.choice(fillers, 2))
        if moving is not None and t == topic_of_moving:
            words[int(rng.integers(6))] = moving
        rng.shuffle(words)
        out.append([str(w) for w in words])
    return out


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def topic_separation(emb: Embeddings) -> float:
    """Mean cosine of same-topic pairs minus mean cosine of different-topic pairs."""
    words = [f"t{t}w{i}" for t in range(N_TOPICS) for i in range(TOPIC_WORDS)]
    v = unit_rows(np.asarray(emb.vectors[emb.indices(words)]))
    s = v @ v.T
    lab = np.repeat(np.arange(N_TOPICS), TOPIC_WORDS)
    same = lab[:, None] == lab[None, :]
    off = ~np.eye(len(words), dtype=bool)
    return float(s[same & off].mean() - s[~same].mean())


PARAMS = W2VParams(arch=Arch.cbow, dim=24, window=4, negative=5, epochs=8, threads=1, seed=3, sample=0)


@pytest.fixture(scope="module")
def compass():
    corpus = topic_corpus(1) + topic_corpus(2)
    return train_compass(corpus, PARAMS, min_count=2)


# ------------------------------------------------------------------------- trainer
@pytest.mark.parametrize("arch", [Arch.sg, Arch.cbow])
@pytest.mark.slow
def test_trainer_learns_topics_and_is_deterministic(arch):
    sents = topic_corpus(5, n_sent=1200)
    vocab = w2v.build_vocab(w2v.count_words(sents), 1)
    corpus = w2v.encode(sents, vocab)
    params = W2VParams(arch=arch, dim=24, window=4, negative=5, epochs=5, threads=1, seed=7, sample=0)
    runs = []
    for _ in range(2):
        syn0 = w2v.init_input_vectors(len(vocab), 24, seed=7)
        syn1 = np.zeros_like(syn0)
        stats = w2v.train(corpus, syn0, syn1, vocab.counts, params)
        runs.append(syn0)
    assert stats.words == corpus.n_words * 5
    assert digest(runs[0]) == digest(runs[1])  # threads=1 + seed: same bytes
    assert topic_separation(Embeddings(vocab.words, runs[0])) > 0.3


@pytest.mark.parametrize("arch", [Arch.sg, Arch.cbow])
def test_frozen_output_matrix_is_byte_identical(arch):
    sents = topic_corpus(6, n_sent=600)
    vocab = w2v.build_vocab(w2v.count_words(sents), 1)
    corpus = w2v.encode(sents, vocab)
    rng = np.random.default_rng(0)
    syn1 = rng.standard_normal((len(vocab), 16)).astype(np.float32)
    before = digest(syn1)
    params = W2VParams(arch=arch, dim=16, epochs=2, seed=1)
    syn0 = w2v.init_input_vectors(len(vocab), 16, seed=1)
    start = syn0.copy()
    w2v.train(corpus, syn0, syn1, vocab.counts, params, train_output=False)
    assert digest(syn1) == before
    assert not np.array_equal(syn0, start)  # the input side did learn
    # control: the same call with the output layer trained does change it
    w2v.train(corpus, syn0, syn1, vocab.counts, params, train_output=True)
    assert digest(syn1) != before


@pytest.mark.slow
def test_torch_trainer_frozen_and_learns():
    from xling.align.w2v_torch import train_torch

    sents = topic_corpus(8, n_sent=800)
    vocab = w2v.build_vocab(w2v.count_words(sents), 1)
    corpus = w2v.encode(sents, vocab)
    for arch in (Arch.sg, Arch.cbow):
        params = W2VParams(arch=arch, dim=16, window=4, epochs=8, seed=2, sample=0)
        syn0 = w2v.init_input_vectors(len(vocab), 16, seed=2)
        syn1 = np.random.default_rng(1).standard_normal(syn0.shape).astype(np.float32) * 0.3
        before = digest(syn1)
        train_torch(corpus, syn0, syn1, vocab.counts, params, train_output=False, device="cpu",
                    batch_positions=256)
        assert digest(syn1) == before
        # a fixed random output layer is enough for the input vectors to cluster by topic
        assert topic_separation(Embeddings(vocab.words, syn0)) > 0.2, arch


def test_trainer_rejects_empty_and_bad_shapes():
    from xling.data.errors import XlingError

    vocab = w2v.Vocab(("a", "b"), np.array([3, 2]))
    empty = w2v.encode([["zzz"]], vocab)
    syn = np.zeros((2, 4), np.float32)
    with pytest.raises(XlingError, match="no in-vocabulary"):
        w2v.train(empty, syn, syn.copy(), vocab.counts, W2VParams(dim=4))
    with pytest.raises(XlingError, match="shape mismatch"):
        w2v.train(w2v.encode([["a", "b"]], vocab), syn, np.zeros((3, 4), np.float32), vocab.counts,
                  W2VParams(dim=4))
    with pytest.raises(XlingError, match="at least 1"):
        W2VParams(window=0)


@pytest.mark.gpu
def test_cuda_trainer_frozen():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA")
    sents = topic_corpus(9, n_sent=1500)
    vocab = w2v.build_vocab(w2v.count_words(sents), 1)
    corpus = w2v.encode(sents, vocab)
    syn0 = w2v.init_input_vectors(len(vocab), 16, seed=2)
    syn1 = np.random.default_rng(1).standard_normal(syn0.shape).astype(np.float32) * 0.3
    before = digest(syn1)
    stats = w2v.train(corpus, syn0, syn1, vocab.counts, W2VParams(dim=16, epochs=8, sample=0), train_output=False,
                      device="cuda")
    assert stats.device == "cuda" and digest(syn1) == before
    assert topic_separation(Embeddings(vocab.words, syn0)) > 0.2


@pytest.mark.gpu
def test_cuda_trainer_matches_the_cpu_torch_trainer():
    # the same batches and random numbers (one CPU generator) on both devices: CUDA must learn the
    # CPU's vectors up to float rounding (and atomic-add order)
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA")
    from xling.align.w2v_torch import train_torch

    sents = topic_corpus(10, n_sent=600)
    vocab = w2v.build_vocab(w2v.count_words(sents), 1)
    corpus = w2v.encode(sents, vocab)
    for arch in (Arch.sg, Arch.cbow):
        params = W2VParams(arch=arch, dim=16, window=4, epochs=2, seed=4, sample=0)
        out = {}
        for device in ("cpu", "cuda"):
            syn0 = w2v.init_input_vectors(len(vocab), 16, seed=4)
            syn1 = np.random.default_rng(1).standard_normal(syn0.shape).astype(np.float32) * 0.3
            stats = train_torch(corpus, syn0, syn1, vocab.counts, params, train_output=True, device=device,
                                batch_positions=256)
            assert stats.device == device
            out[device] = syn0
        cos = np.einsum("ij,ij->i", unit_rows(out["cpu"]), unit_rows(out["cuda"]))
        assert cos.min() > 0.99, arch
        np.testing.assert_allclose(out["cuda"], out["cpu"], atol=5e-3)


def test_trainer_device_policy(monkeypatch):
    import xling.lexicon.device as D
    from xling.align.w2v_torch import train_torch
    from xling.data.errors import DeviceError

    vocab = w2v.Vocab(("a", "b"), np.array([3, 2]))
    corpus = w2v.encode([["a", "b", "a"]], vocab)
    syn0 = w2v.init_input_vectors(2, 4, seed=0)
    monkeypatch.setattr(D, "cuda_available", lambda: False)
    for run in (lambda: w2v.train(corpus, syn0, syn0.copy(), vocab.counts, W2VParams(dim=4), device="cuda"),
                lambda: train_torch(corpus, syn0, syn0.copy(), vocab.counts, W2VParams(dim=4), device="cuda")):
        with pytest.raises(DeviceError) as e:
            run()
        assert str(e.value) == D.NO_CUDA
    with pytest.raises(XlingError, match="unknown device"):
        w2v.train(corpus, syn0, syn0.copy(), vocab.counts, W2VParams(dim=4), device="gpu0")
    # auto without CUDA is the numba CPU trainer: the bytes of device="cpu"
    a, b = syn0.copy(), syn0.copy()
    assert w2v.train(corpus, a, a.copy(), vocab.counts, W2VParams(dim=4), device="auto").device == "cpu"
    w2v.train(corpus, b, b.copy(), vocab.counts, W2VParams(dim=4), device="cpu")
    assert digest(a) == digest(b)


# ------------------------------------------------------------------------- CADE
def test_slice_training_keeps_compass_output(compass):
    before = digest(compass.output)
    sl = train_slice(topic_corpus(3), compass, PARAMS, min_count=2)
    assert digest(compass.output) == before
    assert set(sl.vocab.words) <= set(compass.vocab.words)
    assert sl.vectors.shape == (len(sl.vocab), PARAMS.dim)


@pytest.mark.parametrize("init", ["compass", "random"])
def test_slices_of_identical_corpus_are_close(compass, init):
    # different seeds (and, with init=random, different random starts): only the frozen
    # compass output matrix ties the two slices to one space
    corpus = topic_corpus(4)
    a = train_slice(corpus, compass, replace(PARAMS, seed=11), min_count=2,
                    init=init).embeddings()
    b = train_slice(corpus, compass, replace(PARAMS, seed=12), min_count=2,
                    init=init).embeddings()
    frequent = [w for w in a.index_to_key[:40]]
    va, vb = unit_rows(np.asarray(a.vectors[a.indices(frequent)])), unit_rows(np.asarray(b.vectors[b.indices(frequent)]))
    same_word = np.einsum("ij,ij->i", va, vb)
    assert same_word.min() > 0.9
    # and far above what two different words score in the same shared space
    assert same_word.mean() - (va @ vb.T)[~np.eye(len(frequent), dtype=bool)].mean() > 0.3


@pytest.mark.slow
def test_planted_shift_is_detected():
    params = W2VParams(arch=Arch.sg, dim=24, window=4, negative=5, epochs=10, threads=1, seed=5, sample=0)
    old = topic_corpus(21, moving="rover", topic_of_moving=0)
    new = topic_corpus(22, moving="rover", topic_of_moving=3)
    comp = train_compass(old + new, params, min_count=2)
    a = train_slice(old, comp, params, min_count=2).embeddings()
    b = train_slice(new, comp, params, min_count=2).embeddings()
    table = shift_scores(a, b, k=8)
    assert table.ranking(ShiftMeasure.cosine)[0] == "rover"
    # filler words ("the", "of") have no stable neighbours; among content words the overlap
    # measure puts the moved word first too
    content = [w for w in a.index_to_key if w not in ("the", "a", "of", "and")]
    table = shift_scores(a, b, k=8, words=content)
    assert table.ranking(ShiftMeasure.neighbours)[0] == "rover"
    assert table.neighbours[table.words.index("rover")] == 1.0  # no neighbour in common
    # its neighbours moved from topic 0 to topic 3
    assert all(w.startswith("t0") for w, _ in neighbours(a, "rover", 3))
    assert all(w.startswith("t3") for w, _ in neighbours(b, "rover", 3))


def test_slice_replicates_average_unit_vectors(compass):
    from xling.align.cade import replicate_seed

    corpus = topic_corpus(4, n_sent=600)
    one = train_slice(corpus, compass, PARAMS, min_count=2)
    two = train_slice(corpus, compass, replace(PARAMS, seed=replicate_seed(PARAMS.seed, 1)),
                      min_count=2)
    mean = train_slice(corpus, compass, PARAMS, min_count=2, replicates=2)
    # replicate 0 is the single run; the result is the mean of the two runs' unit vectors
    np.testing.assert_allclose(mean.vectors, (unit_rows(one.vectors) + unit_rows(two.vectors)) / 2, atol=1e-6)
    assert mean.stats.words == 2 * one.stats.words
    assert digest(train_slice(corpus, compass, PARAMS, min_count=2, replicates=2).vectors) == digest(mean.vectors)
    assert replicate_seed(5, 0) == 5 and len({replicate_seed(5, r) for r in range(4)}) == 4
    # the mean is steadier: two 3-replicate slices (disjoint seeds) agree more than two single runs
    p2 = replace(PARAMS, seed=99)
    single = np.einsum("ij,ij->i", unit_rows(one.vectors), unit_rows(
        train_slice(corpus, compass, p2, min_count=2).vectors)).mean()
    r3 = [train_slice(corpus, compass, replace(PARAMS, seed=s), min_count=2, replicates=3)
          for s in (1000, 2000)]
    assert np.einsum("ij,ij->i", unit_rows(r3[0].vectors), unit_rows(r3[1].vectors)).mean() > single
    with pytest.raises(XlingError, match="replicates"):
        train_slice(corpus, compass, PARAMS, min_count=2, replicates=0)


def test_shift_scores_on_known_vectors():
    words = ["a", "b", "c", "d"]
    x = np.eye(4, dtype=np.float32)
    y = x.copy()
    y[2] = [0, 0, 0, 1]  # "c" points where "d" points
    table = shift_scores(Embeddings(words, x), Embeddings(words, y), k=1)
    np.testing.assert_allclose(table.cosine, [0, 0, 1, 0], atol=1e-6)
    assert table.ranking()[0] == "c"
    assert top_overlap(["a", "b", "c"], ["c", "a", "x"], 2) == 0.5


def test_library_train_save_reload_and_rank(tmp_path):
    # a library user: corpora files -> slices -> files -> slices back -> shift ranking, no CLI code
    from xling.align.cade import slice_alpha_for, slice_params
    from xling.align.cade_io import (
        COMPASS,
        frequent_words,
        load_slice,
        read_corpora,
        read_counts,
        save_slice,
        slice_labels,
        slice_name,
    )

    paths = [write_corpus(tmp_path / "old.txt", topic_corpus(21, n_sent=600, moving="rover", topic_of_moving=0)),
             write_corpus(tmp_path / "new.txt", topic_corpus(22, n_sent=600, moving="rover", topic_of_moving=3))]
    names, texts = read_corpora(paths)
    assert names == ["old", "new"] and texts[0][0] == topic_corpus(21, n_sent=1, moving="rover")[0]
    params, auto = slice_params(PARAMS, [4000, 6000])
    assert auto and params == replace(PARAMS, alpha=slice_alpha_for(5000, PARAMS.epochs))
    assert slice_params(PARAMS, [2_000_000], None)[0].alpha == pytest.approx(SLICE_ALPHA / PARAMS.epochs)
    assert slice_params(PARAMS, [10], 0.02) == (replace(PARAMS, alpha=0.02), False)
    with pytest.raises(XlingError, match="slice-alpha must be at least"):
        slice_params(PARAMS, [10], 1e-6)
    out = tmp_path / "out"
    compass = train_compass(texts[0] + texts[1], PARAMS, min_count=2)
    files = save_slice(compass, out, COMPASS)
    assert files.vectors == out / "compass.vec" and read_counts(files.counts)["the"] > 0
    trained = {n: train_slice(t, compass, PARAMS, min_count=2) for n, t in zip(names, texts, strict=True)}
    saved = {n: save_slice(sl, out, n) for n, sl in trained.items()}
    back = {n: load_slice(f.vectors) for n, f in saved.items()}
    for n, sl in trained.items():
        assert tuple(back[n].embeddings.index_to_key) == sl.vocab.words
        np.testing.assert_allclose(back[n].embeddings.vectors, sl.vectors, rtol=1e-5, atol=1e-6)
        assert back[n].counts == dict(zip(sl.vocab.words, sl.vocab.counts.tolist(), strict=True))
    words = frequent_words(back["old"], back["new"], 5)
    assert "rover" in words and all(back["old"].counts[w] >= 5 and back["new"].counts[w] >= 5 for w in words)
    table = shift_scores(back["old"].embeddings, back["new"].embeddings, words=words)
    assert table.ranking()[0] == "rover"
    assert slice_name(saved["old"].vectors) == "old" and slice_labels(["a/x.vec", "b/x.vec"]) == ["a/x.vec", "b/x.vec"]
    with pytest.raises(XlingError, match="same slice name"):
        read_corpora([paths[0], paths[0]])
    (tmp_path / "compass.txt").write_text("a b\n", encoding="utf-8")
    with pytest.raises(XlingError, match="clash with the compass"):
        read_corpora([tmp_path / "compass.txt"])


# ------------------------------------------------------------------------- CLI
def write_corpus(path, sentences):
    path.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from typer.testing import CliRunner

    from xling.cli.main import app

    d = tmp_path_factory.mktemp("cade")
    a = write_corpus(d / "old.txt", topic_corpus(31, moving="Rover", topic_of_moving=0))
    b = write_corpus(d / "new.txt", topic_corpus(32, moving="Rover", topic_of_moving=3))
    res = CliRunner().invoke(app, ["cade", "train", str(a), str(b), "-o", str(d / "out"), "--dim", "24",
                                   "--epochs", "10", "--min-count", "2", "--arch", "sg", "--threads", "1", "--sample", "0",
                                   "--window", "4", "--lowercase", "--replicates", "2", "--json"],
                           catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    return d, json.loads(res.stdout)


def test_cli_train_writes_slices(trained):
    d, record = trained
    out = d / "out"
    for name in ("compass.vec", "old.vec", "new.vec", "old.counts.tsv", "new.counts.tsv", "cade.json"):
        assert (out / name).exists(), name
    assert [s["name"] for s in record["slices"]] == ["old", "new"]
    assert record["slices"][0]["words_per_sec"] > 0
    assert json.loads((out / "cade.json").read_text())["params"]["lowercase"] is True
    assert record["params"]["replicates"] == 2 and "replicates=2" in record["signature"]
    counts = dict(line.split("\t") for line in (out / "old.counts.tsv").read_text().splitlines())
    assert "rover" in counts and "Rover" not in counts  # --lowercase applied


def test_cli_shift_outputs(trained, cli):
    d, _ = trained
    a, b = d / "out" / "old.vec", d / "out" / "new.vec"
    code, out, err = cli("cade", "shift", a, b, "--top", "5", "--min-count", "3", "--json")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["top"][0]["word"] == "rover" and len(rec["top"]) == 5
    assert rec["top"][0]["count_a"] >= 3
    code, out, err = cli("cade", "shift", a, b, "-o", "-", "--by", "neighbours")
    assert code == 0, err
    lines = out.strip().split("\n")
    assert lines[0].split("\t")[:3] == ["rank", "word", "cosine_distance"]
    assert len(lines) == 1 + rec["shared"]
    assert "rover" in [ln.split("\t")[1] for ln in lines[1:10]]
    code, out, err = cli("cade", "shift", a, b, "--top", "3")
    assert code == 0 and "rover" in out


def test_cli_neighbours(trained, cli):
    d, _ = trained
    files = [d / "out" / n for n in ("old.vec", "new.vec")]
    code, out, err = cli("cade", "neighbours", *files, "--word", "rover", "-k", "3", "--json")
    assert code == 0, err
    rec = json.loads(out)
    assert all(n["word"].startswith("t0") for n in rec["slices"]["old"])
    assert all(n["word"].startswith("t3") for n in rec["slices"]["new"])
    code, out, err = cli("cade", "neighbours", *files, "--word", "rover")
    assert code == 0 and "old" in out and "new" in out
    code, out, err = cli("cade", "neighbours", *files, "--word", "nosuchword")
    assert code == 2 and "nosuchword" in err
    # several words: one record each; two files with one slice name keep both columns
    code, out, err = cli("cade", "neighbours", files[0], files[0], "-w", "rover", "-w", "t0w1", "-k", "2", "--json")
    assert code == 0, err
    recs = json.loads(out)["results"]
    assert [r["word"] for r in recs] == ["rover", "t0w1"]
    assert len(recs[0]["slices"]) == 2 and len(set(map(str, recs[0]["slices"].values()))) == 1
    code, out, err = cli("cade", "neighbours", *files, "-w", "rover", "-w", "nosuchword")
    assert code == 2 and "nosuchword" in err and "rover" not in err


def test_cli_bad_inputs(tmp_path, cli):
    good = write_corpus(tmp_path / "good.txt", topic_corpus(1, n_sent=50))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    code, out, err = cli("cade", "train", good, empty, "-o", tmp_path / "o")
    assert code == 2 and "empty.txt: empty corpus" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # failed before writing anything
    code, out, err = cli("cade", "train", good, tmp_path / "missing.txt", "-o", tmp_path / "o")
    assert code == 2 and "missing.txt: no such file" in err
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok line\n\xff\xfe broken\n")
    code, out, err = cli("cade", "train", good, bad, "-o", tmp_path / "o")
    assert code == 2 and "bad.txt:2:" in err
    code, out, err = cli("cade", "train", good, good, "-o", tmp_path / "o")
    assert code == 2 and "same slice name" in err
    code, out, err = cli("cade", "train", good, "-o", tmp_path / "o", "--replicates", "0")
    assert code == 2 and "replicates" in err and "Traceback" not in err
    # vectors without counts files: --min-count cannot work
    e = Embeddings(["x", "y", "z"], np.eye(3, dtype=np.float32))
    from xling.data.vectors import save_embeddings

    save_embeddings(e, tmp_path / "p.vec")
    save_embeddings(e, tmp_path / "q.vec")
    code, out, err = cli("cade", "shift", tmp_path / "p.vec", tmp_path / "q.vec", "--min-count", "2")
    assert code == 2 and "p.counts.tsv is missing" in err
    code, out, err = cli("cade", "shift", tmp_path / "p.vec", tmp_path / "q.vec", "-o", "-", "--json")
    assert code == 2 and "stdout" in err
    code, out, err = cli("cade", "shift", tmp_path / "p.vec", tmp_path / "nope.vec")
    assert code == 2 and "nope.vec" in err


def test_cli_cuda_without_cuda(tmp_path, cli):
    from xling.lexicon.knn import cuda_available

    if cuda_available():
        pytest.skip("CUDA present")
    good = write_corpus(tmp_path / "good.txt", topic_corpus(1, n_sent=50))
    code, out, err = cli("cade", "train", good, "-o", tmp_path / "o", "--device", "cuda", "--min-count", "1")
    assert code == 2 and "cuda" in err.lower()


def test_cli_train_same_seed_same_bytes(tmp_path, cli):
    a = write_corpus(tmp_path / "a.txt", topic_corpus(41, n_sent=300))
    b = write_corpus(tmp_path / "b.txt", topic_corpus(42, n_sent=300))
    outs = []
    for run in ("r1", "r2"):
        code, out, err = cli("--quiet", "cade", "train", a, b, "-o", tmp_path / run, "--dim", "8", "--epochs", "2",
                             "--min-count", "1", "--threads", "1", "--seed", "4", "--replicates", "2", "--json")
        assert code == 0, err
        outs.append([(tmp_path / run / f).read_bytes() for f in ("compass.vec", "a.vec", "b.vec")])
    assert outs[0] == outs[1]


def test_progress_callbacks_count_words():
    sents = topic_corpus(51, n_sent=200)
    calls = []
    params = W2VParams(dim=8, epochs=3, seed=1)
    comp = train_compass(sents, params, min_count=1, progress=lambda d, t: calls.append((d, t)))
    n_words = sum(map(len, sents))
    assert calls == [(i * n_words, 3 * n_words) for i in (1, 2, 3)]
    calls.clear()
    sl = train_slice(sents, comp, params, min_count=1, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (3 * n_words, 3 * n_words) and sl.stats.words == 3 * n_words
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False))


def test_cli_slice_alpha_sets_only_the_slices(tmp_path, cli):
    a = write_corpus(tmp_path / "a.txt", topic_corpus(43, n_sent=300))
    b = write_corpus(tmp_path / "b.txt", topic_corpus(44, n_sent=300))
    common = ["--dim", "8", "--epochs", "2", "--min-count", "1", "--threads", "1", "--seed", "4", "--replicates", "1"]
    code, _, err = cli("--quiet", "cade", "train", a, b, "-o", tmp_path / "d", *common)
    assert code == 0, err
    code, _, err = cli("--quiet", "cade", "train", a, b, "-o", tmp_path / "s", *common, "--slice-alpha", "0.005")
    assert code == 0, err
    assert (tmp_path / "d" / "compass.vec").read_bytes() == (tmp_path / "s" / "compass.vec").read_bytes()
    assert (tmp_path / "d" / "a.vec").read_bytes() != (tmp_path / "s" / "a.vec").read_bytes()
    params = json.loads((tmp_path / "s" / "cade.json").read_text())["params"]
    assert params["alpha"] == 0.005 and params["compass_alpha"] == 0.025
    rec = json.loads((tmp_path / "d" / "cade.json").read_text())
    # default: inversely proportional to the slices' mean tokens x epochs (2 here); the output norm is recorded
    tokens = sum(sl["tokens"] for sl in rec["slices"]) / len(rec["slices"])
    expect = min(max(SLICE_ALPHA * 2_000_000 / (tokens * 2), 0.001), 0.025)
    assert rec["compass"]["output_norm"] > 0
    assert rec["params"]["slice_alpha_auto"] is True and rec["params"]["compass_alpha"] == 0.025
    assert rec["params"]["alpha"] == pytest.approx(expect, rel=1e-3)
    assert f"slice_alpha=auto:{rec['params']['alpha']:.4g}" in rec["signature"]
    s_rec = json.loads((tmp_path / "s" / "cade.json").read_text())
    assert "slice_alpha=0.005" in s_rec["signature"] and s_rec["params"]["slice_alpha_auto"] is False
    code, _, err = cli("cade", "train", a, b, "-o", tmp_path / "bad", *common, "--slice-alpha", "0.00001")
    assert code == 2 and "--slice-alpha" in err and len(err.strip().splitlines()) == 1


def test_slice_alpha_falls_with_slice_tokens_times_epochs():
    """The default slice rate is inversely proportional to the slices' tokens x epochs: 0.01 at
    0.4M tokens x 5 epochs, half at twice either, clipped to SLICE_ALPHA_RANGE at the extremes."""
    from xling.align.cade import SLICE_ALPHA_RANGE, slice_alpha_for

    assert slice_alpha_for(400_000, 5) == pytest.approx(SLICE_ALPHA)
    assert slice_alpha_for(800_000, 5) == pytest.approx(SLICE_ALPHA / 2)
    assert slice_alpha_for(400_000, 10) == slice_alpha_for(800_000, 5)
    assert slice_alpha_for(1_070_000, 5) < slice_alpha_for(395_000, 5) < slice_alpha_for(300_000, 5)
    assert slice_alpha_for(10_000, 5) == SLICE_ALPHA_RANGE[1]  # small corpora: the compass's rate at most
    assert slice_alpha_for(10**9, 5) == SLICE_ALPHA_RANGE[0]
    assert slice_alpha_for(0, 5) == SLICE_ALPHA_RANGE[1]
    # from slice corpora: their mean token count (cade train's and the benchmarks' default)
    from xling.align.cade import default_slice_alpha

    small, big = [["w"] * 10] * 30_000, [["w"] * 10] * 50_000  # 300k and 500k tokens
    assert default_slice_alpha([small, big], 5) == pytest.approx(slice_alpha_for(400_000, 5))
