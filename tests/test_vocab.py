"""Vocabulary expansion on tiny real checkpoints built here (BERT and GPT-2 from configs,
WordPiece tokenizers from the ``tokenizers`` library); no downloads."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from data_fixtures import write_vec

os.environ["HF_HUB_OFFLINE"] = "1"

LETTERS = "abcdefghijklmnopqrstuvwxyz"
WORDS = ["the", "cat", "dog", "le", "la", "un", "une", "et", "de", "est"]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
FRENCH = ["chat", "chien", "maison", "souris", "mange", "dort", "petit", "grand", "jardin", "fenetre"]


def tiny_vocab() -> list[str]:
    return SPECIALS + list(LETTERS) + ["##" + c for c in LETTERS] + WORDS


def make_tokenizer(vocab):
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    tok = Tokenizer(WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab.index("[CLS]")), ("[SEP]", vocab.index("[SEP]"))])
    tok.decoder = decoders.WordPiece()
    tok.add_special_tokens(SPECIALS)
    return tok


def save_model_dir(path, model, vocab):
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path), safe_serialization=True)
    make_tokenizer(vocab).save(str(path / "tokenizer.json"))
    (path / "vocab.txt").write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
    (path / "tokenizer_config.json").write_text(json.dumps(
        {"do_lower_case": True, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
         "cls_token": "[CLS]", "mask_token": "[MASK]", "tokenizer_class": "BertTokenizer"}), encoding="utf-8")
    return path


def french_text(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    words = FRENCH + WORDS
    p = np.array([3.0] * len(FRENCH) + [1.0] * len(WORDS))
    return [" ".join(rng.choice(words, size=rng.integers(5, 12), p=p / p.sum())) for _ in range(n)]


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory):
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    vocab = tiny_vocab()
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    return save_model_dir(tmp_path_factory.mktemp("bert") / "model", BertModel(cfg).eval(), vocab)


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory):
    """A causal LM with an untied output head."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(1)
    vocab = tiny_vocab()
    cfg = GPT2Config(vocab_size=len(vocab), n_embd=32, n_layer=1, n_head=2, n_positions=64,
                     tie_word_embeddings=False)
    model = GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():  # make the head visibly different from the input embeddings
        model.lm_head.weight.normal_(0, 0.05)
    return save_model_dir(tmp_path_factory.mktemp("gpt2") / "model", model, vocab)


@pytest.fixture(scope="session")
def text_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("text")
    (d / "train.txt").write_text("\n".join(french_text(400, seed=0)) + "\n", encoding="utf-8")
    (d / "heldout.txt").write_text("\n".join(french_text(20, seed=1)) + "\n", encoding="utf-8")
    (d / "tokens.txt").write_text("".join(f"{w}\t9\t3\n" for w in FRENCH), encoding="utf-8")
    return d


def load_tensors(path):
    from safetensors.numpy import load_file

    return load_file(str(path / "model.safetensors"))


def piece_ids(model_dir, word):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(model_dir / "tokenizer.json")).encode(word, add_special_tokens=False).ids


# --------------------------------------------------------------------------- candidates

def test_candidates_cli_lists_split_words(cli, bert_dir, text_files, tmp_path):
    out = tmp_path / "cands.tsv"
    code, _, err = cli("vocab", "candidates", bert_dir, text_files / "train.txt", "--top", "5", "-o", out)
    assert code == 0, err
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5
    saved = [int(r[1]) * (int(r[2]) - 1) for r in rows]  # ranked by tokens saved in context
    assert saved == sorted(saved, reverse=True)
    for word, _, pieces in rows:
        assert word in FRENCH  # the English words are whole tokens already
        assert int(pieces) == len(piece_ids(bert_dir, word)) >= 2


# --------------------------------------------------------------------------- expand, every method

METHOD_ARGS = {
    "random": [], "mean": [], "mvn": [], "subword-mean": [],
    "cw2v": ["--max-pairs", "20000", "--candidates", "8"],
}


