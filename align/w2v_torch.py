"""Batched torch word2vec trainer (negative sampling), for ``device='cuda'``.

Same model and settings as the numba kernel in :mod:`xling.align.w2v_kernels`, but instead of
one update per (word, context) pair it processes a batch of centre positions at once and adds
the summed updates with ``index_add_`` (mini-batch SGD). It runs on CPU too (used by the tests),
where it is far slower than the numba kernel. Reproducible for a seed: all random numbers come
from one ``torch.Generator`` on the CPU.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..lexicon.device import Device, torch_device
from .w2v import Arch, Corpus, Progress, TrainStats, W2VParams, cum_table, keep_probability

if TYPE_CHECKING:
    import torch


def train_torch(corpus: Corpus, syn0: np.ndarray, syn1: np.ndarray, counts: np.ndarray, params: W2VParams, *,
                train_output: bool = True, device: Device | str = Device.cuda, batch_positions: int | None = None,
                progress: Progress | None = None) -> TrainStats:
    """Train in place like :func:`xling.align.w2v.train`; ``syn0`` gets the result back on the host.

    Parameters
    ----------
    corpus : Corpus
    syn0 : ndarray, shape (n, d), float32, updated in place
    syn1 : ndarray, shape (n, d), float32, updated in place only when ``train_output``
    counts : ndarray, shape (n,)
    params : W2VParams
    device : Device or {"cuda", "cpu", "auto"}
        Resolved by :func:`xling.lexicon.device.resolve_device` (cuda without CUDA: DeviceError).
    batch_positions : int, optional
        Centre words per batch (default 512 for skip-gram, 4096 for CBOW).
    """
    import torch

    dev = torch_device(device)
    gen = torch.Generator().manual_seed(params.seed)
    # Updates of one batch are summed (index_add_): a word seen many times in a batch takes all
    # its steps at once, which diverges for large batches (skip-gram on the KJV Bible did at 4096
    # positions, was fine at 512). Hence small defaults, smaller for skip-gram (2*window pairs per
    # position) than for CBOW (one example per position).
    batch = batch_positions or (512 if params.arch is Arch.sg else 4096)
    m = _Model.upload(corpus, syn0, syn1, counts, params, dev)
    total = corpus.n_words * params.epochs
    _sync(dev)
    t0 = time.perf_counter()
    for epoch in range(params.epochs):
        # 1. subsample frequent words (OOV already gone), remember which sentence each token is in
        kept = torch.rand(corpus.n_words, generator=gen) < m.keep[m.tokens]
        toks, sids = m.tokens[kept], m.sent[kept]
        pos_in_full = torch.nonzero(kept).squeeze(1)
        n = toks.shape[0]
        for start in range(0, n, batch):
            p = torch.arange(start, min(n, start + batch))
            done = epoch * corpus.n_words + int(pos_in_full[p[-1]]) + 1
            alpha = max(params.min_alpha, params.alpha - (params.alpha - params.min_alpha) * done / total)
            ctx, valid, centre = _contexts(m, p, toks, sids, params.window, gen)
            _step(m, ctx, valid, centre, params, alpha, gen, train_output)
            if progress is not None:
                progress(done, total)
    _sync(dev)
    seconds = time.perf_counter() - t0
    syn0[...] = m.s0.cpu().numpy()
    if train_output:
        syn1[...] = m.s1.cpu().numpy()
    return TrainStats(words=total, seconds=seconds, threads=1, device=dev.type)


@dataclass
class _Model:
    """The tensors of one training run: matrices on the device, corpus and tables on the host."""

    dev: torch.device
    s0: torch.Tensor  # input vectors (n, d), on dev
    s1: torch.Tensor  # output vectors (n, d), on dev
    cum: torch.Tensor  # negative-sampling table, on dev
    keep: torch.Tensor  # subsampling keep probabilities, host
    tokens: torch.Tensor  # corpus ids, host
    sent: torch.Tensor  # sentence of every token, host
    offs: torch.Tensor  # context offsets -w..w without 0, host

    @classmethod
    def upload(cls, corpus: Corpus, syn0, syn1, counts, params: W2VParams, dev) -> _Model:
        import torch

        w = params.window
        return cls(
            dev=dev,
            s0=torch.from_numpy(np.ascontiguousarray(syn0)).to(dev, copy=True),
            s1=torch.from_numpy(np.array(syn1, dtype=np.float32)).to(dev),
            cum=torch.from_numpy(cum_table(counts, params.ns_exponent)).to(dev),
            keep=torch.from_numpy(keep_probability(counts, params.sample)),
            tokens=torch.from_numpy(corpus.tokens.astype(np.int64)),
            sent=torch.from_numpy(np.repeat(np.arange(len(corpus.offsets) - 1), np.diff(corpus.offsets))),
            offs=torch.tensor([o for o in range(-w, w + 1) if o != 0], dtype=torch.int64),
        )


def _sync(dev) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize()


def _contexts(m: _Model, p, toks, sids, w: int, gen):
    """Context ids (B, 2w), which of them count (inside a reduced random window and inside the
    same sentence) and the centre ids of the batch positions ``p``, on the device."""
    import torch

    n = toks.shape[0]
    eff = w - torch.randint(0, w, (p.shape[0],), generator=gen)
    q = p[:, None] + m.offs[None, :]
    qc = q.clamp(0, n - 1)
    valid = (q >= 0) & (q < n) & (m.offs.abs()[None, :] <= eff[:, None]) & (sids[qc] == sids[p][:, None])
    return toks[qc].to(m.dev), valid.to(m.dev), toks[p].to(m.dev)


def _step(m: _Model, ctx, valid, centre, params: W2VParams, alpha: float, gen, train_output: bool) -> None:
    """One mini-batch SGD step of negative sampling on the examples of a batch."""
    import torch

    s0, s1, dev, d = m.s0, m.s1, m.dev, m.s0.shape[1]
    sg = params.arch is Arch.sg
    if sg:
        # skip-gram: every valid (centre, context) pair; the context vector predicts the centre
        rows, cols = torch.nonzero(valid, as_tuple=True)
        inp = ctx[rows, cols]
        pred = centre[rows]
        l1 = s0[inp]
    else:
        # CBOW: the mean of the valid context vectors predicts the centre
        cnt = valid.sum(1)
        has = cnt > 0
        vmask = valid[has].to(s0.dtype)
        l1 = (s0[ctx[has]] * vmask[..., None]).sum(1) / cnt[has, None].to(s0.dtype)
        pred = centre[has]
    # one positive and `negative` negative targets per example
    r = torch.randint(0, int(m.cum[-1]), (pred.shape[0], params.negative), generator=gen).to(dev)
    negs = torch.searchsorted(m.cum, r, right=True).clamp_max(s1.shape[0] - 1)
    targets = torch.cat([pred[:, None], negs], 1)
    labels = torch.zeros(targets.shape, device=dev, dtype=s0.dtype)
    labels[:, 0] = 1
    use = torch.ones_like(labels)
    use[:, 1:] = (negs != pred[:, None]).to(s0.dtype)
    t_vec = s1[targets]  # (B, negative+1, d)
    f = torch.einsum("bkd,bd->bk", t_vec, l1).clamp(-6.0, 6.0)
    g = (labels - torch.sigmoid(f)) * alpha * use
    neu1e = torch.einsum("bk,bkd->bd", g, t_vec)
    if train_output:
        s1.index_add_(0, targets.reshape(-1), (g[..., None] * l1[:, None, :]).reshape(-1, d))
    if sg:
        s0.index_add_(0, inp, neu1e)
    else:
        # every valid context word of an example gets that example's error
        rows, cols = torch.nonzero(vmask > 0, as_tuple=True)
        s0.index_add_(0, ctx[has][rows, cols], neu1e[rows])
