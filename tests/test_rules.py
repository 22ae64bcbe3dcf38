"""Every JVP rule against a central finite difference, on shapes and values hypothesis draws.

Also: the rule table is complete (every op has a rule and both printers), every FUNC name
is exercised here, and the jvp is linear in v.
"""

from itertools import pairwise

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jvpcli
from jvpcli.lang.functions import FUNCTIONS
from jvpcli.symbolic import ops
from jvpcli.symbolic.rules import RULES, TORCH_KINDS, entries

ANY, POS, UNIT, GT1 = (-2.0, 2.0), (0.5, 2.0), (-0.9, 0.9), (1.2, 3.0)
ELEMENTWISE = None  # a shape hypothesis draws (0 to 3 dimensions), shared by all inputs

# (FUNC, {input: (shape or ELEMENTWISE, range)}, what to keep away from: "zero", "int", "ties")
CASES = [
    ("lambda x, y: x + y - x * y / (y + 3)", {"x": (ELEMENTWISE, ANY), "y": (ELEMENTWISE, POS)}, None),
    ("lambda x, y: x ** y + pow(x, 2) + power(x, 0.5)", {"x": (ELEMENTWISE, POS), "y": (ELEMENTWISE, ANY)}, None),
    ("-x + (+x) * 2", {"x": (ELEMENTWISE, ANY)}, None),
    ("exp(x) + exp2(x) + expm1(x) + negative(x) + neg(x)", {"x": (ELEMENTWISE, ANY)}, None),
    ("log(x) + log2(x) + log10(x) + log1p(x)", {"x": (ELEMENTWISE, POS)}, None),
    ("sqrt(x) + rsqrt(x) + cbrt(x) + square(x) + reciprocal(x)", {"x": (ELEMENTWISE, POS)}, None),
    ("cbrt(x)", {"x": (ELEMENTWISE, ANY)}, "zero"),
    ("sin(x) + cos(x) + tan(x)", {"x": (ELEMENTWISE, UNIT)}, None),
    ("arcsin(x) + asin(x) + arccos(x) + acos(x) + arctan(x) + atan(x)", {"x": (ELEMENTWISE, UNIT)}, None),
    (
        "lambda y, x: arctan2(y, x) + atan2(x, y) + hypot(y, x)",
        {"y": (ELEMENTWISE, POS), "x": (ELEMENTWISE, ANY)},
        None,
    ),
    ("sinh(x) + cosh(x) + tanh(x) + arcsinh(x) + asinh(x) + arctanh(x) + atanh(x)", {"x": (ELEMENTWISE, UNIT)}, None),
    ("arccosh(x) + acosh(x)", {"x": (ELEMENTWISE, GT1)}, None),
    ("sigmoid(x) + expit(x) + softplus(x) + silu(x) + logsigmoid(x)", {"x": (ELEMENTWISE, ANY)}, None),
    ("relu(x) + gelu(x) + gelu(x, approximate='tanh')", {"x": (ELEMENTWISE, ANY)}, "zero"),
    ("erf(x) + erfc(x)", {"x": (ELEMENTWISE, ANY)}, None),
    ("lgamma(x) + gammaln(x) + digamma(x) + psi(x) + polygamma(1, x)", {"x": (ELEMENTWISE, POS)}, None),
    ("abs(x) + absolute(x) + sign(x) * x", {"x": (ELEMENTWISE, ANY)}, "zero"),
    ("floor(x) + ceil(x) + round(x) + x", {"x": (ELEMENTWISE, ANY)}, "int"),
    ("lambda x, y: maximum(x, y) + minimum(x, y) * 2", {"x": (ELEMENTWISE, ANY), "y": (ELEMENTWISE, ANY)}, "ties"),
    (
        "lambda x, lo: clip(x, lo, 1.0) + clamp(x, min=-0.5) + x.clip(max=0.5)",
        {"x": (ELEMENTWISE, ANY), "lo": (ELEMENTWISE, ANY)},
        "ties",
    ),
    (
        "lambda x, y: where((x > 0) & (y < 1) | ~(x != y), x * y, x - y) + where(x >= y, 1, x <= y)",
        {"x": (ELEMENTWISE, ANY), "y": (ELEMENTWISE, ANY)},
        "ties",
    ),
    ("real(x) + imag(x) + conj(x) + conjugate(x) + angle(x) + x.real + x.imag", {"x": (ELEMENTWISE, POS)}, None),
    ("zeros_like(x) + ones_like(x) * x + (x - x)", {"x": (ELEMENTWISE, ANY)}, None),
    ("pi * x + e ** x + x / inf", {"x": (ELEMENTWISE, ANY)}, None),
    # reductions
    ("sum(x, axis=1) + mean(x, dim=1) + x.sum(axis=(0, 1), keepdims=True)[0]", {"x": ((3, 4), ANY)}, None),
    ("prod(x, axis=0) + x.prod()", {"x": ((3, 4), ANY)}, None),
    # prod_except appears in prod's derivative; its own rule (second order) divides by x
    ("prod_except(x, axis=0)[1]", {"x": ((3, 4), ANY)}, "zero"),
    ("amax(x, axis=1) + max(x) + amin(x, 0).sum() + min(x)", {"x": ((3, 4), ANY)}, "ties"),
    ("logsumexp(x, axis=1) + softmax(x, axis=0)[0] + log_softmax(x)[:, 0]", {"x": ((4, 4), ANY)}, None),
    (
        "norm(x) + vector_norm(x, dim=1).sum() + norm(x, 1) + norm(x, ord=3) + norm(x, inf) + norm(x, -inf)",
        {"x": ((3, 4), ANY)},
        "ties",
    ),
    (
        "var(x, axis=0) + std(x, axis=0) + x.var(ddof=1) + x.std(ddof=1, keepdims=True)[0] + size(x, 1)",
        {"x": ((3, 4), ANY)},
        "ties",
    ),
    (
        "x.var(dim=0) + x.std(correction=0, keepdim=True)[0] + x.var(0, unbiased=False) + x.std(unbiased=True)",
        {"x": ((3, 4), ANY)},
        "ties",
    ),
    # linear algebra
    (
        "lambda a, b: matmul(a, b) + a @ b + dot(a, b) + mm(a, b) + bmm(a, b) + a.mv(b[:, 0])[:, None]",
        {"a": ((2, 3), ANY), "b": ((3, 2), ANY)},
        None,
    ),
    (
        "lambda x, y: add(x, y) * subtract(x, y) / divide(y, 2) + sub(x, y) * mul(x, 3) - multiply(x, y) + div(x, y)"
        " + true_divide(x, y) + x.add(y)",
        {"x": (ELEMENTWISE, ANY), "y": (ELEMENTWISE, POS)},
        None,
    ),
    ("lambda a, b: outer(a, b) + einsum('i,j->ij', a, b)", {"a": ((3,), ANY), "b": ((2,), ANY)}, None),
    ("trace(x) + diag(x) + diag(x, 1).sum() + transpose(x)[0] + x.T[1] + x.t()[2]", {"x": ((3, 3), ANY)}, None),
    ("permute(x, 1, 0, 2)[0] + transpose(x, (1, 0, 2))[1]", {"x": ((2, 2, 3), ANY)}, None),
    ("det(A) + inv(A) + inverse(A) * 2 + eye(3) + eye(3, 3) @ A", {"A": ((3, 3), ANY)}, "singular"),
    ("lambda A, b: solve(A, b)", {"A": ((3, 3), ANY), "b": ((3,), ANY)}, "singular"),
    # shape
    ("reshape(x, 2, -1)[0] + x.view((2, 6))[1] + flatten(x)[:6] + ravel(x)[6:]", {"x": ((3, 4), ANY)}, None),
    ("squeeze(x) + unsqueeze(x, 0)[0, 0] + expand_dims(x, 2)[:, :, 0][0]", {"x": ((1, 3), ANY)}, None),
    (
        "lambda x, y: concatenate([x, y]) + cat((y, x), axis=0) + stack([x, x])[1, 0]",
        {"x": ((2,), ANY), "y": ((3,), ANY)},
        None,
    ),
    ("cumsum(x, axis=1) + flip(x, 0) + broadcast_to(x[0], (3, 4)) + x[..., ::-1][None][0]", {"x": ((3, 4), ANY)}, None),
    # what printed reverse-mode graphs call
    (
        "lambda x, y: sum_like(x * y, y[0]).sum() + reshape_like(x, x.T).sum() * scatter_like(y[0], x, index=(0,))"
        " + diag_like(x, x[0]) + trace_like(y[0, 0], x) + concat_part(concatenate((x, y)), x, y, axis=0, part=1)"
        " + contract_t(x, x, y, kind='matmul', part=1) + gather_t(x, y[:1], 'ArrayTile', ((3, 1),))",
        {"x": ((3, 3), ANY), "y": ((3, 3), ANY)},
        None,
    ),
]

