"""The names FUNC may call: numpy's and torch's spellings of each operation.

Each entry is a plain Python function over sympy expressions (arrays) and Python
values (axes, shapes), so ``inspect.signature`` binds the user's arguments and reports
a bad call in Python's own words. ``dim``/``keepdim`` and other torch keywords are
renamed to numpy's before binding.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.codegen.cfunctions import exp2, expm1, hypot, log1p, log2, log10

from jvpcli.lang import constants
from jvpcli.lang.values import Fields
from jvpcli.symbolic import ops as o

MAX_INT_BITS = 64
MAX_POWER_BITS = 4096
KEYWORD_ALIASES = {
    "dim": "axis",
    "dims": "axis",
    "keepdim": "keepdims",
    "correction": "ddof",
    "min": "lo",
    "max": "hi",
    "a_min": "lo",
    "a_max": "hi",
    "input": "x",
    "other": "y",
    "exponent": "y",
    "x1": "x",
    "x2": "y",
    "p": "ord",
    "condition": "cond",
    "N": "n",
    "M": "m",
    "diagonal": "k",
    "dim0": "axis0",
    "dim1": "axis1",
    "dim2": "axis2",
    "shifts": "shift",
}


class ArgError(Exception):
    """A bad argument to a FUNC function; the builder adds the caret (under ``keyword`` when named)."""

    def __init__(self, message: str, keyword: str | None = None) -> None:
        super().__init__(message)
        self.keyword = keyword


_UNEXPECTED = re.compile(r"unexpected keyword argument '(\w+)'")


@dataclass(frozen=True)
class Builtin:
    """A FUNC function. ``torch`` is torch's reading where it differs from numpy's ``fn``
    (language.md's dialect table); ``readings`` says how, in words, for messages."""

    name: str
    fn: Callable[..., Any]
    elementwise: bool
    method: bool
    torch: Callable[..., Any] | None = None
    readings: tuple[str, str] = ("", "")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("numpy", args, kwargs)

    def call(self, dialect: str, args: Any, kwargs: dict[str, Any]) -> Any:
        fn = self.torch if dialect == "torch" and self.torch is not None else self.fn
        names = {KEYWORD_ALIASES.get(k, k): k for k in kwargs}
        kwargs = {KEYWORD_ALIASES.get(k, k): v for k, v in kwargs.items()}
        try:
            bound = inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as exc:
            found = _UNEXPECTED.search(str(exc))
            keyword = names.get(found.group(1), found.group(1)) if found else None
            message = f"{self.name}() takes no keyword '{keyword}'" if keyword else f"{self.name}(): {exc}"
            raise ArgError(message, keyword) from None
        return fn(*bound.args, **bound.kwargs)


FUNCTIONS: dict[str, Builtin] = {}


def register(
    names: str,
    elementwise: bool = False,
    method: bool = True,
    torch: Callable | None = None,
    readings: tuple[str, str] = ("", ""),
) -> Callable:
    """Register ``fn`` under each of ``names``; ``torch``: torch's reading where it differs."""

    def deco(fn: Callable) -> Callable:
        for name in names.split():
            FUNCTIONS[name] = Builtin(name, fn, elementwise, method, torch, readings)
        return fn

    return deco


# ---- argument checks ---------------------------------------------------------------
def array(value: Any, what: str = "argument") -> sp.Expr:
    if isinstance(value, sp.Expr):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # a default's Python number
        return sp.Integer(value) if isinstance(value, int) else sp.Float(value)
    raise ArgError(f"{what} must be an array or a number, not {kind_of(value)}")


def integer(value: Any, what: str = "argument") -> int:
    if isinstance(value, sp.Integer) or (isinstance(value, int) and not isinstance(value, bool)):
        return int(value)
    raise ArgError(f"{what} must be an integer, not {kind_of(value)}")


def axis_arg(value: Any) -> int | tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(integer(v, "axis") for v in value)
    return integer(value, "axis")


def shape_arg(values: tuple, keyword: Any = None) -> tuple[int, ...]:
    """A shape given as ``f(x, 2, 3)``, ``f(x, (2, 3))`` or ``f(x, shape=(2, 3))``."""
    if keyword is not None:
        if values:
            raise ArgError("give the shape once, by position or by keyword")
        values = keyword if isinstance(keyword, tuple) else (keyword,)
    if len(values) == 1 and isinstance(values[0], tuple):
        values = values[0]
    return tuple(integer(v, "a shape entry") for v in values)


def flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ArgError(f"{what} must be True or False, not {kind_of(value)}")


def kind_of(value: Any) -> str:
    if isinstance(value, sp.Expr):
        return "an array"
    return {tuple: "a tuple", str: "a string", bool: "a boolean", type(None): "None"}.get(type(value), repr(value))


def power(base: Any, expo: Any) -> sp.Expr:
    """``base ** expo``, refusing constant powers too large to compute."""
    base, expo = array(base), array(expo)
    if base.is_Number and expo.is_Number and expo.is_real and abs(complex(base)) not in (0, 1):
        bits = abs(float(expo)) * max(abs(math.log2(abs(complex(base)))), 1.0)
        if bits > MAX_POWER_BITS:
            raise ArgError(f"the constant {base}**{expo} is too large to compute")
    return constants.power(base, expo)


def literal_int(value: int) -> sp.Integer:
    if value.bit_length() > MAX_INT_BITS:
        raise ArgError(f"integer literal with {value.bit_length()} bits; the limit is {MAX_INT_BITS}")
    return sp.Integer(value)


# ---- elementwise -----------------------------------------------------------------
def _unary(names: str, fn: Callable[[sp.Expr], sp.Expr]) -> None:
    register(names, elementwise=True)(lambda x: fn(array(x)))


for _names, _fn in {
    "exp": sp.exp,
    "exp2": exp2,
    "expm1": expm1,
    "log": sp.log,
    "log2": log2,
    "log10": log10,
    "log1p": log1p,
    "sqrt": sp.sqrt,
    "rsqrt": lambda x: 1 / sp.sqrt(x),
    "cbrt": o.ArrayCbrt.make,
    "square": lambda x: x**2,
    "reciprocal": lambda x: 1 / x,
    "negative neg": lambda x: -x,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "arcsin asin": sp.asin,
    "arccos acos": sp.acos,
    "arctan atan": sp.atan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "arcsinh asinh": sp.asinh,
    "arccosh acosh": sp.acosh,
    "arctanh atanh": sp.atanh,
    "sigmoid expit": o.ArraySigmoid.make,
    "relu": o.ArrayRelu.make,
    "silu": lambda x: x * o.ArraySigmoid.make(x),
    "logsigmoid": lambda x: -o.ArraySoftplus.make(-x),
    "erf": sp.erf,
    "erfc": sp.erfc,
    "lgamma gammaln": sp.loggamma,
    "digamma psi": lambda x: sp.polygamma(0, x),
    "abs absolute": sp.Abs,
    "sign": sp.sign,
    "floor": sp.floor,
    "ceil": sp.ceiling,
    "round": o.ArrayRound.make,
    "real": sp.re,
    "imag": sp.im,
    "conj conjugate": sp.conjugate,
    "angle": sp.arg,
}.items():
    _unary(_names, _fn)


@register("gelu", elementwise=True)
def _gelu(x: Any, approximate: str = "none") -> sp.Expr:
    x = array(x)
    if approximate == "tanh":
        return x * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + sp.Float(0.044715) * x**3))) / 2
    if approximate != "none":
        raise ArgError("gelu(): approximate must be 'none' or 'tanh'")
    return x * (1 + sp.erf(x / sp.sqrt(2))) / 2


