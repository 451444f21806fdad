"""Reading JSON files given by users (records, model configs) with located errors."""
from __future__ import annotations

import json
import math
import os
from enum import Enum
from typing import Any

from .errors import InputError


def read_json(path: str | os.PathLike) -> Any:
    """Parse a UTF-8 JSON file; bad bytes or bad JSON raise InputError naming the file (and line)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON: {e.msg} (column {e.colno})", path, e.lineno) from None


#: version of the records' layout (``"schema"``): raised when a field changes meaning or goes away
SCHEMA = 1


class RecordKind(str, Enum):
    """What a JSON record written by xling is (its ``"kind"``); ``xling report`` dispatches on it."""

    align = "align"  # xling align: record.json (and --json)
    align_multi = "align-multi"  # xling align-multi: record.json
    lexicon_eval = "lexicon-eval"  # xling lexicon eval --json
    cade_train = "cade-train"  # xling cade train: cade.json
    cade_shift = "cade-shift"  # xling cade shift --json
    vocab_expand = "vocab-expand"  # xling vocab expand --json and the model's xling-vocab.json
    vocab_eval = "vocab-eval"  # xling vocab eval --json
    dict_stats = "dict-stats"  # xling data stats --json
    report = "report"  # xling report: report.json


def record(kind: RecordKind | str, body: dict) -> dict:
    """``body`` with ``"kind"`` and ``"schema"`` first (a body's own values of those keys are replaced).

    Examples
    --------
    >>> record(RecordKind.align, {"recipe": "semi"})
    {'kind': 'align', 'schema': 1, 'recipe': 'semi'}
    """
    return {"kind": RecordKind(kind).value, "schema": SCHEMA,
            **{k: v for k, v in body.items() if k not in ("kind", "schema")}}


def record_kind(obj: Any) -> RecordKind | None:
    """The kind a record declares (``None``: no ``kind``/``schema``, or a kind this version does not know)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("schema"), int):
        return None
    try:
        return RecordKind(obj.get("kind"))
    except ValueError:
        return None


def dumps(obj: Any) -> str:
    """The JSON text xling writes: UTF-8 (non-ASCII kept), indented, NaN/inf as null, enums as values,
    numpy scalars as numbers, one trailing newline."""
    return json.dumps(_clean(obj), ensure_ascii=False, indent=2) + "\n"


def write_record(path: str | os.PathLike, obj: Any, kind: RecordKind | str | None = None) -> Any:
    """Write ``obj`` (with ``kind``: as :func:`record`) to ``path`` atomically.

    Returns the record as written (what reading ``path`` back gives: NaN as None, tuples as lists).
    """
    from .atomic import atomic_open

    text = dumps(record(kind, obj) if kind is not None else obj)
    with atomic_open(path) as f:
        f.write(text)
    return json.loads(text)


def _clean(obj):
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, Enum):
        return obj.value
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return _clean(obj.item())
    return obj
