"""The one table of derivative rules: one entry per operation, both directions.

An entry is its op's forward (JVP) rule, or an ``Entry`` record of the JVP rule and, for
an op that is linear in some argument, its *transpose*. Reverse mode (``reverse.py``)
linearizes with the JVP rules and transposes the linear expression they give, so only
linear operations need a transpose, and the VJP is exactly the adjoint of the JVP.

A JVP rule gets the node, the tangents of its arguments (``0`` where an argument has
none) and ``shaped(t, arg)``, which gives a tangent exactly its argument's shape before it
enters an op that is not elementwise. Linear ops say so (``linear``), products say
``multilinear``; everything else writes its derivative out. Values where a derivative
does not exist follow torch: relu'(0) = abs'(0) = 0, ties of maximum/minimum split the
tangent, ties of amax/amin share it evenly, clip passes it at a bound.

A transpose gets the node, the cotangent of its result, which arguments are linear
(carry a tangent), and a ``Context`` that gives an argument's shape witness and fits a
cotangent to an argument's shape; it returns one cotangent (or ``None``) per argument.
For complex numbers it is the adjoint under ``Re <u, y>``: a factor ``c`` transposes to
``conj(c)``, so a holomorphic f gives torch's ``conj(f'(z)) * u``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce
from typing import NamedTuple, Protocol

import sympy as sp
from sympy.codegen.cfunctions import exp2, expm1, hypot, log1p, log2, log10

from jvpcli.symbolic import batch_rules as b
from jvpcli.symbolic import ops as o
from jvpcli.symbolic.batch_rules import BatchRule

Shaped = Callable[[sp.Expr, sp.Expr], sp.Expr]
Rule = Callable[[sp.Expr, Sequence[sp.Expr], Shaped], sp.Expr]


class Context(Protocol):
    def like(self, arg: sp.Expr) -> sp.Expr:
        """An expression with ``arg``'s shape (a witness), cheap to evaluate."""

    def fit(self, ct: sp.Expr, arg: sp.Expr, node: sp.Expr) -> sp.Expr:
        """``ct`` (shaped like ``node``) summed down to ``arg``'s shape where they differ."""

    def conj(self, coefficient: sp.Expr) -> sp.Expr:
        """The complex conjugate (nothing to do when every number is real)."""


Cotangents = Sequence[sp.Expr | None]
Transpose = Callable[[sp.Expr, sp.Expr, Sequence[bool], Context], Cotangents]


class Entry(NamedTuple):
    """One operation's rules and facts: its JVP; for an op linear in some argument, its
    transpose; and what other modules need to know of it (completeness tests check each)."""

    jvp: Rule
    transpose: Transpose | None = None
    #: reduces, scans or flips along its ``axis`` and treats every other axis alike
    by_axis: bool = False
    #: the numpy function it prints as takes ``out=``: blocked results are written in place
    takes_out: bool = False
    #: its name in FUNC's language, where that is not sympy's (``Abs`` is ``abs``)
    func_name: str | None = None
    #: over axis 0 (or every axis), how its results on blocks of rows make the whole one:
    #: "sum" (added up) or "mean" (added up, each weighted by its rows); None: they do not
    over_rows: str | None = None
    #: how an op that is not elementwise acts on a batch (``batch_rules.py``); elementwise
    #: ops need none: their batched operands are lifted to the others' rank
    batch: BatchRule | None = None
    #: what torch's autograd graph makes of it (one of ``TORCH_KINDS``), which is what
    #: ``strict`` follows (``symbolic/connect.py``); None: read from the JVP rule
    torch: str | None = None


#: how torch's backward of an op connects its gradients: "cut", no gradient flows (integer
#: or boolean results, detach); "flat", a gradient of zeros made afresh, connected to nothing
#: (floor, round); "linear", the cotangent moved, masked or summed (add, sum, where, clip);
#: "product", the cotangent times the other arguments (mul, matmul); "sign", the cotangent
#: times a piecewise-constant function of the arguments (relu, abs); "smooth", the cotangent
#: times a function of every argument
TORCH_KINDS = ("cut", "flat", "linear", "product", "sign", "smooth")


