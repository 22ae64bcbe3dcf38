"""The family's rows of ``bench.py``: jvpcli's vjp, hessian, jacobian and ``jvp --batch`` beside
torch.autograd.functional, torch.func and jax.jit, measured in one run, with each call's peak
memory; then the same work at the command line, where a speed-up has to show.

Every contender computes the same numbers from the same float64 arrays (checked before timing).
A contender whose package is missing is skipped, and the table says why.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import io
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bench import medians_ms, walls_ms

import jvpcli
from jvpcli.api import Options, prepare
from jvpcli.family import jvp_batch_at
from jvpcli.lang.parse import parse

MLP = """
def loss(W1, b1, w2):
    h = tanh(X @ W1 + b1)
    return ((h @ w2 - y)**2).mean()
"""
ELEMENTWISE = "sin(x)*x"
BATCHED = "tanh(A @ x)"
TAF, FUNC, JAX = "torch.autograd.functional", "torch.func", "jax.jit"
COLUMNS = (TAF, FUNC, JAX)
#: the family's goal, as ratios jvpcli / contender: at or below jax.jit, >= 2x faster than torch's
GOALS = {JAX: 1.0, TAF: 0.5}
GOAL_NAMES = {JAX: f"<= {JAX}", TAF: f"2x {TAF}"}

#: why a contender is left out, by package, filled on first import
MISSING: dict[str, str] = {}


def _module(name: str):
    """torch or jax, or None (the reason kept in MISSING)."""
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        MISSING[name] = f"{name} is not installed ({exc.msg}): `pip install {name}` adds its columns"
        return None
    if name == "jax":
        module.config.update("jax_enable_x64", True)
    return module


def mlp_point(d: int, hidden: int, rows: int) -> tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]:
    """Parameters (W1, b1, w2: d*hidden + 2*hidden of them) and data (X, y) of the MLP loss."""
    rng = np.random.default_rng(0)
    params = (rng.standard_normal((d, hidden)) / d**0.5, 0.1 * rng.standard_normal(hidden), rng.standard_normal(hidden))
    return params, {"X": rng.standard_normal((rows, d)), "y": rng.standard_normal(rows)}


Row = dict[str, Callable[[], object]]


def gradient_row(params, data) -> Row:
    fns: Row = {"jvpcli": lambda: jvpcli.vjp(MLP, params, constants=data).vjp}
    torch, jax = _module("torch"), _module("jax")
    if torch is not None:
        f, tp = _torch_mlp(torch, data), tuple(torch.from_numpy(p) for p in params)
        fns[TAF] = lambda: torch.autograd.functional.vjp(f, tp)[1]
        grad = torch.func.grad(f, argnums=(0, 1, 2))
        fns[FUNC] = lambda: grad(*tp)
    if jax is not None:
        g, jp = jax.jit(jax.grad(_jax_mlp(jax, data), argnums=(0, 1, 2))), tuple(jax.device_put(p) for p in params)
        fns[JAX] = lambda: jax.block_until_ready(g(*jp))
    return fns


def hessian_row(params, data) -> Row:
    fns: Row = {"jvpcli": lambda: jvpcli.hessian(MLP, params, constants=data)}
    torch, jax = _module("torch"), _module("jax")
    if torch is not None:
        f, tp = _torch_mlp(torch, data), tuple(torch.from_numpy(p) for p in params)
        fns[TAF] = lambda: torch.autograd.functional.hessian(f, tp)
    if jax is not None:
        h, jp = jax.jit(jax.hessian(_jax_mlp(jax, data), argnums=(0, 1, 2))), tuple(jax.device_put(p) for p in params)
        fns[JAX] = lambda: jax.block_until_ready(h(*jp))
    return fns


def jacobian_row(n: int) -> Row:
    x = np.random.default_rng(0).standard_normal(n)
    fns: Row = {"jvpcli": lambda: jvpcli.jacobian(ELEMENTWISE, x)}
    torch, jax = _module("torch"), _module("jax")
    if torch is not None:
        xt = torch.from_numpy(x)
        fns[TAF] = lambda: torch.autograd.functional.jacobian(lambda v: torch.sin(v) * v, xt, vectorize=True)
    if jax is not None:
        jac, xj = jax.jit(jax.jacfwd(lambda v: jax.numpy.sin(v) * v)), jax.device_put(x)
        fns[JAX] = lambda: jax.block_until_ready(jac(xj))
    return fns


def batch_row(n: int, batch: int) -> Row:
    """``jvpcli jvp --batch``'s path: B tangents with one leading axis, one evaluation."""
    rng = np.random.default_rng(0)
    a, x, t = rng.standard_normal((n, n)) / n**0.5, rng.standard_normal(n), rng.standard_normal((batch, n))
    program, options = parse(BATCHED), Options()
    fns: Row = {"jvpcli": lambda: jvp_batch_at(program, prepare({"x": x}, {"x": t}, {"A": a}, batch=True), options).jvp}
    torch, jax = _module("torch"), _module("jax")
    if torch is not None:
        at, xt, tt = (torch.from_numpy(v) for v in (a, x, t))
        batched = torch.func.vmap(lambda d: torch.func.jvp(lambda v: torch.tanh(at @ v), (xt,), (d,))[1])
        fns[FUNC] = lambda: batched(tt)
    if jax is not None:
        jnp = jax.numpy
        aj, xj, tj = (jax.device_put(v) for v in (a, x, t))
        vj = jax.jit(jax.vmap(lambda d: jax.jvp(lambda v: jnp.tanh(aj @ v), (xj,), (d,))[1]))
        fns[JAX] = lambda: jax.block_until_ready(vj(tj))
    return fns


