"""CW2V: constrained word2vec initialisation of new token embeddings (Mundra et al. 2024).

Skip-gram with negative sampling is trained on a target-language corpus tokenised with the
*expanded* tokenizer. The input vectors of old tokens are frozen to the model's embedding
rows; the input vector of each new token is constrained to a convex combination of old rows,
``softmax(s_t) @ E[C_t]``, and only the scores ``s_t`` (and the context vectors of all tokens)
are learned. The result is a :class:`~xling.vocab.init.ConvexMix`: every new row lies in the
convex hull of the old rows.

Two versions:

* :func:`train_cw2v_full` (the default, as the paper defines it): every new row is a softmax
  over the WHOLE old vocabulary, for the input embeddings and, on an untied model, separately
  for the output embeddings (LM head). The score matrix is low-rank plus a sparse prior:
  ``score[t, j] = prior[t, j] + q_t · k_j`` with ``k_j`` the old row ``j`` projected on ``rank``
  fixed random directions, ``q_t`` learned, and the prior putting the old pieces of ``t`` ahead
  (``warm_start``; their share is learned too), so training starts at the subword mean. The
  skip-gram scores pair centre vectors from the input side with context vectors from the
  output side; old rows of both are frozen, so only pairs that involve a new token train.
* :func:`train_cw2v` (``candidates=64``): the earlier shortcut. Each new token mixes a candidate
  set ``C_t`` (its old-tokenizer pieces plus the old rows nearest to their mean) with learned
  free context vectors; the same input mix is applied to the LM head.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.errors import XlingError
from ..lexicon.device import Device, torch_device, torch_settings
from .init import ConvexMix


@dataclass(frozen=True)
class CW2VParams:
    window: int = 5
    negative: int = 5
    epochs: int = 1
    batch_size: int = 4096
    alpha: float = 0.05
    ctx_lr: float = 0.025
    max_pairs: int = 300_000
    candidates: int | None = None  # None: whole vocabulary (train_cw2v_full); k: the k-candidate shortcut
    warm_start: float = 6.0
    threads: int = 2
    steps: int = 200  # whole-vocabulary version: optimiser steps of batch_size pairs
    rank: int = 64  # whole-vocabulary version: rank of the learned part of the scores
    tokens_per_step: int = 256  # whole-vocabulary version: new tokens trained in one step


def skipgram_pairs(sequences: Sequence[Sequence[int]], window: int, rng: np.random.Generator,
                   max_pairs: int, first_new: int | None = None) -> np.ndarray:
    """(center, context) id pairs within ``window`` tokens, shuffled, at most ``max_pairs``.

    With ``first_new``, pairs whose center is a new token (id >= first_new) are kept first, up
    to half of ``max_pairs``: only they move the new tokens' weights; the rest train the
    context vectors.

    Returns
    -------
    ndarray of int64, shape (n_pairs, 2)
    """
    chunks = []
    for seq in sequences:
        s = np.asarray(seq, dtype=np.int64)
        for off in range(1, window + 1):
            if len(s) <= off:
                break
            a, b = s[:-off], s[off:]
            chunks.append(np.stack([a, b], axis=1))
            chunks.append(np.stack([b, a], axis=1))
    if not chunks:
        raise XlingError("cw2v: the corpus gives no token pairs (need lines of two or more tokens)")
    pairs = np.concatenate(chunks)
    pairs = pairs[rng.permutation(len(pairs))]
    if first_new is None or len(pairs) <= max_pairs:
        return pairs[:max_pairs]
    new = pairs[:, 0] >= first_new
    n_new = min(int(new.sum()), max_pairs // 2)
    keep = np.concatenate([pairs[new][:n_new], pairs[~new][:max_pairs - n_new]])
    return keep[rng.permutation(len(keep))]


def candidate_sets(init: ConvexMix, old: np.ndarray, n: int) -> np.ndarray:
    """For each new token: its pieces plus the old rows nearest (cosine) to its initial point.

    Returns
    -------
    ndarray of int64, shape (n_new, n): candidate old-row ids, pieces first.
    """
    import scipy.sparse as sp

    from ..lexicon.knn import knn

    n = min(n, old.shape[0])
    start = init.apply(old)
    _, near = knn(start, old, n, metric="cosine", backend="numpy", device="cpu")
    w = sp.csr_matrix(init.weights)
    out = np.empty((start.shape[0], n), dtype=np.int64)
    for r in range(start.shape[0]):
        pieces = w.indices[w.indptr[r]:w.indptr[r + 1]]
        pieces = pieces[np.argsort(-w.data[w.indptr[r]:w.indptr[r + 1]], kind="stable")][:n]
        rest = [i for i in near[r] if i not in set(pieces.tolist())]
        out[r] = np.concatenate([pieces, np.asarray(rest[:n - len(pieces)], dtype=np.int64)])
    return out


def _pairs_and_counts(sequences: Sequence[Sequence[int]], window: int, rng: np.random.Generator,
                      max_pairs: int, n_total: int, first_new: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Skip-gram pairs, checked against the expanded vocabulary, and unigram^0.75 context counts."""
    pairs = skipgram_pairs(sequences, window, rng, max_pairs, first_new=first_new)
    if pairs.max() >= n_total or pairs.min() < 0:
        raise XlingError("cw2v: corpus token id outside the expanded vocabulary")
    counts = np.bincount(pairs[:, 1], minlength=n_total).astype(np.float64) ** 0.75
    return pairs, counts


