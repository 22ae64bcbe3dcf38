"""``torch.nn.functional``'s spellings: activations, losses, normalisation, attention.

Each is written with FUNC's own operations, so its derivative (and, through the rules
table, every other direction) comes from theirs. Piecewise functions put each kink on the
side torch's backward puts it (``hardtanh`` has derivative 0 at its bounds, ``leaky_relu``
the slope at 0, ``elu`` alpha at 0), checked against torch in tests/test_torch_pasted.py.
Registered into ``functions.FUNCTIONS``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.codegen.cfunctions import expm1

from jvpcli.lang.functions import FUNCTIONS, ArgError, array, axis_arg, integer, register
from jvpcli.symbolic import ops as o

SELU_ALPHA = sp.Float("1.6732632423543772848170429916717")
SELU_SCALE = sp.Float("1.0507009873554804934193349852946")
REDUCTIONS = ("mean", "sum", "none")


def _expr(value: Any) -> sp.Expr:
    """A built value as an expression: Python numbers are converted, nothing is parsed."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return sp.Integer(value)
    if isinstance(value, float):
        return sp.Float(value)
    raise ArgError(f"expected an array or a number, not {type(value).__name__}")


def _where(cond: sp.Expr, a: Any, b: Any) -> sp.Expr:
    return o.ArrayWhere.make(cond, _expr(a), _expr(b))


def _cmp(a: sp.Expr, op: str, b: Any) -> sp.Expr:
    return o.ArrayCompare.make(a, _expr(b), op=op)


