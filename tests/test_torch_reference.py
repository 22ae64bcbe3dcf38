"""Differential tests: jvpcli against torch.autograd.functional.jvp, row by row of language.md.

Needs the optional 'torch' extra (pip install torch==2.13.0); skipped with that reason otherwise.
"""

import numpy as np
import pytest

import jvpcli

torch = pytest.importorskip("torch", reason="the torch extra is not installed (pip install 'jvpcli[torch]')")
tf = torch.nn.functional

DOMAINS = {
    "any": lambda r, s: r.standard_normal(s),
    "pos": lambda r, s: r.uniform(0.5, 2.0, s),
    "unit": lambda r, s: r.uniform(-0.9, 0.9, s),
    "gt1": lambda r, s: r.uniform(1.2, 3.0, s),
    "spd": lambda r, s: r.standard_normal(s) + 4 * np.eye(s[-1]),
}

# (FUNC, {input: (shape, domain)}, torch function of the same inputs)
CASES = [
    # operators
    ("lambda x, y: x + y * 2 - x / y", {"x": ((3, 4), "any"), "y": ((4,), "pos")}, lambda x, y: x + y * 2 - x / y),
    ("lambda x, y: x ** y", {"x": ((5,), "pos"), "y": ((5,), "any")}, lambda x, y: x**y),
    ("lambda a, b: a @ b", {"a": ((3, 4), "any"), "b": ((4, 2), "any")}, lambda a, b: a @ b),
    ("-x.T", {"x": ((3, 2), "any")}, lambda x: -x.T),
    # exponential
    ("exp(x) + exp2(x) + expm1(x)", {"x": ((6,), "any")}, lambda x: x.exp() + x.exp2() + x.expm1()),
    (
        "log(x) + log2(x) + log10(x) + log1p(x)",
        {"x": ((6,), "pos")},
        lambda x: x.log() + x.log2() + x.log10() + x.log1p(),
    ),
    (
        "sqrt(x) + rsqrt(x) + cbrt(x) + square(x) + reciprocal(x)",
        {"x": ((6,), "pos")},
        lambda x: x.sqrt() + x.rsqrt() + x.pow(1 / 3) + x.square() + x.reciprocal(),
    ),
    ("cbrt(x)", {"x": ((6,), "any")}, lambda x: x.sign() * x.abs().pow(1 / 3)),
    (
        "lambda x, y: pow(x, 3) + power(y, x)",
        {"x": ((4,), "any"), "y": ((4,), "pos")},
        lambda x, y: x.pow(3) + y.pow(x),
    ),
    # trigonometric
    ("sin(x) * cos(x) + tan(x)", {"x": ((5,), "unit")}, lambda x: x.sin() * x.cos() + x.tan()),
    (
        "arcsin(x) + acos(x) + arctan(x) + atan(x)",
        {"x": ((5,), "unit")},
        lambda x: x.asin() + x.acos() + x.atan() + x.atan(),
    ),
    (
        "lambda y, x: arctan2(y, x) + hypot(y, x)",
        {"y": ((5,), "any"), "x": ((5,), "any")},
        lambda y, x: torch.atan2(y, x) + torch.hypot(y, x),
    ),
    # hyperbolic
    (
        "sinh(x) + cosh(x) + tanh(x) + arcsinh(x) + arctanh(x)",
        {"x": ((5,), "unit")},
        lambda x: x.sinh() + x.cosh() + x.tanh() + x.asinh() + x.atanh(),
    ),
    ("acosh(x)", {"x": ((5,), "gt1")}, lambda x: x.acosh()),
    # activations
    (
        "sigmoid(x) + relu(x) + silu(x) + logsigmoid(x)",
        {"x": ((7,), "any")},
        lambda x: x.sigmoid() + x.relu() + tf.silu(x) + tf.logsigmoid(x),
    ),
    ("softplus(x) + gelu(x)", {"x": ((7,), "any")}, lambda x: tf.softplus(x) + tf.gelu(x)),
    ("gelu(x, approximate='tanh')", {"x": ((7,), "any")}, lambda x: tf.gelu(x, approximate="tanh")),
    ("softmax(x, axis=1)", {"x": ((3, 4), "any")}, lambda x: x.softmax(dim=1)),
    ("log_softmax(x, dim=0)", {"x": ((3, 4), "any")}, lambda x: x.log_softmax(dim=0)),
    # special
    ("erf(x) + erfc(x)", {"x": ((5,), "any")}, lambda x: x.erf() + x.erfc()),
    ("lgamma(x) + gammaln(x)", {"x": ((5,), "pos")}, lambda x: x.lgamma() + x.lgamma()),
    # digamma is left out: its derivative, trigamma, is off by ~5e-10 relative in torch
    # (torch.polygamma(1, 1.3) = 1.1342534355; exact 1.1342534350): test_rules checks it with mpmath.
    # piecewise
    (
        "abs(x) + sign(x) + floor(x) + ceil(x) + round(x)",
        {"x": ((6,), "any")},
        lambda x: x.abs() + x.sign() + x.floor() + x.ceil() + x.round(),
    ),
    (
        "lambda x, y: maximum(x, y) + minimum(x, y)",
        {"x": ((6,), "any"), "y": ((6,), "any")},
        lambda x, y: torch.maximum(x, y) + torch.minimum(x, y),
    ),
    ("clip(x, -0.5, 0.5) + x.clamp(min=0)", {"x": ((8,), "any")}, lambda x: x.clip(-0.5, 0.5) + x.clamp(min=0)),
    (
        "lambda x, y: where((x > 0) & (y <= 1), x * y, x - y)",
        {"x": ((6,), "any"), "y": ((6,), "any")},
        lambda x, y: torch.where((x > 0) & (y <= 1), x * y, x - y),
    ),
    # reductions
    (
        "sum(x, axis=(0, 2), keepdims=True) + x.mean(dim=1, keepdim=True)",
        {"x": ((2, 3, 4), "any")},
        lambda x: x.sum(dim=(0, 2), keepdim=True) + x.mean(dim=1, keepdim=True),
    ),
    ("prod(x, axis=1)", {"x": ((3, 4), "any")}, lambda x: x.prod(dim=1)),
    ("x.prod()", {"x": ((5,), "any")}, lambda x: x.prod()),
    ("amax(x, axis=0) + x.min(1).sum()", {"x": ((3, 4), "any")}, lambda x: x.amax(dim=0) + x.amin(dim=1).sum()),
    ("logsumexp(x, axis=1)", {"x": ((3, 4), "any")}, lambda x: x.logsumexp(dim=1)),
    (
        "norm(x) + torch.linalg.vector_norm(x, dim=1).sum() + norm(x, ord=1) + math.pi",
        {"x": ((3, 4), "any")},
        lambda x: (
            torch.linalg.vector_norm(x)
            + torch.linalg.vector_norm(x, dim=1).sum()
            + torch.linalg.vector_norm(x, ord=1)
            + torch.pi
        ),
    ),
    (
        "var(x, axis=0) + std(x) + x.var(ddof=1)",
        {"x": ((3, 4), "any")},
        lambda x: x.var(dim=0, correction=0) + x.std(correction=0) + x.var(correction=1),
    ),
    # linear algebra
    (
        "lambda a, b: dot(a, b) + outer(a, b).sum()",
        {"a": ((4,), "any"), "b": ((4,), "any")},
        lambda a, b: torch.dot(a, b) + torch.outer(a, b).sum(),
    ),
    (
        "lambda a, b: einsum('ij,jk->ik', a, b)",
        {"a": ((2, 3), "any"), "b": ((3, 4), "any")},
        lambda a, b: torch.einsum("ij,jk->ik", a, b),
    ),
    (
        "trace(x) + diag(x).sum() + transpose(x)[0, 1]",
        {"x": ((3, 3), "any")},
        lambda x: x.trace() + x.diag().sum() + x.T[0, 1],
    ),
    ("x.permute(2, 0, 1)", {"x": ((2, 3, 4), "any")}, lambda x: x.permute(2, 0, 1)),
    ("det(A) + inv(A).sum()", {"A": ((3, 3), "spd")}, lambda a: torch.linalg.det(a) + torch.linalg.inv(a).sum()),
    (
        "lambda A, b: solve(A @ A.T + 3 * eye(3), b)",
        {"A": ((3, 3), "any"), "b": ((3,), "any")},
        lambda a, b: torch.linalg.solve(a @ a.T + 3 * torch.eye(3, dtype=a.dtype), b),
    ),
    ("lambda A, b: solve(A, b)", {"A": ((3, 3), "spd"), "b": ((3,), "any")}, lambda a, b: torch.linalg.solve(a, b)),
    ("lambda A, B: solve(A, B)", {"A": ((3, 3), "spd"), "B": ((3, 2), "any")}, lambda a, b: torch.linalg.solve(a, b)),
    # shape
    ("x.reshape(2, -1) * 2", {"x": ((3, 4), "any")}, lambda x: x.reshape(2, -1) * 2),
    (
        "x.view(-1)[1:5] + ravel(x)[:4] + flatten(x)[::3]",
        {"x": ((3, 4), "any")},
        lambda x: x.view(-1)[1:5] + x.ravel()[:4] + x.flatten()[::3],
    ),
    (
        "squeeze(x, 0) + x.unsqueeze(0)[0, 0] + expand_dims(x, 1)[0, 0]",
        {"x": ((1, 4), "any")},
        lambda x: x.squeeze(0) + x.unsqueeze(0)[0, 0] + x.unsqueeze(1)[0, 0],
    ),
    (
        "lambda x, y: concatenate([x, y], axis=0) * cat((y, x)).sum()",
        {"x": ((3,), "any"), "y": ((2,), "any")},
        lambda x, y: torch.cat([x, y]) * torch.cat((y, x)).sum(),
    ),
    (
        "lambda x, y: stack([x, y], axis=1)",
        {"x": ((3,), "any"), "y": ((3,), "any")},
        lambda x, y: torch.stack([x, y], dim=1),
    ),
    (
        "x[..., -1] + x[:, 1:3].sum(axis=1) + x[0][None, 0]",
        {"x": ((3, 4), "any")},
        lambda x: x[..., -1] + x[:, 1:3].sum(dim=1) + x[0][None, 0],
    ),
    ("cumsum(x, axis=1) + flip(x, 0)", {"x": ((3, 4), "any")}, lambda x: x.cumsum(dim=1) + x.flip(0)),
    ("broadcast_to(x, (2, 3)) * 2", {"x": ((3,), "any")}, lambda x: x.broadcast_to((2, 3)) * 2),
    # constants
    ("pi * x + e ** x + 2.5", {"x": ((3,), "any")}, lambda x: torch.pi * x + torch.e**x + 2.5),
    # a pasted def
    (
        "def mlp(x, W, b):\n    h = tanh(W @ x + b)\n    return (h**2).sum()",
        {"x": ((4,), "any"), "W": ((3, 4), "any"), "b": ((3,), "any")},
        lambda x, W, b: (torch.tanh(W @ x + b) ** 2).sum(),
    ),
    # tuple output
    ("lambda x, y: (x * y, x.sum())", {"x": ((3,), "any"), "y": ((3,), "any")}, lambda x, y: (x * y, x.sum())),
]