def _noise(torch, counts: np.ndarray, dev):
    """Negative-sampling distribution (float32 tensor) from the unigram^0.75 counts."""
    return torch.tensor(counts / counts.sum(), dtype=torch.float32, device=dev)


def _warm_scores(init: ConvexMix, cand: np.ndarray, warm_start: float) -> np.ndarray:
    """Starting scores (n_new, n_cand): each piece of a token gets ``warm_start`` + log of its weight share."""
    import scipy.sparse as sp

    w0 = sp.csr_matrix(init.weights)
    warm = np.zeros(cand.shape, dtype=np.float32)
    for r in range(cand.shape[0]):
        cols = w0.indices[w0.indptr[r]:w0.indptr[r + 1]]
        vals = w0.data[w0.indptr[r]:w0.indptr[r + 1]]
        for c, v in zip(cols, vals, strict=True):
            warm[r, cand[r] == c] = warm_start + np.log(v * len(cols))
    return warm


@dataclass
class _ShortcutState:
    """Tensors of the candidate-set training: frozen rows E, candidate rows EC, scores S, contexts U."""

    E: Any
    EC: Any  # (n_new, n_cand, d), constant
    S: Any
    U: Any
    opt_s: Any
    noise: Any
    gen: Any
    n_old: int


def _shortcut_state(torch, old: np.ndarray, cand: np.ndarray, warm: np.ndarray, counts: np.ndarray,
                    n_new: int, alpha: float, gen, dev) -> _ShortcutState:
    """Frozen old rows E, learned scores S (Adam), context vectors U (plain SGD, gradients by hand)."""
    n_old, d = old.shape
    noise = _noise(torch, counts, dev)
    E = torch.tensor(old, dtype=torch.float32, device=dev)
    EC = E[torch.tensor(cand, device=dev)]
    S = torch.nn.Parameter(torch.tensor(warm, device=dev))
    U = torch.zeros(n_old + n_new, d, device=dev)
    opt_s = torch.optim.Adam([S], lr=alpha)
    return _ShortcutState(E, EC, S, U, opt_s, noise, gen, n_old)


