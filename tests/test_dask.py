"""The dask engine: a scheduler and a worker on 127.0.0.1 give the local engine's numbers."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import jvpcli_command

import jvpcli
from jvpcli.errors import ComputeError

pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'jvpcli[dask]')")

#: seconds the cluster may take to come up on a busy machine; it stops by itself after IDLE
START = 120
IDLE = 600
DASK = (sys.executable, "-m")
LOOPBACK = ("--host", "127.0.0.1", "--no-dashboard")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and one worker process on loopback, sharing a kernel cache folder with
    the tests; both end by themselves (idle timeout, death timeout) if the test dies."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    cache = folder / "cache"
    address_file = folder / "scheduler.json"
    env = {**os.environ, "JVPCLI_CACHE_DIR": str(cache)}
    shared = ("--scheduler-file", str(address_file))
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder}
    scheduler = subprocess.Popen(
        [*DASK, "distributed.cli.dask_scheduler", *LOOPBACK, "--port", "0", "--idle-timeout", str(IDLE), *shared],
        **quiet,
    )
    worker = None
    try:
        deadline = time.monotonic() + START
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        worker = subprocess.Popen(
            [*DASK, "distributed.cli.dask_worker", *LOOPBACK, "--nthreads", "1", "--death-timeout", "30", *shared],
            **quiet,
        )
        with Client(scheduler_file=str(address_file), timeout=START) as client:
            client.wait_for_workers(1, timeout=START)
            address = client.scheduler.address
        yield address, cache
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
        for process in (worker, scheduler):
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture
def on_cluster(cluster, monkeypatch, tmp_path):
    """The tests' kernel cache is the worker's (its secret seals the kernels they are sent)."""
    address, cache = cluster
    monkeypatch.setenv("JVPCLI_CACHE_DIR", str(cache))
    monkeypatch.chdir(tmp_path)
    return address


def test_a_cluster_gives_the_local_numbers_bit_for_bit(run, on_cluster, tmp_path):
    x = np.random.default_rng(0).random((20000, 8))
    np.save(tmp_path / "x.npy", x)
    local = run("jvp", "sin(x) * x", "x.npy", "-v", "rand", "-o", "local.npz")
    remote = run("jvp", "sin(x) * x", "x.npy", "-v", "rand", "-o", "remote.npz", "--scheduler", on_cluster)
    assert local.exit_code == 0 and remote.exit_code == 0, remote.stderr
    with np.load(tmp_path / "local.npz") as a, np.load(tmp_path / "remote.npz") as b:
        for key in ("output", "jvp"):
            np.testing.assert_array_equal(a[key], b[key])
    assert sorted(os.listdir(tmp_path)) == ["local.npz", "remote.npz", "x.npy"]


def test_an_array_from_standard_input_is_sent_to_the_workers_once(run, on_cluster, tmp_path):
    from conftest import npy_bytes

    x = np.random.default_rng(3).random((40000, 8)).astype(np.float32)  # 1.2 MiB: scattered
    command = ["jvp", "tanh(x) * 3", "-", "-v", "ones", "--only", "jvp", "-o"]
    local = run(*command, "local.npy", stdin=npy_bytes(x))
    remote = run(*command, "remote.npy", "--scheduler", on_cluster, stdin=npy_bytes(x))
    assert local.exit_code == 0 and remote.exit_code == 0, remote.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "local.npy"), np.load(tmp_path / "remote.npy"))


def test_workers_write_a_zarr_group_of_the_local_numbers(run, on_cluster, tmp_path):
    zarr = pytest.importorskip("zarr", reason="zarr (the dask extra, Python 3.11+) is not installed")
    x = np.random.default_rng(2).random((20000, 8))
    np.save(tmp_path / "x.npy", x)
    local = run("jvp", "sin(x) * x", "x.npy", "-v", "randn", "-o", "local.npz")
    remote = run("jvp", "sin(x) * x", "x.npy", "-v", "randn", "-o", "remote.zarr", "--scheduler", on_cluster)
    assert local.exit_code == 0 and remote.exit_code == 0, remote.stderr
    group = zarr.open_group(str(tmp_path / "remote.zarr"), mode="r")
    with np.load(tmp_path / "local.npz") as a:
        assert sorted(group.array_keys()) == sorted(a.files)
        for key in a.files:
            np.testing.assert_array_equal(group[key][...], a[key])
    assert sorted(os.listdir(tmp_path)) == ["local.npz", "remote.zarr", "x.npy"]


def test_workers_read_a_url_themselves(run, on_cluster, tmp_path):
    pytest.importorskip("fsspec", reason="fsspec (the dask extra) is not installed")
    x = np.random.default_rng(4).random((20000, 8))
    np.save(tmp_path / "x.npy", x)
    local = run("jvp", "cos(x) / (1 + x)", "x.npy", "-v", "rand", "--only", "jvp", "-o", "local.npy")
    url = f"file://{tmp_path / 'x.npy'}"
    remote = run(
        "jvp", "cos(x) / (1 + x)", url, "-v", "rand", "--only", "jvp", "-o", "remote.npy", "--scheduler", on_cluster
    )
    assert local.exit_code == 0 and remote.exit_code == 0, remote.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "local.npy"), np.load(tmp_path / "remote.npy"))


def test_a_row_reduction_on_the_cluster(run, on_cluster, tmp_path, monkeypatch):
    x = np.random.default_rng(1).standard_normal((30000, 16))
    np.save(tmp_path / "x.npy", x)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", on_cluster)
    result = run("jvp", "exp(x).sum(axis=1)", "x.npy", "-v", "ones", "--only", "jvp", "-o", "j.npy")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "j.npy"), np.exp(x).sum(axis=1), rtol=1e-13)
    _, jvp = jvpcli.jvp("exp(x).sum(axis=1)", x, np.ones_like(x))
    np.testing.assert_array_equal(np.load(tmp_path / "j.npy"), jvp)


def test_a_sum_over_the_rows_on_the_cluster_is_the_local_one(run, on_cluster, tmp_path, small_blocks):
    x = np.random.default_rng(5).standard_normal((30000, 16))
    np.save(tmp_path / "x.npy", x)
    command = ["jvp", "lambda x: (exp(x).mean(axis=0), (x**2).sum())", "x.npy", "-v", "rand", "-o"]
    local = run(*command, "local.npz")  # streamed here too, in blocks
    remote = run(*command, "remote.npz", "--scheduler", on_cluster)
    assert local.exit_code == 0 and remote.exit_code == 0, remote.stderr
    assert len(small_blocks) == 2 and min(small_blocks) > 3
    with np.load(tmp_path / "local.npz") as a, np.load(tmp_path / "remote.npz") as b:
        assert sorted(a.files) == sorted(b.files) == ["jvp_0", "jvp_1", "output_0", "output_1"]
        for key in a.files:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-12)
    np.testing.assert_allclose(np.load(tmp_path / "remote.npz")["output_1"], (x**2).sum(), rtol=1e-12)


def test_engine_local_overrides_the_scheduler_variable(run, monkeypatch, tmp_path):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:9")  # nothing listens there
    result = run("jvp", "x * 2", "[1.0, 2.0]", "-v", "ones", "--format", "json", "--engine", "local")
    assert result.exit_code == 0, result.stderr


def test_work_without_blocks_of_rows_runs_here_or_is_refused_by_name(run, on_cluster, tmp_path):
    np.save(tmp_path / "x.npy", np.ones((100, 3)))
    command = ["jvp", "x.sum(axis=0) * 2", "x.npy", "-v", "ones", "--scheduler", on_cluster, "--format", "json"]
    here = run(*command)
    assert here.exit_code == 0 and '"jvp": {"shape": [3], "dtype": "float64", "data": [200.0' in here.stdout
    refused = run(*command, "--memory", "1KiB")
    assert refused.exit_code == 1 and "'sum(x, axis=0)' mixes the rows of axis 0" in refused.stderr


def test_a_worker_refuses_an_entry_its_secret_did_not_seal(tmp_path, monkeypatch):
    from jvpcli.engine import dask as engine
    from jvpcli.kernels.cache import KernelCache

    monkeypatch.setenv("JVPCLI_CACHE_DIR", str(tmp_path / "worker"))
    kernel = jvpcli.api.kernel_for("jvp", jvpcli.parse("x * 2"), (("x", False),), (), False, False)
    foreign = KernelCache(tmp_path / "client").seal("dask", kernel)
    with pytest.raises(ComputeError, match="MAC does not hold"):
        engine._checked(foreign["payload"], foreign["mac"], "dask")
    own = KernelCache(tmp_path / "worker").seal("dask", kernel)
    assert engine._checked(own["payload"], own["mac"], "dask") == kernel


def test_without_dask_the_scheduler_says_what_to_install(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails
    result = run("jvp", "x * 2", "[1.0, 2.0]", "-v", "ones", "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 2 and "pip install 'jvpcli[dask]'" in result.stderr


def test_a_local_cluster_of_its_own_starts_and_stops_without_a_word(tmp_path):
    """--engine dask: the cluster's log lines (workers closing, a busy dashboard port) stay
    off stderr; the call's only output is its data. The cluster lives inside the call."""
    x = np.random.default_rng(6).random((20000, 4))
    np.save(tmp_path / "x.npy", x)
    command = ["jvp", "sin(x) * x", "x.npy", "-v", "ones", "--only", "jvp", "-o", "j.npy", "--engine", "dask"]
    done = subprocess.run([*jvpcli_command(), *command], cwd=tmp_path, capture_output=True, timeout=START + IDLE // 2)
    assert done.returncode == 0 and done.stderr == b"" and done.stdout == b"", done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "j.npy"), jvpcli.jvp("sin(x) * x", x, np.ones_like(x)).jvp)