def _number(value: Any, what: str) -> sp.Expr:
    """A parameter (``alpha=1.0``): a literal, a constant, or a default's Python number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return sp.Integer(value) if isinstance(value, int) else sp.Float(value)
    return array(value, what)


# ---- activations ---------------------------------------------------------------------------
def _negative_exp(x: sp.Expr, alpha: Any, scale: Any = 1, inner: Any = 1) -> sp.Expr:
    """elu's family: x above 0, ``alpha*(exp(x*inner) - 1)`` at and below 0 (torch's side of the kink)."""
    return scale * _where(_cmp(x, ">", 0), x, alpha * expm1(x * inner))


register("elu", elementwise=True)(lambda x, alpha=1.0, inplace=False: _negative_exp(array(x), _number(alpha, "alpha")))
register("selu", elementwise=True)(lambda x, inplace=False: _negative_exp(array(x), SELU_ALPHA, SELU_SCALE))
register("celu", elementwise=True)(
    lambda x, alpha=1.0, inplace=False: _negative_exp(array(x), _number(alpha, "alpha"), 1, 1 / _number(alpha, "alpha"))
)
register("leaky_relu", elementwise=True)(
    lambda x, negative_slope=0.01, inplace=False: _where(
        _cmp(array(x), ">", 0), x, _number(negative_slope, "negative_slope") * x
    )
)


@register("hardtanh", elementwise=True)
def _hardtanh(x: Any, min_val: Any = -1.0, max_val: Any = 1.0, inplace: Any = False) -> sp.Expr:
    """Derivative 0 at both bounds (torch's), unlike clamp, which passes it there."""
    x, lo, hi = array(x), _number(min_val, "min_val"), _number(max_val, "max_val")
    return _where(_cmp(x, "<=", lo), lo, _where(_cmp(x, ">=", hi), hi, x))


register("relu6", elementwise=True)(lambda x, inplace=False: _hardtanh(x, 0, 6))


@register("softplus", elementwise=True)
def _softplus(x: Any, beta: Any = 1, threshold: Any = None) -> sp.Expr:
    """Exact ``log(1 + exp(beta*x))/beta``; with ``threshold``, torch's switch to x above it."""
    x, beta = array(x), _number(beta, "beta")
    smooth = o.ArraySoftplus.make(beta * x) / beta if beta != 1 else o.ArraySoftplus.make(x)
    return smooth if threshold is None else _where(_cmp(beta * x, ">", _number(threshold, "threshold")), x, smooth)


register("mish", elementwise=True)(lambda x, inplace=False: array(x) * sp.tanh(o.ArraySoftplus.make(array(x))))
register("softsign", elementwise=True)(lambda x: array(x) / (1 + sp.Abs(array(x))))
register("tanhshrink", elementwise=True)(lambda x: array(x) - sp.tanh(array(x)))


@register("softshrink", elementwise=True)
def _softshrink(x: Any, lambd: Any = 0.5) -> sp.Expr:
    x, lam = array(x), _number(lambd, "lambd")
    return _where(_cmp(x, ">", lam), x - lam, _where(_cmp(x, "<", -lam), x + lam, 0))


@register("hardshrink", elementwise=True)
def _hardshrink(x: Any, lambd: Any = 0.5) -> sp.Expr:
    x, lam = array(x), _number(lambd, "lambd")
    return _where(o.ArrayLogic.make(_cmp(x, ">", lam), _cmp(x, "<", -lam), op="|"), x, 0)


register("threshold", elementwise=True)(
    lambda x, threshold, value, inplace=False: _where(
        _cmp(array(x), ">", _number(threshold, "threshold")), x, _number(value, "value")
    )
)
register("softmin")(lambda x, axis=-1: o.ArraySoftmax.make(-array(x), axis=axis_arg(axis)))


@register("glu")
def _glu(x: Any, axis: Any = -1) -> sp.Expr:
    x, axis = array(x), integer(axis, "dim")
    a, b = (o.ArrayPiece.make(x, kind="chunk", arg=2, axis=axis, index=i, count=2) for i in range(2))
    return a * o.ArraySigmoid.make(b)


# ---- losses ------------------------------------------------------------------------------------
def _reduced(loss: sp.Expr, reduction: Any, size_average: Any = None, reduce: Any = None) -> sp.Expr:
    if size_average is not None or reduce is not None:
        raise ArgError(
            "size_average= and reduce= are deprecated in torch: write reduction='mean'|'sum'|'none'", "reduce"
        )
    if reduction not in REDUCTIONS:
        raise ArgError(f"reduction must be one of {', '.join(map(repr, REDUCTIONS))}, not {reduction!r}", "reduction")
    if reduction == "none":
        return loss
    op = o.ArrayMean if reduction == "mean" else o.ArraySum
    return op.make(loss, axis=None, keepdims=False)


def _pointwise_loss(name: str, per_element: Any) -> None:
    def loss(
        x: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: Any = "mean", **extra: Any
    ) -> sp.Expr:
        return _reduced(per_element(array(x) - array(target, "target"), **extra), reduction, size_average, reduce)

    register(name)(loss)


_pointwise_loss("mse_loss", lambda d: d**2)
_pointwise_loss("l1_loss", lambda d: sp.Abs(d))


def _smooth_l1(d: sp.Expr, beta: Any = 1.0) -> sp.Expr:
    beta = _number(beta, "beta")
    if beta == 0:
        return sp.Abs(d)
    return _where(_cmp(sp.Abs(d), "<", beta), d**2 / (2 * beta), sp.Abs(d) - beta / 2)


def _huber(d: sp.Expr, delta: Any = 1.0) -> sp.Expr:
    delta = _number(delta, "delta")
    return _where(_cmp(sp.Abs(d), "<", delta), d**2 / 2, delta * (sp.Abs(d) - delta / 2))


_pointwise_loss("smooth_l1_loss", _smooth_l1)
_pointwise_loss("huber_loss", _huber)


@register("soft_margin_loss")
def _soft_margin(x: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: Any = "mean") -> sp.Expr:
    return _reduced(o.ArraySoftplus.make(-array(target, "target") * array(x)), reduction, size_average, reduce)


def _class_loss(logits: bool) -> Callable[..., sp.Expr]:
    """cross_entropy (``logits``: x's log_softmax over classes) and nll_loss (x is it):
    ``-sum(T * w * logp)`` over classes, T the (smoothed) targets in class-last layout.
    Class-index targets (one fewer axis than x) or probability targets (x's shape), as torch."""

    def loss(
        x: Any,
        target: Any,
        weight: Any = None,
        size_average: Any = None,
        ignore_index: Any = -100,
        reduce: Any = None,
        reduction: Any = "mean",
        label_smoothing: Any = 0.0,
    ) -> sp.Expr:
        _reduced(sp.S.Zero, reduction, size_average, reduce)  # checks the reduction arguments
        x = array(x)
        logp = o.ArrayClassLast.make(x, inverse=False)
        logp = o.ArrayLogSoftmax.make(logp, axis=-1) if logits else logp
        target = array(target, "target")
        ignore = integer(ignore_index, "ignore_index")
        smooth = float(_number(label_smoothing, "label_smoothing"))
        rows = o.ArrayClassTargets.make(target, x, ignore_index=ignore, smoothing=smooth, tangent=False)
        w = sp.S.One if weight is None else array(weight, "weight")
        per_row = -o.ArraySum.make(rows * w * logp, axis=-1, keepdims=False)
        if reduction == "mean":
            return o.ArraySum.make(per_row, axis=None, keepdims=False) / o.ArrayClassCount.make(
                target, x, w, ignore_index=ignore
            )
        return _reduced(per_row, reduction)

    return loss


def _without(fn: Callable[..., sp.Expr], name: str) -> Callable[..., sp.Expr]:
    """``fn`` under its signature less parameter ``name`` (which keeps its default): the
    signature is what a FUNC call is bound against (``functions.Builtin``)."""

    def call(*args: Any, **kwargs: Any) -> sp.Expr:
        return fn(*args, **kwargs)

    signature = inspect.signature(fn)
    call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != name]
    )
    return call


