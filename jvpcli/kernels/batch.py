"""The helpers batched kernels call (``_bt``): an op over B slices at once, batch axis first.

Each gets the op as a function of one slice's arrays (``fn``), which of its arrays carry
the batch axis (``flags``), the arrays, and the op's parameters. A helper computes the
batch in one numpy call where it knows how, and falls back to ``each`` (one call per
slice) where it does not: always right, only slower.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jvpcli.kernels import runtime

Fn = Callable[..., Any]
Flags = Sequence[bool]


def lift(a: Any, others: Sequence[Any], batched: Sequence[Any]) -> Any:
    """``a`` (batched) with axes of length 1 after its batch axis, up to the rank of the
    other operands of its elementwise operation (a batched one counts without its batch axis)."""
    return _ranked(np.asarray(a), max([np.ndim(x) for x in others] + [np.ndim(x) - 1 for x in batched], default=0))


def _ranked(a: np.ndarray, rank: int) -> np.ndarray:
    """A batched ``a`` with axes of length 1 after its batch axis, up to ``rank`` slice axes."""
    missing = rank - (a.ndim - 1)
    return a.reshape((a.shape[0], *(1,) * missing, *a.shape[1:])) if missing > 0 else a


def _size(arrays: Sequence[Any], flags: Flags) -> int:
    return max(np.shape(a)[0] for a, f in zip(arrays, flags) if f)


def _slice(arrays: Sequence[Any], flags: Flags, i: int) -> list[Any]:
    return [(a[i] if np.shape(a)[0] != 1 else a[0]) if f else a for a, f in zip(arrays, flags)]


def each(fn: Fn, flags: Flags, *arrays: Any) -> np.ndarray:
    """The op slice by slice, stacked (a batch of 1 broadcasts, as numpy would)."""
    return np.stack([np.asarray(fn(*_slice(arrays, flags, i))) for i in range(_size(arrays, flags))])


def shaped(fn: Fn, flags: Flags, x: Any, *rest: Any) -> np.ndarray:
    """An op that reshapes or broadcasts ``x``: the batch reshaped, or broadcast, to the
    shape one slice's result has (the op on the first slice tells it, at the cost of a view)."""
    x = np.asarray(x)
    shape = np.shape(fn(x[0], *rest))
    if x[0].size == int(np.prod(shape)):
        return x.reshape((x.shape[0], *shape))
    return np.broadcast_to(_ranked(x, len(shape)), (x.shape[0], *shape))


def transpose(fn: Fn, flags: Flags, x: Any) -> np.ndarray:
    """``x.T`` of each slice: its axes reversed, the batch axis left first."""
    x = np.asarray(x)
    return np.transpose(x, (0, *range(x.ndim - 1, 0, -1)))


def _matrices(a: np.ndarray, batched: bool, vector_as: int) -> tuple[np.ndarray, bool]:
    """``a`` with a slice that is a vector made a matrix, as matmul does: a row
    (``vector_as=-2``) on the left, a column (``-1``) on the right."""
    if a.ndim - batched == 1:
        return np.expand_dims(a, vector_as), True
    return a, False


def _bmm(x: np.ndarray, fx: bool, y: np.ndarray, fy: bool) -> np.ndarray:
    """Matrix products slice by slice, in one matmul: the stack axes of a batched operand
    aligned behind its batch axis (a fixed matrix broadcasts as it is: one BLAS call)."""
    if fy and not fx and x.ndim == 2 and y.ndim == 3 and y.shape[-1] == 1:  # A @ v for B vectors v: V @ A^T
        return np.matmul(y[..., 0], x.T)[..., None]
    rank = max(x.ndim - fx, y.ndim - fy)
    x, y = (_ranked(x, rank) if fx else x), (_ranked(y, rank) if fy else y)
    if x.shape[-1] == 1 == y.shape[-2]:  # outer products (a vector's transpose): one broadcast multiply, not B GEMMs
        return x * y
    return np.matmul(x, y)


def matmul(fn: Fn, flags: Flags, a: Any, b: Any) -> np.ndarray:
    """``a @ b`` slice by slice: a slice that is a vector becomes a matrix (and its axis is
    dropped after), as matmul does."""
    a2, a_vec = _matrices(np.asarray(a), flags[0], -2)
    b2, b_vec = _matrices(np.asarray(b), flags[1], -1)
    out = _bmm(a2, flags[0], b2, flags[1])
    if b_vec:
        out = out[..., 0]
    return (out[..., 0, :] if not b_vec else out[..., 0]) if a_vec else out


def dot(fn: Fn, flags: Flags, a: Any, b: Any) -> np.ndarray:
    """``dot`` is ``matmul`` on vectors and matrices; on stacks and scalars, slice by slice."""
    ranks = (np.ndim(a) - flags[0], np.ndim(b) - flags[1])
    return matmul(fn, flags, a, b) if all(1 <= r <= 2 for r in ranks) else each(fn, flags, a, b)


def sum_like(fn: Fn, flags: Flags, g: Any, like: Any) -> np.ndarray:
    """``g`` of each slice summed down to the witness's shape: un-broadcasting past the
    batch axis (a batched witness has its slices' shape)."""
    g, shape = np.asarray(g), np.shape(like)[1:] if flags[1] else np.shape(like)
    if not flags[0]:
        g = g[None]
    lead = g.ndim - 1 - len(shape)
    if lead > 0:
        g = np.sum(g, axis=tuple(range(1, 1 + lead)))
    g = _ranked(g, len(shape))
    axes = tuple(i + 1 for i, n in enumerate(shape) if n == 1 and g.shape[i + 1] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    target = (g.shape[0], *shape)
    return g if g.shape == target else np.broadcast_to(g, target)


def contract_t(fn: Fn, flags: Flags, g: Any, *operands: Any, kind: str = "matmul", part: int = 0) -> np.ndarray:
    """The adjoint of a matmul in operand ``part`` (a witness): ``g @ b^H`` or ``a^H @ g``,
    by ``_bmm``, summed to the witness's shape, as ``runtime._matmul_t`` does for one slice."""
    if kind != "matmul":
        return each(fn, flags, g, *operands)
    fg, fa, fb = flags
    g, a, b = (np.asarray(x) for x in (g, *operands))
    a_vec, b_vec = a.ndim - fa == 1, b.ndim - fb == 1
    g2 = g[..., None] if b_vec else g  # the axes matmul dropped, back
    g2 = np.expand_dims(g2, -2) if a_vec else g2
    if part == 0:
        b2 = b[..., None] if b_vec else b
        d = _bmm(g2, fg, runtime._conj(np.swapaxes(b2, -1, -2)), fb)
        d, like, flag = (d[..., 0, :] if a_vec else d), a, fa
    else:
        a2 = np.expand_dims(a, -2) if a_vec else a
        d = _bmm(runtime._conj(np.swapaxes(a2, -1, -2)), fa, g2, fg)
        d, like, flag = (d[..., 0] if b_vec else d), b, fb
    return sum_like(fn, (fg or (fb if part == 0 else fa), flag), d, like)
