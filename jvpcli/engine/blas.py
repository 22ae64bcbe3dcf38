"""How many threads BLAS (matmul, dot, solve) may use while a kernel runs.

OpenBLAS's threads spin while they wait for each other: on cores that other processes keep
busy, a matmul with two threads is many times slower than with one (64x1000 @ 1000x1000 on
this 2-core machine at load 5: 80 ms on two threads, 10 ms on one; torch's 48 and 18 ms).
So a kernel that calls BLAS on large enough arrays runs with ``threads`` BLAS threads, by
default as many as the machine has cores free by its 1-minute load average (at least one).
On an idle machine, or for small arrays, BLAS is left as it is and threadpoolctl (~25 ms to
import and inspect the loaded libraries) is never imported.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

#: what in a kernel's source calls BLAS or LAPACK (``_bt.``: batched kernels' helpers)
CALLS = (
    *("numpy.matmul", "numpy.dot", "numpy.linalg", "numpy.tensordot", "_rt.contract_t"),
    *("_bt.matmul", "_bt.dot", "_bt.contract_t"),
)
#: elements in all below which the choice of BLAS threads does not matter (OpenBLAS runs one)
SMALL = 1 << 16

_controller: Any = None


def limit(source: str, args: Sequence[Any], threads: int | None, cores: int) -> contextlib.AbstractContextManager:
    """The context to run a kernel in: BLAS limited to ``threads`` (default: the cores free)."""
    if not any(call in source for call in CALLS) or sum(np.size(a) for a in args) < SMALL:
        return contextlib.nullcontext()
    want = min(threads or free_cores(cores), cores)
    if want >= cores:
        return contextlib.nullcontext()
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=want, user_api="blas")


def free_cores(cores: int) -> int:
    """Cores not kept busy by other work, by the 1-minute load average less this process's
    own part of it; at least one."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - platforms without a load average
        return cores
    return max(1, min(cores, round(cores - max(0.0, load - own_load()))))


_STARTED = time.monotonic()


def own_load() -> float:
    """This process's part of the 1-minute load average (an exponential average): its share of
    a core since it started, weighted by how much of the average that time fills. A short
    command adds nearly nothing; a process busy for minutes (a benchmark, a notebook) about
    its threads' share, which would otherwise count as other work and halve BLAS's threads."""
    alive = max(time.monotonic() - _STARTED, 1e-3)
    return time.process_time() / alive * (1 - math.exp(-alive / 60))