register("pow power", elementwise=True)(lambda x, y: power(x, y))  # x, y: torch's input=, exponent= bind
register("add", elementwise=True)(lambda x, y: array(x) + array(y))
register("subtract sub", elementwise=True)(lambda x, y: array(x) - array(y))
register("multiply mul", elementwise=True)(lambda x, y: array(x) * array(y))
register("divide div true_divide", elementwise=True)(lambda x, y: constants.divide(array(x), array(y)))
register("arctan2 atan2", elementwise=True)(lambda x, y: sp.atan2(array(x), array(y)))
register("hypot", elementwise=True)(lambda x, y: hypot(array(x), array(y)))
register("maximum", elementwise=True)(lambda x, y: o.ArrayMaximum.make(array(x), array(y)))
register("minimum", elementwise=True)(lambda x, y: o.ArrayMinimum.make(array(x), array(y)))
register("polygamma", elementwise=True)(lambda n, x: sp.polygamma(integer(n, "n"), array(x)))
register("zeros_like", elementwise=True)(lambda x: o.fresh_like(sp.S.Zero, array(x)))
register("ones_like", elementwise=True)(lambda x: o.fresh_like(sp.S.One, array(x)))


@register("clip clamp", elementwise=True)
def _clip(x: Any, lo: Any = None, hi: Any = None) -> sp.Expr:
    lo = -sp.oo if lo is None else array(lo, "lo")
    hi = sp.oo if hi is None else array(hi, "hi")
    return o.ArrayClip.make(array(x), lo, hi)


