"""--help reads like click's everywhere (issue 16.6): no Python type placeholders (<bool>, <str>,
<list[str]>, <int range>), arguments in capitals, and every option and argument described."""
from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from xling.cli.helpfmt import plain_type
from xling.cli.main import app


def _commands(group, path=()):
    yield path, group
    if getattr(group, "commands", None):  # a group (Typer may vendor its own click)
        for name, cmd in group.commands.items():
            yield from _commands(cmd, (*path, name))


ALL = list(_commands(typer.main.get_command(app)))


def test_plain_type():
    assert plain_type("<bool>", is_flag=True) is None
    assert [plain_type(x) for x in ["<str>", "<int>", "<float range>", "<list[str]>", "<path>", "<tsv|muse>"]] == \
        ["TEXT", "INTEGER", "FLOAT", "TEXT", "PATH", "[tsv|muse]"]
    assert plain_type("SRC") == "SRC" and plain_type(None) is None


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=lambda p: " ".join(p) or "xling")
def test_help_has_no_type_placeholders(path):
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    bad = re.findall(r"<(?:bool|str|int|float|path|list\[[^\]]*\])[^>]*>|\{[a-z_]+\}", res.output)
    assert not bad, (path, bad)


def test_every_parameter_is_described():
    missing = [(" ".join(path), p.name) for path, cmd in ALL for p in cmd.params
               if not getattr(p, "hidden", False) and not (getattr(p, "help", None) or "").strip()]
    assert missing == []
