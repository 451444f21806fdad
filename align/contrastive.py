"""Contrastive refinement of a map: a linear map trained on an InfoNCE loss over hard negatives.

The idea is that of ContrastiveBLI's first stage (C1; Li et al., ACL 2022): Procrustes only pulls
the dictionary's pairs together, while a contrastive loss also pushes each mapped source word
away from the target words it is *confused* with (its nearest non-gold targets) and each target
word away from its nearest non-gold mapped sources. Self-learning then adds the most confident
mutual translations to the dictionary the next round's starting map is solved from.

Each round:

1. starting map ``m`` (the chosen candidate's map, or in later rounds the map solved from the
   dictionary plus the confident pairs of the previous round, with the candidate's map steps);
2. in the mapped space, a square map ``A`` (initialised to the identity) is trained by
   full-batch gradient descent on, for each dictionary pair (s, t),
   ``-log softmax([cos(s A, t), cos(s A, t'_1..K), cos(s' A, t)_1..K])[0] / tau``, the t' being
   the K nearest non-gold targets of ``s`` and the s' the K nearest non-gold sources of ``t``
   among the ``neg_pool`` most frequent words (mined once per round under ``m``); the mapped
   rows are normalised with their norm held constant in the gradient;
3. the round's map is ``x -> (x wx) A`` (the target side as in ``m``).

Full-batch training on a fixed dictionary has no randomness: the same inputs give the same bytes
(numpy, with the gradient written out; no autograd needed for a square map). The caller validates the result against the map it started from and keeps the
better one (:func:`xling.align.pipeline.align`): the step never makes the validated map worse.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..lexicon.knn import Engine, knn, resolve_engine
from ..lexicon.retrieval import RetrievalParams, best_match
from .procrustes import DEFAULT_MAP_OPTIONS, LinearMap, MapOptions, one_blas_thread, sim_spaces, solve_map

DEFAULT_RETRIEVAL = RetrievalParams()


@dataclass(frozen=True)
class ContrastiveOptions:
    """Settings of the contrastive step (``xling align --contrastive``)."""

    steps: int = 30  # gradient steps per round
    rounds: int = 2  # self-learning rounds (each after the first starts from an augmented dictionary)
    negatives: int = 32  # hard negatives per side and pair
    neg_pool: int = 20000  # most frequent words of each side the negatives and confident pairs come from
    temperature: float = 0.1  # softmax temperature of the cosines
    lr: float = 0.1  # learning rate of the full-batch gradient descent (0.1 at temperature 0.1: higher diverges)
    decay: float = 0.99  # learning-rate decay per step
    augment: int = 10000  # confident mutual pairs added to the dictionary for the next round's start


def contrastive(x: np.ndarray, z: np.ndarray, src: np.ndarray, tgt: np.ndarray, start: LinearMap, *,
                map_opts: MapOptions = DEFAULT_MAP_OPTIONS, opts: ContrastiveOptions = ContrastiveOptions(),
                retrieval: RetrievalParams = DEFAULT_RETRIEVAL, engine: Engine | None = None,
                ) -> tuple[LinearMap, dict]:
    """Refine map ``start`` with the contrastive loss on the dictionary ``(src, tgt)``.

    Parameters
    ----------
    x, z : ndarray, shape (nx, dx), (nz, dz)
        Normalised source and target vectors, most frequent first.
    src, tgt : ndarray, shape (m,)
        The dictionary trained on (row indices; not the validation words).
    start : LinearMap
        The map to start from (its ``wz`` is kept).
    map_opts : MapOptions
        The map's steps, used to solve the start of every round after the first.
    retrieval : RetrievalParams
        Criterion of the confident pairs of self-learning.

    Returns
    -------
    map : LinearMap
        ``x -> x wx`` with ``wx = start.wx A`` (not isometric), ``wz`` of the last round's start.
    info : dict
        Per round: the loss before and after training, the pairs trained on and added.
    """
    eng = engine or resolve_engine()
    src, tgt = np.asarray(src, np.int64), np.asarray(tgt, np.int64)
    m, rounds = start, []
    for r in range(opts.rounds):
        added = 0
        if r > 0:
            aug_s, aug_t = confident_pairs(x, z, m, opts, retrieval, eng, known=src)
            added = int(aug_s.size)
            m = solve_map(x[np.concatenate([src, aug_s])], z[np.concatenate([tgt, aug_t])], map_opts)
        a_mat, losses = _train_round(x, z, src, tgt, m, opts, eng)
        m = LinearMap(np.asarray(np.asarray(m.wx, np.float32) @ a_mat, np.float32), m.wz, isometric=False)
        rounds.append({"round": r, "pairs": int(src.size), "added": added,
                       "loss_first": round(losses[0], 6), "loss_last": round(losses[-1], 6)})
    return m, {"rounds": rounds}


def confident_pairs(x: np.ndarray, z: np.ndarray, m: LinearMap, opts: ContrastiveOptions,
                    retrieval: RetrievalParams, engine: Engine, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``opts.augment`` mutual best matches (under ``retrieval``) with the highest summed score
    among the ``neg_pool`` most frequent words, without sources already in ``known``."""
    px, pz = min(opts.neg_pool, x.shape[0]), min(opts.neg_pool, z.shape[0])
    a, b = sim_spaces(x[:px], z[:pz], m)
    fs, fi = best_match(a, b, retrieval, engine=engine)
    bs, bi = best_match(b, a, retrieval, engine=engine)
    rows = np.arange(px)
    mutual = (bi[fi] == rows) & ~np.isin(rows, known)
    s = rows[mutual]
    score = fs[s] + bs[fi[s]]
    order = np.argsort(-score, kind="stable")[:opts.augment]
    s = s[order]
    return s, fi[s]


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.maximum(n, 1e-12)).astype(np.float32)


