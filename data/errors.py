"""Exceptions that carry a message a user can act on.

The CLI turns every :class:`XlingError` into one line on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import os


class XlingError(Exception):
    """Base class for user-facing errors (bad input, impossible request)."""

    exit_code = 2


class InputError(XlingError, ValueError):
    """A problem with an input file, located by path and (1-based) line number.

    ``str(err)`` is ``"path:line: message"`` (or ``"path: message"`` when no line applies),
    the form compilers use, so editors and ``grep`` can jump to it.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        where = ""
        if self.path is not None:
            where = self.path + (f":{line}" if line is not None else "") + ": "
        super().__init__(where + message)

    def __reduce__(self):  # survives a trip through a pipe from a worker process
        return (type(self), (self.message, self.path, self.line))


class DeviceError(XlingError, RuntimeError):
    """A requested device or backend is not available (e.g. ``device='cuda'`` without CUDA)."""


class OutputError(XlingError):
    """Writing an output failed or was refused; ``str(err)`` is ``"path: reason"`` with the user's path."""

    def __init__(self, message: str, path: str | os.PathLike):
        self.message = message
        self.path = os.fspath(path)
        XlingError.__init__(self, f"{self.path}: {message}")

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"
