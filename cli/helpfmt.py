"""How option types and arguments read in ``--help``: click's plain words, not Python type names.

Recent Typer releases print each option's Python type as a placeholder (``<bool>`` after a flag,
``<str>``, ``<list[str]>``, ``<int range>``) and arguments in lower case inside braces
(``{lang}``). Importing this module once (``cli/main.py`` does) makes every command of the app
show what click always showed: nothing after a flag, ``TEXT``/``INTEGER``/``FLOAT``/``PATH``,
``[a|b]`` for choices, and arguments as ``LANG`` / ``[LANG]``. Older Typer releases, which
already print that, are left as they are.
"""
from __future__ import annotations

import re

_WORDS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "bool": "BOOLEAN", "int range": "INTEGER",
          "float range": "FLOAT", "path": "PATH", "file": "FILE", "directory": "DIRECTORY",
          "datetime": "DATETIME", "UUID": "UUID"}


def plain_type(label: str | None, *, is_flag: bool = False) -> str | None:
    """``"<list[str]>"`` -> ``"TEXT"``, ``"<tsv|muse>"`` -> ``"[tsv|muse]"``, a flag's ``"<bool>"`` -> None."""
    if label is None or is_flag:
        return None
    m = re.fullmatch(r"<(.*)>", label)
    if not m:
        return label
    inner = m.group(1)
    lm = re.fullmatch(r"list\[(.*)\]", inner)
    if lm:
        inner = lm.group(1)
    if inner in _WORDS:
        return _WORDS[inner]
    if "|" in inner:
        return f"[{inner}]"
    return inner.upper()


def _install() -> None:
    try:
        from typer import core
    except ImportError:  # pragma: no cover
        return
    base = getattr(core, "_TyperParameter", None)
    if base is None or not hasattr(base, "display_type"):
        return  # an older Typer: its help already reads like click's
    original = base.display_type
    if getattr(original, "_xling", False):
        return

    def display_type(self, ctx):
        return plain_type(original(self, ctx), is_flag=bool(getattr(self, "is_flag", False))
                          and not getattr(self, "count", False))

    display_type._xling = True  # type: ignore[attr-defined]
    base.display_type = display_type

    arg = getattr(core, "TyperArgument", None)
    if arg is not None and hasattr(arg, "_usage_display_name"):
        def display_name_raw(self) -> str:
            return self.metavar if self.metavar is not None else (self.name or "").upper()

        def _usage_display_name(self) -> str:
            name = self.display_name_raw
            name = name if self.required else f"[{name}]"
            return name + ("..." if self.nargs != 1 else "")

        arg.display_name_raw = property(display_name_raw)
        arg._usage_display_name = _usage_display_name


_install()
