"""`xling cade ...` commands."""
from __future__ import annotations

import typer

app = typer.Typer(help="cade commands.", no_args_is_help=True)
