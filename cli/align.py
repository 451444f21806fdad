"""`xling align`, `xling align-multi`, `xling apply`: top-level commands (registered on the main app)."""
from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the alignment commands to the main app."""
