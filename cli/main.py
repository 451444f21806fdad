"""The ``xling`` command. Sub-apps live in their own modules; heavy libraries load lazily."""
from __future__ import annotations

import typer
from typer.core import TyperGroup

# helpfmt is imported for its effect: plain types in --help
from . import align, cade, data, data_bench, demo, helpfmt, io_cmds, lexicon, report, vocab  # noqa: F401
from .common import closed_stdout, interrupted, state, version

#: global options that may also come after the subcommand (``xling info FILE -q``)
GLOBAL_FLAGS = ("-q", "--quiet")


class XlingGroup(TyperGroup):
    """The top-level command: global flags anywhere on the line; a closed stdout pipe exits 0;
    SIGINT and SIGTERM end any command with one line and exit 130 or 143 (outputs cleaned up)."""

    def main(self, *args, **kwargs):
        from ..data.parallel import interrupts

        with interrupts():  # one mechanism for every command: the signals raise Interrupted
            return super().main(*args, **kwargs)

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as e:  # while the line is parsed
            raise interrupted(e) from None

    def parse_args(self, ctx, args):
        cut = args.index("--") if "--" in args else len(args)
        flags = [a for a in args[:cut] if a in GLOBAL_FLAGS]
        rest = [a for a in args[:cut] if a not in GLOBAL_FLAGS] + args[cut:]
        return super().parse_args(ctx, flags + rest)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # `xling ... | head -1`: the reader has what it wanted
            raise closed_stdout() from None
        except KeyboardInterrupt as e:  # the outputs' clean-up already ran on the way here
            raise interrupted(e) from None


app = typer.Typer(
    cls=XlingGroup,
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
    from ..data import atomic

    state.quiet = quiet
    atomic.stdout_carries_data = False


io_cmds.register(app)
align.register(app)
report.register(app)
demo.register(app)
app.add_typer(lexicon.app, name="lexicon")
data_bench.register(data.app)
app.add_typer(data.app, name="data")
app.add_typer(vocab.app, name="vocab")
app.add_typer(cade.app, name="cade")

if __name__ == "__main__":  # pragma: no cover
    app()
