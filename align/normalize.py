"""Normalisation steps applied to a space before mapping, in the order given.

``unit``
    scale every row to length 1 (zero rows stay zero);
``center``
    subtract the column means;
``unitdim``
    scale every column to unit standard deviation (mean-centred columns stay centred).

``unit,center,unit`` is the composition that works best for mapping-based alignment
(Artetxe et al. 2018). :func:`normalize` returns the new matrix and a :class:`NormRecord`
holding the statistics it used, so :func:`apply_record` can repeat exactly the same
transformation on further vectors of that space (``xling apply``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from ..data.embeddings import unit_rows
from ..data.errors import XlingError


class NormStep(str, Enum):
    unit = "unit"
    center = "center"  # type: ignore[assignment]  # the member shadows str.center (str mixin); the name is public API
    unitdim = "unitdim"


def parse_steps(spec: str | Sequence[str | NormStep] | None) -> tuple[NormStep, ...]:
    """``"unit,center,unit"`` (or a list) -> steps; ``""``/``"none"`` -> no step."""
    if spec is None:
        return ()
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    out = []
    for s in items:
        if s in ("", "none"):
            continue
        try:
            out.append(NormStep(s))
        except ValueError:
            raise XlingError(f"unknown normalisation step {s!r}: use a comma-separated list of "
                             f"{', '.join(m.value for m in NormStep)} (or 'none')") from None
    return tuple(out)


@dataclass
class NormRecord:
    """The steps applied and, for ``center``/``unitdim``, the column statistics used.

    ``stats[i]`` is ``None`` for ``unit`` and an array of shape (d,) (the mean, or the
    standard deviation) for ``center``/``unitdim``.
    """

    steps: tuple[NormStep, ...] = ()
    stats: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"steps": [s.value for s in self.steps],
                "stats": [None if a is None else [float(v) for v in a] for a in self.stats]}

    @classmethod
    def from_dict(cls, d: dict) -> NormRecord:
        steps = parse_steps(list(d.get("steps", [])))
        stats = [None if a is None else np.asarray(a, dtype=np.float32) for a in d.get("stats", [])]
        if len(stats) != len(steps):
            raise XlingError("normalisation record: one statistic entry per step expected")
        return cls(steps, stats)

    def signature(self) -> str:
        return ",".join(s.value for s in self.steps) or "none"


def normalize(x: np.ndarray, steps: str | Sequence[str | NormStep] | None) -> tuple[np.ndarray, NormRecord]:
    """Apply normalisation ``steps`` in order.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    steps : str or sequence
        e.g. ``"unit,center,unit"``.

    Returns
    -------
    y : ndarray, shape (n, d), float32, a new array (``x`` is never modified)
    record : NormRecord
    """
    steps = parse_steps(steps)
    y = np.array(x, dtype=np.float32, copy=True)
    stats: list = []
    for step in steps:
        if step is NormStep.unit:
            y = unit_rows(y)
            stats.append(None)
        elif step is NormStep.center:
            mean = y.mean(axis=0, dtype=np.float64).astype(np.float32)
            y -= mean
            stats.append(mean)
        else:  # unitdim
            std = y.std(axis=0, dtype=np.float64).astype(np.float32)
            std[std == 0] = 1.0
            y /= std
            stats.append(std)
    return y, NormRecord(steps, stats)


def apply_record(x: np.ndarray, record: NormRecord) -> np.ndarray:
    """Repeat a recorded normalisation on new vectors (same statistics), shape (n, d) -> (n, d)."""
    y = np.array(x, dtype=np.float32, copy=True)
    for step, st in zip(record.steps, record.stats, strict=True):
        if step is NormStep.unit:
            y = unit_rows(y)
            continue
        if st.shape != (y.shape[1],):
            raise XlingError(f"the recorded normalisation is for {st.shape[0]}-d vectors, these are {y.shape[1]}-d")
        if step is NormStep.center:
            y -= st
        else:
            y /= st
    return y