def _local(rows: np.ndarray, pool: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows a round works on (the ``pool`` most frequent, then the dictionary's others) and the
    local index of every dictionary row."""
    extra = np.unique(rows[rows >= pool])
    table = np.concatenate([np.arange(pool, dtype=np.int64), extra])
    local = np.where(rows < pool, rows, pool + np.searchsorted(extra, rows))
    return table, local


def _hard_negatives(q: np.ndarray, base: np.ndarray, k: int, gold_code: np.ndarray, q_ids: np.ndarray,
                    n_base: int, engine: Engine) -> np.ndarray:
    """For each query row, the ``k`` nearest base rows (inner product) that are not one of its golds
    (``gold_code`` holds ``query_id * n_base + base_row`` of every gold pair, sorted)."""
    extra = 8  # room for the golds of a query with several translations
    _, idx = knn(q, base, k=min(k + extra, base.shape[0]), metric="ip", engine=engine)
    idx = idx.astype(np.int64)
    is_gold = np.isin(q_ids[:, None] * n_base + idx, gold_code)
    order = np.argsort(is_gold, axis=1, kind="stable")[:, :k]  # non-golds first, in rank order
    return np.take_along_axis(idx, order, axis=1)


def _train_round(x, z, src, tgt, m: LinearMap, opts: ContrastiveOptions, engine: Engine):
    """Train the square map ``A`` of one round; returns (A, loss before each step and after the last)."""
    px, pz = min(opts.neg_pool, x.shape[0]), min(opts.neg_pool, z.shape[0])
    xt, ls = _local(src, px)
    zt, lt = _local(tgt, pz)
    a = _unit(np.asarray(x[xt], np.float32) @ np.asarray(m.wx, np.float32))
    b = _unit(np.asarray(z[zt], np.float32) if m.wz is None else np.asarray(z[zt], np.float32) @ m.wz)
    k = opts.negatives
    neg_t = _hard_negatives(a[ls], b[:pz], k, np.unique(ls * len(zt) + lt), ls, len(zt), engine)
    neg_s = _hard_negatives(b[lt], a[:px], k, np.unique(lt * len(xt) + ls), lt, len(xt), engine)
    v_gold, v_neg = b[lt], b[neg_t]  # (B, r), (B, K, r): the target side does not move
    mat = np.eye(a.shape[1], dtype=np.float32)
    lr, losses = opts.lr, []
    for step in range(opts.steps + 1):
        loss, grad = _loss_grad(a, mat, ls, v_gold, v_neg, neg_s, opts.temperature)
        losses.append(loss)
        if step < opts.steps:
            mat -= np.float32(lr) * grad
            lr *= opts.decay
    return mat, losses


@one_blas_thread  # the same bytes whatever the BLAS threads
def _loss_grad(a: np.ndarray, mat: np.ndarray, ls: np.ndarray, v_gold: np.ndarray, v_neg: np.ndarray,
               neg_s: np.ndarray, tau: float) -> tuple[float, np.ndarray]:
    """The InfoNCE loss of map ``mat`` and its gradient (mapped rows normalised, norms held constant).

    Logits of pair i: ``[u_i·v_i, u_i·v'_ik, u'_ik·v_i] / tau`` with ``u = unit(a mat)``, ``u_i`` the
    pair's source, ``v_i`` its target, ``v'`` the target negatives and ``u'`` the source ones."""
    from scipy.sparse import csr_matrix

    u = a @ mat
    norm = np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-12)
    u /= norm
    anchor = u[ls]
    n_pairs, k = neg_s.shape
    logits = np.concatenate([np.einsum("br,br->b", anchor, v_gold)[:, None],
                             np.einsum("br,bkr->bk", anchor, v_neg),
                             np.einsum("bkr,br->bk", u[neg_s], v_gold)], axis=1) / np.float32(tau)
    top = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - top)
    total = e.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(total[:, 0]) + top[:, 0] - logits[:, 0]))
    g = (e / total) / np.float32(n_pairs * tau)  # d loss / d cosine (the gold's minus 1/(B tau) below)
    g[:, 0] -= np.float32(1.0 / (n_pairs * tau))
    d_anchor = g[:, :1] * v_gold + np.einsum("bk,bkr->br", g[:, 1:k + 1], v_neg)
    rows = np.concatenate([ls, neg_s.ravel()])
    cols = np.concatenate([np.arange(n_pairs), n_pairs + np.arange(n_pairs * k)])
    scatter = csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(u.shape[0], n_pairs * (k + 1)))
    d_neg = (g[:, k + 1:, None] * v_gold[:, None, :]).reshape(n_pairs * k, -1)
    d_u = scatter @ np.concatenate([d_anchor, d_neg]) / norm
    return loss, (a.T @ d_u).astype(np.float32)
