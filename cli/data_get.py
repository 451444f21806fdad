"""`xling data get ...`: download MUSE dictionaries and fastText vectors into the cache folder."""
from __future__ import annotations

import contextlib
from pathlib import Path

import typer

from ..data.download import DictSplit, VecKind, VecSource
from .common import handle_errors, info, out_console, progress

app = typer.Typer(help="Download MUSE's bilingual dictionaries and fastText's vectors into the cache folder "
                       "($XLING_CACHE, else $XDG_CACHE_HOME/xling, else ~/.cache/xling); resumable, "
                       "size- and checksum-checked. Prints the file's path on stdout.",
                  no_args_is_help=True)

BaseUrl = typer.Option(None, "--base-url", envvar="XLING_MIRROR", show_envvar=True,
                       help="Server with the same layout as https://dl.fbaipublicfiles.com (a mirror).")
Sha256 = typer.Option(None, "--sha256", help="Expected SHA-256 of the file on the server (hex).")
Folder = typer.Option(None, "--dir", help="Folder to download into (default: the cache folder's "
                                         "muse/ or fasttext/).")
Force = typer.Option(False, "--force", help="Download again even if the file is already there.")


@contextlib.contextmanager
def _bars():
    """Yields ``bar(description) -> update(done, total)``. A bar appears with its first update, so it
    starts with the file's size (never '0/?') and, on a resume, at the bytes already there; a new
    bar's first update closes the previous one (rich draws one live display at a time)."""
    current: list[contextlib.ExitStack] = []

    def bar(description: str):
        update = None

        def upd(done: int, total: int) -> None:
            nonlocal update
            if update is None:
                while current:
                    current.pop().close()
                stack = contextlib.ExitStack()
                current.append(stack)
                update = stack.enter_context(progress(description, total or None, unit="bytes"))
            update(done, total)

        return upd

    try:
        yield bar
    finally:
        while current:
            current.pop().close()


def _sha(value: str | None) -> str | None:
    from ..data.errors import XlingError

    if value is not None and (len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value)):
        raise XlingError(f"--sha256 {value!r} is not 64 hexadecimal digits")
    return value


@app.command("dictionary")
@handle_errors
def dictionary(
    src: str = typer.Argument(..., help="Source language code (e.g. en)."),
    tgt: str = typer.Argument(..., help="Target language code (e.g. fr)."),
    split: DictSplit = typer.Option(DictSplit.full, "--split", case_sensitive=False,
                                    help="full dictionary, train (pairs 0-5000) or test (pairs 5000-6500)."),
    base_url: str | None = BaseUrl,
    sha256: str | None = Sha256,
    folder: Path | None = Folder,
    force: bool = Force,
):
    """Download MUSE's SRC-TGT bilingual dictionary (arrival/dictionaries/SRC-TGT[.0-5000|.5000-6500].txt)."""
    from ..data.download import dictionary_url, fetch_dictionary

    url = dictionary_url(src, tgt, split, base_url)
    with _bars() as bar:
        upd = bar(f"downloading {url.rsplit('/', 1)[1]}")
        path = fetch_dictionary(src, tgt, split, base=base_url, folder=folder, sha256=_sha(sha256), progress=upd,
                                force=force)
    out_console.file.write(f"{path}\n")


@app.command("vectors")
@handle_errors
def vectors(
    lang: str = typer.Argument(..., help="Language code (e.g. fr)."),
    source: VecSource = typer.Option(VecSource.wiki, "--source", case_sensitive=False,
                                     help="wiki: trained on Wikipedia (wiki.LANG.vec); crawl: on Common Crawl "
                                          "and Wikipedia (cc.LANG.300.vec.gz)."),
    kind: VecKind = typer.Option(VecKind.vec, "--kind", case_sensitive=False,
                                 help="vec: text vectors; bin: the fastText model (crawl only; decompressed; "
                                      "it also gives vectors of unseen words)."),
    max_vocab: int | None = typer.Option(None, "--max-vocab", min=1,
                                         help="Also convert the first N words to the binary cache "
                                              "(.npy + .words, fast to load) and print that path."),
    base_url: str | None = BaseUrl,
    sha256: str | None = Sha256,
    folder: Path | None = Folder,
    force: bool = Force,
):
    """Download fastText's published vectors for LANG (wiki.LANG.vec, cc.LANG.300.vec.gz or cc.LANG.300.bin)."""
    from ..data.download import cache_name, fetch_vectors, vectors_url
    from .common import load_vectors, write_vectors

    url = vectors_url(lang, source, kind, base_url)
    name = url.rsplit("/", 1)[1]
    with _bars() as bar:
        path = fetch_vectors(lang, source, kind, base=base_url, folder=folder, sha256=_sha(sha256),
                             progress=bar(f"downloading {name}"), force=force,
                             unpack_progress=bar(f"decompressing {name}"))
    if max_vocab is not None:
        target = cache_name(path, max_vocab)
        if force or not target.exists():
            emb = load_vectors(str(path), max_vocab=max_vocab)
            write_vectors(emb, str(target))
            info(f"wrote {len(emb):,} × {emb.dim} vectors to {target}")
        path = target
    out_console.file.write(f"{path}\n")

