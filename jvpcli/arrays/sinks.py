"""Results -> bytes: JSON (RFC 8259, no bare NaN), .npy records, .npz archives; atomic files."""

from __future__ import annotations

import contextlib
import errno
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
EXTENSIONS = {".json": "json", ".npy": "npy", ".npz": "npz", ".zarr": "zarr"}


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


def flat(name: str, value: Any) -> list[tuple[str, Any]]:
    """``(key, array)`` pairs in order: ``NAME`` for an array, ``NAME_i`` for a tuple, ``NAME_i_j``
    for tuples of tuples (``jacobian_1_0``: output 1, input 0)."""
    if not isinstance(value, tuple):
        return [(name, value)]
    return [pair for i, v in enumerate(value) for pair in flat(f"{name}_{i}", v)]


def flat_texts(graph: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The graph's texts keyed as ``flat`` keys the arrays."""
    return [pair for name, value in graph.items() for pair in flat(name, value)]


def _json_nested(value: Any) -> Any:
    return [_json_nested(v) for v in value] if isinstance(value, tuple) else json_array(value)


def encode_nested(fmt: str, values: Mapping[str, Any], graph: Mapping[str, Any] | None = None) -> bytes:
    """Results by name, each an array or (nested) tuples of arrays as torch nests them."""
    if fmt == "json":
        doc: dict[str, Any] = {key: _json_nested(value) for key, value in values.items()}
        if graph is not None:
            doc["graph"] = {k: _json_texts(v) for k, v in graph.items() if k in values}
        return (json.dumps(doc, allow_nan=False) + "\n").encode()
    return encode(fmt, {key: [a] for name, v in values.items() for key, a in flat(name, v)}, False)


def _json_texts(value: Any) -> Any:
    return [_json_texts(v) for v in value] if isinstance(value, tuple) else value


def named(groups: Groups, is_tuple: bool) -> dict[str, np.ndarray]:
    """The arrays by the names an ``.npz`` file (and a zarr group) gives them."""
    return {(f"{key}_{i}" if is_tuple else key): a for key, arrays in groups.items() for i, a in enumerate(arrays)}


def write_npz(fp: BinaryIO, groups: Groups, is_tuple: bool) -> None:
    """An ``.npz`` archive as ``numpy.savez`` writes it, each member streamed into the zip
    (a file-backed array from its file, in blocks); ``fp`` need not be seekable."""
    import zipfile

    from jvpcli.arrays.npystream import copy_npy

    with zipfile.ZipFile(fp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, a in named(groups, is_tuple).items():
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


#: temporary files are named ``.jvpcli-tmp-PID-RANDOM``: a later run removes those whose process is gone
TEMP_PREFIX = ".jvpcli-tmp-"


def write_atomic(path: str, data: bytes, mode: int | None = None) -> None:
    """The file appears whole or not at all, and a killed write leaves nothing behind."""
    with open_atomic(path, mode) as fp:
        fp.write(data)


@contextlib.contextmanager
def open_atomic(path: str, mode: int | None = None) -> Iterator[BinaryIO]:
    """A file to write that appears at ``path`` whole, when the block ends without error, or not at all.

    On Linux the data goes to an unnamed file (``O_TMPFILE``) that is linked into the folder
    only when complete, then renamed over ``path``; elsewhere to a named temporary. A kill in
    between leaves a ``TEMP_PREFIX`` file naming its process, which the next write removes.
    """
    folder = os.path.dirname(os.path.abspath(path))
    umask = os.umask(0)
    os.umask(umask)
    remove_debris(folder)
    tmp: str | None = None
    try:
        fd, tmp = _create(folder, 0o666 & ~umask if mode is None else mode)
    except OSError as exc:
        raise OutputError(f"cannot write '{path}': {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb", closefd=False) as fp:
            yield fp
            fp.flush()
            os.fsync(fd)
        if tmp is None:
            tmp = temp_name(folder)
            _link(fd, tmp)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OutputError(f"cannot write '{path}': {exc.strerror}") from None
    finally:
        os.close(fd)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _create(folder: str, mode: int) -> tuple[int, str | None]:
    """An unnamed file in ``folder`` (None for its name), else a named temporary."""
    anonymous = getattr(os, "O_TMPFILE", 0)
    if anonymous and os.path.isdir("/proc/self/fd"):
        try:
            fd = os.open(folder, anonymous | os.O_WRONLY | os.O_CLOEXEC, mode)
            os.fchmod(fd, mode)
            return fd, None
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
    tmp = temp_name(folder)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    os.fchmod(fd, mode)
    return fd, tmp


def _link(fd: int, name: str) -> None:
    """Give the unnamed file ``fd`` a name: linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/FD (a
    directory descriptor makes Python call linkat rather than link, which would not follow)."""
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(str(fd), name, src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)


def temp_name(folder: str) -> str:
    """A fresh temporary's name in ``folder``, carrying this process's PID."""
    return os.path.join(folder, f"{TEMP_PREFIX}{os.getpid()}-{os.urandom(6).hex()}")


def remove_debris(folder: str) -> None:
    """Remove the temporaries of writes whose process was killed (its PID is gone)."""
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(TEMP_PREFIX)]
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(TEMP_PREFIX) :].partition("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            if entry.stat(follow_symlinks=False).st_uid != os.geteuid():
                continue
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
            elif entry.is_dir(follow_symlinks=False):  # a zarr group being written (arrays.zarrout)
                import shutil

                shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def write_stream(stream: BinaryIO, data: bytes) -> None:
    """All of ``data``: a buffered write can stop short (a pipe whose reader left) and say so only
    in its count; the next write then raises."""
    view = memoryview(data)
    while view:
        n = stream.write(view)
        if not n:
            raise OSError(errno.EIO, "standard output took no more data")
        view = view[n:]
    stream.flush()
