"""Pasted torch code against torch.autograd.functional.jvp: the source is run by torch (the
oracle) and given to jvpcli unchanged. Needs the optional 'torch' extra."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pasted_torch import PASTED

import jvpcli

torch = pytest.importorskip("torch", reason="the torch extra is not installed (pip install 'jvpcli[torch]')")
F = torch.nn.functional
pytestmark = pytest.mark.torch

DOMAINS = {
    "any": lambda r, s: r.standard_normal(s),
    "spd": lambda r, s: r.standard_normal(s) + 4 * np.eye(s[-1]),
}
TOLERANCE = {np.float64: 1e-9, np.float32: 1e-4}


def torch_function(source):
    """The pasted function as torch runs it (imports and helpers included)."""
    namespace = {"torch": torch, "F": F, "math": math, "np": np}
    source = source.strip()
    if source.startswith("lambda"):
        return eval(source, namespace)  # test code: the oracle runs the pasted text with torch
    exec(source, namespace)
    defs = [line.split("(")[0][4:] for line in source.splitlines() if line.startswith("def ")]
    return namespace[defs[-1]]


def torch_jvp(fn, inputs, tangents, constants):
    as_t = {k: torch.from_numpy(np.asarray(v)) for k, v in constants.items()}
    out, tangent = torch.autograd.functional.jvp(
        lambda *xs: fn(*xs, **as_t), tuple(map(torch.from_numpy, inputs)), tuple(map(torch.from_numpy, tangents))
    )
    pack = (
        (lambda t: tuple(a.detach().numpy() for a in t)) if isinstance(out, tuple) else (lambda t: t.detach().numpy())
    )
    return pack(out), pack(tangent)


def compare(ours, theirs, rtol):
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape, (a.shape, b.shape)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "source", "spec", "constants"), PASTED, ids=[p[0] for p in PASTED])
def test_pasted_torch_function_matches_torch(name, source, spec, constants, dtype):
    rng = np.random.default_rng(11)
    xs = [DOMAINS[d](rng, s).astype(dtype) for s, d in spec.values()]
    vs = [rng.standard_normal(x.shape).astype(dtype) for x in xs]
    cs = {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in constants.items()}
    ours = jvpcli.jvp(source, tuple(xs), tuple(vs), constants=cs)
    theirs = torch_jvp(torch_function(source), xs, vs, cs)
    compare(ours.output, theirs[0], TOLERANCE[dtype])
    compare(ours.jvp, theirs[1], TOLERANCE[dtype])


def torch_vjp(fn, inputs, cotangents, constants):
    as_t = {k: torch.from_numpy(np.asarray(v)) for k, v in constants.items()}
    us = tuple(map(torch.from_numpy, cotangents))
    _, grads = torch.autograd.functional.vjp(
        lambda *xs: fn(*xs, **as_t), tuple(map(torch.from_numpy, inputs)), us if len(us) > 1 else us[0]
    )
    return tuple(g.detach().numpy() for g in grads) if len(inputs) > 1 else grads[0].detach().numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "source", "spec", "constants"), PASTED, ids=[p[0] for p in PASTED])
def test_the_gradient_of_pasted_torch_code_matches_torch(name, source, spec, constants, dtype):
    """vjp, every pasted function: reverse mode (every transpose) against torch's backward."""
    rng = np.random.default_rng(12)
    xs = [DOMAINS[d](rng, s).astype(dtype) for s, d in spec.values()]
    cs = {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in constants.items()}
    outputs = jvpcli.jvp(source, tuple(xs), tuple(np.zeros_like(x) for x in xs), constants=cs).output
    us = [
        rng.standard_normal(np.shape(o)).astype(dtype) for o in (outputs if isinstance(outputs, tuple) else (outputs,))
    ]
    ours = jvpcli.vjp(source, tuple(xs), tuple(us) if len(us) > 1 else us[0], constants=cs)
    theirs = torch_vjp(torch_function(source), xs, us, cs)
    compare(ours.vjp, theirs, TOLERANCE[dtype])