@register("where", elementwise=True, method=False)
def _where(cond: Any, x: Any, y: Any) -> sp.Expr:
    return o.ArrayWhere.make(array(cond, "condition"), array(x), array(y))


# ---- reductions --------------------------------------------------------------------
def _reduction(names: str, op: type[o.ArrayOp]) -> None:
    def reduce(x: Any, axis: Any = None, keepdims: Any = False) -> sp.Expr:
        return op.make(array(x), axis=axis_arg(axis), keepdims=flag(keepdims, "keepdims"))

    register(names)(reduce)


for _names, _op in {
    "sum": o.ArraySum,
    "mean": o.ArrayMean,
    "prod": o.ArrayProd,
    "amax": o.ArrayAmax,
    "amin": o.ArrayAmin,
    "logsumexp": o.ArrayLogsumexp,
}.items():
    _reduction(_names, _op)


def _extreme(name: str, op: type[o.ArrayOp], arg: type[o.ArrayOp], pairwise: type[o.ArrayOp]) -> None:
    """numpy's ``max(x, axis)`` is the values; torch's ``max(x, dim)`` is ``(values, indices)``,
    its values taken at the first index (torch's backward), and ``torch.max(x, y)`` is maximum."""

    def numpy(x: Any, axis: Any = None, keepdims: Any = False) -> sp.Expr:
        return op.make(array(x), axis=axis_arg(axis), keepdims=flag(keepdims, "keepdims"))

    def torch(x: Any, axis: Any = None, keepdims: Any = False) -> Any:
        x = array(x)
        if isinstance(axis, sp.Expr) and not isinstance(axis, sp.Integer):
            return pairwise.make(x, axis)
        if axis is None:
            return numpy(x, keepdims=keepdims)
        axis, keepdims = integer(axis, "dim"), flag(keepdims, "keepdim")
        index = arg.make(x, axis=axis, keepdims=True)
        values = o.ArrayTakeAlong.make(x, index, axis=axis)
        if not keepdims:
            values, index = (o.ArraySqueeze.make(a, axis=axis) for a in (values, index))
        return Fields((values, index), ("values", "indices"))

    register(name, torch=torch, readings=("the values", "(values, indices)"))(numpy)


_extreme("max", o.ArrayAmax, o.ArrayArgmax, o.ArrayMaximum)
_extreme("min", o.ArrayAmin, o.ArrayArgmin, o.ArrayMinimum)


def _variance(x: Any, axis: Any, ddof: Any, keepdims: Any) -> sp.Expr:
    x, axis = array(x), axis_arg(axis)
    spread = sp.Abs(x - o.ArrayMean.make(x, axis=axis, keepdims=True)) ** 2
    total = o.ArraySum.make(spread, axis=axis, keepdims=flag(keepdims, "keepdims"))
    return total / (o.ArraySize.make(x, axis=axis) - integer(ddof, "ddof"))


