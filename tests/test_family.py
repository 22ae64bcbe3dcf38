"""The family without torch: reverse rules against forward rules (the dot-product test),
jacobian strategies against central differences, Hessians, batches, and the CLI's errors."""

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import jvpcli
from jvpcli import family
from jvpcli.symbolic import ops as o
from jvpcli.symbolic import rules

#: FUNCs over x (and y) that reach every transpose; shapes are drawn per case
DOT_CASES = [
    ("sin(x) * x + exp(-x**2)", 1),
    ("x.sum(axis=AXIS, keepdims=KEEP) * 2", 1),
    ("x.mean(axis=AXIS, keepdims=KEEP)", 1),
    ("cumsum(x, axis=AXIS) + flip(x, AXIS)", 1),
    ("logsumexp(x, axis=AXIS) + softmax(x, axis=AXIS).sum(axis=AXIS)", 1),
    ("amax(x, axis=AXIS) + norm(x, axis=AXIS)", 1),
    ("reshape(x, -1)[1:] * 3", 1),
    ("x[..., 0] * 2 + x[0].sum()", 1),
    ("transpose(transpose(x) * 2) + squeeze(expand_dims(x, 0), 0)", 1),
    ("broadcast_to(x, (2, SHAPE)) * 2", 1),
    ("lambda x, y: x * y + x / (y**2 + 1)", 2),
    ("lambda x, y: where(x > y, x, y * 2) + maximum(x, y)", 2),
    ("lambda x, y: concatenate((x, y), axis=AXIS) * 2", 2),
    ("lambda x, y: stack((x, y), axis=AXIS) ** 2", 2),
]


#: the selections (transposed by adding where each element was taken from), cross and inner,
#: at fixed shapes (their index constants and axis of length 3 fix them): FUNC, inputs, constants
FIXED_DOT_CASES = [
    ("torch.tile(x, (2, 1)) * 3", [(2, 3)], {}),
    ("np.repeat(x, 2, axis=1) + np.repeat(x, 3).sum()", [(2, 3)], {}),
    ("torch.sin(x).repeat(2, 3)", [(2, 3)], {}),
    ("x[[0, 0, 1]] * 2 + x[:, [2, 2]].sum()", [(2, 3)], {}),
    ("x[m]", [(2, 3)], {"m": np.array([[True, False, True], [False, False, True]])}),
    ("torch.gather(x, 1, t[:, None]) + np.take_along_axis(x, t[:, None], axis=1)", [(2, 3)], {"t": np.array([2, 2])}),
    ("x.unbind(1)[2] + x.chunk(2, dim=1)[1].sum() + x.split([1, 2], dim=1)[0].sum()", [(2, 3)], {}),
    ("F.cross_entropy(x, t)", [(2, 3, 4)], {"t": np.array([[0, 2, 1, 1], [2, 2, 0, 1]])}),
    ("lambda x, y: torch.inner(x, y)", [(2, 3), (4, 3)], {}),
    ("lambda x, y: torch.linalg.cross(x, y)", [(2, 3), (3,)], {}),
]


@pytest.mark.parametrize(("func", "shapes", "constants"), FIXED_DOT_CASES)
def test_selections_cross_and_inner_transpose_to_their_adjoints(func, shapes, constants):
    """<u, J v> == <J^T u, v>, with repeated indices (their cotangents add up)."""
    rng = np.random.default_rng(3)
    xs = tuple(rng.standard_normal(s) for s in shapes)
    vs = tuple(rng.standard_normal(s) for s in shapes)
    forward = jvpcli.jvp(func, xs if len(xs) > 1 else xs[0], vs if len(vs) > 1 else vs[0], constants=constants)
    u = rng.standard_normal(np.shape(forward.output))
    back = family.vjp(func, xs if len(xs) > 1 else xs[0], u, constants=constants).vjp
    backs = back if isinstance(back, tuple) else (back,)
    right = sum(float(np.sum(b * v)) for b, v in zip(backs, vs))
    assert np.isclose(float(np.sum(u * forward.jvp)), right, rtol=1e-12, atol=1e-12)


def _shape_and_axis(draw_shape, axis_index):
    ndim = len(draw_shape)
    return draw_shape, (axis_index % ndim) - (ndim if axis_index % 2 else 0)


