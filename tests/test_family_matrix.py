"""The six commands from the command line against torch.autograd.functional and torch.func.

Every expected value, shape, dtype, nesting and strict verdict comes from torch 2.13 computing
the same thing; the contract (``cli-contract.md``, "The torch.autograd.functional family")
fixes only how jvpcli lays torch's results out: JSON keys, npz keys, the order of npy
records, ``--only``, ``-o``. Most cases run the CLI in process (click's runner); a few run
it as a real process.

Needs the optional 'torch' extra; skipped with that reason otherwise.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from conftest import npy_records

torch = pytest.importorskip("torch", reason="the torch extra is not installed (pip install 'jvpcli[torch]')")
pytestmark = pytest.mark.torch
F = torch.autograd.functional
RTOL = {"float64": 1e-10, "float32": 1e-5}
ATOL = {"float64": 1e-12, "float32": 1e-6}


# ---- the functions, in FUNC's language and in torch's ------------------------------------------
class Case:
    """FUNC, the same function for torch, and its inputs' names and shapes."""

    def __init__(self, func: str, torch_func, shapes: dict[str, tuple[int, ...]]):
        self.func, self.torch_func, self.shapes = func, torch_func, shapes

    def __repr__(self) -> str:
        return self.func

    @property
    def names(self) -> list[str]:
        return list(self.shapes)

    def inputs(self, dtype: str, seed: int = 3) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [rng.standard_normal(s).astype(dtype) for s in self.shapes.values()]


def _sum(f):
    return lambda *a: f(*a).sum()


#: one and several inputs, single and tuple outputs, a 0-d input, a matrix product
GENERAL = {
    "elementwise": Case("sin(x) * x", lambda x: torch.sin(x) * x, {"x": (3,)}),
    "reduce-rows": Case("x.exp().sum(dim=1)", lambda x: x.exp().sum(dim=1), {"x": (2, 3)}),
    "two-inputs": Case("lambda x, y: x * y + sin(x)", lambda x, y: x * y + torch.sin(x), {"x": (3,), "y": (3,)}),
    "two-outputs": Case("lambda x, y: (x * y, x.sum())", lambda x, y: (x * y, x.sum()), {"x": (2,), "y": (2,)}),
    "one-in-two-out": Case("lambda x: (sin(x), (x**2).sum())", lambda x: (torch.sin(x), (x**2).sum()), {"x": (3,)}),
    "matmul": Case("lambda x, W: tanh(W @ x)", lambda x, W: torch.tanh(W @ x), {"x": (3,), "W": (2, 3)}),
    "0-d": Case("x**3", lambda x: x**3, {"x": ()}),
}
#: one-element outputs, for hessian, hvp and vhp
SCALAR = {
    "cubic": Case("(x**3).sum()", lambda x: (x**3).sum(), {"x": (3,)}),
    "matrix": Case("(sin(x) * x).sum()", lambda x: (torch.sin(x) * x).sum(), {"x": (2, 2)}),
    "two-inputs": Case(
        "lambda x, y: (x**2 * y).sum() + (y**3).sum()",
        lambda x, y: (x**2 * y).sum() + (y**3).sum(),
        {"x": (2,), "y": (2,)},
    ),
    "mlp": Case(
        "lambda x, W, b: (tanh(W @ x + b)**2).sum()",
        lambda x, W, b: (torch.tanh(W @ x + b) ** 2).sum(),
        {"x": (3,), "W": (2, 3), "b": (2,)},
    ),
    "0-d": Case("x**4", lambda x: x**4, {"x": ()}),
}


# ---- helpers -----------------------------------------------------------------------------------
def _t(a: np.ndarray):
    return torch.from_numpy(np.array(a))


def _np(value):
    if isinstance(value, (tuple, list)):
        return tuple(_np(v) for v in value)
    return value.detach().numpy()


def _pack(items: list, many: bool):
    return tuple(items) if many else items[0]


def _decode(node):
    """A JSON ARRAY, or a list of them (a tuple), as numpy."""
    if isinstance(node, list):
        return tuple(_decode(n) for n in node)
    data = np.array(node["data"], dtype=np.float64)
    if np.dtype(node["dtype"]).kind == "c":
        data = data[..., 0] + 1j * data[..., 1]
    a = data.astype(node["dtype"]).reshape(node["shape"])
    assert list(a.shape) == node["shape"]
    return a


