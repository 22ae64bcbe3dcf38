"""Streamed jvp over .npy files of 1, 3 and 10 GiB: throughput, peak memory, and the dask engine.

    python benchmarks/stream.py                          # 1, 3 and 10 GiB; dask at 1 and 3
    python benchmarks/stream.py --sizes 1 --repeats 1    # a quick look

Per size and FUNC: whole-process wall time and peak resident memory of ``jvpcli jvp FUNC
x.npy -v ones --only jvp -o j.npy``, streamed (the default) and in memory (``--memory``
larger than the work), their ratio, and the input's GB/s beside the machine's memory
bandwidth (a numpy copy in the same run: bytes read plus bytes written per second). Where
the work does not fit in memory (10 GiB), the in-memory time is estimated from the largest
size measured in memory, per GiB, and said to be an estimate.

At the ``--dask-at`` sizes, the dask engine against the local engine: on a cluster of two
one-thread workers started beforehand on 127.0.0.1 (``--scheduler``; the workers' own peak
memory is shown beside the client's), and with ``--engine dask``, whose call starts and
stops a local cluster of its own (that start and stop is in its time).

Each call writes its result and syncs it to disk before the rename that publishes it, so
the disk is part of every row. ``os.sync()`` runs before each timed call: no call pays for
the writeback of the one before. Inputs are generated in a temporary folder (``--folder``)
and removed after their size; a size that does not fit the free disk space is skipped with
the reason. The machine may be shared: the engines take turns, medians are quoted, and the
load average is printed before and after; compare ratios within one run.
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
LOCAL, MEMORY, CLUSTER, OWN = "streamed", "in memory", "dask, 2 workers", "dask, --engine dask"


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
    """Wall seconds and peak resident KiB of one jvpcli call (after ``os.sync``, untimed)."""
    os.sync()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, timeout=3600)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode()[-2000:])
    return seconds, int(done.stderr.split()[-1])


class Cluster:
    """A scheduler and two one-thread workers on 127.0.0.1, stopping by themselves if left."""

    def __init__(self, folder: str) -> None:
        from distributed import Client

        address_file = os.path.join(folder, "scheduler.json")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder}
        common = ("--host", "127.0.0.1", "--no-dashboard", "--scheduler-file", address_file)
        scheduler = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", "0", "--idle-timeout", "900"]
        self.processes = [subprocess.Popen([*scheduler, *common], **quiet)]
        while not os.path.exists(address_file):
            time.sleep(0.2)
        worker = [sys.executable, "-m", "distributed.cli.dask_worker", "--nthreads", "1", "--death-timeout", "30"]
        self.processes += [subprocess.Popen([*worker, *common], **quiet) for _ in range(2)]
        self.client = Client(scheduler_file=address_file, timeout=120)
        self.client.wait_for_workers(2, timeout=120)
        self.address = self.client.scheduler.address

    def workers_peak(self) -> int:
        """The largest peak resident KiB of a worker process since it started."""

        def peak() -> int:
            return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])

        return max(self.client.run(peak).values())

    def close(self) -> None:
        self.client.close()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


def engines(gib: float, opts: argparse.Namespace, physical: int, cluster: Cluster | None) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = {LOCAL: []}
    # in memory: x, its tangent, output and jvp, and an encoded copy (~5x the input)
    if 5 * gib * GIB < 0.7 * physical and not opts.no_memory:
        chosen[MEMORY] = ["--memory", f"{int(physical * 0.9) >> 20}MiB"]
    if gib in opts.dask_at and cluster is not None:
        chosen[CLUSTER] = ["--scheduler", cluster.address]
        chosen[OWN] = ["--engine", "dask"]
    return chosen


def measure(func: str, width: int, gib: float, folder: str, opts, physical: int, cluster, per_gib: dict) -> None:
    path = os.path.join(folder, "x.npy")
    make_input(path, gib, width)
    call = ["jvp", func, "x.npy", "-v", "ones", "--only", "jvp", "-o", "j.npy", "--quiet"]
    chosen = engines(gib, opts, physical, cluster)
    repeats = 1 if gib >= 10 else opts.repeats if gib < 3 else min(opts.repeats, 2)
    np.save(os.path.join(folder, "w.npy"), np.ones((64, width)))  # the kernel compiled and cached
    for extra in chosen.values():
        run([*call[:2], "w.npy", *call[3:], *extra], folder)
    times: dict[str, list[tuple[float, int]]] = {}
    for _ in range(repeats):  # the engines take turns: drift spreads over all of them
        for name, extra in chosen.items():
            times.setdefault(name, []).append(run([*call, *extra], folder))
    medians = {name: statistics.median(t for t, _ in runs) for name, runs in times.items()}
    if MEMORY in medians:
        per_gib[func] = medians[MEMORY] / gib
    memory, estimated = medians.get(MEMORY), False
    if memory is None and func in per_gib:
        memory, estimated = per_gib[func] * gib, True
    for name, runs in times.items():
        seconds = medians[name]
        peak = f"{max(p for _, p in runs) / (1 << 20):.2f} GiB"
        if name == CLUSTER:
            peak += f" (workers {cluster.workers_peak() / (1 << 20):.2f} GiB)"
        ratio = f"{seconds / memory:.2f}x" + (" (estimate)" if estimated else "") if memory else "-"
        if name == MEMORY:
            ratio = "1.00x"
        versus = f" ({seconds / medians[LOCAL]:.2f}x local)" if name.startswith("dask") else ""
        gbps = gib * GIB / seconds / 1e9
        print(
            f"| `{func}` | {gib:g} GiB | {name} | {seconds:.1f}{versus} | {gbps:.2f} "
            f"({gbps / opts.bandwidth:.0%}) | {peak} | {ratio} |",
            flush=True,
        )
    os.unlink(path)
    if os.path.exists(os.path.join(folder, "j.npy")):
        os.unlink(os.path.join(folder, "j.npy"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 3, 10], help="input sizes in GiB")
    parser.add_argument("--repeats", type=int, default=3, help="runs per row (at most 2 from 3 GiB, 1 from 10 GiB)")
    parser.add_argument("--dask-at", type=float, nargs="*", default=[1, 3], help="the sizes (GiB) at which dask runs")
    parser.add_argument("--funcs", nargs="+", default=list(CASES), help="which FUNCs (of: %(default)s)")
    parser.add_argument("--folder", default=None, help="where to write the inputs (default: the temporary folder)")
    parser.add_argument("--no-memory", action="store_true", help="leave out the in-memory rows (slow, 5x the input)")
    opts = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="jvpcli-stream-", dir=opts.folder)
    os.environ["JVPCLI_CACHE_DIR"] = os.path.join(folder, "cache")  # the workers' and the calls': one secret
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cores: {os.cpu_count()}")
    opts.bandwidth = bandwidth()
    print(f"memory bandwidth (numpy copy of 1 GiB, read + write): {opts.bandwidth:.1f} GB/s")
    print("| FUNC | input | engine | median s | GB/s of input (of bandwidth) | peak RSS | vs in memory |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    cluster, per_gib = None, {}
    try:
        if opts.dask_at:
            try:
                cluster = Cluster(folder)
            except ImportError:
                print("dask rows skipped: pip install 'jvpcli[dask]'")
        for gib in opts.sizes:
            for func in opts.funcs:
                width = CASES[func]
                free = shutil.disk_usage(folder).free
                need = gib * GIB * (1 + 8 / width)  # the input and the result file
                if need > free * 0.8:
                    print(
                        f"| `{func}` | {gib:g} GiB | - | skipped: {need / GIB:.1f} GiB of disk needed, "
                        f"{free / GIB:.1f} GiB free | | | |",
                        flush=True,
                    )
                    continue
                measure(func, width, gib, folder, opts, physical, cluster, per_gib)
    finally:
        if cluster is not None:
            cluster.close()
        shutil.rmtree(folder, ignore_errors=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
