"""A progress bar on stderr for long streamed calls: blocks done, bytes per second, time left.

Only on a terminal, and only once a call has run for ``AFTER`` seconds: a short call
shows nothing, and a pipe or a log never receives a bar.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

#: seconds before a bar appears
AFTER = 1.0


class Bar:
    """An ``engine.stream.Progress`` callback drawing a rich bar on ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.start = stream, time.monotonic()
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, blocks: int, total_blocks: int, done: int, total: int) -> None:
        if self._progress is None:
            if blocks >= total_blocks or time.monotonic() - self.start < AFTER:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

            self._progress = Progress(
                TextColumn("block {task.fields[blocks]}"),
                BarColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("stream", total=total, blocks="")
        self._progress.update(self._task, completed=done, blocks=f"{blocks}/{total_blocks}")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def bar_for(stream: TextIO, quiet: bool) -> Bar | None:
    """A bar where one may be shown: a terminal, and not ``--quiet``."""
    return None if quiet or not stream.isatty() else Bar(stream)
