"""Kernel + arrays -> output and jvp arrays, with torch's dtype and shape at the boundary."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from jvpcli.errors import ComputeError, NonFiniteWarning, ShapeError
from jvpcli.kernels import blocked
from jvpcli.kernels.kernel import Kernel
from jvpcli.kernels.loader import load


def evaluate(
    kernel: Kernel,
    inputs: Sequence[np.ndarray],
    tangents: Sequence[np.ndarray],
    constants: Sequence[np.ndarray] = (),
    threads: int | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Outputs and jvps; ``threads`` for blocked evaluation (default: every core)."""
    outputs, results, bad = finished(kernel, inputs, tangents, constants, threads)
    warn_non_finite(kernel, bad)
    return outputs, results


def finished(
    kernel: Kernel,
    inputs: Sequence[np.ndarray],
    tangents: Sequence[np.ndarray],
    constants: Sequence[np.ndarray] = (),
    threads: int | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """Outputs, jvps, and how many non-finite values each holds (outputs first); no warning,
    so that a streamed evaluation can add up its blocks' counts."""
    fn = load(kernel.source)
    single = np.result_type(*inputs, *constants).char in "efF"
    with np.errstate(all="ignore"):
        try:
            outs, jvps, finite, fresh = blocked.run(
                fn, [*inputs, *tangents, *constants], kernel.row_wise, threads, kernel.cost, kernel.reduces
            )
        except np.linalg.LinAlgError as exc:
            raise ComputeError(f"linear algebra failed: {exc}") from None
        except MemoryError:
            raise ComputeError("not enough memory to evaluate FUNC on arrays this large") from None
        except (ValueError, IndexError, TypeError) as exc:
            raise ShapeError(f"FUNC cannot be evaluated on arrays of these shapes: {exc}") from None
    owned = fresh or [False] * (len(outs) + len(jvps))
    outputs = [_finish(o, single, owned=f) for o, f in zip(outs, owned)]
    results = [_finish(j, single, like=o, owned=f) for j, o, f in zip(jvps, outputs, owned[len(outs) :])]
    # the blocks' own check holds where the result is the very array they filled (no cast)
    known = [f and a is r for f, a, r in zip(finite, [*outputs, *results], [*outs, *jvps])] if finite else []
    bad = [
        0 if (known and known[i]) or blocked.all_finite(a) else a.size - int(np.count_nonzero(np.isfinite(a)))
        for i, a in enumerate([*outputs, *results])
    ]
    return outputs, results, bad


def warn_non_finite(kernel: Kernel, bad: Sequence[int]) -> None:
    """One warning per result that holds NaN or infinity; ``bad`` counts them, outputs first."""
    half = len(bad) // 2
    for kind, counts in (("output", bad[:half]), ("jvp", bad[half:])):
        for i, count in enumerate(counts):
            if count:
                message = f"{label(kind, i, kernel.is_tuple)} has {count} non-finite value(s) (NaN or infinity)"
                warnings.warn(message, NonFiniteWarning, stacklevel=3)


def label(kind: str, index: int, is_tuple: bool) -> str:
    """How messages and tables name an output: ``output``, or ``output 1`` of a tuple."""
    return f"{kind} {index}" if is_tuple else kind


def _finish(value: object, single: bool, like: np.ndarray | None = None, owned: bool = False) -> np.ndarray:
    """An array of the inputs' precision that no one else holds (``owned``: ``value`` is
    one already); a jvp takes its output's shape and kind."""
    a = np.asarray(value)
    is_complex = np.iscomplexobj(a if like is None else like)
    if like is not None:
        if np.iscomplexobj(a) and not is_complex:
            a = a.real
        if a.shape != like.shape:
            a = np.broadcast_to(a, like.shape)
    dtype = {
        (False, True): np.float32,
        (False, False): np.float64,
        (True, True): np.complex64,
        (True, False): np.complex128,
    }[(is_complex, single)]
    out = a.astype(dtype, copy=False)
    return out if out.flags.writeable and (out.base is None or (owned and out is value)) else out.copy()
