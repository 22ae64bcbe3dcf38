"""A result -> stdout or an atomic file, in the chosen format."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

import numpy as np

from jvpcli.api import JvpResult
from jvpcli.arrays import sinks
from jvpcli.arrays.npystream import Spool
from jvpcli.cli import streams
from jvpcli.errors import UsageError


def _listed(value: np.ndarray | tuple[np.ndarray, ...]) -> list[np.ndarray]:
    return list(value) if isinstance(value, tuple) else [value]


def groups_of(result: JvpResult, only: str | None) -> tuple[dict[str, list[np.ndarray]], bool]:
    arrays = {"output": result.output, "jvp": result.jvp}
    return {k: _listed(v) for k, v in arrays.items() if only in (None, k)}, isinstance(result.output, tuple)


def emit(result: JvpResult, fmt: str, only: str | None, out_path: str | None, spool: Spool | None = None) -> None:
    groups, is_tuple = groups_of(result, only)
    graph: dict[str, Sequence[str]] | None = None
    if result.graph is not None:
        graph = {"output": result.graph.output, "jvp": result.graph.jvp}
    if fmt == "table":
        from jvpcli.cli.render import print_tables

        with streams.writing():
            print_tables(sys.stdout, groups, is_tuple, graph, sys.stdout.isatty())
        return
    if fmt == "zarr":
        _publish(sinks.named(groups, is_tuple), out_path, spool)
        return
    arrays = [a for group in groups.values() for a in group]
    if fmt == "npy" and out_path is not None and len(arrays) != 1:
        raise UsageError(
            f"-o {out_path} holds one array, but there are {len(arrays)}: use --only output|jvp or a .npz file"
        )
    if not any(isinstance(a, np.memmap) for a in arrays):
        data = sinks.encode(fmt, groups, is_tuple, graph)
        _deliver(data, out_path)
        return
    # streamed results: files, copied block by block (or renamed into place), never whole
    if fmt == "json":
        size = sum(a.nbytes for a in arrays)
        if size > JSON_LIMIT:
            raise UsageError(f"the results are {size} bytes: too large for JSON; write -o PATH.npy or PATH.npz")
        data = sinks.encode(fmt, groups, is_tuple, graph)
        _deliver(data, out_path)
        return
    (only_one,) = arrays if len(arrays) == 1 else (None,)
    if out_path is not None and fmt == "npy" and spool is not None and _spooled(only_one, spool, out_path):
        spool.take(only_one.filename, out_path)  # type: ignore[union-attr]
        return
    if out_path is not None:
        with sinks.open_atomic(out_path) as fp:
            _write_files(fp, fmt, groups, is_tuple)
    else:
        with streams.writing():
            _write_files(sys.stdout.buffer, fmt, groups, is_tuple)
            sys.stdout.buffer.flush()


def _deliver(data: bytes, out_path: str | None) -> None:
    if out_path is not None:
        sinks.write_atomic(out_path, data)
    else:
        with streams.writing():
            sinks.write_stream(sys.stdout.buffer, data)


def emit_nested(
    values: Mapping[str, Any], graph: Mapping[str, Any] | None, fmt: str, only: str | None, out_path: str | None
) -> None:
    """A family member's results (nested as torch nests them), in the chosen format."""
    chosen = {k: v for k, v in values.items() if only in (None, k)}
    if fmt == "table":
        from jvpcli.cli.render import print_flat

        texts = dict(sinks.flat_texts(graph)) if graph is not None else {}
        items = [(key, a, texts.get(key)) for name, v in chosen.items() for key, a in sinks.flat(name, v)]
        print_flat(sys.stdout, items, sys.stdout.isatty())
        return
    count = sum(len(sinks.flat(k, v)) for k, v in chosen.items())
    if fmt == "npy" and out_path is not None and count != 1:
        names = "|".join(values)
        raise UsageError(f"-o {out_path} holds one array, but there are {count}: use --only {names} or a .npz file")
    if fmt == "zarr":
        _publish({key: a for name, v in chosen.items() for key, a in sinks.flat(name, v)}, out_path)
        return
    data = sinks.encode_nested(fmt, chosen, graph)
    if out_path is not None:
        sinks.write_atomic(out_path, data)
    else:
        sinks.write_stream(sys.stdout.buffer, data)


def _publish(arrays: Mapping[str, Any], out_path: str | None, spool: Any = None) -> None:
    """The arrays as the zarr group ``out_path``, through ``spool`` when it is the group's
    (``arrays.zarrout.ZarrSpool``: its streamed arrays are renamed into the group)."""
    from jvpcli.arrays.zarrout import ZarrSpool

    assert out_path is not None  # zarr is only ever chosen by -o PATH.zarr
    if isinstance(spool, ZarrSpool):
        spool.publish(arrays)
        return
    with ZarrSpool(out_path) as own:
        own.publish(arrays)


def _write_files(fp: BinaryIO, fmt: str, groups: sinks.Groups, is_tuple: bool) -> None:
    if fmt == "npz":
        sinks.write_npz(fp, groups, is_tuple)
    else:
        sinks.write_npy(fp, groups)


#: streamed results up to this size may still be written as JSON
JSON_LIMIT = 64 << 20


def _spooled(array: np.ndarray | None, spool: Spool, out_path: str) -> bool:
    """``array`` is a whole result file of ``spool``, in ``out_path``'s folder."""
    import mmap
    import os

    return (
        isinstance(array, np.memmap)
        and isinstance(array.base, mmap.mmap)
        and array.filename in spool.paths
        and os.path.dirname(array.filename) == os.path.dirname(os.path.abspath(out_path))
    )
