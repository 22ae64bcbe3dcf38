"""Kernel + arrays -> output and jvp arrays, with torch's dtype and shape at the boundary."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from jvpcli.errors import ComputeError, NonFiniteWarning, ShapeError
from jvpcli.kernels import blocked
from jvpcli.kernels.kernel import Kernel
from jvpcli.kernels.loader import load
from jvpcli.kernels.runtime import Unsupported


def evaluate(
    kernel: Kernel,
    inputs: Sequence[np.ndarray],
    tangents: Sequence[np.ndarray],
    constants: Sequence[np.ndarray] = (),
    threads: int | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Outputs and jvps; ``threads`` for blocked evaluation (default: every core)."""
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
        except Unsupported as exc:
            raise ComputeError(str(exc)) from None
        except (ValueError, IndexError, TypeError) as exc:
            raise ShapeError(f"FUNC cannot be evaluated on arrays of these shapes: {exc}") from None
    owned = fresh or [False] * (len(outs) + len(jvps))
    outputs = [_finish(o, single, owned=f) for o, f in zip(outs, owned)]
    results = [_finish(j, single, like=o, owned=f) for j, o, f in zip(jvps, outputs, owned[len(outs) :])]
    # the blocks' own check holds where the result is the very array they filled (no cast)
    known = [f and a is r for f, a, r in zip(finite, [*outputs, *results], [*outs, *jvps])] if finite else []
    for kind, arrays, offset in (("output", outputs, 0), ("jvp", results, len(outputs))):
        for i, a in enumerate(arrays):
            if not (known and known[offset + i]) and not blocked.all_finite(a):
                bad = a.size - int(np.count_nonzero(np.isfinite(a)))
                message = f"{label(kind, i, kernel.is_tuple)} has {bad} non-finite value(s) (NaN or infinity)"
                warnings.warn(message, NonFiniteWarning, stacklevel=2)
    return outputs, results


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