def entries() -> dict[type, Entry]:
    """The table with every entry a record (an entry may be a bare JVP rule) and its ``torch``
    kind filled in."""
    out = {}
    for op, e in RULES.items():
        entry = e if isinstance(e, Entry) else Entry(e)
        out[op] = entry if entry.torch is not None else entry._replace(torch=_torch_kind(entry.jvp))
    return out


def _torch_kind(jvp: Rule) -> str:
    """The kind an entry's JVP rule implies: a rule that is zero drops the gradient, a linear
    one moves the cotangent, a multilinear one multiplies it by the other arguments."""
    if jvp is zero:
        return "cut"
    if jvp in (linear, first_linear, _add, _like, _where_rule):
        return "linear"
    if jvp in (multilinear, _mul, _contract_t_jvp):
        return "product"
    return "smooth"


def _where(cond: sp.Expr, a: sp.Expr, b: sp.Expr) -> sp.Expr:
    return o.ArrayWhere.make(cond, a, b)


def _cmp(a: sp.Expr, op: str, b: sp.Expr) -> sp.Expr:
    return o.ArrayCompare.make(a, b, op=op)


def _sum(x: sp.Expr, axis: object, keepdims: bool) -> sp.Expr:
    return o.ArraySum.make(x, axis=axis, keepdims=keepdims)


def unary(derivative: Callable[[sp.Expr], sp.Expr]) -> Rule:
    """Elementwise f(x): f'(x) * dx (holomorphic f: also right for complex x)."""
    return lambda node, d, shaped: derivative(node.args[0]) * d[0]