def _shortcut_step(torch, st: _ShortcutState, b, params: CW2VParams, lr_u: float) -> float:
    """One batch of pairs ``b``: update U by hand and S through the softmax mix; return the loss."""
    n_old, d = st.n_old, st.U.shape[1]
    center, ctx = b[:, 0], b[:, 1]
    # 4. center vectors: frozen rows for old tokens, convex mixes for new ones
    is_new = center >= n_old
    new_rows = torch.einsum("nk,nkd->nd", torch.softmax(st.S, dim=1), st.EC)
    with torch.no_grad():
        v_new = new_rows[(center - n_old).clamp(min=0)]
        v = torch.where(is_new[:, None], v_new, st.E[center.clamp(max=n_old - 1)])
    neg = torch.multinomial(st.noise, len(b) * params.negative, replacement=True,
                            generator=st.gen).view(len(b), params.negative)
    with torch.no_grad():
        # 5. skip-gram negative-sampling gradients
        u_pos, u_neg = st.U[ctx], st.U[neg]
        s_pos = (v * u_pos).sum(-1)
        s_neg = torch.einsum("bd,bnd->bn", v, u_neg)
        g_pos = torch.sigmoid(s_pos) - 1.0  # d loss / d s_pos
        g_neg = torch.sigmoid(s_neg)  # d loss / d s_neg
        grad_v = g_pos[:, None] * u_pos + torch.einsum("bn,bnd->bd", g_neg, u_neg)
        st.U.index_add_(0, ctx, -lr_u * g_pos[:, None] * v)
        st.U.index_add_(0, neg.reshape(-1), (-lr_u * g_neg[..., None] * v[:, None, :]).reshape(-1, d))
        loss_val = float(-(torch.nn.functional.logsigmoid(s_pos)
                           + torch.nn.functional.logsigmoid(-s_neg).sum(-1)).mean())
    # 6. scores of new tokens: back-propagate grad_v through the softmax mix
    #    (summed per token with index_add_, which is deterministic on CPU threads,
    #    unlike the backward of fancy indexing)
    if bool(is_new.any()):
        grad_rows = torch.zeros_like(new_rows).index_add_(0, center[is_new] - n_old, grad_v[is_new])
        st.opt_s.zero_grad(set_to_none=True)
        new_rows.backward(grad_rows / len(b))
        st.opt_s.step()
    return loss_val


