"""A batch of tangents (cotangents) in one evaluation gives, slice by slice, what separate
calls give: every batch rule of the table (``symbolic/batch_rules.py``) and the lifting of
elementwise operands, on shapes where the batch axis could be mistaken for another one."""

from __future__ import annotations

import numpy as np
import pytest

import jvpcli
from jvpcli import family
from jvpcli.api import Point
from jvpcli.symbolic import ops as o
from jvpcli.symbolic import rules

#: FUNC, its inputs' shapes, its constants' shapes: every batch rule, and each kind of
#: argument (a vector, a matrix, a stack) where its axes move
CASES = [
    # elementwise: a batched operand of lower rank than the other (B == 4 == c's first axis)
    ("x * c", {"x": (3,)}, {"c": (4, 3)}),
    ("x + y", {"x": (3,), "y": (4, 3)}, {}),
    ("where(c > 0, sin(x), x**2)", {"x": (3,)}, {"c": (4, 3)}),
    ("maximum(x, c) + clip(x, -0.5, 0.5)", {"x": (3,)}, {"c": (2, 3)}),
    # reductions and ops along an axis
    ("x.sum() * x", {"x": (4, 3)}, {}),
    ("x.sum(axis=0) + x.mean(axis=-1, keepdims=True)", {"x": (3, 3)}, {}),
    ("x.sum(axis=(0, 1), keepdims=True) * x", {"x": (2, 3)}, {}),
    ("x.mean() + prod(x, axis=1).sum()", {"x": (2, 3)}, {}),
    ("amax(x, axis=0) + amin(x)", {"x": (3, 2)}, {}),
    ("logsumexp(x, axis=0) * softmax(x, axis=1)[0]", {"x": (2, 3)}, {}),
    ("cumsum(x, axis=0) + flip(x, axis=1) + roll(x, 1, axis=0)", {"x": (2, 3)}, {}),
    ("norm(x, axis=0) + norm(x)", {"x": (2, 3)}, {}),
    # shapes
    ("reshape(x, (3, 2)) @ y", {"x": (2, 3), "y": (2,)}, {}),
    ("x.T @ x + transpose(x, (1, 0)) @ x", {"x": (3, 2)}, {}),
    ("swapaxes(x, 0, 1).sum(axis=1) + expand_dims(x, 0).sum(axis=1)[0]", {"x": (2, 3)}, {}),
    ("squeeze(x) * 2 + x.flatten()[:3].sum()", {"x": (1, 3)}, {}),
    ("broadcast_to(x, (4, 3)) * c", {"x": (3,)}, {"c": (4, 3)}),
    ("trace(x) + diagonal(x).sum() + tril(x).sum() + diag(x).sum()", {"x": (3, 3)}, {}),
    ("concatenate([x, y]) * 2 + stack([x, y]).sum(axis=0).sum()", {"x": (3,), "y": (3,)}, {}),
    # indexing
    ("x[0] + x[:, 1] + x[..., -1] + x[1:, None, ::2].sum()", {"x": (3, 3)}, {}),
    ("x[c > 0].sum() + x[[0, 2]].sum(axis=0)", {"x": (3, 2)}, {"c": (3, 2)}),
    # linear algebra: vectors, matrices and stacks on either side of matmul
    ("tanh(A @ x)", {"x": (3,)}, {"A": (4, 3)}),
    ("x @ A + A.T @ x[:4]", {"x": (4,)}, {"A": (4, 3)}),
    ("x @ y", {"x": (3,), "y": (3,)}, {}),
    ("W @ x + x @ W", {"x": (3, 3), "W": (3, 3)}, {}),
    ("S @ x", {"x": (3,)}, {"S": (2, 4, 3)}),
    ("x @ S", {"x": (2, 3, 4)}, {"S": (4,)}),
    ("dot(x, y) + einsum('i,i->', x, y)", {"x": (3,), "y": (3,)}, {}),
    ("dot(W, x).sum() + dot(x, W)[0] + dot(2.0, x).sum() + einsum('ij,j', W, x).sum()", {"x": (3,), "W": (3, 3)}, {}),
    ("einsum('...ij,jk->...ik', S, W).sum(axis=0) + einsum('ij->j', W)", {"S": (2, 3, 3), "W": (3, 3)}, {}),
    ("inner(x, y)", {"x": (3,), "y": (3,)}, {}),
    ("inv(x).sum() + det(x) + solve(x, y).sum()", {"x": (3, 3), "y": (3,)}, {}),
]


def _point(inputs: dict, constants: dict, seed: int = 0):
    rng = np.random.default_rng(seed)
    # square matrices kept well away from singular (inv, det, solve)
    xs = {n: rng.standard_normal(s) + (3 * np.eye(s[0]) if s[:1] * 2 == s else 0) for n, s in inputs.items()}
    cs = {n: rng.standard_normal(s) for n, s in constants.items()}
    return rng, xs, cs


@pytest.mark.parametrize(("func", "inputs", "constants"), CASES)
def test_a_batch_of_tangents_is_each_tangent_alone(func, inputs, constants):
    rng, xs, cs = _point(inputs, constants)
    vs = {n: rng.standard_normal((4, *x.shape)) for n, x in xs.items()}
    program = jvpcli.parse(func)
    batch = family.jvp_batch_at(program, Point(xs, vs, cs))
    for b in range(4):
        alone = jvpcli.jvp(program, xs, {n: v[b] for n, v in vs.items()}, constants=cs)
        got = batch.jvp if isinstance(batch.jvp, tuple) else (batch.jvp,)
        want = alone.jvp if isinstance(alone.jvp, tuple) else (alone.jvp,)
        for g, w in zip(got, want):
            assert g.shape[1:] == w.shape
            np.testing.assert_allclose(g[b], w, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(("func", "inputs", "constants"), CASES)
def test_a_batch_of_cotangents_is_each_cotangent_alone(func, inputs, constants):
    rng, xs, cs = _point(inputs, constants, seed=1)
    program = jvpcli.parse(func)
    outputs = family.vjp_at(program, xs, lambda outs: outs, cs).output
    outs = outputs if isinstance(outputs, tuple) else (outputs,)
    us = [rng.standard_normal((4, *np.shape(out))) for out in outs]
    batch = family.vjp_at(program, xs, us, cs, batch=True).vjp
    got = batch if isinstance(batch, tuple) else (batch,)
    for b in range(4):
        alone = family.vjp_at(program, xs, [u[b] for u in us], cs).vjp
        want = alone if isinstance(alone, tuple) else (alone,)
        for g, w in zip(got, want):
            assert g.shape[1:] == w.shape
            np.testing.assert_allclose(g[b], w, rtol=1e-12, atol=1e-13)


def test_every_operation_that_is_not_elementwise_says_how_it_acts_on_a_batch():
    for op in o.all_ops():
        entry = rules.entries()[op]
        assert op.elementwise or entry.batch is not None, op.__name__


def test_a_batch_of_one_and_a_broadcast_batch():
    """Zero tangents for the other inputs are broadcast views: the helpers take them as they are."""
    _, xs, cs = _point({"x": (3,), "W": (3, 3)}, {})
    program = jvpcli.parse("tanh(W @ x).sum()")
    vs = {"x": np.eye(3), "W": np.broadcast_to(np.zeros((3, 3)), (3, 3, 3))}
    batch = family.jvp_batch_at(program, Point(xs, vs, cs)).jvp
    for b in range(3):
        alone = jvpcli.jvp(program, xs, {"x": np.eye(3)[b], "W": np.zeros((3, 3))}).jvp
        np.testing.assert_allclose(batch[b], alone, rtol=1e-13)
