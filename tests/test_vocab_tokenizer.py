"""Tokenizer side of vocabulary expansion: new words as real entries of each tokenizer family
(trained here on a small text, no download), the tokenizer files of a model folder, candidates
in context, and learning new subword tokens with the model's own algorithm."""
from __future__ import annotations

import json
import os

import pytest

from vocab_fixtures import (
    FAMILIES,
    FILLERS,
    NEW_WORDS,
    english_lines,
    french_lines,
    save_tokenizer_dir,
    sentencepiece_model_bytes,
    tokenizer_from_sentencepiece,
    train_sentencepiece,
    train_tokenizer,
)

os.environ["HF_HUB_OFFLINE"] = "1"

# share of in-context occurrences encoded as the single new token
MIN_SHARE = {"bytelevel": 0.95, "metaspace": 0.95, "llama2": 0.95, "unigram": 0.95, "wordpiece": 0.95}


@pytest.fixture(scope="module")
def tokenizers_():
    return {f: train_tokenizer(f) for f in FAMILIES}


@pytest.fixture(scope="module")
def expanded(tokenizers_):
    from xling.vocab.tokenizer_edit import expand_tokenizer

    return {f: expand_tokenizer(tok, NEW_WORDS) for f, tok in tokenizers_.items()}


@pytest.fixture(scope="module")
def model_dirs(tokenizers_, tmp_path_factory):
    root = tmp_path_factory.mktemp("tokdirs")
    out = {f: save_tokenizer_dir(root / f, tok, f) for f, tok in tokenizers_.items()}
    # LLaMA-2 and T5 folders ship a SentencePiece model whose pieces are the tokenizer's ids
    (out["llama2"] / "tokenizer.model").write_bytes(sentencepiece_model_bytes(tokenizers_["llama2"]))
    (out["unigram"] / "spiece.model").write_bytes(sentencepiece_model_bytes(tokenizers_["unigram"]))
    return out


def expected_form(family: str, word: str) -> str:
    if family == "bytelevel":  # " word" in the byte-level alphabet ("Ġ" is the space)
        alphabet = _byte_alphabet()
        return "".join(alphabet[b] for b in (" " + word).encode("utf-8"))
    if family in ("metaspace", "llama2", "unigram"):
        return "\u2581" + word
    return word


