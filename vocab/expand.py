"""Vocabulary expansion: add tokens to a checkpoint (or a bare matrix) and initialise their rows.

Existing rows are never touched: the new matrix is the old one with rows appended, copied in
the original dtype, so special tokens and every old row stay byte-identical.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..data.errors import XlingError
from ..data.jsonfile import RecordKind, record
from .candidates import plan_tokens
from .cw2v import CW2VParams, train_cw2v, train_cw2v_full
from .init import ConvexMix, InitMethod, PadRows, aligned_mix, mean_mix, mvn_rows, random_rows, subword_mix

if TYPE_CHECKING:
    from ..data.embeddings import Embeddings


@dataclass
class InitOptions:
    """Everything an initialiser may need besides the matrix and the tokens.

    Attributes
    ----------
    src_vectors, tgt_vectors : Embeddings, optional
        ``aligned``: static vectors in one shared space, for old tokens (source language) and for
        new tokens (target language). Keys are matched after the tokenizer's normalisation.
    corpus : list of str, optional
        ``cw2v``: target-language text.
    """

    method: InitMethod = InitMethod.subword_mean
    seed: int = 0
    mvn_scale: float = 1e-9
    src_vectors: Embeddings | None = None
    tgt_vectors: Embeddings | None = None
    k: int = 10
    temperature: float = 0.1
    piece_weight: float = 0.5
    corpus: Sequence[str] | None = None
    cw2v: CW2VParams = field(default_factory=CW2VParams)
    device: str = "cpu"


class Initializer:
    """Produces new rows for any per-token tensor: a convex mix, or fresh samples.

    ``output_mix`` (whole-vocabulary ``cw2v`` on an untied model) mixes the LM head's own rows
    with weights learned for the output side; otherwise every tensor uses ``mix``.
    """

    def __init__(self, method: InitMethod, n_new: int, mix: ConvexMix | None, seed: int, mvn_scale: float,
                 output_mix: ConvexMix | None = None):
        self.method, self.n_new, self.mix, self.seed, self.mvn_scale = method, n_new, mix, seed, mvn_scale
        self.output_mix = output_mix

    def rows(self, old: np.ndarray, stream: int = 0, output: bool = False) -> np.ndarray:
        """New rows for ``old`` (shape (n_old, d) or (n_old,)); ``stream`` separates random draws.

        ``output=True`` for an untied LM head / output embedding (2-D).
        """
        mix = self.output_mix if (output and self.output_mix is not None and old.ndim == 2) else self.mix
        if mix is not None:
            return mix.apply(old)
        rng = np.random.default_rng([self.seed, stream])
        if old.ndim == 1:  # biases of fresh rows: the mean bias
            return np.full(self.n_new, old.astype(np.float64).mean(), dtype=np.float32)
        if self.method is InitMethod.random:
            return random_rows(old, self.n_new, rng)
        return mvn_rows(old, self.n_new, rng, self.mvn_scale)


def _index_by_normalized(words: Sequence[str], normalize: Callable[[str], str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, w in enumerate(words):
        out.setdefault(normalize(w), i)
    return out


def _old_static_vectors(old_words: Sequence[str | None], src, normalize: Callable[[str], str],
                        exclude_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Old tokens that have a source-language vector: their ids and their vectors (``aligned``)."""
    src_idx = _index_by_normalized(src.words, normalize)
    excl = set(exclude_ids)
    pairs = [(i, src_idx[normalize(t)]) for i, t in enumerate(old_words)
             if t is not None and i not in excl and normalize(t) in src_idx]
    old_ids = np.array([p[0] for p in pairs], dtype=np.int64)
    old_vecs = src.vectors[np.array([p[1] for p in pairs], dtype=np.int64)] \
        if pairs else np.zeros((0, src.dim), np.float32)
    return old_ids, old_vecs


def _new_static_vectors(words: Sequence[str], tgt, normalize: Callable[[str], str]) -> tuple[np.ndarray, np.ndarray]:
    """Each new token's target-language vector (zeros where it has none) and which have one (``aligned``)."""
    tgt_idx = _index_by_normalized(tgt.words, normalize)
    keys = [normalize(w) for w in words]
    has = np.array([k in tgt_idx for k in keys], dtype=bool)
    new_vecs = np.zeros((len(words), tgt.dim), dtype=np.float32)
    if has.any():
        new_vecs[has] = tgt.vectors[[tgt_idx[k] for k, h in zip(keys, has, strict=True) if h]]
    return new_vecs, has