def _same(ours, ref, dtype: str | None = None) -> None:
    """Nesting, shapes, dtypes and values exactly as torch's."""
    if isinstance(ref, tuple):
        assert isinstance(ours, tuple), f"expected a tuple of {len(ref)}, got an array"
        assert len(ours) == len(ref)
        for a, b in zip(ours, ref):
            _same(a, b, dtype)
        return
    assert not isinstance(ours, tuple), f"expected one array, got a tuple of {len(ours)}"
    assert ours.shape == ref.shape
    assert ours.dtype == ref.dtype, (ours.dtype, ref.dtype)
    kind = dtype or ref.dtype.name
    kind = "float32" if kind in ("float32", "complex64") else "float64"
    np.testing.assert_allclose(ours, ref, rtol=RTOL[kind], atol=ATOL[kind])


def _files(tmp_path, arrays: list[np.ndarray], stem: str) -> list[str]:
    paths = []
    for i, a in enumerate(arrays):
        p = tmp_path / f"{stem}{i}.npy"
        np.save(p, a)
        paths.append(str(p))
    return paths


def _vs(paths: list[str]) -> list[str]:
    return [arg for p in paths for arg in ("-v", p)]


@pytest.fixture
def cli_json(run):
    def invoke(*args):
        result = run(*args, "--format", "json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    return invoke


def _tangents(case: Case, dtype: str, seed: int = 11) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in case.shapes.values()]


def _torch_out(case: Case, xs: list[np.ndarray]):
    return case.torch_func(*map(_t, xs))


def _inputs_arg(xs: list[np.ndarray]):
    return _pack([_t(x) for x in xs], len(xs) != 1)