@pytest.fixture(scope="session")
def aligned_files(tmp_path_factory):
    """Static vectors: old words random; each new word = its 'translation' (an old word) + noise."""
    rng = np.random.default_rng(7)
    d = tmp_path_factory.mktemp("vec")
    src = rng.standard_normal((len(WORDS), 16)).astype(np.float32)
    write_vec(d / "src.vec", WORDS, src)
    gold = {w: WORDS[i % len(WORDS)] for i, w in enumerate(FRENCH)}
    tgt = np.stack([src[WORDS.index(gold[w])] + 0.01 * rng.standard_normal(16) for w in FRENCH])
    # accented, capitalised keys: matched after the tokenizer's normalisation
    keys = [w.capitalize() if i % 2 else w for i, w in enumerate(FRENCH)]
    write_vec(d / "tgt.vec", keys, tgt.astype(np.float32))
    return d, gold


def expand_args(method, model_dir, text_files, aligned_files, out, *extra):
    args = ["vocab", "expand", model_dir, "--tokens", text_files / "tokens.txt", "--init", method, "-o", out]
    if method == "aligned":
        args += ["--src-vectors", aligned_files[0] / "src.vec", "--tgt-vectors", aligned_files[0] / "tgt.vec",
                 "--k", "1", "--piece-weight", "0"]
    if method == "cw2v":
        args += ["--corpus", text_files / "train.txt"] + METHOD_ARGS["cw2v"]
    return args + list(extra)


@pytest.mark.parametrize("method", ["random", "mean", "mvn", "subword-mean", "aligned", "cw2v"])
def test_expand_every_method(cli, bert_dir, text_files, aligned_files, tmp_path, method):
    import torch
    from transformers import AutoModel, AutoTokenizer

    out = tmp_path / "out"
    code, stdout, err = cli(*expand_args(method, bert_dir, text_files, aligned_files, out, "--json"))
    assert code == 0, err
    report = json.loads(stdout)
    n_old, m = report["old_rows"], len(FRENCH)
    assert report["tokens"]["added"] == m and report["new_rows"] == n_old + m
    old, new = load_tensors(bert_dir), load_tensors(out)
    # every tensor: old rows byte-identical (special tokens included), nothing else changed
    assert set(old) == set(new)
    for k in old:
        if k == report["input_key"]:
            assert new[k][:n_old].tobytes() == old[k].tobytes()
        else:
            assert new[k].tobytes() == old[k].tobytes()
    rows = new[report["input_key"]][n_old:]
    assert np.isfinite(rows).all() and (np.abs(rows).sum(axis=1) > 0).all()
    # config, vocab.txt, tokenizer and transformers all agree
    assert json.loads((out / "config.json").read_text())["vocab_size"] == n_old + m
    assert (out / "vocab.txt").read_text(encoding="utf-8").splitlines()[-m:] == FRENCH
    model = AutoModel.from_pretrained(str(out), local_files_only=True)
    assert model.get_input_embeddings().weight.shape[0] == n_old + m
    tok = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    ids = tok("le chat mange", add_special_tokens=False)["input_ids"]
    assert ids == [WORDS_INDEX("le"), n_old + FRENCH.index("chat"), n_old + FRENCH.index("mange")]
    assert torch.equal(model.get_input_embeddings().weight[n_old:], torch.from_numpy(rows))
    assert json.loads((out / "xling-vocab.json").read_text())["init"]["method"] == method


def WORDS_INDEX(word):
    return tiny_vocab().index(word)


def test_subword_mean_is_the_mean_of_the_old_pieces(cli, bert_dir, text_files, tmp_path):
    out = tmp_path / "sub"
    assert cli("vocab", "expand", bert_dir, "--tokens", text_files / "tokens.txt", "--init", "subword-mean",
               "-o", out)[0] == 0
    old, new = load_tensors(bert_dir), load_tensors(out)
    key = "embeddings.word_embeddings.weight"
    n_old = old[key].shape[0]
    for j, w in enumerate(FRENCH):
        ids = piece_ids(bert_dir, w)
        np.testing.assert_allclose(new[key][n_old + j], old[key][ids].mean(0), rtol=1e-5, atol=1e-6)


