"""Streamed jvp over .npy files of 1, 3 and 10 GiB: throughput, peak memory, and the dask engine.

    python benchmarks/stream.py                   # 1, 3 and 10 GiB; 3, 2 and 1 runs
    python benchmarks/stream.py --sizes 1 --repeats 1

Per size and FUNC: whole-process wall time and peak resident memory of ``jvpcli jvp ...
-o OUT.npy``, streamed (the default) and in memory (``--memory`` larger than the work), their
ratio, and the input's GB/s beside the machine's memory bandwidth (a numpy copy: bytes read
plus bytes written per second). At 3 GiB: the dask engine on a cluster of two one-thread
workers started beforehand on 127.0.0.1 (``--scheduler``) against the local engine; the
inputs' ``-v`` is ``ones``, made block by block. Inputs
are generated in a temporary folder beside this file's checkout (``--folder``) and removed;
a size that does not fit the free disk space (or, in memory, the machine) is skipped. The
machine is shared: medians, the load average before and after, ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

GIB = 1 << 30
#: FUNC and the row length of its input: an elementwise jvp and a row reduction
CASES = {"sin(x) * x": 8, "exp(x).sum(axis=1)": 16}
#: a child that runs jvpcli and prints its own peak memory (VmHWM: ru_maxrss would carry the
#: parent's peak across exec)
PROBE = (
    "import sys\nfrom jvpcli.cli.commands import cli\n"
    "try:\n    cli.main(sys.argv[1:], standalone_mode=False)\n"
    "finally:\n    print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0], file=sys.stderr)\n"
)


def bandwidth() -> float:
    """GB/s of a numpy copy of 1 GiB (read + write), best of 3."""
    a = np.ones(GIB // 8)
    b = np.empty_like(a)
    best = min(_timed(lambda: np.copyto(b, a)) for _ in range(3))
    return 2 * a.nbytes / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def make_input(path: str, gib: float, width: int) -> None:
    """A float64 (N, width) .npy file of ``gib`` GiB, written in blocks (never whole in memory)."""
    rows = int(gib * GIB) // (8 * width)
    out = np.lib.format.open_memmap(path, "w+", np.float64, (rows, width))
    rng = np.random.default_rng(0)
    step = (64 << 20) // (8 * width)
    for lo in range(0, rows, step):
        out[lo : lo + step] = rng.random((min(step, rows - lo), width))
    out.flush()
    del out


def run(args: list[str], cwd: str) -> tuple[float, int]:
    """Wall seconds and peak resident KiB of one jvpcli call."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, timeout=3600)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode()[-2000:])
    return seconds, int(done.stderr.split()[-1])


def cluster(folder: str) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and two one-thread workers on 127.0.0.1, stopping by themselves when idle."""
    from distributed import Client

    address_file = os.path.join(folder, "scheduler.json")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder}
    common = ("--host", "127.0.0.1", "--no-dashboard", "--scheduler-file", address_file)
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", "0", "--idle-timeout", "900", *common],
        **quiet,
    )
    while not os.path.exists(address_file):
        time.sleep(0.2)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--nthreads", "1", "--death-timeout", "30", *common],
            **quiet,
        )
        for _ in range(2)
    ]
    with Client(scheduler_file=address_file, timeout=120) as client:
        client.wait_for_workers(2, timeout=120)
        return client.scheduler.address, [scheduler, *workers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 3, 10], help="input sizes in GiB")
    parser.add_argument("--repeats", type=int, default=3, help="runs per row (at most 2 from 3 GiB, 1 from 10 GiB)")
    parser.add_argument("--dask-at", type=float, default=3, help="the size (GiB) at which dask runs too")
    parser.add_argument("--folder", default=None, help="where to write the inputs (default: the temporary folder)")
    opts = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="jvpcli-stream-", dir=opts.folder)
    env_cache = os.path.join(folder, "cache")
    os.environ["JVPCLI_CACHE_DIR"] = env_cache  # the workers' and the calls' cache: one secret
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cores: {os.cpu_count()}")
    bw = bandwidth()
    print(f"memory bandwidth (numpy copy, read + write): {bw:.1f} GB/s")
    print("| FUNC | input | engine | median s | GB/s (input) | peak RSS | vs in memory |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    address, processes = None, []
    try:
        for gib in opts.sizes:
            free = shutil.disk_usage(folder).free
            for func, width in CASES.items():
                need = gib * GIB * (2 if width == 8 else 1.2)  # the input and the result file
                if need > free * 0.8:
                    print(
                        f"| `{func}` | {gib:g} GiB | - | skipped: {need / GIB:.1f} GiB of disk needed, "
                        f"{free / GIB:.1f} free | | | |"
                    )
                    continue
                path = os.path.join(folder, "x.npy")
                make_input(path, gib, width)
                call = ["jvp", func, "x.npy", "-v", "ones", "--only", "jvp", "-o", "j.npy", "--quiet"]
                repeats = 1 if gib >= 10 else opts.repeats if gib < 3 else min(opts.repeats, 2)
                rows: dict[str, list[tuple[float, int]]] = {}
                engines: dict[str, list[str]] = {"streamed": []}
                # in memory: x, its tangent, output and jvp, and an encoded copy (~5x the input)
                if 5 * gib * GIB < 0.7 * physical:
                    engines["in memory"] = ["--memory", f"{int(physical * 0.9) >> 20}MiB"]
                if gib == opts.dask_at:
                    try:
                        if address is None:
                            address, processes = cluster(folder)
                        engines["dask, 2 workers"] = ["--scheduler", address]
                    except ImportError:
                        print(f"| `{func}` | {gib:g} GiB | dask | skipped: pip install 'jvpcli[dask]' | | | |")
                warm = os.path.join(folder, "w.npy")  # the kernel compiled and cached, workers warm
                np.save(warm, np.ones((64, width)))
                for extra in engines.values():
                    run([*call[:2], "w.npy", *call[3:], *extra], folder)
                for _ in range(repeats):  # the engines take turns: drift spreads over all of them
                    for name, extra in engines.items():
                        rows.setdefault(name, []).append(run([*call, *extra], folder))
                base = statistics.median(t for t, _ in rows["streamed"])
                memory = statistics.median(t for t, _ in rows["in memory"]) if "in memory" in rows else None
                for name, runs in rows.items():
                    seconds = statistics.median(t for t, _ in runs)
                    peak = max(p for _, p in runs) / (1 << 20)
                    ratio = f"{seconds / memory:.2f}x" if memory else "-"
                    extra = f" ({seconds / base:.2f}x local)" if name.startswith("dask") else ""
                    gbps = gib * GIB / seconds / 1e9
                    print(
                        f"| `{func}` | {gib:g} GiB | {name} | {seconds:.1f}{extra} | {gbps:.2f} ({gbps / bw:.0%} of "
                        f"bandwidth) | {peak:.2f} GiB | {ratio} |",
                        flush=True,
                    )
                os.unlink(path)
                if os.path.exists(os.path.join(folder, "j.npy")):
                    os.unlink(os.path.join(folder, "j.npy"))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