def _one_element(case) -> bool:
    """Whether the pasted function returns a single one-element tensor (a loss): a Hessian's domain."""
    _, source, spec, constants = case
    rng = np.random.default_rng(13)
    xs = [torch.from_numpy(DOMAINS[d](rng, s)) for s, d in spec.values()]
    out = torch_function(source)(*xs, **{k: torch.from_numpy(np.asarray(v)) for k, v in constants.items()})
    return isinstance(out, torch.Tensor) and out.numel() == 1


LOSSES = [case for case in PASTED if _one_element(case)]


@pytest.mark.parametrize(("name", "source", "spec", "constants"), LOSSES, ids=[p[0] for p in LOSSES])
def test_the_hessian_of_pasted_torch_losses_matches_torch(name, source, spec, constants):
    """hessian, every pasted function with one one-element output: forward over reverse
    and the batched sweep of basis directions against torch's double backward."""
    rng = np.random.default_rng(13)
    xs = [DOMAINS[d](rng, s) for s, d in spec.values()]
    as_t = {k: torch.from_numpy(np.asarray(v)) for k, v in constants.items()}
    fn = torch_function(source)
    theirs = torch.autograd.functional.hessian(lambda *a: fn(*a, **as_t), tuple(map(torch.from_numpy, xs)))
    ours = jvpcli.hessian(source, tuple(xs), constants=constants)
    if len(xs) == 1:
        ours, theirs = ((ours,),), ((theirs[0][0],),)  # torch nests a 1-tuple of inputs: ((H,),)
    for row, trow in zip(ours, theirs):
        for block, tblock in zip(row, trow):
            np.testing.assert_allclose(block, tblock.detach().numpy().reshape(block.shape), rtol=1e-8, atol=1e-10)


# FUNC and its torch twin on shapes hypothesis draws: the rows/axes vary, the meaning must not
TWINS = [
    ("lambda q, k: F.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)", ("a", "b"), ("a", "b")),
    ("lambda x: (x - x.mean(dim=-1, keepdim=True)) / torch.sqrt(x.var(dim=-1, keepdim=True) + 1e-5)", ("a", "b"), None),
    ("lambda x: x.max(dim=-1)[0] + x.sort(dim=-1).values[..., 0]", ("a", "b"), None),
    ("lambda x: F.normalize(x, dim=-1) * torch.linalg.norm(x, dim=-1, keepdim=True)", ("a", "b"), None),
    ("lambda x: x.chunk(2, dim=-1)[0] * x.shape[-1]", ("a", "b"), None),
    ("lambda x: F.cross_entropy(x, torch.zeros(x.shape[0], dtype=torch.long))", ("a", "b"), None),
]


@pytest.mark.parametrize(("source", "first", "second"), TWINS, ids=[t[0][:50] for t in TWINS])
@settings(max_examples=10, deadline=None)
@given(a=st.integers(1, 4), b=st.integers(2, 5), data=st.data())
def test_a_func_and_its_torch_twin_agree_on_random_shapes(source, first, second, a, b, data):
    sizes = {"a": a, "b": b}
    shapes = [tuple(sizes[n] for n in first)] + ([tuple(sizes[n] for n in second)] if second else [])
    elements = st.floats(-2, 2, allow_nan=False, width=64)
    xs = [data.draw(hnp.arrays(np.float64, s, elements=elements)) for s in shapes]
    vs = [data.draw(hnp.arrays(np.float64, s, elements=elements)) for s in shapes]
    ours = jvpcli.jvp(source, tuple(xs), tuple(vs))
    theirs = torch_jvp(torch_function(source), xs, vs, {})
    compare(ours.output, theirs[0], 1e-7)
    compare(ours.jvp, theirs[1], 1e-7)
