"""``.npy`` files written a block of rows at a time, and the folder that holds them.

A streamed result is a ``.npy`` file whose header is written first and whose rows are
written at their offsets as blocks finish (``pwrite``: any order, from any thread or dask
worker that sees the file). Writing, not mapping: pages of a mapped file count in the
resident memory of the process that touched them. The finished file is mapped read-only
for whoever reads it next, and ``-o out.npy`` renames it into place (it is made beside
the destination), so the result appears whole or not at all.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any, Protocol

import numpy as np


def _mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class NpyOut:
    """A ``.npy`` file of ``shape`` and ``dtype`` being filled by rows."""

    def __init__(self, path: str, shape: tuple[int, ...], dtype: np.dtype, create: bool = True) -> None:
        self.path, self.shape, self.dtype = path, tuple(shape), np.dtype(dtype)
        self.row_bytes = math.prod(self.shape[1:]) * self.dtype.itemsize
        header = _header(self.shape, self.dtype)
        self.offset = len(header)
        if create:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _mode())
            try:
                os.write(fd, header)
                os.ftruncate(fd, self.offset + math.prod(self.shape) * self.dtype.itemsize)
            finally:
                os.close(fd)
        self._fd: int | None = None

    def write(self, lo: int, block: np.ndarray) -> None:
        """Rows ``lo:lo + len(block)``."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY)
        data = np.ascontiguousarray(block, self.dtype).reshape(-1).view(np.uint8).data
        at, done = self.offset + lo * self.row_bytes, 0
        while done < len(data):
            done += os.pwrite(self._fd, data[done:], at + done)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def array(self) -> np.ndarray:
        """The finished file, mapped read-only."""
        self.close()
        if math.prod(self.shape) == 0:
            return np.empty(self.shape, self.dtype)
        return np.memmap(self.path, self.dtype, "r", self.offset, self.shape)

    def spec(self) -> tuple:
        """Plain data from which ``from_spec`` opens this file again (a dask worker's view)."""
        return ("npy", self.path, self.shape, self.dtype.str)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fd": None}


class Out(Protocol):
    """A result being filled by rows: a ``.npy`` file here, or an array of a zarr group."""

    def write(self, lo: int, block: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def spec(self) -> tuple: ...


class Spooler(Protocol):
    """Where streamed results go: ``Spool`` (``.npy`` files) or ``zarrout.ZarrSpool``."""

    def create(self, shape: tuple[int, ...], dtype: np.dtype, rows: int = 0) -> Out: ...

    def finish(self, out: Any) -> Any: ...


def from_spec(spec: tuple) -> Out:
    """The result ``spec`` describes (``NpyOut.spec`` or ``zarrout.ZarrOut.spec``), opened to write."""
    kind, path, shape, dtype, *rest = spec
    if kind == "zarr":
        from jvpcli.arrays.zarrout import ZarrOut

        (rows,) = rest
        return ZarrOut(path, tuple(shape), np.dtype(dtype), rows, create=False)
    return NpyOut(path, tuple(shape), np.dtype(dtype), create=False)


def _header(shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    import io

    buf = io.BytesIO()
    info = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    try:
        np.lib.format.write_array_header_1_0(buf, info)
    except ValueError:  # a header past 64 KiB (a shape of very many axes)
        np.lib.format.write_array_header_2_0(buf, info)
    return buf.getvalue()


class Spool:
    """Result files in one folder: beside ``-o``'s destination, else the temporary folder.

    ``close`` removes every file not taken away (renamed) by then. An anonymous spool
    (``keep=False``) unlinks each file as soon as it is mapped: the mapping keeps the data
    until the array goes, and nothing is left on disk whatever happens later.
    """

    def __init__(self, folder: str | None = None, keep: bool = True) -> None:
        self.folder = os.path.abspath(folder) if folder else None
        self.keep = keep
        self.paths: list[str] = []

    def create(self, shape: tuple[int, ...], dtype: np.dtype, rows: int = 0) -> NpyOut:
        """A result file named as ``sinks`` names its temporaries: if this process is killed,
        the next run that writes in the folder removes it. (``rows``, the blocks' size, is
        for spools that chunk.)"""
        import tempfile  # here, not at start-up: most calls stream nothing

        from jvpcli.arrays import sinks

        folder = self.folder or tempfile.gettempdir()
        if not self.paths:
            sinks.remove_debris(folder)
        path = sinks.temp_name(folder) + ".npy"  # NpyOut creates it exclusively, with a user's file's mode
        self.paths.append(path)
        return NpyOut(path, shape, dtype)

    def finish(self, out: NpyOut) -> np.ndarray:
        array = out.array()
        if not self.keep:
            self.release(out.path)
        return array

    def take(self, path: str, destination: str) -> None:
        """Move a finished file to ``destination`` (same filesystem: atomic)."""
        with open(path, "rb+") as fp:
            os.fsync(fp.fileno())
        os.replace(path, destination)
        self.paths.remove(path)

    def release(self, path: str) -> None:
        if path in self.paths:
            self.paths.remove(path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def close(self) -> None:
        for path in list(self.paths):
            self.release(path)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def copy_npy(fp: object, array: np.ndarray) -> None:
    """``array`` as one ``.npy`` record on ``fp``; a mapped file's bytes are copied from the
    file in blocks, so its pages are never touched (and never counted) in this process."""
    import mmap

    write = fp.write  # type: ignore[attr-defined]
    filename = getattr(array, "filename", None)
    if not (isinstance(array, np.memmap) and isinstance(array.base, mmap.mmap) and filename):
        np.lib.format.write_array(fp, np.asanyarray(array), allow_pickle=False)  # type: ignore[arg-type]
        return
    write(_header(array.shape, array.dtype))
    left = array.nbytes
    buf = bytearray(min(left, 16 << 20))
    with open(filename, "rb") as src:
        src.seek(array.offset)
        while left:
            got = src.readinto(memoryview(buf)[: min(left, len(buf))])
            if not got:
                raise OSError(f"'{filename}' ended early")
            write(memoryview(buf)[:got])
            left -= got
