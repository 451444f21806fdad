"""Tokenizer fixtures for vocabulary expansion: one tokenizer of each family, trained here on a
small English text with the ``tokenizers`` trainers (no download), saved as a model folder with
the files a Hugging Face hub folder has."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ENGLISH = """The old house stood at the end of the road, behind a garden full of roses and tall grass.
Every morning the farmer walked to the market with a basket of bread, cheese and fresh apples.
The children played in the street until their mother called them home for dinner.
A small cat slept on the window while the rain fell softly on the roof of the kitchen.
The teacher asked the students to read the story again and to write a short letter to a friend.
In the evening the family sat by the fire and talked about the long winter and the coming spring.
The river ran through the valley, past the mill, the church and the houses of the village.
He opened the door, looked at the sky, and decided that the weather was good enough for a walk.
The train left the station at noon and arrived in the city late in the afternoon.
She bought a new book, a pair of shoes and a bottle of milk before she went back to work.
The doctor told him to rest for a week, to drink water and to eat more fruit and vegetables.
Our neighbours have a large dog that barks at every car that passes in front of their gate.
The library opens at nine and closes at six, except on Sunday when it stays closed all day.
They travelled across the mountains by bus and spent the night in a small hotel near the lake.
When the music started, everybody stood up and began to dance in the middle of the hall.
The king gave the soldiers bread and wine, and the soldiers thanked the king for his kindness.
Write the answer on a piece of paper, fold it twice and put it in the box on the table.
The weather changed quickly: first the sun, then the wind, then a heavy storm from the sea.
"""

# French words to add: plain, accented, and two non-Latin words (Greek, Russian)
NEW_WORDS = ["maison", "fenêtre", "jardin", "été", "déjà", "château", "boulangerie", "fromage",
             "pomme", "église", "rivière", "montagne", "voiture", "enfant", "écrire", "forêt",
             "σπίτι", "дерево"]
FILLERS = ["le", "la", "une", "avec", "dans", "pour", "sur", "mais", "nous", "tout"]

SPECIALS_BERT = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BYTE_TOKENS = [f"<0x{i:02X}>" for i in range(256)]
FAMILIES = ("bytelevel", "metaspace", "llama2", "unigram", "wordpiece")


def english_lines(n: int = 600, seed: int = 0) -> list[str]:
    """Training text: the English paragraph's sentences, shuffled and repeated."""
    base = [s for s in ENGLISH.splitlines() if s.strip()]
    rng = np.random.default_rng(seed)
    return [base[i] for i in rng.integers(0, len(base), size=n)]


