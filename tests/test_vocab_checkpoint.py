"""Vocabulary expansion of causal LMs as people have them: tiny LLaMA models built from a config
here, with tokenizers of each family trained here (tests/vocab_fixtures.py), saved as one
safetensors file or sharded, in bf16 or float32, with tied or untied heads. No downloads."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from vocab_fixtures import NEW_WORDS, english_lines, french_lines, save_tokenizer_dir, train_tokenizer

os.environ["HF_HUB_OFFLINE"] = "1"

WORDS = [w for w in NEW_WORDS if w.isascii() or w in ("fenêtre", "été", "château")]
BOS = {"bytelevel": "<|endoftext|>", "llama2": "<s>", "metaspace": "<s>", "unigram": "</s>"}


def make_llama_dir(path, family: str, *, tied: bool, dtype: str = "float32", shard: str | None = None, seed=0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = train_tokenizer(family)
    save_tokenizer_dir(path, tok, family)
    bos = tok.token_to_id(BOS[family])
    cfg = LlamaConfig(vocab_size=tok.get_vocab_size(with_added_tokens=True), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                      max_position_embeddings=256, tie_word_embeddings=tied, bos_token_id=bos, eos_token_id=bos)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg).to(getattr(torch, dtype)).eval()
    kw = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(str(path), **kw)
    return path


@pytest.fixture(scope="module")
def sharded_bf16(tmp_path_factory):
    """Byte-level BPE, untied head, bf16, sharded into several files."""
    return make_llama_dir(tmp_path_factory.mktemp("llama") / "sharded", "bytelevel", tied=False, dtype="bfloat16",
                          shard="40KB")


@pytest.fixture(scope="module")
def tied_f32(tmp_path_factory):
    """LLaMA-2 normaliser layout, tied embeddings, float32, one file."""
    return make_llama_dir(tmp_path_factory.mktemp("llama") / "tied", "llama2", tied=True)


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    d = tmp_path_factory.mktemp("texts")
    (d / "words.txt").write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    (d / "fr.txt").write_text("\n".join(french_lines(60)) + "\n", encoding="utf-8")
    (d / "heldout.txt").write_text("\n".join(french_lines(20, seed=7) + english_lines(5, seed=3)) + "\n",
                                   encoding="utf-8")
    return d


def tensors_of(path):
    """name → (dtype string, shape, raw bytes) of every tensor in a model folder (all shards)."""
    from xling.vocab.checkpoint import open_model

    mf = open_model(path)
    out = {}
    for name, info in mf.tensors.items():
        with open(path / info.file, "rb") as f:
            f.seek(info.start)
            out[name] = (info.dtype, info.shape, f.read(info.end - info.start))
    return out, mf


def as_f32(raw: bytes, dtype: str, shape) -> np.ndarray:
    if dtype == "BF16":
        u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
        return u.view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype={"F32": np.float32, "F16": np.float16}[dtype]).astype(np.float32).reshape(shape)


def to_bf16(x: np.ndarray) -> np.ndarray:
    import torch

    return torch.from_numpy(np.asarray(x, np.float32)).to(torch.bfloat16).float().numpy()


def bad(cli, *args):
    code, out, err = cli(*args)
    assert code == 2, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_sharded_bf16_untied_expansion(cli, sharded_bf16, texts, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = sharded_bf16
    index = json.loads((src / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) >= 3  # really sharded
    out = tmp_path / "out"
    code, stdout, err = cli("vocab", "expand", src, "--tokens", texts / "words.txt", "--init", "subword-mean",
                            "-o", out, "--text", texts / "heldout.txt", "--json")
    assert code == 0, err
    rep = json.loads(stdout)
    use = rep["in_context"]
    assert use["single_token_share"] >= 0.95 and use["tokens_per_word_after"] < use["tokens_per_word_before"]
    assert rep["input_key"] == "model.embed_tokens.weight" and rep["output_keys"] == ["lm_head.weight"]
    assert rep["tied"] is False and rep["shards"] >= 3
    old, mf_old = tensors_of(src)
    new, mf_new = tensors_of(out)
    n_old, n_new = rep["old_rows"], rep["new_rows"]
    entries = rep["entries"]
    assert n_new == n_old + len(entries)
    assert rep["tokens"]["added"] == sum(not e["intermediate"] for e in entries) > 5
    # 1. shards: those with a vocabulary tensor rewritten, the others the same file (link) or byte-identical
    grown = {mf_old.tensors[k].file for k in ("model.embed_tokens.weight", "lm_head.weight")}
    assert sorted(rep["files"]["rewritten"]) == sorted(grown)
    assert len(rep["files"]["linked"]) + len(rep["files"]["copied"]) == len(mf_old.shards) - len(grown) >= 1
    for s in mf_old.shards:
        if s not in grown:
            assert os.path.samefile(src / s, out / s) or (src / s).read_bytes() == (out / s).read_bytes()
    # 2. index: same tensor → shard map, total_size = bytes of all tensors
    new_index = json.loads((out / "model.safetensors.index.json").read_text())
    assert new_index["weight_map"] == index["weight_map"]
    assert new_index["metadata"]["total_size"] == sum(len(v[2]) for v in new.values())
    # 3. every tensor: dtype kept, other tensors byte-identical, old rows byte-identical
    assert set(new) == set(old)
    for k, (dt, shape, raw) in new.items():
        assert dt == old[k][0] == "BF16"
        if k in ("model.embed_tokens.weight", "lm_head.weight"):
            assert shape == (n_new, 32) and raw[:len(old[k][2])] == old[k][2]
        else:
            assert raw == old[k][2]
    # 4. new rows: mean of the in-context pieces, input and head each from their own rows
    for k in ("model.embed_tokens.weight", "lm_head.weight"):
        o = as_f32(old[k][2], "BF16", old[k][1])
        nw = as_f32(new[k][2], "BF16", new[k][1])
        for e in entries:
            np.testing.assert_allclose(nw[e["token_id"]], to_bf16(o[e["pieces"]].mean(0)), rtol=1e-2, atol=1e-3)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["vocab_size"] == n_new and cfg["tie_word_embeddings"] is False
    # 5. transformers loads it offline, the new tokens fire in running text, it generates
    model = AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    assert model.get_input_embeddings().weight.dtype == torch.bfloat16
    assert model.get_input_embeddings().weight.shape[0] == n_new
    tok = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    maison = next(e for e in entries if e["word"] == "maison")
    ids = tok("la maison est grande", add_special_tokens=False)["input_ids"]
    assert maison["token_id"] in ids
    gen = model.generate(torch.tensor([ids]), max_new_tokens=4, do_sample=False)
    assert gen.shape[1] == len(ids) + 4 and int(gen.max()) < n_new


def test_tied_padding_to_a_multiple(cli, tied_f32, texts, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    out = tmp_path / "pad"
    code, stdout, err = cli("vocab", "expand", tied_f32, "--tokens", texts / "words.txt", "--init", "mean",
                            "--pad-to-multiple-of", "64", "-o", out, "--json")
    assert code == 0, err
    rep = json.loads(stdout)
    n_old, n_new = rep["old_rows"], rep["new_rows"]
    last = max(e["token_id"] for e in rep["entries"])
    assert n_new % 64 == 0 and n_new > last and rep["padding_rows"] == n_new - last - 1 > 0
    new, mf = tensors_of(out)
    assert "lm_head.weight" not in new and mf.output_keys == []  # the tie stays a tie
    old, _ = tensors_of(tied_f32)
    k = "model.embed_tokens.weight"
    o, nw = as_f32(old[k][2], "F32", old[k][1]), as_f32(new[k][2], "F32", new[k][1])
    mean = o.astype(np.float64).mean(0)
    np.testing.assert_allclose(nw[last + 1:], np.repeat(mean[None], n_new - last - 1, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nw[n_old:last + 1], np.repeat(mean[None], last + 1 - n_old, 0), rtol=1e-5, atol=1e-6)
    assert json.loads((out / "config.json").read_text())["vocab_size"] == n_new
    model = AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert model.generate(torch.tensor([[1, 5, 9]]), max_new_tokens=3, do_sample=False).shape == (1, 6)
    # zeros as padding rows
    out2 = tmp_path / "pad0"
    assert cli("vocab", "expand", tied_f32, "--tokens", texts / "words.txt", "--init", "mean",
               "--pad-to-multiple-of", "64", "--pad-rows", "zeros", "-o", out2)[0] == 0
    new2, _ = tensors_of(out2)
    assert not as_f32(new2[k][2], "F32", new2[k][1])[last + 1:].any()


@pytest.mark.parametrize("family", ["metaspace", "unigram"])
def test_other_families_load_and_keep_old_rows(cli, family, texts, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = make_llama_dir(tmp_path / "m", family, tied=False, dtype="float16")
    out = tmp_path / "o"
    code, stdout, err = cli("vocab", "expand", src, "--tokens", texts / "words.txt", "--init", "mvn", "-o", out,
                            "--json")
    assert code == 0, err
    rep = json.loads(stdout)
    old, _ = tensors_of(src)
    new, _ = tensors_of(out)
    for k in ("model.embed_tokens.weight", "lm_head.weight"):
        assert new[k][0] == "F16" and new[k][2][:len(old[k][2])] == old[k][2]
    model = AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    assert model.get_output_embeddings().weight.shape[0] == rep["new_rows"]
    tok = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    ids = tok("nous avons une maison", add_special_tokens=False)["input_ids"]
    assert next(e["token_id"] for e in rep["entries"] if e["word"] == "maison") in ids


def test_eval_nll_per_word_and_char_and_probe(cli, sharded_bf16, texts, tmp_path):
    out = tmp_path / "e"
    assert cli("vocab", "expand", sharded_bf16, "--tokens", texts / "words.txt", "--init", "subword-mean",
               "-o", out)[0] == 0
    code, stdout, err = cli("vocab", "eval", sharded_bf16, out, texts / "heldout.txt", "--probe-steps", "6",
                            "--probe-text", texts / "fr.txt", "--probe-lr", "0.01", "--json")
    assert code == 0, err
    rec = json.loads(stdout)
    assert rec["tokens_scored_after"] < rec["tokens_scored_before"]  # fewer tokens for the same text
    lines = [x for x in (texts / "heldout.txt").read_text(encoding="utf-8").splitlines() if x.strip()]
    assert rec["chars"] == sum(len(x) for x in lines)
    n_words = sum(len(x.split()) for x in lines)
    for side in ("before", "after"):  # one total, divided by characters or by words
        assert rec[f"nll_per_char_{side}"] > 0
        assert rec[f"nll_per_word_{side}"] * n_words == pytest.approx(rec[f"nll_per_char_{side}"] * rec["chars"])
    assert rec["single_token_share"] > 0.9 and rec["new_word_occurrences"] > 20
    p = rec["probe"]
    assert len(p["loss_curve"]) == 6 and np.isfinite(p["loss_curve"]).all()
    assert p["nll_per_char_after"] < rec["nll_per_char_after"]  # the probe trained towards the text
    assert p["rows"] == "new"  # the default: only the new tokens' rows train
    # the same model on both sides: identical NLL, per word and per character
    rec2 = json.loads(cli("vocab", "eval", sharded_bf16, sharded_bf16, texts / "heldout.txt", "--json")[1])
    assert rec2["nll_per_char_before"] == pytest.approx(rec2["nll_per_char_after"], rel=1e-6)
    assert "--probe-text" in bad(cli, "vocab", "eval", sharded_bf16, out, texts / "heldout.txt", "--probe-steps", "3")
    assert "--probe-rows" in bad(cli, "vocab", "eval", sharded_bf16, out, texts / "heldout.txt", "--probe-steps", "3",
                                 "--probe-text", texts / "fr.txt", "--probe-rows", "old")
    # the original folder lists no new tokens: --probe-rows new is refused, naming the folder
    assert "--probe-rows all" in bad(cli, "vocab", "eval", sharded_bf16, sharded_bf16, texts / "heldout.txt",
                                     "--probe-steps", "3", "--probe-text", texts / "fr.txt")


def test_nll_is_the_line_probability(sharded_bf16):
    """lm_nll sums -log p of every token after the start token, whatever the window size."""
    import torch

    from xling.vocab.checkpoint import load_tokenizer_only
    from xling.vocab.evaluate import lm_nll, load_model, start_id

    model = load_model(sharded_bf16, lm=True).float()
    tok = load_tokenizer_only(sharded_bf16)
    cfg = json.loads((sharded_bf16 / "config.json").read_text())
    line = "the farmer walked to the market with a basket of bread and cheese"
    s = start_id(tok, cfg)
    ids = [s] + tok.encode(line, add_special_tokens=False).ids
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids])).logits[0, :-1].float(), -1)
    want = -float(logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].sum())
    got = lm_nll(model, tok, [line], start=s, max_len=256)
    assert got["tokens"] == len(ids) - 1
    assert got["nll_per_char"] * len(line) == pytest.approx(want, rel=1e-4)
    assert got["nll_per_word"] * len(line.split()) == pytest.approx(want, rel=1e-4)
    short = lm_nll(model, tok, [line], start=s, max_len=8)  # windows: every token still scored once
    assert short["tokens"] == len(ids) - 1


def test_probe_trains_only_the_new_rows_and_is_seeded(tied_f32, texts, tmp_path):
    """The probe's loss on its own training text goes down; with rows=new ids the old rows (tied
    input and output) stay exactly as they were; same seed, same curve."""
    import torch

    from xling.vocab.checkpoint import load_tokenizer_only
    from xling.vocab.evaluate import lm_nll, load_model, probe, start_id
    from xling.vocab.expand import InitOptions, expand_model

    out = tmp_path / "e"
    rep = expand_model(tied_f32, out, WORDS, InitOptions(method="subword-mean"), force=True)
    new_ids = [e["token_id"] for e in rep["entries"]]
    first = min(new_ids)
    tok = load_tokenizer_only(out)
    cfg = json.loads((out / "config.json").read_text())
    lines = [x for x in (texts / "fr.txt").read_text(encoding="utf-8").splitlines() if x.strip()]

    def run(rows, seed=0):
        torch.manual_seed(123)  # nothing in the probe may depend on the global generator
        model = load_model(out, lm=True).float()
        w0 = model.get_input_embeddings().weight.detach().clone()
        before = lm_nll(model, tok, lines, start=start_id(tok, cfg))["nll_per_token"]
        curve = probe(model, tok, lines, start=start_id(tok, cfg), steps=15, lr=0.02, batch=4, max_len=32,
                      seed=seed, rows=rows)
        after = lm_nll(model, tok, lines, start=start_id(tok, cfg))["nll_per_token"]
        return w0, model.get_input_embeddings().weight.detach(), curve, before, after

    w0, w1, curve, before, after = run(new_ids)
    assert after < before - 0.05  # the new rows learned the probe text
    assert np.mean(curve[-5:]) < np.mean(curve[:5])
    assert torch.equal(w1[:first], w0[:first])  # old rows untouched, bit for bit
    assert not torch.equal(w1[first:], w0[first:])
    assert run(new_ids)[2] == curve  # same seed, same curve
    assert run(new_ids, seed=1)[2] != curve
    w0, w_all, _, _, after_all = run(None)  # every row trains: the old rows move too
    assert not torch.equal(w_all[:first], w0[:first])
    with pytest.raises(Exception, match="probe rows"):
        probe(load_model(out, lm=True), tok, lines, start=0, steps=1, rows=[10 ** 6])


def test_bad_checkpoints_and_force(cli, sharded_bf16, texts, tmp_path):
    import shutil

    words = texts / "words.txt"
    # an index naming a missing shard
    miss = tmp_path / "miss"
    shutil.copytree(sharded_bf16, miss)
    index = json.loads((miss / "model.safetensors.index.json").read_text())
    gone = sorted(set(index["weight_map"].values()))[-1]
    (miss / gone).unlink()
    err = bad(cli, "vocab", "expand", miss, "--tokens", words, "-o", tmp_path / "o1")
    assert gone in err and "missing" in err and not (tmp_path / "o1").exists()
    # a truncated shard, a shard with a bad header
    for name, damage in (("trunc", lambda b: b[:-100]), ("header", lambda b: b[:8] + b"{not json" + b[17:]),
                         ("length", lambda b: (10 ** 12).to_bytes(8, "little") + b[8:])):
        d = tmp_path / name
        shutil.copytree(sharded_bf16, d)
        shard = d / sorted(set(index["weight_map"].values()))[0]
        data = shard.read_bytes()
        shard.unlink()  # the copy may share nothing with the source, but never write through a link
        shard.write_bytes(damage(data))
        err = bad(cli, "vocab", "expand", d, "--tokens", words, "-o", tmp_path / f"o_{name}")
        assert shard.name in err and "corrupted" in err
        assert not (tmp_path / f"o_{name}").exists()
    # -o equal to the model folder or one of its parents
    err = bad(cli, "vocab", "expand", sharded_bf16, "--tokens", words, "-o", sharded_bf16, "--force")
    assert "must not be the model folder" in err
    bad(cli, "vocab", "expand", sharded_bf16, "--tokens", words, "-o", sharded_bf16.parent, "--force")
    bad(cli, "vocab", "expand", sharded_bf16, "--tokens", words, "-o", sharded_bf16 / "sub")
    assert (sharded_bf16 / "config.json").is_file() and not (sharded_bf16 / "sub").exists()
    # --force replaces only what xling wrote
    other = tmp_path / "precious"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    assert "xling-vocab.json" in bad(cli, "vocab", "expand", sharded_bf16, "--tokens", words, "-o", other, "--force")
    assert (other / "notes.txt").read_text() == "keep"
    out = tmp_path / "twice"
    assert cli("vocab", "expand", sharded_bf16, "--tokens", words, "--init", "mean", "-o", out)[0] == 0
    assert "--force" in bad(cli, "vocab", "expand", sharded_bf16, "--tokens", words, "-o", out)
    code, _, err = cli("vocab", "expand", sharded_bf16, "--tokens", words, "--init", "random", "-o", out, "--force")
    assert code == 0, err
    assert json.loads((out / "xling-vocab.json").read_text())["init"]["method"] == "random"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def test_float_codecs_match_torch():
    """The numpy conversions used to stream rows give torch's bytes (bf16: round to nearest even)."""
    import torch

    from xling.vocab.checkpoint import decode_floats, encode_floats

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(20000) * 10.0 ** rng.integers(-30, 30, 20000)).astype(np.float32)
    x = np.concatenate([x, np.array([np.inf, -np.inf, 0.0, -0.0, 3.4e38, 1e-40], np.float32)])
    for code, dt in (("BF16", torch.bfloat16), ("F16", torch.float16), ("F32", torch.float32)):
        t = torch.from_numpy(x).to(dt)
        assert encode_floats(x, code) == t.view(torch.uint8 if dt is torch.float32 else torch.int16).numpy().tobytes()
        np.testing.assert_array_equal(decode_floats(encode_floats(x, code), code), t.float().numpy())
