"""numpy helpers the generated kernels call (as ``_rt.NAME``): stable forms numpy lacks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    z = np.exp(-np.abs(x))
    return np.where(np.real(x) >= 0, 1 / (1 + z), z / (1 + z))


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0, x)


def relu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, 0 * x)


def _keepdims_max(x: np.ndarray, axis: int | tuple | None) -> np.ndarray:
    m = np.amax(np.real(x), axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0)


def logsumexp(x: np.ndarray, axis: int | tuple | None = None, keepdims: bool = False) -> np.ndarray:
    m = _keepdims_max(x, axis)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(x: np.ndarray, axis: int | tuple | None = None) -> np.ndarray:
    z = np.exp(x - _keepdims_max(x, axis))
    return z / np.sum(z, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int | tuple | None = None) -> np.ndarray:
    return x - logsumexp(x, axis=axis, keepdims=True)


def _axes(x: np.ndarray, axis: int | tuple | None) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(x.ndim))
    return tuple(normalize_axis_tuple(axis, x.ndim))


def size(x: np.ndarray, axis: int | tuple | None = None) -> np.float64:
    """How many elements a reduction over ``axis`` combines: a numpy number, so that
    ``1/(size - 1)`` of one element is IEEE's infinity, not Python's ZeroDivisionError."""
    return np.float64(np.prod([np.shape(x)[a] for a in _axes(np.asarray(x), axis)], dtype=np.int64))


def prod_except(x: np.ndarray, axis: int | tuple | None = None) -> np.ndarray:
    """For each element, the product of the others along ``axis``; exact where x has zeros."""
    x = np.asarray(x)
    axes = _axes(x, axis)
    moved = np.moveaxis(x, axes, range(x.ndim - len(axes), x.ndim))
    flat = moved.reshape((*moved.shape[: x.ndim - len(axes)], -1))
    ones = np.ones_like(flat[..., :1])
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((before * after).reshape(moved.shape), range(x.ndim - len(axes), x.ndim), axes)


#: the longest run of elements one einsum call sums: each of its SIMD lanes adds its share
#: in sequence, so a longer run is summed in pieces of this length and the pieces by numpy's
#: pairwise sum (rows of 1e3-1e6 numbers of one sign: within 6.5 ulp; one call on 1e6: 12-120)
RUN = 1024


def sum_of(
    a: np.ndarray,
    b: np.ndarray | None = None,
    axis: int | tuple | None = None,
    keepdims: bool = False,
    mean: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``sum(a, axis)`` or ``sum(a*b, axis)``, or its mean, without the product's array.

    numpy's einsum (SIMD lanes; 2-3x numpy's pairwise sum and a BLAS dot per row, which
    also hold up threads) where it applies: real floats of one shape and dtype, summed over
    the last axis, or over every element of contiguous arrays. Elsewhere numpy's own sum.
    """
    a = np.asarray(a)
    operands = (a,) if b is None else (a, np.asarray(b))
    fast = a.dtype.char in "fd" and a.size > 0 and all(x.shape == a.shape and x.dtype == a.dtype for x in operands)
    axes = _axes(a, axis) if fast else ()  # of a alone: b may broadcast it to more axes
    if fast and axes == (a.ndim - 1,):
        total = _sum_last(operands, None if out is None else out[..., 0] if keepdims else out)
        count = a.shape[-1]
        shape = (*a.shape[:-1], 1) if keepdims else a.shape[:-1]
    elif fast and len(axes) == a.ndim and all(x.flags.c_contiguous for x in operands):
        total = _sum_last(tuple(x.reshape(-1) for x in operands), None)
        count, shape = a.size, (1,) * a.ndim if keepdims else ()
    else:
        reduce = np.mean if mean else np.sum
        return reduce(a if b is None else a * b, axis=axis, keepdims=keepdims, out=out)
    if mean:
        total = np.true_divide(total, count, out=total if isinstance(total, np.ndarray) else None)
    total = np.reshape(total, shape)
    if out is None:
        return total
    if not np.may_share_memory(out, total):
        out[...] = total
    return out


