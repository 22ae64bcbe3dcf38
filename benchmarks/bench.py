"""jvpcli's speed against baselines measured in the same run; prints a table of medians and ratios.

    python benchmarks/bench.py            # kernels at 1e4, 1e6, 1e7 elements, float64 and float32
    python benchmarks/bench.py --quick    # 1e4 and 1e6 only, fewer repeats
    python benchmarks/bench.py --family   # only the family's rows (gradient, hessian, jacobian, batch)
    python benchmarks/bench.py --family --quick   # the same, fewer repeats

Baselines: hand-written numpy (always), torch.autograd.functional.jvp and jax.jit(jax.jvp)
when installed (a note says so otherwise), and whole-process wall time of a cached and an
uncached ``jvpcli jvp`` call against ``python -c "import numpy"``. The family's rows set
jvpcli's vjp, hessian, jacobian and ``jvp --batch`` beside torch.autograd.functional,
torch.func and jax.jit, with the peak memory of each call, and ``jvpcli jacobian`` and
``jvpcli hessian`` at the command line (cached and --no-cache) beside a Python process that
does the same with torch or jax (``family_bench.py``). This machine is shared and noisy:
medians only, and ratios only within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

import jvpcli

CASES = {  # FUNC, number of inputs, hand-written numpy (output, jvp)
    "exp(x).sum(axis=1)": (1, lambda x, v: (np.exp(x).sum(axis=1), (v * np.exp(x)).sum(axis=1))),
    "sin(x)*exp(-x**2) + log1p(x**2)": (
        1,
        lambda x, v: (
            np.sin(x) * np.exp(-(x**2)) + np.log1p(x**2),
            v * (np.cos(x) * np.exp(-(x**2)) - 2 * x * np.sin(x) * np.exp(-(x**2)) + 2 * x / (1 + x**2)),
        ),
    ),
    "2*x + 3*y": (2, lambda x, y, vx, vy: (2 * x + 3 * y, 2 * vx + 3 * vy)),
}


def medians_ms(fns: dict[str, Callable[[], object]], repeats: int, passes: int = 5) -> dict[str, float]:
    """Medians of in-process times: each function runs in bursts, and the bursts take turns.

    Turns spread the machine's drift over all contenders; bursts keep each in its own
    steady state: torch's and jax's worker threads spin for a while after their work,
    so the first call of every burst is run untimed.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for turn in range(passes):
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            fns[name]()  # warm: kernel generation, jit compilation, page faults, other threads
            for _ in range(max(1, round(repeats / passes))):
                start = time.perf_counter()
                fns[name]()
                times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def arrays(func: str, n: int, dtype: type) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    count = CASES[func][0]
    shape = (round(n**0.5),) * 2 if "axis=1" in func else (n,)
    xs = [rng.random(shape).astype(dtype) for _ in range(count)]
    return xs + [np.ones_like(x) for x in xs]


def torch_baseline(func: str):
    try:
        import torch
    except ImportError:
        return None
    fns = {
        "exp(x).sum(axis=1)": lambda x: x.exp().sum(dim=1),
        "sin(x)*exp(-x**2) + log1p(x**2)": lambda x: x.sin() * (-(x**2)).exp() + (x**2).log1p(),
        "2*x + 3*y": lambda x, y: 2 * x + 3 * y,
    }

    def run(args):
        half = len(args) // 2
        ts = [torch.from_numpy(a) for a in args]
        return torch.autograd.functional.jvp(fns[func], tuple(ts[:half]), tuple(ts[half:]))

    return run


def jax_baseline(func: str):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    fns = {
        "exp(x).sum(axis=1)": lambda x: jnp.exp(x).sum(axis=1),
        "sin(x)*exp(-x**2) + log1p(x**2)": lambda x: jnp.sin(x) * jnp.exp(-(x**2)) + jnp.log1p(x**2),
        "2*x + 3*y": lambda x, y: 2 * x + 3 * y,
    }
    jitted = jax.jit(lambda primals, tangents: jax.jvp(fns[func], primals, tangents))

    def run(args):
        half = len(args) // 2
        out = jitted(tuple(args[:half]), tuple(args[half:]))
        jax.block_until_ready(out)
        return out

    return run


def kernel_row(func: str, n: int, dtype: type, repeats: int, baselines: list) -> str:
    args = arrays(func, n, dtype)
    half = len(args) // 2
    fns = {
        "jvpcli": lambda: jvpcli.jvp(func, tuple(args[:half]), tuple(args[half:])),
        "numpy": lambda: CASES[func][1](*args),
    }
    for baseline in baselines:
        run = baseline(func)
        fns[baseline.__name__] = lambda run=run: run(args)
    ms = medians_ms(fns, repeats)
    ours = ms.pop("jvpcli")
    row = f"| `{func}` | {n:.0e} | {np.dtype(dtype).name} | {ours:.2f} |"
    return row + "".join(f" {other:.2f} | {ours / other:.2f} |" for other in ms.values())


