"""A result -> stdout or an atomic file, in the chosen format."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jvpcli.api import JvpResult
from jvpcli.arrays import sinks
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

        print_tables(sys.stdout, groups, is_tuple, graph, sys.stdout.isatty())
        return
    nested = {k: tuple(v) if is_tuple else v[0] for k, v in groups.items()}
    texts = None if graph is None else {k: tuple(v) if is_tuple else v[0] for k, v in graph.items()}
    write(nested, texts, fmt, out_path)


def emit_nested(
    values: Mapping[str, Any], graph: Mapping[str, Any] | None, fmt: str, only: str | None, out_path: str | None
) -> None:
    """A family member's results (nested as torch nests them), in the chosen format."""
    chosen = {k: v for k, v in values.items() if only in (None, k)}
    if fmt == "table":
        from jvpcli.cli.render import print_flat

        flat_texts = dict(sinks.flat_texts(graph)) if graph is not None else {}
        items = [(key, a, flat_texts.get(key)) for name, v in chosen.items() for key, a in sinks.flat(name, v)]
        print_flat(sys.stdout, items, sys.stdout.isatty())
        return
    write(chosen, graph, fmt, out_path)


def write(nested: Mapping[str, Any], texts: Mapping[str, Any] | None, fmt: str, out_path: str | None) -> None:
    count = sum(len(sinks.flat(k, v)) for k, v in nested.items())
    if fmt == "npy" and out_path is not None and count != 1:
        names = "|".join(nested)
        raise UsageError(f"-o {out_path} holds one array, but there are {count}: use --only {names} or a .npz file")
    data = sinks.encode(fmt, nested, texts)
    if out_path is not None:
        sinks.write_atomic(out_path, data)
    else:
        sinks.write_stream(sys.stdout.buffer, data)