def _aligned_init(sub: ConvexMix, words: Sequence[str], old_words: Sequence[str | None], opts: InitOptions,
                  normalize: Callable[[str], str], exclude_ids: Sequence[int], stats: dict) -> ConvexMix:
    """``aligned``: neighbours in a shared static space, mixed with the subword mean (``piece_weight``);
    the subword mean alone where a token has no vector. Adds its figures to ``stats``."""
    if opts.src_vectors is None or opts.tgt_vectors is None:
        raise XlingError("--init aligned needs --src-vectors (old tokens) and --tgt-vectors (new tokens)")
    n_old = sub.weights.shape[1]
    old_ids, old_vecs = _old_static_vectors(old_words, opts.src_vectors, normalize, exclude_ids)
    new_vecs, has = _new_static_vectors(words, opts.tgt_vectors, normalize)
    mix = aligned_mix(new_vecs, has, old_vecs, old_ids, n_old, k=opts.k, temperature=opts.temperature,
                      fallback=sub)
    if not 0.0 <= opts.piece_weight <= 1.0:
        raise XlingError("--piece-weight must be in [0, 1]")
    # the token's own pieces keep a share: still a convex combination (rows sum to 1)
    mix = ConvexMix(mix.weights * (1.0 - opts.piece_weight) + sub.weights * opts.piece_weight, mix.mean_rows)
    stats.update(piece_weight=opts.piece_weight, old_tokens_with_vector=int(len(old_ids)),
                 new_tokens_with_vector=int(has.sum()),
                 new_tokens_subword_fallback=int((~has).sum()), k=opts.k, temperature=opts.temperature)
    return mix


def _cw2v_init(old: np.ndarray, old_out: np.ndarray | None, sub: ConvexMix, opts: InitOptions,
               encode_expanded: Callable[[Sequence[str]], list] | None,
               progress: Callable[[int, int], None] | None, stats: dict) -> tuple[ConvexMix, ConvexMix | None]:
    """``cw2v``: constrained skip-gram on the target corpus from the subword mean; (input mix, output
    mix or None). The whole-vocabulary version unless ``opts.cw2v.candidates``. Adds its figures to ``stats``."""
    if not opts.corpus or encode_expanded is None:
        raise XlingError("--init cw2v needs --corpus (target-language text)")
    seqs = [s for s in encode_expanded(opts.corpus) if len(s) > 1]
    out_mix = None
    if opts.cw2v.candidates:
        mix, cstats = train_cw2v(old, sub, seqs, params=opts.cw2v, seed=opts.seed, device=opts.device,
                                 progress=progress)
    else:
        mix, out_mix, cstats = train_cw2v_full(old, old_out, sub, seqs, params=opts.cw2v, seed=opts.seed,
                                               device=opts.device, progress=progress)
    stats.update(cstats)
    return mix, out_mix