def _var(x: Any, axis: Any = None, ddof: Any = 0, keepdims: Any = False) -> sp.Expr:
    return _variance(x, axis, ddof, keepdims)


def _torch_var(x: Any, axis: Any = None, unbiased: Any = None, keepdims: Any = False, *, ddof: Any = None) -> sp.Expr:
    if unbiased is not None and ddof is not None:
        raise ArgError("var(): give unbiased= or correction=, not both", "unbiased")
    ddof = int(flag(unbiased, "unbiased")) if unbiased is not None else 1 if ddof is None else ddof
    return _variance(x, axis, ddof, keepdims)


_SPREAD = ("ddof=0 when not given", "correction=1 when not given")
register("var", torch=_torch_var, readings=_SPREAD)(_var)
register("std", torch=lambda *a, **k: sp.sqrt(_torch_var(*a, **k)), readings=_SPREAD)(
    lambda x, axis=None, ddof=0, keepdims=False: sp.sqrt(_var(x, axis, ddof, keepdims))
)


def _matrix_norm(x: Any, ord: Any = None, axis: Any = None, keepdims: Any = False) -> sp.Expr:
    """numpy's ``norm`` (and ``linalg.norm`` in both): an ``ord`` of a matrix is a matrix norm,
    which only runs on arrays of one axis (else a clear refusal)."""
    axis_ = axis_arg(axis)
    vector = ord is None or ord == "fro" or (isinstance(axis_, int))
    return _norm(x if vector else o.ArrayVectorOnly.make(array(x), ord=_plain(ord)), ord, axis, keepdims)


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, sp.Expr) and value.is_Number else value


def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: Any = False) -> sp.Expr:
    x, axis, keepdims = array(x), axis_arg(axis), flag(keepdims, "keepdims")
    if ord is None or ord == "fro" or ord == 2:
        return o.ArrayNorm.make(x, axis=axis, keepdims=keepdims)
    p = array(ord, "ord")
    if p in (sp.oo, -sp.oo):
        op = o.ArrayAmax if p == sp.oo else o.ArrayAmin
        return op.make(sp.Abs(x), axis=axis, keepdims=keepdims)
    if not p.is_Number or p == 0:
        raise ArgError(f"norm(): ord must be a nonzero number, inf, -inf or 'fro', not {ord!r}")
    total = o.ArraySum.make(sp.Abs(x) ** p, axis=axis, keepdims=keepdims)
    return total if p == 1 else total ** (1 / p)


register("vector_norm")(_norm)
register("norm", torch=_norm, readings=("a matrix norm of a matrix", "the vector norm of all entries"))(_matrix_norm)
register("linalg.norm")(_matrix_norm)


def _softmax_like(op: type[o.ArrayOp]) -> Callable:
    return lambda x, axis=-1: op.make(array(x), axis=axis_arg(axis))


register("softmax")(_softmax_like(o.ArraySoftmax))
register("log_softmax")(_softmax_like(o.ArrayLogSoftmax))
register("prod_except")(lambda x, axis=None: o.ArrayProdExcept.make(array(x), axis=axis_arg(axis)))
register("cumsum")(lambda x, axis=None: o.ArrayCumsum.make(array(x), axis=axis_arg(axis)))
register("flip")(lambda x, axis=None: o.ArrayFlip.make(array(x), axis=axis_arg(axis)))


# ---- shape -------------------------------------------------------------------------
def dynamic(values: tuple, what: str = "a shape entry") -> tuple[tuple, list[sp.Expr]]:
    """Integers, and sizes known only at run time (``x.shape[0]``) as ``Slot``s with their arguments."""
    template: list = []
    slots: list[sp.Expr] = []
    for v in values:
        if isinstance(v, sp.Expr) and not v.is_Number:
            template.append(o.Slot(len(slots)))
            slots.append(v)
        else:
            template.append(integer(v, what))
    return tuple(template), slots


