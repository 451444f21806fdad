"""Forked worker processes for the parallel text reader and writer.

:func:`fork_imap` runs ``fn(item)`` for every item in ``workers`` forked processes and yields
the results in item order. Everything a worker needs travels as arguments of ``fn`` (a
closure or :func:`functools.partial`), inherited through ``fork`` without pickling: no
module globals. Each worker sends its results through its own pipe; a worker runs at most
one result ahead of the parent (the pipe blocks), so memory stays bounded.

A :class:`~xling.data.errors.XlingError` raised in a worker is raised again in the parent.

Interrupts: workers ignore SIGINT (a terminal sends it to the whole process group); the
parent turns SIGINT, and SIGTERM while workers run, into :class:`KeyboardInterrupt`, and on
any way out (done, error, interrupt) terminates and reaps its workers within a second: no
zombie, no worker traceback, and the CLI prints one line and exits 130.
"""
from __future__ import annotations

import contextlib
import signal
import threading
import traceback
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

from .errors import XlingError

_SIGNALS = {signal.SIGINT, signal.SIGTERM}

_T = TypeVar("_T")
_R = TypeVar("_R")


def _work(fn: Callable[[Any], Any], items: Sequence[Any], conn) -> None:
    # forked with both signals blocked: ignore SIGINT (the parent decides), die on SIGTERM
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    try:
        for item in items:
            conn.send(("ok", fn(item)))
    except XlingError as e:
        conn.send(("error", e))
    except BaseException:  # a bug: its traceback goes to the parent
        conn.send(("bug", traceback.format_exc()))
    finally:
        conn.close()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the parent while workers run (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def fork_imap(fn: Callable[[_T], _R], items: Sequence[_T], workers: int) -> Generator[_R, None, None]:
    """``map(fn, items)`` over ``workers`` forked processes, results in order (Linux only)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    workers = max(1, min(workers, len(items)))
    procs: list[BaseProcess] = []
    conns: list[Connection] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(_sigterm_interrupts())
        stack.callback(_stop, procs, conns)
        for k in range(workers):
            r, w = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_work, args=(fn, items[k::workers], w), daemon=True)
            # a signal that arrives during the fork waits until the child has set its handlers
            signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
            try:
                p.start()
                procs.append(p)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
            w.close()  # the parent's copy: a dead worker then reads as EOF
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


def _stop(procs: list, conns: list) -> None:
    """Terminate and reap the workers (quick: they do not ignore SIGTERM)."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(1.0)
        if p.is_alive():  # pragma: no cover
            p.kill()
            p.join()
    for c in conns:
        with contextlib.suppress(OSError):
            c.close()
