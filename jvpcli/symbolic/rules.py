"""The one table of forward-mode (JVP) rules: one entry per operation.

A rule gets the node, the tangents of its arguments (``0`` where an argument has none)
and ``shaped(t, arg)``, which gives a tangent exactly its argument's shape before it
enters an op that is not elementwise. Linear ops say so (``linear``), products say
``multilinear``; everything else writes its derivative out. Values where a derivative
does not exist follow torch: relu'(0) = abs'(0) = 0, ties of maximum/minimum split the
tangent, ties of amax/amin share it evenly, clip passes it at a bound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce

import sympy as sp
from sympy.codegen.cfunctions import exp2, expm1, hypot, log1p, log2, log10

from jvpcli.symbolic import ops as o

Shaped = Callable[[sp.Expr, sp.Expr], sp.Expr]
Rule = Callable[[sp.Expr, Sequence[sp.Expr], Shaped], sp.Expr]


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
    """Linear in its first argument; the others (indices, run-time sizes) are constants."""
    return node.rebuild(shaped(d[0], node.arrays[0]), *node.arrays[1:])


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
    return _where(_cmp(node, "==", 0), 0, _sum(inner, axis, keepdims) / node)


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


_half_pi_root = 2 / sp.sqrt(sp.pi)

JVP_RULES: dict[type, Rule] = {
    # ---- arithmetic ----------------------------------------------------------------
    sp.Add: _add,
    sp.Mul: _mul,
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
    sp.atan2: _atan2,
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
    sp.loggamma: unary(lambda x: sp.polygamma(0, x)),
    sp.polygamma: _polygamma,
    # ---- activations -------------------------------------------------------------
    o.ArraySigmoid: unary(_sigmoid),
    o.ArraySoftplus: unary(o.ArraySigmoid.make),
    o.ArrayRelu: lambda node, d, shaped: _where(_cmp(node.args[0], ">", 0), d[0], 0),
    # ---- piecewise ---------------------------------------------------------------
    sp.Abs: _abs,
    sp.sign: _sign,
    sp.floor: zero,
    sp.ceiling: zero,
    o.ArrayRound: zero,
    o.ArrayCompare: zero,
    o.ArrayLogic: zero,
    o.ArraySize: zero,
    o.ArrayEye: zero,
    o.ArrayMaximum: _maximum,
    o.ArrayMinimum: _minimum,
    o.ArrayClip: _clip,
    o.ArrayWhere: _where_rule,
    o.ArrayLike: _like,
    o.ArrayLogaddexp: _logaddexp,
    o.ArrayDetach: zero,
    o.ArrayCast: linear,
    o.ArrayNamed: linear,
    # ---- complex -----------------------------------------------------------------
    sp.re: lambda node, d, shaped: sp.re(d[0]),
    sp.im: lambda node, d, shaped: sp.im(d[0]),
    sp.conjugate: lambda node, d, shaped: sp.conjugate(d[0]),
    sp.arg: _angle,
    # ---- reductions --------------------------------------------------------------
    o.ArraySum: linear,
    o.ArrayMean: linear,
    o.ArrayProd: weighted_sum(lambda x, axis: o.ArrayProdExcept.make(x, axis=axis)),  # exact at zeros
    o.ArrayProdExcept: _prod_except,
    o.ArrayAmax: _extreme,
    o.ArrayAmin: _extreme,
    o.ArrayLogsumexp: weighted_sum(lambda x, axis: o.ArraySoftmax.make(x, axis=axis)),
    o.ArraySoftmax: _softmax,
    o.ArrayLogSoftmax: _log_softmax,
    o.ArrayNorm: _norm,
    # ---- constants and indices -----------------------------------------------------
    o.ArrayArgmax: zero,
    o.ArrayArgmin: zero,
    o.ArrayArgsort: zero,
    o.ArrayNdim: zero,
    o.ArrayConstant: zero,
    o.ArrayFull: zero,
    o.ArrayArange: zero,
    o.ArrayClassCount: zero,
    o.ArrayClassTargets: _class_targets,
    # ---- shape -------------------------------------------------------------------
    o.ArrayCumsum: linear,
    o.ArrayFlip: linear,
    o.ArrayReshape: first_linear,
    o.ArraySqueeze: linear,
    o.ArrayFlatten: linear,
    o.ArrayExpandDims: linear,
    o.ArrayTranspose: linear,
    o.ArrayBroadcastTo: linear,
    o.ArrayIndex: first_linear,
    o.ArrayTakeAlong: first_linear,
    o.ArrayConcatenate: linear,
    o.ArrayStack: linear,
    o.ArrayTrace: linear,
    o.ArrayDiag: linear,
    o.ArrayDiagonal: linear,
    o.ArrayTril: linear,
    o.ArrayTriu: linear,
    o.ArraySwapaxes: linear,
    o.ArrayTile: linear,
    o.ArrayRepeat: linear,
    o.ArrayRoll: linear,
    o.ArrayClassLast: linear,
    o.ArrayPiece: linear,
    o.ArrayVectorOnly: linear,
    # ---- linear algebra ----------------------------------------------------------
    o.ArrayMatmul: multilinear,
    o.ArrayDot: multilinear,
    o.ArrayEinsum: multilinear,
    o.ArrayDet: _det,
    o.ArrayInv: _inv,
    o.ArraySolve: _solve,
    o.ArrayCholesky: _cholesky,
    o.ArrayCross: multilinear,
    o.ArrayInner: multilinear,
}
