"""BLAS threads while a kernel runs: limited on a busy machine or by --threads, untouched otherwise."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from jvpcli.engine import blas

BIG = [np.ones((300, 300))]


def _blas_threads():
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


@pytest.mark.parametrize(
    "source, args",
    [("return (numpy.sin(a0),)", BIG), ("return (numpy.matmul(a0, a0),)", [np.ones((4, 4))])],
    ids=["no BLAS call", "small arrays"],
)
def test_blas_is_left_alone_where_it_does_not_matter(source, args, monkeypatch):
    monkeypatch.setattr(blas, "_controller", None)
    assert isinstance(blas.limit(source, args, 1, cores=2), type(blas.contextlib.nullcontext()))
    assert blas._controller is None  # threadpoolctl was not even asked


def test_threads_limit_blas_inside_the_kernel_only():
    if not _blas_threads():
        pytest.skip("threadpoolctl finds no BLAS library in this numpy")
    before = _blas_threads()
    with blas.limit("return (_rt.contract_t(a0, a0, a0),)", BIG, 1, cores=2):
        assert _blas_threads() == {1}
    assert _blas_threads() == before


@pytest.mark.parametrize("load, free", [(0.1, 2), (0.7, 1), (1.4, 1), (5.0, 1)])
def test_free_cores_follow_the_load_average(load, free, monkeypatch):
    monkeypatch.setattr(blas.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(blas, "own_load", lambda: 0.0)
    assert blas.free_cores(2) == free


@pytest.mark.parametrize(("alive", "cpu", "own"), [(0.3, 0.3, 0.005), (120.0, 120.0, 0.865), (120.0, 12.0, 0.0865)])
def test_a_process_busy_for_minutes_is_its_own_part_of_the_load(alive, cpu, own, monkeypatch):
    """A benchmark that has kept one core busy for two minutes sees load 1.0 and both cores
    free; a fresh command's own part is nothing."""
    monkeypatch.setattr(blas.time, "monotonic", lambda: blas._STARTED + alive)
    monkeypatch.setattr(blas.time, "process_time", lambda: cpu)
    assert blas.own_load() == pytest.approx(own, rel=0.01)
    monkeypatch.setattr(blas.os, "getloadavg", lambda: (1.0, 1.0, 1.0))
    assert blas.free_cores(2) == (2 if own > 0.5 else 1)


def test_an_idle_machine_keeps_every_blas_thread(monkeypatch):
    monkeypatch.setattr(blas.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert isinstance(blas.limit("numpy.matmul(a0, a0)", BIG, None, cores=2), type(blas.contextlib.nullcontext()))
