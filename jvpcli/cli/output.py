"""A result -> stdout or an atomic file, in the chosen format."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from jvpcli.api import JvpResult
from jvpcli.arrays import sinks
from jvpcli.cli import streams
from jvpcli.errors import UsageError


def _listed(value: np.ndarray | tuple[np.ndarray, ...]) -> list[np.ndarray]:
    return list(value) if isinstance(value, tuple) else [value]


def groups_of(result: JvpResult, only: str | None) -> tuple[dict[str, list[np.ndarray]], bool]:
    arrays = {"output": result.output, "jvp": result.jvp}
    return {k: _listed(v) for k, v in arrays.items() if only in (None, k)}, isinstance(result.output, tuple)


def emit(result: JvpResult, fmt: str, only: str | None, out_path: str | None) -> None:
    groups, is_tuple = groups_of(result, only)
    graph: dict[str, Sequence[str]] | None = None
    if result.graph is not None:
        graph = {"output": result.graph.output, "jvp": result.graph.jvp}
    if fmt == "table":
        from jvpcli.cli.render import print_tables

        with streams.writing():
            print_tables(sys.stdout, groups, is_tuple, graph, sys.stdout.isatty())
        return
    count = sum(len(v) for v in groups.values())
    if fmt == "npy" and out_path is not None and count != 1:
        raise UsageError(f"-o {out_path} holds one array, but there are {count}: use --only output|jvp or a .npz file")
    data = sinks.encode(fmt, groups, is_tuple, graph)
    if out_path is not None:
        sinks.write_atomic(out_path, data)
    else:
        with streams.writing():
            sinks.write_stream(sys.stdout.buffer, data)
