"""The dask engine: the streamed blocks of rows as tasks of a ``dask.distributed`` cluster.

Each task is a run of consecutive blocks of rows (a few tasks per worker thread: enough to
share the work out, few enough that the scheduler's round trips do not count), and is sent
plain data: the kernel's cache entry (its source text and the keyed MAC of
``kernels.cache``, which the worker checks under its own cache folder's secret, so a
worker never runs a kernel that the client's secret did not seal, and no function is
pickled), where its arguments are (paths or fsspec URLs that the worker reads itself,
or the recipe of a generated tangent), its rows, and the ``.npy`` files (or zarr arrays)
to write its results into. A worker streams its blocks as the local engine does (reading
the next block and writing the last one while it computes) and returns only how many
non-finite values it found. Nothing large passes through the client, and each block runs
the same code as the local engine's: the same numbers, bit for bit where the work is
elementwise. The tasks are plain ``Client.map`` calls: dask.array would add a second or
two of imports to every call and nothing the blocks need.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from jvpcli.arrays import npystream
from jvpcli.arrays.npystream import Spool, Spooler
from jvpcli.arrays.rows import ArrayRows, Cast, Rows, from_spec
from jvpcli.engine.stream import (
    Layout,
    Plan,
    Progress,
    Streamer,
    add_sums,
    default_memory,
    evaluate_rows,
    plan,
    streams,
)
from jvpcli.errors import ComputeError, MissingDependencyError
from jvpcli.kernels.kernel import Kernel

INSTALL = "pip install 'jvpcli[dask]'"
#: a local cluster's workers, each with one thread
LOCAL_WORKERS = 2
#: a dask worker's memory for blocks, by default
WORKER_MEMORY = 1 << 30


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(f"the dask engine needs dask and distributed: {INSTALL}") from None
    return distributed


def evaluate_dask(
    kernel: Kernel,
    args: Sequence[Rows | np.ndarray],
    scheduler: str | None = None,
    threads: int | None = None,
    budget: int | None = None,
    spool: Spooler | None = None,
    progress: Progress | None = None,
    wanted: Sequence[bool] | None = None,
) -> list[np.ndarray | None]:
    """``evaluate`` with the blocks on the cluster at ``scheduler`` (a ``LocalCluster`` of
    ``LOCAL_WORKERS`` workers when ``None``); results in ``.npy`` files (or zarr arrays)
    of ``spool``, which the workers must see (a shared folder). Work that has no blocks of
    rows (a kernel that mixes rows, arrays of fewer than 3 rows) runs here, as
    ``stream.evaluate_rows`` runs it."""
    distributed = _distributed()
    rows = [_visible(a if isinstance(a, Rows) else ArrayRows(np.asarray(a))) for a in args]
    first = plan(rows, budget or WORKER_MEMORY, threads or 1) if streams(kernel) else None
    if first is None:
        # no blocks to send: in memory here where that fits, else the local engine's message
        return evaluate_rows(kernel, rows, threads, budget, spool, progress, wanted)
    budget = budget or min(WORKER_MEMORY, default_memory())
    streamer = Streamer(kernel, rows, first, threads or 1, wanted)
    layout = streamer.prepare(budget, threads or 1)
    spool = spool or Spool(keep=False)
    outs = streamer.files(layout, spool)
    with _client(distributed, scheduler) as client:
        counts, sums = _run(client, kernel, streamer, layout, outs, threads or 1, progress)
    return streamer.finish(layout, outs, counts, sums, spool)


@contextlib.contextmanager
def _client(distributed: Any, scheduler: str | None) -> Iterator[Any]:
    """A client of the cluster at ``scheduler``, else of a ``LocalCluster`` started for the
    call and closed after it. distributed's own log lines (its workers' too) stay off
    jvpcli's stderr: a failure reaches the user as the task's error, once."""
    with _quiet():
        if scheduler:
            try:
                client = distributed.Client(scheduler, timeout="30s", set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise ComputeError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
            with client:
                yield client
            return
        import dask

        environ = dask.config.get("distributed.nanny.pre-spawn-environ")
        silent = {**environ, "DASK_LOGGING__DISTRIBUTED": "critical", "PYTHONWARNINGS": "ignore"}
        with dask.config.set({"distributed.nanny.pre-spawn-environ": silent}):
            cluster = distributed.LocalCluster(
                n_workers=LOCAL_WORKERS,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # a free port: 8787 may be another cluster's
                scheduler_kwargs={"dashboard": False},
            )
        with cluster, distributed.Client(cluster, set_as_default=False) as client:
            yield client


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    import logging

    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


#: tasks per worker thread: the last ones to finish leave a thread idle for 1/TASKS of the work
TASKS = 8
#: arrays in memory larger than this go to the workers once (scattered), not with every task
SCATTER_BYTES = 1 << 20


def _run(
    client: Any,
    kernel: Kernel,
    streamer: Streamer,
    layout: Layout,
    outs: Sequence[npystream.Out | None],
    threads: int,
    progress: Progress | None,
) -> tuple[list[int], list[np.ndarray | None]]:
    """The blocks as tasks, each a run of consecutive blocks; the non-finite counts of each
    result, and the sums of those that combine (``Streamer.blocks``), added up."""
    from distributed import as_completed

    from jvpcli.kernels.cache import KernelCache, default_folder

    key = "dask"
    entry = KernelCache(default_folder()).seal(key, kernel)
    slots = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()) or 1
    blocks = len(layout.spans)
    per = -(-blocks // (TASKS * slots))
    runs = [(b, min(b + per, blocks)) for b in range(0, blocks, per)]
    args = [_shipped(client, a) for a in streamer.args]
    futures = client.map(
        run_blocks,
        runs,
        entry=entry,
        sealed_as=key,  # not key=: Client.map's own keyword
        args=args,
        split=streamer.split,
        outs=[o.spec() if o is not None else None for o in outs],
        rows=layout.rows,
        n=streamer.n,
        threads=threads,
        pure=False,
    )
    total = sum(a.nbytes for a, s in zip(streamer.args, streamer.split) if s)
    sizes = {f.key: hi - lo for f, (lo, hi) in zip(futures, runs)}
    bad = np.zeros(len(outs), np.int64)
    sums: list[np.ndarray | None] = [None] * len(outs)
    done = 0
    try:
        for future in as_completed(futures, loop=client.loop):
            counts, parts = future.result()
            bad += counts
            sums = add_sums(sums, parts)
            done += sizes[future.key]
            if progress is not None:
                progress(done, blocks, total * done // blocks, total)
    except Exception as exc:
        from jvpcli.errors import JvpcliError

        if isinstance(exc, JvpcliError):
            raise
        raise ComputeError(f"a dask task failed: {type(exc).__name__}: {exc}") from None
    return [int(b) for b in bad], sums


def _shipped(client: Any, rows: Rows) -> tuple:
    """``rows.spec()``, an array in memory (standard input, an ``.npz`` member) scattered to
    the workers once when it is large."""
    spec = rows.spec()
    if spec[0] == "array" and spec[1].nbytes > SCATTER_BYTES:
        return ("array", client.scatter(spec[1], broadcast=True, hash=False))
    if spec[0] == "cast" and isinstance(rows, Cast):
        return ("cast", _shipped(client, rows.base), spec[2])
    return spec


def run_blocks(
    run: tuple[int, int],
    entry: dict[str, str],
    sealed_as: str,
    args: list[tuple],
    split: list[bool],
    outs: list[tuple | None],
    rows: int,
    n: int,
    threads: int,
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Blocks ``run[0]:run[1]`` on a worker: read their rows, run the checked kernel, write
    the results, as the local engine streams them; how many non-finite values each result
    holds, and the sums of the results that combine (a row's size each: all that returns)."""
    _heap_for_blocks()
    kernel = _checked(entry["payload"], entry["mac"], sealed_as)
    arrays = [from_spec(spec) for spec in args]
    streamer = Streamer(kernel, arrays, Plan(n, split, rows), threads)
    files = [npystream.from_spec(spec) if spec is not None else None for spec in outs]
    spans = [(b * rows, min(n, (b + 1) * rows)) for b in range(*run)]
    try:
        bad, sums = streamer.blocks(spans, files, rows)
        return np.asarray(bad, np.int64), sums
    finally:
        for out in files:
            if out is not None:
                out.close()
        for a in arrays:
            getattr(a, "close", lambda: None)()