@settings(max_examples=40, deadline=None)
@given(
    case=st.sampled_from(DOT_CASES),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    axis=st.integers(0, 5),
    keep=st.booleans(),
    broadcast=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_reverse_is_the_adjoint_of_forward(case, shape, axis, keep, broadcast, seed):
    """<u, J v> == <J^T u, v> for every transpose, over shapes, axes and broadcasting."""
    text, n = case
    shape, ax = _shape_and_axis(shape, axis)
    func = text.replace("AXIS", str(ax)).replace("KEEP", str(keep)).replace("SHAPE", ", ".join(map(str, shape)))
    assume(not ("stack" in func and abs(ax) > len(shape)))
    rng = np.random.default_rng(seed)
    shapes = [
        shape,
        shape[1:] if broadcast and len(shape) > 1 and "concatenate" not in func and "stack" not in func else shape,
    ][:n]
    xs = tuple(rng.standard_normal(s) for s in shapes)
    vs = tuple(rng.standard_normal(s) for s in shapes)
    forward = jvpcli.jvp(func, xs, vs)
    outs = forward.output if isinstance(forward.output, tuple) else (forward.output,)
    us = tuple(rng.standard_normal(np.shape(out)) for out in outs)
    back = family.vjp(func, xs, us if len(us) > 1 else us[0]).vjp
    backs = back if isinstance(back, tuple) else (back,)
    jvps = forward.jvp if isinstance(forward.jvp, tuple) else (forward.jvp,)
    left = sum(float(np.sum(u * j)) for u, j in zip(us, jvps))
    right = sum(float(np.sum(b * v)) for b, v in zip(backs, vs))
    assert np.isclose(left, right, rtol=1e-9, atol=1e-9), (func, shapes, left, right)


def test_every_linear_op_has_a_transpose_and_every_transpose_op_a_jvp():
    """Both directions of the table: an op whose JVP is linear (or multilinear) in an
    argument transposes; the ops transposes are written in have rules of their own."""
    lacking = set()
    for op, entry in rules.entries().items():
        if entry.jvp in (rules.linear, rules.multilinear, rules.first_linear) and entry.transpose is None:
            lacking.add(op)
    assert not lacking
    for op in o.all_ops():
        if issubclass(op, o.ArrayTransposeOp) and op is not o.ArrayTransposeOp:
            entry = rules.RULES[op]
            assert isinstance(entry, rules.Entry) and entry.transpose is not None, op.__name__


def _central_jacobian(func, xs, h=1e-6):
    """J[i][j] by central differences of jvpcli's outputs."""
    outs = jvpcli.jvp(func, tuple(xs), tuple(np.zeros_like(x) for x in xs)).output
    outs = outs if isinstance(outs, tuple) else (outs,)
    rows = [[np.zeros(o.shape + x.shape) for x in xs] for o in outs]
    for j, x in enumerate(xs):
        for d in range(x.size):
            e = np.zeros(x.size)
            e[d] = h
            pts = [list(xs) for _ in range(2)]
            pts[0][j], pts[1][j] = x + e.reshape(x.shape), x - e.reshape(x.shape)
            plus, minus = (jvpcli.jvp(func, tuple(p), tuple(np.zeros_like(y) for y in p)).output for p in pts)
            plus, minus = (v if isinstance(v, tuple) else (v,) for v in (plus, minus))
            for i, (p, m) in enumerate(zip(plus, minus)):
                rows[i][j].reshape(outs[i].size, x.size)[:, d] = ((p - m) / (2 * h)).reshape(-1)
    return rows


def _flat(nested, n_out, n_in):
    rows = nested if n_out > 1 else (nested,)
    return [list(r) if n_in > 1 else [r] for r in rows]


@pytest.mark.parametrize(
    ("func", "shapes"),
    [
        ("sin(x) * x", [(5,)]),
        ("lambda x, W: tanh(W @ x)", [(3,), (2, 3)]),
        ("lambda x, y: (x * y.sum(), cumsum(x, 0) * y[0])", [(3,), (2,)]),
        ("softmax(x, axis=-1)", [(2, 3)]),
    ],
)
def test_jacobian_forward_equals_reverse_equals_central_differences(func, shapes):
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(s) for s in shapes]
    fwd = family.jacobian(func, tuple(xs), strategy="forward-mode", chunk_size=2)
    rev = family.jacobian(func, tuple(xs), strategy="reverse-mode")
    n_out = (
        len(fwd)
        if (isinstance(fwd, tuple) and len(xs) == 1) or (isinstance(fwd, tuple) and isinstance(fwd[0], tuple))
        else 1
    )
    fd = _central_jacobian(func, xs)
    n_out = len(fd)
    for a, b, c in zip(
        (x for r in _flat(fwd, n_out, len(xs)) for x in r),
        (x for r in _flat(rev, n_out, len(xs)) for x in r),
        (x for r in fd for x in r),
    ):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-7)


