"""Atomic output: every file and folder xling writes goes through here.

A file is written to a temporary name beside the target and renamed onto it on success; a folder
(:func:`output_folder`) is built whole in a temporary sibling folder and swapped in at the end. An
interrupted or failed run never leaves a half-written output (nor an empty folder) under the final
name, and a file-system error (full disk, read-only, a parent that is a file) is one
:class:`~xling.data.errors.OutputError` naming the USER's path, never the temporary one.
``"-"`` means standard output (text or bytes), which cannot be atomic.
"""
from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from .errors import OutputError
from .parallel import deferred

#: the file in every folder xling writes; ``--force`` replaces only folders that have it
MARKER = ".xling-output"

#: errors of the file system (not of an input) that a write can meet
_FS_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG, errno.ENOTDIR, errno.EISDIR, errno.EACCES,
              errno.EPERM, errno.EEXIST, errno.ENOTEMPTY, errno.EIO, errno.ENAMETOOLONG}

#: temporary folder -> the user's folder, while :func:`output_folder` builds it (for error messages)
_SHOWN: dict[str, str] = {}

#: set once standard output carried data (``"-"``): a JSON record must then go elsewhere
stdout_carries_data = False


def shown_path(path: str | os.PathLike | None) -> str:
    """``path`` as the user named it: a file in a folder being built is shown in the final folder."""
    p = os.fspath(path) if path is not None else ""
    for tmp, final in _SHOWN.items():
        if p == tmp or p.startswith(tmp + os.sep):
            return final + p[len(tmp):]
    return p


def _reason(e: OSError) -> str:
    if e.errno == errno.ENOSPC:
        return "no space left on the device"
    if e.errno == errno.EROFS:
        return "read-only file system"
    if e.errno in (errno.ENOTDIR, errno.EEXIST) and e.filename is not None and os.path.isfile(
            os.path.dirname(os.fspath(e.filename)) or "."):
        return "its folder is a file"
    return (e.strerror or str(e)).lower()


def output_error(e: OSError, path: str | os.PathLike) -> OutputError:
    """One :class:`OutputError` for a failed write of ``path`` (the user's name for it)."""
    parent = Path(shown_path(path)).parent
    while str(parent) not in ("", ".", "/") and not parent.exists():
        parent = parent.parent
    if parent.is_file():
        return OutputError(f"{parent} is a file, not a folder", shown_path(path))
    return OutputError(_reason(e), shown_path(path))


def _ours(e: OSError, *paths: str | os.PathLike) -> bool:
    """Is ``e`` a file-system error about one of ``paths`` (or about no file: a write, a flush)?"""
    if e.errno not in _FS_ERRNOS or isinstance(e, OutputError):
        return False
    return e.filename is None or _our_name(e, *paths) is not None


def _our_name(e: OSError, *paths: str | os.PathLike) -> str | None:
    """The file name of ``e`` that is one of ``paths`` or inside one: ``filename``, or ``filename2``
    (a copy's destination: ``shutil.copy2`` names its source first when the disk fills up)."""
    names = {os.fspath(p) for p in paths}
    for f in (e.filename, e.filename2):
        if f is not None and (os.fspath(f) in names or any(os.fspath(f).startswith(n + os.sep) for n in names)):
            return os.fspath(f)
    return None


