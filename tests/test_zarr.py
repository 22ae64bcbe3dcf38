"""-o PATH.zarr: one array per result, named as the .npz keys, written whole or not at all."""

import importlib.metadata
import os
import sys

import numpy as np
import pytest

zarr = pytest.importorskip("zarr", reason="zarr (the dask extra, Python 3.11+) is not installed")


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    "func",
    ["sin(x) * x", "lambda x: (tanh(x), x.sum(axis=1))", "exp(x).sum(axis=1)"],
)
def test_a_streamed_group_holds_the_npz_arrays(tmp_path, run, small_blocks, func, monkeypatch):
    x = np.random.default_rng(0).random((3000, 4))
    np.save(tmp_path / "x.npy", x)
    monkeypatch.chdir(tmp_path)
    streamed = run("jvp", func, "x.npy", "-v", "rand", "-o", "out.zarr")
    assert streamed.exit_code == 0, streamed.stderr
    assert small_blocks and small_blocks[0] > 3
    in_memory = run("jvp", func, "x.npy", "-v", "rand", "-o", "out.npz", "--memory", "1GiB")
    assert in_memory.exit_code == 0, in_memory.stderr
    group = zarr.open_group(str(tmp_path / "out.zarr"), mode="r")
    with np.load(tmp_path / "out.npz") as archive:
        assert sorted(group.array_keys()) == sorted(archive.files)
        for key in archive.files:
            np.testing.assert_allclose(group[key][...], archive[key], rtol=1e-13, atol=1e-13)
    # the streamed arrays are chunked by the blocks of rows
    assert group[sorted(group.array_keys())[0]].chunks[0] < 3000
    assert _files(tmp_path) == ["out.npz", "out.zarr", "x.npy"]


def test_only_the_wanted_result_is_written_and_a_group_is_replaced(tmp_path, run, small_blocks, monkeypatch):
    x = np.linspace(0, 1, 12000).reshape(3000, 4)
    np.save(tmp_path / "x.npy", x)
    monkeypatch.chdir(tmp_path)
    assert run("jvp", "x * 3", "x.npy", "-v", "ones", "-o", "out.zarr").exit_code == 0
    again = run("jvp", "x ** 2", "x.npy", "-v", "ones", "--only", "jvp", "-o", "out.zarr")
    assert again.exit_code == 0, again.stderr
    group = zarr.open_group(str(tmp_path / "out.zarr"), mode="r")
    assert list(group.array_keys()) == ["jvp"]
    np.testing.assert_array_equal(group["jvp"][...], 2 * x)
    assert _files(tmp_path) == ["out.zarr", "x.npy"]


def test_results_in_memory_and_other_commands_write_groups_too(tmp_path, run, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("jvp", "x ** 2", "[1.0, 2.0]", "-v", "ones", "-o", "small.zarr").exit_code == 0
    group = zarr.open_group(str(tmp_path / "small.zarr"), mode="r")
    np.testing.assert_array_equal(group["output"][...], [1.0, 4.0])
    np.testing.assert_array_equal(group["jvp"][...], [2.0, 4.0])
    hessian = run("hessian", "lambda x, y: x * y**2", "2.0", "3.0", "-o", "h.zarr")
    assert hessian.exit_code == 0, hessian.stderr
    group = zarr.open_group(str(tmp_path / "h.zarr"), mode="r")
    assert group["hessian_1_1"][...] == 4.0 and group["hessian_0_1"][...] == 6.0


def test_a_failed_call_leaves_no_group_and_a_killed_ones_debris_goes(tmp_path, run, small_blocks, monkeypatch):
    from jvpcli.arrays import sinks

    monkeypatch.chdir(tmp_path)
    debris = tmp_path / f"{sinks.TEMP_PREFIX}999999999-abc"  # a write whose process is gone
    (debris / "result-0").mkdir(parents=True)
    np.save(tmp_path / "x.npy", np.ones((3000, 4)))
    failed = run("jvp", "x @ x", "x.npy", "-v", "ones", "-o", "out.zarr")
    assert failed.exit_code != 0
    assert _files(tmp_path) == ["x.npy"]


def test_without_zarr_a_group_is_a_usage_error_naming_the_extra(run, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "zarr", None)  # import zarr now fails
    monkeypatch.chdir(tmp_path)
    result = run("jvp", "x * 2", "[1.0, 2.0]", "-v", "ones", "-o", "out.zarr")
    assert result.exit_code == 2 and "pip install 'jvpcli[dask]'" in result.stderr
    assert os.listdir(tmp_path) == []
    requires = importlib.metadata.metadata("jvpcli").get_all("Requires-Dist") or []
    assert any(r.startswith("zarr") and "extra == 'dask'" in r for r in requires)
