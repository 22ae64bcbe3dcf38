"""Array operations as sympy Functions.

An input array is one sympy symbol, so sympy's own scalar algebra (``Add``, ``Mul``,
``exp``, ...) is numpy's elementwise algebra. Everything that is not elementwise (sums
over an axis, matmul, indexing, ...) or that numpy computes better than a formula
(``sigmoid``, ``logsumexp``) is an ``ArrayOp`` here: array arguments first, then one
``Static`` atom with its parameters. Each op prints itself as numpy code
(``_numpycode``) and as FUNC text (``_funccode``); its derivative lives in ``rules.py``.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.core.basic import Atom, Basic
from sympy.core.logic import fuzzy_and


class Static(Atom):
    """A hashable Python value (axis, shape, index) kept whole inside an expression.

    It is an atom so that ``cse`` and ``xreplace`` never look inside it.
    """

    is_commutative = True

    def __new__(cls, value: Any) -> Static:
        obj = Basic.__new__(cls)
        obj._value = value
        return obj

    @property
    def value(self) -> Any:
        return self._value

    def _hashable_content(self) -> tuple:
        return (repr(self._value),)  # a string: sympy orders args by comparing these

    def __getnewargs__(self) -> tuple:
        return (self._value,)

    def _sympystr(self, printer: Any) -> str:
        return repr(self._value)


class Slot(int):
    """A place in an op's parameters filled at run time by one of its array arguments.

    ``x.view(B, T, -1)`` with ``B, T = x.shape`` keeps ``(Slot(0), Slot(1), -1)`` as its
    shape and the two sizes as arguments: the kernel is the same for every shape.
    """

    def __repr__(self) -> str:
        return f"Slot({int(self)})"


def fill_slots(value: Any, slots: list[str], wrap: str = "int") -> str:
    """``value``'s Python text with each ``Slot(k)`` replaced by ``wrap(slots[k])``."""
    if isinstance(value, Slot):
        return f"{wrap}({slots[value]})" if wrap else slots[value]
    if isinstance(value, tuple):
        inner = ", ".join(fill_slots(v, slots, wrap) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


class ArrayOp(sp.Function):
    """Base of jvpcli's array operations; subclasses set names and parameters."""

    is_commutative = True
    params: tuple[str, ...] = ()
    numpy_name = ""
    func_name = ""
    #: the result has the broadcast shape of the array arguments
    elementwise = False

    @classmethod
    def make(cls, *arrays: Any, **params: Any) -> sp.Expr:
        values = tuple(params.get(name) for name in cls.params)
        return cls(*arrays, Static(values))

    @property
    def arrays(self) -> tuple:
        return self.args[:-1]

    def param(self, name: str) -> Any:
        return self.args[-1].value[self.params.index(name)]

    def rebuild(self, *arrays: Any) -> sp.Expr:
        return self.func(*arrays, self.args[-1])

    def _param_text(self) -> list[str]:
        """Parameters that differ from numpy's default (``None`` or ``False``, for every op here)."""
        return [f"{n}={v!r}" for n, v in zip(self.params, self.args[-1].value) if v is not None and v is not False]

    def _eval_is_extended_real(self) -> bool | None:
        return fuzzy_and(a.is_extended_real for a in self.arrays)

    def _numpycode(self, printer: Any) -> str:
        parts = [printer._print(a) for a in self.arrays] + self._param_text()
        return f"{self.numpy_name}({', '.join(parts)})"

    def _funccode(self, printer: Any) -> str:
        parts = [printer._print(a) for a in self.arrays] + self._param_text()
        return f"{self.func_name}({', '.join(parts)})"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        parts = [printer._print(a) for a in self.arrays]
        params = ", ".join(p.replace("_", r"\_") for p in self._param_text())
        name = (self.func_name or type(self).__name__.removeprefix("Array").lower()).replace("_", r"\_")
        inner = ", ".join(parts) + (f"; {params}" if params else "")
        text = rf"\operatorname{{{name}}}\left({inner}\right)"
        return text if exp is None else rf"{{{text}}}^{{{exp}}}"


def _op(
    name: str, numpy_name: str, func_name: str, params: tuple[str, ...] = (), elementwise: bool = False, **extra: Any
) -> type[ArrayOp]:
    """Declare an op whose numpy and FUNC spellings are plain calls."""
    attrs = dict(
        numpy_name=numpy_name, func_name=func_name, params=params, elementwise=elementwise, __module__=__name__, **extra
    )
    metaclass: Any = type(ArrayOp)  # sympy's FunctionClass
    return metaclass(name, (ArrayOp,), attrs)


def _always_real(self: ArrayOp) -> bool:
    return True


# ---- elementwise ----------------------------------------------------------------
ArraySigmoid = _op("ArraySigmoid", "_rt.sigmoid", "sigmoid", elementwise=True)
ArraySoftplus = _op("ArraySoftplus", "_rt.softplus", "softplus", elementwise=True)
ArrayRelu = _op("ArrayRelu", "_rt.relu", "relu", elementwise=True)
ArrayCbrt = _op("ArrayCbrt", "numpy.cbrt", "cbrt", elementwise=True)
ArrayRound = _op("ArrayRound", "numpy.round", "round", elementwise=True)
ArrayMaximum = _op("ArrayMaximum", "numpy.maximum", "maximum", elementwise=True)
ArrayMinimum = _op("ArrayMinimum", "numpy.minimum", "minimum", elementwise=True)
ArrayClip = _op("ArrayClip", "numpy.clip", "clip", elementwise=True)
ArrayLogaddexp = _op("ArrayLogaddexp", "numpy.logaddexp", "logaddexp", elementwise=True)


class ArrayCast(ArrayOp):
    """x in another floating dtype (torch's ``x.float()``, ``x.double()``): its numbers rounded."""

    params, func_name, elementwise = ("dtype",), "astype", True

    def _numpycode(self, printer: Any) -> str:
        x = printer._print(self.arrays[0])
        x = x[1:-1] if isinstance(self.arrays[0], (ArrayCompare, ArrayLogic)) else x  # no ((a > b))
        return f"numpy.asarray({x}).astype(numpy.{self.param('dtype')})"

    def _funccode(self, printer: Any) -> str:
        return f"astype({printer._print(self.arrays[0])}, {self.param('dtype')!r})"


class ArrayDetach(ArrayOp):
    """x, through which no derivative flows (torch's ``x.detach()``)."""

    func_name, elementwise = "detach", True

    def _numpycode(self, printer: Any) -> str:
        return printer._print(self.arrays[0])


class ArrayWhere(ArrayOp):
    numpy_name, func_name, elementwise = "numpy.where", "where", True

    def _eval_is_extended_real(self) -> bool | None:
        return fuzzy_and(a.is_extended_real for a in self.arrays[1:])


class ArrayCompare(ArrayOp):
    """``a OP b`` as a boolean array; only ``where`` and ``&``/``|``/``~`` consume it."""

    params, elementwise = ("op",), True
    _eval_is_extended_real = _always_real

    def _numpycode(self, printer: Any) -> str:
        a, b = (printer._print(x) for x in self.arrays)
        return f"({a} {self.param('op')} {b})"

    _funccode = _numpycode


class ArrayLogic(ArrayOp):
    """``&``, ``|`` of conditions, and ``~`` (one argument)."""

    params, elementwise = ("op",), True
    _eval_is_extended_real = _always_real

    def _numpycode(self, printer: Any) -> str:
        parts = [printer._print(x) for x in self.arrays]
        if len(parts) == 1:
            return f"(~{parts[0]})"
        return "(" + f" {self.param('op')} ".join(parts) + ")"

    _funccode = _numpycode


class ArrayLike(ArrayOp):
    """``value`` broadcast to the shape it would have next to ``likes``.

    Keeps a shape that sympy's cancellation dropped (``x - x`` is ``0``, but an
    array of zeros shaped like ``x``).
    """

    numpy_name, elementwise = "_rt.broadcast_like", True

    def _eval_is_extended_real(self) -> bool | None:
        return self.arrays[0].is_extended_real

    def _funccode(self, printer: Any) -> str:
        value, *likes = self.arrays
        terms = [printer._print(value)] + [f"zeros_like({printer._print(x)})" for x in likes]
        return "(" + " + ".join(terms) + ")"


def fresh_like(value: Any, like: Any) -> sp.Expr:
    """``value`` shaped like ``like``, made afresh (``zeros_like``, ``full_like``, ``expand_as``'s
    template): ``like`` lends its shape only, so torch's graph does not connect it (``detach``);
    a bare ``ArrayLike`` is a cancellation (``x - x``), which torch's graph keeps."""
    return ArrayLike.make(value, ArrayDetach.make(like))


# ---- reductions ------------------------------------------------------------------
_AXIS = ("axis", "keepdims")


def _sum_numpycode(self: ArrayOp, printer: Any) -> str:
    """A sum or mean as ``_rt.sum_of``; of a product, with its two sides apart: no array of
    the products.

    Both sides have a factor that is not a divisor: ``a*(1/b)`` would round twice where
    ``a/b`` rounds once.
    """
    (x,) = self.arrays
    args = x.args if isinstance(x, sp.Mul) else ()
    factors = [f for f in args if not f.is_number and not (f.is_Pow and f.exp.is_negative)]
    if len(factors) < 2:
        parts = [printer._print(x)]
    else:
        right = factors[-1]
        parts = [printer._print(sp.Mul(*(f for f in args if f is not right))), printer._print(right)]
    parts += self._param_text() + (["mean=True"] if self.func_name == "mean" else [])
    return f"{self.numpy_name}({', '.join(parts)})"


ArraySum = _op("ArraySum", "_rt.sum_of", "sum", _AXIS, _numpycode=_sum_numpycode)
ArrayMean = _op("ArrayMean", "_rt.sum_of", "mean", _AXIS, _numpycode=_sum_numpycode)
ArrayProd = _op("ArrayProd", "numpy.prod", "prod", _AXIS)
ArrayProdExcept = _op("ArrayProdExcept", "_rt.prod_except", "prod_except", ("axis",))
ArrayAmax = _op("ArrayAmax", "numpy.amax", "amax", _AXIS)
ArrayAmin = _op("ArrayAmin", "numpy.amin", "amin", _AXIS)
ArrayLogsumexp = _op("ArrayLogsumexp", "_rt.logsumexp", "logsumexp", _AXIS)
ArrayNorm = _op("ArrayNorm", "numpy.linalg.norm", "norm", _AXIS, _eval_is_extended_real=_always_real)
ArraySize = _op("ArraySize", "_rt.size", "size", ("axis",), _eval_is_extended_real=_always_real)
ArraySoftmax = _op("ArraySoftmax", "_rt.softmax", "softmax", ("axis",))
ArrayLogSoftmax = _op("ArrayLogSoftmax", "_rt.log_softmax", "log_softmax", ("axis",))

# ---- shape -----------------------------------------------------------------------
ArrayCumsum = _op("ArrayCumsum", "numpy.cumsum", "cumsum", ("axis",))
ArrayFlip = _op("ArrayFlip", "numpy.flip", "flip", ("axis",))


class ArrayReshape(ArrayOp):
    """``reshape(x, shape)``; entries of ``shape`` may be ``Slot``s: sizes known at run time."""

    params = ("shape",)

    def _text(self, printer: Any, name: str, wrap: str) -> str:
        x, *dims = (printer._print(a) for a in self.arrays)
        return f"{name}({x}, {fill_slots(self.param('shape'), dims, wrap)})"

    def _numpycode(self, printer: Any) -> str:
        return self._text(printer, "numpy.reshape", "int")

    def _funccode(self, printer: Any) -> str:
        return self._text(printer, "reshape", "")


#: torch's ``flatten(start_dim, end_dim)``: those axes joined into one
ArrayFlatten = _op("ArrayFlatten", "_rt.flatten", "flatten", ("start_dim", "end_dim"))
ArraySqueeze = _op("ArraySqueeze", "numpy.squeeze", "squeeze", ("axis",))
ArrayExpandDims = _op("ArrayExpandDims", "numpy.expand_dims", "expand_dims", ("axis",))
ArrayTranspose = _op("ArrayTranspose", "numpy.transpose", "transpose", ("axes",))
ArrayBroadcastTo = _op("ArrayBroadcastTo", "numpy.broadcast_to", "broadcast_to", ("shape",))
ArrayTrace = _op("ArrayTrace", "numpy.trace", "trace", ("offset", "axis1", "axis2"))
ArrayDiag = _op("ArrayDiag", "numpy.diag", "diag", ("k",))
ArrayDiagonal = _op("ArrayDiagonal", "numpy.diagonal", "diagonal", ("offset", "axis1", "axis2"))
ArrayTril = _op("ArrayTril", "numpy.tril", "tril", ("k",))
ArrayTriu = _op("ArrayTriu", "numpy.triu", "triu", ("k",))
ArraySwapaxes = _op(
    "ArraySwapaxes",
    "numpy.swapaxes",
    "swapaxes",
    ("axis1", "axis2"),
    _funccode=lambda self, p: f"swapaxes({p._print(self.arrays[0])}, {self.param('axis1')}, {self.param('axis2')})",
)
ArrayTile = _op("ArrayTile", "numpy.tile", "tile", ("reps",))
ArrayRepeat = _op("ArrayRepeat", "numpy.repeat", "repeat", ("repeats", "axis"))
ArrayRoll = _op("ArrayRoll", "numpy.roll", "roll", ("shift", "axis"))
#: axis 1 (torch's class axis) moved last when there are axes after it; ``inverse`` moves it back
ArrayClassLast = _op("ArrayClassLast", "_rt.class_last", "class_last", ("inverse",))
#: piece ``index`` of x cut along ``axis`` (torch's chunk, split, unbind); ``count``: how many there must be
ArrayPiece = _op("ArrayPiece", "_rt.piece", "piece", ("kind", "arg", "axis", "index", "count"))
#: x unchanged where it has one or no axes: numpy's ``norm(x, ord)`` of a matrix is a matrix norm
ArrayVectorOnly = _op("ArrayVectorOnly", "_rt.vector_only", "vector_only", ("ord",))
#: numpy's ``take_along_axis`` (torch's gather): linear in x, the indices are constants
ArrayTakeAlong = _op("ArrayTakeAlong", "_rt.take_along", "take_along", ("axis",))


def _index_text(index: tuple, slots: list[str], numpy: bool) -> str:
    def bound(v: Any) -> str:
        if isinstance(v, Slot):
            return f"int({slots[v]})" if numpy else slots[v]
        return "" if v is None else str(v)

    def one(item: Any) -> str:
        if item == "...":
            return "..."
        if isinstance(item, tuple):  # ("slice", start, stop, step)
            start, stop, step = (bound(v) for v in item[1:])
            return f"{start}:{stop}" + (f":{step}" if step else "")
        if isinstance(item, Slot):  # an array of indices or a mask, or a size known at run time
            return f"_rt.ix({slots[item]})" if numpy else slots[item]
        return repr(item)

    return ", ".join(one(i) for i in index) if index else "()"


class ArrayIndex(ArrayOp):
    """Indexing: ints, slices (as ``("slice", start, stop, step)``), ``...``, ``None``, and
    ``Slot``s: arrays of indices, masks, or sizes known at run time (the other arguments)."""

    params = ("index",)

    def _text(self, printer: Any, numpy: bool) -> str:
        x, *slots = (printer._print(a) for a in self.arrays)
        # a mask prints in parentheses of its own: _rt.ix(a > 0), not _rt.ix((a > 0))
        slots = [s[1:-1] if isinstance(a, (ArrayCompare, ArrayLogic)) else s for s, a in zip(slots, self.arrays[1:])]
        return f"({x})[{_index_text(self.param('index'), slots, numpy)}]"

    def _numpycode(self, printer: Any) -> str:
        return self._text(printer, True)

    def _funccode(self, printer: Any) -> str:
        return self._text(printer, False)


class ArrayConcatenate(ArrayOp):
    params, numpy_name, func_name = ("axis",), "numpy.concatenate", "concatenate"

    def _call(self, printer: Any, name: str) -> str:
        items = ", ".join(printer._print(a) for a in self.arrays)
        return f"{name}(({items},), axis={self.param('axis')!r})"

    def _numpycode(self, printer: Any) -> str:
        return self._call(printer, self.numpy_name)

    def _funccode(self, printer: Any) -> str:
        return self._call(printer, self.func_name)


class ArrayStack(ArrayConcatenate):
    numpy_name, func_name = "numpy.stack", "stack"


# ---- constants and indices: no derivative --------------------------------------------
ArrayArgmax = _op("ArrayArgmax", "numpy.argmax", "argmax", _AXIS, _eval_is_extended_real=_always_real)
ArrayArgmin = _op("ArrayArgmin", "numpy.argmin", "argmin", _AXIS, _eval_is_extended_real=_always_real)
ArrayArgsort = _op(
    "ArrayArgsort", "_rt.argsort", "argsort", ("axis", "descending"), _eval_is_extended_real=_always_real
)
ArrayNdim = _op("ArrayNdim", "numpy.ndim", "ndim", _eval_is_extended_real=_always_real)
#: the targets of a classification loss, one row per sample along the last axis: one-hot rows
#: of class indices, or probability targets (the shape of x) with axis 1 moved last
ArrayClassTargets = _op(
    "ArrayClassTargets", "_rt.class_targets", "class_targets", ("ignore_index", "smoothing", "tangent")
)
#: what a classification loss's mean divides by: the weight of the counted samples
ArrayClassCount = _op("ArrayClassCount", "_rt.class_count", "class_count", ("ignore_index",))


class ArrayConstant(ArrayOp):
    """A literal array (``torch.tensor([1.0, 2.0])``), in the dtype its library gives it."""

    params = ("value", "dtype")

    def _eval_is_extended_real(self) -> bool | None:
        return not any(isinstance(v, complex) for v in _flat(self.param("value")))

    def _numpycode(self, printer: Any) -> str:
        return f"numpy.array({self.param('value')!r}, dtype=numpy.{self.param('dtype')})"

    def _funccode(self, printer: Any) -> str:
        return f"array({self.param('value')!r}, dtype={self.param('dtype')!r})"


def _flat(value: Any) -> list:
    return [w for v in value for w in _flat(v)] if isinstance(value, tuple) else [value]


class ArrayFull(ArrayOp):
    """``full(shape, value)`` (``ones``, ``zeros``); shape entries may be run-time ``Slot``s."""

    params = ("shape", "value", "dtype")
    _eval_is_extended_real = _always_real

    def _numpycode(self, printer: Any) -> str:
        slots = [printer._print(a) for a in self.arrays]
        shape, value, dtype = (self.param(p) for p in self.params)
        return f"numpy.full({fill_slots(shape, slots)}, {value!r}, dtype=numpy.{dtype})"

    def _funccode(self, printer: Any) -> str:
        slots = [printer._print(a) for a in self.arrays]
        shape, value, dtype = (self.param(p) for p in self.params)
        return f"full({fill_slots(shape, slots, '')}, {value!r}, dtype={dtype!r})"


class ArrayArange(ArrayOp):
    """``arange(start, stop, step)``; bounds may be run-time ``Slot``s (``arange(len(y))``)."""

    params = ("start", "stop", "step", "dtype")
    _eval_is_extended_real = _always_real

    def _text(self, printer: Any, name: str, wrap: str, dtype: str) -> str:
        slots = [printer._print(a) for a in self.arrays]
        bounds = ", ".join(fill_slots(self.param(p), slots, wrap) for p in ("start", "stop", "step"))
        return f"{name}({bounds}, dtype={dtype})"

    def _numpycode(self, printer: Any) -> str:
        return self._text(printer, "numpy.arange", "int", f"numpy.{self.param('dtype')}")

    def _funccode(self, printer: Any) -> str:
        return self._text(printer, "arange", "", repr(self.param("dtype")))


# ---- linear algebra ----------------------------------------------------------------
class ArrayMatmul(ArrayOp):
    numpy_name = "numpy.matmul"

    def _funccode(self, printer: Any) -> str:
        from sympy.printing.precedence import PRECEDENCE

        # '@' binds like '*': a sum or a product on its right needs parentheses (a @ (x/2 + y))
        a, b = self.arrays
        left = printer.parenthesize(a, PRECEDENCE["Mul"], strict=False)
        return f"({left} @ {printer.parenthesize(b, PRECEDENCE['Mul'], strict=True)})"


ArrayDot = _op("ArrayDot", "numpy.dot", "dot")
#: a constant identity matrix (``A + 3 * eye(3)``): no array arguments, derivative 0
ArrayEye = _op("ArrayEye", "numpy.eye", "eye", ("N", "M", "dtype"), _eval_is_extended_real=_always_real)
ArrayDet = _op("ArrayDet", "numpy.linalg.det", "det")
ArrayInv = _op("ArrayInv", "numpy.linalg.inv", "inv")
ArraySolve = _op("ArraySolve", "numpy.linalg.solve", "solve")
ArrayInner = _op("ArrayInner", "numpy.inner", "inner")
ArrayCholesky = _op("ArrayCholesky", "numpy.linalg.cholesky", "cholesky")
ArrayCross = _op("ArrayCross", "_rt.cross", "cross", ("axis",))


class ArrayEinsum(ArrayOp):
    params = ("subscripts",)

    def _call(self, printer: Any, name: str, extra: str) -> str:
        parts = [repr(self.param("subscripts"))] + [printer._print(a) for a in self.arrays]
        return f"{name}({', '.join(parts)}{extra})"

    def _numpycode(self, printer: Any) -> str:
        return self._call(printer, "numpy.einsum", ", optimize=True")

    def _funccode(self, printer: Any) -> str:
        return self._call(printer, "einsum", "")


class ArrayNamed(ArrayOp):
    """The value of one statement of a def, seen by sympy as one node: a named intermediate.

    A def that reuses a name (``h = sin(h)*h + h**2``) builds a graph that stays small but a
    tree that triples with every line, and sympy's constructors walk trees: their assumption
    queries read ``free_symbols`` and ``is_polynomial``, which are not cached. Behind this node
    every such walk stops: its free symbols are computed once, over the graph, and it claims
    nothing but whether it is real. It is the identity: printed as its value, linear for the
    rules, elementwise for shapes.
    """

    elementwise = True

    @property
    def free_symbols(self) -> set[sp.Basic]:
        cached = getattr(self, "_free", None)
        if cached is None:
            from jvpcli.symbolic.dag import free_symbols

            cached = self._free = free_symbols(self.arrays)
        return cached

    def _eval_is_extended_real(self) -> bool | None:
        return self.arrays[0].is_extended_real

    def _numpycode(self, printer: Any) -> str:
        return f"({printer._print(self.arrays[0])})"

    def _funccode(self, printer: Any) -> str:
        return f"({printer._print(self.arrays[0])})"


# ---- transposes ---------------------------------------------------------------------
# What the transposes of linear ops (``rules.py``) are written in. Each is linear in its
# first argument; the arguments after it are *witnesses*: arrays whose shape (never their
# values) the result takes, so no shape has to be known before the arrays are.
class ArrayTransposeOp(ArrayOp):
    """A transpose's op: linear in ``arrays[0]``, shaped by the witnesses after it."""

    #: how many arguments after the first carry values (a contraction's other operands)
    operands = 0

    def _eval_is_extended_real(self) -> bool | None:
        return fuzzy_and(a.is_extended_real for a in self.arrays[: 1 + self.operands])


def _transpose_op(name: str, numpy_name: str, func_name: str, params: tuple[str, ...] = ()) -> type[ArrayOp]:
    attrs = dict(numpy_name=numpy_name, func_name=func_name, params=params, __module__=__name__)
    metaclass: Any = type(ArrayOp)
    return metaclass(name, (ArrayTransposeOp,), attrs)


#: ``g`` summed down to the shape of ``like`` (un-broadcasting)
ArraySumLike = _transpose_op("ArraySumLike", "_rt.sum_like", "sum_like")
ArrayReshapeLike = _transpose_op("ArrayReshapeLike", "_rt.reshape_like", "reshape_like")
#: zeros shaped like ``like`` with ``g`` at ``index`` (the transpose of indexing)
ArrayScatter = _transpose_op("ArrayScatter", "_rt.scatter_like", "scatter_like", ("index",))
#: the part ``part`` of ``g`` along ``axis``, the parts shaped like the witnesses
ArrayConcatPart = _transpose_op("ArrayConcatPart", "_rt.concat_part", "concat_part", ("axis", "part"))
#: zeros shaped like ``like`` with ``g`` along the diagonal a trace sums
ArrayTraceLike = _transpose_op("ArrayTraceLike", "_rt.trace_like", "trace_like", ("offset", "axis1", "axis2"))
#: ``diag``'s transpose: the diagonal of a matrix, or a matrix shaped like ``like`` with ``g`` on it
ArrayDiagLike = _transpose_op("ArrayDiagLike", "_rt.diag_like", "diag_like", ("k",))


class ArrayContractT(ArrayTransposeOp):
    """The adjoint of a contraction (matmul, dot, einsum) in operand ``part``:
    ``contract_t(g, a, b, ...)`` with that operand a witness and the others conjugated."""

    params, numpy_name, func_name = ("kind", "part"), "_rt.contract_t", "contract_t"

    @property
    def operands(self) -> int:  # type: ignore[override]
        return len(self.arrays) - 1


def op_lambda(printer: Any, op: type[ArrayOp], params: tuple, arrays: int) -> str:
    """``lambda _b0, _b1, ...: OP(_b0, _b1, ...)``: an op as a function of its arrays, for a
    helper that applies it to arrays of its own (slices of a batch, positions)."""
    names = [f"_b{i}" for i in range(arrays)]
    return f"lambda {', '.join(names)}: {printer._print(op(*map(sp.Symbol, names), Static(params)))}"


class ArrayGatherT(ArrayTransposeOp):
    """The transpose of a *selection* (each element of its result is one element of x:
    take_along, tile, repeat, a piece, advanced indexing): ``g`` added at the positions of
    ``like`` it was taken from. ``gather_t(g, like, *indices)`` with the op and its
    parameters kept; the positions are the op applied to the positions themselves."""

    params, numpy_name, func_name = ("op", "params"), "_rt.gather_t", "gather_t"

    def _text(self, printer: Any, name: str, op: str) -> str:
        g, like, *rest = (printer._print(a) for a in self.arrays)
        return f"{name}({', '.join([g, like, op, *rest])})"

    def _numpycode(self, printer: Any) -> str:
        op = op_lambda(printer, self.param("op"), self.param("params"), 1 + len(self.arrays) - 2)
        return self._text(printer, self.numpy_name, op)

    def _funccode(self, printer: Any) -> str:
        return self._text(printer, self.func_name, f"{self.param('op').__name__!r}, {self.param('params')!r}")


def value_args(node: Basic) -> tuple:
    """The arguments whose values (not only shapes or truth) ``node``'s value depends on."""
    if isinstance(node, ArrayContractT):
        part = 1 + node.param("part")
        return node.args[:part] + node.args[part + 1 : -1]
    if isinstance(node, (ArrayLike, ArrayTransposeOp)):
        return node.args[:1]
    if isinstance(node, (ArrayCompare, ArrayLogic, ArraySize)):
        return ()
    if isinstance(node, ArrayWhere):
        return node.args[1:3]
    return node.args


def all_ops() -> list[type[ArrayOp]]:
    """Every concrete op class, for completeness tests."""
    found, todo = [], list(ArrayOp.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls is not ArrayTransposeOp:  # abstract
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found
