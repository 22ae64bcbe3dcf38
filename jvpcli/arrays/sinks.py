"""Results -> bytes: JSON (RFC 8259, no bare NaN), .npy records, .npz archives; atomic files."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, BinaryIO

import numpy as np

from jvpcli.errors import OutputError

#: arrays by role ("output", "jvp"), one per output; their FUNC text (--create-graph)
Groups = Mapping[str, Sequence[np.ndarray]]
Texts = Mapping[str, Sequence[str]]

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


def to_json(groups: Groups, is_tuple: bool, graph: Texts | None) -> bytes:
    doc: dict[str, Any] = {}
    for key, arrays in groups.items():
        items = [json_array(a) for a in arrays]
        doc[key] = items if is_tuple else items[0]
    if graph is not None:
        doc["graph"] = {k: list(v) if is_tuple else v[0] for k, v in graph.items() if k in groups}
    return (json.dumps(doc, allow_nan=False) + "\n").encode()


def _named(groups: Groups, is_tuple: bool) -> dict[str, np.ndarray]:
    return {(f"{key}_{i}" if is_tuple else key): a for key, arrays in groups.items() for i, a in enumerate(arrays)}


def write_npz(fp: BinaryIO, groups: Groups, is_tuple: bool) -> None:
    """An ``.npz`` archive as ``numpy.savez`` writes it, each member streamed into the zip
    (a file-backed array from its file, in blocks); ``fp`` need not be seekable."""
    import zipfile

    from jvpcli.arrays.npystream import copy_npy

    with zipfile.ZipFile(fp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, a in _named(groups, is_tuple).items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                copy_npy(member, a)


def write_npy(fp: BinaryIO, groups: Groups) -> None:
    """The arrays as consecutive ``.npy`` records, as ``numpy.save`` writes each."""
    from jvpcli.arrays.npystream import copy_npy

    for arrays in groups.values():
        for a in arrays:
            copy_npy(fp, a)


def to_npz(groups: Groups, is_tuple: bool) -> bytes:
    buf = io.BytesIO()
    write_npz(buf, groups, is_tuple)
    return buf.getvalue()


def to_npy(groups: Groups) -> bytes:
    buf = io.BytesIO()
    write_npy(buf, groups)
    return buf.getvalue()


def encode(fmt: str, groups: Groups, is_tuple: bool, graph: Texts | None = None) -> bytes:
    if fmt == "json":
        return to_json(groups, is_tuple, graph)
    if fmt == "npz":
        return to_npz(groups, is_tuple)
    return to_npy(groups)


def write_atomic(path: str, data: bytes, mode: int | None = None) -> None:
    """The file appears whole or not at all: a temporary beside it, then a rename."""
    with open_atomic(path, mode) as fp:
        fp.write(data)


@contextlib.contextmanager
def open_atomic(path: str, mode: int | None = None) -> Iterator[BinaryIO]:
    """A file to write that appears at ``path`` whole, when the block ends without error,
    or not at all (a temporary beside it, then a rename)."""
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
            yield fp
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