def _torch_mlp(torch, data):
    X, y = torch.from_numpy(data["X"]), torch.from_numpy(data["y"])

    def loss(W1, b1, w2):
        return ((torch.tanh(X @ W1 + b1) @ w2 - y) ** 2).mean()

    return loss


def _jax_mlp(jax, data):
    jnp = jax.numpy
    X, y = jax.device_put(data["X"]), jax.device_put(data["y"])

    def loss(W1, b1, w2):
        return ((jnp.tanh(X @ W1 + b1) @ w2 - y) ** 2).mean()

    return loss


def _flat(value: object) -> list[np.ndarray]:
    """Every array of a (nested) result, in order, as numpy arrays."""
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _flat(v)]
    return [np.asarray(value)]


def _agree(fns: Row) -> None:
    ours = _flat(fns["jvpcli"]())
    for name, fn in fns.items():
        theirs = _flat(fn())
        assert len(theirs) == len(ours), name
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=name)
        del theirs


def _status() -> dict[str, int]:
    with open("/proc/self/status") as fp:
        text = fp.read()
    return {k: int(re.search(rf"{k}:\s+(\d+)", text).group(1)) for k in ("VmRSS", "VmHWM")}  # type: ignore[union-attr]


def _trim() -> None:
    """Hand freed memory back to the system (glibc), so that a call's allocations are new pages
    that the high-water mark sees, not pages an earlier call left resident."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def peak_mib(fn: Callable[[], object]) -> float | None:
    """The resident memory one call adds at its peak (Linux: the high-water mark, reset first),
    its result included: what numpy, torch and jax allocate alike, which tracemalloc is not."""
    gc.collect()
    _trim()
    try:
        with open("/proc/self/clear_refs", "w") as fp:
            fp.write("5")
    except OSError:
        return None
    before = _status()["VmRSS"]
    result = fn()
    peak = _status()["VmHWM"]
    del result
    return (peak - before) / 1024


def _goal(ms: dict[str, float]) -> str:
    """Which goals the row meets: ``yes``/``no`` per contender that has one, ``-`` without any."""
    met = [(GOAL_NAMES[name], ms["jvpcli"] / ms[name] <= most) for name, most in GOALS.items() if name in ms]
    return "; ".join(f"{goal}: {'yes' if ok else 'no'}" for goal, ok in met) or "-"


def _cells(ms: dict[str, float], columns: tuple[str, ...], digits: int = 2) -> str:
    return "".join(f" {ms[c]:.{digits}f} | {ms['jvpcli'] / ms[c]:.2f} |" if c in ms else " - | - |" for c in columns)


def family_table(quick: bool) -> None:
    print("\n## The family (in process, medians in ms, the contenders taking turns; ratio = jvpcli / contender)\n")
    print(f"Goal: at or below {JAX} (ratio <= 1), and at least 2x faster than {TAF} (ratio <= 0.5).\n")
    grad_params, grad_data = mlp_point(1000, 1000, 64)
    hess_params, hess_data = mlp_point(8, 20, 32)
    rows = [
        ("gradient (vjp) of an MLP loss, 1e6 parameters", lambda: gradient_row(grad_params, grad_data), 10),
        ("hessian of an MLP loss, 200 parameters", lambda: hessian_row(hess_params, hess_data), 20),
        (f"jacobian of `{ELEMENTWISE}`, 1000 elements", lambda: jacobian_row(1000), 20),
        (f"jacobian of `{ELEMENTWISE}`, 10000 elements", lambda: jacobian_row(10000), 5),
        (f"`jvp --batch` of `{BATCHED}`, 512 elements, B=64", lambda: batch_row(512, 64), 20),
    ]
    head = "| task | jvpcli |" + "".join(f" {c} | ratio |" for c in COLUMNS)
    print(head + " goal met | peak MiB: jvpcli / " + " / ".join(COLUMNS) + " |")
    print("|" + " --- |" * (3 + 2 * len(COLUMNS) + 1))
    for title, make, repeats in rows:
        fns = make()  # one row's arrays at a time: the 1e4 jacobians are 800 MB each
        _agree(fns)
        ms = medians_ms(fns, max(3, repeats // 2) if quick else repeats)
        peaks = {name: peak_mib(fn) for name, fn in fns.items()}
        memory = " / ".join("-" if peaks.get(c) is None else f"{peaks[c]:.0f}" for c in ("jvpcli", *COLUMNS))
        print(f"| {title} | {ms['jvpcli']:.2f} |{_cells(ms, COLUMNS)} {_goal(ms)} | {memory} |", flush=True)
        del fns
        gc.collect()
    print("\n`-`: not a contender of that row (torch.func: the gradient and the batch; torch.autograd.functional")
    print("has no batched jvp), or its package is missing (said below).")
    command_table(quick)
    for reason in MISSING.values():
        print(f"\n(skipped: {reason})")


# ---- the command line ----------------------------------------------------------------------------
#: the contenders as a user would run them from a shell: load the arrays, compute, write the result
TORCH_JACOBIAN = """
import sys, numpy as np, torch
x = torch.from_numpy(np.load(sys.argv[1] + "/x.npy"))
np.save(sys.stdout.buffer, torch.autograd.functional.jacobian(lambda v: torch.sin(v) * v, x, vectorize=True).numpy())
"""
JAX_JACOBIAN = """
import sys, numpy as np, jax
jax.config.update("jax_enable_x64", True)
x = np.load(sys.argv[1] + "/x.npy")
np.save(sys.stdout.buffer, np.asarray(jax.jit(jax.jacfwd(lambda v: jax.numpy.sin(v) * v))(x)))
"""
TORCH_HESSIAN = """
import sys, numpy as np, torch
X, y, *params = (torch.from_numpy(np.load(f"{sys.argv[1]}/{n}.npy")) for n in ("X", "y", "W1", "b1", "w2"))
loss = lambda W1, b1, w2: ((torch.tanh(X @ W1 + b1) @ w2 - y) ** 2).mean()
h = torch.autograd.functional.hessian(loss, tuple(params))
np.savez(sys.stdout.buffer, **{f"hessian_{i}_{j}": b.numpy() for i, r in enumerate(h) for j, b in enumerate(r)})
"""
JAX_HESSIAN = """
import sys, numpy as np, jax
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy
X, y, *params = (np.load(f"{sys.argv[1]}/{n}.npy") for n in ("X", "y", "W1", "b1", "w2"))
loss = lambda W1, b1, w2: ((jnp.tanh(X @ W1 + b1) @ w2 - y) ** 2).mean()
h = jax.jit(jax.hessian(loss, argnums=(0, 1, 2)))(*params)
np.savez(sys.stdout.buffer, **{f"hessian_{i}_{j}": np.asarray(b) for i, r in enumerate(h) for j, b in enumerate(r)})
"""


def _write_arrays(folder: Path) -> None:
    np.save(folder / "x.npy", np.random.default_rng(0).standard_normal(1000))
    params, data = mlp_point(8, 20, 32)
    for name, a in (*zip(("W1", "b1", "w2"), params), *data.items()):
        np.save(folder / f"{name}.npy", a)
    (folder / "loss.py").write_text(MLP.lstrip())


def _contenders(folder: Path, torch_script: str, jax_script: str) -> dict[str, list[str]]:
    """The processes of the contenders whose packages are installed (the arrays in ``folder``)."""
    scripts = {TAF: ("torch", torch_script), JAX: ("jax", jax_script)}
    return {name: [sys.executable, "-c", s, str(folder)] for name, (pkg, s) in scripts.items() if _module(pkg)}


def _same_output(commands: dict[str, list[str]], env: dict[str, str]) -> None:
    """Every command writes the same arrays (npy or npz) to stdout."""
    results = {}
    for name, command in commands.items():
        done = subprocess.run(command, check=True, capture_output=True, env=env)
        loaded = np.load(io.BytesIO(done.stdout), allow_pickle=False)
        results[name] = {k: loaded[k] for k in loaded} if isinstance(loaded, np.lib.npyio.NpzFile) else {"": loaded}
    ours = results["cached"]
    for name, theirs in results.items():
        assert sorted(theirs) == sorted(ours), (name, sorted(theirs))
        for key, a in ours.items():
            np.testing.assert_allclose(a, theirs[key], rtol=1e-9, atol=1e-12, err_msg=f"{name} {key}")


def command_table(quick: bool) -> None:
    """Whole-process wall times of ``jvpcli jacobian`` and ``jvpcli hessian`` (cached kernel and
    ``--no-cache``) beside a Python process that does the same with torch or jax."""
    print("\n## The family at the command line (wall, medians in ms, the commands taking turns)\n")
    folder = Path(tempfile.mkdtemp(prefix="jvpcli-family-bench-"))
    _write_arrays(folder)
    # as on a user's machine: a kernel cache of its own, compiled modules kept
    env = dict(os.environ, JVPCLI_CACHE_DIR=str(folder / "cache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    hessian = [f"@{folder}/loss.py", *(f"{n}={folder}/{n}.npy" for n in ("W1", "b1", "w2"))]
    hessian += [a for n in ("X", "y") for a in ("-c", f"{n}={folder}/{n}.npy")]
    calls = [
        (
            f"`jvpcli jacobian '{ELEMENTWISE}'`, 1000 elements",
            ["jacobian", ELEMENTWISE, f"x={folder}/x.npy", "--format", "npy"],
            _contenders(folder, TORCH_JACOBIAN, JAX_JACOBIAN),
        ),
        (
            "`jvpcli hessian` of the MLP loss, 200 parameters",
            ["hessian", *hessian, "--format", "npz"],
            _contenders(folder, TORCH_HESSIAN, JAX_HESSIAN),
        ),
    ]
    head = "| call | jvpcli |" + "".join(f" {c} | ratio |" for c in (TAF, JAX))
    print(head + " goal met |")
    print("|" + " --- |" * (3 + 2 * 2))
    for title, args, theirs in calls:
        ours = [sys.executable, "-m", "jvpcli", *args]
        commands = {"cached": ours, "--no-cache": [*ours, "--no-cache"], **theirs}
        _same_output(commands, env)
        ms = walls_ms(commands, 5 if quick else 11, env)
        for kind in ("cached", "--no-cache"):
            row = {"jvpcli": ms[kind], **{name: ms[name] for name in theirs}}
            print(f"| {title}, {kind} | {ms[kind]:.0f} |{_cells(row, (TAF, JAX), 0)} {_goal(row)} |", flush=True)
