"""Atomic output: write to a temporary file beside the target, rename on success.

An interrupted run never leaves a half-written output under the final name.
``"-"`` means standard output (text or bytes), which cannot be atomic.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    ``suffix`` is appended to the temporary name (some libraries insist on an extension).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                errors: str | None = "surrogateescape", newline: str | None = "\n") -> Iterator[IO]:
    """``open()`` for writing that renames into place on success; ``"-"`` is stdout."""
    binary = "b" in mode
    if os.fspath(path) == "-":
        if binary:
            yield sys.stdout.buffer
            sys.stdout.buffer.flush()
        else:
            stream = io.TextIOWrapper(sys.stdout.buffer, encoding=encoding or "utf-8", errors=errors,
                                      newline=newline, write_through=True) \
                if hasattr(sys.stdout, "buffer") else sys.stdout
            try:
                yield stream
                stream.flush()
            finally:
                if stream is not sys.stdout:
                    stream.detach()
        return
    with atomic_path(path) as tmp:
        kwargs = {} if binary else {"encoding": encoding, "errors": errors, "newline": newline}
        with open(tmp, mode, **kwargs) as f:
            yield f
