"""Results -> rich tables on a terminal, the same tables as uncut plain text in a pipe."""

from __future__ import annotations

import io
from typing import TextIO

import numpy as np
from rich import box
from rich.console import Console, Group
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from jvpcli.arrays.sinks import Groups, Texts
from jvpcli.check import CheckReport, Kink
from jvpcli.kernels.kernel import label


def _cell(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a), separator=", ", threshold=1000, edgeitems=3)


def sections(groups: Groups, is_tuple: bool, graph: Texts | None, terminal: bool) -> list[Group]:
    """One heading (name, shape, dtype) and one table of values (and expressions) per output."""
    kind, first = next(iter(groups.items()))  # 'output', or the only group reported (--only jvp)
    out = []
    for i, a in enumerate(first):
        heading = Text(f"{label(kind, i, is_tuple)}   shape {a.shape}   {a.dtype.name}", style="bold")
        table = Table(box=box.ROUNDED if terminal else box.ASCII)
        for key in groups:
            table.add_column(key, overflow="fold")
        table.add_row(*(_cell(groups[k][i]) for k in groups))
        if graph is not None:
            table.add_row(*(graph[k][i] for k in groups), style="cyan")
        out.append(Group(heading, table))
    return out


def print_tables(
    stream: TextIO,
    groups: Groups,
    is_tuple: bool,
    graph: Texts | None,
    terminal: bool,
) -> None:
    items = sections(groups, is_tuple, graph, terminal)
    if terminal:
        console = Console(file=stream, force_terminal=True)
        for item in items:
            console.print(item)
        return
    # In a pipe: as wide as the widest section, so nothing is wrapped or cut.
    probe = Console(file=io.StringIO(), width=1_000_000, color_system=None)
    width = max(Measurement.get(probe, probe.options, item).maximum for item in items)
    text = io.StringIO()
    console = Console(file=text, width=width, color_system=None, force_terminal=False)
    for item in items:
        console.print(item)
    stream.write("".join(line.rstrip() + "\n" for line in text.getvalue().splitlines()))


def print_check(stream: TextIO, report: CheckReport, terminal: bool) -> None:
    """One row per output: the largest errors against the finite difference, and the verdict."""
    table = Table(box=box.ROUNDED if terminal else box.ASCII)
    for column in ("output", "max abs error", "max rel error", "atol", "rtol", "verdict"):
        table.add_column(column)
    colour = {"ok": "green", "not differentiable": "yellow", "FAIL": "bold red"}
    for row in report.rows:
        verdict = f"[{colour[row.verdict]}]{row.verdict}[/{colour[row.verdict]}]"
        table.add_row(row.name, f"{row.max_abs:.3g}", f"{row.max_rel:.3g}", f"{row.atol:g}", f"{row.rtol:g}", verdict)
    heading = Text(f"jvp against a central difference, step {report.step:.3g}", style="bold")
    console = Console(
        file=stream, force_terminal=terminal, width=None if terminal else 200, color_system="auto" if terminal else None
    )
    console.print(Group(heading, table))
    for row in report.rows:
        if row.kink:
            console.print(Text(_kink_note(row.name, row.kink)), width=None if terminal else 1_000_000, soft_wrap=True)


def _kink_note(name: str, kink: Kink) -> str:
    index = f"[{', '.join(map(str, kink.index))}]" if kink.index else ""
    return (
        f"{name}{index}: not differentiable along v ({kink.count} of its entries); the one-sided slopes are "
        f"{kink.left:.6g} and {kink.right:.6g}, and the jvp, {kink.jvp:.6g}, lies between them (torch's convention)."
    )
