"""Initialisers for new embedding rows.

Two kinds:

* *fresh* rows drawn from a distribution fitted to the existing rows (``random``, ``mvn``);
* *convex mixes* of existing rows (``mean``, ``subword-mean``, ``aligned``, ``cw2v``): a weight
  matrix ``A`` of shape (n_new, n_old), non-negative rows summing to 1, so a new row is
  ``A @ E`` and lies in the convex hull of the old rows (Mundra et al. 2024). The same ``A``
  is applied to every per-token tensor (untied output embeddings, LM-head biases), so all of
  a token's parameters come from the same old tokens.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from ..data.errors import XlingError

if TYPE_CHECKING:
    import scipy.sparse as sp


class PadRows(str, Enum):
    """Rows added by ``--pad-to-multiple-of`` (no token uses them): the mean of the old rows, or zeros."""

    mean = "mean"
    zeros = "zeros"


class InitMethod(str, Enum):
    random = "random"
    mean = "mean"
    mvn = "mvn"
    subword_mean = "subword-mean"
    aligned = "aligned"
    cw2v = "cw2v"


@dataclass
class ConvexMix:
    """New rows as convex combinations of old rows.

    Attributes
    ----------
    weights : scipy.sparse.csr_matrix or ndarray, shape (n_new, n_old)
        (dense for the whole-vocabulary ``cw2v``)
        Non-negative, each row sums to 1 — except rows flagged in ``mean_rows`` (all zero).
    mean_rows : ndarray of bool, shape (n_new,)
        Rows that use the mean of all old rows (no better information for that token).
    """

    weights: sp.csr_matrix | np.ndarray
    mean_rows: np.ndarray

    def apply(self, old: np.ndarray) -> np.ndarray:
        """``old`` shape (n_old,) or (n_old, d) → new rows shape (n_new,) or (n_new, d), float32.

        Sparse weights read only the old rows they use (in float64); dense weights multiply in
        float32, so no float64 copy of the whole matrix is ever made.
        """
        import scipy.sparse as sp

        if sp.issparse(self.weights):
            w = sp.csr_matrix(self.weights)
            cols = np.unique(w.indices)
            out: np.ndarray = np.asarray(w[:, cols] @ np.asarray(old[cols], dtype=np.float64), dtype=np.float64)
        else:
            from ..data.blas import map_rows  # the same bytes whatever the BLAS threads

            out = map_rows(self.weights, old)
        if self.mean_rows.any():
            out = np.array(out, dtype=np.float64)
            out[self.mean_rows] = np.mean(old, axis=0, dtype=np.float64)
        return np.asarray(out, dtype=np.float32)


def mean_mix(n_new: int, n_old: int) -> ConvexMix:
    """Every new row = the mean of all old rows."""
    import scipy.sparse as sp

    return ConvexMix(sp.csr_matrix((n_new, n_old)), np.ones(n_new, dtype=bool))


def subword_mix(pieces: Sequence[Sequence[int]], n_old: int, exclude: Sequence[int] = ()) -> ConvexMix:
    """Each new row = the mean of the rows of the pieces the old tokenizer gives for the token.

    Parameters
    ----------
    pieces : list of lists of int
        Old token ids for each new token (repeated pieces count twice).
    n_old : int
        Rows of the old matrix.
    exclude : ids never used as pieces (e.g. the unknown token); a token left with no piece
        falls back to the mean of all rows.
    """
    import scipy.sparse as sp

    bad = set(int(i) for i in exclude)
    rows, cols, vals = [], [], []
    mean_rows = np.zeros(len(pieces), dtype=bool)
    for r, ids in enumerate(pieces):
        ids = [i for i in ids if i not in bad and 0 <= i < n_old]
        if not ids:
            mean_rows[r] = True
            continue
        for i in ids:
            rows.append(r)
            cols.append(i)
            vals.append(1.0 / len(ids))
    w = sp.csr_matrix((vals, (rows, cols)), shape=(len(pieces), n_old))
    w.sum_duplicates()
    return ConvexMix(w, mean_rows)


def softmax_topk_mix(scores: np.ndarray, indices: np.ndarray, n_old: int, temperature: float,
                     fallback: ConvexMix | None = None, valid: np.ndarray | None = None) -> ConvexMix:
    """Sparse convex mix from top-k similarities: weights = softmax(scores / temperature) per row.

    Parameters
    ----------
    scores, indices : ndarray, shape (n_new, k)
        Similarities and old-row ids of each new token's nearest old tokens.
    valid : ndarray of bool, shape (n_new,), optional
        Rows that have scores; the others are taken from ``fallback`` (or the mean).
    """
    import scipy.sparse as sp

    if temperature <= 0:
        raise XlingError("temperature must be > 0")
    n_new, k = indices.shape
    valid = np.ones(n_new, dtype=bool) if valid is None else valid
    z = scores.astype(np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    w = np.exp(z)
    w /= w.sum(axis=1, keepdims=True)
    rows = np.repeat(np.arange(n_new), k)
    mix = sp.csr_matrix((w.ravel(), (rows, indices.ravel())), shape=(n_new, n_old))
    mix.sum_duplicates()
    keep = sp.diags(valid.astype(np.float64))
    mean_rows = np.zeros(n_new, dtype=bool)
    if fallback is not None:
        mix = keep @ mix + sp.diags((~valid).astype(np.float64)) @ sp.csr_matrix(fallback.weights)
        mean_rows = fallback.mean_rows & ~valid
    else:
        mix = keep @ mix
        mean_rows = ~valid
    return ConvexMix(sp.csr_matrix(mix), mean_rows)


def random_rows(old: np.ndarray, n_new: int, rng: np.random.Generator) -> np.ndarray:
    """Rows from N(0, s^2) with ``s`` the standard deviation of all existing entries.

    ``old`` shape (n_old, d) or (n_old,) → shape (n_new, d) or (n_new,), float32.
    """
    old = np.asarray(old, dtype=np.float64)
    shape = (n_new,) + old.shape[1:]
    return (rng.standard_normal(shape) * old.std()).astype(np.float32)


def mvn_rows(old: np.ndarray, n_new: int, rng: np.random.Generator, scale: float = 1e-9) -> np.ndarray:
    """Rows from the multivariate normal N(mean, scale * cov) fitted to the existing rows.

    ``scale=1e-9`` is what ``transformers``' ``resize_token_embeddings(mean_resizing=True)``
    uses; ``scale=1`` samples the full fitted distribution. When ``scale * cov`` is not
    positive definite the mean is used (as ``transformers`` does). For 1-D ``old`` (biases) the
    rows are drawn from N(mean, scale * var).

    Returns
    -------
    ndarray, shape (n_new, d) or (n_new,), float32
    """
    old = np.asarray(old, dtype=np.float64)
    if old.ndim == 1:
        return (old.mean() + np.sqrt(scale * old.var()) * rng.standard_normal(n_new)).astype(np.float32)
    mu = old.mean(axis=0)
    centered = old - mu
    from ..data.blas import blas_threads, gram_rows

    cov = gram_rows(centered) / old.shape[0]  # fixed blocks: the same bytes whatever the BLAS threads
    with blas_threads(1):
        try:
            chol = np.linalg.cholesky(scale * cov)
        except np.linalg.LinAlgError:
            return np.repeat(mu[None, :], n_new, axis=0).astype(np.float32)
        z = rng.standard_normal((n_new, old.shape[1]))
        return (mu + z @ chol.T).astype(np.float32)


def aligned_mix(new_vectors: np.ndarray, new_has_vector: np.ndarray, old_vectors: np.ndarray,
                old_ids: np.ndarray, n_old: int, *, k: int = 10, temperature: float = 0.1,
                fallback: ConvexMix | None = None, engine=None) -> ConvexMix:
    """WECHSEL/FOCUS-style mix: each new row = softmax-weighted mean of its k most similar old tokens.

    Similarities are cosines between *aligned static word vectors* (one space for both sides,
    e.g. target-language vectors mapped onto source-language vectors with ``xling align``).

    Parameters
    ----------
    new_vectors : ndarray, shape (n_new, e)
        Static vector of each new token (rows of tokens without a vector are ignored).
    new_has_vector : ndarray of bool, shape (n_new,)
    old_vectors : ndarray, shape (m, e)
        Static vectors of the old tokens that have one.
    old_ids : ndarray of int, shape (m,)
        Row of each of those old tokens in the embedding matrix.
    k, temperature : neighbours kept and softmax temperature (WECHSEL: k=10, t=0.1).
    fallback : ConvexMix for tokens without a static vector (default: mean of all rows).
    """
    from ..lexicon.knn import knn

    n_new = new_vectors.shape[0]
    if old_vectors.shape[0] == 0:
        raise XlingError("aligned: no old token has a static vector (check --src-vectors)")
    if new_vectors.shape[1] != old_vectors.shape[1]:
        raise XlingError(f"aligned: static vectors differ in dimension ({new_vectors.shape[1]} for new "
                         f"tokens, {old_vectors.shape[1]} for old tokens): align them into one space first")
    k = min(k, old_vectors.shape[0])
    scores = np.zeros((n_new, k), dtype=np.float32)
    idx = np.zeros((n_new, k), dtype=np.int64)
    if new_has_vector.any():
        s, i = knn(np.asarray(new_vectors[new_has_vector], dtype=np.float32),
                   np.asarray(old_vectors, dtype=np.float32), k, metric="cosine", engine=engine)
        scores[new_has_vector] = s
        idx[new_has_vector] = np.asarray(old_ids)[i]
    return softmax_topk_mix(scores, idx, n_old, temperature, fallback=fallback, valid=new_has_vector)
