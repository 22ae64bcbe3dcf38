"""Blocked, threaded evaluation: rows of the inputs in cache-sized blocks on a thread pool.

numpy releases the GIL inside its loops, so blocks run in parallel, and their temporaries
stay in cache instead of costing a full-size array per operation. Used only for kernels
whose every operation acts row by row along axis 0 (``Kernel.row_wise``); results are
written into preallocated arrays.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence

import numpy as np

from jvpcli.kernels.kernel import Kernel

BLOCK_BYTES = 1 << 18
MIN_ELEMENTS = 1 << 16
#: a light elementwise kernel is worth splitting only when its arrays outgrow the caches
LARGE_BYTES = 64 << 20
BUSY = 10


def busy(kernel: Kernel) -> bool:
    """Blocks pay at any size for many operations per element, or for reductions (no full-size temporaries)."""
    return kernel.cost >= BUSY or kernel.reduces


def default_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run(
    fn: Callable[..., tuple[tuple, tuple]],
    args: Sequence[np.ndarray],
    row_wise: bool,
    threads: int | None = None,
    busy: bool = True,
) -> tuple[list, list, list[bool] | None]:
    """``fn(*args)``, in blocks of rows where that gives the same result and pays.

    Blocked runs also say, per result, whether every value is finite: checked block by
    block while the block is in cache (``None`` for a whole-array run).
    """
    plan = _plan(args, busy) if row_wise else None
    if plan is None:
        outs, jvps = fn(*args)
        return list(outs), list(jvps), None
    n, rows, split = plan
    edges = [0, *range(rows // 2, n, rows), n]
    blocks = list(itertools.pairwise(edges))

    def call(block: tuple[int, int]) -> list:
        lo, hi = block
        with np.errstate(all="ignore"):  # per thread: errstate does not cross into the pool
            outs, jvps = fn(*(a[lo:hi] if s else a for a, s in zip(args, split)))
        return [np.asarray(r) for r in (*outs, *jvps)]

    def finite(values: list) -> list[bool]:
        with np.errstate(all="ignore"):
            return [bool(np.isfinite(v.sum())) or bool(np.isfinite(v).all()) for v in values]

    # A result follows the rows when its length changes with the block's: the first two
    # blocks differ in size, so a length that merely equals one block's is not mistaken.
    first, second = call(blocks[0]), call(blocks[1])
    tracks = [
        a.ndim > 0 and b.ndim > 0 and a.shape[0] == blocks[0][1] and b.shape[0] == blocks[1][1] - blocks[1][0]
        for a, b in zip(first, second)
    ]
    results = [
        np.empty((n, *a.shape[1:]), dtype=np.result_type(a, b)) if t else a for a, b, t in zip(first, second, tracks)
    ]

    def store(block: tuple[int, int], values: list) -> None:
        for out, value, t in zip(results, values, tracks):
            if t:
                out[block[0] : block[1]] = value

    store(blocks[0], first)
    store(blocks[1], second)
    flags = [a and b for a, b in zip(finite(first), finite(second))]

    def work(chunk: list[tuple[int, int]]) -> list[bool]:
        seen = [True] * len(results)
        for block in chunk:
            values = call(block)
            store(block, values)
            seen = [s and f for s, f in zip(seen, finite(values))]
        return seen

    # each thread takes one contiguous run of blocks: no per-block scheduling
    rest = blocks[2:]
    workers = max(1, min(threads or default_threads(), len(rest)))
    chunks = [rest[i * len(rest) // workers : (i + 1) * len(rest) // workers] for i in range(workers)]
    if workers == 1:
        parts = [work(rest)]
    else:
        from concurrent.futures import ThreadPoolExecutor  # only here: its import costs start-up

        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(work, chunks))
    flags = [all(fs) for fs in zip(flags, *parts)]
    half = len(results) // 2
    return results[:half], results[half:], flags


def _plan(args: Sequence[np.ndarray], busy: bool) -> tuple[int, int, list[bool]] | None:
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
    if not busy and sum(a.nbytes for a, s in zip(args, split) if s) < LARGE_BYTES:
        return None
    rows = max(2, BLOCK_BYTES // max(row_bytes, 1))
    if n < 2 * rows:
        return None
    return n, rows, split