def test_aligned_uses_the_nearest_old_token(cli, bert_dir, text_files, aligned_files, tmp_path):
    out = tmp_path / "al"
    code, stdout, err = cli(*expand_args("aligned", bert_dir, text_files, aligned_files, out, "--json"))
    assert code == 0, err
    assert json.loads(stdout)["init"]["new_tokens_with_vector"] == len(FRENCH)
    old, new = load_tensors(bert_dir), load_tensors(out)
    key = "embeddings.word_embeddings.weight"
    n_old = old[key].shape[0]
    gold = aligned_files[1]
    for j, w in enumerate(FRENCH):  # k=1: the row of the static nearest neighbour, exactly
        np.testing.assert_array_equal(new[key][n_old + j], old[key][WORDS_INDEX(gold[w])])
    # with the pieces' share: the convex blend of the neighbour row and the subword mean
    out2 = tmp_path / "al2"
    args = expand_args("aligned", bert_dir, text_files, aligned_files, out2)[:-2] + ["--piece-weight", "0.25"]
    assert cli(*args)[0] == 0
    new2 = load_tensors(out2)
    for j, w in enumerate(FRENCH):
        want = 0.75 * old[key][WORDS_INDEX(gold[w])] + 0.25 * old[key][piece_ids(bert_dir, w)].mean(0)
        np.testing.assert_allclose(new2[key][n_old + j], want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["random", "mvn", "cw2v"])
@pytest.mark.slow
def test_same_seed_same_bytes(cli, bert_dir, text_files, aligned_files, tmp_path, method):
    outs = []
    for i, seed in enumerate(["3", "3", "4"]):
        out = tmp_path / f"o{i}"
        args = expand_args(method, bert_dir, text_files, aligned_files, out, "--seed", seed)
        if method == "mvn":
            args += ["--mvn-scale", "1"]
        assert cli(*args)[0] == 0
        outs.append((out / "model.safetensors").read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


def test_mvn_full_scale_matches_the_fitted_distribution(rng):
    from xling.vocab.init import mvn_rows

    old = rng.standard_normal((4000, 3)) @ np.array([[2.0, 0, 0], [0.5, 1.0, 0], [0, 0, 0.1]]) + 5.0
    rows = mvn_rows(old, 20000, np.random.default_rng(0), scale=1.0)
    np.testing.assert_allclose(rows.mean(0), old.mean(0), atol=0.05)
    np.testing.assert_allclose(np.cov(rows.T), np.cov(old.T), atol=0.1)
    tiny = mvn_rows(old, 10, np.random.default_rng(0))  # transformers' 1e-9 scale: the mean
    np.testing.assert_allclose(tiny, np.repeat(old.mean(0)[None], 10, 0), atol=1e-3)


def _cw2v_inputs(model_dir, text_files):
    from xling.vocab.candidates import read_lines
    from xling.vocab.checkpoint import open_model
    from xling.vocab.init import subword_mix
    from xling.vocab.segment import HFSegmenter
    from xling.vocab.tokenizer_edit import expand_tokenizer

    mf = open_model(model_dir)
    old = mf.matrix()
    new_tok, entries, _ = expand_tokenizer(mf.tokenizer, FRENCH)
    id_map = {e.token_id: old.shape[0] + j for j, e in enumerate(entries)}
    seqs = [[id_map.get(i, i) for i in s] for s in HFSegmenter(new_tok).encode_lines(
        list(read_lines(text_files / "train.txt")))]
    return mf, old, subword_mix([e.pieces for e in entries], old.shape[0]), [s for s in seqs if len(s) > 1]


@pytest.mark.slow
def test_cw2v_shortcut_rows_are_convex_combinations(bert_dir, text_files):
    from xling.vocab.cw2v import CW2VParams, train_cw2v

    _, old, init, seqs = _cw2v_inputs(bert_dir, text_files)
    mix, stats = train_cw2v(old, init, seqs, params=CW2VParams(candidates=8, max_pairs=20000), seed=0)
    w = mix.weights.toarray()
    assert (w >= 0).all() and ((w > 0).sum(1) <= 8).all()
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-6)
    assert stats["new_tokens_in_corpus"] == len(FRENCH)
    assert not np.allclose(mix.apply(old), init.apply(old), atol=1e-6)  # trained away from the subword mean
    mix0, stats0 = train_cw2v(old, init, [[1, 2, 3]], params=CW2VParams(candidates=8), seed=0)
    assert stats0["new_tokens_in_corpus"] == 0  # no new token in the corpus: the warm start, still convex
    np.testing.assert_allclose(mix0.weights.toarray().sum(1), 1.0, rtol=1e-6)