def _reshape(x: Any, *dims: Any, shape: Any = None) -> sp.Expr:
    if shape is not None and dims:
        raise ArgError("give the shape once, by position or by keyword", "shape")
    values = (shape if isinstance(shape, tuple) else (shape,)) if shape is not None else dims
    if len(values) == 1 and isinstance(values[0], tuple):
        values = values[0]
    template, slots = dynamic(tuple(values))
    return o.ArrayReshape.make(array(x), *slots, shape=template)


def _flatten(x: Any, start_dim: Any = 0, end_dim: Any = -1) -> sp.Expr:
    """numpy's ``flatten()``; torch's ``flatten(start_dim, end_dim)`` joins only those axes."""
    x, start, end = array(x), integer(start_dim, "start_dim"), integer(end_dim, "end_dim")
    if (start, end) == (0, -1):
        return o.ArrayReshape.make(x, shape=(-1,))
    return o.ArrayFlatten.make(x, start_dim=start, end_dim=end)


register("reshape view")(_reshape)
register("flatten")(_flatten)
register("ravel")(lambda x: o.ArrayReshape.make(array(x), shape=(-1,)))
register("squeeze")(lambda x, axis=None: o.ArraySqueeze.make(array(x), axis=axis_arg(axis)))
register("expand_dims unsqueeze")(lambda x, axis: o.ArrayExpandDims.make(array(x), axis=axis_arg(axis)))
register("broadcast_to")(lambda x, *dims, shape=None: o.ArrayBroadcastTo.make(array(x), shape=shape_arg(dims, shape)))


def _transpose(x: Any, *dims: Any, axes: Any = None) -> sp.Expr:
    if dims == (None,):
        dims = ()
    return o.ArrayTranspose.make(array(x), axes=shape_arg(dims, axes) if dims or axes is not None else None)


def _swapaxes(x: Any, axis0: Any, axis1: Any) -> sp.Expr:
    return o.ArraySwapaxes.make(array(x), axis1=integer(axis0, "dim0"), axis2=integer(axis1, "dim1"))


register("permute")(_transpose)
register("transpose", torch=_swapaxes, readings=("a permutation of all axes", "a swap of two axes"))(_transpose)
register("swapaxes swapdims")(_swapaxes)
register("t")(lambda x: o.ArrayTranspose.make(array(x), axes=None))
register("mT")(lambda x: o.ArraySwapaxes.make(array(x), axis1=-2, axis2=-1))


def _joiner(names: str, op: type[o.ArrayOp]) -> None:
    def join(arrays: Any, axis: Any = 0) -> sp.Expr:
        if not isinstance(arrays, tuple) or not arrays:
            raise ArgError(f"{names.split()[0]}() takes a list of arrays")
        return op.make(*(array(a) for a in arrays), axis=axis_arg(axis))

    register(names, method=False)(join)


_joiner("concatenate cat", o.ArrayConcatenate)
_joiner("stack", o.ArrayStack)

# ---- linear algebra ------------------------------------------------------------------
register("matmul mm mv bmm")(lambda x, y: o.ArrayMatmul.make(array(x), array(y)))
register("dot")(lambda x, y: o.ArrayDot.make(array(x), array(y)))
register("det")(lambda x: o.ArrayDet.make(array(x)))
register("inv inverse")(lambda x: o.ArrayInv.make(array(x)))
register("solve")(lambda a, b: o.ArraySolve.make(array(a), array(b)))
register("diag")(lambda x, k=0: o.ArrayDiag.make(array(x), k=integer(k, "k")))


@register("trace")
def _trace(x: Any, offset: Any = 0, axis1: Any = 0, axis2: Any = 1) -> sp.Expr:
    return o.ArrayTrace.make(
        array(x), offset=integer(offset, "offset"), axis1=integer(axis1, "axis1"), axis2=integer(axis2, "axis2")
    )


