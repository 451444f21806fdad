"""Forked worker processes for the parallel text reader and writer.

:func:`fork_imap` runs ``fn(item)`` for every item in ``workers`` forked processes and yields
the results in item order. Everything a worker needs travels as arguments of ``fn`` (a
closure or :func:`functools.partial`), inherited through ``fork`` without pickling: no
module globals. Each worker sends its results through its own pipe; a worker runs at most
one result ahead of the parent (the pipe blocks), so memory stays bounded.

A :class:`~xling.data.errors.XlingError` raised in a worker is raised again in the parent.
"""
from __future__ import annotations

import contextlib
import traceback
from typing import Any, Callable, Iterator, Sequence

from .errors import XlingError


def _work(fn: Callable[[Any], Any], items: Sequence[Any], conn) -> None:
    try:
        for item in items:
            conn.send(("ok", fn(item)))
    except XlingError as e:
        conn.send(("error", e))
    except BaseException:  # a bug: its traceback goes to the parent
        conn.send(("bug", traceback.format_exc()))
    finally:
        conn.close()


def fork_imap(fn: Callable[[Any], Any], items: Sequence[Any], workers: int) -> Iterator[Any]:
    """``map(fn, items)`` over ``workers`` forked processes, results in order (Linux only)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    workers = max(1, min(workers, len(items)))
    procs, conns = [], []
    try:
        for k in range(workers):
            r, w = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_work, args=(fn, items[k::workers], w), daemon=True)
            p.start()
            w.close()  # the parent's copy: a dead worker then reads as EOF
            procs.append(p)
            conns.append(r)
        for i in range(len(items)):
            try:
                kind, value = conns[i % workers].recv()
            except EOFError:
                raise XlingError("a worker process died (out of memory?)") from None
            if kind == "error":
                raise value
            if kind == "bug":
                raise RuntimeError(f"worker failed:\n{value}")
            yield value
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(1.0)
            if p.is_alive():  # pragma: no cover - SIGTERM is not ignored by workers
                p.kill()
                p.join()
        for c in conns:
            with contextlib.suppress(OSError):
                c.close()