def zero(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    """Piecewise constant (floor, sign, comparisons): derivative 0 where it exists."""
    return sp.S.Zero


def linear(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    """A linear op's tangent is the op applied to the tangents."""
    return node.rebuild(*(shaped(t, a) for t, a in zip(d, node.arrays)))


def multilinear(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    """Linear in each array argument: one term per argument that has a tangent."""
    args = list(node.arrays)
    terms = [
        node.rebuild(*args[:i], shaped(t, args[i]), *args[i + 1 :]) for i, t in enumerate(d[: len(args)]) if t != 0
    ]
    return sp.Add(*terms)


def first_linear(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    """Linear in its first argument; the others (indices, run-time sizes, a transpose's shape
    witnesses) are constants."""
    return node.rebuild(shaped(d[0], node.arrays[0]), *node.arrays[1:]) if d[0] != 0 else sp.S.Zero


def _add(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    return sp.Add(*d)


def _mul(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    args = node.args
    return sp.Add(*(t * sp.Mul(*args[:i], *args[i + 1 :]) for i, t in enumerate(d) if t != 0))


def _pow(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    (base, expo), (dbase, dexpo) = node.args, d
    out = expo * base ** (expo - 1) * dbase if dbase != 0 else sp.S.Zero
    return out + node * sp.log(base) * dexpo if dexpo != 0 else out


def _abs(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    x, dx = node.args[0], d[0]
    if x.is_extended_real:
        return sp.sign(x) * dx
    return _where(_cmp(x, "==", 0), 0, sp.re(sp.conjugate(x) * dx) / node)


def _sign(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    """0 for real x; for complex z, sgn(z) = z/|z| moves with the part of dz across the ray."""
    x, dx = node.args[0], d[0]
    if x.is_extended_real:
        return sp.S.Zero
    return _where(_cmp(x, "==", 0), 0, (dx - node * sp.re(sp.conjugate(node) * dx)) / sp.Abs(x))


def _angle(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    x, dx = node.args[0], d[0]
    return _where(_cmp(x, "==", 0), 0, sp.im(sp.conjugate(x) * dx) / sp.Abs(x) ** 2)


def _atan2(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    (y, x), (dy, dx) = node.args, d
    return (x * dy - y * dx) / (x**2 + y**2)


def _hypot(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    (a, b), (da, db) = node.args, d
    return (a * da + b * db) / node


def _polygamma(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    n, x = node.args
    return sp.polygamma(n + 1, x) * d[1]


def _maximum(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    (a, b, _), (da, db, _) = node.args, d
    return _where(_cmp(a, ">", b), da, _where(_cmp(a, "<", b), db, (da + db) / 2))


def _minimum(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    (a, b, _), (da, db, _) = node.args, d
    return _where(_cmp(a, "<", b), da, _where(_cmp(a, ">", b), db, (da + db) / 2))


def _clip(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    (x, lo, hi, _), (dx, dlo, dhi, _) = node.args, d
    # numpy and torch apply the upper bound last: with lo > hi every value is hi
    above = _cmp(x, ">", hi)
    if not (lo.is_number and hi.is_number and bool(lo <= hi)):
        above = o.ArrayLogic.make(above, _cmp(lo, ">", hi), op="|")
    return _where(above, dhi, _where(_cmp(x, "<", lo), dlo, dx))


def _where_rule(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    return _where(node.arrays[0], d[1], d[2])


def _like(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    return node.rebuild(d[0], *node.arrays[1:])


def _re(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    return sp.re(d[0])


def _im(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    return sp.im(d[0])


def _conj(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    return sp.conjugate(d[0])


def _logaddexp(node: sp.Expr, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    (a, b, _), (da, db, _) = node.args, d
    return o.ArraySigmoid.make(a - b) * da + o.ArraySigmoid.make(b - a) * db


def _class_targets(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    """Probability targets move with their tangent; class indices do not."""
    target, x = node.arrays
    if d[0] == 0:
        return sp.S.Zero
    ignore, smoothing = node.param("ignore_index"), node.param("smoothing")
    return o.ArrayClassTargets.make(shaped(d[0], target), x, ignore_index=ignore, smoothing=smoothing, tangent=True)


def _sigmoid(x: sp.Expr) -> sp.Expr:
    s = o.ArraySigmoid.make(x)
    return s * (1 - s)


def weighted_sum(weights: Callable[[sp.Expr, object], sp.Expr]) -> Rule:
    """A reduction whose tangent is ``sum(weights(x) * dx)`` over its axes."""

    def rule(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
        x, axis = node.arrays[0], node.param("axis")
        return _sum(weights(x, axis) * shaped(d[0], x), axis, node.param("keepdims"))

    return rule


def _prod_except(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    # Second order only; exact away from zeros, where torch's double-backward is too.
    x, axis = node.arrays[0], node.param("axis")
    ratio = shaped(d[0], x) / x
    return node * (_sum(ratio, axis, True) - ratio)


def _extreme(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    x, axis, keepdims = node.arrays[0], node.param("axis"), node.param("keepdims")
    mask = _cmp(x, "==", node.func.make(x, axis=axis, keepdims=True))
    ties = _sum(_where(mask, 1, 0), axis, keepdims)
    return _sum(_where(mask, shaped(d[0], x), 0), axis, keepdims) / ties


def _softmax(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    x, axis = node.arrays[0], node.param("axis")
    dx = shaped(d[0], x)
    return node * (dx - _sum(node * dx, axis, True))


def _log_softmax(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    x, axis = node.arrays[0], node.param("axis")
    dx = shaped(d[0], x)
    return dx - _sum(o.ArraySoftmax.make(x, axis=axis) * dx, axis, True)


def _norm(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    x, axis, keepdims = node.arrays[0], node.param("axis"), node.param("keepdims")
    inner = sp.re(sp.conjugate(x) * shaped(d[0], x))
    # torch's 0 where the norm is 0 (x is 0 there, so the sum is too), by a safe divisor: a
    # where around the quotient would transpose to 0 * (x / 0), NaN, in reverse mode
    return _sum(inner, axis, keepdims) / _where(_cmp(node, "==", 0), 1, node)


def _matmul(*factors: sp.Expr) -> sp.Expr:
    return reduce(lambda a, b: o.ArrayMatmul.make(a, b), factors)


def _det(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    a = node.arrays[0]
    step = o.ArraySolve.make(a, shaped(d[0], a))
    return node * o.ArrayTrace.make(step, offset=0, axis1=-2, axis2=-1)


def _inv(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    return -_matmul(node, shaped(d[0], node.arrays[0]), node)


def _swap(x: sp.Expr) -> sp.Expr:
    return o.ArraySwapaxes.make(x, axis1=-2, axis2=-1)


def _cholesky(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    """torch's rule on the symmetric part of dA: dL = L tril(phi) with half its diagonal,
    phi = L^-1 dA L^-H (the lower triangle is all that cholesky reads of A)."""
    a, low = node.arrays[0], node
    da = shaped(d[0], a)
    half = o.ArraySolve.make(low, (da + sp.conjugate(_swap(da))) / 2)
    phi = sp.conjugate(_swap(o.ArraySolve.make(low, sp.conjugate(_swap(half)))))
    return _matmul(low, (o.ArrayTril.make(phi, k=0) + o.ArrayTril.make(phi, k=-1)) / 2)


def _solve(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    (a, b), (da, db) = node.arrays, d[:2]
    rhs = shaped(db, b) if db != 0 else sp.S.Zero
    if da != 0:
        rhs = rhs - _matmul(shaped(da, a), node)
    return o.ArraySolve.make(a, rhs)


def _contract_t_jvp(node: o.ArrayOp, d: Sequence[sp.Expr], shaped: Shaped) -> sp.Expr:
    """``contract_t`` is linear in the cotangent and in each operand but the witness."""
    args, witness = list(node.arrays), 1 + node.param("part")
    return sp.Add(
        *(
            node.rebuild(*args[:i], shaped(t, args[i]), *args[i + 1 :])
            for i, t in enumerate(d[: len(args)])
            if t != 0 and i != witness
        )
    )


# ---- transposes ----------------------------------------------------------------------
def _t_add(node: sp.Expr, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    return [c.fit(ct, a, node) if linear else None for a, linear in zip(node.args, lin)]


class NonLinearError(ValueError):
    """A product of two tangents: the expression being transposed is not linear."""


def _t_mul(node: sp.Expr, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    if sum(lin) != 1:
        raise NonLinearError(f"{node} is not linear in one factor")
    i = list(lin).index(True)
    factor = sp.Mul(*(a for j, a in enumerate(node.args) if j != i))
    return [c.fit(c.conj(factor) * ct, node.args[i], node) if j == i else None for j in range(len(node.args))]


def _t_where(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    cond, a, b = node.arrays
    return [
        None,
        c.fit(_where(cond, ct, 0), a, node) if lin[1] else None,
        c.fit(_where(cond, 0, ct), b, node) if lin[2] else None,
        None,
    ]


def _t_like(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    return [c.fit(ct, node.arrays[0], node), *([None] * (len(node.args) - 1))]


def _t_sum(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    """Sums broadcast back; numpy's expand_dims counts negative axes in the result, as here."""
    x, axis = node.arrays[0], node.param("axis")
    g = ct if axis is None or node.param("keepdims") else o.ArrayExpandDims.make(ct, axis=axis)
    if isinstance(node, o.ArrayMean):
        g = g / o.ArraySize.make(c.like(x), axis=axis)
    return [o.ArrayLike.make(g, c.like(x)), None]


def _t_cumsum(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    axis = node.param("axis")
    along = 0 if axis is None else axis
    flip = o.ArrayFlip.make(o.ArrayCumsum.make(o.ArrayFlip.make(ct, axis=along), axis=along), axis=along)
    return [flip if axis is not None else o.ArrayReshapeLike.make(flip, c.like(node.arrays[0])), None]


def _t_reshape(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    return [o.ArrayReshapeLike.make(ct, c.like(node.arrays[0])), *([None] * (len(node.args) - 1))]


def _t_transpose(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    axes = node.param("axes")
    inverse = None if axes is None else tuple(sorted(range(len(axes)), key=lambda i: axes[i] % len(axes)))
    return [o.ArrayTranspose.make(ct, axes=inverse), None]


def _t_index(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    if len(node.arrays) > 1:  # indices or sizes known at run time: added where taken from
        return _t_gather(node, ct, lin, c)
    return [o.ArrayScatter.make(ct, c.like(node.arrays[0]), index=node.param("index")), None]


def _t_gather(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    """A selection (each result element one element of x): ``ct`` added where it was taken from."""
    if any(lin[1:]):
        raise NonLinearError(f"{node}: only its first argument may carry a tangent")
    x, *indices = node.arrays
    gathered = o.ArrayGatherT.make(ct, c.like(x), *indices, op=type(node), params=node.args[-1].value)
    return [gathered, *([None] * len(node.args[1:]))]


def _t_gather_t(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    """``gather_t``'s transpose in its cotangent: the selection itself."""
    indices = node.arrays[2:]
    return [node.param("op")(ct, *indices, o.Static(node.param("params"))), *([None] * len(node.args[1:]))]


def _t_cross(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    """``<u, a x b> = <a, b x u> = <b, u x a>`` (the triple product is cyclic)."""
    if sum(lin) != 1:
        raise NonLinearError(f"{node} is not linear in one operand")
    a, b = node.arrays
    axis = node.param("axis")
    if lin[0]:
        return [c.fit(o.ArrayCross.make(c.conj(b), ct, axis=axis), a, node), None, None]
    return [None, c.fit(o.ArrayCross.make(ct, c.conj(a), axis=axis), b, node), None]


def _t_self(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    """A self-adjoint op (a mask: tril, triu) or its own inverse (swapaxes)."""
    return [node.rebuild(ct), *([None] * (len(node.args) - 1))]


def _t_roll(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    shift = node.param("shift")
    back = tuple(-s for s in shift) if isinstance(shift, tuple) else -shift
    return [o.ArrayRoll.make(ct, shift=back, axis=node.param("axis")), None]


def _t_diagonal(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    params = {k: node.param(k) for k in ("offset", "axis1", "axis2")}
    return [o.ArrayTraceLike.make(ct, c.like(node.arrays[0]), **params), None]


def _t_scatter(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    return [o.ArrayIndex.make(ct, index=node.param("index")), None, None]


def _t_concatenate(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    likes = [c.like(a) for a in node.arrays]
    axis = node.param("axis")
    parts = [o.ArrayConcatPart.make(ct, *likes, axis=axis, part=i) if linear else None for i, linear in enumerate(lin)]
    return [*parts[: len(node.arrays)], None]


def _t_concat_part(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    _, *likes = node.arrays
    part = node.param("part")
    pieces = [ct if i == part else o.ArrayLike.make(sp.S.Zero, like) for i, like in enumerate(likes)]
    return [o.ArrayConcatenate.make(*pieces, axis=node.param("axis")), *([None] * len(node.args[1:]))]


def _t_stack(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    axis, every = node.param("axis"), ("slice", None, None, None)
    out: list[sp.Expr | None] = []
    for i, linear in enumerate(lin[: len(node.arrays)]):
        index = (every,) * axis + (i,) if axis >= 0 else ("...", i) + (every,) * (-axis - 1)
        out.append(o.ArrayIndex.make(ct, index=index) if linear else None)
    return [*out, None]


def _t_trace(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    params = {k: node.param(k) for k in ("offset", "axis1", "axis2")}
    return [o.ArrayTraceLike.make(ct, c.like(node.arrays[0]), **params), None]


def _t_trace_like(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    params = {k: node.param(k) for k in ("offset", "axis1", "axis2")}
    return [o.ArrayTrace.make(ct, **params), None, None]


def _t_diag(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    return [o.ArrayDiagLike.make(ct, c.like(node.arrays[0]), k=node.param("k")), *([None] * (len(node.args) - 1))]


def _kind(node: o.ArrayOp) -> str:
    return node.param("subscripts") if isinstance(node, o.ArrayEinsum) else type(node).__name__[5:].lower()


def _t_contract(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    if sum(lin) != 1:
        raise NonLinearError(f"{node} is not linear in one operand")
    part = list(lin).index(True)
    operands = [c.like(a) if i == part else a for i, a in enumerate(node.arrays)]
    out: list[sp.Expr | None] = [None] * len(node.args)
    out[part] = o.ArrayContractT.make(ct, *operands, kind=_kind(node), part=part)
    return out


_CONTRACTIONS: dict[str, type[o.ArrayOp]] = {"matmul": o.ArrayMatmul, "dot": o.ArrayDot, "inner": o.ArrayInner}


def _t_contract_t(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    """In its cotangent, the adjoint of a contraction transposes back to the contraction."""
    if any(lin[1:]):
        raise NonLinearError(f"{node}: only its cotangent may carry a tangent")
    g, *operands = node.arrays
    kind, part = node.param("kind"), node.param("part")
    operands[part] = ct
    op = (
        _CONTRACTIONS[kind].make(*operands) if kind in _CONTRACTIONS else o.ArrayEinsum.make(*operands, subscripts=kind)
    )
    return [o.ArraySumLike.make(op, c.like(g)), *([None] * len(node.args[1:]))]


def _t_solve(node: o.ArrayOp, ct: sp.Expr, lin: Sequence[bool], c: Context) -> Cotangents:
    """``solve(a, b)`` in b: ``solve(a^H, ct)``, written as ``inv(a)^H`` applied to ct."""
    if lin[0]:
        raise NonLinearError(f"{node} is not linear in its matrix")
    a, b = node.arrays
    inverse = o.ArrayInv.make(a)
    return [None, o.ArrayContractT.make(ct, inverse, c.like(b), kind="matmul", part=1), None]


_half_pi_root = 2 / sp.sqrt(sp.pi)

RULES: dict[type, Rule | Entry] = {
    # ---- arithmetic ----------------------------------------------------------------
    sp.Add: Entry(_add, _t_add),
    sp.Mul: Entry(_mul, _t_mul),
    sp.Pow: _pow,
    # ---- exponential -------------------------------------------------------------
    sp.exp: unary(sp.exp),
    sp.log: unary(lambda x: 1 / x),
    expm1: unary(sp.exp),
    log1p: unary(lambda x: 1 / (1 + x)),
    exp2: unary(lambda x: exp2(x) * sp.log(2)),
    log2: unary(lambda x: 1 / (x * sp.log(2))),
    log10: unary(lambda x: 1 / (x * sp.log(10))),
    o.ArrayCbrt: unary(lambda x: 1 / (3 * o.ArrayCbrt.make(x) ** 2)),
    # ---- trigonometric and hyperbolic ----------------------------------------------
    sp.sin: unary(sp.cos),
    sp.cos: unary(lambda x: -sp.sin(x)),
    sp.tan: unary(lambda x: 1 + sp.tan(x) ** 2),
    sp.asin: unary(lambda x: 1 / sp.sqrt(1 - x**2)),
    sp.acos: unary(lambda x: -1 / sp.sqrt(1 - x**2)),
    sp.atan: unary(lambda x: 1 / (1 + x**2)),
    sp.atan2: Entry(_atan2, func_name="arctan2"),
    hypot: _hypot,
    sp.sinh: unary(sp.cosh),
    sp.cosh: unary(sp.sinh),
    sp.tanh: unary(lambda x: 1 - sp.tanh(x) ** 2),
    sp.asinh: unary(lambda x: 1 / sp.sqrt(x**2 + 1)),
    sp.acosh: unary(lambda x: 1 / sp.sqrt(x**2 - 1)),
    sp.atanh: unary(lambda x: 1 / (1 - x**2)),
    # ---- special -----------------------------------------------------------------
    sp.erf: unary(lambda x: _half_pi_root * sp.exp(-(x**2))),
    sp.erfc: unary(lambda x: -_half_pi_root * sp.exp(-(x**2))),
    sp.loggamma: Entry(unary(lambda x: sp.polygamma(0, x)), func_name="lgamma"),
    sp.polygamma: _polygamma,
    # ---- activations -------------------------------------------------------------
    o.ArraySigmoid: unary(_sigmoid),
    o.ArraySoftplus: unary(o.ArraySigmoid.make),
    o.ArrayRelu: Entry(lambda node, d, shaped: _where(_cmp(node.args[0], ">", 0), d[0], 0), torch="sign"),
    # ---- piecewise ---------------------------------------------------------------
    sp.Abs: Entry(_abs, func_name="abs", torch="sign"),
    sp.sign: Entry(_sign, torch="flat"),
    sp.floor: Entry(zero, torch="flat"),
    sp.ceiling: Entry(zero, func_name="ceil", torch="flat"),
    o.ArrayRound: Entry(zero, torch="flat"),
    o.ArrayCompare: zero,
    o.ArrayLogic: zero,
    o.ArraySize: Entry(zero, by_axis=True, batch=b.by_axis("axis")),
    o.ArrayEye: Entry(zero, batch=b.each),
    o.ArrayMaximum: Entry(_maximum, torch="linear"),  # masks of the cotangent
    o.ArrayMinimum: Entry(_minimum, torch="linear"),
    o.ArrayClip: Entry(_clip, torch="linear"),
    o.ArrayWhere: Entry(_where_rule, _t_where),
    o.ArrayLike: Entry(_like, _t_like),
    o.ArrayNamed: Entry(linear, lambda node, ct, lin, c: [ct, None]),  # the identity
    o.ArrayLogaddexp: _logaddexp,
    o.ArrayDetach: zero,
    o.ArrayCast: Entry(linear, lambda node, ct, lin, c: [ct, None]),
    # ---- complex -----------------------------------------------------------------
    sp.re: Entry(_re, lambda node, ct, lin, c: [sp.re(ct)], func_name="real", torch="linear"),
    sp.im: Entry(_im, lambda node, ct, lin, c: [sp.I * sp.re(ct)], func_name="imag", torch="linear"),
    sp.conjugate: Entry(_conj, lambda node, ct, lin, c: [sp.conjugate(ct)], func_name="conj", torch="linear"),
    sp.arg: Entry(_angle, func_name="angle"),
    # ---- reductions --------------------------------------------------------------
    o.ArraySum: Entry(linear, _t_sum, by_axis=True, takes_out=True, batch=b.reduction, over_rows="sum"),
    o.ArrayMean: Entry(linear, _t_sum, by_axis=True, takes_out=True, batch=b.reduction, over_rows="mean"),
    o.ArrayProd: Entry(
        weighted_sum(lambda x, axis: o.ArrayProdExcept.make(x, axis=axis)),
        by_axis=True,
        takes_out=True,
        batch=b.by_axis("axis"),
    ),
    o.ArrayProdExcept: Entry(_prod_except, by_axis=True, batch=b.by_axis("axis")),
    o.ArrayAmax: Entry(_extreme, by_axis=True, torch="linear", batch=b.by_axis("axis")),
    o.ArrayAmin: Entry(_extreme, by_axis=True, torch="linear", batch=b.by_axis("axis")),
    o.ArrayLogsumexp: Entry(
        weighted_sum(lambda x, axis: o.ArraySoftmax.make(x, axis=axis)), by_axis=True, batch=b.by_axis("axis")
    ),
    o.ArraySoftmax: Entry(_softmax, by_axis=True, batch=b.by_axis("axis")),
    o.ArrayLogSoftmax: Entry(_log_softmax, by_axis=True, batch=b.by_axis("axis")),
    o.ArrayNorm: Entry(_norm, by_axis=True, batch=b.by_axis("axis")),
    # ---- shape -------------------------------------------------------------------
    o.ArrayCumsum: Entry(linear, _t_cumsum, by_axis=True, takes_out=True, batch=b.by_axis("axis")),
    o.ArrayFlip: Entry(
        linear,
        lambda node, ct, lin, c: [o.ArrayFlip.make(ct, axis=node.param("axis")), None],
        by_axis=True,
        batch=b.by_axis("axis"),
    ),
    o.ArrayReshape: Entry(first_linear, _t_reshape, batch=b.shaped),
    o.ArraySqueeze: Entry(linear, _t_reshape, batch=b.shaped),
    o.ArrayExpandDims: Entry(linear, _t_reshape, batch=b.shaped),
    o.ArrayTranspose: Entry(linear, _t_transpose, batch=b.transpose),
    o.ArrayBroadcastTo: Entry(
        linear, lambda node, ct, lin, c: [o.ArraySumLike.make(ct, c.like(node.arrays[0])), None], batch=b.shaped
    ),
    o.ArrayIndex: Entry(first_linear, _t_index, batch=b.index),
    o.ArrayConcatenate: Entry(linear, _t_concatenate, batch=b.each),
    o.ArrayStack: Entry(linear, _t_stack, batch=b.each),
    o.ArrayTrace: Entry(linear, _t_trace, batch=b.by_axis("axis1", "axis2")),
    o.ArrayDiag: Entry(linear, _t_diag, batch=b.each),
    o.ArrayFlatten: Entry(linear, _t_reshape, batch=b.shaped),
    o.ArrayDiagonal: Entry(linear, _t_diagonal, batch=b.by_axis("axis1", "axis2")),
    o.ArrayTril: Entry(linear, _t_self, batch=b.each),
    o.ArrayTriu: Entry(linear, _t_self, batch=b.each),
    o.ArraySwapaxes: Entry(linear, _t_self, batch=b.by_axis("axis1", "axis2")),
    o.ArrayRoll: Entry(linear, _t_roll, batch=b.by_axis("axis")),
    # selections: transposed by adding the cotangent where each element was taken from
    o.ArrayTakeAlong: Entry(first_linear, _t_gather, batch=b.each),
    o.ArrayTile: Entry(linear, _t_gather, batch=b.each),
    o.ArrayRepeat: Entry(linear, _t_gather, batch=b.each),
    o.ArrayClassLast: Entry(linear, _t_gather, batch=b.each),
    o.ArrayPiece: Entry(linear, _t_gather, batch=b.each),
    o.ArrayVectorOnly: Entry(linear, lambda node, ct, lin, c: [ct, None], batch=b.each),
    # ---- constants and indices -----------------------------------------------------
    o.ArrayArgmax: Entry(zero, batch=b.by_axis("axis")),
    o.ArrayArgmin: Entry(zero, batch=b.by_axis("axis")),
    o.ArrayArgsort: Entry(zero, batch=b.by_axis("axis")),
    o.ArrayNdim: Entry(zero, batch=b.each),
    o.ArrayConstant: Entry(zero, batch=b.each),
    o.ArrayFull: Entry(zero, batch=b.each),
    o.ArrayArange: Entry(zero, batch=b.each),
    o.ArrayClassCount: Entry(zero, batch=b.each),
    o.ArrayClassTargets: Entry(_class_targets, batch=b.each),
    # ---- linear algebra ----------------------------------------------------------
    o.ArrayMatmul: Entry(multilinear, _t_contract, batch=b.helper("matmul")),
    o.ArrayDot: Entry(multilinear, _t_contract, batch=b.helper("dot")),
    o.ArrayEinsum: Entry(multilinear, _t_contract, batch=b.einsum),
    o.ArrayDet: Entry(_det, batch=b.stacked),
    o.ArrayInv: Entry(_inv, batch=b.stacked),
    # ---- transposes (linear in their first argument; the others are shape witnesses) ----
    o.ArraySumLike: Entry(
        first_linear,
        lambda node, ct, lin, c: [o.ArrayLike.make(ct, c.like(node.arrays[0])), None],
        batch=b.helper("sum_like"),
    ),
    o.ArrayReshapeLike: Entry(first_linear, _t_reshape, batch=b.shaped),
    o.ArrayScatter: Entry(first_linear, _t_scatter, batch=b.each),
    o.ArrayConcatPart: Entry(first_linear, _t_concat_part, batch=b.each),
    o.ArrayTraceLike: Entry(first_linear, _t_trace_like, batch=b.each),
    o.ArrayDiagLike: Entry(first_linear, _t_diag, batch=b.each),
    o.ArrayContractT: Entry(_contract_t_jvp, _t_contract_t, batch=b.helper("contract_t", params=True)),
    o.ArraySolve: Entry(_solve, _t_solve, batch=b.each),
    o.ArrayCholesky: Entry(_cholesky, batch=b.stacked),
    o.ArrayCross: Entry(multilinear, _t_cross, batch=b.each),
    o.ArrayInner: Entry(multilinear, _t_contract, batch=b.each),
    o.ArrayGatherT: Entry(first_linear, _t_gather_t, batch=b.each),
}