register("cross_entropy")(_class_loss(logits=True))
register("nll_loss")(_without(_class_loss(logits=False), "label_smoothing"))  # torch's has no label_smoothing


@register("binary_cross_entropy")
def _bce(
    x: Any, target: Any, weight: Any = None, size_average: Any = None, reduce: Any = None, reduction: Any = "mean"
) -> sp.Expr:
    """torch clamps each log at -100."""
    p, y = array(x), array(target, "target")
    logs = [o.ArrayClip.make(sp.log(a), sp.Integer(-100), sp.oo) for a in (p, 1 - p)]
    loss = -(y * logs[0] + (1 - y) * logs[1])
    return _reduced(loss if weight is None else loss * array(weight, "weight"), reduction, size_average, reduce)


@register("binary_cross_entropy_with_logits")
def _bce_logits(
    x: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: Any = "mean",
    pos_weight: Any = None,
) -> sp.Expr:
    z, y = array(x), array(target, "target")
    scale = sp.S.One if pos_weight is None else 1 + (array(pos_weight, "pos_weight") - 1) * y
    loss = (1 - y) * z + scale * o.ArraySoftplus.make(-z)
    return _reduced(loss if weight is None else loss * array(weight, "weight"), reduction, size_average, reduce)


@register("kl_div")
def _kl_div(
    x: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: Any = "mean", log_target: Any = False
) -> sp.Expr:
    x, t = array(x), array(target, "target")
    loss = sp.exp(t) * (t - x) if log_target else _where(_cmp(t, ">", 0), t * sp.log(t), 0) - t * x
    if reduction == "batchmean":
        return o.ArraySum.make(loss, axis=None, keepdims=False) / o.ArraySize.make(x, axis=0)
    return _reduced(loss, reduction, size_average, reduce)


@register("poisson_nll_loss")
def _poisson_nll(
    x: Any,
    target: Any,
    log_input: Any = True,
    full: Any = False,
    size_average: Any = None,
    eps: Any = 1e-8,
    reduce: Any = None,
    reduction: Any = "mean",
) -> sp.Expr:
    if full:
        raise ArgError("poisson_nll_loss(full=True) is not supported", "full")
    x, t = array(x), array(target, "target")
    loss = sp.exp(x) - t * x if log_input else x - t * sp.log(x + _number(eps, "eps"))
    return _reduced(loss, reduction, size_average, reduce)


# ---- layers -------------------------------------------------------------------------------------
@register("linear")
def _linear(x: Any, weight: Any, bias: Any = None) -> sp.Expr:
    """torch's ``x @ W.T + b``."""
    out = o.ArrayMatmul.make(array(x), o.ArrayTranspose.make(array(weight, "weight"), axes=None))
    return out if bias is None else out + array(bias, "bias")


@register("bilinear")
def _bilinear(x: Any, y: Any, weight: Any, bias: Any = None) -> sp.Expr:
    out = o.ArrayEinsum.make(array(x), array(weight, "weight"), array(y), subscripts="...i,oij,...j->...o")
    return out if bias is None else out + array(bias, "bias")


@register("embedding", method=False)
def _embedding(x: Any, weight: Any) -> sp.Expr:
    return o.ArrayIndex.make(array(weight, "weight"), array(x, "input"), index=(o.Slot(0),))


