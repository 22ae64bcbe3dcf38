"""Generated kernels: the disk cache, and blocked evaluation against one whole-array call."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from conftest import jvpcli_command

import jvpcli
from jvpcli.api import kernel_for
from jvpcli.engine import blocked, memory
from jvpcli.kernels import runtime
from jvpcli.kernels.cache import KernelCache, cache_key
from jvpcli.kernels.codegen import KernelPrinter, into
from jvpcli.kernels.loader import load
from jvpcli.lang.parse import parse
from jvpcli.symbolic import ops

CALL = ["jvp", "sin(x).sum(axis=1)", "x=ones(3, 4)", "-v", "ones", "--format", "json"]


def _files(folder):
    return sorted(p for p in folder.glob("*.json"))


#: what a cached call must not load: sympy above all; rich; click (the fast path parses a plain
#: jvp line), and the click commands; platformdirs and what it pulls in (tempfile, shutil,
#: random), pathlib (the cache uses os.path), OpenSSL (through hashlib or hmac), dataclasses,
#: zipfile, the streaming machinery for small arrays (threading with it), and the other
#: commands' modules: each costs start-up
NOT_ON_A_CACHED_CALL = [
    *("jvpcli.engine.stream", "jvpcli.engine.memory", "threading", "threadpoolctl"),
    *("sympy", "rich", "click", "jvpcli.cli.commands", "jvpcli.cli.arguments", "jvpcli.cli.study"),
    "jvpcli.kernels.compiler",
    *("platformdirs", "tempfile", "shutil", "random", "pathlib", "_hashlib", "dataclasses", "zipfile"),
]


@pytest.mark.parametrize("folder", ["JVPCLI_CACHE_DIR", "XDG_CACHE_HOME"])
def test_a_cache_hit_loads_no_heavy_module(folder, private_cache, monkeypatch):
    if folder == "XDG_CACHE_HOME":  # the user cache folder, found without platformdirs
        monkeypatch.delenv("JVPCLI_CACHE_DIR")
        monkeypatch.setenv("XDG_CACHE_HOME", str(private_cache))
        private_cache = private_cache / "jvpcli"
    first = subprocess.run([*jvpcli_command(), *CALL], capture_output=True, timeout=120)
    assert first.returncode == 0 and len(_files(private_cache)) == 1
    probe = (
        f"import sys\nsys.argv = ['jvpcli', *{CALL!r}]\nfrom jvpcli.cli.main import main\n"
        f"try:\n    main()\nfinally:\n"
        f"    print([m for m in {NOT_ON_A_CACHED_CALL!r} if m in sys.modules], file=sys.stderr)\n"
    )
    second = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=120)
    assert second.returncode == 0 and second.stderr.strip().endswith(b"[]"), second.stderr
    assert json.loads(second.stdout) == json.loads(first.stdout)


def test_cache_folder_is_private(private_cache):
    subprocess.run([*jvpcli_command(), *CALL], capture_output=True, timeout=120, check=True)
    assert os.stat(private_cache).st_mode & 0o777 == 0o700
    assert all(os.stat(p).st_mode & 0o077 == 0 for p in private_cache.iterdir())


@pytest.mark.parametrize(
    "spoil",
    [
        lambda p: p.write_text("{ not json"),
        lambda p: p.write_text(p.read_text()[:40]),
        lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "mac": "0" * 64})),
        lambda p: p.write_text(
            json.dumps(
                {
                    **json.loads(p.read_text()),
                    "payload": json.loads(p.read_text())["payload"].replace("numpy.sin", "numpy.cos"),
                }
            )
        ),
    ],
    ids=["garbage", "truncated", "foreign mac", "edited source"],
)
def test_a_corrupt_or_foreign_file_is_rebuilt_not_run(private_cache, spoil):
    program = parse("sin(x).sum(axis=1)")
    parts = ("jvp", program.text, (("x", False),), (), False)
    store = KernelCache(private_cache)
    good = kernel_for("jvp", program, (("x", False),), (), False, cache=True)
    (path,) = _files(private_cache)
    spoil(path)
    assert store.get(cache_key(parts)) is None
    result = subprocess.run([*jvpcli_command(), *CALL], capture_output=True, timeout=120)
    assert result.returncode == 0
    np.testing.assert_allclose(json.loads(result.stdout)["jvp"]["data"], [np.cos(1.0) * 4] * 3)
    assert store.get(cache_key(parts)) == good


def test_the_version_is_part_of_the_key(monkeypatch):
    parts = ("jvp", "x", (("x", False),), (), False)
    before = cache_key(parts)
    monkeypatch.setattr(jvpcli, "__version__", "999")
    assert cache_key(parts) != before


def test_concurrent_writers_leave_one_valid_file(private_cache):
    procs = [
        subprocess.Popen([*jvpcli_command(), *CALL], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(6)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert len({o[0] for o in outs}) == 1
    (path,) = _files(private_cache)
    assert not [p for p in private_cache.iterdir() if p.name.startswith(".jvpcli-")]
    program = parse("sin(x).sum(axis=1)")
    assert KernelCache(private_cache).get(path.stem) is not None
    assert (
        KernelCache(private_cache).get(path.stem).source
        == kernel_for("jvp", program, (("x", False),), (), False, cache=False).source
    )


def test_cache_info_and_clear(run, private_cache):
    run("jvp", "x * 2", "[1.0]")
    assert "1 kernel(s)" in run("cache", "info").stdout
    assert "removed 1 kernel(s)" in run("cache", "clear").stdout
    assert not private_cache.exists()
    assert run("jvp", "x * 3", "[1.0]", "--no-cache").exit_code == 0 and not private_cache.exists()


# ---- blocked evaluation ---------------------------------------------------------------
ELEMENTWISE = [
    "lambda x, y: sin(x) * exp(-x**2) + log1p(x**2) * y",
    "lambda x, y: where(x > y, sigmoid(x), softplus(y)) + maximum(x, y) * tanh(x) + clip(x, 0.2, 0.8)",
    "lambda x, y: x ** y + erf(x) * cbrt(y) + abs(x - y) + relu(x - 0.5) + floor(y * 3)",
]
ROW_WISE = [
    "lambda x, y: exp(x).sum(axis=1) * y.mean(axis=1)",
    "lambda x, y: logsumexp(x, axis=1) + softmax(y, axis=1).sum(axis=1) + amax(x * y, axis=1)",
    "lambda x, y: cumsum(sin(x), axis=1) + flip(y, 1) * norm(x, axis=1, keepdims=True) + prod(y, axis=1)[:, None]",
    "lambda x, y: (x * y).mean(axis=1)",
    "lambda x, y: cumsum(x * y, axis=1)",
]


def _kernel(func, x, y):
    program = parse(func)
    kinds = tuple((n, False) for n in ("x", "y"))
    kernel = kernel_for("jvp", program, kinds, (), False, cache=False)
    return kernel, load(kernel.source), [x, y, np.ones_like(x) * 0.5, np.full_like(y, -0.25)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("func", ELEMENTWISE + ROW_WISE)
def test_blocks_equal_one_whole_call(monkeypatch, func, threads, dtype):
    monkeypatch.setattr(blocked, "BLOCK_BYTES", np.dtype(dtype).itemsize * 7 * 5)  # 5 rows: 203 rows do not divide
    monkeypatch.setattr(blocked, "MIN_ELEMENTS", 1)
    rng = np.random.default_rng(1)
    x, y = (rng.uniform(0.1, 0.9, (203, 7)).astype(dtype) for _ in range(2))
    kernel, fn, args = _kernel(func, x, y)
    assert kernel.row_wise
    whole = [np.asarray(r) for r in fn(*args)]
    values, finite, _ = blocked.run(fn, args, True, threads)
    assert finite == [bool(np.isfinite(r).all()) for r in whole]
    for a, b in zip(whole, values):
        assert a.dtype == b.dtype
        if func in ELEMENTWISE:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-13 if dtype is np.float64 else 1e-6, atol=0)


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("2*a0 + 3*a1", "numpy.add(numpy.multiply(2, a0, out=_rt.fits(o, a0)), 3*a1, out=o)"),
        ("a0 - (a1 - a2)", "numpy.subtract(a0, numpy.subtract(a1, a2, out=_rt.fits(o, a1, a2)), out=o)"),
        ("a0/(s0 + 1)", "numpy.true_divide(a0, numpy.add(s0, 1, out=_rt.fits(o, s0)), out=o)"),
        ("a0 @ a1", "numpy.matmul(a0, a1, out=o)"),
        ("(a0 @ a1)*a2", "numpy.multiply(a0 @ a1, a2, out=o)"),  # matmul's shape is not the result's
        ("-numpy.sin(a0)", "numpy.negative(numpy.sin(a0, out=_rt.fits(o, a0)), out=o)"),
        ("numpy.abs(a0*a1) + a2", "numpy.add(numpy.abs(a0*a1), a2, out=o)"),  # abs of complex is real
        ("numpy.arctan2(a0, a1)", "numpy.arctan2(a0, a1, out=o)"),
        ("numpy.prod(a1*s0, axis=1)", "numpy.prod(a1*s0, axis=1, out=o)"),
        ("_rt.sum_of(a1 + s0, axis=1) + a2", "numpy.add(_rt.sum_of(a1 + s0, axis=1), a2, out=o)"),
        ("_rt.sum_of(s0, a1, axis=1)", "_rt.sum_of(s0, a1, axis=1, out=o)"),
        ("a0**2", "a0**2"),  # numpy's operator takes fast paths (square) the ufunc does not
        ("numpy.where(a0 > 0, a0, a1)", "numpy.where(a0 > 0, a0, a1)"),
        ("_rt.sum_of(a0, out=a1)", "_rt.sum_of(a0, out=a1)"),
        ("_rt.softmax(a0, 1)", "_rt.softmax(a0, 1)"),
        ("a0", "a0"),
        ("0", "0"),
    ],
)
def test_the_last_operation_writes_into_the_result(text, written):
    assert into(text, "o") == written


@pytest.mark.parametrize("func", ELEMENTWISE + ROW_WISE)
def test_a_kernel_told_where_to_write_gives_the_same_bits(func):
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0.1, 0.9, (9, 7)), rng.uniform(0.1, 0.9, (9, 7))
    _, fn, args = _kernel(func, x, y)
    whole = [np.asarray(r) for r in fn(*args)]
    slots = [np.empty_like(r) for r in whole]
    written = [np.asarray(r) for r in fn(*args, out=slots)]
    for a, b, slot in zip(whole, written, slots):
        np.testing.assert_array_equal(a, b)
        if b is slot:
            np.testing.assert_array_equal(slot, a)
    assert any(b is slot for b, slot in zip(written, slots))


#: results whose first operand chain involves x alone: computed in the result, it must keep x's dtype
MIXED = ["numpy.sin(a0)/(a0 + 2) + a1", "numpy.exp(a0*a0)*3 - a1", "-(a0*a0 + 1)*a1", "numpy.cos(a0*2)*a0 + a1*a0"]


@pytest.mark.parametrize("text", MIXED)
@pytest.mark.parametrize(
    ("x_kind", "y_kind"),
    [
        ("float32", "float32"),
        ("complex128", "complex128"),
        ("float32", "float64"),
        ("float64", "complex128"),
        ("complex64", "complex128"),
    ],
)
@pytest.mark.parametrize(("x_shape", "y_shape"), [((9, 7), (9, 7)), ((9, 1), (9, 7)), ((7,), (9, 7)), ((), (9, 7))])
def test_parts_computed_in_the_result_keep_their_own_dtype_and_shape(text, x_kind, y_kind, x_shape, y_shape):
    """Mixed precision and broadcasting: a part is computed in the result only where that
    gives the bits of the whole-array kernel."""
    rng = np.random.default_rng(3)

    def draw(shape, kind):
        a = rng.uniform(0.1, 0.9, shape) + (1j * rng.uniform(0.1, 0.9, shape) if kind.startswith("c") else 0)
        return np.asarray(a).astype(kind)

    x, y = draw(x_shape, x_kind), draw(y_shape, y_kind)
    fn = load(f"def kernel(a0, a1, out=None):\n    return ({text}, ), ()\n")
    written_fn = load(f"def kernel(a0, a1, out=None):\n    return ({into(text, 'out[0]')}, ), ()\n")
    (whole,), _ = fn(x, y)
    slot = np.empty_like(whole)
    (written,), _ = written_fn(x, y, out=[slot])
    assert written is slot
    np.testing.assert_array_equal(slot, whole)


@pytest.mark.parametrize(
    ("out_shape", "out_kind", "arrays", "fits"),
    [
        ((3, 4), "float64", [((3, 4), "float64"), ((4,), "float64")], True),
        ((3, 4), "float64", [((3, 1), "float64"), ((4,), "float64")], False),  # a broadcast part
        ((3, 4), "float64", [((3, 4), "float64"), ((3, 4), "float32")], False),  # computes in float32
        ((3, 4), "complex128", [((3, 4), "float64")], False),  # computes in real numbers
    ],
)
def test_fits(out_shape, out_kind, arrays, fits):
    out = np.empty(out_shape, out_kind)
    assert (runtime.fits(out, *(np.ones(s, k) for s, k in arrays)) is out) is fits
    assert runtime.fits(None, np.ones(3)) is None


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
@pytest.mark.parametrize("shape", [(6,), (5, 6), (3, 4, 6), (6, 5)])
@pytest.mark.parametrize("axis", [None, -1, 0, (0,), "all"])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("mean", [False, True])
@pytest.mark.parametrize("product", [False, True])
def test_sum_of_is_numpys_sum(dtype, shape, axis, keepdims, mean, product):
    rng = np.random.default_rng(4)
    a, b = (rng.uniform(-1, 1, shape).astype(dtype) for _ in range(2))
    if shape == (6, 5):
        a = a.T.copy().T  # not C-contiguous: summing every element cannot flatten it for free
    axis = tuple(range(len(shape))) if axis == "all" else axis
    reduce = np.mean if mean else np.sum
    b = b if product else None
    expected = reduce(a if b is None else a * b, axis=axis, keepdims=keepdims)
    got = runtime.sum_of(a, b, axis=axis, keepdims=keepdims, mean=mean)
    assert np.shape(got) == np.shape(expected) and np.asarray(got).dtype == expected.dtype
    rtol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol)
    out = np.empty_like(expected)
    assert runtime.sum_of(a, b, axis=axis, keepdims=keepdims, mean=mean, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("shape", "axis"), [((3, 1000), 1), ((2, 4099), 1), ((2, 1_000_003), 1), ((1000, 1001), None)])
@pytest.mark.parametrize("product", [False, True])
def test_sum_of_is_accurate_at_every_length(dtype, shape, axis, product):
    """Within a few ulp of the exact sum, also for rows of 1e6 numbers, which one einsum call
    sums to 12-120 ulp. Values of one sign: no cancellation hides the error."""
    rng = np.random.default_rng(5)
    a, b = (rng.uniform(0, 1, shape).astype(dtype) for _ in range(2))
    b = b if product else None
    exact = np.sum(a.astype(np.longdouble) * (1 if b is None else b), axis=axis)
    out = np.empty(np.shape(exact), dtype)
    got = runtime.sum_of(a, b, axis=axis, out=out)
    relative = np.abs(got.astype(np.longdouble) - exact) / exact
    assert got is out and np.max(relative) <= 4 * np.finfo(dtype).eps


def test_a_sum_of_a_product_is_printed_as_its_two_sides():
    kernel = kernel_for("jvp", parse("exp(x).sum(axis=1)"), (("x", False),), (), False, cache=False)
    assert "_rt.sum_of(s0, axis=1" in kernel.source and "_rt.sum_of(s0, a1, axis=1" in kernel.source


@pytest.mark.parametrize(
    ("argument", "printed"),
    [
        ("a*c/b", "_rt.sum_of(a/b, c, axis=1)"),
        ("2*a*c", "_rt.sum_of(2*a, c, axis=1)"),
        ("a/b", "_rt.sum_of(a/b, axis=1)"),  # a*(1/b) would round twice
        ("3*a", "_rt.sum_of(3*a, axis=1)"),
        ("a + c", "_rt.sum_of(a + c, axis=1)"),
    ],
)
def test_which_sums_become_dots(argument, printed):
    a, b, c = sp.symbols("a b c", real=True)
    expr = ops.ArraySum.make(eval(argument, {"a": a, "b": b, "c": c}), axis=1)
    assert KernelPrinter().doprint(expr) == printed


@pytest.mark.parametrize(
    "func", ["x.sum()", "x.sum(axis=0)", "x @ x.T", "x[0]", "x.reshape(-1)", "softmax(x, axis=-1)", "x.T + x"]
)
def test_kernels_that_mix_rows_are_not_split(func):
    program = parse(func)
    assert not kernel_for("jvp", program, (("x", False),), (), False, cache=False).row_wise


def test_a_result_that_does_not_follow_the_rows_is_kept_whole(monkeypatch):
    monkeypatch.setattr(blocked, "BLOCK_BYTES", 8 * 2 * 4)
    monkeypatch.setattr(blocked, "MIN_ELEMENTS", 1)
    x, c = np.ones((40, 2)), np.arange(4.0)  # c is as long as one block of x's rows
    fn = load("def kernel(a0, a1, out=None):\n    return (a0 * 2, a1 * 3, a0, a1, )\n")
    outs, _, fresh = blocked.run(fn, [x, c], True, 2)
    np.testing.assert_array_equal(outs[1], c * 3)
    np.testing.assert_array_equal(outs[0], x * 2)
    assert fresh == [True, False, True, False]  # allocated by the run: the rows' results


def test_non_finite_values_in_any_block_are_reported(monkeypatch):
    monkeypatch.setattr(blocked, "BLOCK_BYTES", 8 * 4 * 3)
    monkeypatch.setattr(blocked, "MIN_ELEMENTS", 1)
    x = np.ones((50, 4))
    x[41, 2] = 0.0  # log(0) in one late block only
    with pytest.warns(jvpcli.NonFiniteWarning) as record:
        result = jvpcli.jvp("log(x).sum(axis=1) * x[:, 0]", x, np.ones_like(x), threads=2)
    assert [str(w.message) for w in record] == [
        "output has 1 non-finite value(s) (NaN or infinity)",
        "jvp has 1 non-finite value(s) (NaN or infinity)",
    ]
    assert np.isinf(result.output[41]) and np.isfinite(np.delete(result.output, 41)).all()


def test_a_repeated_call_skips_the_probes_and_gives_the_same_results(monkeypatch):
    monkeypatch.setattr(blocked, "BLOCK_BYTES", 8 * 2 * 4)
    monkeypatch.setattr(blocked, "MIN_ELEMENTS", 1)
    monkeypatch.setattr(blocked, "_LAYOUTS", {})
    calls = []

    def kernel(a0, a1, out=None):
        calls.append(len(a0))
        sines = np.sin(a0) if out is None or out[0] is None else np.sin(a0, out=out[0])
        return (sines, a1 * 3, np.cos(a0), a1)

    for dtype, probes in ((np.float64, True), (np.float64, False), (np.float32, True)):
        x, c = np.linspace(0.1, 1.0, 80, dtype=dtype).reshape(40, 2), np.arange(4.0, dtype=dtype)
        calls.clear()
        outs, finite, fresh = blocked.run(kernel, [x, c], True, 2)
        np.testing.assert_array_equal(outs[0], np.sin(x))
        np.testing.assert_array_equal(outs[1], c * 3)
        np.testing.assert_array_equal(outs[2], np.cos(x))
        assert outs[0].dtype == dtype and finite == [True] * 4 and fresh == [True, False, True, False]
        assert (1 in calls and 2 in calls) is probes  # blocks here are 4 rows
    assert len(blocked._LAYOUTS) == 2  # one per dtype


def test_a_result_buffer_is_reused_only_once_no_array_uses_it():
    first = memory.empty((256, 8), np.float64)
    address = first.__array_interface__["data"][0]
    view = first[3:, ::2].T
    del first
    second = memory.empty((256, 8), np.float64)  # a view still uses the first buffer
    assert not np.shares_memory(second, view)
    del view, second
    third = memory.empty((8, 256), np.float64)  # same size, any shape and dtype
    assert third.__array_interface__["data"][0] == address
    assert third.flags.writeable and third.flags.c_contiguous and third.flags.aligned
    assert memory.empty((memory.LARGEST // 8 + 1,), np.float64).base is None  # beyond the cap: numpy's own
    assert memory.empty((memory.SMALLEST // 8 - 1,), np.float64).base is None  # too small to be worth keeping


def test_kept_buffers_stay_within_their_bound(monkeypatch):
    monkeypatch.setattr(memory, "_kept", [])
    monkeypatch.setattr(memory, "KEEP", 4 * memory.SMALLEST)
    held = [memory.empty((memory.SMALLEST // 8,), np.float64) for _ in range(10)]
    assert sum(raw.nbytes for raw, _ in memory._kept) <= memory.KEEP
    assert len({a.__array_interface__["data"][0] for a in held}) == 10


def test_results_of_blocked_runs_are_the_callers_alone(monkeypatch):
    monkeypatch.setattr(blocked, "BLOCK_BYTES", 8 * 2 * 4)
    monkeypatch.setattr(blocked, "MIN_ELEMENTS", 1)
    x, c = np.linspace(0.1, 1.0, 80).reshape(40, 2), np.arange(8.0).reshape(4, 2)
    first = jvpcli.jvp("lambda x: (sin(x), c)", x, np.ones_like(x), constants={"c": c}, threads=2)
    again = jvpcli.jvp("lambda x: (sin(x), c)", x, np.ones_like(x), constants={"c": c}, threads=2)
    assert not np.shares_memory(first.output[1], c)  # a result that is an input is copied
    assert not np.shares_memory(first.output[0], again.output[0])
    np.testing.assert_array_equal(first.output[0], np.sin(x))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_gets_threads_of_its_own(monkeypatch):
    monkeypatch.setattr(blocked, "BLOCK_BYTES", 8 * 4 * 3)
    monkeypatch.setattr(blocked, "MIN_ELEMENTS", 1)
    monkeypatch.setattr(blocked, "LIGHT_ELEMENTS", 1)
    x = np.linspace(0.1, 1.0, 200).reshape(50, 4)
    parent = jvpcli.jvp("sin(x) * exp(x)", x, np.ones_like(x), threads=2)  # starts the parent's pool
    script = (
        "import io, os, sys, numpy as np, jvpcli\n"
        "from jvpcli.engine import blocked\n"
        "blocked.BLOCK_BYTES, blocked.MIN_ELEMENTS, blocked.LIGHT_ELEMENTS = 96, 1, 1\n"
        "x = np.linspace(0.1, 1.0, 200).reshape(50, 4)\n"
        "jvpcli.jvp('sin(x) * exp(x)', x, np.ones_like(x), threads=2)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    r = jvpcli.jvp('sin(x) * exp(x)', x, np.ones_like(x), threads=2)\n"
        "    buf = io.BytesIO()\n"
        "    np.save(buf, r.jvp)  # numpy cannot save straight into a buffered pipe\n"
        "    sys.stdout.buffer.write(buf.getvalue())\n"
        "    sys.stdout.buffer.flush()  # os._exit flushes nothing\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert child.returncode == 0, child.stderr.decode()
    np.testing.assert_array_equal(np.load(io.BytesIO(child.stdout)), parent.jvp)


@pytest.mark.parametrize(
    ("values", "finite"),
    [
        (np.array([1.0, -2.0]), True),
        (np.array([3e38, 3e38], np.float32), True),  # the sum overflows; the values do not
        (np.array([1.0, np.inf]), False),
        (np.array([-np.inf, np.inf]), False),
        (np.array([3e38, np.nan], np.float32), False),
        (np.array([1 + 1j, complex(1.0, np.inf)]), False),
        (np.ones((3, 4)).T, True),  # not C-contiguous
        (np.full((3, 4), np.nan).T, False),
        (np.zeros((0, 3)), True),
        (np.array(2.0), True),
        (np.arange(3), True),
    ],
)
def test_all_finite(values, finite):
    assert blocked.all_finite(values) is finite