#: a rough cost per element of the kernels here, to size each row's number of calls
NS_PER_ELEMENT = 5


def kernel_table(sizes: list[int], budget_s: float) -> None:
    """Rows of medians; each contender takes about ``budget_s`` per row, so that small
    kernels get many more calls (their medians would move with the noise otherwise)."""
    print("\n## Kernels (in process, medians in ms, the contenders taking turns; ratio < 1: jvpcli is faster)\n")
    have_torch, have_jax = torch_baseline("2*x + 3*y") is not None, jax_baseline("2*x + 3*y") is not None
    head = "| kernel | n | dtype | jvpcli | numpy | jvpcli/numpy |"
    head += " torch | jvpcli/torch |" if have_torch else ""
    head += " jax.jit | jvpcli/jax |" if have_jax else ""
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    baselines = [b for b, present in ((torch_baseline, have_torch), (jax_baseline, have_jax)) if present]
    for func in CASES:
        for n in sizes:
            for dtype in (np.float64, np.float32):
                repeats = min(200, max(10, round(budget_s / (n * NS_PER_ELEMENT * 1e-9))))
                print(kernel_row(func, n, dtype, repeats, baselines), flush=True)
    if not have_torch:
        print("\n(torch not installed: `pip install torch==2.13.0` adds its column)")
    if not have_jax:
        print("(jax not installed: `pip install jax` adds its column)")


def memory_table() -> None:
    print("\n## Peak memory of a 1e7-element jvp (tracemalloc, numpy allocations)\n")
    print("| kernel | inputs + tangents + outputs | peak during jvp | ratio |")
    print("| --- | --- | --- | --- |")
    for func in CASES:
        args = arrays(func, 10**7, np.float64)
        half = len(args) // 2
        jvpcli.jvp(func, tuple(args[:half]), tuple(args[half:]))
        tracemalloc.start()
        result = jvpcli.jvp(func, tuple(args[:half]), tuple(args[half:]))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        held = sum(a.nbytes for a in args) + result.output.nbytes + result.jvp.nbytes
        extra = peak  # inputs were allocated before tracing began; outputs are inside the peak
        total = sum(a.nbytes for a in args) + extra
        print(f"| `{func}` | {held / 2**20:.0f} MiB | {total / 2**20:.0f} MiB | {total / held:.2f} |")


def walls_ms(commands: dict[str, list[str]], repeats: int, env: dict[str, str]) -> dict[str, float]:
    """Medians of whole-process wall times, the commands taking turns so that noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # warm: page cache, the kernel cache
        subprocess.run(command, check=True, capture_output=True, env=env)
    for _ in range(repeats):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def startup_table(repeats: int) -> None:
    print("\n## Whole process, a tiny jvp (wall, medians in ms, the commands taking turns)\n")
    env = dict(os.environ, JVPCLI_CACHE_DIR=tempfile.mkdtemp(prefix="jvpcli-bench-"))
    # as on a user's machine: Python keeps compiled modules (pip compiles them at install time)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    py = sys.executable
    call = [py, "-m", "jvpcli", "jvp", "x.exp().sum(dim=1)", "x=ones(4,4)", "-v", "ones", "--format", "json"]
    ms = walls_ms(
        {
            "numpy": [py, "-c", "import numpy"],
            "stack": [py, "-c", "import numpy, sympy, click, rich"],
            "cached": call,
            "uncached": [*call, "--no-cache"],
        },
        repeats,
        env,
    )
    numpy_ms, stack_ms = ms["numpy"], ms["stack"]
    print("| call | wall | ratio | target |")
    print("| --- | --- | --- | --- |")
    print(f'| `python -c "import numpy"` | {numpy_ms:.0f} | 1.00 | |')
    print(f"| `import numpy, sympy, click, rich` | {stack_ms:.0f} | {stack_ms / numpy_ms:.2f} | |")
    print(f"| jvpcli jvp, cached kernel | {ms['cached']:.0f} | {ms['cached'] / numpy_ms:.2f} | <= 1.3 x numpy |")
    print(
        f"| jvpcli jvp, --no-cache | {ms['uncached']:.0f} | {ms['uncached'] / (stack_ms + 300):.2f} of stack+300ms "
        "| <= 1.2 x (stack + 300 ms) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1e4 and 1e6 only, fewer repeats")
    parser.add_argument("--family", action="store_true", help="only the family's rows")
    args = parser.parse_args()
    sizes = [10**4, 10**6] if args.quick else [10**4, 10**6, 10**7]
    print(f"# jvpcli {jvpcli.__version__} benchmark: {os.cpu_count()} cores, numpy {np.__version__}")
    if not args.family:
        kernel_table(sizes, 0.1 if args.quick else 0.25)
        if not args.quick:
            memory_table()
    from family_bench import family_table  # beside this file

    family_table(args.quick)
    if not args.family:
        startup_table(11 if args.quick else 15)


if __name__ == "__main__":
    main()
