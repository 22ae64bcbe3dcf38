"""torch's and numpy's spellings beyond the core set: tuple results, construction, shapes,
pieces, linear algebra, and the methods pasted torch code calls.

Registered into ``functions.FUNCTIONS``, the one list of names FUNC may call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from jvpcli.lang.functions import (
    ATTRIBUTES,
    FUNCTIONS,
    ArgError,
    array,
    axis_arg,
    dynamic,
    flag,
    integer,
    kind_of,
    register,
    shape_arg,
)
from jvpcli.lang.values import Dtype, Fields, Pieces, Shape
from jvpcli.symbolic import ops as o

DTYPES = {
    "float16": "float16",
    "half": "float16",
    "float32": "float32",
    "float": "float32",
    "float64": "float64",
    "double": "float64",
    "complex64": "complex64",
    "cfloat": "complex64",
    "complex128": "complex128",
    "cdouble": "complex128",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int": "int32",
    "int64": "int64",
    "long": "int64",
    "uint8": "uint8",
    "bool": "bool_",
}


# ---- tuple results ---------------------------------------------------------------------
def _along(x: sp.Expr, axis: int, stop: int) -> sp.Expr:
    """``x[..., :stop, ...]`` along ``axis``, without knowing how many axes x has."""
    full, cut = ("slice", None, None, None), ("slice", None, stop, None)
    index = (full,) * axis + (cut,) if axis >= 0 else ("...", cut, *(full,) * (-axis - 1))
    return o.ArrayIndex.make(x, index=index)


def _sort_numpy(x: Any, axis: Any = -1) -> sp.Expr:
    x = array(x)
    if axis is None:
        x, axis = o.ArrayReshape.make(x, shape=(-1,)), -1
    axis = integer(axis, "axis")
    return o.ArrayTakeAlong.make(x, o.ArrayArgsort.make(x, axis=axis, descending=False), axis=axis)


def _sort_torch(x: Any, axis: Any = -1, descending: Any = False, stable: Any = False) -> Fields:
    x, axis = array(x), integer(axis, "dim")
    index = o.ArrayArgsort.make(x, axis=axis, descending=flag(descending, "descending"))
    return Fields((o.ArrayTakeAlong.make(x, index, axis=axis), index), ("values", "indices"))


register("sort", torch=_sort_torch, readings=("the sorted values", "(values, indices)"))(_sort_numpy)


@register("topk")
def _topk(x: Any, k: Any, axis: Any = -1, largest: Any = True, sorted: Any = True) -> Fields:
    x, axis = array(x), integer(axis, "dim")
    order = o.ArrayArgsort.make(x, axis=axis, descending=flag(largest, "largest"))
    index = _along(order, axis, integer(k, "k"))
    return Fields((o.ArrayTakeAlong.make(x, index, axis=axis), index), ("values", "indices"))


register("argsort")(
    lambda x, axis=-1, descending=False: o.ArrayArgsort.make(
        array(x), axis=integer(axis, "axis"), descending=flag(descending, "descending")
    )
)
register("argmax")(
    lambda x, axis=None, keepdims=False: o.ArrayArgmax.make(
        array(x), axis=axis_arg(axis), keepdims=flag(keepdims, "keepdims")
    )
)
register("argmin")(
    lambda x, axis=None, keepdims=False: o.ArrayArgmin.make(
        array(x), axis=axis_arg(axis), keepdims=flag(keepdims, "keepdims")
    )
)
register("gather")(
    lambda x, axis, index: o.ArrayTakeAlong.make(array(x), array(index, "index"), axis=integer(axis, "dim"))
)
register("take_along_axis take_along", method=False)(
    lambda x, indices, axis: o.ArrayTakeAlong.make(array(x), array(indices, "indices"), axis=integer(axis, "axis"))
)


# ---- linear algebra -----------------------------------------------------------------------
def _det(x: Any) -> sp.Expr:
    return o.ArrayDet.make(array(x))


register("logdet")(lambda x: sp.log(_det(x)))
register("slogdet")(lambda x: Fields((sp.sign(_det(x)), sp.log(sp.Abs(_det(x)))), ("sign", "logabsdet")))


@register("cholesky")
def _cholesky(x: Any, upper: Any = False) -> sp.Expr:
    low = o.ArrayCholesky.make(array(x))
    return sp.conjugate(o.ArraySwapaxes.make(low, axis1=-2, axis2=-1)) if flag(upper, "upper") else low


register("diagonal")(
    lambda x, offset=0, axis1=0, axis2=1: o.ArrayDiagonal.make(
        array(x), offset=integer(offset, "offset"), axis1=integer(axis1, "dim1"), axis2=integer(axis2, "dim2")
    )
)
register("tril")(lambda x, k=0: o.ArrayTril.make(array(x), k=integer(k, "diagonal")))
register("triu")(lambda x, k=0: o.ArrayTriu.make(array(x), k=integer(k, "diagonal")))
register("cross")(
    lambda x, y, axis=None: o.ArrayCross.make(array(x), array(y), axis=None if axis is None else integer(axis, "dim"))
)
register("linalg.cross")(lambda x, y, axis=-1: o.ArrayCross.make(array(x), array(y), axis=integer(axis, "dim")))
register("addmm")(
    lambda x, mat1, mat2, beta=1, alpha=1: (
        array(beta) * array(x) + array(alpha) * o.ArrayMatmul.make(array(mat1), array(mat2))
    )
)
register("logaddexp", elementwise=True)(lambda x, y: o.ArrayLogaddexp.make(array(x), array(y)))


@register("cdist", method=False)
def _cdist(x: Any, y: Any, ord: Any = 2.0) -> sp.Expr:
    """torch's pairwise distances between the rows of x and of y."""
    x, y = array(x), array(y)
    diff = o.ArrayIndex.make(x, index=("...", ("slice", None, None, None), None, ("slice", None, None, None)))
    diff = diff - o.ArrayIndex.make(y, index=("...", None, ("slice", None, None, None), ("slice", None, None, None)))
    return FUNCTIONS["vector_norm"](diff, ord, -1)


