"""Reading JSON files given by users (records, model configs) with located errors."""
from __future__ import annotations

import json
import os
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
