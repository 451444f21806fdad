"""RCSLS (Joulin et al. 2018): a map trained to maximise the CSLS criterion directly.

Loss over dictionary pairs ``(x_i, y_i)`` (rows unit length, ``f(x) = x W``)::

    L = mean_i [ -2 f(x_i)·y_i + mean_{y ∈ N_k(f(x_i))} f(x_i)·y + mean_{x ∈ N_k(y_i)} f(x)·y_i ]

where the neighbourhoods are taken among the ``n_neg`` most frequent words of each side.
Full-batch gradient descent (deterministic), with the learning rate halved whenever the
loss goes up, and ``W`` projected back onto the unit spectral ball after each step
(singular values clipped to 1), which keeps the map close to an isometry.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.errors import XlingError
from ..lexicon.device import torch_settings
from .procrustes import LinearMap

#: CPU threads of the RCSLS loop: fixed, so the map's bytes do not depend on the machine
RCSLS_THREADS = 2


@dataclass(frozen=True)
class RcslsOptions:
    epochs: int = 20
    lr: float = 1.0
    k: int = 10
    n_neg: int = 20000


def _topk_mean(s, k):
    return s.topk(min(k, s.shape[1]), dim=1).values.mean(dim=1)


def rcsls(x: np.ndarray, z: np.ndarray, src: np.ndarray, tgt: np.ndarray, w0: np.ndarray,
          opts: RcslsOptions = RcslsOptions(), device: str = "cpu") -> tuple[LinearMap, list[float]]:
    """Train an RCSLS map from an initial one (usually Procrustes).

    Parameters
    ----------
    x : ndarray, shape (nx, dx)
        Unit-normalised source vectors, most frequent first.
    z : ndarray, shape (nz, dz)
        Unit-normalised target vectors.
    src, tgt : ndarray, shape (m,)
        Dictionary pairs as row indices.
    w0 : ndarray, shape (dx, dz)
        Starting map.

    Returns
    -------
    map : LinearMap (not isometric)
    losses : list of float, one per epoch (the loss before each step)
    """
    import torch

    if opts.epochs < 1 or opts.lr <= 0 or opts.k < 1:
        raise XlingError("RCSLS needs epochs >= 1, lr > 0 and k >= 1")
    dev = torch.device(device)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(dev)  # noqa: E731
    xs, ys = t(x[src]), t(z[tgt])
    xn, zn = t(x[:opts.n_neg]), t(z[:opts.n_neg])
    w = t(w0).clone().requires_grad_(True)
    lr = opts.lr
    losses: list[float] = []
    prev = None

    def loss_of(wm):
        fx = xs @ wm
        pos = (fx * ys).sum(dim=1)
        fwd = _topk_mean(fx @ zn.T, opts.k)
        bwd = _topk_mean(ys @ (xn @ wm).T, opts.k)
        return (-2 * pos + fwd + bwd).mean()

    with torch_settings(torch, RCSLS_THREADS):  # the same bytes whatever the machine's core count
        for _ in range(opts.epochs):
            loss = loss_of(w)
            val = float(loss.detach())
            if prev is not None and val > prev[0]:
                # 1. the step overshot: go back and halve the learning rate
                lr /= 2
                with torch.no_grad():
                    w.copy_(prev[1])
                losses.append(prev[0])
                if lr < 1e-4:
                    break
                continue
            losses.append(val)
            prev = (val, w.detach().clone())
            grad, = torch.autograd.grad(loss, w)
            with torch.no_grad():
                # 2. gradient step, 3. projection onto the unit spectral ball
                w -= lr * grad
                u, s, vh = torch.linalg.svd(w, full_matrices=False)
                w.copy_((u * s.clamp(max=1.0)) @ vh)
    return LinearMap(w.detach().cpu().numpy().astype(np.float32), None, isometric=False), losses
