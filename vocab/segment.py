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
from collections.abc import Iterable, Sequence

from ..data.errors import XlingError


class HFSegmenter:
    """Segment with a ``tokenizers.Tokenizer`` (padding and truncation switched off).

    Words are taken as the tokenizer sees them in running text: normalised, pre-tokenised, and,
    for SentencePiece-style tokenizers, split before each ``▁`` word-start marker (the LLaMA-2 /
    Mistral layout has no pre-tokeniser: its normaliser prepends ``▁`` and replaces spaces).
    A *form* is such a word as the model's vocabulary stores it (``"Ġmaison"``, ``"▁maison"``,
    ``"maison"``); :meth:`decode_form` turns it back into Unicode text.

    Parameters
    ----------
    tokenizer : tokenizers.Tokenizer
        Used as given; this object keeps its own copy with padding/truncation disabled.
    """

    def __init__(self, tokenizer):
        import json

        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_str(tokenizer.to_str())
        self.tok.no_padding()
        self.tok.no_truncation()
        data = json.loads(self.tok.to_str())
        self.model_type = (data.get("model") or {}).get("type")
        self.byte_level = _has_component(data.get("pre_tokenizer"), "ByteLevel")
        self.marker = "\u2581" if (_has_component(data.get("pre_tokenizer"), "Metaspace")
                                    or _has_metaspace_normalizer(data.get("normalizer"))
                                    or _has_component(data.get("decoder"), "Metaspace")) else ""
        self._byte_decoder = {c: b for b, c in _bytes_to_unicode().items()} if self.byte_level else None

    def normalize(self, text: str) -> str:
        n = self.tok.normalizer
        return n.normalize_str(text) if n is not None else text

    def forms(self, line: str) -> list[str]:
        """The words of a line in the form the model sees them (``"Ġmaison"``, ``"▁maison"``)."""
        text = self.normalize(line)
        pre = self.tok.pre_tokenizer
        parts = [w for w, _ in pre.pre_tokenize_str(text)] if pre is not None else [text]
        if self.marker:
            parts = [q for p in parts for q in _MARK_SPLIT.split(p)]
        elif pre is None:
            parts = [q for p in parts for q in p.split()]
        return [p for p in parts if p and p != self.marker]

    def context_forms(self, word: str) -> list[str]:
        """The form(s) ``word`` takes in running text, after a space (one form unless the
        pre-tokeniser splits the word)."""
        return self.forms("a " + word)[1:]

    def unmarked_form(self, form: str) -> str | None:
        """``form`` without its word-start marker (``"Ġmaison"`` → ``"maison"``, ``"▁maison"`` →
        ``"maison"``): how running text writes the word where no space precedes it (at a line start
        on byte-level BPE; after punctuation or an apostrophe, ``"l'homme"``, ``"(maison"``).
        None when the tokenizer has no word-start marker (WordPiece) or ``form`` does not begin
        with it."""
        mark = _SPACE_CHAR if self.byte_level else self.marker
        if mark and form.startswith(mark) and len(form) > len(mark):
            return form[len(mark):]
        return None

    def decode_form(self, form: str) -> str:
        """A form as Unicode text, without its word-start marker.

        A byte-level piece that is not whole UTF-8 characters (part of a character's bytes)
        is returned as stored.
        """
        if self.byte_level and self._byte_decoder is not None:
            try:
                return bytes(self._byte_decoder[c] for c in form).decode("utf-8").lstrip(" ")
            except (KeyError, UnicodeDecodeError):  # an added token, or part of a character
                return form
        if self.marker:
            return form.replace(self.marker, " ").lstrip(" ")
        return form

    def words(self, line: str) -> list[str]:
        """The words of a line as the tokenizer sees them, as Unicode text (no word-start marker)."""
        return [w for w in (self.decode_form(f) for f in self.forms(line)) if w]

    def model_pieces(self, form: str) -> list[int]:
        """Ids the tokenizer's model gives a form (what running text produces for that word)."""
        return [t.id for t in self.tok.model.tokenize(form)]

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


_MARK_SPLIT = re.compile("(?<=[^\u2581])(?=\u2581)")
_SPACE_CHAR = "\u0120"  # the byte-level alphabet's space ("Ġ")


def _has_component(node, type_name: str) -> bool:
    """Whether a serialised normaliser / pre-tokeniser / decoder (or a Sequence of them) has ``type_name``."""
    if not node:
        return False
    if node.get("type") == type_name:
        return True
    return any(_has_component(c, type_name) for key in ("pretokenizers", "normalizers", "decoders")
               for c in node.get(key) or [])


def _has_metaspace_normalizer(node) -> bool:
    """The LLaMA-2 layout: a normaliser that replaces spaces with ``▁`` (and prepends one)."""
    if not node:
        return False
    if node.get("type") == "Replace":
        return node.get("content") == "\u2581" and (node.get("pattern") or {}).get("String") == " "
    if node.get("type") == "Prepend":
        return node.get("prepend") == "\u2581"
    return any(_has_metaspace_normalizer(c) for c in node.get("normalizers") or [])


def _bytes_to_unicode() -> dict[int, str]:
    """The byte-level BPE alphabet: each byte as one printable character (GPT-2's convention)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return out


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