# torch's spellings and the pasted-code forms (issue 10)
CASES += [
    (
        "elu(x) + elu(x, alpha=2.0) + selu(x) + celu(x, 0.5) + leaky_relu(x, 0.1) + hardtanh(x) + relu6(x) + mish(x)"
        " + softsign(x) + tanhshrink(x) + softshrink(x) + hardshrink(x) + threshold(x, 1.0, 0.5)"
        " + softplus(x, beta=2, threshold=1) + logaddexp(x, 2 * x) + dropout(x, 0.1, training=False)",
        {"x": (ELEMENTWISE, ANY)},
        "ties",
    ),
    ("softmin(x, dim=1) + glu(x, dim=0).sum()", {"x": ((4, 4), ANY)}, None),
    (
        "lambda x, y: mse_loss(x, y) + l1_loss(x, y, reduction='sum') + smooth_l1_loss(x, y, beta=0.5)"
        " + huber_loss(x, y, reduction='none').sum() + soft_margin_loss(x, y) + poisson_nll_loss(x, y)"
        " + kl_div(x, exp(y)) + kl_div(x, y, reduction='batchmean', log_target=True)",
        {"x": ((3, 4), ANY), "y": ((3, 4), ANY)},
        "ties",
    ),
    (
        "lambda p, y: binary_cross_entropy(sigmoid(p), sigmoid(y))"
        " + binary_cross_entropy_with_logits(p, y, pos_weight=2 * ones(4), reduction='sum')",
        {"p": ((4,), ANY), "y": ((4,), ANY)},
        None,
    ),
    (
        "cross_entropy(x, tensor([0, 2, 1])) + cross_entropy(x, tensor([0, 2, -100]), reduction='sum',"
        " label_smoothing=0.1) + nll_loss(log_softmax(x, 1), tensor([1, 1, 0]), weight=tensor([1.0, 2.0, 0.5, 1.0]))",
        {"x": ((3, 4), ANY)},
        None,
    ),
    ("lambda x, t: cross_entropy(x, softmax(t, 1), reduction='none')", {"x": ((3, 4), ANY), "t": ((3, 4), ANY)}, None),
    ("cross_entropy(x, tensor([[0, 1], [2, 0]]))", {"x": ((2, 3, 2), ANY)}, None),
    (
        "lambda x, W, b, h: linear(x, W, b) + layer_norm(h, (3,), b, b) + rms_norm(h, [3]) + normalize(h, dim=-1)",
        {"x": ((2, 4), ANY), "W": ((3, 4), ANY), "b": ((3,), ANY), "h": ((2, 3), ANY)},
        "ties",
    ),
    (
        "lambda x, y: cosine_similarity(x, y) + pairwise_distance(x, y) + cdist(x, y).sum(0) + dist(x, y)",
        {"x": ((2, 3), ANY), "y": ((2, 3), ANY)},
        "ties",
    ),
    ("lambda x, y, W: bilinear(x, y, W)", {"x": ((2, 3), ANY), "y": ((2, 4), ANY), "W": ((5, 3, 4), ANY)}, None),
    ("lambda W: embedding(tensor([0, 2, 2]), W)", {"W": ((3, 4), ANY)}, None),
    (
        "lambda q, k, v: scaled_dot_product_attention(q, k, v, is_causal=True)"
        " + scaled_dot_product_attention(q, k, v, attn_mask=tril(ones(4, 4)) > 0, scale=0.5)",
        {"q": ((4, 3), ANY), "k": ((4, 3), ANY), "v": ((4, 3), ANY)},
        None,
    ),
    (
        "sort(x, axis=1) + np.sort(x, axis=0) + argmax(x, axis=1)[:, None] + argmin(x) + argsort(x, axis=1)"
        " + x.max(axis=1)[:, None] + take_along_axis(x, argsort(x, axis=0), axis=0)"
        " + take_along(x, argmax(x, 1, True), 1)",
        {"x": ((3, 3), ANY)},
        "ties",
    ),
    (
        "x.sort(dim=0).values + torch.sort(x, 1, descending=True)[0] + x.topk(2, dim=1)[0].sum(1, keepdim=True)"
        " + x.max(dim=1).values[:, None] + torch.min(x, 0)[0] + torch.max(x, x.flip(0)) + x.gather(1, x.argsort(dim=1))"
        " + x.min(dim=0, keepdim=True).indices",
        {"x": ((3, 3), ANY)},
        "ties",
    ),
    (
        "logdet(A @ A.T + eye(3)) + slogdet(A).logabsdet + torch.linalg.slogdet(A)[1] + slogdet(A).sign"
        " + cholesky(A @ A.T + eye(3)).sum() + torch.linalg.cholesky(A @ A.T + eye(3), upper=True)[0, 1]"
        " + diagonal(A).sum() + A.diagonal(1).sum() + tril(A).sum() + triu(A, 1).sum()"
        " + torch.linalg.norm(A, dim=1).sum() + torch.linalg.norm(A) + addmm(A, A, A)[0, 0]",
        {"A": ((3, 3), ANY)},
        "singular",
    ),
    (
        "lambda a, b: cross(a, b, dim=-1) + torch.linalg.cross(a, b) + cross(a, b)",
        {"a": ((2, 3), ANY), "b": ((2, 3), ANY)},
        None,
    ),
    (
        "def f(x):\n    a, b = x.chunk(2, dim=1)\n    c, d = x.split(1, dim=0)\n    e, g = torch.unbind(x)\n"
        "    h, k = x.split((1, 1), 1)\n    n = x.shape[-1]\n    r, s = x\n"
        "    return a * b + c.sum() + d * h + e * g / n + len(x) + x.ndim + x.numel() + x.size(0) + x.dim()"
        " + r * s + k",
        {"x": ((2, 2), ANY)},
        None,
    ),
    (
        "x.view(x.shape[0], -1) + x.reshape(-1, x.size(-1)) + flatten(x, 1) + x[:, : x.shape[1] // 2].sum()"
        " + x[tensor([1, 0, 2])] + x[x > 0].sum() + x[[0, 0, 1]] + x[:, tensor([True, False, True])].sum()",
        {"x": ((3, 3), ANY)},
        "zero",
    ),
    (
        "np.repeat(x, 2, axis=1)[:, ::2] + tile(x, (2, 1))[:3] + roll(x, 1, axis=0) + swapaxes(x, 0, 1).T"
        " + diff(x, axis=1).sum() + diff(x, 2, axis=0).sum()",
        {"x": ((3, 3), ANY)},
        None,
    ),
    (
        "x.repeat(2, 1)[:3] + x.expand(2, -1, -1)[1] + x.expand_as(x) + x.mT + torch.swapdims(x, 0, 1)"
        " + x.roll(1, 0) + torch.repeat_interleave(x, 2, dim=1)[:, 1::2] + x[0].expand(3, 3)",
        {"x": ((3, 3), ANY)},
        None,
    ),
    (
        "x * tensor([1.0, 2.0, 3.0]) + as_tensor([1, 2, 3]) + array([0.5, 0.25, 1.0]) + asarray([1.0, 1.0, 2.0])"
        " + ones(3) + zeros(3) + full((3,), 0.5) + full_like(x, 2.0) + arange(3) + torch.arange(0, 3, 1)"
        " + 0 * x.detach() + x.clone() + x.contiguous() + x.to(x.dtype) + x.type_as(x) + x.double()"
        " + x.astype(np.float64) + torch.ones(x.shape[0]) + zeros(len(x), dtype=torch.float64)",
        {"x": ((3,), ANY)},
        None,
    ),
    (
        "lambda x, y: x.clamp_min(0.5) + clamp_max(x, 0.5) + torch.lerp(x, y, 0.25) + torch.logit(sigmoid(x))"
        " + torch.logit(sigmoid(y), eps=1e-6) + (one_hot(tensor([0, 2, 1]), 3).float() * x).sum(0)"
        " + torch.inner(x, y) + x[None].flatten(-2)[0].reshape(3, 3)",
        {"x": ((3, 3), ANY), "y": ((3, 3), ANY)},
        "ties",
    ),
    (
        "lambda A, b: torch.eye(A.shape[0]) @ A + eye(3) + torch.linalg.solve_triangular(A + 3 * eye(3), b)"
        " + torch.cholesky_solve(b, A + 3 * eye(3)) + torch.trapezoid(A, dim=0) + trapz(A, A, dim=1)",
        {"A": ((3, 3), POS), "b": ((3, 3), ANY)},
        "singular",
    ),
    # internal steps that --create-graph prints
    (
        "lambda x, t: piece(x, 'chunk', 2, 0, 1, 2).sum() + vector_only(x[0], 2.0) + class_last(x, True)[0]"
        " + class_targets(softmax(t, 1), x, smoothing=0.1)[0] + class_count(softmax(t, 1), x, 1)",
        {"x": ((4, 4), ANY), "t": ((4, 4), ANY)},
        None,
    ),
    (
        "lambda x, y: x.masked_fill(y > 0, 0.0) + where(x > 0, x, 0.0) * (x > y).float()"
        " + masked_fill(x, (y < 0).bool(), float('-inf')).clamp(min=-1.0) + x.bool().float() + 0 * float('1.5')",
        {"x": (ELEMENTWISE, ANY), "y": (ELEMENTWISE, ANY)},
        "ties",
    ),
]

