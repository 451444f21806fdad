"""Progress bar columns that tell the truth."""
from __future__ import annotations

from rich import filesize
from rich.progress import ProgressColumn
from rich.text import Text


class MeanRateColumn(ProgressColumn):
    """Bytes per second since the column first drew the task.

    rich's ``TransferSpeedColumn`` divides the last samples' bytes by the time between them: a
    reader whose progress arrives in bursts (parallel workers finishing together, a model loaded
    before its rows are reported) showed rates like 2.2 TB/s. This column divides the bytes
    done since it first saw the task (so a resumed download's earlier bytes do not count) by the
    time since then, and shows nothing for the first half second.
    """

    def __init__(self, min_seconds: float = 0.5):
        super().__init__()
        self.min_seconds = min_seconds
        self._start: dict = {}

    def render(self, task) -> Text:
        now = task.get_time()
        t0, c0 = self._start.setdefault(task.id, (now, task.completed))
        if task.finished and task.finished_time is not None and task.start_time is not None:
            now = min(now, task.start_time + task.finished_time)
        if now - t0 < self.min_seconds or task.completed <= c0:
            return Text("", style="progress.data.speed")
        return Text(f"{filesize.decimal(int((task.completed - c0) / (now - t0)))}/s", style="progress.data.speed")