def french_lines(n: int = 200, seed: int = 1) -> list[str]:
    """Text with the new words in running text (mid-sentence and at line starts)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(6, 12))
        words = [str(w) for w in rng.choice(NEW_WORDS + FILLERS, size=k)]
        out.append(" ".join(words) + ("." if rng.random() < 0.5 else ""))
    return out


def _tok_config(family: str) -> dict:
    if family == "bytelevel":
        return {"tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>", "add_prefix_space": False,
                "added_tokens_decoder": {"0": {"content": "<|endoftext|>", "special": True, "lstrip": False,
                                               "rstrip": False, "normalized": False, "single_word": False}}}
    if family == "wordpiece":
        return {"tokenizer_class": "BertTokenizer", "do_lower_case": False, "unk_token": "[UNK]",
                "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
    if family == "unigram":
        return {"tokenizer_class": "PreTrainedTokenizerFast", "pad_token": "<pad>", "eos_token": "</s>",
                "unk_token": "<unk>"}
    return {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
            "unk_token": "<unk>"}


def train_tokenizer(family: str, lines=None, vocab_size: int = 400):
    """A ``tokenizers.Tokenizer`` of ``family`` trained on ``lines`` (default: the English text)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    lines = english_lines() if lines is None else lines
    if family == "bytelevel":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    elif family == "metaspace":
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<unk>", "<s>", "</s>"])
    elif family == "llama2":
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
        # trained like SentencePiece (no piece crosses a word start), used with the normaliser layout
        tok.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first")
        tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(" ", 1, 0)])
        trainer = trainers.BpeTrainer(vocab_size=vocab_size + 259,
                                      special_tokens=["<unk>", "<s>", "</s>"] + BYTE_TOKENS)
    elif family == "unigram":
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"],
                                          unk_token="<unk>", shrinking_factor=0.75)
    elif family == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS_BERT)
    else:
        raise ValueError(family)
    tok.train_from_iterator(lines, trainer)
    if family == "llama2":
        data = json.loads(tok.to_str())
        data["pre_tokenizer"] = None
        # byte tokens are ordinary vocabulary entries in SentencePiece models, not special tokens
        data["added_tokens"] = [a for a in data["added_tokens"] if a["content"] not in BYTE_TOKENS]
        data["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
        tok = Tokenizer.from_str(json.dumps(data))
    return tok


def save_tokenizer_dir(path: Path, tok, family: str) -> Path:
    """Write ``tok`` as a hub-style folder: tokenizer.json, tokenizer_config.json, and the slow
    files of the family (vocab.json + merges.txt for byte-level BPE, vocab.txt for WordPiece)."""
    path.mkdir(parents=True, exist_ok=True)
    tok.save(str(path / "tokenizer.json"))
    data = json.loads(tok.to_str())
    if family == "bytelevel":
        tok.model.save(str(path))  # vocab.json + merges.txt
    if family == "wordpiece":
        vocab = data["model"]["vocab"]
        by_id = sorted(vocab, key=vocab.get)
        (path / "vocab.txt").write_text("".join(t + "\n" for t in by_id), encoding="utf-8")
    (path / "tokenizer_config.json").write_text(json.dumps(_tok_config(family), indent=2), encoding="utf-8")
    return path


def _pb_varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _pb_len(field: int, payload: bytes) -> bytes:
    return _pb_varint(field << 3 | 2) + _pb_varint(len(payload)) + payload


def sentencepiece_model_bytes(tok, *, shift: int = 0) -> bytes:
    """A SentencePiece ModelProto (protobuf wire format) with ``tok``'s pieces in id order, as
    the ``sentencepiece`` library writes one: piece, score, type; trainer spec with the model type;
    a normaliser spec. ``shift`` rotates the ids (XLM-R's files do not match their tokenizer ids)."""
    import struct

    data = json.loads(tok.to_str())
    model = data["model"]
    if model["type"] == "Unigram":
        pieces = [(p, float(s)) for p, s in model["vocab"]]
        model_type = 1
    else:
        by_id = sorted(model["vocab"], key=model["vocab"].get)
        pieces = [(p, -float(i)) for i, p in enumerate(by_id)]
        model_type = 2
    pieces = pieces[shift:] + pieces[:shift]
    specials = {a["content"] for a in data.get("added_tokens") or []}
    out = b""
    for p, score in pieces:
        kind = 2 if p in ("<unk>", "[UNK]") else 3 if p in specials else 6 if p in BYTE_TOKENS else 1
        body = _pb_len(1, p.encode("utf-8")) + bytes([0x15]) + struct.pack("<f", score)
        if kind != 1:
            body += bytes([0x18]) + _pb_varint(kind)
        out += _pb_len(1, body)
    trainer = bytes([0x18]) + _pb_varint(model_type) + _pb_len(1, b"train.txt")  # model_type, input
    normalizer = _pb_len(1, b"identity") + bytes([0x18, 0x01])  # name, add_dummy_prefix
    return out + _pb_len(2, trainer) + _pb_len(3, normalizer)


def train_sentencepiece(kind: str, lines=None, vocab_size: int | None = None) -> bytes:
    """A real SentencePiece model (``sentencepiece`` trainer; ``kind`` "bpe" with byte fallback as in
    LLaMA-2, or "unigram" as in T5), serialised; identity normalisation, so that the
    ``tokenizer.json`` of :func:`tokenizer_from_sentencepiece` reads text the same way."""
    import io

    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(english_lines() if lines is None else lines), model_writer=buf, model_type=kind,
        vocab_size=vocab_size or (700 if kind == "bpe" else 300), byte_fallback=kind == "bpe",
        normalization_rule_name="identity", hard_vocab_limit=False, character_coverage=1.0, unk_id=0, bos_id=1,
        eos_id=2, pad_id=-1, minloglevel=2, num_threads=1)
    return buf.getvalue()


def tokenizer_from_sentencepiece(raw: bytes):
    """The ``tokenizer.json`` a hub folder ships next to a SentencePiece ``tokenizer.model``: piece
    ``i`` is token ``i``; BPE in the LLaMA-2 layout (normaliser Prepend + Replace, byte fallback, merges
    derived from the pieces: each piece's splits into two pieces, in the piece's score order), Unigram
    with the pieces' scores and a Metaspace pre-tokeniser (T5)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers

    from xling.vocab.tokenizer_edit import read_sentencepiece

    pieces, model_type = read_sentencepiece(raw)
    if model_type == 2:
        vocab = {p: i for i, (p, _, _) in enumerate(pieces)}
        merges = sorted((vocab[p], vocab[p[:k]], vocab[p[k:]], p[:k], p[k:])
                        for p, _, t in pieces if t == 1 for k in range(1, len(p))
                        if p[:k] in vocab and p[k:] in vocab)
        tok = Tokenizer(models.BPE(vocab=vocab, merges=[(m[3], m[4]) for m in merges], unk_token="<unk>",
                                   byte_fallback=True, fuse_unk=True))
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
        tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(" ", 1, 0)])
    else:
        tok = Tokenizer(models.Unigram([(p, s) for p, s, _ in pieces], unk_id=0, byte_fallback=False))
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
        tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.add_special_tokens([AddedToken(p, special=True, normalized=False) for p, _, t in pieces if t in (2, 3)])
    return tok