def _sum_last(operands: tuple[np.ndarray, ...], out: np.ndarray | None) -> np.ndarray:
    """The sum over the last axis of the operands' product, in runs of at most ``RUN``."""
    spec = ",".join(["...i"] * len(operands)) + "->..."
    n = operands[0].shape[-1]
    if n <= RUN:
        return np.einsum(spec, *operands, out=out)
    whole = n - n % RUN
    runs = [x[..., :whole].reshape(*x.shape[:-1], whole // RUN, RUN) for x in operands]
    total = np.sum(np.einsum(spec, *runs), axis=-1, out=out)
    if whole == n:
        return total
    return np.add(total, np.einsum(spec, *(x[..., whole:] for x in operands)), out=out)


def broadcast_like(value: np.ndarray, *likes: np.ndarray) -> np.ndarray:
    shape = np.broadcast_shapes(np.shape(value), *(np.shape(a) for a in likes))
    return np.broadcast_to(value, shape)


def fits(out: np.ndarray | None, *arrays: np.ndarray) -> np.ndarray | None:
    """``out`` where a part of a result can be computed in it, else ``None`` (a temporary).

    ``arrays`` are that part's operands: all of the result's dtype (then the part computes
    in that dtype, as it would alone) and one of its shape (then the part has its shape).
    """
    if out is None or not all(getattr(a, "dtype", None) == out.dtype for a in arrays):
        return None
    return out if any(np.shape(a) == out.shape for a in arrays) else None


class Unsupported(ValueError):
    """A FUNC spelling whose meaning on these shapes jvpcli does not compute (a matrix norm)."""


def ix(index: np.ndarray) -> np.ndarray:
    """An array used as an index: a mask stays boolean, anything else becomes integers."""
    index = np.asarray(index)
    return index if index.dtype.kind in "bi" else index.astype(np.intp)


def argsort(x: np.ndarray, axis: int = -1, descending: bool = False) -> np.ndarray:
    """Stable, so ties keep their order (as torch's sort and topk give them on CPU)."""
    x = np.asarray(x)
    return np.argsort(-x if descending else x, axis=axis, kind="stable")


def take_along(x: np.ndarray, index: np.ndarray, axis: int) -> np.ndarray:
    return np.take_along_axis(np.asarray(x), ix(index), axis=axis)


def class_last(x: np.ndarray, inverse: bool = False) -> np.ndarray:
    """torch's class axis is 1 for (N, C, d1, ...) inputs: moved last, where the rest expects it."""
    x = np.asarray(x)
    if x.ndim < 3:
        return x
    return np.moveaxis(x, -1, 1) if inverse else np.moveaxis(x, 1, -1)


def _one_hot(target: np.ndarray, classes: int, ignore_index: int) -> np.ndarray:
    index = np.asarray(target)
    if np.any(index != np.round(index)):
        raise ValueError("class-index targets must be whole numbers")
    index = index.astype(np.intp)
    valid = index != ignore_index
    if np.any(valid & ((index < 0) | (index >= classes))):
        raise ValueError(f"a class-index target is outside 0..{classes - 1}")
    return (index[..., None] == np.arange(classes)) & valid[..., None]


def class_targets(
    target: np.ndarray, x: np.ndarray, ignore_index: int = -100, smoothing: float = 0.0, tangent: bool = False
) -> np.ndarray:
    """torch's cross_entropy targets in class-last layout: one-hot rows of class indices (zeros
    for ``ignore_index``), or probability targets (``target`` of x's shape); label smoothing
    applied. ``tangent``: the derivative along a tangent of ``target`` (zero for indices)."""
    target, x = np.asarray(target), np.asarray(x)
    classes = x.shape[1] if x.ndim >= 2 else x.shape[0]
    if target.shape == x.shape:
        probs = class_last(target)
        return probs * (1 - smoothing) if tangent else probs * (1 - smoothing) + smoothing / classes
    if tangent:
        return np.zeros(class_last(x).shape)
    hot = _one_hot(target, classes, ignore_index)
    return np.where(hot.any(axis=-1, keepdims=True), hot * (1 - smoothing) + smoothing / classes, 0.0)


def class_count(target: np.ndarray, x: np.ndarray, weight: np.ndarray, ignore_index: int = -100) -> np.ndarray:
    """What a mean classification loss divides by: the summed weight of the counted samples
    (class indices), or the number of samples (probability targets)."""
    target, x = np.asarray(target), np.asarray(x)
    if target.shape == x.shape:
        return np.asarray(float(max(1, x.size // (x.shape[1] if x.ndim >= 2 else x.shape[0]))))
    classes = x.shape[1] if x.ndim >= 2 else x.shape[0]
    hot = _one_hot(target, classes, ignore_index)
    weight = np.asarray(weight)
    return np.sum(hot * weight, dtype=np.result_type(x, weight))


def piece(x: np.ndarray, kind: str, arg: int | tuple, axis: int, index: int, count: int | None = None) -> np.ndarray:
    """Piece ``index`` of torch's ``chunk(arg)``, ``split(arg)`` or ``unbind()`` along ``axis``."""
    x = np.asarray(x)
    n = x.shape[axis]
    bounds: list[tuple[int, int | None]]
    if kind == "unbind":
        bounds = [(i, None) for i in range(n)]
    else:
        if kind == "chunk":
            step = -(-n // arg) if n else 1
            sizes = [min(step, n - s) for s in range(0, n, step)]
        elif isinstance(arg, tuple):
            if sum(arg) != n:
                raise ValueError(f"split sizes {list(arg)} do not add up to the length {n} of axis {axis}")
            sizes = list(arg)
        else:
            sizes = [min(arg, n - s) for s in range(0, n, arg)]
        starts = np.cumsum([0, *sizes])
        bounds = [(int(starts[i]), int(starts[i + 1])) for i in range(len(sizes))]
    if count is not None and len(bounds) != count:
        raise ValueError(f"{kind} along axis {axis} gives {len(bounds)} pieces here, not {count}")
    if index >= len(bounds):
        raise IndexError(f"{kind} along axis {axis} gives only {len(bounds)} pieces")
    start, stop = bounds[index]
    return np.take(x, start, axis=axis) if stop is None else np.take(x, np.arange(start, stop), axis=axis)


def vector_only(x: np.ndarray, ord: object = None) -> np.ndarray:
    if np.ndim(x) >= 2:
        raise Unsupported(
            f"norm(x, {ord!r}) of a matrix is a matrix norm in numpy, which jvpcli does not compute: "
            "for the vector norm of all entries write vector_norm(x, ord) (torch.norm(x, p) in torch)"
        )
    return x


def cross(a: np.ndarray, b: np.ndarray, axis: int | None = -1) -> np.ndarray:
    """numpy's cross; ``axis=None`` is torch's default, the first axis of length 3."""
    if axis is None:
        shape = np.broadcast_shapes(np.shape(a), np.shape(b))
        axis = next((i for i, s in enumerate(shape) if s == 3), -1)
    return np.cross(a, b, axis=axis)


def flatten(x: np.ndarray, start_dim: int = 0, end_dim: int = -1) -> np.ndarray:
    """torch's ``flatten(start_dim, end_dim)``."""
    x = np.asarray(x)
    if x.ndim == 0:
        return x.reshape(1)
    start, end = (a % x.ndim for a in (start_dim, end_dim))
    return x.reshape((*x.shape[:start], -1, *x.shape[end + 1 :]))


# ---- transposes: each takes witnesses, arrays whose shape the result takes -------------
def sum_like(g: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``g`` summed over the axes broadcasting added to ``like``'s shape (un-broadcasting)."""
    g, shape = np.asarray(g), np.shape(like)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead > 0:
        g = np.sum(g, axis=tuple(range(lead)))
    axes = tuple(
        i for i, n in enumerate(shape) if n == 1 and i - len(shape) >= -g.ndim and g.shape[i - len(shape)] != 1
    )
    if axes:
        g = np.sum(g, axis=tuple(a - len(shape) for a in axes), keepdims=True)
    return g if g.shape == shape else np.broadcast_to(g, shape)


def reshape_like(g: np.ndarray, like: np.ndarray) -> np.ndarray:
    return np.reshape(g, np.shape(like))


def _index(index: tuple) -> tuple:
    """An ``ArrayIndex`` parameter as a numpy index: ``("slice", a, b, c)`` is a slice."""
    return tuple(slice(*i[1:]) if isinstance(i, tuple) else Ellipsis if i == "..." else i for i in index)


def _zeros(g: np.ndarray, like: np.ndarray) -> np.ndarray:
    return np.zeros(np.shape(like), np.result_type(g, 0.0))


def scatter_like(g: np.ndarray, like: np.ndarray, index: tuple = ()) -> np.ndarray:
    out = _zeros(g, like)
    out[_index(index)] = g
    return out


def concat_part(g: np.ndarray, *likes: np.ndarray, axis: int = 0, part: int = 0) -> np.ndarray:
    g = np.asarray(g)
    sizes = [np.shape(a)[axis] for a in likes]
    start = sum(sizes[:part])
    where = [slice(None)] * g.ndim
    where[axis] = slice(start, start + sizes[part])
    return g[tuple(where)]


def _diagonal_put(out: np.ndarray, g: np.ndarray, offset: int, axis1: int, axis2: int) -> np.ndarray:
    """``out`` (zeros) with ``g`` written along its ``offset`` diagonal of ``axis1``, ``axis2``."""
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    n, m = view.shape[-2:]
    rows = np.arange(max(0, -offset), min(n, m - offset))
    view[..., rows, rows + offset] = np.asarray(g)[..., None] if np.ndim(g) < view.ndim - 1 else g
    return out


def trace_like(g: np.ndarray, like: np.ndarray, offset: int = 0, axis1: int = 0, axis2: int = 1) -> np.ndarray:
    return _diagonal_put(_zeros(g, like), g, offset, axis1, axis2)


def diag_like(g: np.ndarray, like: np.ndarray, k: int = 0) -> np.ndarray:
    """``diag``'s transpose: of a vector's matrix, its diagonal; of a matrix's diagonal, the matrix."""
    if np.ndim(like) == 1:
        return np.diagonal(g, k).copy()
    return _diagonal_put(_zeros(g, like), g, k, 0, 1)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _tokens(sub: str) -> list[str]:
    return ["...", *_tokens(sub[3:])] if sub.startswith("...") else ([sub[0], *_tokens(sub[1:])] if sub else [])


def _spec(kind: str, arrays: tuple) -> str:
    """Explicit einsum subscripts of ``matmul``/``dot`` on arrays of these dimensions, or
    einsum's own (made explicit)."""
    if kind == "matmul":
        a, b = (np.ndim(x) for x in arrays)
        left = "...ij" if a > 1 else "j"
        right = "...jk" if b > 1 else "j"
        out = ("..." if max(a, b) > 1 else "") + ("i" if a > 1 else "") + ("k" if b > 1 else "")
        return f"{left},{right}->{out}"
    if kind == "inner":  # the last axes contracted, the others side by side
        a, b = (np.ndim(x) for x in arrays)
        if a == 0 or b == 0:
            return f"{_LETTERS[:a]},{_LETTERS[a : a + b]}->{_LETTERS[: a + b]}"
        left, right = _LETTERS[: a - 1] + "z", _LETTERS[a - 1 : a + b - 2] + "z"
        return f"{left},{right}->{left[:-1]}{right[:-1]}"
    if kind == "dot":
        a, b = (np.ndim(x) for x in arrays)
        if a == 0 or b == 0:
            return f"{_LETTERS[:a]},{_LETTERS[a : a + b]}->{_LETTERS[: a + b]}"
        left = _LETTERS[: a - 1] + "z"
        right = _LETTERS[a - 1 : a - 1 + max(b - 2, 0)] + "z" + ("Z" if b > 1 else "")
        return f"{left},{right}->{left[:-1]}{right.replace('z', '')}"
    if "->" in kind:
        return kind
    letters = [c for c in kind if c.isalpha()]
    out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return f"{kind}->{'...' if '...' in kind else ''}{out}"


def contract_t(g: np.ndarray, *operands: np.ndarray, kind: str = "matmul", part: int = 0) -> np.ndarray:
    """The adjoint of a contraction in operand ``part`` (a witness here) applied to ``g``:
    the contraction of ``g`` with the other operands, conjugated, summed to the part's shape."""
    if kind == "matmul":
        a, b = (np.asarray(x) for x in operands)
        return _matmul_t(np.asarray(g), a, b, part)
    inputs, out = _spec(kind, operands).split("->")
    subs = inputs.split(",")
    target = _tokens(subs[part])
    if len({t for t in target if t != "..."}) != len([t for t in target if t != "..."]):
        raise ValueError("the transpose of an einsum with a repeated index in one operand is not supported")
    others = [
        (s, np.conjugate(x) if np.iscomplexobj(x) else x) for i, (s, x) in enumerate(zip(subs, operands)) if i != part
    ]
    present = set(_tokens(out)) | {t for s, _ in others for t in _tokens(s)}
    kept = [t for t in target if t in present]
    # broadcast axes ('...') this operand lacks are summed: numpy's einsum cannot drop them
    summed = "..." in present and "..." not in kept
    spec = f"{','.join([out] + [s for s, _ in others])}->{'...' if summed else ''}{''.join(kept)}"
    value = np.einsum(spec, g, *(x for _, x in others))
    if summed:
        value = np.sum(value, axis=tuple(range(value.ndim - len(kept))))
    like = operands[part]
    if len(kept) != len(target):  # an index summed in this operand alone: broadcast back
        ellipsis = value.ndim - len([t for t in kept if t != "..."])
        shape: list[int] = []
        dims = iter(value.shape)
        for t in target:
            if t == "...":
                shape += [next(dims) for _ in range(ellipsis)]
            else:
                shape.append(next(dims) if t in present else 1)
        value = np.reshape(value, shape)
    return sum_like(value, like)


def gather_t(g: np.ndarray, like: np.ndarray, op: Callable, *indices: np.ndarray) -> np.ndarray:
    """The transpose of a selection ``op`` (each result element one element of x): ``g``
    added where each element was taken from, the positions being ``op`` of the positions."""
    shape = np.shape(like)
    count = int(np.prod(shape))
    taken = np.asarray(op(np.arange(count).reshape(shape), *indices))
    positions, g = taken.reshape(-1), np.broadcast_to(g, taken.shape).reshape(-1)
    if np.iscomplexobj(g):
        added = np.bincount(positions, g.real, count) + 1j * np.bincount(positions, g.imag, count)
    else:
        added = np.bincount(positions, g, count)
    return added.astype(np.result_type(g, 0.0), copy=False).reshape(shape)


def _conj(x: np.ndarray) -> np.ndarray:
    return np.conjugate(x) if np.iscomplexobj(x) else x


def _matmul_t(g: np.ndarray, a: np.ndarray, b: np.ndarray, part: int) -> np.ndarray:
    """``contract_t`` of ``a @ b`` by matmul itself, ``g @ b^H`` or ``a^H @ g`` (BLAS: einsum's
    own loop took 5-20x longer), 1-D operands promoted and dropped as matmul does."""
    a_vec, b_vec = a.ndim == 1, b.ndim == 1
    a2, b2 = (a[None, :] if a_vec else a), (b[:, None] if b_vec else b)
    g2 = g[..., None] if b_vec else g
    g2 = np.expand_dims(g2, -2) if a_vec else g2
    if part == 0:
        d = np.matmul(g2, _conj(np.swapaxes(b2, -1, -2)))
        return sum_like(d[..., 0, :] if a_vec else d, a)
    d = np.matmul(_conj(np.swapaxes(a2, -1, -2)), g2)
    return sum_like(d[..., 0] if b_vec else d, b)