def make_initializer(old: np.ndarray, pieces: Sequence[Sequence[int]], words: Sequence[str],
                     old_words: Sequence[str | None], opts: InitOptions, *,
                     normalize: Callable[[str], str] = str, exclude_ids: Sequence[int] = (),
                     encode_expanded: Callable[[Sequence[str]], list] | None = None,
                     old_out: np.ndarray | None = None,
                     progress: Callable[[int, int], None] | None = None) -> tuple[Initializer, dict]:
    """Build the initialiser for ``opts.method``.

    Parameters
    ----------
    old : ndarray, shape (n_old, d)
        Input embedding rows (float32) of the old tokens.
    pieces : list of lists of int, length n_new
        Old ids that running text produced for each new token before the expansion.
    words : list of str, length n_new
        Each new token as a word (``aligned`` looks it up in ``opts.tgt_vectors``).
    old_words : list of (str or None), length n_old
        Each old token as text (``aligned`` looks it up in ``opts.src_vectors``).
    normalize : how both sides of the ``aligned`` lookup are normalised.
    exclude_ids : old ids never used as pieces (unknown and special tokens).
    encode_expanded : callable(lines) → list of id lists with new token ``j`` as ``n_old + j``
        (``cw2v`` only).
    old_out : ndarray, shape (n_old, d), optional
        Untied LM-head rows: whole-vocabulary ``cw2v`` learns a separate output mix for them.

    Returns
    -------
    (Initializer, stats dict)
    """
    m, n_old = len(pieces), old.shape[0]
    method = InitMethod(opts.method)
    stats: dict = {"method": method.value}
    # 1. fresh rows, or the mean of all rows: no per-token information
    if method in (InitMethod.random, InitMethod.mvn):
        if method is InitMethod.mvn:
            stats["mvn_scale"] = opts.mvn_scale
        return Initializer(method, m, None, opts.seed, opts.mvn_scale), stats
    if method is InitMethod.mean:
        return Initializer(method, m, mean_mix(m, n_old), opts.seed, opts.mvn_scale), stats
    # 2. subword mean: the base of the three informed methods
    sub = subword_mix(pieces, n_old, exclude=exclude_ids)
    stats["no_pieces_mean_fallback"] = int(sub.mean_rows.sum())
    mix, out_mix = sub, None
    # 3. aligned or cw2v start from it
    if method is InitMethod.aligned:
        mix = _aligned_init(sub, words, old_words, opts, normalize, exclude_ids, stats)
    elif method is InitMethod.cw2v:
        mix, out_mix = _cw2v_init(old, old_out, sub, opts, encode_expanded, progress, stats)
    return Initializer(method, m, mix, opts.seed, opts.mvn_scale, output_mix=out_mix), stats


