"""Solving the map from aligned rows: orthogonal / semi-orthogonal Procrustes and the
optional steps of the multi-step framework of Artetxe et al. (2018, AAAI).

Convention: rows are words and ``X @ W ≈ Y``. A :class:`LinearMap` holds the source
transform ``wx`` and, when the target is transformed too (whitening, re-weighting,
shared space), the target transform ``wz``; ``wz is None`` means the target stays as it is.

When the dimensions differ (GloVe-50 against a 300-d space), ``procrustes`` returns a
*semi-orthogonal* ``W`` of shape (dx, dz) with orthonormal rows (``W Wᵀ = I``): the source
lands isometrically in a dx-dimensional subspace of the target space, which is what padding
the source with zero columns by hand and running square Procrustes gives, without the padding.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from ..data.blas import MAP_BLOCK_ROWS, blas_threads, gram_rows, map_rows, one_blas_thread  # noqa: F401 (re-exported)
from ..data.errors import XlingError


class MapSpace(str, Enum):
    target = "target"  # X @ W ≈ Z: the target space stays as it is
    shared = "shared"  # X @ U ≈ Z @ V: both projected to a common min(dx, dz)-d space
    whitened = "whitened"  # both whitened, rotated into a common space and re-weighted (Artetxe et al. 2018)


class Dewhiten(str, Enum):
    none = "none"
    src = "src"
    trg = "trg"


#: re-weighting exponent of the ``whitened`` space when no re-weighting is given
WHITENED_REWEIGHT = 0.5


@dataclass(frozen=True)
class MapOptions:
    """The steps of the map (all off: plain orthogonal Procrustes).

    ``space=MapSpace.whitened`` implies the steps that define it: whitening, and re-weighting
    by ``S ** WHITENED_REWEIGHT`` on a side whose re-weighting is not given (0).
    """

    whiten: bool = False
    src_reweight: float = 0.0
    trg_reweight: float = 0.0
    src_dewhiten: Dewhiten = Dewhiten.none
    trg_dewhiten: Dewhiten = Dewhiten.none
    dim_reduction: int = 0
    space: MapSpace = MapSpace.target

    def __post_init__(self):
        if self.space is MapSpace.whitened:
            object.__setattr__(self, "whiten", True)
            object.__setattr__(self, "src_reweight", self.src_reweight or WHITENED_REWEIGHT)
            object.__setattr__(self, "trg_reweight", self.trg_reweight or WHITENED_REWEIGHT)

    @property
    def plain(self) -> bool:
        return (not self.whiten and self.src_reweight == 0 and self.trg_reweight == 0 and self.dim_reduction == 0
                and self.space is MapSpace.target)


DEFAULT_MAP_OPTIONS = MapOptions()  # the plain map: the default of the functions that take MapOptions


@dataclass
class LinearMap:
    """``x -> x @ wx`` for the source and ``z -> z @ wz`` for the target (``wz=None``: identity).

    ``isometric`` is true when ``wx`` has orthonormal rows and ``wz`` is None: then
    ``cos(x wx, z) = x·(z wxᵀ) / (|x| |z|)``, which lets similarities be computed in the
    smaller space (see :func:`sim_spaces`).
    """

    wx: np.ndarray
    wz: np.ndarray | None = None
    isometric: bool = False

    @property
    def out_dim(self) -> int:
        return int(self.wx.shape[1])


def procrustes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Orthogonal (semi-orthogonal when dims differ) ``W`` minimising ``|X W - Y|_F``.

    Parameters
    ----------
    x : ndarray, shape (m, dx)
    y : ndarray, shape (m, dy)
        Row ``i`` of ``x`` translates to row ``i`` of ``y``.

    Returns
    -------
    w : ndarray, shape (dx, dy), float32, with ``W Wᵀ = I`` when dx <= dy (``Wᵀ W = I`` otherwise)
    """
    x, y = _pair(x, y)
    with blas_threads(1):  # small, and the same bytes whatever the thread count
        # 1. cross-covariance in float64 (small: dx × dy)
        m = x.T.astype(np.float64) @ y.astype(np.float64)
        # 2. W = U Vᵀ from the thin SVD: the polar factor of M
        u, _, vt = np.linalg.svd(m, full_matrices=False)
        return (u @ vt).astype(np.float32)


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise XlingError(f"aligned rows expected: got shapes {x.shape} and {y.shape}")
    if x.shape[0] == 0:
        raise XlingError("no aligned pair to learn a map from")
    return x, y


