"""Results as a zarr group (``-o out.zarr``): one array per result, named as the ``.npz`` keys.

A streamed result is an array of the group whose chunks are the blocks of rows, so each
block (a thread's or a dask worker's) writes whole chunks of its own and no two writers
share one. Chunks are stored uncompressed: float results of real work hardly compress, and
a codec would cost more time than the block's kernel. The group is made in a temporary
folder beside the destination, named as ``sinks`` names its temporaries (a later run
removes it if this process is killed), every file is synced, and the folder is renamed
into place: the group appears whole or not at all, as far as a folder can.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from collections.abc import Mapping
from typing import Any

import numpy as np

from jvpcli.errors import MissingDependencyError, OutputError

INSTALL = "pip install 'jvpcli[dask]'"
#: an array written whole is chunked in about this many bytes of rows
CHUNK_BYTES = 16 << 20


def zarr() -> Any:
    """The zarr module, or a usage error that says how to install it."""
    try:
        import zarr
    except ImportError:
        raise MissingDependencyError(f"-o PATH.zarr needs zarr: {INSTALL}") from None
    return zarr


def _chunks(shape: tuple[int, ...], rows: int) -> tuple[int, ...]:
    return (max(rows, 1), *(max(d, 1) for d in shape[1:])) if shape else ()


class ZarrOut:
    """An array of a zarr group being filled by blocks of ``rows`` rows (its chunks)."""

    def __init__(self, path: str, shape: tuple[int, ...], dtype: np.dtype, rows: int, create: bool = True) -> None:
        self.path, self.shape, self.dtype, self.rows = path, tuple(shape), np.dtype(dtype), rows
        self._array: Any = None
        if create:
            self._array = zarr().create_array(
                store=path, shape=self.shape, dtype=self.dtype, chunks=_chunks(self.shape, rows), compressors=None
            )

    def write(self, lo: int, block: np.ndarray) -> None:
        """Rows ``lo:lo + len(block)``: whole chunks (the last one may end with the array)."""
        if self._array is None:
            self._array = zarr().open_array(self.path, mode="r+")
        if self.shape:
            self._array[lo : lo + len(block)] = block
        else:
            self._array[...] = block

    def close(self) -> None:
        self._array = None

    def spec(self) -> tuple:
        """Plain data from which ``npystream.from_spec`` opens this array again (a dask worker's view)."""
        return ("zarr", self.path, self.shape, self.dtype.str, self.rows)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_array": None}


class ZarrSpool:
    """The temporary group behind ``-o PATH.zarr``: streamed results are arrays in it,
    ``publish`` names every result and renames the group into place, ``close`` removes
    whatever was not published."""

    def __init__(self, destination: str) -> None:
        from jvpcli.arrays import sinks

        self.destination = os.path.abspath(destination)
        folder = os.path.dirname(self.destination)
        sinks.remove_debris(folder)
        self.folder = sinks.temp_name(folder)
        try:
            zarr().open_group(self.folder, mode="w-")
        except OSError as exc:
            raise OutputError(f"cannot write '{destination}': {exc.strerror}") from None
        self.paths: list[str] = []
        #: the finished arrays and their folders, to be renamed rather than copied
        self._done: list[tuple[Any, str]] = []

    def create(self, shape: tuple[int, ...], dtype: np.dtype, rows: int = 0) -> ZarrOut:
        path = os.path.join(self.folder, f"result-{len(self.paths)}")
        self.paths.append(path)
        return ZarrOut(path, shape, dtype, rows or _rows_for(shape, dtype))

    def finish(self, out: ZarrOut) -> Any:
        """The finished array, opened read-only (a ``zarr.Array``: read it by slices)."""
        out.close()
        array = zarr().open_array(out.path, mode="r")
        self._done.append((array, out.path))
        return array

    def publish(self, arrays: Mapping[str, Any]) -> None:
        """``arrays`` by name as the group at the destination: this spool's arrays renamed,
        others written in chunks of rows."""
        for name, a in arrays.items():
            mine = next((path for array, path in self._done if array is a), None)
            if mine is not None:
                os.rename(mine, os.path.join(self.folder, name))
                continue
            a = np.asarray(a)
            rows = _rows_for(a.shape, a.dtype)
            out = ZarrOut(os.path.join(self.folder, name), a.shape, a.dtype, rows)
            for lo in range(0, len(a), rows) if a.shape else [0]:
                out.write(lo, a[lo : lo + rows] if a.shape else a)
        try:
            _sync_tree(self.folder)
            _replace_folder(self.folder, self.destination)
        except OSError as exc:
            raise OutputError(f"cannot write '{self.destination}': {exc.strerror}") from None

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> ZarrSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rows_for(shape: tuple[int, ...], dtype: np.dtype) -> int:
    row = math.prod(shape[1:]) * np.dtype(dtype).itemsize if shape else 1
    return max(1, CHUNK_BYTES // max(row, 1))


def _sync_tree(folder: str) -> None:
    """Every file and folder under ``folder`` on disk (the data before the rename that publishes it)."""
    for where, _, files in os.walk(folder, topdown=False):
        for name in [*files, "."]:
            fd = os.open(os.path.join(where, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _replace_folder(folder: str, destination: str) -> None:
    """Rename ``folder`` to ``destination``; what was there is moved aside first and removed after."""
    from jvpcli.arrays import sinks

    aside = None
    if os.path.lexists(destination):
        aside = sinks.temp_name(os.path.dirname(destination))
        os.rename(destination, aside)
    try:
        os.rename(folder, destination)
    except OSError:
        if aside is not None:
            os.rename(aside, destination)
        raise
    if aside is not None:
        if os.path.isdir(aside) and not os.path.islink(aside):
            shutil.rmtree(aside, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(aside)