@pytest.mark.slow
def test_cw2v_whole_vocabulary_input_and_output_mixes(gpt2_dir, text_files):
    """The paper's CW2V: softmax over every old row, one mix for the input side and one for the
    untied output side; training starts at the subword mean and moves away from it."""
    from xling.vocab.cw2v import CW2VParams, train_cw2v_full

    mf, old, init, seqs = _cw2v_inputs(gpt2_dir, text_files)
    head = mf.matrix("lm_head.weight")
    p = CW2VParams(steps=30, batch_size=512, alpha=0.1)
    mix_in, mix_out, stats = train_cw2v_full(old, head, init, seqs, params=p, seed=0)
    for mix in (mix_in, mix_out):
        w = np.asarray(mix.weights)
        assert w.shape == (len(FRENCH), old.shape[0]) and (w > 0).all()  # the whole vocabulary takes part
        np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-5)
    assert not np.allclose(mix_in.weights, mix_out.weights)  # learned separately
    assert stats["new_tokens_in_corpus"] == len(FRENCH) and stats["output_mix"] is True
    assert stats["final_loss"] < stats["first_loss"]
    # one step from the prior = (almost) the subword mean: the pieces carry most of the mass
    _, _, s1 = train_cw2v_full(old, None, init, seqs, params=CW2VParams(steps=1, alpha=1e-9), seed=0)
    m1, _, _ = train_cw2v_full(old, None, init, seqs, params=CW2VParams(steps=1, alpha=1e-9), seed=0)
    assert s1["output_mix"] is False
    sub = init.apply(old)
    cos = (m1.apply(old) * sub).sum(1) / np.linalg.norm(m1.apply(old), axis=1) / np.linalg.norm(sub, axis=1)
    assert (cos > 0.99).all()
    # same seed, same weights
    again, _, _ = train_cw2v_full(old, head, init, seqs, params=p, seed=0)
    np.testing.assert_array_equal(again.weights, mix_in.weights)


@pytest.mark.slow
def test_untied_lm_head_grows_and_eval_reports_loss(cli, gpt2_dir, text_files, tmp_path):
    out = tmp_path / "g"
    code, stdout, err = cli("vocab", "expand", gpt2_dir, "--tokens", text_files / "tokens.txt", "--init",
                            "subword-mean", "-o", out, "--json")
    assert code == 0, err
    report = json.loads(stdout)
    assert report["output_keys"] == ["lm_head.weight"] and report["tied"] is False
    old, new = load_tensors(gpt2_dir), load_tensors(out)
    n_old = report["old_rows"]
    assert new["lm_head.weight"][:n_old].tobytes() == old["lm_head.weight"].tobytes()
    ids = piece_ids(gpt2_dir, FRENCH[0])
    np.testing.assert_allclose(new["lm_head.weight"][n_old], old["lm_head.weight"][ids].mean(0), atol=1e-6)
    code, stdout, err = cli("vocab", "eval", gpt2_dir, out, text_files / "heldout.txt", "--json")
    assert code == 0, err
    rec = json.loads(stdout)
    assert rec["nll_per_word_before"] > 0 and rec["nll_per_word_after"] > 0
    assert rec["pieces_per_word_after"] < rec["pieces_per_word_before"]


@pytest.mark.slow
def test_eval_fidelity(cli, bert_dir, text_files, tmp_path):
    out = tmp_path / "e"
    assert cli("vocab", "expand", bert_dir, "--tokens", text_files / "tokens.txt", "--init", "subword-mean",
               "-o", out)[0] == 0
    code, stdout, err = cli("vocab", "eval", bert_dir, out, text_files / "heldout.txt", "--json")
    assert code == 0, err
    rec = json.loads(stdout)
    assert rec["pieces_per_word_after"] == 1.0 < rec["pieces_per_word_before"]
    assert -1.0 <= rec["fidelity_min"] <= rec["fidelity_mean"] < 1.0
    assert "nll_per_word_before" not in rec
    # text without any new token: the expanded model gives exactly the original embeddings
    plain = tmp_path / "plain.txt"
    plain.write_text("the cat et le dog\nla dog est un cat\n", encoding="utf-8")
    rec = json.loads(cli("vocab", "eval", bert_dir, out, plain, "--json")[1])
    assert rec["fidelity_min"] == pytest.approx(1.0, abs=1e-5)
    assert rec["pieces_per_word_after"] == rec["pieces_per_word_before"] == 1.0


