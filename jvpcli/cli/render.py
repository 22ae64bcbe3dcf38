"""Results -> rich tables on a terminal, the same tables as uncut plain text in a pipe."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

import numpy as np
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from jvpcli.evaluate import label


def _cell(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a), separator=", ", threshold=1000, edgeitems=3)


def tables(
    groups: dict[str, Sequence[np.ndarray]], is_tuple: bool, graph: dict[str, Sequence[str]] | None, terminal: bool
) -> list[Table]:
    first = next(iter(groups.values()))
    out = []
    for i, a in enumerate(first):
        table = Table(
            title=f"{label('output', i, is_tuple)}   shape {a.shape}   {a.dtype.name}",
            box=box.ROUNDED if terminal else box.ASCII,
            title_justify="left",
        )
        for key in groups:
            table.add_column(key, overflow="fold")
        table.add_row(*(_cell(groups[k][i]) for k in groups))
        if graph is not None:
            table.add_row(*(graph[k][i] for k in groups))
        out.append(table)
    return out


def print_tables(
    stream: TextIO,
    groups: dict[str, Sequence[np.ndarray]],
    is_tuple: bool,
    graph: dict[str, Sequence[str]] | None,
    terminal: bool,
) -> None:
    items = tables(groups, is_tuple, graph, terminal)
    if terminal:
        console = Console(file=stream, force_terminal=True)
    else:  # as wide as the widest table, so nothing is wrapped or cut
        probe = Console(file=stream, width=1_000_000, color_system=None)
        width = max(Measurement.get(probe, probe.options, t).maximum for t in items)
        console = Console(file=stream, width=max(width, 20), color_system=None, force_terminal=False)
    for t in items:
        console.print(t)
