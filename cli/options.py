"""Typer option declarations shared by several commands (one definition, one help text)."""
from __future__ import annotations

import typer

from ..data.dictionary import DictFormat
from ..data.vectors import OnDuplicate, VecFormat
from ..lexicon.knn import Backend, Device

MaxVocab = typer.Option(None, "--max-vocab", min=1, help="Read only the first N words of each vectors file.")
Backend_ = typer.Option(Backend.auto, "--backend", help="Nearest-neighbour backend.", case_sensitive=False)
Device_ = typer.Option(Device.auto, "--device", help="cpu, cuda, or auto (cuda when available).",
                       case_sensitive=False)
ChunkSize = typer.Option(None, "--chunk-size", min=1024,
                         help="Similarity entries held in memory at once (default 40M = 160 MB).")
Json = typer.Option(False, "--json", help="Print a machine-readable JSON record on stdout.")
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
