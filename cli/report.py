"""`xling report`: plots and Markdown tables from result JSON files."""
from __future__ import annotations

from pathlib import Path

import typer

from ..data.jsonfile import RecordKind
from . import options as opt
from .common import emit_json, escape, handle_errors, info, out_console, warn, write_json


def register(app: typer.Typer) -> None:
    """Add the report command to the main app."""
    app.command("report")(report_cmd)


@handle_errors
def report_cmd(
    inputs: list[str] = typer.Argument(..., help="JSON records written by xling commands (e.g. results/*.json): "
                                                 "lexicon eval --json, align's record.json, cade shift --json, "
                                                 "vocab eval --json, data stats --json."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder (created): report.md, report.json "
                                                            "and one PNG per figure."),
    title: str = typer.Option("xling report", "--title", help="Title of report.md."),
    top_words: int = typer.Option(20, "--top-words", min=1, help="Most shifted words shown per CADE record."),
    dpi: int = typer.Option(120, "--dpi", min=30, max=600, help="Resolution of the PNGs."),
    band_retrieval: str = typer.Option("csls", "--band-retrieval",
                                       help="Of an evaluation with several criteria (--retrieval all), the one "
                                            "drawn by frequency band ('all': every criterion)."),
    no_plots: bool = typer.Option(False, "--no-plots", help="Tables only (no matplotlib needed)."),
    force: bool = typer.Option(False, "--force", help="Replace an output folder that xling wrote."),
    json_out: bool = opt.Json,
):
    """Figures (PNG) and a Markdown report, each figure also as a table: P@1 by frequency band,
    refinement curves, semantic-shift top words, vocabulary-expansion fidelity.

    Each file's kind is the one it declares (``"kind"``), or for older records the one its keys
    show; unknown files are skipped with a warning.
    """
    from ..data.atomic import atomic_open, check_output_folder, output_folder
    from ..data.errors import XlingError
    from .plots import build_sections, load_records, markdown_report

    # 1. read and recognise every record (a bad file fails before anything is written)
    records, unknown = load_records(inputs)
    if not records:
        raise XlingError(f"none of the {len(inputs)} files is a result record xling report knows "
                         "(lexicon eval --json, align record.json, cade shift --json, vocab eval --json, "
                         "data stats --json)")
    check_output_folder(output, force=force, inputs=inputs)  # a refused folder fails before the work
    for p in unknown:
        warn(f"{p}: not a record xling report knows (skipped)")
    sections = build_sections(records, top_words=top_words,
                              band_retrieval=None if band_retrieval == "all" else band_retrieval)
    if not no_plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise XlingError("figures need matplotlib: pip install 'xling[report]' (or use --no-plots)") from None

    # 2. figures, then the Markdown and JSON reports: the folder built aside and swapped in whole
    md_path = output / "report.md"
    with output_folder(output, force=force, inputs=inputs) as tmp:
        figures = _write_figures(sections, tmp, dpi, no_plots)
        for fig in figures:  # named in the final folder
            fig["path"] = str(output / Path(fig["path"]).name)
        with atomic_open(tmp / md_path.name) as f:
            f.write(markdown_report(sections, records, title))
        summary = {"output": str(output), "report": str(md_path), "json": str(output / "report.json"),
                   "figures": figures, "sections": [s.name for s in sections],
                   "inputs": [{"path": r.path, "kind": r.kind, "label": r.label} for r in records],
                   "skipped": unknown}
        write_json(tmp / "report.json", {"title": title, "inputs": summary["inputs"], "skipped": unknown,
                                         "sections": [s.as_dict() for s in sections]}, RecordKind.report)
    if json_out:
        emit_json(summary)
        return
    info(f"{len(records)} records ({len(unknown)} skipped) → {len(figures)} figures")
    out_console.print(f"wrote {escape(str(md_path))}: " + ", ".join(escape(s.name) for s in sections))


def _write_figures(sections, output: Path, dpi: int, no_plots: bool) -> list[dict]:
    """One PNG per section with a figure (none with ``no_plots``: the sections lose their figure)."""
    from ..data.atomic import atomic_open
    from .plots import make_figure

    figures = []
    for s in sections:
        if no_plots:
            s.draw = None
        if s.draw is None:
            continue
        fig = make_figure(s)
        path = output / f"{s.name}.png"
        with atomic_open(path, "wb") as f:
            fig.savefig(f, format="png", dpi=dpi)
        figures.append({"path": str(path), "section": s.name, "series": len(s.series)})  # curves/bar series drawn (legends may group them)
    return figures