@register("dist")
def _dist(x: Any, y: Any, ord: Any = 2.0) -> sp.Expr:
    return FUNCTIONS["vector_norm"](array(x) - array(y), ord)


@register("diff")
def _diff(x: Any, n: Any = 1, axis: Any = -1) -> sp.Expr:
    x, axis = array(x), integer(axis, "dim")
    for _ in range(integer(n, "n")):
        full = ("slice", None, None, None)
        lead = (full,) * axis if axis >= 0 else ("...",)
        tail = () if axis >= 0 else (full,) * (-axis - 1)
        x = o.ArrayIndex.make(x, index=(*lead, ("slice", 1, None, None), *tail)) - o.ArrayIndex.make(
            x, index=(*lead, ("slice", None, -1, None), *tail)
        )
    return x


# ---- shape, pieces, repetition ------------------------------------------------------------
def _size(x: Any, axis: Any = None) -> sp.Expr:
    return o.ArraySize.make(array(x), axis=axis_arg(axis))


register(
    "size",
    torch=lambda x, axis=None: Shape(array(x)) if axis is None else _size(x, axis),
    readings=("the number of elements", "the shape"),
)(_size)
register("numel")(lambda x: o.ArraySize.make(array(x), axis=None))


@register("len", method=False)
def _len(x: Any) -> sp.Expr:
    """``len(x)``: the length of axis 0; of a tuple, its length; of ``x.shape``, x's number of axes."""
    if isinstance(x, tuple):
        return sp.Integer(len(x))
    if isinstance(x, Shape):
        return o.ArrayNdim.make(x.x)
    return o.ArraySize.make(array(x), axis=0)


register("ndim dim")(lambda x: o.ArrayNdim.make(array(x)))
register("shape", method=False)(lambda x: Shape(array(x)))
ATTRIBUTES.update(shape=FUNCTIONS["shape"], ndim=FUNCTIONS["ndim"], size=FUNCTIONS["numel"])


