"""Alignment results as files: save a learned map, load it back, apply it to new vectors.

An ``xling align`` folder holds ``map.npy`` (the source transform), ``tgt_map.npy`` (the target
transform, only when the target is transformed too) and ``record.json`` (kind ``align``: how the
map was learned and the normalisation of each side). An ``xling align-multi`` folder holds one
``map-<name>.npy`` per space and a ``record.json`` (kind ``align-multi``) whose ``spaces`` give
each map's normalisation. Applying a map repeats the recorded normalisation, then ``X @ W``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from ..data.atomic import shown_path
from ..data.errors import InputError
from ..data.jsonfile import RecordKind, read_json, record_kind, write_record
from .normalize import NormRecord, apply_record
from .procrustes import LinearMap, map_rows

MAP_FILE = "map.npy"
TGT_MAP_FILE = "tgt_map.npy"
RECORD_FILE = "record.json"


class Side(str, Enum):
    src = "src"
    tgt = "tgt"


@dataclass
class SideMap:
    """One space's way into the aligned space: its normalisation (``None``: none), then ``w``
    (``None``: the space stays as it is, e.g. the target of a target-space map)."""

    w: np.ndarray | None
    norm: NormRecord | None = None

    @property
    def in_dim(self) -> int | None:
        """The dimension of the vectors it takes (``None``: any, no matrix and no statistics)."""
        if self.w is not None:
            return int(self.w.shape[0])
        stats = [a for a in (self.norm.stats if self.norm is not None else []) if a is not None]
        return int(stats[0].size) if stats else None

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """``normalize(vectors) @ w`` as float32, shape (n, d_in) -> (n, d_out)."""
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2 or (self.in_dim is not None and vectors.shape[1] != self.in_dim):
            raise InputError(f"the map takes {self.in_dim}-d vectors, got shape {vectors.shape}")
        x = apply_record(vectors, self.norm) if self.norm is not None else vectors
        return x if self.w is None else map_rows(x, self.w)

    @classmethod
    def load(cls, map_path: str | os.PathLike, *, record: str | os.PathLike | None = None,
             side: Side | None = None, normalize: bool = True) -> SideMap:
        """A map file written by ``xling align`` or ``align-multi`` with its normalisation.

        Parameters
        ----------
        map_path : path of ``map.npy``, ``tgt_map.npy`` or ``map-<name>.npy``
        record : path of the record, optional
            Default: ``record.json`` beside the map, when there is one (none: no normalisation).
        side : Side, optional
            Which normalisation of an ``align`` record (default: ``tgt`` for ``tgt_map.npy``, else ``src``).
        normalize : bool
            False: the matrix alone (the record is not read).
        """
        map_path = Path(map_path)
        w = load_matrix(map_path)
        side = side or (Side.tgt if map_path.name.startswith("tgt") else Side.src)
        rec_path = Path(record) if record is not None else map_path.parent / RECORD_FILE
        if not normalize or (record is None and not rec_path.exists()):
            return cls(w, None)
        data = _read_record(rec_path)
        try:
            if "spaces" in data:  # an align-multi record: the entry of this map
                entry = next(e for e in data["spaces"] if Path(e["map"]).name == map_path.name)
                return cls(w, NormRecord.from_dict(entry["normalization"]))
            return cls(w, NormRecord.from_dict(data[f"{side.value}_normalization"]))
        except (ValueError, KeyError, TypeError, StopIteration) as e:
            raise InputError(f"not an xling align record ({e})", rec_path) from None


@dataclass
class AlignedMap:
    """The result of :func:`xling.align.pipeline.align` as an artefact: the map, the normalisation
    of each side and the record (how it was learned).

    Examples
    --------
    >>> am = AlignedMap.from_result(align(x, z, pairs=pairs))   # doctest: +SKIP
    >>> am.save("out/"); AlignedMap.load("out/").apply(new_source_vectors)  # doctest: +SKIP
    """

    map: LinearMap
    src_norm: NormRecord
    tgt_norm: NormRecord
    record: dict = field(default_factory=dict)

    @classmethod
    def from_result(cls, result) -> AlignedMap:
        """From an :class:`~xling.align.pipeline.AlignResult` (its record is shared, not copied)."""
        return cls(result.map, result.src_norm, result.tgt_norm, result.record)

    def side(self, side: Side | str = Side.src) -> SideMap:
        side = Side(side)
        if side is Side.src:
            return SideMap(self.map.wx, self.src_norm)
        return SideMap(self.map.wz, self.tgt_norm)

    def apply(self, vectors: np.ndarray, side: Side | str = Side.src) -> np.ndarray:
        """New vectors of one side into the aligned space (its normalisation, then its transform)."""
        return self.side(side).apply(vectors)

    def save(self, folder: str | os.PathLike) -> dict:
        """Write ``map.npy`` (and ``tgt_map.npy``), then ``record.json`` (each file atomic; the folder
        is created). The record gains the normalisations and the map paths under ``outputs``;
        returns it as written (with its ``kind`` and ``schema``)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        outputs = self.record.setdefault("outputs", {})
        save_matrix(folder / MAP_FILE, self.map.wx)
        outputs["map"] = shown_path(folder / MAP_FILE)
        if self.map.wz is not None:
            save_matrix(folder / TGT_MAP_FILE, self.map.wz)
            outputs["tgt_map"] = shown_path(folder / TGT_MAP_FILE)
        self.record.update(src_normalization=self.src_norm.as_dict(), tgt_normalization=self.tgt_norm.as_dict())
        self.record["outputs"] = outputs  # after the normalisations, as xling align always wrote it
        return write_record(folder / RECORD_FILE, self.record, RecordKind.align)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> AlignedMap:
        """Read a folder written by :meth:`save` (or by ``xling align``, with or without ``kind``)."""
        folder = Path(folder)
        rec_path = folder / RECORD_FILE
        data = _read_record(rec_path)
        if record_kind(data) not in (None, RecordKind.align):
            raise InputError(f"a {data['kind']} record, not an xling align one", rec_path)
        wx = load_matrix(folder / MAP_FILE)
        wz = load_matrix(folder / TGT_MAP_FILE) if (folder / TGT_MAP_FILE).exists() else None
        try:
            src_norm = NormRecord.from_dict(data["src_normalization"])
            tgt_norm = NormRecord.from_dict(data["tgt_normalization"])
            isometric = bool(data.get("map", {}).get("isometric", False))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise InputError(f"not an xling align record ({e})", rec_path) from None
        return cls(LinearMap(wx, wz, isometric=isometric), src_norm, tgt_norm, data)


