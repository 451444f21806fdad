"""What every xling command shares: errors, progress bars, vector loading, JSON, signatures.

Results go to stdout; progress, warnings and errors go to stderr, so pipelines work.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import os
import sys
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any

import typer
from rich.console import Console

from ..data.errors import XlingError
from ..data.jsonfile import RecordKind, dumps, record, write_record


class _Console(Console):
    """rich's Console, but a closed pipe is a BrokenPipeError for :func:`closed_stdout` (rich's own
    handling exits 1, which breaks ``set -o pipefail`` pipelines such as ``xling ... | head -1``)."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


err_console = _Console(stderr=True, highlight=False, soft_wrap=True)
out_console = _Console(highlight=False, soft_wrap=True)


class _State:
    quiet: bool = False


state = _State()


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _v

    try:
        return _v("xling")
    except PackageNotFoundError:  # pragma: no cover
        return "0+unknown"


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``xling: error: message`` (one line) on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]xling: error:[/] {escape(message)}")
    return typer.Exit(code)


def warn(message: str) -> None:
    if not state.quiet:
        err_console.print(f"[yellow]xling: warning:[/] {escape(message)}")


def info(message: str) -> None:
    if not state.quiet:
        err_console.print(message)


def escape(text: str) -> str:
    from rich.markup import escape as _e

    return _e(str(text))


def handle_errors(fn: Callable) -> Callable:
    """Turn user errors into one line on stderr and exit code 2 (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except XlingError as e:
            raise fail(str(e), e.exit_code) from None
        except FileNotFoundError as e:
            raise fail(f"{e.filename}: no such file") from None
        except IsADirectoryError as e:
            raise fail(f"{e.filename}: is a directory") from None
        except PermissionError as e:
            raise fail(f"{e.filename}: permission denied") from None
        except MemoryError:
            raise fail("out of memory: try a smaller --max-vocab or --chunk-size") from None
        except BrokenPipeError:  # e.g. `xling ... | head`
            raise closed_stdout() from None
        except OSError as e:  # a file system error no writer translated: one line, the user's path
            from ..data.atomic import _reason, shown_path

            if e.filename is None:
                raise
            raise fail(f"{shown_path(e.filename)}: {_reason(e)}") from None
        except KeyboardInterrupt as e:
            raise interrupted(e) from None

    return wrapper


def interrupted(e: KeyboardInterrupt) -> typer.Exit:
    """The one line for an interrupt (``interrupted``; ``interrupted (SIGTERM)``) and the Exit to
    raise: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    import signal

    from ..data.parallel import Interrupted

    signum = e.signum if isinstance(e, Interrupted) else signal.SIGINT
    name = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
    return fail(f"interrupted{name}", 128 + signum)


def closed_stdout() -> typer.Exit:
    """The reader of stdout went away (``xling ... | head -1``): not an error. Standard output
    becomes /dev/null (so the final flush cannot fail) and the Exit(0) to raise is returned."""
    with contextlib.suppress(Exception):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return typer.Exit(0)


def no_progress(done: int, total: int = 0) -> None:
    """The ``update(done, total)`` of a silent progress bar: does nothing."""


@contextlib.contextmanager
def progress(description: str, total: int | None = None, unit: str = "") -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr; yields ``update(done, total)``. Silent with ``--quiet``."""
    if state.quiet or not err_console.is_terminal:
        yield no_progress
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    cols = [TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn()]
    if unit == "bytes":
        from .bars import MeanRateColumn  # rich's TransferSpeedColumn showed bursts as TB/s
        cols += [DownloadColumn(), MeanRateColumn()]
    else:
        cols += [MofNCompleteColumn()]
    cols += [TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*cols, console=err_console, transient=True, disable=state.quiet) as p:
        task = p.add_task(description, total=total)

        def update(done: int, tot: int = 0) -> None:
            p.update(task, completed=done, total=tot or None)

        yield update


def emit_json(obj: Any, kind: RecordKind | None = None) -> None:
    """One JSON record on stdout (UTF-8, non-ASCII kept, NaN written as null); with ``kind``, the
    record starts with its ``"kind"`` and ``"schema"`` (see :func:`xling.data.jsonfile.record`).

    When stdout already carried the command's data (an output ``-``, e.g. ``convert IN - --json``),
    the record goes to stderr instead: the data stream is never mixed with a record."""
    from ..data import atomic

    console = err_console if atomic.stdout_carries_data else out_console
    console.file.write(dumps(record(kind, obj) if kind is not None else obj))
    console.file.flush()


def write_json(path: str | os.PathLike, obj: Any, kind: RecordKind | None = None) -> None:
    """Write one JSON record to ``path`` atomically (same form as ``emit_json``, ``kind`` as there)."""
    write_record(path, obj, kind)


def signature(**parts: Any) -> str:
    """``a=1|b=x|xling=0.1.0``: the recipe printed next to every result."""
    items = [f"{k}={v.value if isinstance(v, Enum) else v}" for k, v in parts.items() if v is not None]
    items.append(f"xling={version()}")
    return "|".join(items)


def load_vectors(path: str, *, max_vocab: int | None = None, label: str = "", **kwargs):
    """Load vectors with a progress bar and report dropped rows as warnings."""
    from ..data.vectors import load_embeddings

    size = os.path.getsize(path) if os.path.isfile(path) else None  # the bar's total from the start
    with progress(f"reading {label or os.path.basename(path)}", size, unit="bytes") as upd:
        emb = load_embeddings(path, max_vocab=max_vocab, progress=upd, **kwargs)
    rep = emb.report
    if rep is not None:
        if rep.duplicates_dropped:
            warn(f"{path}: {rep.duplicates_dropped} duplicate words dropped (kept the first), "
                 f"e.g. {', '.join(map(repr, rep.duplicate_examples[:3]))}")
        if rep.nonfinite_dropped:
            warn(f"{path}: {rep.nonfinite_dropped} rows with NaN/inf dropped")
    return emb


def write_vectors(emb, path: str, *, format=None, precision: int = 6, label: str = "") -> None:
    from ..data.vectors import VecFormat, save_embeddings

    with progress(f"writing {label or os.path.basename(path)}", unit="rows") as upd:
        save_embeddings(emb, path, format=format or VecFormat.auto, precision=precision, progress=upd)
