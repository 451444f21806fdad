"""Forked worker processes for the parallel text reader and writer.

:func:`fork_imap` runs ``fn(item)`` for every item in ``workers`` forked processes and yields
the results in item order. Everything a worker needs travels as arguments of ``fn`` (a
closure or :func:`functools.partial`), inherited through ``fork`` without pickling: no
module globals. Each worker sends its results through its own pipe; a worker runs at most
one result ahead of the parent (the pipe blocks), so memory stays bounded.

A :class:`~xling.data.errors.XlingError` raised in a worker is raised again in the parent.

Interrupts: :func:`interrupts` turns SIGINT and SIGTERM into :class:`Interrupted` (a
:class:`KeyboardInterrupt`) in the main thread; the ``xling`` command holds it for its whole run
(one line, exit 130 or 143), :func:`fork_imap` while its workers run (for library callers).
Workers ignore SIGINT (a terminal sends it to the whole process group), and the parent, on any
way out (done, error, interrupt), terminates and reaps them within a second: no zombie, no
worker traceback.
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


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM received while :func:`interrupts` was active.

    A :class:`KeyboardInterrupt`, so that every ``finally`` and every clean-up of the output layer
    runs as for Ctrl-C. ``exit_code`` is ``128 + signum`` (130 for SIGINT, 143 for SIGTERM), the
    shell's convention.
    """

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__(signal.Signals(self.signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


#: the state of :func:`interrupts`: on, a signal already raised (later ones are ignored: the clean-up
#: the first one started must finish), the depth of :func:`deferred` blocks and the signal they hold
_active = {"on": False, "raised": False, "defer": 0, "pending": 0}


def _interrupt(signum, frame):
    if _active["raised"]:
        return
    if _active["defer"]:
        _active["pending"] = _active["pending"] or signum
        return
    _active["raised"] = True
    raise Interrupted(signum)


@contextlib.contextmanager
def interrupts() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM raise :class:`Interrupted` in the main thread.

    The first signal raises; later ones are ignored until the block is left, so that the
    clean-up it triggers (temporary files, workers) is not cut short. The previous handlers come
    back on the way out. Nested use and other threads: no change.
    """
    if _active["on"] or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.getsignal(s) for s in _SIGNALS}
    _active.update(on=True, raised=False, defer=0, pending=0)
    for s in _SIGNALS:
        signal.signal(s, _interrupt)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        _active.update(on=False, raised=False, defer=0, pending=0)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends, then raise :class:`Interrupted`.

    For the few steps that must not be cut in two: creating a temporary file and arming its
    clean-up, renaming a group of files into place. Main thread only (elsewhere: no change).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with interrupts():
        _active["defer"] += 1
        try:
            yield
        finally:
            _active["defer"] -= 1
            signum = _active["pending"]
            if signum and not _active["defer"] and not _active["raised"]:
                _active.update(pending=0, raised=True)
                raise Interrupted(signum)


def fork_imap(fn: Callable[[_T], _R], items: Sequence[_T], workers: int) -> Generator[_R, None, None]:
    """``map(fn, items)`` over ``workers`` forked processes, results in order (Linux only)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    workers = max(1, min(workers, len(items)))
    procs: list[BaseProcess] = []
    conns: list[Connection] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(interrupts())
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