def _mkdirs(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created (outermost first)."""
    made: list[Path] = []
    p = folder
    while not p.exists() and p != p.parent:
        made.append(p)
        p = p.parent
    made.reverse()
    for i, d in enumerate(made):
        try:
            os.mkdir(d)
        except OSError:
            _rmdirs(made[:i])  # none of this call's folders stays behind
            raise
    return made


def _rmdirs(made: list[Path]) -> None:
    for d in reversed(made):
        with contextlib.suppress(OSError):
            d.rmdir()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    ``suffix`` is appended to the temporary name (some libraries insist on an extension).
    """
    with atomic_paths([path], [suffix]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(paths: Sequence[str | os.PathLike], suffixes: Sequence[str] = ()) -> Iterator[list[Path]]:
    """:func:`atomic_path` for files that belong together (a cache's ``NAME.npy`` and ``NAME.words``).

    Yields one temporary path per target, each beside its target (``suffixes[i]`` appended to its
    name). Only when the block completes are they renamed into place, all of them: a failure
    while writing removes every temporary and leaves every target as it was; a failure while
    renaming (a target that is a folder) puts back the targets already replaced, so the group
    is all old or all new.

    A target that exists and is neither a file nor a folder (``/dev/null``, ``/dev/full``, a fifo)
    is written in place: it is no file to rename onto, and replacing it would destroy it.
    """
    finals = [Path(p) for p in paths]  # a link is replaced by the file (what it points to stays as it was)
    sufs = list(suffixes) + [""] * (len(finals) - len(suffixes))
    made: list[Path] = []
    tmps: list[Path] = []

    def _drop(extra: list[Path]) -> None:
        for t in tmps + extra:
            if not _special(t):
                with contextlib.suppress(OSError):
                    t.unlink()
        _rmdirs(made)

    try:
        with deferred():  # an interrupt waits until every temporary is made and known to _drop
            for final, suf in zip(finals, sufs, strict=True):
                if _special(final):
                    tmps.append(final)
                    continue
                try:
                    made += _mkdirs(final.parent)
                    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp" + suf, dir=final.parent)
                    tmps.append(Path(tmp))
                    os.close(fd)
                except OSError as e:
                    raise output_error(e, final) from None
        for t in tmps:
            if not _special(t):
                os.chmod(t, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        yield list(tmps)
        with deferred():  # the group is renamed whole, or not at all
            _rename_all(tmps, finals)
    except BaseException as e:
        _drop([])
        if isinstance(e, OSError):
            for t, final in zip(tmps, finals, strict=True):
                if _ours(e, t, final):
                    raise output_error(e, final) from None
        raise


def _through_link(path: Path) -> Path:
    """An output folder named by a symbolic link is built where the link points (the link stays)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _special(path: Path) -> bool:
    """Does ``path`` exist as something else than a file or a folder (a device, a fifo, a socket)?"""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _rename_all(tmps: list[Path], finals: list[Path]) -> None:
    """Rename each of ``tmps`` onto its final name; on a failure, undo the renames already done.
    A target written in place (its temporary is itself) stays as it is."""
    pairs = [(t, f) for t, f in zip(tmps, finals, strict=True) if t != f]
    tmps, finals = [t for t, _ in pairs], [f for _, f in pairs]
    if not pairs:
        return
    if len(tmps) == 1:  # one file: a single atomic rename, the old file stays in place until then
        os.replace(tmps[0], finals[0])
        return
    done: list[tuple[Path, Path | None]] = []  # (final, the old file moved aside, or None)
    try:
        for t, final in zip(tmps, finals, strict=True):
            old = None
            if final.is_file():
                fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".xling-old", dir=final.parent)
                os.close(fd)
                old = Path(name)
                try:
                    os.replace(final, old)
                except OSError:
                    old.unlink(missing_ok=True)
                    raise
            try:
                os.replace(t, final)
            except OSError:
                if old is not None:
                    os.replace(old, final)
                raise
            done.append((final, old))
    except BaseException:
        for final, old in reversed(done):
            with contextlib.suppress(OSError):
                if old is not None:
                    os.replace(old, final)
                else:
                    final.unlink()
        raise
    for _, old in done:
        if old is not None:
            with contextlib.suppress(OSError):
                old.unlink()


@contextlib.contextmanager
def _stdout_errors() -> Iterator[None]:
    """A file-system error while writing standard output (``> /dev/full``, a full disk behind a
    redirection) is one OutputError about ``<stdout>``; a closed pipe stays a BrokenPipeError."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as e:
        if e.errno in _FS_ERRNOS and e.filename is None:
            raise OutputError(_reason(e), "<stdout>") from None
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                errors: str | None = "surrogateescape", newline: str | None = "\n") -> Iterator[IO]:
    """``open()`` for writing that renames into place on success; ``"-"`` is stdout."""
    global stdout_carries_data
    binary = "b" in mode
    if os.fspath(path) == "-":
        stdout_carries_data = True
        with _stdout_errors():
            if binary:
                yield sys.stdout.buffer
                sys.stdout.buffer.flush()
                return
            wrapper = io.TextIOWrapper(sys.stdout.buffer, encoding=encoding or "utf-8", errors=errors,
                                       newline=newline, write_through=True) \
                if hasattr(sys.stdout, "buffer") else None
            stream: IO[str] = wrapper if wrapper is not None else sys.stdout
            try:
                yield stream
                stream.flush()
            finally:
                if wrapper is not None:  # leave sys.stdout.buffer open
                    with contextlib.suppress(ValueError, OSError):
                        wrapper.detach()
        return
    with atomic_path(path) as tmp:
        with (open(tmp, mode) if binary
              else open(tmp, mode, encoding=encoding, errors=errors, newline=newline)) as f:
            yield f


def _inside(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


@contextlib.contextmanager
def output_folder(folder: str | os.PathLike, *, force: bool = False,
                  inputs: Iterable[str | os.PathLike] = (), legacy_markers: Iterable[str] = ()) -> Iterator[Path]:
    """Build an output folder whole in a temporary sibling, then swap it in.

    Yields the temporary folder to write into (name files as in the final one; error messages
    name the final folder). On success the marker file :data:`MARKER` is added and the folder
    is renamed onto ``folder``; on failure it is removed and ``folder`` is left as it was (no empty
    folder behind). Two runs into one folder never mix: each builds its own and the last swap wins
    only with ``force``; no file of an earlier run survives a replacement.

    Parameters
    ----------
    folder : path
        The final folder. It may be missing or empty; a non-empty one is replaced only with
        ``force`` and only if xling wrote it (it has :data:`MARKER`).
    force : bool
        Replace a non-empty folder written by xling.
    inputs : paths
        The run's inputs: ``folder`` may never be one of them nor contain one (even with ``force``).
    legacy_markers : file names
        Files that marked a command's folders before :data:`MARKER` existed (``xling-vocab.json``):
        ``force`` also replaces a folder that holds one of them.

    Raises
    ------
    OutputError
        The folder is refused, or the file system fails (full, read-only, a parent is a file).
    """
    legacy = tuple(legacy_markers)
    inputs = list(inputs)
    _check_replace(Path(folder), force, inputs, legacy)
    final = _through_link(Path(folder))
    made: list[Path] = []
    box: list[Path] = []  # the temporary folder, once made
    try:
        with deferred():  # an interrupt waits until the folder is made and its clean-up armed
            made += _mkdirs(final.parent)
            box.append(Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".xling-tmp", dir=final.parent)))
            _SHOWN[os.fspath(box[0])] = os.fspath(final)
        tmp = box[0]
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        with open(tmp / MARKER, "w", encoding="utf-8") as f:
            f.write("written by xling; `--force` may replace this folder\n")
        with deferred():  # the old folder is moved aside and the new one swapped in, or neither
            _swap(tmp, final, force, legacy)
    except BaseException as e:
        for t in box:
            shutil.rmtree(t, ignore_errors=True)
        _rmdirs(made)
        if isinstance(e, OSError) and (not box or _ours(e, box[0], final)):
            raise output_error(e, _our_name(e, *box, final) or final) from None
        raise
    finally:
        for t in box:
            _SHOWN.pop(os.fspath(t), None)


def check_output_folder(folder: str | os.PathLike, *, force: bool = False,
                        inputs: Iterable[str | os.PathLike] = (), legacy_markers: Iterable[str] = ()) -> None:
    """Raise the :class:`OutputError` that :func:`output_folder` would raise on entry: call it before
    a long computation so that a refused folder fails first."""
    _check_replace(Path(folder), force, inputs, tuple(legacy_markers))


def _check_replace(final: Path, force: bool, inputs: Iterable[str | os.PathLike],
                   legacy_markers: tuple[str, ...] = ()) -> None:
    """Refuse a folder that is or holds an input, a file, or a non-empty folder (without ``force``,
    or that xling did not write), or whose parent is a file."""
    where = final.resolve()
    parent = final.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{parent} is a file, not a folder", final)
    for i in inputs:
        if os.fspath(i) in ("", "-"):
            continue
        # the input as named (a link inside the folder) and the file it is
        if _inside(Path(i).resolve(), where) or _inside(Path(os.path.abspath(i)), Path(os.path.abspath(final))):
            raise OutputError(f"holds the input {i}: choose another output folder", final)
    if final.exists() and not final.is_dir():
        raise OutputError("exists and is not a folder", final)
    if final.is_dir() and any(final.iterdir()):
        if not force:
            raise OutputError("folder exists and is not empty (--force replaces a folder xling wrote)", final)
        if not any((final / m).is_file() for m in (MARKER, *legacy_markers)):
            raise OutputError(f"not a folder xling wrote (no {' or '.join((MARKER, *legacy_markers))}): "
                              "--force replaces only those; remove it yourself or choose another", final)


def _swap(tmp: Path, final: Path, force: bool, legacy_markers: tuple[str, ...] = ()) -> None:
    """Rename ``tmp`` onto ``final`` (an earlier xling folder there is moved aside, then removed)."""
    old = None
    if final.is_dir() and any(final.iterdir()):
        _check_replace(final, force, (), legacy_markers)  # another run may have written it meanwhile
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".xling-old", dir=final.parent))
        os.replace(final, old / "x")
    try:
        os.replace(tmp, final)  # onto a missing or empty folder only (POSIX)
    except OSError as e:
        if old is not None and not final.exists():
            os.replace(old / "x", final)
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise OutputError("another run wrote this folder meanwhile; nothing of this run was kept",
                              final) from None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
