"""Arrays larger than memory: a row-wise kernel over blocks of rows read from disk.

Where a kernel treats the rows of axis 0 apart (``Kernel.row_wise``), its inputs need
never be whole: blocks of rows are read (the next one while this one is computed, on one
reader thread), evaluated as one in-memory call (blocked and threaded inside, as any
call), and their results written at their rows of ``.npy`` files. Memory is bounded by
the block size, chosen from the budget (``--memory``) and the number of threads, never by
the size of the arrays.

Small work runs in memory as before: streaming starts where the in-memory work would
need more than ``STREAM_ABOVE`` or the budget. A kernel that cannot stream runs in memory
when that fits the budget, and otherwise fails, naming the operation, before it reads a
single row.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from jvpcli.arrays.npystream import Out, Spool, Spooler
from jvpcli.arrays.rows import ArrayRows, Rows
from jvpcli.engine import memory
from jvpcli.engine.evaluate import evaluate, finished, warn_non_finite
from jvpcli.errors import ComputeError
from jvpcli.kernels.kernel import Kernel

#: in-memory work up to this many bytes runs in memory; beyond it, row-wise work streams
STREAM_ABOVE = 1 << 30
#: a block's results at most (so that they fit ``memory.KEEP``'s kept buffers: no page faults)
RESULT_BYTES = memory.KEEP // 2
#: a block's inputs at most: larger blocks read no faster
INPUT_BYTES = 64 << 20
#: what each thread may hold beside the blocks (cache-sized temporaries, numpy's buffers)
THREAD_BYTES = 16 << 20

#: blocks done, blocks in all, input bytes done, input bytes in all
Progress = Callable[[int, int, int, int], None]


def default_memory() -> int:
    """Half of the machine's memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 4 << 30


