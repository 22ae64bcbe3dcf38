"""Arrays known by shape and dtype, read or made a block of rows (axis 0) at a time.

A streamed evaluation never holds a large input whole: a ``.npy`` file is read block by
block at the offset its header gives, and a generated tangent is made block by block with
the very numbers a whole array would hold. Each kind can say how to rebuild itself as plain
data (``spec``), so a dask worker reads its own blocks instead of receiving them.

``rand`` and ``randn`` SOURCEs take the next numbers of one ``default_rng(seed)`` in turn
(the contract's ``default_rng(seed).random`` / ``.standard_normal``); each holds the bit
generator's state at its first number. A block of ``rand`` starts by ``PCG64.advance`` to
its first number (one 64-bit draw per float64, so the advance is exact). ``standard_normal``
rejects some draws, so a block of ``randn`` continues where the previous block stopped (the
streamed engine reads blocks in order) or draws and drops the numbers before it.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

#: normals drawn and dropped at a time, to reach a block of ``randn`` out of order
SKIP = 1 << 20


class Rows:
    """An array read (or made) rows ``lo:hi`` at a time; ``whole()`` gives all of it."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def row_bytes(self) -> int:
        return math.prod(self.shape[1:]) * self.dtype.itemsize if self.shape else self.nbytes

    def read(self, lo: int, hi: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``lo:hi``, in ``out`` when it is given (C-contiguous, of that shape and dtype)."""
        raise NotImplementedError

    def whole(self) -> np.ndarray:
        return self.read(0, self.shape[0]) if self.shape else self.read(0, 0)

    def astype(self, dtype: Any, copy: bool = False) -> Rows:
        dtype = np.dtype(dtype)
        return self if dtype == self.dtype else Cast(self, dtype)

    def spec(self) -> tuple:
        """Plain data that ``from_spec`` turns back into these rows (for dask workers)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.shape} {self.dtype}"