COMPLEX_CASES = [
    ("exp(z) * z + sin(z) / (z + 3)", {"z": (4,)}, lambda z: z.exp() * z + z.sin() / (z + 3)),
    ("abs(z) + real(z) * imag(z)", {"z": (4,)}, lambda z: z.abs() + z.real * z.imag),
    ("conj(z) * z", {"z": (4,)}, lambda z: z.conj() * z),
    ("angle(z)", {"z": (4,)}, lambda z: z.angle()),
    ("sign(z) * 2", {"z": (4,)}, lambda z: z.sgn() * 2),
    ("z @ z", {"z": (3, 3)}, lambda z: z @ z),
    ("(z * 1j).sum()", {"z": (3,)}, lambda z: (z * 1j).sum()),
]


def _torch_jvp(fn, xs, vs):
    out, tangent = torch.autograd.functional.jvp(
        fn, tuple(torch.from_numpy(a) for a in xs), tuple(torch.from_numpy(a) for a in vs)
    )
    pack = (lambda t: tuple(a.numpy() for a in t)) if isinstance(out, tuple) else (lambda t: t.numpy())
    return pack(out), pack(tangent)


def _compare(ours, theirs, rtol):
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 10)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize(("func", "spec", "reference"), CASES, ids=[c[0][:50] for c in CASES])
def test_real_functions_match_torch(func, spec, reference, dtype, rtol):
    rng = np.random.default_rng(42)
    xs = [DOMAINS[domain](rng, shape).astype(dtype) for shape, domain in spec.values()]
    vs = [rng.standard_normal(x.shape).astype(dtype) for x in xs]
    ours = jvpcli.jvp(func, tuple(xs), tuple(vs))
    _compare(ours.output, _torch_jvp(reference, xs, vs)[0], rtol)
    _compare(ours.jvp, _torch_jvp(reference, xs, vs)[1], rtol)


