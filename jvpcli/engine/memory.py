"""Result arrays in memory that is already mapped.

The first write to a fresh array costs a page fault per 4 KiB (two 8 MB results: ~1300
faults, ~4 ms here, as long as the kernel itself), and whether the C allocator hands out
fresh pages or ones it kept depends on everything that ran before in the process. So the
buffers of recent results are kept and handed out again once no array uses them: repeated
calls write into mapped memory, at a speed that does not depend on the allocator's past.
Bounded: buffers of ``SMALLEST`` to ``LARGEST`` bytes, ``KEEP`` bytes in all.
"""

from __future__ import annotations

import math
import os
import threading
import weakref

import numpy as np

#: larger arrays cost as much to compute as to fault in; the allocator maps them fresh anyway
LARGEST = 1 << 25
#: smaller arrays fault in a few pages at most (~3 us each here): less than keeping them costs
SMALLEST = 1 << 14
KEEP = 1 << 26

_lock = threading.Lock()
#: (buffer, its users' memoryview): a buffer is free once that memoryview is gone
_kept: list[tuple[np.ndarray, weakref.ref]] = []


def empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array, in a kept buffer where one of its size is free."""
    dtype = np.dtype(dtype)
    size = math.prod(shape) * dtype.itemsize
    if not SMALLEST <= size <= LARGEST or dtype.hasobject:
        return np.empty(shape, dtype)
    with _lock:
        free = next((i for i, (raw, users) in enumerate(_kept) if raw.nbytes == size and users() is None), None)
        raw = _kept.pop(free)[0] if free is not None else np.empty(size, np.uint8)
        array = np.frombuffer(memoryview(raw), dtype).reshape(shape)  # type: ignore[arg-type]
        _kept.append((raw, weakref.ref(_users(array))))
        while sum(raw.nbytes for raw, _ in _kept) > KEEP:
            del _kept[0]  # the oldest: its arrays, if any, keep its memory until they go
    return array


def _users(array: np.ndarray) -> object:
    """The memoryview at the end of ``array``'s chain of bases: every view of it holds it."""
    base: object = array
    while isinstance(base, np.ndarray):
        base = base.base
    return base


def _reset_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # a forked child has no thread that could release the parent's


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
