"""Results -> bytes: JSON (RFC 8259, no bare NaN), .npy records, .npz archives; atomic files."""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

import numpy as np

from jvpcli.errors import OutputError

#: arrays by role ("output", "jvp"), one per output; their FUNC text (--create-graph)
Groups = Mapping[str, Sequence[np.ndarray]]
Texts = Mapping[str, Sequence[str]]
#: results by name, each an array or a tuple (of tuples) of arrays
Nested = Mapping[str, Any]

FORMATS = ("table", "json", "npy", "npz")
EXTENSIONS = {".json": "json", ".npy": "npy", ".npz": "npz"}


def _number(x: Any) -> Any:
    if isinstance(x, complex):
        return [_number(x.real), _number(x.imag)]
    if isinstance(x, float) and not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    return x


def _nested(x: Any) -> Any:
    return [_nested(e) for e in x] if isinstance(x, list) else _number(x)


def json_array(a: np.ndarray) -> dict[str, Any]:
    return {"shape": list(a.shape), "dtype": a.dtype.name, "data": _nested(a.tolist())}


def _json_nested(value: Any) -> Any:
    return [_json_nested(v) for v in value] if isinstance(value, tuple) else json_array(value)


def flat(name: str, value: Any) -> list[tuple[str, np.ndarray]]:
    """``(key, array)`` pairs in order: ``NAME`` for an array, ``NAME_i`` for a tuple, ``NAME_i_j``
    for tuples of tuples."""
    if not isinstance(value, tuple):
        return [(name, value)]
    return [pair for i, v in enumerate(value) for pair in flat(f"{name}_{i}", v)]


def flat_texts(graph: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The graph's texts keyed as ``flat`` keys the arrays."""
    out: list[tuple[str, str]] = []

    def walk(key: str, value: Any) -> None:
        if isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                walk(f"{key}_{i}", v)
        else:
            out.append((key, value))

    for name, value in graph.items():
        walk(name, value)
    return out


def to_json(groups: Nested, graph: Mapping[str, Any] | None) -> bytes:
    doc: dict[str, Any] = {key: _json_nested(value) for key, value in groups.items()}
    if graph is not None:
        doc["graph"] = {k: _texts(v) for k, v in graph.items() if k in groups}
    return (json.dumps(doc, allow_nan=False) + "\n").encode()


def _texts(value: Any) -> Any:
    return [_texts(v) for v in value] if isinstance(value, (tuple, list)) else value


def to_npz(groups: Nested) -> bytes:
    named: dict[str, Any] = {key: a for name, value in groups.items() for key, a in flat(name, value)}
    buf = io.BytesIO()
    np.savez(buf, **named)
    return buf.getvalue()


def to_npy(groups: Nested) -> bytes:
    buf = io.BytesIO()
    for name, value in groups.items():
        for _, a in flat(name, value):
            np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def encode(fmt: str, groups: Nested, graph: Mapping[str, Any] | None = None) -> bytes:
    """``groups``: each result by name, an array or (nested) tuples of arrays as torch nests them."""
    if fmt == "json":
        return to_json(groups, graph)
    if fmt == "npz":
        return to_npz(groups)
    return to_npy(groups)


def write_atomic(path: str, data: bytes, mode: int | None = None) -> None:
    """The file appears whole or not at all: a temporary beside it, then a rename."""
    import tempfile  # here, not at start-up: most calls write to stdout

    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".jvpcli-", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write '{path}': {exc.strerror}") from None
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask if mode is None else mode)
        with os.fdopen(fd, "wb") as fp:
            fp.write(data)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        os.unlink(tmp)
        raise OutputError(f"cannot write '{path}': {exc.strerror}") from None
    except BaseException:
        os.unlink(tmp)
        raise


def write_stream(stream: BinaryIO, data: bytes) -> None:
    stream.write(data)
    stream.flush()
