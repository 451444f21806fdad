"""Vocabulary expansion: add tokens to a checkpoint (or a bare matrix) and initialise their rows.

Existing rows are never touched: the new matrix is the old one with rows appended, copied in
the original dtype, so special tokens and every old row stay byte-identical.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..data.errors import XlingError
from .candidates import TokenPlan, plan_tokens
from .cw2v import CW2VParams, train_cw2v
from .init import ConvexMix, InitMethod, aligned_mix, mean_mix, mvn_rows, random_rows, subword_mix


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
    src_vectors: object = None
    tgt_vectors: object = None
    k: int = 10
    temperature: float = 0.1
    piece_weight: float = 0.5
    corpus: Sequence[str] | None = None
    cw2v: CW2VParams = field(default_factory=CW2VParams)
    device: str = "cpu"


class Initializer:
    """Produces new rows for any per-token tensor: a convex mix, or fresh samples."""

    def __init__(self, method: InitMethod, n_new: int, mix: ConvexMix | None, seed: int, mvn_scale: float):
        self.method, self.n_new, self.mix, self.seed, self.mvn_scale = method, n_new, mix, seed, mvn_scale

    def rows(self, old: np.ndarray, stream: int = 0) -> np.ndarray:
        """New rows for ``old`` (shape (n_old, d) or (n_old,)); ``stream`` separates random draws."""
        if self.mix is not None:
            return self.mix.apply(old)
        rng = np.random.default_rng([self.seed, stream])
        if old.ndim == 1:  # biases of fresh rows: the mean bias
            return np.full(self.n_new, old.astype(np.float64).mean(), dtype=np.float32)
        if self.method is InitMethod.random:
            return random_rows(old, self.n_new, rng)
        return mvn_rows(old, self.n_new, rng, self.mvn_scale)


def _index_by_normalized(emb, normalize: Callable[[str], str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, w in enumerate(emb.words):
        out.setdefault(normalize(w), i)
    return out


def make_initializer(old: np.ndarray, new_tokens: Sequence[str], old_vocab: Sequence[str | None],
                     old_seg, opts: InitOptions, *, exclude_ids: Sequence[int] = (),
                     encode_expanded: Callable[[Sequence[str]], list] | None = None,
                     progress: Callable[[int, int], None] | None = None) -> tuple[Initializer, dict]:
    """Build the initialiser for ``opts.method``.

    Parameters
    ----------
    old : ndarray, shape (n_old, d)
        Input embedding rows (float32).
    new_tokens : list of str
        Tokens being added, in new-id order.
    old_vocab : list of (str or None), length n_old
        Token string of each old row (None for rows without one).
    old_seg : segmenter of the *old* vocabulary (see :mod:`xling.vocab.segment`).
    exclude_ids : old ids never used as pieces (unknown and special tokens).
    encode_expanded : callable(lines) → list of id lists with new token ``j`` as ``n_old + j``
        (``cw2v`` only).

    Returns
    -------
    (Initializer, stats dict)
    """
    m, n_old = len(new_tokens), old.shape[0]
    method = InitMethod(opts.method)
    stats: dict = {"method": method.value}
    if method in (InitMethod.random, InitMethod.mvn):
        if method is InitMethod.mvn:
            stats["mvn_scale"] = opts.mvn_scale
        return Initializer(method, m, None, opts.seed, opts.mvn_scale), stats
    if method is InitMethod.mean:
        return Initializer(method, m, mean_mix(m, n_old), opts.seed, opts.mvn_scale), stats
    # 1. subword mean: the base of the three informed methods
    sub = subword_mix(old_seg.pieces(new_tokens), n_old, exclude=exclude_ids)
    stats["no_pieces_mean_fallback"] = int(sub.mean_rows.sum())
    mix = sub
    if method is InitMethod.aligned:
        # 2. aligned: neighbours in a shared static space, subword mean where a token has no vector
        if opts.src_vectors is None or opts.tgt_vectors is None:
            raise XlingError("--init aligned needs --src-vectors (old tokens) and --tgt-vectors (new tokens)")
        src_idx = _index_by_normalized(opts.src_vectors, old_seg.normalize)
        tgt_idx = _index_by_normalized(opts.tgt_vectors, old_seg.normalize)
        excl = set(exclude_ids)
        pairs = [(i, src_idx[t]) for i, t in enumerate(old_vocab)
                 if t is not None and i not in excl and t in src_idx]
        old_ids = np.array([p[0] for p in pairs], dtype=np.int64)
        old_vecs = opts.src_vectors.vectors[np.array([p[1] for p in pairs], dtype=np.int64)] \
            if pairs else np.zeros((0, opts.src_vectors.dim), np.float32)
        has = np.array([t in tgt_idx for t in new_tokens], dtype=bool)
        new_vecs = np.zeros((m, opts.tgt_vectors.dim), dtype=np.float32)
        if has.any():
            new_vecs[has] = opts.tgt_vectors.vectors[[tgt_idx[t] for t, h in zip(new_tokens, has) if h]]
        mix = aligned_mix(new_vecs, has, old_vecs, old_ids, n_old, k=opts.k,
                          temperature=opts.temperature, fallback=sub)
        if not 0.0 <= opts.piece_weight <= 1.0:
            raise XlingError("--piece-weight must be in [0, 1]")
        # the token's own pieces keep a share: still a convex combination (rows sum to 1)
        mix = ConvexMix(mix.weights * (1.0 - opts.piece_weight) + sub.weights * opts.piece_weight,
                        mix.mean_rows)
        stats.update(piece_weight=opts.piece_weight, old_tokens_with_vector=int(len(pairs)),
                     new_tokens_with_vector=int(has.sum()),
                     new_tokens_subword_fallback=int((~has).sum()), k=opts.k, temperature=opts.temperature)
    elif method is InitMethod.cw2v:
        # 3. cw2v: constrained skip-gram on the target corpus, starting from the subword mean
        if not opts.corpus or encode_expanded is None:
            raise XlingError("--init cw2v needs --corpus (target-language text)")
        seqs = [s for s in encode_expanded(opts.corpus) if len(s) > 1]
        mix, cstats = train_cw2v(old, sub, seqs, params=opts.cw2v, seed=opts.seed, device=opts.device,
                                 progress=progress)
        stats.update(cstats)
    return Initializer(method, m, mix, opts.seed, opts.mvn_scale), stats


@dataclass
class Expansion:
    """Result of :func:`expand_checkpoint`: new tensors, tokenizer, ids, and a report."""

    tensors: dict
    tokenizer: object
    plan: TokenPlan
    first_id: int
    report: dict


def expand_checkpoint(ck, tokens: Sequence[str], opts: InitOptions,
                      progress: Callable[[int, int], None] | None = None) -> Expansion:
    """Add ``tokens`` to a :class:`~xling.vocab.checkpoint.Checkpoint` and initialise their rows.

    Steps: normalise and filter the tokens; add them to a copy of the tokenizer (single-word,
    normalised added tokens); build the initialiser; append rows to the input matrix and to
    every per-token tensor (tied output embeddings get the same rows, untied ones their own).
    """
    import torch
    from tokenizers import AddedToken, Tokenizer

    from .segment import HFSegmenter

    # 1. which tokens
    old_seg = HFSegmenter(ck.tokenizer)
    plan = plan_tokens(tokens, old_seg)
    m = len(plan.added)
    # 2. tokenizer with the new tokens (a copy: padding/truncation settings are kept)
    tok = Tokenizer.from_str(ck.tokenizer.to_str())
    first = tok.get_vocab_size(with_added_tokens=True)
    n_added = tok.add_tokens([AddedToken(t, single_word=True, normalized=True) for t in plan.added])
    ids = [tok.token_to_id(t) for t in plan.added]
    if n_added != m or ids != list(range(first, first + m)):
        raise XlingError("the tokenizer did not give the new tokens consecutive new ids")
    n_rows = ck.n_rows
    total = max(n_rows, first + m)
    # 3. initialiser, from float32 copies of the old rows
    old = ck.matrix()
    vocab = [None] * n_rows
    for t, i in ck.tokenizer.get_vocab(with_added_tokens=True).items():
        if i < n_rows:
            vocab[i] = t
    exclude = {i for i in (old_seg.token_to_id(s) for s in _special_tokens(ck.tokenizer)) if i is not None}
    # the initialiser sees the rows of real tokens only (ids < first); new token j has id first + j
    init, stats = make_initializer(old[:first], plan.added, vocab[:first], old_seg, opts,
                                   exclude_ids=sorted(exclude), encode_expanded=HFSegmenter(tok).encode_lines,
                                   progress=progress)
    # 4. grow every per-token tensor; old rows copied in their own dtype
    out = dict(ck.tensors)
    in_old = ck.tensors[ck.input_key]
    grown = {}
    for s, key in enumerate([ck.input_key] + ck.output_keys + ck.bias_keys):
        t = ck.tensors[key]
        if key in ck.output_keys and ck.tied and torch.equal(t, in_old):
            new_rows = grown[ck.input_key]  # keep the tie
        else:
            base = t.detach().to(torch.float32).numpy()[:first]
            new_rows = torch.from_numpy(init.rows(base, stream=s)).to(t.dtype)
        grown[key] = new_rows
        bigger = torch.empty((total,) + tuple(t.shape[1:]), dtype=t.dtype)
        bigger[:n_rows] = t
        bigger[first:first + m] = new_rows
        out[key] = bigger
    report = {"tokens": plan.as_dict(), "init": stats, "old_rows": n_rows, "new_rows": total,
              "first_new_id": first, "reused_padding_rows": max(0, n_rows - first) if m else 0,
              "input_key": ck.input_key, "output_keys": ck.output_keys, "bias_keys": ck.bias_keys,
              "tied": ck.tied, "seed": opts.seed}
    return Expansion(out, tok, plan, first, report)


def _special_tokens(tokenizer) -> list[str]:
    import json

    data = json.loads(tokenizer.to_str())
    out = [a["content"] for a in data.get("added_tokens", []) if a.get("special")]
    unk = (data.get("model") or {}).get("unk_token")
    if unk:
        out.append(unk)
    return out


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
    init, stats = make_initializer(np.asarray(matrix, dtype=np.float32), plan.added, list(vocab), seg, opts,
                                   exclude_ids=exclude, encode_expanded=new_seg.encode_lines, progress=progress)
    rows = init.rows(np.asarray(matrix, dtype=np.float32), stream=0).astype(matrix.dtype)
    out = np.concatenate([matrix, rows], axis=0)
    report = {"tokens": plan.as_dict(), "init": stats, "old_rows": n, "new_rows": int(out.shape[0]),
              "first_new_id": n, "seed": opts.seed}
    return out, list(vocab) + plan.added, report
