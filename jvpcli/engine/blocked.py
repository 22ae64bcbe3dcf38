"""Blocked, threaded evaluation: rows of the inputs in cache-sized blocks on a thread pool.

numpy releases the GIL inside its loops, so blocks run in parallel, and their temporaries
stay in cache instead of costing a full-size array per operation. Used only for kernels
whose every operation acts row by row along axis 0 (``Kernel.row_wise``); results are
written into preallocated arrays.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

#: rows per block: this many bytes of the widest argument; twice as many for a light
#: kernel, whose few temporaries leave room in cache (fewer blocks, fewer GIL hand-offs)
BLOCK_BYTES = 1 << 20
MIN_ELEMENTS = 1 << 16
#: a light elementwise kernel pays for its blocks from about this many elements per array
LIGHT_ELEMENTS = 1 << 19
#: distinct operations per element from which a kernel is busy
BUSY = 10

#: per kernel and argument shapes and dtypes: each result's dtype and shape past the rows
#: when it follows the rows, else None
_LAYOUTS: dict[tuple, list[tuple[np.dtype, tuple[int, ...]] | None]] = {}


def default_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Results(NamedTuple):
    """A kernel's results, in its order. Per result, for blocked runs only: whether every
    value is finite (checked block by block while the block is in cache), and whether the
    array was allocated by the run (so that no one else holds it)."""

    values: list
    finite: list[bool] | None = None
    fresh: list[bool] | None = None


def run(
    fn: Callable[..., tuple],
    args: Sequence[np.ndarray],
    row_wise: bool,
    threads: int | None = None,
    cost: int = BUSY,
    reduces: bool = False,
) -> Results:
    """``fn(*args)``, in blocks of rows where that gives the same result and pays.

    ``cost`` is the kernel's number of distinct operations, ``reduces`` whether one
    reduces an axis (blocks then spare full-size temporaries at any size).
    """
    plan = _plan(args, cost < BUSY, reduces) if row_wise else None
    if plan is None:
        return Results(list(fn(*args)))
    n, rows, split = plan
    from jvpcli.engine import memory  # only here: threading and weakref are start-up time

    # each thread takes one contiguous run of rows, the calling thread the first run
    workers = max(1, min(threads or default_threads(), -(-n // rows)))
    pool = _pool(workers - 1, os.getpid()) if workers > 1 else None
    if pool:
        for _ in range(workers - 1):
            pool.submit(int)  # wakes the idle threads now: a sleeping one takes ~0.1 ms to start

    def call(lo: int, hi: int, into: Sequence[np.ndarray | None] | None = None) -> list:
        with np.errstate(all="ignore"):  # per thread: errstate does not cross into the pool
            parts = (a[lo:hi] if s else a for a, s in zip(args, split))
            values = fn(*parts) if into is None else fn(*parts, out=into)
        return [np.asarray(r) for r in values]

    # Two probes of 1 and 2 rows give the results' types and shapes, once for a kernel and
    # arguments of these shapes and dtypes (a repeated call skips them: ~0.15 ms of a 1e6
    # call). A result follows the rows when its length changes with the block's, so a
    # length that merely equals one block's is not mistaken for it. The others (constants)
    # come from a block.
    key = (fn, *((a.shape, a.dtype) for a in args))
    layout = _LAYOUTS.get(key)
    if layout is None:
        first, second = call(0, 1), call(1, 3)
        layout = [
            (np.result_type(a, b), a.shape[1:]) if a.ndim > 0 and b.ndim > 0 and len(a) == 1 and len(b) == 2 else None
            for a, b in zip(first, second)
        ]
        if len(_LAYOUTS) >= 256:
            _LAYOUTS.clear()
        _LAYOUTS[key] = layout
    results: list = [memory.empty((n, *spec[1]), spec[0]) if spec else None for spec in layout]

    def views(lo: int, hi: int) -> list[np.ndarray | None]:
        return [r[lo:hi] if r is not None else None for r in results]

    def settle(into: list[np.ndarray | None], values: list) -> list[bool]:
        """Copy what the kernel could not write in place; whether each value is finite."""
        for view, value in zip(into, values):
            if view is not None and value is not view:
                view[...] = value
        return [all_finite(v) for v in values]

    def work(lo: int, hi: int) -> tuple[list[bool], list]:
        """Rows lo to hi; whether all they gave is finite, and the last block's values."""
        seen, values = [True] * len(results), []
        for begin in range(lo, hi, rows):
            end = min(begin + rows, hi)
            into = views(begin, end)
            values = call(begin, end, into)
            seen = [s and f for s, f in zip(seen, settle(into, values))]
        return seen, values

    edges = [n * i // workers for i in range(workers + 1)]
    others = [pool.submit(work, lo, hi) for lo, hi in itertools.pairwise(edges[1:])] if pool else []
    parts = [work(edges[0], edges[1]), *(f.result() for f in others)]
    flags = [all(fs) for fs in zip(*(seen for seen, _ in parts))]
    values = parts[0][1]
    results = [r if r is not None else v for r, v in zip(results, values)]
    return Results(results, flags, [spec is not None for spec in layout])


def all_finite(a: np.ndarray) -> bool:
    """No NaN or infinity. One pass and no temporary: NaN and infinity reach a plain sum
    (einsum's is vectorised: faster here than isfinite or ``sum``); only a sum that
    overflows needs the exact look."""
    if a.dtype.kind not in "fc":
        return True
    with np.errstate(all="ignore"):
        return bool(np.isfinite(np.einsum("i->", a.ravel(order="K")))) or bool(np.isfinite(a).all())


@functools.cache
def _pool(size: int, pid: int) -> ThreadPoolExecutor:
    """One pool per size for the process: starting threads on every call costs ~0.5 ms.

    Keyed by process id too: a forked child has none of its parent's threads.
    """
    from concurrent.futures import ThreadPoolExecutor  # only here: its import costs start-up

    return ThreadPoolExecutor(size, thread_name_prefix="jvpcli")


def _plan(args: Sequence[np.ndarray], light: bool, reduces: bool) -> tuple[int, int, list[bool]] | None:
    """Rows, rows per block, and which arguments are split; ``None`` to run whole."""
    ndim = max((a.ndim for a in args), default=0)
    if ndim == 0:
        return None
    full = [a for a in args if a.ndim == ndim]
    n = max(a.shape[0] for a in full)
    if any(a.shape[0] not in (1, n) for a in full):
        return None
    split = [a.ndim == ndim and a.shape[0] == n and n > 1 for a in args]
    row_bytes = max(a[:1].nbytes for a, s in zip(args, split) if s) if any(split) else 0
    total = sum(a.size for a, s in zip(args, split) if s)
    if not any(split) or total < MIN_ELEMENTS:
        return None
    if light and not reduces and max(a.size for a, s in zip(args, split) if s) < LIGHT_ELEMENTS:
        return None
    rows = max(1, BLOCK_BYTES * (2 if light else 1) // max(row_bytes, 1))
    if n < 3 + rows:
        return None
    return n, rows, split