def padded_rows(n: int, multiple: int | None) -> int:
    """``n`` rounded up to a multiple of ``multiple`` (unchanged for None or 1)."""
    if multiple is None or multiple <= 1:
        return n
    return -(-n // multiple) * multiple


def _special_ids(tokenizer) -> list[int]:
    import json

    data = json.loads(tokenizer.to_str())
    out = [a["id"] for a in data.get("added_tokens", []) if a.get("special")]
    unk = (data.get("model") or {}).get("unk_token")
    if isinstance(unk, str) and tokenizer.token_to_id(unk) is not None:
        out.append(tokenizer.token_to_id(unk))
    unk_id = (data.get("model") or {}).get("unk_id")
    if isinstance(unk_id, int):
        out.append(unk_id)
    return sorted(set(out))


def _old_words(tokenizer, n: int) -> list[str | None]:
    """Each old id as plain text (decoded: ``"Ġmaison"`` → ``"maison"``), None for special tokens."""
    specials = set(_special_ids(tokenizer))
    texts = tokenizer.decode_batch([[i] for i in range(n)], skip_special_tokens=False)
    return [None if i in specials else t.strip() for i, t in enumerate(texts)]


def _new_ids(mf, entries, pad_to_multiple_of: int | None) -> tuple[np.ndarray, int, int, int]:
    """Ids of the new tokens, rows with a token, rows after padding, first row that changes."""
    n_old = mf.n_rows
    n_real = mf.tokenizer.get_vocab_size(with_added_tokens=True)  # rows with a token (the rest: padding)
    ids = np.array([e.token_id for e in entries], dtype=np.int64)
    if len(set(ids.tolist())) != len(ids) or (ids < n_real).any():
        raise XlingError("the expanded tokenizer gave new tokens ids that are repeated or taken")
    n_total = padded_rows(max(n_old, int(ids.max()) + 1), pad_to_multiple_of)
    first = min(n_old, int(ids.min()))
    return ids, n_real, n_total, first


def _model_initializer(mf, new_tok, entries, ids: np.ndarray, n_real: int, opts: InitOptions,
                       progress: Callable[[int, int], None] | None) -> tuple[np.ndarray, Initializer, dict]:
    """The initialiser of the new rows, from float32 copies of the old token rows (returned too)."""
    from .segment import HFSegmenter

    old = mf.matrix()[:n_real]
    exclude = _special_ids(mf.tokenizer)
    id_map = {int(t): n_real + j for j, t in enumerate(ids)}
    new_seg = HFSegmenter(new_tok)

    def encode_expanded(lines):
        return [[id_map.get(i, i) for i in seq if i < n_real or i in id_map] for seq in new_seg.encode_lines(lines)]

    method = InitMethod(opts.method)  # InitOptions may hold the method's name as a string
    untied = [k for k in mf.output_keys if not mf.tied]
    old_out = mf.matrix(untied[0])[:n_real] if (untied and method is InitMethod.cw2v) else None
    needs_words = method is InitMethod.aligned
    init, stats = make_initializer(
        old, [e.pieces for e in entries], [e.word for e in entries],
        _old_words(mf.tokenizer, n_real) if needs_words else [None] * n_real, opts,
        normalize=HFSegmenter(mf.tokenizer).normalize, exclude_ids=exclude,
        encode_expanded=encode_expanded, old_out=old_out, progress=progress)
    return old, init, stats


def _tails(mf, old: np.ndarray, init: Initializer, ids: np.ndarray, n_real: int, n_total: int, first: int,
           pad_rows: PadRows) -> dict[str, tuple[int, np.ndarray]]:
    """The rows from ``first`` on of every per-token tensor: kept old rows, new rows, padding."""
    n_old = mf.n_rows
    tails: dict[str, tuple[int, np.ndarray]] = {}
    for s, key in enumerate(mf.per_token_keys):
        if key == mf.input_key:
            base_full = old if n_real == n_old else mf.matrix(key)
        else:
            base_full = mf.matrix(key)
        base = base_full[:n_real]
        if key in mf.output_keys and mf.tied:
            new_rows = tails[mf.input_key][1][ids - first]  # the tie: same rows as the input
        else:
            new_rows = init.rows(base, stream=s, output=key in mf.output_keys)
        pad = base.mean(axis=0, dtype=np.float64) if pad_rows is PadRows.mean else np.zeros(base.shape[1:])
        tail = np.empty((n_total - first,) + base.shape[1:], dtype=np.float32)
        tail[:n_old - first] = base_full[first:n_old]
        tail[n_old - first:] = pad
        tail[ids - first] = new_rows
        tails[key] = (first, tail)
        del base_full, base
    return tails


def _expand_report(mf, entries, skips, stats: dict, ids: np.ndarray, n_total: int, opts: InitOptions,
                   pad_to_multiple_of: int | None, pad_rows: PadRows, extra_report: dict | None) -> dict:
    """The record ``xling-vocab.json`` holds (kind + schema first), without the in-context figures."""
    n_old = mf.n_rows
    n_int = sum(e.intermediate for e in entries)
    body = {"tokens": skips.as_dict(), "init": stats, "old_rows": n_old, "new_rows": n_total,
            "first_new_id": int(ids.min()), "new_tokens": len(entries) - n_int, "intermediate_tokens": n_int,
            "padding_rows": n_total - max(n_old, int(ids.max()) + 1),
            "pad_rows": pad_rows.value if pad_to_multiple_of else None,
            "reused_padding_rows": int((ids < n_old).sum()),
            "input_key": mf.input_key, "output_keys": mf.output_keys, "bias_keys": mf.bias_keys,
            "tied": mf.tied, "seed": opts.seed, "shards": len(mf.shards), **(extra_report or {}),
            "entries": [dataclasses.asdict(e) for e in entries]}
    return record(RecordKind.vocab_expand, body)


def expand_model(src, out, words, opts: InitOptions, *, pad_to_multiple_of: int | None = None,
                 pad_rows: PadRows = PadRows.mean, force: bool = False, extra_report: dict | None = None,
                 text: Sequence[str] | None = None, progress: Callable[[int, int], None] | None = None,
                 inputs: Sequence[str | os.PathLike] = (), forms: str = "start") -> dict:
    """Add ``words`` to the model folder ``src`` as real tokenizer entries and write ``out``.

    Steps: read the folder lazily (headers only); add the words to the tokenizer
    (:func:`~xling.vocab.tokenizer_edit.expand_tokenizer`, which records the old pieces running
    text produced for each); initialise the new input rows and, separately, the rows of an
    untied LM head (and biases) from those pieces; stream the shards that hold them into ``out``,
    hard-linking the others; rewrite the tokenizer files. Old rows stay byte-identical.

    Parameters
    ----------
    words : list of str, or a folder path
        Words to add, or a ``xling vocab train-tokenizer`` result folder made for this model.
    pad_to_multiple_of : int, optional
        Grow the vocabulary to a multiple of this (GPU-friendly shapes); the padding rows are
        ``pad_rows``: the mean of the old rows of each tensor, or zeros. No token maps to them.
    force : replace ``out`` if xling wrote it (it holds ``.xling-output``, or ``xling-vocab.json``
        from an earlier xling).
    text : lines, optional
        Running text: the report's ``in_context`` gives tokens per word before and after and the
        share of the new words' occurrences encoded as their single new token; BPE merge chains
        avoid re-segmenting its other words.
    forms : ``"start"`` or ``"all"`` (also each word's unmarked form): see
        :class:`~xling.vocab.tokenizer_edit.Forms`.
    inputs : paths
        The run's other input files (token list, corpus, text, vectors): ``out`` may never hold
        one, nor the model folder (even with ``force``).

    Returns
    -------
    dict : the report (also written as ``out/xling-vocab.json``).
    """
    from pathlib import Path

    from .checkpoint import check_output, open_model, write_expanded
    from .tokenizer_edit import Forms, expand_tokenizer, in_context_use, load_trained, rewrite_tokenizer_files

    src, out = Path(src), Path(out)
    mf = open_model(src)
    inputs = [*inputs, *([words] if isinstance(words, (str, os.PathLike)) else [])]
    check_output(src, out, force, inputs)  # fail before any work
    # 1. the words into the tokenizer, and the ids and row counts they give
    if isinstance(words, (str, os.PathLike)):
        new_tok, entries, skips = load_trained(words, mf.tokenizer)
    else:
        new_tok, entries, skips = expand_tokenizer(mf.tokenizer, words, forms=Forms(forms), text=text)
    ids, n_real, n_total, first = _new_ids(mf, entries, pad_to_multiple_of)
    # 2. initialiser from float32 copies of the old token rows
    old, init, stats = _model_initializer(mf, new_tok, entries, ids, n_real, opts, progress)
    # 3. the rows from `first` on of every per-token tensor: kept old rows, new rows, padding
    tails = _tails(mf, old, init, ids, n_real, n_total, first, pad_rows)
    del old
    # 4. the report, then the folder, written all or nothing
    report = _expand_report(mf, entries, skips, stats, ids, n_total, opts, pad_to_multiple_of, pad_rows,
                            extra_report)
    if text:
        report["in_context"] = in_context_use(mf.tokenizer, new_tok, entries, list(text))
    files = write_expanded(mf, out, tails, n_total, report, force=force, inputs=inputs,
                           write_tokenizer=lambda tmp: rewrite_tokenizer_files(src, tmp, new_tok, entries))
    report.update(files)
    return report


def expand_matrix(matrix: np.ndarray, vocab: Sequence[str], tokens: Sequence[str], opts: InitOptions,
                  progress: Callable[[int, int], None] | None = None):
    """Bare-matrix expansion (no Hugging Face checkpoint).

    Pieces come from WordPiece-style greedy longest-match over ``vocab``.

    Parameters
    ----------
    matrix : ndarray, shape (n, d)
    vocab : list of str, length n

    Returns
    -------
    (new_matrix shape (n + m, d) in the input dtype, new_vocab list, report dict)
    """
    from .segment import GreedySegmenter

    if matrix.ndim != 2:
        raise XlingError(f"the embedding matrix must be 2-D, got shape {matrix.shape}")
    if matrix.shape[0] != len(vocab):
        raise XlingError(f"the matrix has {matrix.shape[0]} rows but the vocabulary has {len(vocab)} tokens")
    seg = GreedySegmenter(vocab)
    plan = plan_tokens(tokens, seg)
    n = len(vocab)
    new_seg = GreedySegmenter(vocab, lowercase=seg.lowercase)
    new_seg.add(plan.added)
    exclude = [seg.unk] if seg.unk is not None else []
    init, stats = make_initializer(np.asarray(matrix, dtype=np.float32), seg.pieces(plan.added), plan.added,
                                   list(vocab), opts, normalize=seg.normalize, exclude_ids=exclude,
                                   encode_expanded=new_seg.encode_lines, progress=progress)
    rows = init.rows(np.asarray(matrix, dtype=np.float32), stream=0).astype(matrix.dtype)
    out = np.concatenate([matrix, rows], axis=0)
    report = {"tokens": plan.as_dict(), "init": stats, "old_rows": n, "new_rows": int(out.shape[0]),
            "first_new_id": n, "seed": opts.seed}
    return out, list(vocab) + plan.added, report