def _pieces(kind: str, x: sp.Expr, arg: Any, axis: int, count: int | None, what: str) -> Pieces:
    def piece(i: int, expected: int | None) -> sp.Expr:
        return o.ArrayPiece.make(x, kind=kind, arg=arg, axis=axis, index=i, count=expected)

    return Pieces(piece, count, what)


@register("chunk")
def _chunk(x: Any, chunks: Any, axis: Any = 0) -> Pieces:
    n = integer(chunks, "chunks")
    return _pieces("chunk", array(x), n, integer(axis, "dim"), None, f"chunk({n})")


@register("split")
def _split(x: Any, split_size_or_sections: Any, axis: Any = 0) -> Pieces:
    sizes = split_size_or_sections
    if isinstance(sizes, tuple):
        sizes = tuple(integer(s, "a split size") for s in sizes)
        return _pieces("split", array(x), sizes, integer(axis, "dim"), len(sizes), f"split({list(sizes)})")
    size = integer(sizes, "split_size")
    return _pieces("split", array(x), size, integer(axis, "dim"), None, f"split({size})")


register("unbind")(lambda x, axis=0: _pieces("unbind", array(x), 0, integer(axis, "dim"), None, "unbind()"))


@register(
    "repeat",
    torch=lambda x, *sizes: o.ArrayTile.make(array(x), reps=shape_arg(sizes)),
    readings=("each element repeated", "the array tiled"),
)
def _repeat(x: Any, repeats: Any, axis: Any = None) -> sp.Expr:
    return o.ArrayRepeat.make(array(x), repeats=integer(repeats, "repeats"), axis=axis_arg(axis))


register("repeat_interleave")(lambda x, repeats, axis=None: _repeat(x, repeats, axis))
register("tile")(lambda x, reps: o.ArrayTile.make(array(x), reps=shape_arg((reps,))))
register("roll")(
    lambda x, shift, axis=None: o.ArrayRoll.make(
        array(x),
        shift=shape_arg((shift,)) if isinstance(shift, tuple) else integer(shift, "shifts"),
        axis=axis_arg(axis),
    )
)
register("expand_as")(lambda x, y: o.fresh_like(array(x), array(y, "other")))


@register("expand")
def _expand(x: Any, *sizes: Any) -> sp.Expr:
    """torch's ``expand``: -1 keeps an axis; sizes are counted from the last axis."""
    x = array(x)
    if len(sizes) == 1 and isinstance(sizes[0], tuple):
        sizes = sizes[0]
    template, slots = dynamic(tuple(sizes), "a size")
    if slots or -1 in template:
        keep = [o.ArraySize.make(x, axis=i - len(sizes)) if s == -1 else s for i, s in enumerate(sizes)]
        return o.ArrayLike.make(x, FUNCTIONS["zeros"](tuple(keep)))
    return o.ArrayBroadcastTo.make(x, shape=template)


# ---- identities, casts and masks ----------------------------------------------------------
register("contiguous clone type_as")(lambda x, *args, **kwargs: array(x))
register("detach")(lambda x: o.ArrayDetach.make(array(x)))
ATTRIBUTES["data"] = FUNCTIONS["detach"]


def _cast(x: Any, dtype: str) -> sp.Expr:
    """``mask.float()``: a condition as 0/1; numbers rounded to ``dtype`` (torch's ``x.float()``)."""
    x = array(x)
    if isinstance(x, (o.ArrayCompare, o.ArrayLogic)):
        return o.ArrayWhere.make(x, sp.S.One, sp.S.Zero)
    return o.ArrayCast.make(x, dtype=dtype) if dtype else x


register("float")(lambda x: _cast(x, "float32"))
register("double")(lambda x: _cast(x, "float64"))