STEP = 1e-6


def _away(x, avoid):
    if avoid == "zero":
        return np.all(np.abs(x) > 1e-3)
    if avoid == "int":
        return np.all(np.abs(x - np.round(x)) > 1e-3) and np.all(np.abs(np.abs(x - np.floor(x)) - 0.5) > 1e-3)
    return True


def _separated(xs, avoid):
    if avoid == "ties":
        flat = np.sort(np.concatenate([np.ravel(x) for x in xs] + [np.array([-1.0, -0.5, 0.0, 0.5, 1.0])]))
        return np.all(np.diff(flat) > 1e-3)
    if avoid == "singular":
        return all(np.linalg.cond(x) < 50 for x in xs if x.ndim == 2)
    return all(_away(x, avoid) for x in xs)


#: cells of each input's range, for the cases with something to keep away from: each element
#: takes a cell of its own, so no two elements of one range tie, at a point 0.6-0.9 of the way
#: through it, so none lies within 0.1 cell (1/640 over ANY) of a cell edge, where every kink
#: of ANY lies (0, integers, halves: multiples of 32 cells), nor of another's negative (0.1-0.4
#: through a cell: no ties in abs either)
CELLS = 256


@st.composite
def _apart(draw, shapes, bounds):
    """Arrays of these shapes and ranges whose elements are pairwise and kink apart (CELLS)."""
    sizes = [int(np.prod(s)) for s in shapes]
    cells = draw(hnp.arrays(np.int64, sum(sizes), elements=st.integers(0, CELLS - 1), unique=True))
    where = draw(hnp.arrays(np.float64, sum(sizes), elements=st.floats(0.6, 0.9)))
    # hypothesis favours small integers: a bijection of the cells spreads them over the range
    parts = np.split((cells * 97 + 31) % CELLS + where, np.cumsum(sizes)[:-1])
    return [lo + part.reshape(s) * ((hi - lo) / CELLS) for part, s, (lo, hi) in zip(parts, shapes, bounds)]


