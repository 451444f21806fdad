"""Download the resources cross-lingual work starts from: MUSE dictionaries and fastText vectors.

Files land in a cache folder (:func:`cache_dir`), are fetched through a ``.part`` file that a
later call resumes with an HTTP ``Range`` request, are checked against the server's
``Content-Length`` (and a SHA-256 when one is given), and appear under their final name only
once complete and checked: an interrupted, short or wrong download never looks like a good one.

Public locations (MUSE's and fastText's READMEs)::

    {base}/arrival/dictionaries/{src}-{tgt}.txt            full dictionary
    {base}/arrival/dictionaries/{src}-{tgt}.0-5000.txt     train split
    {base}/arrival/dictionaries/{src}-{tgt}.5000-6500.txt  test split
    {base}/fasttext/vectors-wiki/wiki.{lang}.vec           Wikipedia vectors (text)
    {base}/fasttext/vectors-crawl/cc.{lang}.300.vec.gz     Common Crawl vectors (text, gzip)
    {base}/fasttext/vectors-crawl/cc.{lang}.300.bin.gz     Common Crawl fastText model (gzip)

``base`` is ``https://dl.fbaipublicfiles.com`` unless ``$XLING_MIRROR`` (or ``base_url=``)
names a mirror with the same layout. Only the standard library (``urllib``) is used.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from enum import Enum
from pathlib import Path

from .errors import XlingError

DEFAULT_BASE = "https://dl.fbaipublicfiles.com"

Progress = Callable[[int, int], None]
_LANG = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


class DownloadError(XlingError):
    """A download that failed (unreachable, not found, cut, wrong size or checksum)."""


class DictSplit(str, Enum):
    """Which MUSE dictionary: the full one, the train split (0-5000) or the test split (5000-6500)."""

    full = "full"
    train = "train"
    test = "test"


class VecSource(str, Enum):
    """fastText's published vectors: trained on Wikipedia or on Common Crawl + Wikipedia."""

    wiki = "wiki"
    crawl = "crawl"


class VecKind(str, Enum):
    """Text vectors (``.vec``) or the fastText model (``.bin``, which also gives vectors of unseen words)."""

    vec = "vec"
    bin = "bin"


_SPLIT_SUFFIX = {DictSplit.full: "", DictSplit.train: ".0-5000", DictSplit.test: ".5000-6500"}


def cache_dir() -> Path:
    """The download folder, resolved at call time: ``$XLING_CACHE``, else ``$XDG_CACHE_HOME/xling``,
    else ``~/.cache/xling``."""
    env = os.environ.get("XLING_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "xling"
    return Path.home() / ".cache" / "xling"


def base_url(base: str | None = None) -> str:
    """The server to fetch from: ``base``, else ``$XLING_MIRROR``, else :data:`DEFAULT_BASE`."""
    return (base or os.environ.get("XLING_MIRROR") or DEFAULT_BASE).rstrip("/")


def _lang(code: str, what: str = "language") -> str:
    if not _LANG.match(code):
        raise XlingError(f"{what} code {code!r} is not a language code (letters, digits, '_' or '-')")
    return code


def dictionary_url(src: str, tgt: str, split: DictSplit = DictSplit.full, base: str | None = None) -> str:
    """URL of MUSE's ``src``-``tgt`` dictionary (``split``: full, train 0-5000 or test 5000-6500)."""
    name = f"{_lang(src, 'source')}-{_lang(tgt, 'target')}{_SPLIT_SUFFIX[DictSplit(split)]}.txt"
    return f"{base_url(base)}/arrival/dictionaries/{name}"


def vectors_url(lang: str, source: VecSource = VecSource.wiki, kind: VecKind = VecKind.vec,
                base: str | None = None) -> str:
    """URL of fastText's published vectors for ``lang``.

    Raises
    ------
    XlingError
        For Wikipedia ``.bin`` models, which are only published inside zip archives with the ``.vec``.
    """
    source, kind = VecSource(source), VecKind(kind)
    lang = _lang(lang)
    if source is VecSource.wiki:
        if kind is VecKind.bin:
            raise XlingError("fastText publishes Wikipedia .bin models only inside zip archives: "
                             "use --source crawl for a .bin model")
        return f"{base_url(base)}/fasttext/vectors-wiki/wiki.{lang}.vec"
    return f"{base_url(base)}/fasttext/vectors-crawl/cc.{lang}.300.{kind.value}.gz"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_sha(path: Path, sha256: str | None, url: str) -> None:
    if sha256 is None:
        return
    got = _sha256(path)
    if got != sha256.lower():
        raise DownloadError(f"{url}: checksum mismatch (SHA-256 {got}, expected {sha256.lower()})")


def _open(url: str, offset: int, timeout: float):
    req = urllib.request.Request(url, headers={"User-Agent": "xling", "Accept-Encoding": "identity"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            return e  # the caller decides: complete already, or restart
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason}" + (" (no such file on the server)"
                                                                   if e.code == 404 else "")) from None
    except urllib.error.URLError as e:
        raise DownloadError(f"{url}: cannot connect ({e.reason})") from None
    except ValueError as e:  # unknown url type, malformed URL
        raise DownloadError(f"{url}: not a URL that can be downloaded ({e})") from None
    except (OSError, http.client.HTTPException) as e:
        raise DownloadError(f"{url}: cannot connect ({e})") from None


