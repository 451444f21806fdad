"""Add words to a tokenizer as real entries of its model, in the form running text produces.

An *added token* (``tokenizer.add_tokens``) is matched on raw text before pre-tokenisation: on
byte-level BPE it lacks the word-start marker (``" maison"`` stays ``"Ġ" + "maison"``), on the
LLaMA-2 layout it is normalised twice, on Unigram it never wins. Here each word becomes an entry of
the model itself:

* WordPiece: a vocabulary entry (the word as the normaliser writes it; ``##`` pieces unchanged);
* BPE (byte-level, Metaspace, or the LLaMA-2 normaliser layout): the word's in-context form
  (``"Ġ"`` + its byte-level string, or ``"▁"`` + word) plus a chain of merges appended after the
  existing ones, so that the BPE reaches it from the pieces running text produces today and
  existing merges keep their priority;
* Unigram: a piece whose score beats the best segmentation the word has today.

With ``forms=Forms.all`` each word also gets its *unmarked* form (no word-start marker), the form
running text produces where no space precedes the word: at a line start and after punctuation or an
apostrophe on byte-level BPE (``"l'homme"`` → ``"l"``, ``"'"``, ``"homme"``), inside a pre-token
(``"▁l'homme"``) on Metaspace / LLaMA-2 BPE and Unigram. WordPiece has one form (its ``##``
continuation pieces are not word forms). Each form is its own entry, initialised from its own pieces.

BPE merge chains are appended after every existing merge, so a new merge can still apply to a word
that was not added when it splits that word's final pieces (a new ``"Ġp" + "ar"`` merge turns
``"Ġparler"`` into ``"Ġpar" + "ler"``). Given running text, the chains avoid every pair of adjacent
pieces that a word of the text ends with (see :func:`expand_tokenizer`); :func:`in_context_use`
counts the words of a text that are segmented otherwise all the same.

New ids follow the largest existing id, so every old id (special and added tokens included) stays.
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from ..data.errors import XlingError
from .segment import HFSegmenter

SUPPORTED_MODELS = ("BPE", "WordPiece", "Unigram")
# SentencePiece protobuf files: rewritten when their pieces are the tokenizer's ids, else removed.
SENTENCEPIECE_FILES = ("tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "sentencepiece.model")
UNIGRAM_MARGIN = 1.0  # score above the best old segmentation of the word (log-probability units)
_WORD_RUN = re.compile(r"\w+")


class Forms(str, Enum):
    """Which forms of each word become entries.

    ``start``: the word-start form only, the one running text produces after a space (``"Ġmaison"``,
    ``"▁maison"``; WordPiece ``"maison"``). ``all``: also the unmarked form (``"maison"``), produced at
    a line start and after punctuation on byte-level BPE, and inside a pre-token such as ``"▁l'homme"``
    on SentencePiece-style tokenizers; nothing more on WordPiece.
    """

    start = "start"
    all = "all"


@dataclass(frozen=True)
class NewEntry:
    """One new vocabulary entry.

    Attributes
    ----------
    word : str
        The word as the user gave it (or, for an intermediate, the text the entry stands for).
    token : str
        The entry as the model stores it (``"Ġmaison"``, ``"▁maison"``, ``"maison"``).
    token_id : int
        Its id in the expanded tokenizer (its row in the expanded matrices).
    pieces : list of int
        Ids running text produced for this form before the expansion (word-start marker included).
    intermediate : bool
        A BPE merge-chain step (or a character missing from the BPE alphabet), not a requested word.
    form : str
        ``"start"`` (the word-start form, or a learned token) or ``"unmarked"`` (the word where no
        space precedes it, ``--forms all``).
    """

    word: str
    token: str
    token_id: int
    pieces: list
    intermediate: bool = False
    form: str = "start"


@dataclass
class SkipReport:
    """What happened to each requested word."""

    requested: int = 0
    added: list = field(default_factory=list)
    intermediates: int = 0
    single_token: list = field(default_factory=list)
    existing: list = field(default_factory=list)
    duplicates: int = 0
    split: list = field(default_factory=list)
    too_long: list = field(default_factory=list)
    not_firing: list = field(default_factory=list)
    unmarked_added: int = 0
    unmarked_present: list = field(default_factory=list)
    protected_words: int | None = None
    forced_merges: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"requested": self.requested, "added": len(self.added), "intermediates": self.intermediates,
                "skipped_single_token": len(self.single_token), "skipped_existing": len(self.existing),
                "skipped_duplicates": self.duplicates, "skipped_split": len(self.split),
                "skipped_too_long": len(self.too_long), "not_single_token_after": len(self.not_firing),
                "single_token_examples": self.single_token[:5], "existing_examples": self.existing[:5],
                "split_examples": self.split[:5], "not_single_token_examples": self.not_firing[:5],
                "unmarked_forms_added": self.unmarked_added,
                "unmarked_forms_already_one_token": len(self.unmarked_present),
                "protected_text_words": self.protected_words,
                "merges_splitting_text_words": len(self.forced_merges),
                "merges_splitting_text_words_examples": self.forced_merges[:5]}


def _model_data(tokenizer) -> dict:
    data = json.loads(tokenizer.to_str())
    kind = (data.get("model") or {}).get("type")
    if kind not in SUPPORTED_MODELS:
        raise XlingError(f"unsupported tokenizer model type {kind!r}: xling adds real entries to "
                         f"{', '.join(SUPPORTED_MODELS)} tokenizers only")
    model = data["model"]
    if kind == "BPE" and (model.get("continuing_subword_prefix") or model.get("end_of_word_suffix")):
        raise XlingError("unsupported tokenizer: BPE with a continuing-subword prefix or end-of-word suffix")
    return data


def _all_ids(data: dict) -> dict[str, int]:
    """Token → id over the model vocabulary and the added tokens."""
    model = data["model"]
    if model["type"] == "Unigram":
        ids = {p[0]: i for i, p in enumerate(model["vocab"])}
    else:
        ids = dict(model["vocab"])
    for a in data.get("added_tokens") or []:
        ids.setdefault(a["content"], a["id"])
    return ids


def check_words(words: Sequence[str]) -> list[str]:
    """Strip each word; raise :class:`XlingError` for a word with whitespace inside."""
    out = []
    for w in words:
        w = w.strip()
        if any(c.isspace() for c in w):
            raise XlingError(f"token {w!r} has whitespace inside: give one word a line")
        out.append(w)
    return out


class _Entries:
    """New entries in id order, appended after the largest existing id (``ids`` is updated)."""

    def __init__(self, ids: dict[str, int]) -> None:
        self.ids = ids
        self.next_id = max(ids.values(), default=-1) + 1
        self.items: list[NewEntry] = []

    def new_entry(self, word: str, token: str, pieces, intermediate: bool = False, form: str = "start") -> int:
        tid = self.next_id
        self.next_id += 1
        self.ids[token] = tid
        self.items.append(NewEntry(word, token, tid, list(pieces), intermediate, form))
        return tid

    def promote(self, token: str, word: str, form: str = "start") -> None:
        """Turn the intermediate ``token`` into a requested entry for ``word``."""
        for j, e in enumerate(self.items):
            if e.token == token and e.intermediate:
                self.items[j] = NewEntry(word, e.token, e.token_id, e.pieces, False, form)


def expand_tokenizer(tokenizer, words: Sequence[str], *, forms: Forms = Forms.start,
                     text: Sequence[str] | None = None):
    """Add ``words`` as real entries of ``tokenizer``'s model.

    Parameters
    ----------
    tokenizer : tokenizers.Tokenizer
        Not modified.
    words : sequence of str
        Words as users write them (Unicode); each is normalised and pre-tokenised as running text
        after a space would be.
    forms : Forms
        ``start``: one entry per word, its word-start form. ``all``: also the unmarked form of each
        added word (see :class:`Forms`), unless that form is already one token.
    text : lines, optional
        Running text whose other words must keep their segmentation: BPE merge chains are built
        from pairs of pieces that no word of the text (other than the new ones) ends with; a pair
        that cannot be avoided is used and listed in ``skips.forced_merges``.

    Returns
    -------
    (new_tokenizer, entries, skips) : tokenizers.Tokenizer, list of NewEntry, SkipReport
        ``entries`` in id order (requested forms, then BPE intermediates in chain order); skipped
        words are counted in ``skips``: already one token in context, already an entry, repeated,
        split by the pre-tokeniser, too long for WordPiece.

    Raises
    ------
    XlingError
        A word with whitespace inside, an unsupported model type, or no word left to add.
    """
    words = check_words(words)
    data = _model_data(tokenizer)
    model = data["model"]
    kind = model["type"]
    seg = HFSegmenter(tokenizer)
    ids = _all_ids(data)
    added = _Entries(ids)
    if kind == "Unigram" and added.next_id != len(model["vocab"]):
        raise XlingError(f"cannot append Unigram pieces: added tokens hold ids {len(model['vocab'])}.."
                         f"{added.next_id - 1} after the model's {len(model['vocab'])} pieces")
    skips = SkipReport(requested=len(words))
    # 1. which words to add, and the pieces running text gives each today
    plan = _plan_words(words, model, seg, ids, skips)
    if not plan:
        raise XlingError(f"no new token to add: of {len(words)} words, {len(skips.single_token)} are already "
                         f"one token in context, {len(skips.existing)} already entries, {skips.duplicates} "
                         f"repeated or empty, {len(skips.split)} split by the pre-tokeniser")
    if Forms(forms) is Forms.all:
        plan += _plan_unmarked(plan, model, seg, ids, skips)
    # 2. entries of the model (plus merge chains for BPE)
    if kind == "WordPiece":
        for w, form, pieces, fkind in plan:
            model["vocab"][form] = added.new_entry(w, form, pieces, form=fkind)
    elif kind == "Unigram":
        _add_unigram_words(model, plan, added)
    else:
        blocked = None
        if text is not None:
            blocked, skips.protected_words = _text_pairs(seg, text, {seg.decode_form(p[1]) for p in plan})
        _add_bpe(model, plan, ids, seg, added.new_entry, added.promote, blocked, skips)
    # 3. the expanded tokenizer, and which requested words it still does not encode as one token
    new_tok = _finish(data, added.items, skips)
    skips.not_firing = [e.word for e in added.items
                        if not e.intermediate and [t.id for t in new_tok.model.tokenize(e.token)] != [e.token_id]]
    return new_tok, added.items, skips


def _unk_of(model: dict, ids: dict) -> int | None:
    if model["type"] == "Unigram":
        return model.get("unk_id")
    unk = model.get("unk_token")
    return ids.get(unk) if unk else None


def _plan_words(words: list[str], model: dict, seg: HFSegmenter, ids: dict,
                skips: SkipReport) -> list[tuple[str, str, list[int], str]]:
    """(word, form, old pieces, "start") for each word to add; the others are counted in ``skips``."""
    kind = model["type"]
    unk_id = _unk_of(model, ids)
    plan: list[tuple[str, str, list[int], str]] = []
    seen: set[str] = set()
    for w in words:
        if not w:
            skips.duplicates += 1
            continue
        forms = seg.context_forms(w)
        if len(forms) != 1:  # split by the pre-tokeniser (or nothing left after normalisation)
            skips.split.append(w)
            continue
        form = forms[0]
        if form in seen:
            skips.duplicates += 1
            continue
        seen.add(form)
        pieces = seg.model_pieces(form)
        if len(pieces) == 1 and pieces[0] != unk_id:
            skips.single_token.append(w)
        elif form in ids:
            skips.existing.append(w)
        elif kind == "WordPiece" and len(form) > int(model.get("max_input_chars_per_word") or 100):
            skips.too_long.append(w)
        else:
            plan.append((w, form, pieces, "start"))
    return plan


def _plan_unmarked(plan, model: dict, seg: HFSegmenter, ids: dict,
                   skips: SkipReport) -> list[tuple[str, str, list[int], str]]:
    """(word, unmarked form, its old pieces, "unmarked") for each planned word whose unmarked form
    is not one token already."""
    unk_id = _unk_of(model, ids)
    out: list[tuple[str, str, list[int], str]] = []
    seen = {p[1] for p in plan}
    for w, form, _, _ in plan:
        bare = seg.unmarked_form(form)
        if bare is None or bare in seen:
            continue
        seen.add(bare)
        pieces = seg.model_pieces(bare)
        if (len(pieces) == 1 and pieces[0] != unk_id) or bare in ids:
            skips.unmarked_present.append(w)
        else:
            out.append((w, bare, pieces, "unmarked"))
    skips.unmarked_added = len(out)
    return out


def _text_pairs(seg: HFSegmenter, text: Sequence[str], new_words: set[str]) -> tuple[Counter, int]:
    """Adjacent pairs of final BPE pieces in the words of ``text`` (pair → occurrences), leaving out
    the words that are or contain a new word; and the number of distinct words looked at."""
    counts: Counter = Counter()
    for line in text:
        counts.update(seg.forms(line))
    pairs: Counter = Counter()
    n = 0
    for f, c in counts.items():
        if any(r in new_words for r in _WORD_RUN.findall(seg.decode_form(f))):
            continue
        n += 1
        syms = [t.value for t in seg.tok.model.tokenize(f)]
        for a, b in zip(syms, syms[1:], strict=False):
            pairs[(a, b)] += c
    return pairs, n


def _add_unigram_words(model: dict, plan, added: _Entries) -> None:
    """A Unigram piece per word, scored above the word's best segmentation today.

    A word-start piece (``"▁écrire"``) also beats the marker piece followed by the word's new
    unmarked piece (``"▁"`` + ``"écrire"``, scored the same way): otherwise the two tie, and
    tokenizers and SentencePiece break the tie differently.
    """
    scores = [float(p[1]) for p in model["vocab"]]
    unk_score = min(scores) - 10.0  # the Unigram model's penalty for an unknown piece
    unk_id = model.get("unk_id")
    top = max(s for i, s in enumerate(scores) if i != unk_id) if scores else 0.0
    first = len(model["vocab"])
    new_score: dict[str, float] = {}
    for w, form, pieces, fkind in plan:
        best = sum(unk_score if i == unk_id else scores[i] for i in pieces)
        score = min(best + UNIGRAM_MARGIN, top)
        if score <= best:  # cannot beat the word's segmentation without outranking every piece
            score = best + UNIGRAM_MARGIN
        added.new_entry(w, form, pieces, form=fkind)
        model["vocab"].append([form, score])
        new_score[form] = score
    marker = {p[0]: float(p[1]) for p in model["vocab"][:first]}.get("\u2581")
    for row in model["vocab"][first:]:
        bare = row[0][1:] if row[0].startswith("\u2581") else None
        if marker is not None and bare in new_score and row[1] <= marker + new_score[bare]:
            row[1] = marker + new_score[bare] + UNIGRAM_MARGIN


def _finish(data: dict, entries: list[NewEntry], skips: SkipReport):
    """Count the entries in ``skips`` and build the expanded tokenizer from ``data``."""
    from tokenizers import Tokenizer

    skips.added = [e.word for e in entries if not e.intermediate and e.form == "start"]
    skips.intermediates = sum(e.intermediate for e in entries)
    new_tok = Tokenizer.from_str(json.dumps(data, ensure_ascii=False))
    if data["model"]["type"] == "Unigram":
        new_tok = _rescore_unigram(new_tok, data, entries)
    return new_tok


def _rescore_unigram(new_tok, data: dict, entries: list[NewEntry], rounds: int = 5):
    """New pieces were scored against the old pieces only; one may now lose to a segmentation
    that uses another new piece ("▁paquet" + "s" against "▁paquets"). Score each such piece above
    its best segmentation in the expanded model, a few rounds."""
    from tokenizers import Tokenizer

    model = data["model"]
    for _ in range(rounds):
        pieces = {e.token: [t.id for t in new_tok.model.tokenize(e.token)] for e in entries}
        bad = [e for e in entries if pieces[e.token] != [e.token_id]]
        if not bad:
            break
        scores = [float(p[1]) for p in model["vocab"]]
        unk_id = model.get("unk_id")
        unk_score = min(scores) - 10.0
        for e in bad:
            best = sum(unk_score if i == unk_id else scores[i] for i in pieces[e.token])
            model["vocab"][e.token_id][1] = best + UNIGRAM_MARGIN
        new_tok = Tokenizer.from_str(json.dumps(data, ensure_ascii=False))
    return new_tok


def _merge_list(model: dict) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for m in model.get("merges") or []:  # "a b" (older tokenizer.json) or ["a", "b"]
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        out.append((a, b))
    return out


def _set_merges(model: dict, merges: list[tuple[str, str]], as_strings: bool) -> None:
    model["merges"] = [f"{a} {b}" for a, b in merges] if as_strings else [[a, b] for a, b in merges]


def _symbols(seg: HFSegmenter, form: str) -> list[tuple[str, list[int]]]:
    """The BPE's final symbols for ``form``: (string, old ids) pairs.

    Byte-fallback tokens and unknown tokens cover characters missing from the alphabet; they are
    grouped back into those characters (each becomes a new single-character entry).
    """
    raw = form.encode("utf-8")
    out: list[tuple[str, list[int]]] = []
    pending: list = []  # byte-fallback tokens of a character not complete yet
    for t in seg.tok.model.tokenize(form):
        pending.append(t)
        s, e = pending[0].offsets[0], t.offsets[1]
        try:
            text = raw[s:e].decode("utf-8")
        except UnicodeDecodeError:
            continue
        out.append((text, [p.id for p in pending]))
        pending = []
    if pending:
        raise XlingError(f"cannot map the pieces of {form!r} back to its characters")
    return out


def _bpe(state: list, ranks: dict) -> list:
    """Run BPE merges on a list of (text, start, end) symbols: repeatedly merge the adjacent pair
    with the lowest rank (leftmost first), as the ``tokenizers`` BPE model does."""
    state = list(state)
    while len(state) > 1:
        best = None
        for i in range(len(state) - 1):
            r = ranks.get((state[i][0], state[i + 1][0]))
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            break
        i = best[1]
        a, b = state[i], state[i + 1]
        state[i:i + 2] = [(a[0] + b[0], a[1], b[2])]
    return state


def _add_bpe(model: dict, plan, ids: dict, seg: HFSegmenter, new_entry, promote,
             blocked: Counter | None = None, skips: SkipReport | None = None) -> None:
    """Vocabulary entries plus merge chains, appended after every existing merge.

    For each word, start from the symbols the current BPE ends with and append one merge at a
    time, re-running the merges after each, until the word is one symbol. Merges of later words
    rank after those of earlier words, so each word's own chain still runs to its end.

    Which two adjacent symbols a merge joins: the first two (so intermediates are prefixes of the
    word, word-start marker included), unless that pair is in ``blocked`` (pairs of final pieces
    that words of the text end with: a merge appended last changes exactly the words whose final
    pieces hold its pair). Then the leftmost pair not blocked; a pair holding a new symbol never is.
    When every pair is blocked, the least frequent one is used and recorded in ``skips``.
    """
    as_strings = bool(model.get("merges")) and isinstance(model["merges"][0], str)
    merges = _merge_list(model)
    ranks = {m: r for r, m in enumerate(merges)}
    vocab = model["vocab"]
    for w, form, pieces, fkind in plan:
        syms: list[tuple[str, list[int]]] = []
        for text, sym_ids in _symbols(seg, form):
            if text in vocab:
                syms.append((text, sym_ids))
                continue
            # a character missing from the alphabet (byte fallback / unk): one entry per character
            for ch in text:
                if ch not in vocab:
                    vocab[ch] = new_entry(ch, ch, sym_ids, intermediate=ch != form, form=fkind)
                syms.append((ch, sym_ids))
        state = _bpe([(t, i, i + 1) for i, (t, _) in enumerate(syms)], ranks)
        while len(state) > 1:
            # left to right where the text allows: intermediates are then prefixes of the word with its
            # word-start marker, so the new merges can only fire in words that begin the same way
            i = _next_pair(state, blocked, w, skips)
            left, right = state[i], state[i + 1]
            cat = left[0] + right[0]
            if cat not in vocab:
                if cat == form:
                    vocab[cat] = new_entry(w, cat, pieces, form=fkind)
                else:
                    sub = [x for _, sids in syms[left[1]:right[2]] for x in sids]
                    vocab[cat] = new_entry(seg.decode_form(cat) or cat, cat, sub, intermediate=True, form=fkind)
            merges.append((left[0], right[0]))
            ranks[(left[0], right[0])] = len(merges) - 1
            state = _bpe(state, ranks)
        if state[0][0] != form:
            raise XlingError(f"internal error: the merge chain of {w!r} ends at {state[0][0]!r}")
        promote(form, w, fkind)  # the word may already be an intermediate of an earlier, longer word
    _set_merges(model, merges, as_strings)


def _next_pair(state: list, blocked: Counter | None, word: str, skips: SkipReport | None) -> int:
    """Index of the pair of adjacent symbols the next merge of a chain joins (see :func:`_add_bpe`)."""
    if not blocked:
        return 0
    pairs = [(state[i][0], state[i + 1][0]) for i in range(len(state) - 1)]
    for i, p in enumerate(pairs):
        if p not in blocked:
            return i
    i = min(range(len(pairs)), key=lambda j: (blocked[pairs[j]], j))
    if skips is not None:
        skips.forced_merges.append({"word": word, "merge": list(pairs[i]), "text_words": blocked[pairs[i]]})
    return i


# --------------------------------------------------------------------------- files of a model folder

def rewrite_tokenizer_files(src_dir, dst_dir, new_tokenizer, entries: Sequence[NewEntry]) -> list[str]:
    """Write the expanded tokenizer's files into ``dst_dir``, consistent with ``new_tokenizer``.

    ``tokenizer.json`` always; ``vocab.json`` + ``merges.txt`` (BPE) and ``vocab.txt`` (WordPiece)
    when ``src_dir`` has them; ``tokenizer_config.json`` with its ``added_tokens_decoder`` ids
    checked; a SentencePiece ``*.model`` file gets the new pieces when its pieces are the
    tokenizer's ids, and is removed with a warning otherwise (it would hold the old vocabulary).

    Returns
    -------
    list of str : warnings (one line each).
    """
    src, dst = Path(src_dir), Path(dst_dir)
    dst.mkdir(parents=True, exist_ok=True)
    data = json.loads(new_tokenizer.to_str())
    model = data["model"]
    warnings: list[str] = []
    _write_text(dst / "tokenizer.json", json.dumps(data, ensure_ascii=False, indent=2))
    if model["type"] == "BPE" and ((src / "vocab.json").is_file() or (src / "merges.txt").is_file()):
        _write_text(dst / "vocab.json", json.dumps(model["vocab"], ensure_ascii=False))
        header = "#version: 0.2\n"
        if (src / "merges.txt").is_file():
            with open(src / "merges.txt", encoding="utf-8") as f:
                first = f.readline()
            header = first if first.startswith("#") else ""
        _write_text(dst / "merges.txt", header + "".join(f"{a} {b}\n" for a, b in _merge_list(model)))
    elif model["type"] != "BPE":
        for name in ("vocab.json", "merges.txt"):
            if (src / name).is_file():
                _remove(dst / name)
                warnings.append(f"removed {name}: the tokenizer is not BPE, the file cannot be kept in step")
    if model["type"] == "WordPiece" and (src / "vocab.txt").is_file():
        by_id = {i: t for t, i in model["vocab"].items()}
        n = max(by_id) + 1
        missing = [i for i in range(n) if i not in by_id]
        if missing:
            warnings.append(f"vocab.txt: ids {missing[:5]} have no token; written as [unused{missing[0]}]...")
        _write_text(dst / "vocab.txt", "".join(by_id.get(i, f"[unused{i}]") + "\n" for i in range(n)))
    if (src / "tokenizer_config.json").is_file():
        cfg = json.loads((src / "tokenizer_config.json").read_text(encoding="utf-8"))
        for sid, spec in (cfg.get("added_tokens_decoder") or {}).items():
            content = spec.get("content") if isinstance(spec, dict) else None
            if content is not None and new_tokenizer.token_to_id(content) != int(sid):
                raise XlingError(f"tokenizer_config.json: added token {content!r} has id {sid} but the expanded "
                                 f"tokenizer gives it {new_tokenizer.token_to_id(content)}")
        _write_text(dst / "tokenizer_config.json", json.dumps(cfg, ensure_ascii=False, indent=2))
    for name in SENTENCEPIECE_FILES:
        if not (src / name).is_file():
            if (dst / name).exists():
                _remove(dst / name)
            continue
        why = None
        try:
            raw = sentencepiece_with_entries((src / name).read_bytes(), data, entries)
        except XlingError as e:
            raw, why = None, str(e)
        if raw is None:
            _remove(dst / name)
            warnings.append(f"removed {name}: {why}; tokenizer.json holds the {len(entries)} new entries")
        else:
            tmp = dst / (name + ".tmp")
            tmp.write_bytes(raw)
            os.replace(tmp, dst / name)
    return warnings


# --------------------------------------------------------------------------- SentencePiece model files
# A SentencePiece ``*.model`` is a protobuf ModelProto: field 1 = repeated SentencePiece
# {1: piece (string), 2: score (float), 3: type (enum; 1 normal, 2 unknown, 3 control,
# 4 user-defined, 5 unused, 6 byte)}, then the trainer / normaliser specs (kept byte for byte).
# The wire format is read and written here directly (no protobuf dependency).

def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        if i >= len(buf):
            raise XlingError("truncated varint")
        b = buf[i]
        i += 1
        out |= (b & 0x7F) << shift
        if b < 0x80:
            return out, i
        shift += 7


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _proto_fields(buf: bytes) -> list[tuple[int, int, int, int, int]]:
    """Top-level fields of a protobuf message: (number, wire type, start, payload start, end)."""
    out, i = [], 0
    while i < len(buf):
        start = i
        key, i = _read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _read_varint(buf, i)
            pay = start
        elif wire == 1:
            pay, i = i, i + 8
        elif wire == 2:
            n, pay = _read_varint(buf, i)
            i = pay + n
        elif wire == 5:
            pay, i = i, i + 4
        else:
            raise XlingError(f"unsupported protobuf wire type {wire}")
        if i > len(buf) or num == 0:
            raise XlingError("truncated or invalid protobuf message")
        out.append((num, wire, start, pay, i))
    return out


def read_sentencepiece(raw: bytes) -> tuple[list[tuple[str, float, int]], int]:
    """The pieces of a SentencePiece model (piece, score, type) and its model type
    (1 Unigram, 2 BPE, 3 word, 4 char; Unigram when the trainer spec does not say)."""
    import struct

    pieces, model_type = [], 1
    for num, wire, _, pay, end in _proto_fields(raw):
        if num == 1 and wire == 2:
            piece, score, kind = "", 0.0, 1
            sub = raw[pay:end]
            for n2, w2, s2, p2, e2 in _proto_fields(sub):
                if n2 == 1 and w2 == 2:
                    piece = sub[p2:e2].decode("utf-8")
                elif n2 == 2 and w2 == 5:
                    score = struct.unpack("<f", sub[p2:e2])[0]
                elif n2 == 3 and w2 == 0:
                    kind = _read_varint(sub, s2 + 1)[0]
            pieces.append((piece, score, kind))
        elif num == 2 and wire == 2:  # TrainerSpec: field 3 = model_type
            sub = raw[pay:end]
            for n2, w2, s2, _, _ in _proto_fields(sub):
                if n2 == 3 and w2 == 0:
                    model_type = _read_varint(sub, s2 + 1)[0]
    return pieces, model_type


def _piece_record(piece: str, score: float, kind: int = 1) -> bytes:
    import struct

    text = piece.encode("utf-8")
    body = b"\x0a" + _varint(len(text)) + text + b"\x15" + struct.pack("<f", score)
    if kind != 1:
        body += b"\x18" + _varint(kind)
    return b"\x0a" + _varint(len(body)) + body


def sentencepiece_with_entries(raw: bytes, data: dict, entries: Sequence[NewEntry]) -> bytes | None:
    """A SentencePiece model file with ``entries`` appended as normal pieces, or raises
    :class:`XlingError` saying why it cannot be kept in step.

    Only when the file's pieces are the tokenizer's ids (piece ``i`` = token ``i``, as in LLaMA-2,
    Mistral and T5; not XLM-R, whose ids are shifted) and the new ids follow them. New BPE pieces
    score below every old piece, in id order (SentencePiece BPE merges the best-scoring pair
    first, so they merge last, in the order the merge chains were built); new Unigram pieces keep
    the score they have in ``tokenizer.json``.
    """
    try:
        pieces, model_type = read_sentencepiece(raw)
    except (XlingError, UnicodeDecodeError, ValueError) as err:
        raise XlingError(f"not a SentencePiece model xling can read ({err})") from None
    model = data["model"]
    kind = model["type"]
    if (kind, model_type) not in (("Unigram", 1), ("BPE", 2)):
        raise XlingError(f"its model type ({model_type}) is not the tokenizer's ({kind})")
    if kind == "Unigram":
        tokens = [p[0] for p in model["vocab"]]
    else:
        by_id = {i: t for t, i in model["vocab"].items()}
        tokens = [by_id.get(i) for i in range(len(pieces))]
    if len(tokens) < len(pieces) or any(tokens[i] != p[0] for i, p in enumerate(pieces)):
        raise XlingError("its pieces are not the tokenizer's ids (shifted or different vocabulary)")
    new = sorted(entries, key=lambda e: e.token_id)
    if [e.token_id for e in new] != list(range(len(pieces), len(pieces) + len(new))):
        raise XlingError("the new ids do not follow its pieces")
    low = min((p[1] for p in pieces if p[2] == 1), default=0.0)
    records = []
    for j, e in enumerate(new):
        score = float(model["vocab"][e.token_id][1]) if kind == "Unigram" else low - 1.0 - j
        records.append(_piece_record(e.token, score))
    fields = _proto_fields(raw)
    last = max((f[4] for f in fields if f[0] == 1), default=0)
    return raw[:last] + b"".join(records) + raw[last:]


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------- measuring

def in_context_use(old_tok, new_tok, entries: Sequence[NewEntry], lines: Sequence[str]) -> dict:
    """How the new entries are used on running text, and which other words they re-segment.

    Words are taken as the old tokenizer pre-tokenises them; every occurrence of a new word is in
    one of three forms: ``start`` (after a space: ``"Ġmaison"``), ``unmarked`` (a pre-token that is
    the word without its marker: a line start or after punctuation on byte-level BPE) or ``inner``
    (inside a longer pre-token, as a run of word characters: ``"▁l'homme"`` on Metaspace).

    Returns
    -------
    dict
        ``lines``, ``words``; ``tokens_per_word_before`` / ``_after`` (whole text);
        ``new_word_occurrences`` and ``single_token_share``: start-form occurrences and the share
        of them encoded as their single new token (tokens per such occurrence before/after in
        ``tokens_per_new_word_before`` / ``_after``); ``all_occurrences`` and
        ``single_token_share_all``: the same over every occurrence, any form; ``by_form``:
        occurrences, single-token ones and share per form; ``other_form_occurrences``: occurrences
        in another form than start; ``resegmented_words`` (occurrences), ``resegmented_distinct``,
        ``resegmented_share`` (of the occurrences of words that are not new) and
        ``resegmented_examples``: words of the text that are not (and do not contain) a new word
        whose tokens changed; ``lines_changed_without_new_ids``.
    """
    old_seg, new_seg = HFSegmenter(old_tok), HFSegmenter(new_tok)
    index = _NewWordIndex.of(old_seg, entries)
    lines = list(lines)
    enc_old, enc_new = old_seg.encode_lines(lines), new_seg.encode_lines(lines)
    counts, changed_plain = _pretoken_counts(old_seg, lines, enc_old, enc_new, {e.token_id for e in entries})
    tally = _UseTally()
    for f, n in counts.items():
        tally.add(old_seg, new_seg, index, f, n)
    record: dict = {"lines": len(lines), "words": sum(counts.values())}
    record.update(_token_rates(record["words"], enc_old, enc_new))
    record.update(tally.record())
    record["resegmented_examples"] = _resegmented_examples(old_seg, new_seg, tally.reseg_forms)
    record["lines_changed_without_new_ids"] = changed_plain
    return record


@dataclass
class _NewWordIndex:
    """The requested (not intermediate) entries of :func:`in_context_use`, looked up by word text."""

    by_token: dict  # start-form or unmarked token -> its entry
    start_of: dict[str, str]  # word text -> its start-form token
    own_ids: dict[str, list[int]]  # word text -> ids of its entries (any form)
    words: set[str]  # the word texts of own_ids

    @classmethod
    def of(cls, old_seg, entries: Sequence[NewEntry]) -> _NewWordIndex:
        requested = [e for e in entries if not e.intermediate]
        start_of: dict[str, str] = {}
        own_ids: dict[str, list[int]] = {}
        for e in requested:
            key = old_seg.decode_form(e.token)
            own_ids.setdefault(key, []).append(e.token_id)
            if e.form != "unmarked":
                start_of.setdefault(key, e.token)
        return cls({e.token: e for e in requested}, start_of, own_ids, set(own_ids))


def _pretoken_counts(old_seg, lines: list[str], enc_old, enc_new, new_ids: set[int]) -> tuple[Counter, int]:
    """Occurrences of each old pre-token over the text, and the lines whose ids changed without a new id."""
    counts: Counter = Counter()
    changed_plain = 0
    for line, ids_old, ids_new in zip(lines, enc_old, enc_new, strict=True):
        counts.update(old_seg.forms(line))
        if ids_old != ids_new and not new_ids.intersection(ids_new):
            changed_plain += 1
    return counts, changed_plain


@dataclass
class _UseTally:
    """Occurrence counts of :func:`in_context_use`, added one distinct pre-token at a time."""

    by_form: dict[str, list[int]] = field(  # form -> [occurrences, single token]
        default_factory=lambda: {k: [0, 0] for k in ("start", "unmarked", "inner")})
    pieces_before: int = 0
    pieces_after: int = 0
    old_words: int = 0
    reseg: int = 0
    reseg_forms: Counter = field(default_factory=Counter)

    def add(self, old_seg, new_seg, index: _NewWordIndex, f: str, n: int) -> None:
        """Count pre-token ``f``, seen ``n`` times: a new word, one containing new words, or another word."""
        text = old_seg.decode_form(f)
        new_words = index.words
        if text in new_words:
            self._add_new_word(old_seg, new_seg, index, f, n, text)
            return
        runs = Counter(r for r in _WORD_RUN.findall(text) if r in new_words)
        if runs:
            self._add_inner(new_seg, index, f, n, runs)
            return
        self._add_other(old_seg, new_seg, f, n)

    def _add_new_word(self, old_seg, new_seg, index: _NewWordIndex, f: str, n: int, text: str) -> None:
        kind = "start" if index.start_of.get(text) == f else "unmarked"
        new_p = new_seg.model_pieces(f)
        entry = index.by_token.get(f)
        self.by_form[kind][0] += n
        self.by_form[kind][1] += n * (entry is not None and new_p == [entry.token_id])
        if kind == "start":
            self.pieces_before += n * len(old_seg.model_pieces(f))
            self.pieces_after += n * len(new_p)

    def _add_inner(self, new_seg, index: _NewWordIndex, f: str, n: int, runs: Counter) -> None:
        have = Counter(new_seg.model_pieces(f))
        for r, k in runs.items():
            self.by_form["inner"][0] += n * k
            self.by_form["inner"][1] += n * min(k, sum(have[i] for i in index.own_ids[r]))

    def _add_other(self, old_seg, new_seg, f: str, n: int) -> None:
        self.old_words += n
        if old_seg.model_pieces(f) != new_seg.model_pieces(f):
            self.reseg += n
            self.reseg_forms[f] = n

    def record(self) -> dict:
        """The occurrence, form and re-segmentation keys of the :func:`in_context_use` record."""
        occ, single = self.by_form["start"]
        all_occ = sum(v[0] for v in self.by_form.values())
        all_single = sum(v[1] for v in self.by_form.values())
        return {"new_word_occurrences": occ,
                "single_token_share": single / occ if occ else None,
                "tokens_per_new_word_before": self.pieces_before / occ if occ else None,
                "tokens_per_new_word_after": self.pieces_after / occ if occ else None,
                "all_occurrences": all_occ,
                "single_token_share_all": all_single / all_occ if all_occ else None,
                "by_form": {k: {"occurrences": v[0], "single_token": v[1],
                                "share": v[1] / v[0] if v[0] else None}
                            for k, v in self.by_form.items()},
                "other_form_occurrences": all_occ - occ,
                "resegmented_words": self.reseg, "resegmented_distinct": len(self.reseg_forms),
                "resegmented_share": self.reseg / self.old_words if self.old_words else None}


def _token_rates(words: int, enc_old, enc_new) -> dict:
    """Tokens per pre-token word over the whole text, before and after (None without words)."""
    return {"tokens_per_word_before": sum(map(len, enc_old)) / words if words else None,
            "tokens_per_word_after": sum(map(len, enc_new)) / words if words else None}


def _resegmented_examples(old_seg, new_seg, reseg_forms: Counter) -> list[dict]:
    """The five most frequent re-segmented words with their tokens before and after."""
    return [{"word": old_seg.decode_form(f), "count": n,
             "before": [t.value for t in old_seg.tok.model.tokenize(f)],
             "after": [t.value for t in new_seg.tok.model.tokenize(f)]}
            for f, n in reseg_forms.most_common(5)]


# --------------------------------------------------------------------------- learning new subword tokens

TRAINED_FILE = "xling-tokens.json"


def train_new_tokens(tokenizer, lines: Sequence[str], n: int, *, train_vocab_size: int | None = None):
    """Learn ``n`` new subword tokens on ``lines`` with the tokenizer's own algorithm and merge
    them into a copy of ``tokenizer`` (the workflow of the LLaMA-2 language expansions).

    A tokenizer of the same family (same normaliser and pre-tokeniser; the byte-level alphabet
    for byte-level BPE) is trained on the text, then its entries missing from the model are taken
    in its own order: merge order for BPE and WordPiece, score for Unigram. Each learned BPE token
    gets a merge chain from the pieces the model gives its string today, appended after every
    existing merge (so text in which none of them applies is segmented as before; the chain may
    need intermediate entries, flagged as such); Unigram pieces get a score that beats their
    current segmentation; WordPiece entries are added as they are (``##`` pieces included).

    Parameters
    ----------
    tokenizer : tokenizers.Tokenizer
    lines : sequence of str
        Text in the new language or domain.
    n : int
        Number of learned tokens wanted (fewer when the text yields fewer), BPE intermediates
        not counted.
    train_vocab_size : int, optional
        Size of the tokenizer trained on the text (default: enough for ``n`` new entries).

    Returns
    -------
    (new_tokenizer, entries, skips) : as :func:`expand_tokenizer`.
    """
    from tokenizers import pre_tokenizers

    if n < 1:
        raise XlingError("the number of new tokens must be at least 1")
    data = _model_data(tokenizer)
    model = data["model"]
    kind = model["type"]
    seg = HFSegmenter(tokenizer)
    ids = _all_ids(data)
    added = _Entries(ids)
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise XlingError("no text to learn tokens from")
    alphabet = pre_tokenizers.ByteLevel.alphabet() if seg.byte_level else []
    size = train_vocab_size or (len(alphabet) + 4 * n + 500)
    unk = model.get("unk_token") if kind != "Unigram" else (
        model["vocab"][model["unk_id"]][0] if model.get("unk_id") is not None else None)
    # 1. a fresh tokenizer of the same family, the same text processing
    learned = _learn(tokenizer, seg, model, unk, lines, size, alphabet)
    # 2. its entries missing from the model, in its own order
    skips = SkipReport()
    if kind == "BPE":
        _take_bpe(model, learned, n, seg, added, skips)
    elif kind == "Unigram":
        _take_unigram(model, learned, n, unk, seg, added, skips)
    else:
        _take_wordpiece(model, learned, n, unk, seg, added, skips)
    if not added.items:
        raise XlingError(f"the text taught no token the model lacks ({len(skips.existing)} learned tokens "
                         f"are already entries)")
    # 3. the merged tokenizer
    return _finish(data, added.items, skips), added.items, skips


def _learn(tokenizer, seg: HFSegmenter, model: dict, unk: str | None, lines: list[str], size: int,
           alphabet: list) -> dict:
    """Train a tokenizer of ``tokenizer``'s family (same text processing) on ``lines``; its model."""
    from tokenizers import Tokenizer, trainers

    kind = model["type"]
    fresh = json.loads(tokenizer.to_str())
    fresh["added_tokens"] = []
    fresh["post_processor"] = None
    fresh["padding"] = fresh["truncation"] = None
    if seg.marker and fresh.get("pre_tokenizer") is None:  # LLaMA-2 layout: SentencePiece never crosses a ▁
        fresh["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never",
                                  "split": True}
    trainer: trainers.Trainer
    if kind == "BPE":
        fresh["model"] = {"type": "BPE", "vocab": {}, "merges": [], "unk_token": unk,
                          "byte_fallback": bool(model.get("byte_fallback")), "fuse_unk": bool(model.get("fuse_unk"))}
        trainer = trainers.BpeTrainer(vocab_size=size, initial_alphabet=alphabet, show_progress=False)
    elif kind == "Unigram":
        fresh["model"] = {"type": "Unigram", "vocab": [[unk or "<unk>", 0.0]], "unk_id": 0}
        trainer = trainers.UnigramTrainer(vocab_size=size, show_progress=False, unk_token=unk or "<unk>",
                                          special_tokens=[unk or "<unk>"])
    else:
        fresh["model"] = {"type": "WordPiece", "vocab": {unk or "[UNK]": 0}, "unk_token": unk or "[UNK]",
                          "continuing_subword_prefix": model.get("continuing_subword_prefix", "##"),
                          "max_input_chars_per_word": model.get("max_input_chars_per_word", 100)}
        trainer = trainers.WordPieceTrainer(vocab_size=size, show_progress=False, special_tokens=[unk or "[UNK]"],
                                            continuing_subword_prefix=model.get("continuing_subword_prefix", "##"))
    learner = Tokenizer.from_str(json.dumps(fresh, ensure_ascii=False))
    learner.train_from_iterator(lines, trainer)
    return json.loads(learner.to_str())["model"]


def _take_bpe(model: dict, learned: dict, n: int, seg: HFSegmenter, added: _Entries, skips: SkipReport) -> None:
    """Each learned token gets a merge chain from the pieces the model gives its string today
    (as a requested word does), so that it fires wherever the model reaches those pieces."""
    wanted: list[str] = []
    for a, b in _merge_list(learned):
        if len(wanted) >= n:
            break
        r = a + b
        skips.requested += 1
        if r in added.ids:
            skips.existing.append(r)
        elif r not in wanted:
            wanted.append(r)
    plan = [(_word_of(seg, t), t, seg.model_pieces(t), "start") for t in wanted]
    _add_bpe(model, plan, added.ids, seg, added.new_entry, added.promote)


def _take_unigram(model: dict, learned: dict, n: int, unk: str | None, seg: HFSegmenter, added: _Entries,
                  skips: SkipReport) -> None:
    """Learned pieces by score, each scored above its segmentation in the model today."""
    scores = [float(p[1]) for p in model["vocab"]]
    if added.next_id != len(model["vocab"]):
        raise XlingError("cannot append Unigram pieces: added tokens hold ids after the model's pieces")
    unk_id = model.get("unk_id")
    unk_score = min(scores) - 10.0
    for piece in _not_yet_added((p for p, _ in sorted(learned["vocab"], key=lambda p: -p[1])), n, unk, added, skips):
        pieces = seg.model_pieces(piece)
        best = sum(unk_score if i == unk_id else scores[i] for i in pieces)
        added.new_entry(_word_of(seg, piece), piece, pieces)
        model["vocab"].append([piece, best + UNIGRAM_MARGIN])


def _take_wordpiece(model: dict, learned: dict, n: int, unk: str | None, seg: HFSegmenter, added: _Entries,
                    skips: SkipReport) -> None:
    """Learned entries in the learner's id order, added as they are (``##`` pieces included)."""
    for token in _not_yet_added(sorted(learned["vocab"], key=learned["vocab"].get), n, unk, added, skips):
        model["vocab"][token] = added.new_entry(_word_of(seg, token), token, seg.model_pieces(token))


def _not_yet_added(tokens: Iterable[str], n: int, unk: str | None, added: _Entries, skips: SkipReport
                   ) -> Iterator[str]:
    """The learned tokens (in the order given, the unknown token left out) that the model does not
    have yet, until ``n`` entries were added; each is counted as requested, those the model has
    as existing."""
    for token in tokens:
        if len(added.items) >= n:
            return
        if token == unk:
            continue
        skips.requested += 1
        if token in added.ids:
            skips.existing.append(token)
        else:
            yield token


def _word_of(seg: HFSegmenter, token: str) -> str:
    return seg.decode_form(token) or token


def save_trained(out_dir, src_dir, new_tokenizer, entries: Sequence[NewEntry], skips: SkipReport,
                 report: dict) -> list[str]:
    """Write a ``train-tokenizer`` result: the merged tokenizer's files and ``xling-tokens.json``
    (the new entries, for ``xling vocab expand --tokens OUT/``)."""
    warnings = rewrite_tokenizer_files(src_dir, out_dir, new_tokenizer, entries)
    record = dict(report, tokens=skips.as_dict(), tokenizer_warnings=warnings,
                  entries=[{"word": e.word, "token": e.token, "token_id": e.token_id, "pieces": list(e.pieces),
                            "intermediate": e.intermediate} for e in entries])
    _write_text(Path(out_dir) / TRAINED_FILE, json.dumps(record, ensure_ascii=False, indent=1))
    return warnings


def load_trained(path, tokenizer):
    """Read a ``train-tokenizer`` folder made for ``tokenizer``.

    Returns
    -------
    (new_tokenizer, entries, skips) : as :func:`expand_tokenizer`.

    Raises :class:`XlingError` when the folder is not a train-tokenizer result or was made for
    another tokenizer (an old token with another id).
    """
    from tokenizers import Tokenizer

    from ..data.errors import InputError

    path = Path(path)
    rec_file = path / TRAINED_FILE
    if not rec_file.is_file() or not (path / "tokenizer.json").is_file():
        raise InputError(f"not a train-tokenizer folder (no {TRAINED_FILE} or tokenizer.json)", path)
    try:
        rec = json.loads(rec_file.read_text(encoding="utf-8"))
        new_tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        entries = [NewEntry(e["word"], e["token"], int(e["token_id"]), [int(i) for i in e["pieces"]],
                            bool(e.get("intermediate"))) for e in rec["entries"]]
    except (ValueError, KeyError, TypeError, Exception) as e:  # tokenizers raises plain Exceptions
        raise InputError(f"cannot read the train-tokenizer result: {e}", rec_file) from None
    old = tokenizer.get_vocab(with_added_tokens=True)
    new = new_tok.get_vocab(with_added_tokens=True)
    moved = [t for t, i in old.items() if new.get(t) != i]
    if moved:
        raise InputError(f"made for another tokenizer: {len(moved)} tokens of the model have other ids there "
                         f"(e.g. {moved[0]!r})", path)
    if any(new.get(e.token) != e.token_id for e in entries):
        raise InputError(f"{TRAINED_FILE} does not match tokenizer.json", path)
    t = rec.get("tokens") or {}
    skips = SkipReport(requested=int(t.get("requested", len(entries))),
                       added=[e.word for e in entries if not e.intermediate],
                       intermediates=sum(e.intermediate for e in entries))
    return new_tok, entries, skips