@register("astype to")
def _astype(x: Any, *args: Any, dtype: Any = None, **ignored: Any) -> sp.Expr:
    """``x.astype(np.float64)``, ``x.to(torch.float32)``; ``x.to(device)``/``x.to(y.dtype)`` change nothing."""
    names = [
        a if isinstance(a, Dtype) else Dtype(DTYPES[a])
        for a in (*args, dtype)
        if isinstance(a, str) and (isinstance(a, Dtype) or a in DTYPES)
    ]
    name = str(names[0]) if names else ""
    if name and not name.startswith(("float", "complex")):
        raise ArgError(f"a cast to {name} has no derivative: compare instead (x > 0)")
    return _cast(x, name) if name else array(x)


register("bool")(
    lambda x: x if isinstance(x, (o.ArrayCompare, o.ArrayLogic)) else o.ArrayCompare.make(array(x), sp.S.Zero, op="!=")
)


@register("masked_fill")
def _masked_fill(x: Any, mask: Any, value: Any) -> sp.Expr:
    x, mask = array(x), _condition(mask)
    return o.ArrayWhere.make(mask, array(value, "value"), x)


def _condition(mask: Any) -> sp.Expr:
    mask = array(mask, "mask")
    return mask if isinstance(mask, (o.ArrayCompare, o.ArrayLogic)) else o.ArrayCompare.make(mask, sp.S.Zero, op="!=")


# ---- construction: constants --------------------------------------------------------------
def _number(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_number(v) for v in value)
    if isinstance(value, bool):
        return value
    if isinstance(value, sp.Expr) and value.is_Number:
        if isinstance(value, sp.Integer):
            return int(value)
        return complex(value) if not value.is_real else float(value)
    if isinstance(value, sp.Expr) and value.is_number:
        return complex(value) if not value.is_real else float(value)
    raise ArgError(f"a literal array holds numbers, not {kind_of(value)}: to combine arrays use stack([...])")


def _default_dtype(values: Any, torch: bool) -> str:
    flat = np.asarray(values)
    if flat.dtype.kind == "b":
        return "bool_"
    if flat.dtype.kind in "iu":
        return "int64"
    if flat.dtype.kind == "c":
        return "complex64" if torch else "complex128"
    return "float32" if torch else "float64"


def _literal(data: Any, dtype: Any, torch: bool) -> sp.Expr:
    values = _number(data)
    name = _dtype(dtype) or _default_dtype(values, torch)
    if name in ("float32", "complex64", "float16"):  # stored rounded, as torch holds it
        values = np.asarray(values, dtype=name).tolist()
        values = tuple(values) if isinstance(values, list) else values
        values = _tupled(values)
    return o.ArrayConstant.make(value=values, dtype=name)


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, (list, tuple)) else value


def _dtype(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, Dtype):
        return str(value)
    if isinstance(value, str) and value in DTYPES.values():  # as --create-graph prints it
        return value
    raise ArgError(f"dtype must be a dtype such as torch.float64, not {kind_of(value)}", "dtype")


register("tensor as_tensor", method=False)(
    lambda data, dtype=None, requires_grad=False, device=None: _literal(data, dtype, True)
)
register("array asarray", method=False)(lambda data, dtype=None: _literal(data, dtype, False))


#: numpy and torch differ here only in the default precision (torch's float32): no note
PRECISION = ("", "")


def _fill(shape: tuple | Shape, value: Any, dtype: Any, floats: str = "float64") -> sp.Expr:
    if isinstance(shape, Shape):  # zeros(x.shape), ones(x.size())
        return o.fresh_like(array(value, "fill_value"), shape.x)
    template, slots = dynamic(shape, "a size")
    number = value if isinstance(value, bool) else _number(array(value, "fill_value"))
    default = {bool: "bool_", int: "int64", complex: "complex128"}.get(type(number), floats)
    return o.ArrayFull.make(*slots, shape=template, value=number, dtype=_dtype(dtype) or default)


def _shape_of(dims: tuple, size: Any) -> tuple | Shape:
    if isinstance(size, Shape):
        return size
    if size is not None:
        dims = size if isinstance(size, tuple) else (size,)
    if len(dims) == 1 and isinstance(dims[0], (tuple, Shape)):
        return dims[0]
    return tuple(dims)