def _sym_power(a: np.ndarray, p: float) -> np.ndarray:
    """``A^p`` of a symmetric positive semi-definite matrix (tiny eigenvalues clipped)."""
    w, v = np.linalg.eigh(a)
    w = np.maximum(w, w.max() * 1e-8 if w.max() > 0 else 1e-12)
    return (v * w ** p) @ v.T


def solve_map(x: np.ndarray, z: np.ndarray, opts: MapOptions = MapOptions()) -> LinearMap:
    """Learn the map from aligned dictionary rows.

    The products and decompositions here are small (d x d): they run on one BLAS thread,
    since multi-threaded LAPACK on such sizes can be 100x slower on a busy machine.

    Parameters
    ----------
    x : ndarray, shape (m, dx)
        Source vectors of the dictionary pairs (normalised).
    z : ndarray, shape (m, dz)
        Target vectors of the same pairs.
    opts : MapOptions

    Returns
    -------
    LinearMap
        plain options: ``wx`` (dx, dz) semi-orthogonal and ``wz=None``; otherwise both
        transforms into the common space (dimension ``min(dx, dz)`` or ``dim_reduction``).
    """
    with blas_threads(1):
        return _solve_map(*_pair(x, z), opts)


def _solve_map(x: np.ndarray, z: np.ndarray, opts: MapOptions) -> LinearMap:
    if opts.plain:
        return LinearMap(procrustes(x, z), None, isometric=x.shape[1] <= z.shape[1])
    x64, z64 = x.astype(np.float64), z.astype(np.float64)
    # 1. whitening (each side by its own covariance over the dictionary rows)
    if opts.whiten:
        wx1 = _sym_power(x64.T @ x64, -0.5)
        wz1 = _sym_power(z64.T @ z64, -0.5)
    else:
        wx1, wz1 = np.eye(x.shape[1]), np.eye(z.shape[1])
    xw, zw = x64 @ wx1, z64 @ wz1
    # 2. orthogonal mapping of both sides into a common space
    u, s, vt = np.linalg.svd(xw.T @ zw, full_matrices=False)
    wx2, wz2 = u, vt.T
    # 3. re-weighting by the singular values
    rx = np.diag(s ** opts.src_reweight)
    rz = np.diag(s ** opts.trg_reweight)
    # 4. de-whitening (by the source's or the target's whitening, seen through the rotation)
    wx = wx1 @ wx2 @ rx @ _dewhiten(opts.src_dewhiten, wx1, wz1, wx2, wz2, opts.whiten)
    wz = wz1 @ wz2 @ rz @ _dewhiten(opts.trg_dewhiten, wx1, wz1, wx2, wz2, opts.whiten)
    # 5. dimensionality reduction: keep the leading components
    if opts.dim_reduction:
        if opts.dim_reduction > wx.shape[1]:
            raise XlingError(f"--dim-reduction {opts.dim_reduction} is larger than the common space "
                             f"({wx.shape[1]}-d)")
        wx, wz = wx[:, :opts.dim_reduction], wz[:, :opts.dim_reduction]
    return LinearMap(wx.astype(np.float32), wz.astype(np.float32), isometric=False)


def _dewhiten(which: Dewhiten, wx1, wz1, wx2, wz2, whitened: bool) -> np.ndarray:
    r = wx2.shape[1]
    if which is Dewhiten.none or not whitened:
        return np.eye(r)
    if which is Dewhiten.src:
        return wx2.T @ np.linalg.pinv(wx1) @ wx2
    return wz2.T @ np.linalg.pinv(wz1) @ wz2


def sim_spaces(x: np.ndarray, z: np.ndarray, m: LinearMap | None) -> tuple[np.ndarray, np.ndarray]:
    """Matrices ``a`` (nx, r) and ``b`` (nz, r) with ``a @ b.T = cos(map(x), map(z))``, computed in
    the smallest space that gives them exactly.

    With an isometric map (``W Wᵀ = I``, the source of dimension dx <= dz),
    ``cos(x W, z) = (x/|x|)·((z/|z|) Wᵀ)``: targets are projected through ``Wᵀ`` once, keeping
    their *full* norm, and every similarity then costs dx instead of dz multiply-adds.
    ``m=None`` compares ``x`` and ``z`` as they are (same dimension). The retrieval functions of
    :mod:`xling.lexicon.retrieval` take these with ``metric=ip``.
    """
    from ..data.embeddings import unit_rows

    if m is None:
        return unit_rows(x), unit_rows(z)
    if m.wz is None and m.isometric:
        return unit_rows(x), map_rows(z, m.wx.T, unit=True)
    a = unit_rows(map_rows(x, m.wx))
    b = unit_rows(z) if m.wz is None else unit_rows(map_rows(z, m.wz))
    return a, b