class ArrayRows(Rows):
    """An array already in memory (literals, small files, standard input)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array, self.shape, self.dtype = array, array.shape, array.dtype

    def read(self, lo: int, hi: int, out: np.ndarray | None = None) -> np.ndarray:
        block = self.array[lo:hi] if self.shape else self.array
        if out is None:
            return block
        out[...] = block
        return out

    def whole(self) -> np.ndarray:
        return self.array

    def spec(self) -> tuple:
        return ("array", self.array)


class Cast(Rows):
    """Other rows in another dtype, cast block by block."""

    def __init__(self, base: Rows, dtype: np.dtype) -> None:
        self.base, self.shape, self.dtype = base, base.shape, dtype

    def read(self, lo: int, hi: int, out: np.ndarray | None = None) -> np.ndarray:
        block = self.base.read(lo, hi).astype(self.dtype, copy=False)
        if out is None:
            return block
        out[...] = block
        return out

    def whole(self) -> np.ndarray:
        return self.base.whole().astype(self.dtype, copy=False)

    def spec(self) -> tuple:
        return ("cast", self.base.spec(), self.dtype.str)


class NpyRows(Rows):
    """A ``.npy`` file (a local path or an fsspec URL) whose header has been checked.

    Rows are read at their offset into a buffer: mapping the file would count every page
    touched in the resident memory of the process until the mapping goes.
    """

    #: whole files from this size are mapped rather than read (the in-memory engine's way)
    MAP_FROM = 64 * 2**20

    def __init__(self, path: str, offset: int, shape: tuple[int, ...], dtype: np.dtype, fortran: bool) -> None:
        self.path, self.offset, self.shape, self.dtype, self.fortran = path, offset, shape, dtype, fortran
        self._fd: int | None = None
        self._remote: Any = None

    def read(self, lo: int, hi: int, out: np.ndarray | None = None) -> np.ndarray:
        rest = self.shape[1:]
        if not self.shape:
            lo, hi = 0, 1
        if self.fortran and len(rest) > 0:  # rows are not contiguous on disk: through a map
            block = np.ascontiguousarray(self._mapped()[lo:hi])
            if out is None:
                return block
            out[...] = block
            return out
        if out is None:
            out = np.empty((hi - lo, *rest) if self.shape else (), self.dtype)
        self._read_into(out.reshape(-1).view(np.uint8).data, self.offset + lo * self.row_bytes)
        return out

    def whole(self) -> np.ndarray:
        if self.nbytes >= self.MAP_FROM and "://" not in self.path:
            return self._mapped()
        return super().whole()

    def spec(self) -> tuple:
        return ("npy", self.path, self.offset, self.shape, self.dtype.str, self.fortran)

    def _mapped(self) -> np.ndarray:
        """The data mapped at the offset the (already checked) header gave: numpy never parses the header."""
        order = "F" if self.fortran else "C"
        return np.memmap(self.path, self.dtype, "r", self.offset, self.shape, order)  # type: ignore[call-overload]

    def _read_into(self, buf: memoryview, offset: int) -> None:
        if "://" in self.path:
            fp = self._remote_file()
            fp.seek(offset)
            done = 0
            while done < len(buf):  # only these bytes are asked of the filesystem
                got = fp.readinto(buf[done:])
                if not got:
                    raise OSError(f"'{self.path}' ended early")
                done += got
            return
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        done = 0
        while done < len(buf):
            got = os.preadv(self._fd, [buf[done:]], offset + done)
            if got <= 0:
                raise OSError(f"'{self.path}' ended early")
            done += got

    def _remote_file(self) -> Any:
        if self._remote is None:
            import fsspec

            self._remote = fsspec.open(self.path, "rb").open()
        return self._remote

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._remote is not None:
            self._remote.close()
            self._remote = None

    def __del__(self) -> None:
        self.close()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fd": None, "_remote": None}


class Generated(Rows):
    """``ones``, ``zeros``, ``rand`` or ``randn`` of a shape, made block by block.

    ``state`` is the ``PCG64`` state at its first number (``rand`` and ``randn``).
    """

    def __init__(self, kind: str, shape: tuple[int, ...], state: Any = None) -> None:
        self.kind, self.shape, self.state = kind, shape, state
        self.dtype = np.dtype(np.float64)
        #: where the last ``randn`` block stopped, and the state there: the next block goes on
        self._resume: tuple[int, Any] | None = None

    def read(self, lo: int, hi: int, out: np.ndarray | None = None) -> np.ndarray:
        rest = self.shape[1:]
        shape = (hi - lo, *rest) if self.shape else ()
        out = np.empty(shape) if out is None else out
        flat, first = out.reshape(-1), lo * math.prod(rest) if self.shape else 0
        if self.kind in ("ones", "zeros"):
            flat.fill(1.0 if self.kind == "ones" else 0.0)
        elif self.kind == "rand":
            bits = _bits(self.state)
            bits.advance(first)
            np.random.Generator(bits).random(out=flat)
        else:
            bits = _bits(self._resume[1] if self._resume and self._resume[0] == first else self.state)
            if not (self._resume and self._resume[0] == first):
                skip(bits, first)
            np.random.Generator(bits).standard_normal(out=flat)
            self._resume = (first + flat.size, bits.state)
        return out

    def spec(self) -> tuple:
        return ("generated", self.kind, self.shape, self.state)


def _bits(state: Any) -> np.random.PCG64:
    bits = np.random.PCG64()
    bits.state = state
    return bits


def skip(bits: np.random.PCG64, count: int) -> None:
    """``bits`` moved past ``count`` standard normals (drawn and dropped, ``SKIP`` at a time)."""
    numbers = np.random.Generator(bits)
    scratch = np.empty(min(count, SKIP))
    while count > 0:
        numbers.standard_normal(out=scratch[: min(count, SKIP)])
        count -= SKIP


def from_spec(spec: tuple) -> Rows:
    """The rows ``Rows.spec`` describes."""
    kind, *rest = spec
    if kind == "array":
        return ArrayRows(rest[0])
    if kind == "cast":
        return Cast(from_spec(rest[0]), np.dtype(rest[1]))
    if kind == "npy":
        path, offset, shape, dtype, fortran = rest
        return NpyRows(path, offset, tuple(shape), np.dtype(dtype), fortran)
    if kind == "generated":
        name, shape, state = rest
        return Generated(name, tuple(shape), state)
    raise ValueError(f"unknown rows {kind!r}")
