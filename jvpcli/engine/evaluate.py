"""Kernel + arguments -> its results, with torch's dtype and shape at the boundary."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from jvpcli.engine import blas, blocked
from jvpcli.errors import ComputeError, NonFiniteWarning, ShapeError
from jvpcli.kernels.kernel import Kernel
from jvpcli.kernels.loader import load
from jvpcli.kernels.runtime import Unsupported


def evaluate(
    kernel: Kernel, args: Sequence[np.ndarray], threads: int | None = None, lead: int | None = None
) -> list[np.ndarray]:
    """Every result of ``kernel`` at ``args`` (inputs, extras, constants), each shaped as
    its ``Result`` says; ``threads`` for blocked evaluation (default: every core). ``lead``:
    an argument whose leading axis (a batch) every result shaped like another one takes."""
    results, bad = finished(kernel, args, threads, lead)
    warn_non_finite(kernel, bad)
    return results


def finished(
    kernel: Kernel, args: Sequence[np.ndarray], threads: int | None = None, lead: int | None = None
) -> tuple[list[np.ndarray], list[int]]:
    """``evaluate``'s results and how many non-finite values each holds, without a warning:
    a streamed evaluation adds up its blocks' counts."""
    fn = load(kernel.source)
    n_in = len(kernel.inputs)
    primal = [*args[:n_in], *args[n_in + len(kernel.extras) :]]
    single = np.result_type(*primal).char in "efF" if primal else False
    with np.errstate(all="ignore"), blas.limit(kernel.source, args, threads, blocked.default_threads()):
        try:
            values, finite, fresh = blocked.run(fn, args, kernel.row_wise, threads, kernel.cost, kernel.reduces)
        except np.linalg.LinAlgError as exc:
            raise ComputeError(f"linear algebra failed: {exc}") from None
        except MemoryError:
            raise ComputeError("not enough memory to evaluate FUNC on arrays this large") from None
        except Unsupported as exc:
            raise ComputeError(str(exc)) from None
        except (ValueError, IndexError, TypeError) as exc:
            raise ShapeError(f"FUNC cannot be evaluated on arrays of these shapes: {exc}") from None
    owned = fresh or [False] * len(values)
    results: list[np.ndarray] = []
    for spec, value, own in zip(kernel.results, values, owned):
        like = None
        if spec.like is not None:
            kind, i = spec.like
            like = args[i] if kind == "arg" else results[i]
        first = spec.lead if lead is None or spec.like is None else lead
        results.append(_finish(value, single, like, None if first is None else args[first].shape[:1], own))
    # the blocks' own check holds where the result is the very array they filled (no cast)
    bad = [
        0
        if (finite is not None and finite[i] and a is values[i]) or blocked.all_finite(a)
        else a.size - int(np.count_nonzero(np.isfinite(a)))
        for i, a in enumerate(results)
    ]
    return results, bad


def warn_non_finite(kernel: Kernel, bad: Sequence[int]) -> None:
    """One warning per result that holds NaN or infinity; ``bad`` counts them per result."""
    for spec, count in zip(kernel.results, bad):
        if count:
            message = f"{spec.name} has {count} non-finite value(s) (NaN or infinity)"
            warnings.warn(message, NonFiniteWarning, stacklevel=3)


def _finish(
    value: object, single: bool, like: np.ndarray | None, lead: tuple[int, ...] | None, owned: bool
) -> np.ndarray:
    """An array of the inputs' precision that no one else holds (``owned``: ``value`` is
    one already); shaped and kinded like ``like``, after a leading axis ``lead``."""
    a = np.asarray(value)
    is_complex = np.iscomplexobj(a if like is None else like)
    if like is not None:
        if np.iscomplexobj(a) and not is_complex:
            a = a.real
        shape = (*(lead or ()), *like.shape)
        if a.shape != shape:
            a = np.broadcast_to(a, shape)
    dtype = {
        (False, True): np.float32,
        (False, False): np.float64,
        (True, True): np.complex64,
        (True, False): np.complex128,
    }[(is_complex, single)]
    out = a.astype(dtype, copy=False)
    return out if out.flags.writeable and (out.base is None or (owned and out is value)) else out.copy()