def _filled(value: float, floats: str) -> Any:
    def fill(
        *dims: Any,
        size: Any = None,
        dtype: Any = None,
        device: Any = None,
        requires_grad: Any = False,
        shape: Any = None,
    ) -> sp.Expr:
        return _fill(_shape_of(dims, size or shape), sp.Float(value), dtype, floats)

    return fill


register("ones", method=False, torch=_filled(1.0, "float32"), readings=PRECISION)(_filled(1.0, "float64"))
register("zeros", method=False, torch=_filled(0.0, "float32"), readings=PRECISION)(_filled(0.0, "float64"))


def _full(floats: str) -> Callable[..., sp.Expr]:
    """full, whose float fill gives ``floats`` (numpy's float64, torch's float32)."""

    def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: Any = False) -> sp.Expr:
        return _fill(_shape_of((size,), None), fill_value, dtype, floats)

    return full


register("full", method=False, torch=_full("float32"), readings=PRECISION)(_full("float64"))


register("full_like", elementwise=True)(
    lambda x, fill_value, dtype=None: o.fresh_like(array(fill_value, "fill_value"), array(x))
)


def _arange(floats: str) -> Callable[..., sp.Expr]:
    """arange, whose float bounds give ``floats`` (numpy's float64, torch's float32)."""

    def arange(
        start: Any, stop: Any = None, step: Any = 1, dtype: Any = None, device: Any = None, requires_grad: Any = False
    ) -> sp.Expr:
        if stop is None:
            start, stop = sp.S.Zero, start
        bounds = []
        slots: list[sp.Expr] = []
        for v in (start, stop, step):
            v = array(v, "arange's bounds")
            if v.is_Number:
                bounds.append(_number(v))
            else:
                bounds.append(o.Slot(len(slots)))
                slots.append(v)
        name = _dtype(dtype) or (floats if any(isinstance(b, float) for b in bounds) else "int64")
        return o.ArrayArange.make(*slots, start=bounds[0], stop=bounds[1], step=bounds[2], dtype=name)

    return arange


_numpy_arange = _arange("float64")
register("arange", method=False, torch=_arange("float32"), readings=PRECISION)(_numpy_arange)


register("clamp_min", elementwise=True)(lambda x, lo: FUNCTIONS["clip"](x, lo=lo))
register("clamp_max", elementwise=True)(lambda x, hi: FUNCTIONS["clip"](x, hi=hi))
register("lerp", elementwise=True)(
    lambda x, end, weight: array(x) + array(weight, "weight") * (array(end, "end") - array(x))
)
register("logit", elementwise=True)(
    lambda x, eps=None: (
        sp.log(array(x) / (1 - array(x)))
        if eps is None
        else FUNCTIONS["logit"](FUNCTIONS["clip"](x, eps, 1 - array(eps)))
    )
)


@register("one_hot", method=False)
def _one_hot(x: Any, num_classes: Any = -1) -> sp.Expr:
    """A mask (``.float()`` makes it 0/1): true where the last axis is x's class."""
    classes = integer(num_classes, "num_classes")
    if classes < 0:
        raise ArgError("one_hot(): give num_classes (jvpcli does not read it from the data)", "num_classes")
    index = o.ArrayIndex.make(array(x), index=("...", None))
    return o.ArrayCompare.make(index, _numpy_arange(classes), op="==")


def eye(n: Any, m: Any = None, dtype: Any = None, floats: str = "float64") -> sp.Expr:
    """The identity; of a size known at run time (``eye(A.shape[0])``) as a comparison of ranges."""
    n = array(n, "n")
    m = n if m is None else array(m, "m")
    name = _dtype(dtype) or floats
    if n.is_Number and m.is_Number:
        kept = None if name == "float64" else name
        return o.ArrayEye.make(N=integer(n, "n"), M=integer(m, "m") if m != n else None, dtype=kept)
    rows = o.ArrayIndex.make(_numpy_arange(n), index=(("slice", None, None, None), None))
    return o.ArrayCast.make(o.ArrayCompare.make(rows, _numpy_arange(m), op="=="), dtype=name)


