"""Typer option declarations shared by several commands (one definition, one help text)."""
from __future__ import annotations

import typer

from ..data.dictionary import DictFormat
from ..data.vectors import OnDuplicate, VecFormat
from ..lexicon.device import Device
from ..lexicon.knn import Backend


def device_option(default: Device = Device.auto, help: str = "cpu, cuda, or auto (cuda when available).",
                  name: str = "--device"):
    """The one ``--device`` option type (:class:`xling.lexicon.device.Device`) of every command;
    commands resolve it with :func:`xling.lexicon.device.resolve_device` (or ``resolve_engine``)."""
    return typer.Option(default, name, help=help, case_sensitive=False)


MaxVocab = typer.Option(None, "--max-vocab", min=1, help="Read only the first N words of each vectors file.")
Backend_ = typer.Option(Backend.auto, "--backend", help="Nearest-neighbour backend.", case_sensitive=False)
Device_ = device_option()
ChunkSize = typer.Option(None, "--chunk-size", min=1024,
                         help="Similarity entries held in memory at once (default 40M = 160 MB).")
Force = typer.Option(False, "--force",
                     help="Replace an output folder written by xling before (never one holding an input).")
Json = typer.Option(False, "--json", help="Print a machine-readable JSON record on stdout (on stderr when stdout "
                                          "carries the data, as with an output '-').")
Format = typer.Option(VecFormat.auto, "--format", help="Vectors format (auto: from the file name).",
                      case_sensitive=False)
OnDup = typer.Option(OnDuplicate.first, "--on-duplicate", help="Duplicate words: keep first/last, or error.",
                     case_sensitive=False)
DropNonFinite = typer.Option(False, "--drop-nonfinite", help="Drop rows with NaN/inf instead of failing.")
AllowPickle = typer.Option(False, "--allow-pickle",
                           help="Allow reading gensim pickles (they can run code: trusted files only).")
Seed = typer.Option(0, "--seed", help="Random seed (same seed, same output bytes).")
DictFormat_ = typer.Option(DictFormat.tsv, "--format", case_sensitive=False,
                           help="Dictionary written as tsv (src<TAB>tgt<TAB>more columns) or muse (src tgt: two "
                                "space-separated columns, as MUSE's and VecMap's readers expect).")
