"""Differential tests of the family against torch.autograd.functional: vjp on every case of
``test_torch_reference`` (each reverse rule against torch's backward), jacobian, hessian,
hvp, vhp and batches.

Needs the optional 'torch' extra; skipped with that reason otherwise.
"""

import numpy as np
import pytest
from test_torch_reference import CASES, COMPLEX_CASES, CONVENTIONS, DOMAINS, _compare

import jvpcli
from jvpcli import family

torch = pytest.importorskip("torch", reason="the torch extra is not installed (pip install 'jvpcli[torch]')")
pytestmark = pytest.mark.torch
F = torch.autograd.functional


def _t(arrays):
    return tuple(torch.from_numpy(np.array(a)) for a in arrays)


def _np(value):
    return tuple(_np(v) for v in value) if isinstance(value, tuple) else value.detach().numpy()


def _point(spec, dtype, seed=42):
    rng = np.random.default_rng(seed)
    return [DOMAINS[domain](rng, shape).astype(dtype) for shape, domain in spec.values()], rng


def _inputs(xs):
    return xs[0] if len(xs) == 1 else tuple(xs)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-11), (np.float32, 1e-4)])
@pytest.mark.parametrize(("func", "spec", "reference"), CASES, ids=[c[0][:50] for c in CASES])
def test_vjp_matches_torch(func, spec, reference, dtype, rtol):
    xs, rng = _point(spec, dtype)
    out = reference(*_t(xs))
    us = tuple(rng.standard_normal(tuple(o.shape)).astype(dtype) for o in (out if isinstance(out, tuple) else (out,)))
    v = us if isinstance(out, tuple) else us[0]
    t_out, t_vjp = F.vjp(reference, _inputs(_t(xs)), _t(us) if isinstance(out, tuple) else _t(us)[0])
    ours = family.vjp(func, tuple(xs), v)
    _compare(ours.output, _np(t_out), rtol)
    _compare(ours.vjp, _np(t_vjp), rtol)


@pytest.mark.parametrize(("func", "spec", "reference"), COMPLEX_CASES, ids=[c[0] for c in COMPLEX_CASES])
def test_complex_vjp_matches_torch(func, spec, reference):
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in spec.values()]
    out = reference(*_t(xs))
    u = rng.standard_normal(tuple(out.shape)) + (1j * rng.standard_normal(tuple(out.shape)) if out.is_complex() else 0)
    _t_out, t_vjp = F.vjp(reference, _inputs(_t(xs)), torch.from_numpy(np.asarray(u)))
    ours = family.vjp(func, tuple(xs), u)
    _compare(ours.vjp, _np(t_vjp), 1e-12)


@pytest.mark.parametrize(("func", "point", "reference"), CONVENTIONS, ids=[c[0] for c in CONVENTIONS])
def test_vjp_at_nondifferentiable_points_follows_torch(func, point, reference):
    x = np.array(point)
    reference = reference or (lambda t: torch.maximum(t, 0 * t + 1) + torch.minimum(t, 0 * t + 1))
    out = reference(torch.from_numpy(x))
    u = np.arange(1.0, out.numel() + 1).reshape(tuple(out.shape))
    _, t_vjp = F.vjp(reference, torch.from_numpy(x), torch.from_numpy(u))
    _compare(family.vjp(func, x, u).vjp, _np(t_vjp), 1e-12)


JACOBIAN_CASES = [c for c in CASES if all(np.prod(shape) <= 12 for shape, _ in c[1].values())][::3]


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
@pytest.mark.parametrize(
    ("func", "spec", "reference"), JACOBIAN_CASES[::3], ids=[c[0][:50] for c in JACOBIAN_CASES[::3]]
)
def test_jacobian_matches_torch(func, spec, reference, strategy):
    xs, _ = _point(spec, np.float64)
    theirs = F.jacobian(reference, _inputs(_t(xs)))
    ours = family.jacobian(func, tuple(xs), strategy=strategy, chunk_size=2)
    _nested_close(ours, _np(theirs))


