"""Where the first dictionary comes from when there is none (or to add to one).

``identical``
    words spelled the same in both vocabularies (``"paris"``, ``"1990"``, ``"internet"``);
``numerals``
    only the identical numbers (:func:`xling.data.identical.is_numeral`, the one definition that
    ``xling data identical --mode numerals`` uses too), the safest anchors;
``unsupervised``
    no anchor at all: the similarity-distribution initialisation of Artetxe et al. (2018, ACL).
    Words that translate each other have similar *sorted* profiles of similarities to the
    other words of their own language, whatever the rotation between the spaces, so the
    sorted rows of the (square-rooted) Gram matrices of the most frequent words are
    comparable across languages.

Also the hold-out split of a seed dictionary by source word, for validation.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.embeddings import unit_rows
from ..data.errors import XlingError
from ..data.identical import is_numeral
from ..lexicon.knn import Engine, resolve_engine
from ..lexicon.retrieval import Direction, RetrievalParams, induce_pairs

DEFAULT_RETRIEVAL = RetrievalParams()


def identical_pairs(src_words: Sequence[str], tgt_words: Sequence[str], *, numerals_only: bool = False,
                    max_rank: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (src, tgt) of the words spelled identically in both vocabularies.

    ``numerals_only`` keeps the numbers only (:func:`xling.data.identical.is_numeral`);
    ``max_rank`` keeps only words among the first ``max_rank`` of both vocabularies.
    Returns two int64 arrays of equal length, in source order.
    """
    n_s = len(src_words) if max_rank is None else min(max_rank, len(src_words))
    n_t = len(tgt_words) if max_rank is None else min(max_rank, len(tgt_words))
    tgt_index = {w: i for i, w in enumerate(tgt_words[:n_t])}
    s_idx, t_idx = [], []
    for i, w in enumerate(src_words[:n_s]):
        j = tgt_index.get(w)
        if j is None or (numerals_only and not is_numeral(w)):
            continue
        s_idx.append(i)
        t_idx.append(j)
    return np.asarray(s_idx, dtype=np.int64), np.asarray(t_idx, dtype=np.int64)


def similarity_profiles(x: np.ndarray, size: int = 4000) -> np.ndarray:
    """Sorted, normalised similarity profiles of the first ``size`` rows, shape (size, size).

    1. ``(X Xᵀ)^{1/2}`` through the SVD of ``X`` (``U S Uᵀ``): the square root makes the
       profiles less dominated by a few large similarities;
    2. each row sorted (this removes the dependence on word order, hence on the language);
    3. rows unit-normalised, columns centred, rows unit-normalised again.
    """
    from ..lexicon.knn import blas_threads

    xs = np.asarray(x[:size], dtype=np.float64)
    with blas_threads(1):  # the same bytes whatever the BLAS threads
        u, s, _ = np.linalg.svd(xs, full_matrices=False)
        sim = (u * s) @ u.T
    sim.sort(axis=1)
    sim = sim.astype(np.float32)
    sim = unit_rows(sim)
    sim -= sim.mean(axis=0)
    return unit_rows(sim)


def unsupervised_seed(x: np.ndarray, z: np.ndarray, *, size: int = 4000,
                      retrieval: RetrievalParams = DEFAULT_RETRIEVAL,
                      engine: Engine | None = None) -> tuple[np.ndarray, np.ndarray]:
    """An initial dictionary without any anchor (similarity-distribution initialisation).

    Parameters
    ----------
    x : ndarray, shape (nx, dx)
        Normalised source vectors, most frequent first.
    z : ndarray, shape (nz, dz)
        Normalised target vectors, most frequent first (dimensions may differ).
    size : int
        How many frequent words of each side take part.
    retrieval : RetrievalParams
        Criterion of the matches between the profiles (default CSLS, k=10).

    Returns
    -------
    src, tgt : int64 arrays, the forward and backward best matches between the profiles
    (sorted, unique)
    """
    size = min(size, x.shape[0], z.shape[0])
    if size < 2:
        raise XlingError("the unsupervised seed needs at least 2 words on each side")
    eng = engine or resolve_engine()
    px, pz = similarity_profiles(x, size), similarity_profiles(z, size)
    src, tgt, _ = induce_pairs(px, pz, retrieval, direction=Direction.union, engine=eng)
    return src, tgt


def holdout_split(src_idx: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split dictionary pairs by *source word*: every translation of a held-out word is held out.

    Returns two boolean masks over the pairs (train, validation). ``fraction`` of the
    distinct source words (at least one, and never all) go to validation.
    """
    src_idx = np.asarray(src_idx)
    words = np.unique(src_idx)
    if fraction <= 0 or words.size < 2:
        return np.ones(src_idx.size, bool), np.zeros(src_idx.size, bool)
    n_val = min(words.size - 1, max(1, int(round(fraction * words.size))))
    rng = np.random.default_rng(seed)
    val_words = rng.choice(words, size=n_val, replace=False)
    val = np.isin(src_idx, val_words)
    return ~val, val