#: glibc's mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@functools.cache
def _heap_for_blocks() -> None:
    """Undo, in this worker process, what dask's nanny sets for every worker it starts:
    ``MALLOC_TRIM_THRESHOLD_=65536`` turns glibc's dynamic mmap threshold off, so each of a
    block's temporaries (1 MiB and more) is mapped afresh and faulted in page by page: the
    kernels took 1.6-1.7x their time here. Allocations up to 32 MiB (glibc's own ceiling
    for that threshold) come from the heap again, trimmed past 128 MiB: what a task holds
    is bounded by its blocks anyway."""
    import platform

    if platform.libc_ver()[0] != "glibc":
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None)
    except OSError:  # pragma: no cover - a glibc process always has its C library
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    libc.mallopt(_M_TRIM_THRESHOLD, 128 << 20)


@functools.lru_cache(maxsize=64)
def _checked(payload: str, mac: str, key: str) -> Kernel:
    from jvpcli.kernels.cache import KernelCache, default_folder

    kernel = KernelCache(default_folder()).unseal({"payload": payload, "mac": mac}, key)
    if kernel is None:
        raise ComputeError(
            "the kernel's MAC does not hold under this worker's cache secret: give the workers the "
            "client's kernel cache folder (JVPCLI_CACHE_DIR on a shared filesystem)"
        )
    return kernel


def _visible(rows: Rows) -> Rows:
    """Rows whose paths a worker in another folder reads the same (absolute, or URLs)."""
    path = getattr(rows, "path", None)
    if path is not None and "://" not in path:
        rows.path = os.path.abspath(path)  # type: ignore[attr-defined]
    base = getattr(rows, "base", None)
    if isinstance(base, Rows):
        _visible(base)
    return rows
