"""The family's rows of ``bench.py``: jvpcli's vjp, hessian, jacobian and ``jvp --batch`` beside
torch.autograd.functional, torch.func and jax.jit, measured in one run, with each call's peak memory.

Every contender computes the same numbers from the same float64 arrays (checked before timing);
torch and jax columns are left out, with a note, where those packages are absent.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import re
from collections.abc import Callable

import numpy as np
from bench import medians_ms

from jvpcli import family
from jvpcli.api import Options, prepare
from jvpcli.lang.parse import parse

MLP = """
def loss(W1, b1, w2):
    h = tanh(X @ W1 + b1)
    return ((h @ w2 - y)**2).mean()
"""
ELEMENTWISE = "sin(x)*x"
BATCHED = "tanh(A @ x)"


def mlp_point(d: int, hidden: int, rows: int) -> tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]:
    """Parameters (W1, b1, w2: d*hidden + 2*hidden of them) and data (X, y) of the MLP loss."""
    rng = np.random.default_rng(0)
    params = (rng.standard_normal((d, hidden)) / d**0.5, 0.1 * rng.standard_normal(hidden), rng.standard_normal(hidden))
    return params, {"X": rng.standard_normal((rows, d)), "y": rng.standard_normal(rows)}


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _jax():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def gradient_row(params, data) -> dict[str, Callable[[], object]]:
    fns: dict[str, Callable[[], object]] = {"jvpcli": lambda: family.vjp(MLP, params, constants=data).vjp}
    torch, jax = _torch(), _jax()
    if torch is not None:
        f, tp = _torch_mlp(torch, data), tuple(torch.from_numpy(p) for p in params)
        fns["torch.autograd.functional"] = lambda: torch.autograd.functional.vjp(f, tp)[1]
        grad = torch.func.grad(f, argnums=(0, 1, 2))
        fns["torch.func"] = lambda: grad(*tp)
    if jax is not None:
        g, jp = jax.jit(jax.grad(_jax_mlp(jax, data), argnums=(0, 1, 2))), tuple(jax.device_put(p) for p in params)
        fns["jax.jit"] = lambda: jax.block_until_ready(g(*jp))
    return fns


def hessian_row(params, data) -> dict[str, Callable[[], object]]:
    fns: dict[str, Callable[[], object]] = {"jvpcli": lambda: family.hessian(MLP, params, constants=data)}
    torch, jax = _torch(), _jax()
    if torch is not None:
        f, tp = _torch_mlp(torch, data), tuple(torch.from_numpy(p) for p in params)
        fns["torch.autograd.functional"] = lambda: torch.autograd.functional.hessian(f, tp)
    if jax is not None:
        h, jp = jax.jit(jax.hessian(_jax_mlp(jax, data), argnums=(0, 1, 2))), tuple(jax.device_put(p) for p in params)
        fns["jax.jit"] = lambda: jax.block_until_ready(h(*jp))
    return fns


def jacobian_row(n: int) -> dict[str, Callable[[], object]]:
    x = np.random.default_rng(0).standard_normal(n)
    fns: dict[str, Callable[[], object]] = {"jvpcli": lambda: family.jacobian(ELEMENTWISE, x)}
    torch, jax = _torch(), _jax()
    if torch is not None:
        xt = torch.from_numpy(x)
        fns["torch.autograd.functional"] = lambda: torch.autograd.functional.jacobian(
            lambda v: torch.sin(v) * v, xt, vectorize=True
        )
    if jax is not None:
        jac, xj = jax.jit(jax.jacfwd(lambda v: jax.numpy.sin(v) * v)), jax.device_put(x)
        fns["jax.jit"] = lambda: jax.block_until_ready(jac(xj))
    return fns


def batch_row(n: int, batch: int) -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(0)
    a, x, t = rng.standard_normal((n, n)) / n**0.5, rng.standard_normal(n), rng.standard_normal((batch, n))
    program, options = parse(BATCHED), Options()

    def ours() -> object:
        return family.jvp_batch_at(program, prepare({"x": x}, {"x": t}, {"A": a}, batch=True), options).jvp

    fns: dict[str, Callable[[], object]] = {"jvpcli": ours}
    torch, jax = _torch(), _jax()
    if torch is not None:
        at, xt, tt = (torch.from_numpy(v) for v in (a, x, t))
        batched = torch.func.vmap(lambda d: torch.func.jvp(lambda v: torch.tanh(at @ v), (xt,), (d,))[1])
        fns["torch.func"] = lambda: batched(tt)
    if jax is not None:
        jnp = jax.numpy
        aj, xj, tj = (jax.device_put(v) for v in (a, x, t))
        vj = jax.jit(jax.vmap(lambda d: jax.jvp(lambda v: jnp.tanh(aj @ v), (xj,), (d,))[1]))
        fns["jax.jit"] = lambda: jax.block_until_ready(vj(tj))
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


def _agree(fns: dict[str, Callable[[], object]]) -> None:
    ours = _flat(fns["jvpcli"]())
    for name, fn in fns.items():
        theirs = _flat(fn())
        assert len(theirs) == len(ours), name
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=name)


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


COLUMNS = ("torch.autograd.functional", "torch.func", "jax.jit")


def family_table(quick: bool) -> None:
    print("\n## The family (in process, medians in ms, the contenders taking turns; ratio < 1: jvpcli is faster)\n")
    print("Goal: at or below jax.jit on every row, and at most 0.5 of torch.autograd.functional.\n")
    grad_params, grad_data = mlp_point(1000, 1000, 64)
    hess_params, hess_data = mlp_point(8, 20, 32)
    rows = [
        ("gradient (vjp) of an MLP loss, 1e6 parameters", gradient_row(grad_params, grad_data), 10),
        ("hessian of an MLP loss, 200 parameters", hessian_row(hess_params, hess_data), 20),
        (f"jacobian of `{ELEMENTWISE}`, 1000 elements", jacobian_row(1000), 20),
        (f"jacobian of `{ELEMENTWISE}`, 10000 elements", jacobian_row(10000), 5),
        (f"`jvp --batch` of `{BATCHED}`, 512 elements, B=64", batch_row(512, 64), 20),
    ]
    head = "| task | jvpcli |" + "".join(f" {c} | ratio |" for c in COLUMNS)
    print(head + " peak MiB: jvpcli / " + " / ".join(COLUMNS) + " |")
    print("|" + " --- |" * (2 + 2 * len(COLUMNS) + 1))
    for title, fns, repeats in rows:
        _agree(fns)
        ms = medians_ms(fns, max(3, repeats // 2) if quick else repeats)
        peaks = {name: peak_mib(fn) for name, fn in fns.items()}
        cells = "".join(f" {ms[c]:.2f} | {ms['jvpcli'] / ms[c]:.2f} |" if c in ms else " - | - |" for c in COLUMNS)
        memory = " / ".join("-" if peaks.get(c) is None else f"{peaks[c]:.0f}" for c in ("jvpcli", *COLUMNS))
        print(f"| {title} | {ms['jvpcli']:.2f} |{cells} {memory} |", flush=True)
        del fns
        gc.collect()
    if _torch() is None:
        print("\n(torch not installed: `pip install torch==2.13.0` adds its columns)")
    if _jax() is None:
        print("(jax not installed: `pip install jax jaxlib` adds its column; it is no dependency of jvpcli)")