def _byte_alphabet() -> list[str]:
    keep = list(range(33, 127)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out, extra = [], 0
    for b in range(256):
        out.append(chr(b) if b in keep else chr(256 + extra))
        extra += b not in keep
    return out


# --------------------------------------------------------------------------- new words fire in context

@pytest.mark.parametrize("family", FAMILIES)
def test_new_words_are_entries_in_the_running_text_form(family, tokenizers_, expanded):
    old = tokenizers_[family]
    new, entries, skips = expanded[family]
    words = [e for e in entries if not e.intermediate]
    assert [e.word for e in words] == NEW_WORDS and skips.as_dict()["added"] == len(NEW_WORDS)
    first = max(old.get_vocab(with_added_tokens=True).values()) + 1
    assert [e.token_id for e in entries] == list(range(first, first + len(entries)))
    vocab = new.get_vocab(with_added_tokens=True)
    for tok, i in old.get_vocab(with_added_tokens=True).items():
        assert vocab[tok] == i  # every old id stays
    for e in words:
        assert e.token == expected_form(family, e.word)
        assert new.token_to_id(e.token) == e.token_id
        # in running text (after a space) the word is exactly its new token
        enc = new.encode("le " + e.word + " la", add_special_tokens=False)
        assert e.token_id in enc.ids
        assert len(e.pieces) >= 1 and e.pieces == [t.id for t in old.model.tokenize(e.token)]
    if family == "llama2":  # a real entry is not normalised twice ("▁▁maison")
        assert "\u2581maison" in new.encode("le maison", add_special_tokens=False).tokens
    # no new entry is an added token (matched before pre-tokenisation)
    assert len(json.loads(new.to_str())["added_tokens"]) == len(json.loads(old.to_str())["added_tokens"])


@pytest.mark.parametrize("family", FAMILIES)
def test_share_of_in_context_use(family, tokenizers_, expanded):
    from xling.vocab.tokenizer_edit import in_context_use

    new, entries, _ = expanded[family]
    use = in_context_use(tokenizers_[family], new, entries, french_lines(200))
    assert use["new_word_occurrences"] > 500
    assert use["single_token_share"] >= MIN_SHARE[family]
    assert use["tokens_per_new_word_before"] > 2.0 and use["tokens_per_new_word_after"] == 1.0
    assert use["tokens_per_word_after"] < use["tokens_per_word_before"]
    assert use["lines_changed_without_new_ids"] == 0
    if family == "bytelevel":  # line-initial words have no "Ġ": counted apart, not as misses
        assert use["other_form_occurrences"] > 0


@pytest.mark.parametrize("family", FAMILIES)
def test_decoding_round_trips_byte_for_byte(family, expanded):
    new, _, _ = expanded[family]
    lines = french_lines(100, seed=3) + ["déjà été σπίτι дерево château",
                                         "un château, une forêt. écrire."]
    for line in lines:
        ids = new.encode(line, add_special_tokens=False).ids
        assert new.decode(ids) == line


@pytest.mark.parametrize("family", ["bytelevel", "metaspace", "llama2"])
def test_bpe_merges_are_appended_and_old_text_without_new_ids_is_unchanged(family, tokenizers_, expanded):
    old, (new, entries, _) = tokenizers_[family], expanded[family]
    m_old = json.loads(old.to_str())["model"]["merges"]
    m_new = json.loads(new.to_str())["model"]["merges"]
    assert m_new[:len(m_old)] == m_old and len(m_new) > len(m_old)
    new_ids = {e.token_id for e in entries}
    unchanged = 0
    for line in english_lines(300, seed=3):
        a, b = old.encode(line).ids, new.encode(line).ids
        if not new_ids.intersection(b):
            assert a == b
        unchanged += a == b
    assert unchanged >= 200  # only words that begin like a new word can change


def test_skips_are_counted(tokenizers_):
    from xling.vocab.tokenizer_edit import expand_tokenizer

    tok = tokenizers_["bytelevel"]
    _, entries, skips = expand_tokenizer(tok, ["the", "maison", "maison", "  ", "l'été", "jardin\n"])
    d = skips.as_dict()
    assert [e.word for e in entries if not e.intermediate] == ["maison", "jardin"]
    assert d["skipped_single_token"] == 1 and d["single_token_examples"] == ["the"]  # "Ġthe" is one token
    assert d["skipped_duplicates"] == 2 and d["skipped_split"] == 1 and d["requested"] == 6
    # a word that normalises to an existing entry (NFKC: the ligature "ﬁ" is "fi")
    tok_m = tokenizers_["metaspace"]
    _, entries, skips = expand_tokenizer(tok_m, ["maison", "ﬁeld", "field"])
    assert skips.as_dict()["skipped_duplicates"] == 1  # "field" after "ﬁeld": the same entry
    assert sum(not e.intermediate for e in entries) == 2


def test_bad_words_and_unsupported_models(tokenizers_):
    from tokenizers import Tokenizer, models

    from xling.data.errors import XlingError
    from xling.vocab.tokenizer_edit import expand_tokenizer

    with pytest.raises(XlingError, match="whitespace inside"):
        expand_tokenizer(tokenizers_["bytelevel"], ["maison", "pomme de"])
    wl = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    with pytest.raises(XlingError, match="WordLevel"):
        expand_tokenizer(wl, ["maison"])
    with pytest.raises(XlingError, match="no new token"):
        expand_tokenizer(tokenizers_["bytelevel"], ["the", "and"])


# --------------------------------------------------------------------------- forms other than the word-start one

def unmarked(family: str, word: str) -> str:
    return expected_form(family, word)[1:]  # without "Ġ" / "▁"


@pytest.mark.parametrize("family", ["bytelevel", "metaspace", "llama2", "unigram"])
def test_forms_all_adds_the_unmarked_form_from_its_own_pieces(family, tokenizers_, expanded):
    from xling.vocab.tokenizer_edit import Forms, expand_tokenizer, in_context_use

    old = tokenizers_[family]
    new, entries, skips = expand_tokenizer(old, NEW_WORDS, forms=Forms.all)
    start_only = [e for e in expanded[family][1] if not e.intermediate]
    starts = [e for e in entries if not e.intermediate and e.form == "start"]
    bare = [e for e in entries if not e.intermediate and e.form == "unmarked"]
    assert [e.token for e in starts] == [e.token for e in start_only]  # the start forms are what they were
    assert skips.as_dict()["added"] == len(NEW_WORDS)
    assert len(bare) + skips.as_dict()["unmarked_forms_already_one_token"] == len(NEW_WORDS) and len(bare) >= 15
    for e in bare:
        assert e.token == unmarked(family, e.word)
        assert e.pieces == [t.id for t in old.model.tokenize(e.token)]  # its own pieces, not the start form's
        assert [t.id for t in new.model.tokenize(e.token)] == [e.token_id]
    assert skips.as_dict()["not_single_token_after"] == 0
    lines = french_lines(200) + ["l'" + w + " (" + w + ") d'" + w for w in NEW_WORDS]
    before = in_context_use(old, expanded[family][0], expanded[family][1], lines)
    after = in_context_use(old, new, entries, lines)
    assert after["all_occurrences"] == before["all_occurrences"] > after["new_word_occurrences"]
    assert after["single_token_share"] == before["single_token_share"] >= 0.95
    assert after["single_token_share_all"] > before["single_token_share_all"]
    if family == "bytelevel":  # line starts, "(maison", "l'maison": the unmarked pre-token
        assert before["by_form"]["unmarked"]["share"] == 0.0 and before["single_token_share_all"] < 0.9
        assert after["by_form"]["unmarked"]["occurrences"] > 150 and after["by_form"]["unmarked"]["share"] >= 0.95
        assert after["single_token_share_all"] >= 0.95
    else:  # "▁l'maison": inside a longer pre-token
        assert after["by_form"]["inner"]["occurrences"] >= 3 * len(NEW_WORDS)
        assert after["by_form"]["inner"]["share"] > before["by_form"]["inner"]["share"]
    # the last lines hold "'" and "(", unknown to the Metaspace and Unigram tokenizers trained here
    for line in lines[:50] + (lines[-len(NEW_WORDS):] if family in ("bytelevel", "llama2") else []):
        assert new.decode(new.encode(line, add_special_tokens=False).ids) == line


def test_forms_all_on_wordpiece_adds_no_continuation_piece(tokenizers_, expanded):
    from xling.vocab.tokenizer_edit import Forms, expand_tokenizer

    _, entries, skips = expand_tokenizer(tokenizers_["wordpiece"], NEW_WORDS, forms=Forms.all)
    assert [e.token for e in entries] == [e.token for e in expanded["wordpiece"][1]]
    assert not any(e.token.startswith("##") for e in entries) and skips.as_dict()["unmarked_forms_added"] == 0


# --------------------------------------------------------------------------- old words keep their segmentation

def test_new_merges_do_not_resegment_the_text_words(tokenizers_):
    """A merge chain built left to right makes "Ġm" + "a" → "Ġma" → "Ġmai" → "Ġmais" on the way to
    "Ġmaison": the old word "mais" becomes one (intermediate) token. Given the text, the chain
    takes pairs no word of the text ends with."""
    from xling.vocab.tokenizer_edit import Forms, expand_tokenizer, in_context_use

    tok = train_tokenizer("bytelevel")  # trained here: "mais" ends as Ġm a i s, as "maison" starts
    assert [t.value for t in tok.model.tokenize("\u0120mais")] == ["\u0120m", "a", "i", "s"]
    text = french_lines(200)
    for forms in (Forms.start, Forms.all):
        today, e0, s0 = expand_tokenizer(tok, NEW_WORDS, forms=forms)
        use0 = in_context_use(tok, today, e0, text)
        assert use0["resegmented_words"] > 40 and use0["resegmented_distinct"] >= 1  # the constructed case
        ex = next(x for x in use0["resegmented_examples"] if x["word"] == "mais")
        assert ex["before"] == ["\u0120m", "a", "i", "s"] and ex["after"] == ["\u0120mais"]
        assert 0 < use0["resegmented_share"] < 0.2
        kept, e1, s1 = expand_tokenizer(tok, NEW_WORDS, forms=forms, text=text)
        use1 = in_context_use(tok, kept, e1, text)
        assert use1["resegmented_words"] == 0 and use1["resegmented_examples"] == []
        assert s1.as_dict()["protected_text_words"] >= len(FILLERS) and s1.as_dict()["merges_splitting_text_words"] == 0
        assert use1["single_token_share"] == use0["single_token_share"] == 1.0
        assert use1["single_token_share_all"] == use0["single_token_share_all"]
        assert s1.as_dict()["not_single_token_after"] == 0
        # held-out text with the same words: unchanged too
        held = french_lines(100, seed=7)
        assert in_context_use(tok, kept, e1, held)["resegmented_words"] == 0


def test_a_merge_that_cannot_be_avoided_is_reported(tokenizers_):
    """Every pair of "Ġmaison"'s pieces is also in "Ġmaisons": the last merge splits it whatever
    the order, and the report says so."""
    from xling.vocab.tokenizer_edit import expand_tokenizer, in_context_use

    tok = tokenizers_["bytelevel"]
    text = ["les maisons du village", "une maisons"]
    new, entries, skips = expand_tokenizer(tok, ["maison"], text=text)
    forced = skips.as_dict()["merges_splitting_text_words_examples"]
    assert forced and all(f["word"] == "maison" and f["text_words"] == 2 for f in forced)
    use = in_context_use(tok, new, entries, text)
    assert use["resegmented_words"] == 2 and use["resegmented_examples"][0]["word"] == "maisons"
    assert use["resegmented_examples"][0]["after"] == ["\u0120maison", "s"]


# --------------------------------------------------------------------------- files of the folder

@pytest.mark.parametrize("family", FAMILIES)
def test_rewritten_files_are_consistent(family, tokenizers_, expanded, model_dirs, tmp_path):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    from xling.vocab.tokenizer_edit import rewrite_tokenizer_files

    src = model_dirs[family]
    new, entries, _ = expanded[family]
    out = tmp_path / "out"
    out.mkdir()
    if family == "llama2":
        (out / "tokenizer.model").write_bytes((src / "tokenizer.model").read_bytes())  # copied by the caller
    warnings = rewrite_tokenizer_files(src, out, new, entries)
    lines = french_lines(40, seed=4) + english_lines(20)
    saved = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert [saved.encode(x).ids for x in lines] == [new.encode(x).ids for x in lines]
    if family == "bytelevel":
        from tokenizers import decoders, pre_tokenizers
        from tokenizers.models import BPE

        slow = Tokenizer(BPE.from_file(str(out / "vocab.json"), str(out / "merges.txt")))
        slow.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        slow.decoder = decoders.ByteLevel()
        assert [slow.encode(x).ids for x in lines] == [new.encode(x, add_special_tokens=False).ids for x in lines]
        assert (out / "merges.txt").read_text(encoding="utf-8").startswith(
            (src / "merges.txt").read_text(encoding="utf-8"))
    if family == "wordpiece":
        rows = (out / "vocab.txt").read_text(encoding="utf-8").splitlines()
        assert rows == sorted(new.get_vocab(), key=new.get_vocab().get)
        assert rows[-1] == NEW_WORDS[-1]
    assert warnings == []
    for name in ("tokenizer.model", "spiece.model"):
        if (src / name).exists():
            check_sentencepiece(src / name, out / name, new, entries)
    hf = AutoTokenizer.from_pretrained(str(out))
    for e in entries:
        if not e.intermediate:
            assert hf.convert_tokens_to_ids(e.token) == e.token_id
    line = "le château et la forêt"
    assert hf(line, add_special_tokens=False)["input_ids"] == new.encode(line, add_special_tokens=False).ids
    assert hf.decode(hf(line, add_special_tokens=False)["input_ids"]) == line


def check_sentencepiece(before, after, new, entries):
    """The rewritten SentencePiece model: the tokenizer's pieces in id order, new pieces normal,
    BPE ones scored below every old piece in id order, Unigram ones as in tokenizer.json, the
    trainer and normaliser specs byte for byte."""
    from xling.vocab.tokenizer_edit import read_sentencepiece

    old_raw, new_raw = before.read_bytes(), after.read_bytes()
    old_pieces, kind = read_sentencepiece(old_raw)
    pieces, kind2 = read_sentencepiece(new_raw)
    assert kind2 == kind and pieces[:len(old_pieces)] == old_pieces
    by_id = {i: t for t, i in new.get_vocab().items()}
    assert [p[0] for p in pieces] == [by_id[i] for i in range(len(pieces))]
    assert len(pieces) == len(old_pieces) + len(entries)
    added = pieces[len(old_pieces):]
    assert all(p[2] == 1 for p in added)
    model = json.loads(new.to_str())["model"]
    if kind == 2:
        low = min(p[1] for p in old_pieces if p[2] == 1)
        scores = [p[1] for p in added]
        assert max(scores) < low and scores == sorted(scores, reverse=True)
    else:
        assert [p[1] for p in added] == pytest.approx([model["vocab"][e.token_id][1] for e in entries], abs=1e-4)
    tail = old_raw[old_raw.rindex(b"\x12"):]  # the trainer spec and what follows it
    assert new_raw.endswith(tail) and len(tail) > 10


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_sentencepiece_itself_reads_the_rewritten_model(kind, tmp_path):
    """A real SentencePiece model (trained here by the sentencepiece library), its tokenizer.json,
    expanded: the sentencepiece library loads the rewritten file, finds the new pieces at their ids
    with their scores, and encodes text as the expanded tokenizer.json does."""
    spm = pytest.importorskip("sentencepiece", reason="the sentencepiece package (pip install -e '.[test]')")
    from xling.vocab.tokenizer_edit import Forms, expand_tokenizer, rewrite_tokenizer_files

    raw = train_sentencepiece(kind)
    tok = tokenizer_from_sentencepiece(raw)
    name = "tokenizer.model" if kind == "bpe" else "spiece.model"
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    tok.save(str(src / "tokenizer.json"))
    (src / name).write_bytes(raw)
    old = spm.SentencePieceProcessor(model_file=str(src / name))
    lines = french_lines(100, seed=4)
    assert all(old.encode(ln) == tok.encode(ln, add_special_tokens=False).ids for ln in lines)  # the same tokenizer
    new, entries, _ = expand_tokenizer(tok, NEW_WORDS, forms=Forms.all, text=lines)
    assert rewrite_tokenizer_files(src, dst, new, entries) == []
    sp = spm.SentencePieceProcessor(model_file=str(dst / name))
    n_old = old.get_piece_size()
    assert sp.get_piece_size() == n_old + len(entries) == new.get_vocab_size(with_added_tokens=True)
    for i in range(n_old):  # old pieces, ids and scores as they were
        assert (sp.id_to_piece(i), sp.get_score(i)) == (old.id_to_piece(i), old.get_score(i))
    scores = [sp.get_score(e.token_id) for e in entries]
    assert [sp.id_to_piece(e.token_id) for e in entries] == [e.token for e in entries]
    if kind == "bpe":  # below every old piece, in id order: merged last, in the order of the merge chains
        assert max(scores) < min(old.get_score(i) for i in range(n_old) if old.is_unknown(i) is False
                                 and not old.is_control(i) and not old.is_byte(i))
        assert scores == sorted(scores, reverse=True)
    else:
        vocab = json.loads(new.to_str())["model"]["vocab"]
        assert scores == pytest.approx([vocab[e.token_id][1] for e in entries], rel=1e-6)
    for e in entries:
        if not e.intermediate and e.form == "start":
            assert e.token_id in sp.encode("le " + e.word + " la")
    for ln in lines + ["l'été (forêt) château"]:
        ids = sp.encode(ln)
        assert ids == new.encode(ln, add_special_tokens=False).ids
        if kind == "bpe" or ln in lines:  # "'", "(" are unknown to the Unigram model (no byte fallback)
            assert sp.decode(ids) == ln


def test_sentencepiece_model_with_other_ids_is_removed(tokenizers_, expanded, model_dirs, tmp_path):
    from xling.vocab.tokenizer_edit import rewrite_tokenizer_files

    src = tmp_path / "src"
    src.mkdir()
    for p in model_dirs["llama2"].iterdir():
        (src / p.name).write_bytes(p.read_bytes())
    (src / "tokenizer.model").write_bytes(sentencepiece_model_bytes(tokenizers_["llama2"], shift=1))
    out = tmp_path / "out"
    out.mkdir()
    (out / "tokenizer.model").write_bytes((src / "tokenizer.model").read_bytes())  # copied by the caller
    new, entries, _ = expanded["llama2"]
    warnings = rewrite_tokenizer_files(src, out, new, entries)
    assert not (out / "tokenizer.model").exists()
    assert len(warnings) == 1 and "removed tokenizer.model" in warnings[0] and "ids" in warnings[0]
    (src / "tokenizer.model").write_bytes(b"\x0a\x05broken")
    warnings = rewrite_tokenizer_files(src, out, new, entries)
    assert not (out / "tokenizer.model").exists() and "removed tokenizer.model" in warnings[0]


def test_added_token_ids_in_tokenizer_config_are_checked(tokenizers_, expanded, model_dirs, tmp_path):
    from xling.data.errors import XlingError
    from xling.vocab.tokenizer_edit import rewrite_tokenizer_files

    src = tmp_path / "src"
    src.mkdir()
    for p in model_dirs["bytelevel"].iterdir():
        (src / p.name).write_bytes(p.read_bytes())
    cfg = json.loads((src / "tokenizer_config.json").read_text())
    cfg["added_tokens_decoder"]["7"] = cfg["added_tokens_decoder"].pop("0")  # wrong id
    (src / "tokenizer_config.json").write_text(json.dumps(cfg))
    new, entries, _ = expanded["bytelevel"]
    with pytest.raises(XlingError, match="has id 7"):
        rewrite_tokenizer_files(src, tmp_path / "out", new, entries)


# --------------------------------------------------------------------------- candidates

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    p = tmp_path_factory.mktemp("corpus") / "fr.txt"
    p.write_text("\n".join(french_lines(300, seed=8) + english_lines(100)) + "\n", encoding="utf-8")
    return p


@pytest.mark.parametrize("family", FAMILIES)
def test_candidates_in_context(family, cli, model_dirs, tokenizers_, corpus, tmp_path):
    out = tmp_path / "c.tsv"
    code, _, err = cli("vocab", "candidates", model_dirs[family], corpus, "--top", "15", "-o", out)
    assert code == 0, err
    rows = [r.split("\t") for r in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 15
    text = corpus.read_text(encoding="utf-8")
    words = set(text.split()) | {w.strip(".") for w in text.split()}
    tok = tokenizers_[family]
    saved = []
    for word, count, pieces in rows:
        assert word in words  # real words of the text: no mojibake, no ▁/Ġ, not a whole line
        n = len(tok.encode("le " + word, add_special_tokens=False).ids) - len(
            tok.encode("le", add_special_tokens=False).ids)
        if family != "wordpiece":
            assert int(pieces) == n >= 2  # never a word that is one token in context
        else:
            assert int(pieces) >= 2
        saved.append(int(count) * (int(pieces) - 1))
    assert saved == sorted(saved, reverse=True)
    if family != "wordpiece":  # (there they are one [UNK] today, counted as 2 pieces)
        assert {r[0] for r in rows} & {"été", "déjà", "fenêtre", "forêt"}  # accented words decoded


def test_candidates_skip_words_already_one_token_in_context(model_dirs, tokenizers_):
    from collections import Counter

    from xling.vocab.candidates import select_candidates
    from xling.vocab.segment import HFSegmenter

    seg = HFSegmenter(tokenizers_["bytelevel"])
    cands = select_candidates(Counter({"the": 50, "weather": 40, "maison": 3}), seg, top=10)
    assert [c.word for c in cands] == ["maison"]
    assert cands[0].pieces == len(tokenizers_["bytelevel"].model.tokenize("\u0120maison"))


# --------------------------------------------------------------------------- learning new subword tokens

@pytest.mark.parametrize("family", FAMILIES)
def test_train_tokenizer_merges_n_tokens(family, cli, model_dirs, tokenizers_, corpus, tmp_path):
    from tokenizers import Tokenizer

    from xling.vocab.tokenizer_edit import load_trained

    out = tmp_path / "trained"
    code, stdout, err = cli("vocab", "train-tokenizer", model_dirs[family], corpus, "-n", "30", "-o", out, "--json")
    assert code == 0, err
    rep = json.loads(stdout)
    assert rep["new_tokens"] == 30 and rep["new_tokens_used_on_corpus"] >= 5
    assert rep["tokens_per_word_after"] < rep["tokens_per_word_before"] or family == "wordpiece"
    old = tokenizers_[family]
    new = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert new.get_vocab_size() == old.get_vocab_size() + 30 + rep["intermediate_tokens"]
    new_tok, entries, skips = load_trained(out, old)
    assert sum(not e.intermediate for e in entries) == 30
    assert all(new.token_to_id(e.token) == e.token_id for e in entries)
    if json.loads(old.to_str())["model"]["type"] == "BPE":
        m_old = json.loads(old.to_str())["model"]["merges"]
        assert json.loads(new.to_str())["model"]["merges"][:len(m_old)] == m_old
    ids = {e.token_id for e in entries}
    for line in english_lines(200, seed=6) + french_lines(50, seed=2):
        a, b = old.encode(line).ids, new.encode(line).ids
        if not ids.intersection(b):
            assert a == b  # existing segmentations stay where no new token applies
        if old.decode(a) == line:  # what decoded right still does
            assert new.decode(b) == line
    # the result is for this model only
    other = train_tokenizer(family, lines=french_lines(300))
    from xling.data.errors import InputError

    with pytest.raises(InputError, match="another tokenizer"):
        load_trained(out, other)


def test_train_tokenizer_bad_input(cli, model_dirs, corpus, tmp_path):
    from tokenizers import Tokenizer, models

    wl = tmp_path / "wl"
    wl.mkdir()
    Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]")).save(str(wl / "tokenizer.json"))
    code, _, err = cli("vocab", "train-tokenizer", wl, corpus, "-n", "5", "-o", tmp_path / "o")
    assert code == 2 and "WordLevel" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
    out = tmp_path / "busy"
    out.mkdir()
    (out / "x").write_text("keep")
    code, _, err = cli("vocab", "train-tokenizer", model_dirs["bytelevel"], corpus, "-n", "5", "-o", out)
    assert code == 2 and "not empty" in err and (out / "x").read_text() == "keep"


def test_train_tokenizer_says_when_it_is_not_reproducible_and_forces_only_its_own_folder(cli, model_dirs, corpus,
                                                                                          tmp_path):
    out = tmp_path / "u"
    code, _, err = cli("vocab", "train-tokenizer", model_dirs["unigram"], corpus, "-n", "5", "-o", out)
    assert code == 0 and "not bit-reproducible" in err
    assert json.loads((out / "xling-tokens.json").read_text(encoding="utf-8"))["reproducible"] is False
    code, _, err = cli("vocab", "train-tokenizer", model_dirs["bytelevel"], corpus, "-n", "5", "-o", out, "--force")
    assert code == 0 and "not bit-reproducible" not in err  # its own folder is replaced; BPE training is repeatable
    assert json.loads((out / "xling-tokens.json").read_text(encoding="utf-8"))["reproducible"] is True
    other = tmp_path / "other"
    other.mkdir()
    (other / "x").write_text("keep")
    code, _, err = cli("vocab", "train-tokenizer", model_dirs["bytelevel"], corpus, "-n", "5", "-o", other, "--force")
    assert code == 2 and len(err.strip().splitlines()) == 1 and (other / "x").read_text() == "keep"


def test_a_word_that_is_the_prefix_of_an_earlier_word_is_still_added(tokenizers_):
    from xling.vocab.tokenizer_edit import expand_tokenizer

    tok = tokenizers_["bytelevel"]
    new, entries, skips = expand_tokenizer(tok, ["maisons", "maison"])
    words = {e.word: e for e in entries if not e.intermediate}
    assert set(words) == {"maisons", "maison"} and skips.as_dict()["added"] == 2
    for w, e in words.items():
        assert new.encode("la " + w, add_special_tokens=False).ids[-1] == e.token_id
    assert len({e.token for e in entries}) == len(entries)


def test_unigram_pieces_still_win_next_to_each_other(tokenizers_):
    """'▁maison' + 's' must not beat the new '▁maisons' (both scored against the old pieces)."""
    from xling.vocab.tokenizer_edit import expand_tokenizer

    # prefixes and longer forms of the new words, added together (15 of them lose without rescoring)
    words = NEW_WORDS + [w + s for w in NEW_WORDS for s in ("s", "es", "ment", "r")] + \
        [w[:k] for w in NEW_WORDS for k in (3, 4, 5) if len(w) > k + 1]
    new, entries, skips = expand_tokenizer(tokenizers_["unigram"], words)
    assert skips.as_dict()["not_single_token_after"] == 0
    for e in entries:
        assert new.encode("le " + e.word, add_special_tokens=False).ids[-1] == e.token_id, e.word


# --------------------------------------------------------------------------- through `xling vocab expand`

@pytest.fixture(scope="module")
def tiny_lm(tokenizers_, tmp_path_factory):
    """A tiny LLaMA with the byte-level tokenizer (weights from a config, nothing downloaded)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("lm") / "model"
    tok = tokenizers_["bytelevel"]
    save_tokenizer_dir(path, tok, "bytelevel")
    cfg = LlamaConfig(vocab_size=tok.get_vocab_size(with_added_tokens=True), hidden_size=16, intermediate_size=32,
                      num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                      max_position_embeddings=64, tie_word_embeddings=True, bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).eval().save_pretrained(str(path))
    return path


def test_expand_refuses_bad_words_and_models_in_one_line(cli, tiny_lm, tmp_path):
    words = tmp_path / "w.txt"
    words.write_text("maison\npomme de terre\n", encoding="utf-8")
    code, _, err = cli("vocab", "expand", tiny_lm, "--tokens", words, "--init", "mean", "-o", tmp_path / "o")
    assert code == 2 and "whitespace inside" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
    from tokenizers import Tokenizer, models

    wl = tmp_path / "wl"
    wl.mkdir()
    for p in tiny_lm.iterdir():
        (wl / p.name).write_bytes(p.read_bytes())
    Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]")).save(str(wl / "tokenizer.json"))
    words.write_text("maison\n", encoding="utf-8")
    code, _, err = cli("vocab", "expand", wl, "--tokens", words, "--init", "mean", "-o", tmp_path / "o2")
    assert code == 2 and "WordLevel" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o2").exists()


def test_train_tokenizer_output_feeds_expand(cli, tiny_lm, corpus, tmp_path):
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    learned = tmp_path / "learned"
    code, _, err = cli("vocab", "train-tokenizer", tiny_lm, corpus, "-n", "25", "-o", learned)
    assert code == 0, err
    out = tmp_path / "expanded"
    code, stdout, err = cli("vocab", "expand", tiny_lm, "--tokens", learned, "--init", "subword-mean", "-o", out,
                            "--json")
    assert code == 0, err
    trained = Tokenizer.from_file(str(learned / "tokenizer.json"))
    expanded = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert expanded.get_vocab(with_added_tokens=True) == trained.get_vocab(with_added_tokens=True)
    model = AutoModelForCausalLM.from_pretrained(str(out))
    assert model.get_input_embeddings().weight.shape[0] >= expanded.get_vocab_size(with_added_tokens=True)
    hf = AutoTokenizer.from_pretrained(str(out))
    line = french_lines(1, seed=11)[0]
    assert hf(line, add_special_tokens=False)["input_ids"] == expanded.encode(line, add_special_tokens=False).ids


def test_expand_forms_all_reports_every_form_and_keeps_the_text_words(cli, tiny_lm, tmp_path):
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    words = tmp_path / "w.txt"
    words.write_text("".join(w + "\n" for w in NEW_WORDS), encoding="utf-8")
    text = tmp_path / "fr.txt"
    text.write_text("".join(ln + "\n" for ln in french_lines(150)), encoding="utf-8")
    out = tmp_path / "o"
    code, stdout, err = cli("vocab", "expand", tiny_lm, "--tokens", words, "--init", "subword-mean", "--forms", "all",
                            "--text", text, "-o", out, "--json")
    assert code == 0, err
    rep = json.loads(stdout)
    use = rep["in_context"]
    assert rep["forms"] == "all" and rep["tokens"]["unmarked_forms_added"] >= 15
    assert use["by_form"]["unmarked"]["occurrences"] > 50 and use["by_form"]["unmarked"]["share"] >= 0.95
    assert use["single_token_share_all"] >= 0.95 and use["resegmented_words"] == 0
    forms = {e["form"] for e in rep["entries"] if not e["intermediate"]}
    assert forms == {"start", "unmarked"}
    new = Tokenizer.from_file(str(out / "tokenizer.json"))
    model = AutoModelForCausalLM.from_pretrained(str(out))
    assert model.get_input_embeddings().weight.shape[0] >= new.get_vocab_size(with_added_tokens=True)
    code, _, err = cli("vocab", "expand", tiny_lm, "--tokens", words, "--forms", "some", "-o", tmp_path / "o2")
    assert code == 2 and "--forms 'some'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o2").exists()
