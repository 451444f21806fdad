"""Segmenters: how a vocabulary splits a word or a line into token ids.

Two real implementations behind one small interface:

* :class:`HFSegmenter` wraps a Hugging Face ``tokenizers.Tokenizer`` (``tokenizer.json``),
  the tokenizer a checkpoint really uses;
* :class:`GreedySegmenter` is WordPiece's greedy longest-match-first over a bare vocabulary
  list (``##`` continuation pieces when the vocabulary has them), for matrices outside
  Hugging Face.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

from ..data.errors import XlingError

# Byte-level BPE / SentencePiece mark a word start with these; candidates strip them.
WORD_START_MARKS = ("\u0120", "\u2581")


class HFSegmenter:
    """Segment with a ``tokenizers.Tokenizer`` (padding and truncation switched off).

    Parameters
    ----------
    tokenizer : tokenizers.Tokenizer
        Used as given; this object keeps its own copy with padding/truncation disabled.
    """

    def __init__(self, tokenizer):
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_str(tokenizer.to_str())
        self.tok.no_padding()
        self.tok.no_truncation()

    def normalize(self, text: str) -> str:
        n = self.tok.normalizer
        return n.normalize_str(text) if n is not None else text

    def words(self, line: str) -> list[str]:
        """The words of a line as the tokenizer sees them (normalised, pre-tokenised)."""
        text = self.normalize(line)
        pre = self.tok.pre_tokenizer
        parts = [w for w, _ in pre.pre_tokenize_str(text)] if pre is not None else text.split()
        return [p.lstrip("".join(WORD_START_MARKS)) for p in parts]

    def pieces(self, words: Sequence[str]) -> list[list[int]]:
        """Token ids (no special tokens) for each word, encoded on its own."""
        if not words:
            return []
        return [e.ids for e in self.tok.encode_batch(list(words), add_special_tokens=False)]

    def encode_lines(self, lines: Sequence[str], add_special_tokens: bool = False) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch(list(lines), add_special_tokens=add_special_tokens)]

    def token_to_id(self, token: str) -> int | None:
        return self.tok.token_to_id(token)

    @property
    def size(self) -> int:
        return self.tok.get_vocab_size(with_added_tokens=True)


_WORD_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class GreedySegmenter:
    """WordPiece-style greedy longest-match-first segmentation over a plain vocabulary.

    Parameters
    ----------
    vocab : sequence of str
        Row ``i`` of the embedding matrix is token ``vocab[i]``.
    lowercase : bool
        Lower-case text before segmenting (default: when the vocabulary has no upper-case letter).
    """

    def __init__(self, vocab: Sequence[str], lowercase: bool | None = None):
        self.vocab = list(vocab)
        self.index = {t: i for i, t in enumerate(self.vocab)}
        self.prefix = "##" if any(t.startswith("##") and len(t) > 2 for t in self.vocab) else ""
        self.lowercase = (not any(t != t.lower() for t in self.vocab)) if lowercase is None else lowercase
        self.unk = next((self.index[u] for u in ("[UNK]", "<unk>", "<UNK>", "UNK") if u in self.index), None)

    def normalize(self, text: str) -> str:
        return text.lower() if self.lowercase else text

    def words(self, line: str) -> list[str]:
        return _WORD_RE.findall(self.normalize(line))

    def _word(self, word: str) -> list[int]:
        if word in self.index:  # whole-word entries (including added tokens) win
            return [self.index[word]]
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.index:
                    out.append(self.index[piece])
                    break
                end -= 1
            else:
                return [] if self.unk is None else [self.unk]
            start = end
        return out

    def pieces(self, words: Sequence[str]) -> list[list[int]]:
        return [self._word(self.normalize(w)) for w in words]

    def encode_lines(self, lines: Iterable[str], add_special_tokens: bool = False) -> list[list[int]]:
        return [[i for w in self.words(line) for i in self._word(w)] for line in lines]

    def token_to_id(self, token: str) -> int | None:
        return self.index.get(token)

    def add(self, tokens: Sequence[str]) -> None:
        for t in tokens:
            if t in self.index:
                raise XlingError(f"token {t!r} already in the vocabulary")
            self.index[t] = len(self.vocab)
            self.vocab.append(t)

    @property
    def size(self) -> int:
        return len(self.vocab)