register(
    "eye",
    method=False,
    torch=lambda n, m=None, dtype=None, device=None, requires_grad=False: eye(n, m, dtype, "float32"),
    readings=PRECISION,
)(lambda n, m=None, dtype=None: eye(n, m, dtype))
register("inner")(lambda x, y: o.ArrayInner.make(array(x), array(y)))


@register("solve_triangular", method=False)
def _solve_triangular(a: Any, b: Any, upper: Any = False, left: Any = True, unitriangular: Any = False) -> sp.Expr:
    """torch's: only the triangle named is read (so is differentiated)."""
    if not flag(left, "left") or flag(unitriangular, "unitriangular"):
        raise ArgError("solve_triangular(): only left=True, unitriangular=False is supported", "left")
    a = array(a)
    triangle = o.ArrayTriu.make(a, k=0) if flag(upper, "upper") else o.ArrayTril.make(a, k=0)
    return o.ArraySolve.make(triangle, array(b))


@register("cholesky_solve")
def _cholesky_solve(b: Any, low: Any, upper: Any = False) -> sp.Expr:
    low = array(low)
    low = o.ArrayTriu.make(low, k=0) if flag(upper, "upper") else o.ArrayTril.make(low, k=0)
    swapped = o.ArraySwapaxes.make(low, axis1=-2, axis2=-1)
    a = o.ArrayMatmul.make(swapped, low) if flag(upper, "upper") else o.ArrayMatmul.make(low, swapped)
    return o.ArraySolve.make(a, array(b))


@register("trapezoid trapz")
def _trapezoid(y: Any, x: Any = None, dx: Any = None, axis: Any = -1) -> sp.Expr:
    y, axis = array(y), integer(axis, "dim")
    full = ("slice", None, None, None)
    lead = (full,) * axis if axis >= 0 else ("...",)
    tail = () if axis >= 0 else (full,) * (-axis - 1)
    right, left = (
        o.ArrayIndex.make(y, index=(*lead, cut, *tail)) for cut in (("slice", 1, None, None), ("slice", None, -1, None))
    )
    step = _diff(x, 1, axis) if isinstance(x, sp.Expr) and not x.is_Number else array(1 if dx is None else dx, "dx")
    return o.ArraySum.make((right + left) * step / 2, axis=axis, keepdims=False)


@register("dropout", elementwise=True)
def _dropout(x: Any, ord: Any = 0.5, training: Any = True, inplace: Any = False) -> sp.Expr:
    if flag(training, "training") and float(_number(array(ord, "p"))) != 0:
        raise ArgError(
            "dropout is random while training: jvpcli differentiates the function itself, "
            "so write dropout(x, p, training=False) (or leave it out)",
            "training",
        )
    return array(x)


# ---- the internal steps --create-graph prints (readable back as FUNC) -------------------------------
register("piece")(
    lambda x, kind, arg, axis, index, count=None: o.ArrayPiece.make(
        array(x),
        kind=kind,
        arg=arg if isinstance(arg, tuple) else integer(arg, "arg"),
        axis=integer(axis, "axis"),
        index=integer(index, "index"),
        count=None if count is None else integer(count, "count"),
    )
)
register("class_last")(lambda x, inverse=False: o.ArrayClassLast.make(array(x), inverse=flag(inverse, "inverse")))
register("class_targets")(
    lambda target, x, ignore_index=-100, smoothing=0.0, tangent=False: o.ArrayClassTargets.make(
        array(target),
        array(x),
        ignore_index=integer(ignore_index, "ignore_index"),
        smoothing=float(smoothing),
        tangent=flag(tangent, "tangent"),
    )
)
register("class_count")(
    lambda target, x, w, ignore_index=-100: o.ArrayClassCount.make(
        array(target), array(x), array(w), ignore_index=integer(ignore_index, "ignore_index")
    )
)
register("vector_only")(
    lambda x, ord=None: o.ArrayVectorOnly.make(array(x), ord=ord if not isinstance(ord, sp.Expr) else float(ord))
)
