"""``check --plot``: s(t) = <w, f(x + t v)> beside its tangent line, as a PNG or on the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

import numpy as np

from jvpcli.errors import MissingDependencyError

WIDTH, HEIGHT, DPI = 6.4, 4.8, 100  # a 640 x 480 PNG


def save_png(path: str, ts: np.ndarray, curves: Sequence[tuple[np.ndarray, np.ndarray]], names: Sequence[str]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        message = "--plot needs matplotlib (jvpcli's 'plot' extra): pip install matplotlib"
        raise MissingDependencyError(message) from None
    fig, axes = plt.subplots(len(curves), 1, figsize=(WIDTH, HEIGHT), dpi=DPI, squeeze=False)
    for ax, (s, line), name in zip(axes[:, 0], curves, names):
        ax.plot(ts, s, "o", markersize=3, label=f"<w, f(x + t v)>  ({name})")
        ax.plot(ts, line, "-", label="tangent: s(0) + t <w, jvp>")
        ax.set_xlabel("t")
        ax.legend(fontsize="small")
    fig.tight_layout()
    import io

    from jvpcli.arrays.sinks import write_atomic

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    write_atomic(path, buf.getvalue())


def draw_text(
    stream: TextIO,
    ts: np.ndarray,
    curves: Sequence[tuple[np.ndarray, np.ndarray]],
    names: Sequence[str],
    width: int = 61,
    height: int = 17,
) -> None:
    """The same picture in characters: '*' the function, '.' the tangent line, '+' both."""
    for (s, line), name in zip(curves, names):
        low, high = float(min(s.min(), line.min())), float(max(s.max(), line.max()))
        span = high - low or 1.0
        grid = [[" "] * width for _ in range(height)]
        columns = np.linspace(0, width - 1, len(ts)).round().astype(int)
        for col, a, b in zip(columns, s, line):
            for value, mark in ((b, "."), (a, "*")):
                line_no = height - 1 - round(float((value - low) / span * (height - 1)))
                grid[line_no][col] = "+" if grid[line_no][col] not in (" ", mark) else mark
        stream.write(f"{name}: '*' <w, f(x + t v)>, '.' tangent line, t in [{ts[0]:.3g}, {ts[-1]:.3g}]\n")
        stream.write(f"{high:>12.6g} |" + "".join(grid[0]) + "\n")
        for row in grid[1:-1]:
            stream.write(" " * 12 + " |" + "".join(row) + "\n")
        stream.write(f"{low:>12.6g} |" + "".join(grid[-1]) + "\n")