# --------------------------------------------------------------------------- bare matrix

def test_bare_matrix(cli, tmp_path, rng, text_files):
    vocab = tiny_vocab()
    mat = rng.standard_normal((len(vocab), 8)).astype(np.float32)
    np.save(tmp_path / "m.npy", mat)
    (tmp_path / "v.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    out = tmp_path / "bare"
    code, stdout, err = cli("vocab", "expand", "--embeddings", tmp_path / "m.npy", "--vocab", tmp_path / "v.txt",
                            "--tokens", text_files / "tokens.txt", "--init", "subword-mean", "-o", out, "--json")
    assert code == 0, err
    new = np.load(out / "embeddings.npy", allow_pickle=False)
    assert new.shape == (len(vocab) + len(FRENCH), 8)
    assert new[:len(vocab)].tobytes() == mat.tobytes()
    assert (out / "vocab.txt").read_text(encoding="utf-8").splitlines() == vocab + FRENCH
    # greedy WordPiece: "chat" = c ##h ##a ##t
    ids = [vocab.index(p) for p in ("c", "##h", "##a", "##t")]
    np.testing.assert_allclose(new[len(vocab) + FRENCH.index("chat")], mat[ids].mean(0), rtol=1e-5)


# --------------------------------------------------------------------------- bad input

def test_existing_tokens_are_skipped_and_counted(cli, bert_dir, tmp_path):
    toks = tmp_path / "t.txt"
    toks.write_text("Chat\ncat\nchat\nthe\nmaison\n", encoding="utf-8")
    code, stdout, err = cli("vocab", "expand", bert_dir, "--tokens", toks, "--init", "mean", "-o", tmp_path / "o",
                            "--json")
    assert code == 0, err
    t = json.loads(stdout)["tokens"]
    # "Chat" is normalised to "chat" (added), "chat" repeats it, "cat" and "the" are one token in context
    assert (t["added"], t["skipped_single_token"], t["skipped_existing"], t["skipped_duplicates"]) == (2, 2, 0, 1)


def bad(cli, *args):
    code, out, err = cli(*args)
    assert code == 2, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


@pytest.mark.slow
def test_bad_inputs(cli, bert_dir, text_files, tmp_path, rng):
    import shutil

    toks = text_files / "tokens.txt"
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    no_tok = tmp_path / "no_tok"
    shutil.copytree(bert_dir, no_tok)
    (no_tok / "tokenizer.json").unlink()
    assert "tokenizer.json" in bad(cli, "vocab", "expand", no_tok, "--tokens", toks, "-o", tmp_path / "a")
    no_w = tmp_path / "no_w"
    shutil.copytree(bert_dir, no_w)
    (no_w / "model.safetensors").unlink()
    assert "model.safetensors" in bad(cli, "vocab", "expand", no_w, "--tokens", toks, "-o", tmp_path / "b")
    assert "tokenizer.json" in bad(cli, "vocab", "candidates", no_tok, text_files / "train.txt")
    assert "model.safetensors" in bad(cli, "vocab", "eval", bert_dir, no_w, text_files / "heldout.txt")
    assert "no text" in bad(cli, "vocab", "eval", bert_dir, bert_dir, tmp_path / "empty.txt")
    assert "empty token list" in bad(cli, "vocab", "expand", bert_dir, "--tokens", empty, "-o", tmp_path / "c")
    existing = tmp_path / "existing.txt"
    existing.write_text("cat\nthe\n", encoding="utf-8")
    assert "already one token" in bad(cli, "vocab", "expand", bert_dir, "--tokens", existing, "-o", tmp_path / "d")
    assert not (tmp_path / "d").exists()
    assert "--init" in bad(cli, "vocab", "expand", bert_dir, "--tokens", toks, "--init", "zero", "-o", tmp_path / "e")
    assert "--src-vectors" in bad(cli, "vocab", "expand", bert_dir, "--tokens", toks, "--init", "aligned",
                                  "-o", tmp_path / "f")
    assert "--corpus" in bad(cli, "vocab", "expand", bert_dir, "--tokens", toks, "--init", "cw2v", "-o", tmp_path / "g")
    np.save(tmp_path / "m.npy", rng.standard_normal((5, 4)).astype(np.float32))
    (tmp_path / "v.txt").write_text("a\nb\nc\n", encoding="utf-8")
    err = bad(cli, "vocab", "expand", "--embeddings", tmp_path / "m.npy", "--vocab", tmp_path / "v.txt",
              "--tokens", toks, "-o", tmp_path / "h")
    assert "v.txt" in err and "5" in err and "3 lines" in err
    nonempty = tmp_path / "full"
    nonempty.mkdir()
    (nonempty / "keep.txt").write_text("x")
    assert "--force" in bad(cli, "vocab", "expand", bert_dir, "--tokens", toks, "-o", nonempty)
    np.save(tmp_path / "m3.npy", rng.standard_normal((3, 4)).astype(np.float32))
    assert "xling-vocab.json" in bad(cli, "vocab", "expand", "--embeddings", tmp_path / "m3.npy", "--vocab",
                                     tmp_path / "v.txt", "--tokens", toks, "-o", nonempty, "--force")
    assert (nonempty / "keep.txt").read_text() == "x"
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("chat\nmaison d\xe9j\xe0\n".encode("latin-1"))
    assert "latin1.txt:2:" in bad(cli, "vocab", "candidates", bert_dir, latin1)


def test_cuda_requested_without_cuda(cli, bert_dir, text_files, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    assert "CUDA" in bad(cli, "vocab", "expand", bert_dir, "--tokens", text_files / "tokens.txt", "--init", "cw2v",
                         "--corpus", text_files / "train.txt", "--device", "cuda", "-o", tmp_path / "x")
    assert not (tmp_path / "x").exists()


@pytest.mark.gpu
def test_cw2v_on_cuda(cli, bert_dir, text_files, tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    out = tmp_path / "cuda"
    code, stdout, err = cli("vocab", "expand", bert_dir, "--tokens", text_files / "tokens.txt", "--init", "cw2v",
                            "--corpus", text_files / "train.txt", "--device", "cuda", "--max-pairs", "20000",
                            "-o", out, "--json")
    assert code == 0, err
    rep = json.loads(stdout)
    assert rep["init"]["device"].startswith("cuda")
    n_old = rep["old_rows"]
    new, old = load_tensors(out), load_tensors(bert_dir)
    assert new[rep["input_key"]][:n_old].tobytes() == old[rep["input_key"]].tobytes()


def test_padded_matrix_reuses_unused_rows(cli, text_files, tmp_path):
    """A matrix with more rows than the tokenizer has tokens (padded vocabularies): the new
    tokens take the unused rows first; every row of a real token stays byte-identical."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(2)
    vocab = tiny_vocab()
    cfg = BertConfig(vocab_size=len(vocab) + 3, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=32)
    model_dir = save_model_dir(tmp_path / "padded", BertModel(cfg).eval(), vocab)
    out = tmp_path / "out"
    code, stdout, err = cli("vocab", "expand", model_dir, "--tokens", text_files / "tokens.txt", "--init",
                            "subword-mean", "-o", out, "--json")
    assert code == 0, err
    rep = json.loads(stdout)
    n = len(vocab)
    assert (rep["first_new_id"], rep["reused_padding_rows"], rep["new_rows"]) == (n, 3, n + len(FRENCH))
    key = rep["input_key"]
    old, new = load_tensors(model_dir), load_tensors(out)
    assert new[key][:n].tobytes() == old[key][:n].tobytes()
    np.testing.assert_allclose(new[key][n], old[key][piece_ids(model_dir, FRENCH[0])].mean(0), rtol=1e-5)