# ---- values, nesting and dtypes against torch.autograd.functional --------------------------------
DTYPES = ["float64", "float32"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", list(GENERAL))
def test_jvp(cli_json, tmp_path, key, dtype):
    case = GENERAL[key]
    xs, vs = case.inputs(dtype), _tangents(case, dtype)
    ref_out, ref_jvp = F.jvp(case.torch_func, _inputs_arg(xs), _inputs_arg(vs))
    got = cli_json("jvp", case.func, *_files(tmp_path, xs, "x"), *_vs(_files(tmp_path, vs, "v")))
    assert set(got) == {"output", "jvp"}
    _same(_decode(got["output"]), _np(ref_out), dtype)
    _same(_decode(got["jvp"]), _np(ref_jvp), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", list(GENERAL))
def test_vjp(cli_json, tmp_path, key, dtype):
    case = GENERAL[key]
    xs = case.inputs(dtype)
    outs = _torch_out(case, xs)
    many = isinstance(outs, tuple)
    rng = np.random.default_rng(5)
    us = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in (outs if many else (outs,))]
    ref_out, ref_vjp = F.vjp(case.torch_func, _inputs_arg(xs), _pack([_t(u) for u in us], many))
    got = cli_json("vjp", case.func, *_files(tmp_path, xs, "x"), *_vs(_files(tmp_path, us, "u")))
    assert set(got) == {"output", "vjp"}
    _same(_decode(got["output"]), _np(ref_out), dtype)
    _same(_decode(got["vjp"]), _np(ref_vjp), dtype)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", list(GENERAL))
def test_jacobian(cli_json, tmp_path, key, dtype, strategy):
    case = GENERAL[key]
    xs = case.inputs(dtype)
    ref = F.jacobian(case.torch_func, _inputs_arg(xs), strategy=strategy, vectorize=True)
    got = cli_json("jacobian", case.func, *_files(tmp_path, xs, "x"), "--strategy", strategy, "--chunk-size", "2")
    assert set(got) == {"jacobian"}
    _same(_decode(got["jacobian"]), _np(ref), dtype)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", list(SCALAR))
def test_hessian(cli_json, tmp_path, key, dtype, strategy):
    case = SCALAR[key]
    xs = case.inputs(dtype)
    ref = F.hessian(case.torch_func, _inputs_arg(xs), outer_jacobian_strategy=strategy, vectorize=True)
    got = cli_json("hessian", case.func, *_files(tmp_path, xs, "x"), "--outer-jacobian-strategy", strategy)
    assert set(got) == {"hessian"}
    _same(_decode(got["hessian"]), _np(ref), dtype)


@pytest.mark.parametrize("kind", ["hvp", "vhp"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", list(SCALAR))
def test_products(cli_json, tmp_path, key, dtype, kind):
    case = SCALAR[key]
    xs, vs = case.inputs(dtype), _tangents(case, dtype)
    ref_out, ref = getattr(F, kind)(case.torch_func, _inputs_arg(xs), _inputs_arg(vs))
    got = cli_json(kind, case.func, *_files(tmp_path, xs, "x"), *_vs(_files(tmp_path, vs, "v")))
    assert set(got) == {"output", kind}
    _same(_decode(got["output"]), _np(ref_out), dtype)
    _same(_decode(got[kind]), _np(ref), dtype)


# ---- complex and integer inputs ------------------------------------------------------------------
def _complex(shape, seed=2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.mark.parametrize(
    "func, torch_func",
    [("sin(z) * z", lambda z: torch.sin(z) * z), ("exp(z) / (1 + z**2)", lambda z: torch.exp(z) / (1 + z**2))],
)
@pytest.mark.parametrize("command", ["jvp", "vjp"])
def test_complex_holomorphic(cli_json, tmp_path, command, func, torch_func):
    z, w = _complex((3,)), _complex((3,), 9)
    ref_out, ref = getattr(F, command)(torch_func, _t(z), _t(w))
    got = cli_json(command, func, *_files(tmp_path, [z], "z"), "-v", _files(tmp_path, [w], "w")[0])
    _same(_decode(got["output"]), _np(ref_out))
    _same(_decode(got[command]), _np(ref))


def test_complex_vjp_is_conjugate_times_u(cli_json, tmp_path):
    """The contract's vjp for complex z: conj(f'(z)) * u, as torch's."""
    z, u = _complex((2,)), _complex((2,), 4)
    got = _decode(cli_json("vjp", "z**3", *_files(tmp_path, [z], "z"), "-v", _files(tmp_path, [u], "u")[0])["vjp"])
    _same(got, _np(F.vjp(lambda z: z**3, _t(z), _t(u))[1]))
    np.testing.assert_allclose(got, np.conj(3 * z**2) * u, rtol=1e-12)


def test_complex_jacobian(cli_json, tmp_path):
    """J with J v the jvp: torch's forward-mode Jacobian (its reverse mode gives conj(J), the
    vjp's convention, and torch.func refuses complex inputs)."""
    z = _complex((2,))
    ref = F.jacobian(lambda z: torch.sin(z) * z, _t(z), vectorize=True, strategy="forward-mode")
    _same(_decode(cli_json("jacobian", "sin(z) * z", *_files(tmp_path, [z], "z"))["jacobian"]), _np(ref))


@pytest.mark.parametrize(
    "command, extra",
    [
        ("jvp", ["-v", "[1, 0, 2]"]),
        ("vjp", ["-v", "[1, 1, 1]"]),
        ("jacobian", []),
        ("hessian", []),
        ("hvp", ["-v", "[1, 0, 2]"]),
    ],
)
def test_integer_inputs_are_promoted(cli_json, command, extra):
    """Integer inputs are float64, as torch needs floating inputs to differentiate."""
    x = np.array([1, 2, 3])
    scalar = command in ("hessian", "hvp")
    func, torch_func = ("(x**3).sum()", lambda x: (x**3).sum()) if scalar else ("x**3", lambda x: x**3)
    got = cli_json(command, func, "[1, 2, 3]", *extra)
    tx = _t(x.astype(np.float64))
    if command == "jacobian":
        ref = {"jacobian": F.jacobian(torch_func, tx)}
    elif command == "hessian":
        ref = {"hessian": F.hessian(torch_func, tx)}
    else:
        v = _t(np.array(json.loads(extra[1]), dtype=np.float64))
        out, prod = getattr(F, command)(torch_func, tx, v)
        ref = {"output": out, command: prod}
    assert set(got) == set(ref)
    for k, r in ref.items():
        _same(_decode(got[k]), _np(r))


# ---- npz keys, npy order, --only, -o -------------------------------------------------------------
#: a command line for each command and the arrays torch gives, in the contract's order and names
def _layout(command: str):
    x, y = np.array([0.5, -1.5]), np.array([2.0, 0.25])
    tx, ty = _t(x), _t(y)
    base = ["lambda x, y: (x * y, sin(x).sum())", "[0.5, -1.5]", "[2.0, 0.25]"]
    two = lambda x, y: (x * y, torch.sin(x).sum())  # noqa: E731
    scalar = ["lambda x, y: (x**2 * y).sum()", "[0.5, -1.5]", "[2.0, 0.25]"]
    sc = lambda x, y: (x**2 * y).sum()  # noqa: E731
    if command == "jvp":
        out, j = F.jvp(two, (tx, ty), (_t(np.ones(2)), _t(np.zeros(2))))
        return [*base, "-v", "ones", "-v", "zeros"], {"output": _np(out), "jvp": _np(j)}
    if command == "vjp":
        out, g = F.vjp(two, (tx, ty), (_t(np.array([1.0, 2.0])), _t(np.array(3.0))))
        return [*base, "-v", "[1, 2]", "-v", "3"], {"output": _np(out), "vjp": _np(g)}
    if command == "jacobian":
        return base, {"jacobian": _np(F.jacobian(two, (tx, ty)))}
    if command == "hessian":
        return scalar, {"hessian": _np(F.hessian(sc, (tx, ty)))}
    v = (_t(np.array([1.0, -1.0])), _t(np.array([0.5, 2.0])))
    out, p = getattr(F, command)(sc, (tx, ty), v)
    return [*scalar, "-v", "[1, -1]", "-v", "[0.5, 2]"], {"output": _np(out), command: _np(p)}


def _flat(name: str, value) -> list[tuple[str, np.ndarray]]:
    """The contract's keys: the name alone, ``NAME_i`` for a list, ``NAME_i_j`` for a list of lists."""
    if not isinstance(value, tuple):
        return [(name, value)]
    return [item for i, v in enumerate(value) for item in _flat(f"{name}_{i}", v)]


COMMANDS = ["jvp", "vjp", "jacobian", "hessian", "hvp", "vhp"]


@pytest.mark.parametrize("command", COMMANDS)
def test_npz_keys(run, tmp_path, command):
    args, ref = _layout(command)
    path = tmp_path / "out.npz"
    result = run(command, *args, "-o", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    expected = [kv for name, value in ref.items() for kv in _flat(name, value)]
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == sorted(k for k, _ in expected)
        for k, v in expected:
            _same(z[k], v)


@pytest.mark.parametrize("command", COMMANDS)
def test_npy_order(run, command):
    args, ref = _layout(command)
    result = run(command, *args, "--format", "npy")
    assert result.exit_code == 0, result.stderr
    records = npy_records(result.stdout_bytes)
    expected = [v for name, value in ref.items() for _, v in _flat(name, value)]
    assert len(records) == len(expected)
    for r, v in zip(records, expected):
        _same(r, v)


@pytest.mark.parametrize("command", COMMANDS)
def test_json_layout(cli_json, command):
    args, ref = _layout(command)
    got = cli_json(command, *args)
    assert list(got) == list(ref)
    for k, v in ref.items():
        _same(_decode(got[k]), v)


@pytest.mark.parametrize(
    "command, only", [(c, o) for c in COMMANDS for o in ("output", c) if c not in ("jacobian", "hessian") or o == c]
)
def test_only(cli_json, run, command, only):
    args, ref = _layout(command)
    got = cli_json(command, *args, "--only", only)
    assert list(got) == [only]
    _same(_decode(got[only]), ref[only])


@pytest.mark.parametrize("command", ["jacobian", "hessian"])
def test_only_output_is_refused_where_there_is_none(run, command):
    args, _ = _layout(command)
    assert run(command, *args, "--only", "output").exit_code == 2


@pytest.mark.parametrize("command", COMMANDS)
def test_o_json_and_npy(run, tmp_path, command):
    args, ref = _layout(command)
    path = tmp_path / "out.json"
    assert run(command, *args, "-o", str(path)).exit_code == 0
    got = json.loads(path.read_text())
    for k, v in ref.items():
        _same(_decode(got[k]), v)
    # .npy takes a single array: refused for several, with a hint
    several = run(command, *args, "-o", str(tmp_path / "out.npy"))
    assert several.exit_code == 2
    assert "--only" in several.stderr or ".npz" in several.stderr
    assert not (tmp_path / "out.npy").exists()


@pytest.mark.parametrize("command", ["vjp", "hvp", "vhp"])
def test_o_npy_single_array(run, tmp_path, command):
    case = SCALAR["cubic"]
    x = case.inputs("float64")[0]
    _, prod = getattr(F, command)(case.torch_func, _t(x), _t(np.ones(3)) if command != "vjp" else None)
    path = tmp_path / "g.npy"
    v = ["-v", "ones"] if command != "vjp" else []
    result = run(command, case.func, *_files(tmp_path, [x], "x"), *v, "--only", command, "-o", str(path))
    assert result.exit_code == 0, result.stderr
    _same(np.load(path), _np(prod))


# ---- -v forms ------------------------------------------------------------------------------------
@pytest.mark.parametrize("gen", ["ones", "zeros", "rand", "randn"])
def test_vjp_cotangent_generators_take_the_output_shape(cli_json, tmp_path, gen):
    case = GENERAL["reduce-rows"]  # input (2, 3), output (2,)
    x = case.inputs("float64")[0]
    u = {"ones": np.ones(2), "zeros": np.zeros(2), "rand": np.random.default_rng(7).random(2)}.get(gen)
    if u is None:  # docs/cli.md: randn's own stream, PCG64(seed) advanced by 2**64 draws
        bits = np.random.PCG64(7)
        bits.advance(1 << 64)
        u = np.random.Generator(bits).standard_normal(2)
    ref_out, ref = F.vjp(case.torch_func, _t(x), _t(u))
    got = cli_json("vjp", case.func, *_files(tmp_path, [x], "x"), "-v", gen, "--seed", "7")
    _same(_decode(got["vjp"]), _np(ref))
    _same(_decode(got["output"]), _np(ref_out))


def test_vjp_cotangents_per_output_shape(cli_json, tmp_path):
    """ones for a tuple output: each shaped like its own output."""
    case = GENERAL["two-outputs"]
    xs = case.inputs("float64")
    ref = F.vjp(case.torch_func, _inputs_arg(xs), (_t(np.ones(2)), _t(np.ones(()))))[1]
    got = cli_json("vjp", case.func, *_files(tmp_path, xs, "x"), "-v", "ones", "-v", "ones")
    _same(_decode(got["vjp"]), _np(ref))


def test_vjp_default_cotangent_for_one_element(cli_json):
    ref = F.vjp(lambda x: (x**2).sum(), _t(np.array([1.0, 3.0])))[1]
    _same(_decode(cli_json("vjp", "(x**2).sum()", "[1.0, 3.0]")["vjp"]), _np(ref))


@pytest.mark.parametrize("kind", ["jvp", "hvp", "vhp"])
def test_named_tangents(cli_json, tmp_path, kind):
    """-v NAME=SOURCE binds by name, in any order; positional -v in input order."""
    case = SCALAR["two-inputs"]
    xs, vs = case.inputs("float64"), _tangents(case, "float64")
    ref = getattr(F, kind)(case.torch_func, _inputs_arg(xs), _inputs_arg(vs))[1]
    xp, (vx, vy) = _files(tmp_path, xs, "x"), _files(tmp_path, vs, "v")
    by_name = cli_json(kind, case.func, *xp, "-v", f"y={vy}", "-v", f"x={vx}")
    in_order = cli_json(kind, case.func, f"x={xp[0]}", "-i", f"y={xp[1]}", "-v", vx, "-v", vy)
    for got in (by_name, in_order):
        _same(_decode(got[kind]), _np(ref))


@pytest.mark.parametrize("kind", ["hvp", "vhp"])
def test_product_tangent_generators_take_the_input_shape(cli_json, tmp_path, kind):
    case = SCALAR["matrix"]
    x = case.inputs("float64")[0]
    ref = getattr(F, kind)(case.torch_func, _t(x), _t(np.random.default_rng(0).random((2, 2))))[1]
    _same(_decode(cli_json(kind, case.func, *_files(tmp_path, [x], "x"), "-v", "rand")[kind]), _np(ref))


@pytest.mark.parametrize("kind", ["hvp", "vhp"])
def test_product_default_tangent_for_one_element(cli_json, kind):
    ref = getattr(F, kind)(lambda x: x**4, _t(np.array(1.5)))
    got = cli_json(kind, "x**4", "1.5")
    _same(_decode(got["output"]), _np(ref[0]))
    _same(_decode(got[kind]), _np(ref[1]))


# ---- --batch against torch.func.vmap -----------------------------------------------------------
@pytest.mark.parametrize("key", ["elementwise", "two-inputs", "two-outputs", "matmul"])
def test_jvp_batch(cli_json, tmp_path, key):
    case = GENERAL[key]
    xs = case.inputs("float64")
    rng = np.random.default_rng(8)
    vs = [rng.standard_normal((4, *s)) for s in case.shapes.values()]
    txs = tuple(map(_t, xs))
    ref = torch.func.vmap(lambda *t: torch.func.jvp(case.torch_func, txs, t)[1])(*map(_t, vs))
    got = cli_json("jvp", case.func, *_files(tmp_path, xs, "x"), *_vs(_files(tmp_path, vs, "v")), "--batch")
    _same(_decode(got["jvp"]), _np(ref))
    _same(_decode(got["output"]), _np(case.torch_func(*txs)))


@pytest.mark.parametrize("key", ["elementwise", "reduce-rows", "two-inputs", "two-outputs", "matmul"])
def test_vjp_batch(cli_json, tmp_path, key):
    case = GENERAL[key]
    xs = case.inputs("float64")
    txs = tuple(map(_t, xs))
    outs = case.torch_func(*txs)
    many = isinstance(outs, tuple)
    rng = np.random.default_rng(8)
    us = [rng.standard_normal((3, *o.shape)) for o in (outs if many else (outs,))]
    _, pull = torch.func.vjp(case.torch_func, *txs)
    ref = torch.func.vmap(lambda *u: pull(_pack(list(u), many)))(*map(_t, us))
    ref = _pack(list(ref), len(xs) != 1)
    got = cli_json("vjp", case.func, *_files(tmp_path, xs, "x"), *_vs(_files(tmp_path, us, "u")), "--batch")
    _same(_decode(got["vjp"]), _np(ref))
    _same(_decode(got["output"]), _np(outs))


def test_batch_sizes_must_agree(run):
    result = run(
        "jvp", "lambda x, y: x * y", "[1.0, 2.0]", "[3.0, 4.0]", "-v", "ones(2, 2)", "-v", "ones(3, 2)", "--batch"
    )
    assert result.exit_code == 1
    assert "batch" in result.stderr


# ---- --create-graph: the graph, readable back as FUNC ---------------------------------------------
def test_vjp_graph_reads_back(cli_json, tmp_path):
    case = GENERAL["two-inputs"]
    xs = case.inputs("float64")
    u = np.random.default_rng(1).standard_normal(3)
    got = cli_json("vjp", case.func, *_files(tmp_path, xs, "x"), "-v", _files(tmp_path, [u], "u")[0], "--create-graph")
    graph = got["graph"]
    assert set(graph) == {"output", "vjp"}
    assert isinstance(graph["output"], str) and isinstance(graph["vjp"], list) and len(graph["vjp"]) == 2
    ref = _np(F.vjp(case.torch_func, _inputs_arg(xs), _t(u))[1])
    for text, r in zip(graph["vjp"], ref):
        again = cli_json(
            "jvp",
            text,
            f"x={xs[0].tolist()}",
            f"y={xs[1].tolist()}",
            f"u={u.tolist()}",
            "-v",
            "x=zeros",
            "-v",
            "y=zeros",
            "-v",
            "u=zeros",
        )
        _same(_decode(again["output"]), r)


@pytest.mark.parametrize("kind", ["hvp", "vhp"])
def test_product_graph_reads_back(cli_json, kind):
    got = cli_json(kind, "(x**3).sum()", "[1.0, 2.0]", "-v", "[1, 0.5]", "--create-graph")
    assert set(got["graph"]) == {"output", kind}
    ref = _np(getattr(F, kind)(lambda x: (x**3).sum(), _t(np.array([1.0, 2.0])), _t(np.array([1.0, 0.5])))[1])
    again = cli_json("jvp", got["graph"][kind], "x=[1.0, 2.0]", "v_x=[1, 0.5]", "-v", "x=zeros", "-v", "v_x=zeros")
    _same(_decode(again["output"]), ref)


def test_jvp_batch_graph(cli_json):
    got = cli_json("jvp", "sin(x)", "[0.5, 1.5]", "-v", "[[1, 0], [0, 1]]", "--batch", "--create-graph")
    assert set(got) == {"output", "jvp", "graph"}
    assert set(got["graph"]) == {"output", "jvp"}


@pytest.mark.parametrize("command", ["jacobian", "hessian"])
def test_create_graph_on_jacobian_and_hessian(cli_json, command):
    """torch accepts create_graph there and returns the same numbers; so does jvpcli."""
    func, f = ("(x**3).sum()", lambda x: (x**3).sum()) if command == "hessian" else ("x**3", lambda x: x**3)
    ref = getattr(F, command)(f, _t(np.array([1.0, 2.0])), create_graph=True)
    got = cli_json(command, func, "[1.0, 2.0]", "--create-graph")
    assert list(got) == [command]
    _same(_decode(got[command]), _np(ref))


# ---- strict: exactly where torch's strict=True raises ----------------------------------------------
#: (FUNC, torch function, shapes); the scalar ones are summed for hessian, hvp and vhp
STRICT = [
    ("x * 0", lambda x: x * 0, {"x": (2,)}),
    ("floor(x)", torch.floor, {"x": (2,)}),
    ("sign(x)", torch.sign, {"x": (2,)}),
    ("round(x)", torch.round, {"x": (2,)}),
    ("x.detach()", lambda x: x.detach(), {"x": (2,)}),
    ("zeros_like(x)", torch.zeros_like, {"x": (2,)}),
    ("x - x", lambda x: x - x, {"x": (2,)}),
    ("2 * x + 1", lambda x: 2 * x + 1, {"x": (2,)}),
    ("x**2", lambda x: x**2, {"x": (2,)}),
    ("relu(x)", torch.relu, {"x": (2,)}),
    ("abs(x)", torch.abs, {"x": (2,)}),
    ("clip(x, 0, 1)", lambda x: torch.clip(x, 0, 1), {"x": (2,)}),
    ("where(x > 0, x, 0.0)", lambda x: torch.where(x > 0, x, 0.0), {"x": (2,)}),
    ("floor(x) * x", lambda x: torch.floor(x) * x, {"x": (2,)}),
    ("sin(x) * x", lambda x: torch.sin(x) * x, {"x": (2,)}),
    ("lambda x, y: x * 2", lambda x, y: x * 2, {"x": (2,), "y": (2,)}),
    ("lambda x, y: x * y", lambda x, y: x * y, {"x": (2,), "y": (2,)}),
    ("lambda x, y: sin(x) * y**2", lambda x, y: torch.sin(x) * y**2, {"x": (2,), "y": (2,)}),
    ("lambda x, y: x + floor(y)", lambda x, y: x + torch.floor(y), {"x": (2,), "y": (2,)}),
]
STRICT_TUPLE = [
    ("lambda x, y: (x * 2, y)", lambda x, y: (x * 2, y), {"x": (2,), "y": (2,)}),
    ("lambda x, y: (sin(x), y.detach())", lambda x, y: (torch.sin(x), y.detach()), {"x": (2,), "y": (2,)}),
    ("lambda x, y: (x * y, x.sum())", lambda x, y: (x * y, x.sum()), {"x": (2,), "y": (2,)}),
]


def _torch_strict(command: str, f, xs, create_graph: bool = False):
    """torch's strict=True: None where it passes, else its message."""
    inputs, how = _inputs_arg(xs), {"strict": True, "create_graph": create_graph}
    try:
        if command in ("jvp", "hvp", "vhp"):
            getattr(F, command)(f, inputs, _inputs_arg([np.ones_like(x) for x in xs]), **how)
        elif command == "vjp":
            out = f(*map(_t, xs))
            many = isinstance(out, tuple)
            F.vjp(f, inputs, _pack([torch.ones_like(o) for o in (out if many else (out,))], many), **how)
        else:
            getattr(F, command)(f, inputs, **how)
    except RuntimeError as exc:
        return str(exc)
    return None


def _strict_cases():
    out = []
    for func, f, shapes in STRICT + STRICT_TUPLE:
        for command in ("jvp", "vjp", "jacobian"):
            out.append(pytest.param(command, func, f, shapes, False, id=f"{command}:{func}"))
            out.append(pytest.param(command, func, f, shapes, True, id=f"{command}:{func}:create-graph"))
    for func, f, shapes in STRICT:
        summed = func.split(": ", 1)
        text = f"{summed[0]}: ({summed[1]}).sum()" if len(summed) == 2 else f"({func}).sum()"
        for command in ("hessian", "hvp", "vhp"):
            out.append(pytest.param(command, text, _sum(f), shapes, False, id=f"{command}:{text}"))
    return out


@pytest.mark.parametrize("command, func, f, shapes, create_graph", _strict_cases())
def test_strict_as_torch(run, command, func, f, shapes, create_graph):
    """torch's graph decides, not the simplified derivative: x * 0 and x - x pass for vjp,
    floor(x) passes vjp and jacobian but fails jvp (its gradient is zeros made afresh),
    relu(x) passes vhp but fails hvp (torch's double-backward trick), a linear function
    fails hessian; with create_graph torch also wants each result to depend on an input."""
    names = list(shapes)
    xs = [np.array([0.5, 1.5])[: int(np.prod(s))].reshape(s) * (i + 1) for i, s in enumerate(shapes.values())]
    expected = _torch_strict(command, f, xs, create_graph)
    args = [command, func, *(json.dumps(x.tolist()) for x in xs)]
    if command in ("jvp", "hvp", "vhp"):
        args += ["-v", "ones"] * len(xs)
    elif command == "vjp":
        out = f(*map(_t, xs))
        args += ["-v", "ones"] * (len(out) if isinstance(out, tuple) else 1)
    result = run(*args, "--strict", *(["--create-graph"] if create_graph else []))
    if expected is None:
        assert result.exit_code == 0, f"torch passes; jvpcli: {result.stderr}"
        return
    assert result.exit_code == 1, f"torch raises: {expected}"
    assert "strict" in result.stderr
    assert "Traceback" not in result.stderr
    named = re.search(r"input (\d+)", expected)
    # torch's create_graph messages number the output (jvp) or give the output's index for
    # the input's (jacobian): jvpcli names what is independent of what
    if named and len(names) > 1 and "create_graph=True" not in expected:
        assert f"'{names[int(named.group(1))]}'" in result.stderr, (expected, result.stderr)
    output = re.search(r"Output (\d+)", expected)
    if output and command in ("jvp", "vjp", "jacobian") and isinstance(f(*map(_t, xs)), tuple):
        assert f"output {output.group(1)}" in result.stderr, (expected, result.stderr)


def test_without_strict_independent_results_are_zeros(cli_json):
    """torch fills zeros of the right shape and dtype where strict would fail."""
    f = lambda x, y: (x * 2, y.detach())  # noqa: E731
    xs = (_t(np.array([1.0, 2.0])), _t(np.array([3.0])))
    got = cli_json("jacobian", "lambda x, y: (x * 2, y.detach())", "[1.0, 2.0]", "[3.0]")
    _same(_decode(got["jacobian"]), _np(F.jacobian(f, xs)))
    got = cli_json("vjp", "lambda x, y: (x * 2, y.detach())", "[1.0, 2.0]", "[3.0]", "-v", "ones", "-v", "ones")
    _same(
        _decode(got["vjp"]),
        _np(F.vjp(f, xs, (torch.ones(2, dtype=torch.float64), torch.ones(1, dtype=torch.float64)))[1]),
    )


# ---- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, status, says",
    [
        (["vjp", "sin(x)", "[1.0, 2.0]"], 2, "-v"),  # a cotangent is required
        (["vjp", "lambda x: (x, x.sum())", "[1.0]"], 2, "-v"),  # a tuple output needs -v
        (["vjp", "sin(x)", "[1.0, 2.0]", "-v", "[1, 2, 3]"], 1, "shape"),
        (["vjp", "sin(x)", "[1.0, 2.0]", "-v", "x=[1, 2]"], 2, "-v"),
        (["vjp", "lambda x: (x, x.sum())", "[1.0]", "-v", "ones"], 2, "cotangent"),
        (["hvp", "lambda x, y: (x * y).sum()", "[1.0]", "[2.0]"], 2, "-v"),
        (["hvp", "(x**2).sum()", "[1.0, 2.0]", "-v", "[1, 2, 3]"], 1, "shape"),
        (["vhp", "x**2", "[1.0, 2.0]", "-v", "ones"], 1, "single element"),
        (["hessian", "x**2", "[1.0, 2.0]"], 1, "single element"),
        (["hessian", "lambda x: (x.sum(), x.sum())", "[1.0, 2.0]"], 1, "single"),
        (["hessian", "(x**2).sum()", "[1.0, 2.0]", "-v", "ones"], 2, "-v"),
        (["jacobian", "x**2", "[1.0, 2.0]", "-v", "ones"], 2, "-v"),
        (["jacobian", "x**2", "[1.0, 2.0]", "--strategy", "sideways"], 2, "strategy"),
        (["jacobian", "x**2", "[1.0, 2.0]", "--chunk-size", "0"], 2, "chunk"),
        (["hessian", "(x**2).sum()", "[1.0]", "--outer-jacobian-strategy", "up"], 2, "strategy"),
        (["vjp", "sin(x)", "[1.0]", "--only", "jvp"], 2, "only"),
        (["hvp", "(x**2).sum()", "[1.0]", "--only", "vhp"], 2, "only"),
        (["jacobian", "x * y", "[1.0]", "[2.0]"], 2, "name"),
        (["vjp", "sin(x)", "[1.0]", "--frobnicate"], 2, "frobnicate"),
        (["jvp", "sin(x)", "[1.0, 2.0]", "-v", "[1.0, 2.0]", "--batch"], 1, "batch"),
        (["vjp", "sin(x)", "[1.0, 2.0]", "-v", "[[1.0, 2.0, 3.0]]", "--batch"], 1, "shape"),
    ],
)
def test_errors(run, args, status, says):
    result = run(*args)
    assert result.exit_code == status, result.stderr
    assert says in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command, takes_v, takes_graph, takes_batch",
    [
        ("jvp", True, True, True),
        ("vjp", True, True, True),
        ("jacobian", False, True, False),
        ("hessian", False, True, False),
        ("hvp", True, True, False),
        ("vhp", True, True, False),
    ],
)
def test_help_shows_what_a_command_takes(run, command, takes_v, takes_graph, takes_batch):
    text = run(command, "--help").stdout
    assert (re.search(r"^\s+-v\b", text, re.M) is not None) == takes_v
    assert ("--create-graph" in text) == takes_graph
    assert ("--batch" in text) == takes_batch
    assert "--strict" in text


# ---- a few through a real process ---------------------------------------------------------------
@pytest.mark.parametrize("command", ["vjp", "hessian", "hvp"])
def test_real_process(proc, command):
    x = np.array([0.3, -1.2])
    f = lambda x: (torch.sin(x) * x**2).sum()  # noqa: E731
    v = [] if command == "hessian" else ["-v", "[1, 2]"] if command == "hvp" else []
    result = proc(command, "(sin(x) * x**2).sum()", json.dumps(x.tolist()), *v, "--format", "npz")
    assert result.returncode == 0, result.stderr
    z = np.load(io.BytesIO(result.stdout), allow_pickle=False)
    if command == "hessian":
        _same(z["hessian"], _np(F.hessian(f, _t(x))))
    elif command == "vjp":
        _same(z["vjp"], _np(F.vjp(f, _t(x))[1]))
    else:
        _same(z["hvp"], _np(F.hvp(f, _t(x), _t(np.array([1.0, 2.0])))[1]))


def test_real_process_strict_failure(proc):
    result = proc("vjp", "lambda x, y: x * 2", "[1.0]", "[2.0]", "-v", "ones", "--strict")
    assert result.returncode == 1
    assert b"'y'" in result.stderr and b"Traceback" not in result.stderr
    assert result.stdout == b""