@register("einsum", method=False)
def _einsum(subscripts: Any, *operands: Any) -> sp.Expr:
    if not isinstance(subscripts, str):
        raise ArgError("einsum() takes the subscripts string first")
    if not operands:
        raise ArgError("einsum() needs at least one operand")
    return o.ArrayEinsum.make(*(array(a) for a in operands), subscripts=subscripts)


@register("outer")
def _outer(x: Any, y: Any) -> sp.Expr:
    flat = [o.ArrayReshape.make(array(a), shape=(-1,)) for a in (x, y)]
    return o.ArrayEinsum.make(*flat, subscripts="i,j->ij")


# ---- what printed reverse-mode graphs call (--create-graph), read back ------------------
def _literal(value: Any) -> Any:
    """A parameter printed as a Python literal, with sympy's integers as ints."""
    if isinstance(value, tuple):
        return tuple(_literal(v) for v in value)
    if isinstance(value, sp.Integer):
        return int(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise ArgError(f"unexpected parameter {value!r}")


register("sum_like", method=False)(lambda g, like: o.ArraySumLike.make(array(g), array(like)))
register("reshape_like", method=False)(lambda g, like: o.ArrayReshapeLike.make(array(g), array(like)))
register("scatter_like", method=False)(
    lambda g, like, index=(): o.ArrayScatter.make(array(g), array(like), index=_literal(index))
)
register("diag_like", method=False)(lambda g, like, k=0: o.ArrayDiagLike.make(array(g), array(like), k=integer(k, "k")))


@register("trace_like", method=False)
def _trace_like(g: Any, like: Any, offset: Any = 0, axis1: Any = 0, axis2: Any = 1) -> sp.Expr:
    ints = {"offset": integer(offset, "offset"), "axis1": integer(axis1, "axis1"), "axis2": integer(axis2, "axis2")}
    return o.ArrayTraceLike.make(array(g), array(like), **ints)


@register("concat_part", method=False)
def _concat_part(g: Any, *likes: Any, axis: Any = 0, part: Any = 0) -> sp.Expr:
    return o.ArrayConcatPart.make(
        array(g), *(array(a) for a in likes), axis=integer(axis, "axis"), part=integer(part, "part")
    )


@register("contract_t", method=False)
def _contract_t(g: Any, *operands: Any, kind: Any = "matmul", part: Any = 0) -> sp.Expr:
    if not isinstance(kind, str):
        raise ArgError("contract_t(): kind is 'matmul', 'dot' or einsum subscripts")
    index = integer(part, "part")
    if not 0 <= index < len(operands):
        raise ArgError("contract_t(): part must name one of the operands")
    return o.ArrayContractT.make(array(g), *(array(a) for a in operands), kind=kind, part=index)


@register("gather_t", method=False)
def _gather_t(g: Any, like: Any, op: Any, params: Any, *indices: Any) -> sp.Expr:
    """A selection's transpose, printed with its op's class name and parameters."""
    cls = getattr(o, op, None) if isinstance(op, str) and op.startswith("Array") else None
    if not (isinstance(cls, type) and issubclass(cls, o.ArrayOp) and cls.params):
        raise ArgError("gather_t(): op names a selection (ArrayTakeAlong, ArrayTile, ...)")
    return o.ArrayGatherT.make(array(g), array(like), *(array(i) for i in indices), op=cls, params=_literal(params))


CONSTANTS: dict[str, Any] = {"pi": sp.pi, "e": sp.E, "inf": sp.oo, "nan": sp.nan, "newaxis": None}
#: attributes without a call: ``x.T``, ``z.real``
ATTRIBUTES: dict[str, Builtin] = {
    "T": FUNCTIONS["t"],
    "mT": FUNCTIONS["mT"],
    "real": FUNCTIONS["real"],
    "imag": FUNCTIONS["imag"],
}


from jvpcli.lang import nn, tensors  # noqa: E402, F401  (their registrations join FUNCTIONS)