def _nested_close(ours, theirs, rtol=1e-10):
    assert isinstance(ours, tuple) == isinstance(theirs, tuple)
    if isinstance(ours, tuple):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _nested_close(a, b, rtol)
        return
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (
        ours.shape,
        theirs.shape,
        ours.dtype,
        theirs.dtype,
    )
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol)


SCALAR_CASES = [
    ("(x**3).sum()", {"x": ((3,), "any")}, lambda x: (x**3).sum()),
    ("lambda x, y: (x**2 * y).sum()", {"x": ((2,), "any"), "y": ((2,), "any")}, lambda x, y: (x**2 * y).sum()),
    (
        "def mlp(x, W, b):\n    h = tanh(W @ x + b)\n    return (h**2).sum()",
        {"x": ((4,), "any"), "W": ((3, 4), "any"), "b": ((3,), "any")},
        lambda x, W, b: (torch.tanh(W @ x + b) ** 2).sum(),
    ),
    (
        "logsumexp(x, axis=0).sum() + (softmax(x, axis=-1)[0] * x[1]).sum()",
        {"x": ((2, 3), "any")},
        lambda x: x.logsumexp(0).sum() + (x.softmax(-1)[0] * x[1]).sum(),
    ),
    (
        "lambda a, b: (a @ b).sum() * exp(a).mean()",
        {"a": ((2, 3), "any"), "b": ((3,), "any")},
        lambda a, b: (a @ b).sum() * a.exp().mean(),
    ),
]


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
@pytest.mark.parametrize(("func", "spec", "reference"), SCALAR_CASES, ids=[c[0][:40] for c in SCALAR_CASES])
def test_hessian_matches_torch(func, spec, reference, strategy):
    xs, _ = _point(spec, np.float64)
    theirs = F.hessian(reference, _inputs(_t(xs)))
    _nested_close(family.hessian(func, tuple(xs), outer_jacobian_strategy=strategy), _np(theirs))


@pytest.mark.parametrize("kind", ["hvp", "vhp"])
@pytest.mark.parametrize(("func", "spec", "reference"), SCALAR_CASES, ids=[c[0][:40] for c in SCALAR_CASES])
def test_hvp_and_vhp_match_torch(func, spec, reference, kind):
    xs, rng = _point(spec, np.float64)
    vs = tuple(rng.standard_normal(x.shape) for x in xs)
    out, theirs = getattr(F, kind)(reference, _inputs(_t(xs)), _inputs(_t(vs)))
    ours = getattr(family, kind)(func, tuple(xs), vs)
    _nested_close(ours.output, _np(out))
    _nested_close(getattr(ours, kind), _np(theirs))


def test_batched_jvp_and_vjp_match_vmap():
    rng = np.random.default_rng(3)
    x, W = rng.standard_normal(4), rng.standard_normal((3, 4))
    vx, vW = rng.standard_normal((5, 4)), rng.standard_normal((5, 3, 4))

    def f(x, W):
        return torch.tanh(W @ x)

    _, theirs = torch.func.vmap(lambda a, b: torch.func.jvp(f, _t([x, W]), (a, b)), in_dims=(0, 0))(*_t([vx, vW]))
    point = jvpcli.api.Point({"x": x, "W": W}, {"x": vx, "W": vW}, {})
    ours = family.jvp_batch_at(jvpcli.parse("lambda x, W: tanh(W @ x)"), point)
    np.testing.assert_allclose(ours.jvp, theirs.numpy(), rtol=1e-12, atol=1e-12)
    us = rng.standard_normal((5, 3))
    _, pull = torch.func.vjp(f, *_t([x, W]))
    theirs_x, theirs_W = torch.func.vmap(pull)(torch.from_numpy(us))
    got = family.vjp_at(jvpcli.parse("lambda x, W: tanh(W @ x)"), {"x": x, "W": W}, [us], {}, batch=True)
    np.testing.assert_allclose(got.vjp[0], theirs_x.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.vjp[1], theirs_W.numpy(), rtol=1e-12, atol=1e-12)
