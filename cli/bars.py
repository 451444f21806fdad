"""Progress bar columns that tell the truth."""
from __future__ import annotations

from rich import filesize
from rich.progress import ProgressColumn
from rich.text import Text


class MeanRateColumn(ProgressColumn):
    """Bytes per second since the bar started.

    rich's ``TransferSpeedColumn`` divides the last samples' bytes by the time between them: a
    reader whose progress arrives in bursts (parallel workers finishing together, a model loaded
    before its rows are reported) showed rates like 2.2 TB/s. The mean over the elapsed time is
    the rate a user can plan with.
    """

    def render(self, task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        if not elapsed or elapsed < 0.1 or not task.completed:
            return Text("", style="progress.data.speed")
        return Text(f"{filesize.decimal(int(task.completed / elapsed))}/s", style="progress.data.speed")