@pytest.mark.parametrize(("func", "spec", "reference"), COMPLEX_CASES, ids=[c[0] for c in COMPLEX_CASES])
def test_complex_functions_match_torch_func_jvp(func, spec, reference):
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in spec.values()]
    vs = [rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in spec.values()]
    out, tangent = torch.func.jvp(reference, tuple(map(torch.from_numpy, xs)), tuple(map(torch.from_numpy, vs)))
    ours = jvpcli.jvp(func, tuple(xs), tuple(vs))
    _compare(ours.output, out.numpy(), 1e-12)
    _compare(ours.jvp, tangent.numpy(), 1e-12)


CONVENTIONS = [  # points where the derivative does not exist: torch's value holds
    ("relu(x) + abs(x)", [0.0, 1.0, -1.0], lambda x: x.relu() + x.abs()),
    ("lambda x: maximum(x, 0 * x + 1) + minimum(x, 0 * x + 1)", [1.0, 2.0], None),
    ("clip(x, 0, 1)", [0.0, 1.0, 0.5, 2.0], lambda x: x.clip(0, 1)),
    ("amax(x)", [1.0, 3.0, 3.0, 2.0], lambda x: x.amax()),
    ("amin(x, axis=1)", [[1.0, 1.0], [0.0, 2.0]], lambda x: x.amin(dim=1)),
    ("prod(x)", [0.0, 2.0, 3.0], lambda x: x.prod()),
    ("prod(x)", [0.0, 2.0, 0.0], lambda x: x.prod()),
]


@pytest.mark.parametrize(("func", "point", "reference"), CONVENTIONS, ids=[c[0] for c in CONVENTIONS])
def test_nondifferentiable_points_follow_torch(func, point, reference):
    x = np.array(point)
    v = np.arange(1.0, x.size + 1).reshape(x.shape)
    reference = reference or (lambda t: torch.maximum(t, 0 * t + 1) + torch.minimum(t, 0 * t + 1))
    ours = jvpcli.jvp(func, x, v)
    _compare(ours.jvp, _torch_jvp(reference, [x], [v])[1], 1e-12)