@dataclass
class MultiAlignment:
    """Several spaces brought into one (``xling align-multi``): one map and normalisation per space."""

    names: list[str]
    maps: list[np.ndarray]
    norms: list[NormRecord]
    record: dict = field(default_factory=dict)

    def side(self, name: str) -> SideMap:
        return SideMap(self.maps[self.names.index(name)], self.norms[self.names.index(name)])

    @staticmethod
    def map_file(name: str) -> str:
        return f"map-{name}.npy"

    def save(self, folder: str | os.PathLike, spaces: list[dict] | None = None) -> dict:
        """Write ``map-<name>.npy`` for each space, then ``record.json`` whose ``spaces`` list each
        map and normalisation (merged with ``spaces``: e.g. the input and output of each)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        entries = []
        for i, (name, w, norm) in enumerate(zip(self.names, self.maps, self.norms, strict=True)):
            save_matrix(folder / self.map_file(name), w)
            extra = spaces[i] if spaces else {}
            entries.append({**extra, "map": shown_path(folder / self.map_file(name)), "normalization": norm.as_dict()})
        self.record["spaces"] = entries
        return write_record(folder / RECORD_FILE, self.record, RecordKind.align_multi)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> MultiAlignment:
        folder = Path(folder)
        rec_path = folder / RECORD_FILE
        data = _read_record(rec_path)
        try:
            entries = data["spaces"]
            names = [Path(e["map"]).name[len("map-"):-len(".npy")] for e in entries]
            norms = [NormRecord.from_dict(e["normalization"]) for e in entries]
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"not an xling align-multi record ({e})", rec_path) from None
        return cls(names, [load_matrix(folder / cls.map_file(n)) for n in names], norms, data)


def save_matrix(path: Path, w: np.ndarray) -> None:
    """A float32 ``.npy`` written atomically (never pickled)."""
    from ..data.atomic import atomic_path

    with atomic_path(path, suffix=".npy") as tmp, open(tmp, "wb") as f:
        np.lib.format.write_array(f, np.ascontiguousarray(w, dtype=np.float32), allow_pickle=False)


def load_matrix(path: Path) -> np.ndarray:
    """A 2-d float matrix from ``.npy`` (no pickle); bad files raise InputError naming the file."""
    if not path.exists():
        raise InputError("no such file", path)
    try:
        w = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise InputError(f"not a map in .npy format: {e}", path) from None
    if w.ndim != 2 or w.dtype.kind != "f":
        raise InputError(f"expected a 2-d float matrix, found shape {w.shape}", path)
    return w


def _read_record(path: Path) -> dict:
    if not path.exists():
        raise InputError("no such file", path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError("not an xling align record (not a JSON object)", path)
    return data
