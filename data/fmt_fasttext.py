"""fastText models (``.bin``): read only.

The vectors of the in-vocabulary words, plus subword vectors for extra (out-of-vocabulary)
words on request.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .embeddings import Embeddings
from .errors import InputError, XlingError
from .formats import Progress, RawVectors, ReadOptions, WriteOptions


def read(path: str, opts: ReadOptions) -> RawVectors:
    return _read_fasttext_bin(path, opts.max_vocab, opts.extra_words, opts.progress)


def write(emb: Embeddings, path: str, opts: WriteOptions) -> None:
    raise XlingError("a fastText .bin model cannot be made from vectors alone; "
                     "write .vec (text) or word2vec binary instead")


def _read_fasttext_bin(path: str, max_vocab: int | None, extra_words: Sequence[str] | None,
                       progress: Progress | None):
    try:
        import fasttext  # noqa: F401
        import fasttext.FastText as ft
    except ImportError as e:  # pragma: no cover
        raise XlingError(f"reading fastText .bin needs the fasttext package ({e})") from None
    with open(path, "rb") as f:
        head = f.read(8)
    version = int.from_bytes(head[4:8], "little", signed=True) if len(head) == 8 else -1
    if not 10 <= version <= 12:
        raise InputError(f"not a readable fastText model: unknown version {version}", path)
    try:
        model = ft._FastText(model_path=path)  # load_model without its stderr warning
    except (ValueError, RuntimeError, MemoryError) as e:
        raise InputError(f"not a readable fastText model: {e}", path) from None
    if model.get_dimension() <= 0 or not model.get_words():
        raise InputError("not a readable fastText model: no words or dimension 0", path)
    words = list(model.get_words(on_unicode_error="surrogateescape"))
    if max_vocab is not None:
        words = words[:max_vocab]
    truncated = max_vocab is not None and len(words) == max_vocab
    extra = [w for w in (extra_words or []) if w]
    all_words = words + extra
    d = model.get_dimension()
    out = np.empty((len(all_words), d), dtype=np.float32)
    step = max(1, len(all_words) // 100)
    for i, w in enumerate(all_words):
        out[i] = model.get_word_vector(w)
        if progress and (i % step == 0 or i == len(all_words) - 1):
            progress(i + 1, len(all_words))
    return RawVectors(all_words, out, "fasttext", (len(words), d), truncated, None)