def test_hessian_is_symmetric_and_the_difference_of_the_gradient():
    func = "def f(x, W, b):\n    h = tanh(W @ x + b)\n    return (h**2).sum() + (x**3).sum()"
    rng = np.random.default_rng(1)
    xs = (rng.standard_normal(3), rng.standard_normal((2, 3)), rng.standard_normal(2))
    H = family.hessian(func, xs)
    for i in range(3):
        for j in range(3):
            np.testing.assert_allclose(
                H[i][j], np.moveaxis(H[j][i].reshape(xs[j].size, xs[i].size), 0, 1).reshape(H[i][j].shape), atol=1e-12
            )
    h = 1e-6
    for j, x in enumerate(xs):
        for d in range(x.size):
            e = np.zeros(x.size)
            e[d] = h
            plus, minus = ([*xs] for _ in range(2))
            plus[j], minus[j] = x + e.reshape(x.shape), x - e.reshape(x.shape)
            gp, gm = (family.vjp(func, tuple(p)).vjp for p in (plus, minus))
            for i in range(3):
                column = H[i][j].reshape(xs[i].size, x.size)[:, d]
                np.testing.assert_allclose(column, ((gp[i] - gm[i]) / (2 * h)).reshape(-1), rtol=1e-5, atol=1e-6)


def test_hvp_equals_vhp_for_a_smooth_function():
    rng = np.random.default_rng(2)
    xs = (rng.standard_normal(4), rng.standard_normal((3, 4)))
    vs = (rng.standard_normal(4), rng.standard_normal((3, 4)))
    func = "lambda x, W: logsumexp(W @ x) + (sin(W) * x).sum()"
    a, b = family.hvp(func, xs, vs), family.vhp(func, xs, vs)
    for p, q in zip(a.hvp, b.vhp):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)


def test_a_batch_equals_separate_calls():
    rng = np.random.default_rng(4)
    x, W = rng.standard_normal(3), rng.standard_normal((2, 3))
    vx, vW = rng.standard_normal((4, 3)), rng.standard_normal((4, 2, 3))
    program = jvpcli.parse("lambda x, W: tanh(W @ x)")
    batch = family.jvp_batch_at(program, jvpcli.api.Point({"x": x, "W": W}, {"x": vx, "W": vW}, {}))
    us = rng.standard_normal((4, 2))
    back = family.vjp_at(program, {"x": x, "W": W}, [us], {}, batch=True)
    # one matrix product for the batch rounds as BLAS's gemm does, a call each as its gemv: ulps apart
    close = {"rtol": 1e-14, "atol": 1e-16}
    for b in range(4):
        np.testing.assert_allclose(batch.jvp[b], jvpcli.jvp(program, (x, W), (vx[b], vW[b])).jvp, **close)
        one = family.vjp(program, (x, W), us[b]).vjp
        np.testing.assert_allclose(back.vjp[0][b], one[0], **close)
        np.testing.assert_allclose(back.vjp[1][b], one[1], **close)


def test_reverse_mode_refuses_a_linear_op_without_a_transpose_clearly(monkeypatch):
    """Every linear op has a transpose today; one added without it is refused in words."""
    monkeypatch.setitem(rules.RULES, o.ArrayTile, rules.Entry(rules.linear))
    with pytest.raises(jvpcli.JvpcliError, match=r"reverse mode does not support tile yet \(it has no transpose\)"):
        family.vjp("tile(x, 4)", np.ones(3), np.ones(12))


def test_an_elementwise_jacobian_of_a_million_entries_is_its_diagonal():
    x = np.linspace(0.1, 1.0, 1000)
    J = family.jacobian("sin(x) * x", x)
    np.testing.assert_allclose(np.diag(J), np.cos(x) * x + np.sin(x))
    assert np.count_nonzero(J) == 1000


# ---- the command line -------------------------------------------------------------------
def _json(result):
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_vjp_command_nests_and_keys_like_torch(run, tmp_path):
    doc = _json(
        run(
            "vjp",
            "lambda x, y: (x * y, x.sum())",
            "[1.0, 2.0]",
            "[3.0, 4.0]",
            "-v",
            "ones",
            "-v",
            "2",
            "--format",
            "json",
        )
    )
    assert [a["data"] for a in doc["vjp"]] == [[5.0, 6.0], [1.0, 2.0]]
    assert [a["shape"] for a in doc["output"]] == [[2], []]
    path = tmp_path / "j.npz"
    assert run("jacobian", "lambda x, y: (x * y, x.sum())", "[1.0, 2.0]", "[3.0, 4.0]", "-o", str(path)).exit_code == 0
    with np.load(path) as npz:
        assert sorted(npz) == ["jacobian_0_0", "jacobian_0_1", "jacobian_1_0", "jacobian_1_1"]
        np.testing.assert_array_equal(npz["jacobian_1_0"], [1.0, 1.0])
    doc = _json(run("hessian", "(x**3).sum()", "[1.0, 2.0]", "--format", "json", "--only", "hessian"))
    assert doc == {"hessian": {"shape": [2, 2], "dtype": "float64", "data": [[6.0, 0.0], [0.0, 12.0]]}}