def _content_range_total(value: str | None) -> int | None:
    m = re.match(r"bytes\s+(?:\d+-\d+|\*)/(\d+)", value or "")
    return int(m.group(1)) if m else None


def download(url: str, dest: str | os.PathLike, *, sha256: str | None = None, progress: Progress | None = None,
             force: bool = False, retries: int = 2, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming a ``.part`` left by an earlier call.

    Parameters
    ----------
    url : http(s) URL (or ``file://``).
    dest : final path; its folder is created.
    sha256 : expected SHA-256 (hex); checked before the file gets its final name.
    progress : optional ``callback(done_bytes, total_bytes)`` (``total`` 0 when the server gives none).
    force : download again even when ``dest`` exists.
    retries : how many times a connection cut midway is resumed before giving up.
    timeout : seconds without data before the connection counts as cut.

    Returns
    -------
    Path
        ``dest``. An existing ``dest`` is returned as is (after the checksum check, when given).

    Raises
    ------
    DownloadError
        Unreachable server, HTTP error (404...), connection cut more than ``retries`` times (the
        ``.part`` file stays, so the same call resumes it), size different from the server's
        ``Content-Length``, checksum mismatch (the ``.part`` file is removed). ``dest`` is never
        created in these cases.
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https", "file"):
        raise DownloadError(f"{url}: not a URL that can be downloaded (http://, https:// or file://)")
    dest = Path(dest)
    if dest.exists() and not force:
        _check_sha(dest, sha256, url)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if force and part.exists():
        part.unlink()
    attempt = 0
    while True:
        try:
            _fetch_into(url, part, progress, timeout)
            break
        except _Cut as cut:
            attempt += 1
            if attempt > retries:
                of = f" of {cut.total:,}" if cut.total else ""
                raise DownloadError(f"{url}: connection cut after {cut.done:,}{of} bytes; run the same "
                                    f"command again to resume ({part.name} kept)") from None
    try:
        _check_sha(part, sha256, url)
    except DownloadError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return dest


class _Cut(Exception):
    def __init__(self, done: int, total: int | None):
        super().__init__(done, total)
        self.done, self.total = done, total


def _fetch_into(url: str, part: Path, progress: Progress | None, timeout: float) -> None:
    offset = part.stat().st_size if part.exists() else 0
    resp = _open(url, offset, timeout)
    with resp:
        if isinstance(resp, urllib.error.HTTPError):  # 416: nothing left after offset
            total = _content_range_total(resp.headers.get("Content-Range"))
            if total == offset:
                return
            part.unlink()
            raise _Cut(0, total)
        status = getattr(resp, "status", 200)
        length = resp.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if offset and status == 206:
            m = re.match(r"bytes\s+(\d+)-", resp.headers.get("Content-Range") or "")
            if not m or int(m.group(1)) != offset:
                raise DownloadError(f"{url}: the server answered a resume request with the wrong range "
                                    f"({resp.headers.get('Content-Range')!r}); delete {part} and retry")
            total = _content_range_total(resp.headers.get("Content-Range"))
            if total is None and length is not None:
                total = offset + length
        else:  # a fresh download, or a server that ignores Range: start over
            offset = 0
            total = length
        done = offset
        if progress:
            progress(done, total or 0)
        with open(part, "ab" if offset else "wb") as out:
            while True:
                try:
                    block = resp.read(1 << 16)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as e:
                    out.flush()
                    raise _Cut(done, total) from e
                if not block:
                    break
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total or 0)
    if total is not None and done != total:
        if done < total:
            raise _Cut(done, total)
        part.unlink(missing_ok=True)
        raise DownloadError(f"{url}: received {done:,} bytes, more than the {total:,} the server announced")


def gunzip(src: str | os.PathLike, dest: str | os.PathLike, progress: Progress | None = None) -> Path:
    """Decompress ``src`` to ``dest`` (through ``dest.part``); a truncated or corrupt stream is one
    :class:`DownloadError` and leaves no ``dest``."""
    src, dest = Path(src), Path(dest)
    part = dest.with_name(dest.name + ".part")
    size = src.stat().st_size
    try:
        with open(src, "rb") as raw, gzip.GzipFile(fileobj=raw) as f, open(part, "wb") as out:
            while True:
                block = f.read(1 << 20)
                if not block:
                    break
                out.write(block)
                if progress:
                    progress(raw.tell(), size)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{src}: not a complete gzip file ({e or 'truncated'})") from None
    os.replace(part, dest)
    return dest


def fetch_dictionary(src: str, tgt: str, split: DictSplit = DictSplit.full, *, base: str | None = None,
                     folder: str | os.PathLike | None = None, sha256: str | None = None,
                     progress: Progress | None = None, force: bool = False) -> Path:
    """Download MUSE's ``src``-``tgt`` dictionary into ``folder`` (default ``cache_dir()/muse``);
    returns its path (same name as on the server)."""
    url = dictionary_url(src, tgt, split, base)
    folder = Path(folder) if folder is not None else cache_dir() / "muse"
    return download(url, folder / url.rsplit("/", 1)[1], sha256=sha256, progress=progress, force=force)


def fetch_vectors(lang: str, source: VecSource = VecSource.wiki, kind: VecKind = VecKind.vec, *,
                  base: str | None = None, folder: str | os.PathLike | None = None, sha256: str | None = None,
                  progress: Progress | None = None, force: bool = False,
                  unpack_progress: Progress | None = None) -> Path:
    """Download fastText's vectors for ``lang`` into ``folder`` (default ``cache_dir()/fasttext``).

    Text vectors keep the server's name (``cc.fr.300.vec.gz`` is read compressed). A ``.bin.gz``
    model is decompressed to ``.bin`` (fastText cannot read it compressed; ``unpack_progress``
    follows that step in bytes of the ``.gz``) and the ``.gz`` removed; ``sha256`` is that of the
    file on the server.
    """
    url = vectors_url(lang, source, kind, base)
    folder = Path(folder) if folder is not None else cache_dir() / "fasttext"
    name = url.rsplit("/", 1)[1]
    if VecKind(kind) is VecKind.bin:
        final = folder / name[:-3]
        if final.exists() and not force:
            return final
        gz = download(url, folder / name, sha256=sha256, progress=progress, force=force)
        gunzip(gz, final, unpack_progress)
        gz.unlink()
        return final
    return download(url, folder / name, sha256=sha256, progress=progress, force=force)


def cache_name(path: str | os.PathLike, max_vocab: int) -> Path:
    """Where the binary cache of the first ``max_vocab`` words of ``path`` goes:
    ``cc.fr.300.vec.gz`` -> ``cc.fr.300.200000.npy`` next to it."""
    path = Path(path)
    stem = path.name
    for ext in (".gz", ".vec", ".txt", ".bin"):
        if stem.endswith(ext):
            stem = stem[:-len(ext)]
    return path.with_name(f"{stem}.{max_vocab}.npy")


__all__ = ["DEFAULT_BASE", "DictSplit", "DownloadError", "VecKind", "VecSource", "base_url", "cache_dir",
           "cache_name", "dictionary_url", "download", "fetch_dictionary", "fetch_vectors", "gunzip",
           "vectors_url"]
