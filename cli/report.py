"""`xling report`: plots and Markdown tables from result JSON files."""
from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the report command to the main app."""
