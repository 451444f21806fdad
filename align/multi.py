"""Several languages into one space.

``pivot``
    every language is mapped onto the first (the pivot) with its own dictionary, by
    (semi-)orthogonal Procrustes: the pivot space is the shared space.
``gpa``
    generalised Procrustes analysis: pivot words with a translation in every language form
    tuples; a consensus space (the mean of the mapped tuple rows) and one orthogonal map per
    language are re-estimated in turn until the fit stops improving. No language is privileged.
"""
from __future__ import annotations

from enum import Enum

import numpy as np

from ..data.errors import XlingError
from .procrustes import one_blas_thread, procrustes


class MultiMethod(str, Enum):
    pivot = "pivot"
    gpa = "gpa"


def _tuples(n_pivot_rows: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Rows (pivot, lang1, lang2, ...) for pivot words translated into every other language
    (the first translation of each), shape (m, 1 + len(pairs))."""
    firsts = []
    for s, t in pairs:
        d: dict[int, int] = {}
        for a, b in zip(s.tolist(), t.tolist(), strict=True):
            d.setdefault(a, b)
        firsts.append(d)
    common = sorted(set.intersection(*(set(d) for d in firsts))) if firsts else []
    return np.asarray([[p] + [d[p] for d in firsts] for p in common], dtype=np.int64).reshape(-1, 1 + len(pairs))


@one_blas_thread  # the same bytes whatever the BLAS threads
def align_multi(spaces: list[np.ndarray], pairs: list[tuple[np.ndarray, np.ndarray]], *,
                method: MultiMethod = MultiMethod.pivot, iterations: int = 100,
                tol: float = 1e-7) -> tuple[list[np.ndarray], dict]:
    """Maps bringing every space into one.

    Parameters
    ----------
    spaces : list of ndarray, shapes (n_i, d_i)
        Normalised vectors; ``spaces[0]`` is the pivot.
    pairs : list of (pivot rows, language-i rows), one per non-pivot space
        Dictionaries pivot -> language ``i + 1`` as row indices.
    method : MultiMethod

    Returns
    -------
    maps : list of ndarray, shapes (d_i, D)
        ``spaces[i] @ maps[i]`` are in the shared space (``D`` = the pivot's dimension for
        ``pivot``, the largest dimension for ``gpa``). The pivot's map is the identity for ``pivot``.
    info : dict (tuples used, iterations, final fit)
    """
    if len(spaces) < 2 or len(pairs) != len(spaces) - 1:
        raise XlingError("align-multi needs at least two spaces and one dictionary per non-pivot space")
    d0 = spaces[0].shape[1]
    if method is MultiMethod.pivot:
        maps: list[np.ndarray] = [np.eye(d0, dtype=np.float32)]
        for x, (s, t) in zip(spaces[1:], pairs, strict=True):
            maps.append(procrustes(x[t], spaces[0][s]))
        return maps, {"method": method.value}
    tup = _tuples(spaces[0].shape[0], pairs)
    if tup.shape[0] < 2:
        raise XlingError("GPA needs pivot words translated into every language: fewer than 2 found "
                         "(use --method pivot)")
    dim = max(x.shape[1] for x in spaces)
    rows = [x[tup[:, i]].astype(np.float64) for i, x in enumerate(spaces)]
    # 1. start from the pivot maps (the pivot padded into the common dimension)
    maps = [np.eye(spaces[0].shape[1], dim)]
    maps += [procrustes(r, rows[0] @ maps[0]).astype(np.float64) for r in rows[1:]]
    prev = np.inf
    it = 0
    fit = prev
    while it < iterations:
        it += 1
        # 2. consensus = mean of the mapped tuples; 3. each map re-solved against it
        mapped = [r @ w for r, w in zip(rows, maps, strict=True)]
        consensus = np.mean(mapped, axis=0)
        fit = float(np.mean([np.sum((mp - consensus) ** 2) for mp in mapped]) / tup.shape[0])
        if prev - fit < tol * max(1.0, prev if np.isfinite(prev) else 1.0):
            break
        prev = fit
        maps = [procrustes(r, consensus).astype(np.float64) for r in rows]
    return [w.astype(np.float32) for w in maps], {"method": method.value, "tuples": int(tup.shape[0]),
                                                   "iterations": it, "fit": fit}