def _vector_norm(x: sp.Expr, ord: Any, axis: Any, keepdims: bool = False) -> sp.Expr:
    return FUNCTIONS["vector_norm"](x, ord, axis, keepdims)


@register("normalize")
def _normalize(x: Any, ord: Any = 2.0, axis: Any = 1, eps: Any = 1e-12, out: Any = None) -> sp.Expr:
    x = array(x)
    norm = _vector_norm(x, ord, axis, True)
    return x / o.ArrayClip.make(norm, _number(eps, "eps"), sp.oo)


@register("layer_norm")
def _layer_norm(x: Any, normalized_shape: Any, weight: Any = None, bias: Any = None, eps: Any = 1e-5) -> sp.Expr:
    x = array(x)
    shape = normalized_shape if isinstance(normalized_shape, tuple) else (normalized_shape,)
    axes = tuple(range(-len(shape), 0))
    mean = o.ArrayMean.make(x, axis=axes, keepdims=True)
    var = o.ArrayMean.make(sp.Abs(x - mean) ** 2, axis=axes, keepdims=True)
    out = (x - mean) / sp.sqrt(var + _number(eps, "eps"))
    if weight is not None:
        out = out * array(weight, "weight")
    return out if bias is None else out + array(bias, "bias")


@register("rms_norm")
def _rms_norm(x: Any, normalized_shape: Any, weight: Any = None, eps: Any = None) -> sp.Expr:
    x = array(x)
    shape = normalized_shape if isinstance(normalized_shape, tuple) else (normalized_shape,)
    axes = tuple(range(-len(shape), 0))
    eps = sp.Float(1.1920928955078125e-07) if eps is None else _number(eps, "eps")  # torch: float32's eps
    out = x / sp.sqrt(o.ArrayMean.make(x**2, axis=axes, keepdims=True) + eps)
    return out if weight is None else out * array(weight, "weight")


@register("cosine_similarity")
def _cosine_similarity(x: Any, y: Any, axis: Any = 1, eps: Any = 1e-8) -> sp.Expr:
    x, y, eps = array(x), array(y), _number(eps, "eps")
    norms = [o.ArrayClip.make(_vector_norm(a, None, axis), eps, sp.oo) for a in (x, y)]
    return o.ArraySum.make(x * y, axis=axis_arg(axis), keepdims=False) / (norms[0] * norms[1])


@register("pairwise_distance")
def _pairwise_distance(x: Any, y: Any, ord: Any = 2.0, eps: Any = 1e-6, keepdims: Any = False) -> sp.Expr:
    return _vector_norm(array(x) - array(y) + _number(eps, "eps"), ord, -1, keepdims)


@register("scaled_dot_product_attention", method=False)
def _attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    dropout_p: Any = 0.0,
    is_causal: Any = False,
    scale: Any = None,
    enable_gqa: Any = False,
) -> sp.Expr:
    q, k, v = array(query, "query"), array(key, "key"), array(value, "value")
    if float(_number(dropout_p, "dropout_p")) != 0:
        raise ArgError("dropout is random: give dropout_p=0.0", "dropout_p")
    factor = 1 / sp.sqrt(o.ArraySize.make(q, axis=-1)) if scale is None else _number(scale, "scale")
    scores = o.ArrayMatmul.make(q, o.ArraySwapaxes.make(k, axis1=-2, axis2=-1)) * factor
    if is_causal:
        rows, cols = o.ArraySize.make(q, axis=-2), o.ArraySize.make(k, axis=-2)
        ones = o.ArrayFull.make(rows, cols, shape=(o.Slot(0), o.Slot(1)), value=True, dtype="bool_")
        scores = _where(o.ArrayTril.make(ones, k=0), scores, -sp.oo)
    if attn_mask is not None:
        mask = array(attn_mask, "attn_mask")
        boolean = isinstance(mask, (o.ArrayCompare, o.ArrayLogic)) or (
            isinstance(mask, (o.ArrayConstant, o.ArrayFull)) and mask.param("dtype") == "bool_"
        )
        scores = _where(mask, scores, -sp.oo) if boolean else scores + mask
    return o.ArrayMatmul.make(o.ArraySoftmax.make(scores, axis=-1), v)