def resident() -> int:
    """This process's resident memory now, in bytes (0 where /proc is absent)."""
    try:
        with open("/proc/self/statm") as fp:
            return int(fp.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return 0


def in_memory_bytes(args: Sequence[Rows | np.ndarray], n_results: int) -> int:
    """What one in-memory call holds, about: the arguments, and each result about as large
    as the largest argument, twice (the result and its encoded copy)."""
    sizes = [a.nbytes for a in args]
    return sum(sizes) + 2 * n_results * max(sizes, default=0)


class Plan(NamedTuple):
    """Rows, which arguments are split into blocks of rows, and how many rows a block has."""

    n: int
    split: list[bool]
    rows: int


def plan(args: Sequence[Rows | np.ndarray], budget: int, threads: int, result_row_bytes: int = 0) -> Plan | None:
    """How to stream ``args``, or ``None`` where their shapes do not split into rows
    (as ``blocked``: the arguments of the most axes share a length ``n``, or have one row)."""
    ndim = max((a.ndim for a in args), default=0)
    if ndim == 0:
        return None
    full = [a for a in args if a.ndim == ndim]
    n = max(a.shape[0] for a in full)
    if n < 3 or any(a.shape[0] not in (1, n) for a in full):
        return None
    split = [a.ndim == ndim and a.shape[0] == n for a in args]
    row_bytes = sum(_row_bytes(a) for a, s in zip(args, split) if s)
    whole = sum(a.nbytes for a, s in zip(args, split) if not s)
    # per row of a block: its inputs twice (one block being read ahead), its results twice
    # (the last, shorter block gets buffers of its own); then the threads' temporaries
    room = budget - resident() - whole - threads * THREAD_BYTES
    rows = min(
        room // max(2 * (row_bytes + result_row_bytes), 1),
        INPUT_BYTES // max(row_bytes, 1),
        RESULT_BYTES // max(result_row_bytes, 1),
        n,
    )
    if rows < 1 or whole > budget // 4:
        return None
    return Plan(n, split, int(rows))


def _row_bytes(a: Rows | np.ndarray) -> int:
    return a.itemsize * (a.size // a.shape[0]) if isinstance(a, np.ndarray) else a.row_bytes


def evaluate_rows(
    kernel: Kernel,
    args: Sequence[Rows | np.ndarray],
    threads: int | None = None,
    budget: int | None = None,
    spool: Spooler | None = None,
    progress: Progress | None = None,
    wanted: Sequence[bool] | None = None,
) -> list[np.ndarray | None]:
    """``evaluate`` on rows: in memory where that is small or cannot be helped, else streamed.

    Streamed results are ``.npy`` files of ``spool`` (an anonymous one by default), mapped
    read-only. ``wanted`` says which results are needed (default: all): a streamed result
    that is not is computed but never written, and comes back as ``None``.
    """
    from jvpcli.engine.blocked import default_threads

    rows = [a if isinstance(a, Rows) else ArrayRows(np.asarray(a)) for a in args]
    # a budget given is both where streaming starts and the limit; by default streaming
    # starts at STREAM_ABOVE and work that cannot stream may take half the machine
    limit, budget = budget or default_memory(), budget or STREAM_ABOVE
    need = in_memory_bytes(rows, len(kernel.results))
    workers = threads or default_threads()
    layout = plan(rows, budget, workers) if streams(kernel) and need > budget else None
    if layout is None:
        if need > limit:
            reason = (
                f"'{kernel.row_breaker}' mixes the rows of axis 0"
                if not streams(kernel)
                else ("its arrays do not split into rows of axis 0")
            )
            raise ComputeError(
                f"FUNC cannot be streamed ({reason}) and in memory it would need about {_size(need)}, "
                f"more than the memory budget of {_size(limit)} (--memory)"
            )
        return list(evaluate(kernel, [a.whole() for a in rows], threads))
    streamer = Streamer(kernel, rows, layout, threads, wanted)
    return streamer.run(spool or Spool(keep=False), progress, budget, workers)


def streams(kernel: Kernel) -> bool:
    """Blocks of rows make the kernel's results: each is row-wise, or a sum or mean over the rows."""
    return kernel.row_wise or bool(kernel.row_reductions)


class Layout(NamedTuple):
    """What the probes found: each result of row 0 (a result that does not follow the rows
    is taken from here), which follow the rows, row 0's non-finite counts, and the blocks."""

    probe: list[np.ndarray]
    follows: list[bool]
    first_bad: list[int]
    rows: int
    spans: list[tuple[int, int]]


class Streamer:
    """One streamed evaluation: probe the results' layout, then read, compute and write blocks."""

    def __init__(
        self,
        kernel: Kernel,
        args: Sequence[Rows],
        first: Plan,
        threads: int | None,
        wanted: Sequence[bool] | None = None,
    ) -> None:
        self.kernel, self.args, self.threads = kernel, list(args), threads
        self.wanted = list(wanted) if wanted is not None else [True] * len(kernel.results)
        self.n, self.split = first.n, first.split
        self.wholes = [None if s else a.whole() for a, s in zip(args, self.split)]
        # how each result combines from blocks: "sum", "mean", or "" (written by rows, or
        # the same on every block: a reduction of arrays that are not split)
        reductions = kernel.row_reductions or (("", ()),) * len(kernel.results)
        self.combine = [how if any(self.split[i] for i in used) else "" for how, used in reductions]

    def call(self, blocks: Sequence[np.ndarray | None]) -> tuple[list[np.ndarray], list[int]]:
        """The kernel's finished results on one block of rows, and their non-finite counts."""
        parts: list[np.ndarray] = [b if b is not None else w for b, w in zip(blocks, self.wholes)]  # type: ignore[misc]
        return finished(self.kernel, parts, self.threads)

    def read(self, lo: int, hi: int, into: list[np.ndarray | None] | None = None) -> list[np.ndarray | None]:
        return [
            (a.read(lo, hi, None if into is None or into[k] is None else into[k][: hi - lo]) if s else None)  # type: ignore[index]
            for k, (a, s) in enumerate(zip(self.args, self.split))
        ]

    def prepare(self, budget: int, workers: int) -> Layout:
        """Two probes of 1 and 2 rows (a result follows the rows when its length does), then
        the blocks, sized for ``workers`` threads within ``budget``."""
        one, first_bad = self.call(self.read(0, 1))
        two, _ = self.call(self.read(1, 3))
        follows = [
            a.ndim > 0 and b.ndim > 0 and len(a) == 1 and len(b) == 2 and not c
            for a, b, c in zip(one, two, self.combine)
        ]
        row_bytes = sum(a[:1].nbytes for a, f in zip(one, follows) if f)
        layout = plan(self.args, budget, workers, row_bytes)
        if layout is None:  # pragma: no cover - the first plan had room for inputs; results fit RESULT_BYTES
            raise ComputeError("no block of rows fits the memory budget (--memory)")
        edges = [*range(0, self.n, layout.rows), self.n]
        return Layout(one, follows, first_bad, layout.rows, list(itertools.pairwise(edges)))

    def files(self, layout: Layout, spool: Spooler) -> list[Out | None]:
        """A file (or array of a zarr group) for each wanted result that follows the rows."""
        return [
            spool.create((self.n, *a.shape[1:]), a.dtype, layout.rows) if f and w else None
            for a, f, w in zip(layout.probe, layout.follows, self.wanted)
        ]

    def finish(
        self,
        layout: Layout,
        outs: Sequence[Out | None],
        bad: Sequence[int],
        sums: Sequence[np.ndarray | None],
        spool: Spooler,
    ) -> list[np.ndarray | None]:
        """The results: mapped from their files (``None`` for one not wanted), combined from
        the blocks' sums, or the probe's; one warning per result with non-finite values."""
        results: list[np.ndarray | None] = []
        counts = []
        for k, (out, value, follows, total) in enumerate(zip(outs, layout.probe, layout.follows, sums)):
            if total is not None:
                value = np.asarray(total / self.n if self.combine[k] == "mean" else total, value.dtype)
                counts.append(int(value.size - np.count_nonzero(np.isfinite(value))))
            else:
                counts.append(bad[k] if follows else layout.first_bad[k])
            results.append(spool.finish(out) if out is not None else None if follows else value)
        warn_non_finite(self.kernel, counts)
        return results

    def run(self, spool: Spooler, progress: Progress | None, budget: int, workers: int) -> list[np.ndarray | None]:
        layout = self.prepare(budget, workers)
        outs = self.files(layout, spool)
        total = sum(a.nbytes for a, s in zip(self.args, self.split) if s)

        def step(k: int, hi: int) -> None:
            if progress is not None:
                progress(k + 1, len(layout.spans), total * hi // self.n, total)

        bad, sums = self.blocks(layout.spans, outs, layout.rows, step)
        return self.finish(layout, outs, bad, sums, spool)

    def blocks(
        self,
        spans: Sequence[tuple[int, int]],
        outs: Sequence[Out | None],
        rows: int,
        step: Callable[[int, int], None] | None = None,
    ) -> tuple[list[int], list[np.ndarray | None]]:
        """Each block of ``spans`` read (the next one while this one is computed), computed,
        and written (while the next one is computed); the results' non-finite counts, and
        the sums of the results that combine (``None`` for the others)."""
        from concurrent.futures import Future, ThreadPoolExecutor

        buffers = [self._buffers(rows) for _ in range(2)]
        bad = [0] * len(outs)
        sums: list[np.ndarray | None] = [None] * len(outs)
        reader = ThreadPoolExecutor(1, thread_name_prefix="jvpcli-read")
        writer = ThreadPoolExecutor(1, thread_name_prefix="jvpcli-write")
        behind: Future | None = None
        try:
            ahead = reader.submit(self.read, *spans[0], buffers[0])
            for k, (lo, hi) in enumerate(spans):
                blocks = ahead.result()
                if k + 1 < len(spans):
                    ahead = reader.submit(self.read, *spans[k + 1], buffers[(k + 1) % 2])
                values, counts = self.call(blocks)
                del blocks
                if behind is not None:
                    behind.result()
                behind = writer.submit(_write, outs, lo, values)
                bad = [b + c for b, c in zip(bad, counts)]
                for k, how in enumerate(self.combine):
                    if how:
                        sums[k] = _added(sums[k], values[k], hi - lo if how == "mean" else 1)
                if step is not None:
                    step(k, hi)
            behind.result()  # type: ignore[union-attr]
        finally:
            reader.shutdown(cancel_futures=True)
            writer.shutdown()
        return bad, sums

    def _buffers(self, rows: int) -> list[np.ndarray | None]:
        """One block of each split argument, reused for every block (no page faults)."""
        return [np.empty((rows, *a.shape[1:]), a.dtype) if s else None for a, s in zip(self.args, self.split)]


def _added(total: np.ndarray | None, part: np.ndarray, weight: int) -> np.ndarray:
    """``total + weight * part``, in double precision whatever the part's."""
    part = np.asarray(part, np.result_type(part.dtype, np.float64)) * weight
    return part if total is None else total + part


def add_sums(a: Sequence[np.ndarray | None], b: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
    """Two runs' sums (``Streamer.blocks``), result by result."""
    return [x if y is None else y if x is None else x + y for x, y in zip(a, b)]


def _write(outs: Sequence[Out | None], lo: int, values: Sequence[np.ndarray]) -> None:
    for out, value in zip(outs, values):
        if out is not None:
            out.write(lo, value)


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} bytes"