def test_vjp_with_create_graph_names_the_cotangent_u(run):
    doc = _json(run("vjp", "sin(x) * x", "[0.5]", "--create-graph", "--format", "json"))
    assert doc["graph"]["vjp"] == "u*x*cos(x) + u*sin(x)"


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["vjp", "sin(x)", "[1.0, 2.0]"], 2, "v is required"),
        (["vjp", "sin(x)", "[1.0, 2.0]", "-v", "[1.0]"], 1, "cotangent"),
        (["vjp", "lambda x, y: x * 2", "[1.0]", "[2.0]", "--strict"], 1, "independent of input 'y'"),
        (["vjp", "lambda x, y: x * 2", "[1.0]", "[2.0]", "--strict"], 1, "independent of input 'y'"),
        (["vjp", "where(x > 0, 1.0, 2.0)", "[1.0]", "--strict"], 1, "does not depend on any input"),
        (["hessian", "x * 2", "[1.0, 2.0]"], 1, "single element"),
        (["hessian", "lambda x, y: (x * y).sum()", "[1.0]", "[2.0]", "--strict"], 1, "independent of input 'x'"),
        (["hessian", "x.sum()", "[1.0, 2.0]", "--strict"], 1, "independent of the inputs"),
        (
            ["jacobian", "lambda x, y: (x * 2, y)", "[1.0]", "[2.0]", "--strict"],
            1,
            "output 0 is independent of input 'y'",
        ),
        (["hvp", "(x**2).sum()", "[1.0, 2.0]"], 2, "v is required"),
        (["hvp", "(x**2).sum()", "[1.0, 2.0]", "-v", "[1.0]"], 1, "tangent for input 'x'"),
        (["jacobian", "sin(x)", "[1.0]", "-v", "ones"], 2, "No such option '-v'"),
        (["jvp", "sin(x)", "[1.0, 2.0]", "-v", "[1.0, 2.0]", "--batch"], 1, "--batch"),
    ],
)
def test_errors_have_their_exit_status_and_message(run, args, status, message):
    result = run(*args)
    assert result.exit_code == status, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "func",
    [
        "x[0, 1:] * 2 + x[..., -1].sum()",
        "(tanh(x @ x)**2).sum(axis=0)",
        "cumsum(x, 0) + concatenate((x, x), axis=1).sum(axis=1, keepdims=True)",
        "trace(x) * diag(x) + reshape(x, -1)[:3]",
        "einsum('ij,jk->ik', x, exp(x)) + dot(x, x) + broadcast_to(x[0], (3, 3))",
        "softmax(x, axis=-1) * x.mean(axis=0)",
    ],
)
def test_the_graph_of_a_vjp_reads_back_as_func(func):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 3))
    u = rng.standard_normal(np.shape(jvpcli.jvp(func, x, np.zeros_like(x)).output))
    result = family.vjp(func, x, u, create_graph=True)
    text = result.graph["vjp"]
    again = jvpcli.jvp(f"lambda x, u: {text}", (x, u), (np.zeros_like(x), np.zeros_like(u))).output
    np.testing.assert_allclose(again, result.vjp, rtol=1e-12, atol=1e-12)


def test_the_facts_of_every_entry_hold():
    """Every per-op fact lives in the op's entry: axes it acts along, ``out=``, FUNC names."""
    import inspect

    from jvpcli.kernels import runtime
    from jvpcli.lang.functions import FUNCTIONS

    for op, entry in rules.entries().items():
        if entry.by_axis:
            assert issubclass(op, o.ArrayOp) and "axis" in op.params, op
        if entry.takes_out:
            module, name = op.numpy_name.split(".", 1)
            assert "out" in inspect.signature(getattr(np if module == "numpy" else runtime, name)).parameters, op
        if entry.func_name:
            assert not issubclass(op, o.ArrayOp) and entry.func_name in FUNCTIONS, op
    for op in o.all_ops():
        if op.numpy_name.startswith("_rt."):
            assert callable(getattr(runtime, op.numpy_name[4:], None)), op.__name__
        if op.func_name:
            assert op.func_name in FUNCTIONS, op.__name__  # printed graphs read back
