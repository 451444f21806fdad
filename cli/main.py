"""The ``xling`` command. Sub-apps live in their own modules; heavy libraries load lazily."""
from __future__ import annotations

import typer

from . import align, cade, data, helpfmt, io_cmds, lexicon, report, vocab  # noqa: F401  (helpfmt: plain types in --help)
from .common import state, version

app = typer.Typer(
    name="xling",
    help="Cross-lingual embeddings: align spaces, induce and evaluate lexicons, build anchor "
         "dictionaries, train CADE slices, expand model vocabularies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool):
    if value:
        typer.echo(f"xling {version()}")
        raise typer.Exit()


@app.callback()
def main(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or warnings on stderr."),
    show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit."),
):
    state.quiet = quiet


io_cmds.register(app)
align.register(app)
report.register(app)
app.add_typer(lexicon.app, name="lexicon")
app.add_typer(data.app, name="data")
app.add_typer(vocab.app, name="vocab")
app.add_typer(cade.app, name="cade")

if __name__ == "__main__":  # pragma: no cover
    app()