def _shortcut_train(torch, st: _ShortcutState, pairs: np.ndarray, params: CW2VParams, dev,
                    progress: Callable[[int, int], None] | None) -> tuple[float, int]:
    """Epochs over the pairs in batches, context rate decaying linearly as in word2vec; (last loss, steps)."""
    P = torch.tensor(pairs, device=dev)
    steps = params.epochs * ((len(P) + params.batch_size - 1) // params.batch_size)
    loss_val, step = float("nan"), 0
    for _ in range(params.epochs):
        for start in range(0, len(P), params.batch_size):
            b = P[start:start + params.batch_size]
            lr_u = params.ctx_lr * max(1e-4, 1.0 - step / steps)
            loss_val = _shortcut_step(torch, st, b, params, lr_u)
            step += 1
            if progress is not None:
                progress(step, steps)
    return loss_val, step


def train_cw2v(old: np.ndarray, init: ConvexMix, sequences: Sequence[Sequence[int]], *,
               params: CW2VParams = CW2VParams(), seed: int = 0, device: Device | str = Device.cpu,
               progress: Callable[[int, int], None] | None = None) -> tuple[ConvexMix, dict]:
    """Learn convex-combination weights for new tokens with constrained skip-gram.

    Parameters
    ----------
    old : ndarray, shape (n_old, d)
        The model's input embedding rows (frozen).
    init : ConvexMix, n_new rows
        Starting point (normally the subword mean); its non-zero entries get ``warm_start``.
    sequences : list of lists of int
        The corpus as token ids of the expanded tokenizer: ids ``< n_old`` are old tokens,
        ``n_old + j`` is new token ``j``.
    seed : int
        Seeds pair shuffling (numpy) and negative sampling (torch): same inputs, same output.

    Returns
    -------
    mix : ConvexMix
        Dense weights of shape (n_new, n_old) (non-zero only on each token's candidates).
    stats : dict
        Pairs, steps, final loss, new tokens seen in the corpus.
    """
    if params.candidates is None:  # the whole-vocabulary version is train_cw2v_full
        raise TypeError("train_cw2v needs params.candidates (a number of candidates); None: use train_cw2v_full")
    n_candidates = params.candidates
    import scipy.sparse as sp
    import torch

    n_old = old.shape[0]
    n_new = init.weights.shape[0]
    dev = torch_device(device)
    rng = np.random.default_rng(seed)
    gen = torch.Generator(device=dev).manual_seed(seed)
    with torch_settings(torch, params.threads):
        # 1. candidates and warm-started scores
        cand = candidate_sets(init, old, n_candidates)
        warm = _warm_scores(init, cand, params.warm_start)
        # 2. training pairs and unigram^0.75 noise distribution
        pairs, counts = _pairs_and_counts(sequences, params.window, rng, params.max_pairs, n_old + n_new,
                                          first_new=n_old)
        seen = np.unique(pairs[:, 0][pairs[:, 0] >= n_old]) - n_old
        # 3. parameters: frozen old rows E, learned scores S (Adam), context vectors U (plain
        #    SGD with word2vec's linearly decaying rate; gradients written out by hand, which is
        #    much faster on a CPU than autograd + sparse optimisers for 30k x d rows);
        #    steps 4-6 in _shortcut_step
        st = _shortcut_state(torch, old, cand, warm, counts, n_new, params.alpha, gen, dev)
        loss_val, step = _shortcut_train(torch, st, pairs, params, dev, progress)
        # 7. dense convex weights over all old rows
        A = torch.softmax(st.S.detach(), dim=1).cpu().numpy().astype(np.float64)
    weights = np.zeros((n_new, n_old), dtype=np.float64)
    np.put_along_axis(weights, cand, A, axis=1)
    stats = {"pairs": int(len(pairs)), "steps": step, "final_loss": loss_val,
             "new_tokens_in_corpus": int(len(seen)), "candidates": int(cand.shape[1]), "device": str(dev)}
    return ConvexMix(sp.csr_matrix(weights), np.zeros(n_new, dtype=bool)), stats


def _padded_pieces(init: ConvexMix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pieces of each new token as padded (n_new, p) arrays: ids, weights, validity mask."""
    import scipy.sparse as sp

    w = sp.csr_matrix(init.weights)
    n = w.shape[0]
    width = max(1, int(np.diff(w.indptr).max()) if n else 1)
    idx = np.zeros((n, width), dtype=np.int64)
    val = np.zeros((n, width), dtype=np.float64)
    ok = np.zeros((n, width), dtype=bool)
    for r in range(n):
        a, b = w.indptr[r], w.indptr[r + 1]
        idx[r, :b - a], val[r, :b - a], ok[r, :b - a] = w.indices[a:b], w.data[a:b], True
    return idx, val, ok


class _VocabMix:
    """Softmax over all old rows with low-rank + sparse-prior scores (one side: input or output)."""

    def __init__(self, torch, rows, init: ConvexMix, rank: int, warm: float, gen, dev):
        n_old, d = rows.shape
        self.torch, self.rows = torch, rows
        unit = rows / rows.norm(dim=1, keepdim=True).clamp(min=1e-12)
        proj = torch.linalg.qr(torch.randn(d, min(rank, d), generator=gen, device=dev))[0]
        # (n_old, r), fixed; entries ~N(0, 1), so one Adam step of alpha on q moves a score by up
        # to ~alpha x 0.8 r. Keys of L1 norm ~1 (steps of ~alpha, as the candidate version's
        # scores) were measured (BENCHMARKS.md): better on SmolLM2's NLL, worse on MiniLM's
        # fidelity than this scale, which stays.
        self.keys = unit @ proj * (d ** 0.5)
        idx, val, ok = _padded_pieces(init)
        self.idx = torch.tensor(idx, device=dev)
        self.ok = torch.tensor(ok, device=dev)
        # prior: the pieces carry exp(warm) x the mass of all other rows together, split by weight
        prior = np.where(ok, np.log(np.maximum(val, 1e-12)) + np.log(n_old) + warm, 0.0)
        self.prior = torch.tensor(prior, dtype=torch.float32, device=dev)
        self.q = torch.zeros(idx.shape[0], self.keys.shape[1], device=dev, requires_grad=True)
        self.b = torch.zeros(idx.shape, device=dev, requires_grad=True)

    def params(self):
        return [self.q, self.b]

    def weights(self, tokens):
        """Softmax weights (len(tokens), n_old) of the new tokens ``tokens`` (indices 0..n_new-1)."""
        torch = self.torch
        logits = self.q[tokens] @ self.keys.T
        add = torch.where(self.ok[tokens], self.prior[tokens] + self.b[tokens], torch.zeros_like(self.b[tokens]))
        logits = logits.scatter_add(1, self.idx[tokens], add)
        return torch.softmax(logits, dim=1)

    def vectors(self, tokens):
        return self.weights(tokens) @ self.rows

    def dense(self, chunk: int = 256) -> np.ndarray:
        torch = self.torch
        out = []
        with torch.no_grad():
            for a in range(0, self.q.shape[0], chunk):
                t = torch.arange(a, min(a + chunk, self.q.shape[0]), device=self.q.device)
                out.append(self.weights(t).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.rows.shape[0]), np.float32)


def _full_mixes(torch, old: np.ndarray, old_out: np.ndarray | None, init: ConvexMix, params: CW2VParams,
                gen, dev) -> tuple[Any, Any, _VocabMix, _VocabMix]:
    """Frozen input rows E and output rows H (E itself when tied), and one mix per side."""
    E = torch.tensor(old, dtype=torch.float32, device=dev)
    H = E if old_out is None else torch.tensor(old_out, dtype=torch.float32, device=dev)
    mix_in = _VocabMix(torch, E, init, params.rank, params.warm_start, gen, dev)
    mix_out = mix_in if old_out is None else _VocabMix(torch, H, init, params.rank, params.warm_start, gen, dev)
    return E, H, mix_in, mix_out


def _new_token_pairs(sequences: Sequence[Sequence[int]], params: CW2VParams, rng: np.random.Generator,
                     n_old: int, n_new: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs that hold a new token (at most ``max_pairs``) and the unigram^0.75 counts of all pairs."""
    # only pairs with a new token train something (old rows are frozen on both sides)
    pairs, counts = _pairs_and_counts(sequences, params.window, rng, 2 ** 62, n_old + n_new)
    pairs = pairs[(pairs >= n_old).any(axis=1)][:params.max_pairs]
    if not len(pairs):
        raise XlingError("cw2v: no new token occurs in the corpus (give text in the new tokens' language)")
    return pairs, counts


def _full_batch(torch, P, owner, present, params: CW2VParams, gen, dev):
    """Sample one batch of pairs, owned by at most ``tokens_per_step`` new tokens."""
    if len(present) > params.tokens_per_step:
        chosen = present[torch.randperm(len(present), generator=gen, device=dev)[:params.tokens_per_step]]
        pool = torch.nonzero(torch.isin(owner, chosen)).view(-1)
    else:
        pool = torch.arange(len(P), device=dev)
    sel = pool[torch.randint(0, len(pool), (min(params.batch_size, len(pool)),), generator=gen, device=dev)]
    return P[sel]


def _side(torch, ids, mix: _VocabMix, rows, n_old: int):
    """Vectors of ``ids`` on one side: frozen rows for old tokens, the side's mix for new ones."""
    is_new = ids >= n_old
    out = rows[ids.clamp(max=n_old - 1)]
    if bool(is_new.any()):
        uniq, inv = torch.unique(ids[is_new] - n_old, return_inverse=True)
        out = out.clone()
        out[is_new] = mix.vectors(uniq)[inv]
    return out


def _full_loss(torch, b, neg, E, H, mix_in: _VocabMix, mix_out: _VocabMix, scale, n_old: int):
    """Skip-gram negative-sampling loss: centres from the input side, contexts from the output side."""
    center, ctx = b[:, 0], b[:, 1]
    v = _side(torch, center, mix_in, E, n_old)
    u_pos = _side(torch, ctx, mix_out, H, n_old)
    u_neg = _side(torch, neg.reshape(-1), mix_out, H, n_old).view(len(b), neg.shape[1], E.shape[1])
    a, c = torch.exp(scale[0]), scale[1]
    s_pos = a * (v * u_pos).sum(-1) + c
    s_neg = a * torch.einsum("bd,bnd->bn", v, u_neg) + c
    return -(torch.nn.functional.logsigmoid(s_pos) + torch.nn.functional.logsigmoid(-s_neg).sum(-1)).mean()


def train_cw2v_full(old: np.ndarray, old_out: np.ndarray | None, init: ConvexMix,
                    sequences: Sequence[Sequence[int]], *, params: CW2VParams = CW2VParams(), seed: int = 0,
                    device: Device | str = Device.cpu, progress: Callable[[int, int], None] | None = None
                    ) -> tuple[ConvexMix, ConvexMix | None, dict]:
    """Whole-vocabulary CW2V: learn input (and output) convex mixes over all old rows.

    Parameters
    ----------
    old : ndarray, shape (n_old, d)
        Input embedding rows (frozen).
    old_out : ndarray, shape (n_old, d), or None
        Untied LM-head rows (frozen); None for a tied model (one mix serves both sides).
    init : ConvexMix, n_new rows
        The subword-mean mix: its pieces get the prior head start.
    sequences : list of lists of int
        The corpus with the expanded tokenizer: old ids ``< n_old``, new token ``j`` as ``n_old + j``.

    Returns
    -------
    (input mix, output mix or None, stats) : the mixes hold dense (n_new, n_old) float32 weights.
    """
    import torch

    n_old = old.shape[0]
    n_new = init.weights.shape[0]
    dev = torch_device(device)
    rng = np.random.default_rng(seed)
    with torch_settings(torch, params.threads, deterministic=True):
        gen = torch.Generator(device=dev).manual_seed(seed)
        # 1. frozen rows and one whole-vocabulary mix per side
        E, H, mix_in, mix_out = _full_mixes(torch, old, old_out, init, params, gen, dev)
        # 2. pairs with a new token, and the noise distribution
        pairs, counts = _new_token_pairs(sequences, params, rng, n_old, n_new)
        noise = _noise(torch, counts, dev)
        seen = np.unique(pairs[pairs >= n_old]) - n_old
        # 3. learned: both mixes and a score scale and bias (Adam)
        scale = torch.zeros(2, device=dev, requires_grad=True)  # log score scale, score bias
        params_ = mix_in.params() + ([] if mix_out is mix_in else mix_out.params()) + [scale]
        opt = torch.optim.Adam(params_, lr=params.alpha)
        P = torch.tensor(pairs, device=dev)
        # each step trains the pairs of at most tokens_per_step new tokens (a softmax over the whole
        # vocabulary costs n_old x d per token); the owner of a pair is its first new token
        owner = torch.tensor(np.where(pairs[:, 0] >= n_old, pairs[:, 0], pairs[:, 1]) - n_old, device=dev)
        present = torch.tensor(seen, device=dev)
        noise[n_old:] = 0.0  # negatives are old tokens (frozen rows): no extra softmax per step
        # 4. training steps: a batch, its negatives, the loss through both mixes
        steps, losses = params.steps, []
        for step in range(steps):
            b = _full_batch(torch, P, owner, present, params, gen, dev)
            neg = torch.multinomial(noise, len(b) * params.negative, replacement=True,
                                    generator=gen).view(len(b), params.negative)
            loss = _full_loss(torch, b, neg, E, H, mix_in, mix_out, scale, n_old)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            if progress is not None:
                progress(step + 1, steps)
        # 5. dense weights over all old rows
        w_in = mix_in.dense()
        w_out = None if mix_out is mix_in else mix_out.dense()
    stats = {"pairs": int(len(pairs)), "steps": steps, "first_loss": losses[0] if losses else None,
             "final_loss": float(np.mean(losses[-10:])) if losses else None,
             "new_tokens_in_corpus": int(len(seen)), "candidates": "all", "rank": params.rank,
             "output_mix": w_out is not None, "device": str(dev)}
    zero = np.zeros(n_new, dtype=bool)
    return (ConvexMix(w_in, zero), None if w_out is None else ConvexMix(w_out, zero), stats)