@st.composite
def points(draw, spec, avoid=None):
    shared = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    shapes = [shared if shape is ELEMENTWISE else shape for shape, _ in spec.values()]
    bounds = [b for _, b in spec.values()]
    if avoid is None:
        xs = [draw(hnp.arrays(np.float64, s, elements=st.floats(*b))) for s, b in zip(shapes, bounds)]
    else:
        assert avoid == "singular" or set(bounds) == {ANY}, "the kinks are cell edges of ANY only"
        xs = draw(_apart(shapes, bounds))
    vs = [draw(hnp.arrays(np.float64, s, elements=st.floats(-1, 1))) for s in shapes]
    return xs, vs


def _flat(value):
    return value if isinstance(value, tuple) else (value,)


@pytest.mark.parametrize(("func", "spec", "avoid"), CASES, ids=[c[0][:60] for c in CASES])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_jvp_matches_central_difference(func, spec, avoid, data):
    xs, vs = data.draw(points(spec, avoid))
    # a kink between the two difference points, or an ill-conditioned matrix: nothing to
    # compare there (points() keeps away from kinks; 3-28% of the matrices are rejected)
    assume(_separated(xs, avoid) and (not avoid or _separated([x + STEP * v for x, v in zip(xs, vs)], avoid)))
    result = jvpcli.jvp(func, tuple(xs), tuple(vs))
    plus = jvpcli.jvp(func, tuple(x + STEP * v for x, v in zip(xs, vs)), tuple(vs)).output
    minus = jvpcli.jvp(func, tuple(x - STEP * v for x, v in zip(xs, vs)), tuple(vs)).output
    for tangent, p, m in zip(_flat(result.jvp), _flat(plus), _flat(minus)):
        with np.errstate(invalid="ignore"):
            estimate = (p - m) / (2 * STEP)
        finite = np.isfinite(tangent)
        # a difference's error scales with the whole vector: an exact 0 beside a 256 is
        # estimated as 1.7e-5 (solve, a hypothesis draw)
        scale = max(1.0, float(np.max(np.abs(tangent[finite]), initial=0.0)))
        np.testing.assert_allclose(tangent[finite], estimate[finite], rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize(("func", "spec", "avoid"), CASES[::4], ids=[c[0][:60] for c in CASES[::4]])
def test_jvp_is_linear_in_v(func, spec, avoid):
    rng = np.random.default_rng(3)
    xs = [rng.uniform(*bounds, size=(2, 3) if shape is ELEMENTWISE else shape) for shape, bounds in spec.values()]
    v1, v2 = ([rng.standard_normal(x.shape) for x in xs] for _ in range(2))
    j1, j2 = (_flat(jvpcli.jvp(func, tuple(xs), tuple(v)).jvp) for v in (v1, v2))
    j12 = _flat(jvpcli.jvp(func, tuple(xs), tuple(2 * a - 3 * b for a, b in zip(v1, v2))).jvp)
    for a, b, c in zip(j1, j2, j12):
        np.testing.assert_allclose(c, 2 * a - 3 * b, rtol=1e-10, atol=1e-12)


def test_every_function_name_is_exercised_here():
    text = " ".join(func for func, _, _ in CASES)
    missing = sorted(name for name in FUNCTIONS if f"{name}(" not in text and f".{name}" not in text)
    assert missing == []


def test_every_op_has_a_rule_and_both_printers():
    for op in ops.all_ops():
        assert op in RULES, op.__name__
        assert "_numpycode" in vars(op) or op.numpy_name, op.__name__
        assert "_funccode" in vars(op) or op.func_name or issubclass(op, ops.ArrayConcatenate), op.__name__


def test_every_entry_says_what_torch_makes_of_it():
    """strict follows each op's torch kind (symbolic/connect.py): one of the known ones, and
    the ops torch's graph does not connect (integer or boolean results) are cut."""
    kinds = {op: e.torch for op, e in entries().items()}
    assert set(kinds.values()) <= set(TORCH_KINDS)
    for op in (ops.ArrayCompare, ops.ArrayArgmax, ops.ArrayDetach, ops.ArraySize):
        assert kinds[op] == "cut", op.__name__
    assert kinds[ops.ArrayRound] == "flat" and kinds[ops.ArraySum] == "linear" and kinds[ops.ArrayMatmul] == "product"


@pytest.mark.parametrize(("func", "spec", "avoid"), CASES, ids=[c[0][:60] for c in CASES])
def test_create_graph_expressions_read_back_to_the_same_numbers(func, spec, avoid):
    """--create-graph prints FUNC text: fed back to jvpcli it gives the same output and jvp."""
    rng = np.random.default_rng(11)
    xs = [rng.uniform(*bounds, size=(2, 3) if shape is ELEMENTWISE else shape) for shape, bounds in spec.values()]
    vs = [rng.standard_normal(x.shape) for x in xs]
    result = jvpcli.jvp(func, tuple(xs), tuple(vs), create_graph=True)
    params = ", ".join((*result.inputs, *result.graph.tangents))
    for text, value in zip((*result.graph.output, *result.graph.jvp), (*_flat(result.output), *_flat(result.jvp))):
        again = jvpcli.jvp(f"lambda {params}: {text}", (*xs, *vs), tuple(np.zeros_like(a) for a in (*xs, *vs)))
        np.testing.assert_allclose(np.broadcast_to(again.output, value.shape), value, rtol=1e-13, atol=1e-13)


def test_trigamma_is_exact_where_torch_is_not():
    x = np.array([0.6, 1.3, 2.5])
    result = jvpcli.jvp("digamma(x)", x, np.ones(3))
    exact = [float(mpmath.polygamma(1, v)) for v in x]
    np.testing.assert_allclose(result.jvp, exact, rtol=1e-14)


OVER_ROWS = [op for op, entry in entries().items() if entry.over_rows]


@pytest.mark.parametrize("op", OVER_ROWS, ids=[op.__name__ for op in OVER_ROWS])
@pytest.mark.parametrize("axis", [None, 0, (0, 1)])
def test_a_reduction_over_the_rows_combines_from_blocks_as_its_entry_says(op, axis):
    """``Entry.over_rows``: the op over axis 0 (or every axis) of the whole is its results on
    blocks of rows, added up ("sum") or added up weighted by their rows ("mean")."""
    x = np.random.default_rng(0).standard_normal((10, 3))
    func = f"x.{op.func_name}(axis={axis!r})"
    whole = jvpcli.jvp(func, x, x).output
    edges = [0, 3, 4, 10]
    how = entries()[op].over_rows
    parts = [
        jvpcli.jvp(func, x[lo:hi], x[lo:hi]).output * (hi - lo if how == "mean" else 1) for lo, hi in pairwise(edges)
    ]
    combined = sum(parts) / (len(x) if how == "mean" else 1)
    assert how in ("sum", "mean")
    np.testing.assert_allclose(combined, whole, rtol=1e-13)
