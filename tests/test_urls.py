"""SOURCEs as fsspec URLs: a .npy file read a block of rows at a time, at its offsets."""

import sys

import numpy as np
import pytest

fsspec = pytest.importorskip("fsspec", reason="fsspec (the dask extra) is not installed")

from jvpcli.arrays.rows import NpyRows  # noqa: E402


@pytest.fixture
def memory_fs():
    fs = fsspec.filesystem("memory")
    yield fs
    fs.rm("/jvpcli-test", recursive=True)


def _put(fs, name, array):
    with fs.open(f"/jvpcli-test/{name}", "wb") as fp:
        np.save(fp, array)
    return f"memory://jvpcli-test/{name}"


def test_a_url_streams_by_blocks_and_gives_the_local_numbers(run, small_blocks, memory_fs, tmp_path, monkeypatch):
    x = np.random.default_rng(0).random((4000, 4))
    url = _put(memory_fs, "x.npy", x)
    np.save(tmp_path / "x.npy", x)
    reads = []
    read_into = NpyRows._read_into

    def counted(self, buf, offset):
        reads.append(len(buf))
        return read_into(self, buf, offset)

    monkeypatch.setattr(NpyRows, "_read_into", counted)
    monkeypatch.chdir(tmp_path)
    remote = run("jvp", "exp(x).sum(axis=1)", url, "-v", "rand", "-o", "remote.npz")
    assert remote.exit_code == 0, remote.stderr
    assert small_blocks and small_blocks[0] > 3
    assert reads and max(reads) < x.nbytes // 3  # never the whole file
    local = run("jvp", "exp(x).sum(axis=1)", "x.npy", "-v", "rand", "-o", "local.npz")
    assert local.exit_code == 0, local.stderr
    with np.load(tmp_path / "remote.npz") as a, np.load(tmp_path / "local.npz") as b:
        for key in ("output", "jvp"):
            np.testing.assert_array_equal(a[key], b[key])


def test_a_small_url_is_read_whole_and_named_inputs_work(run_json, memory_fs):
    url = _put(memory_fs, "y.npy", np.array([1.0, 2.0, 3.0]))
    out = run_json("jvp", "x * y", "x=[1.0, 1.0, 1.0]", f"y={url}", "-v", "x=ones", "-v", "y=zeros")
    assert out["output"]["data"] == [1.0, 2.0, 3.0] and out["jvp"]["data"] == [1.0, 2.0, 3.0]


def test_a_missing_url_and_a_bad_header_are_source_errors(run, memory_fs):
    missing = run("jvp", "x * 2", "memory://jvpcli-test/none.npy", "-v", "ones")
    assert missing.exit_code == 2 and "cannot read 'memory://jvpcli-test/none.npy'" in missing.stderr
    with memory_fs.open("/jvpcli-test/bad.npy", "wb") as fp:
        fp.write(b"not an array")
    bad = run("jvp", "x * 2", "memory://jvpcli-test/bad.npy", "-v", "ones")
    assert bad.exit_code == 2 and "is not a .npy array" in bad.stderr


def test_a_protocol_whose_package_is_missing_names_it(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "s3fs", None)  # import s3fs fails, installed or not
    result = run("jvp", "x * 2", "s3://bucket/x.npy", "-v", "ones")
    assert result.exit_code == 2 and "s3fs" in result.stderr and "Traceback" not in result.stderr
    unknown = run("jvp", "x * 2", "nosuch://bucket/x.npy", "-v", "ones")
    assert unknown.exit_code == 2 and "Protocol not known: nosuch" in unknown.stderr


def test_without_fsspec_a_url_says_what_to_install(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    monkeypatch.setitem(sys.modules, "fsspec.core", None)
    result = run("jvp", "x * 2", "memory://jvpcli-test/x.npy", "-v", "ones")
    assert result.exit_code == 2 and "pip install 'jvpcli[dask]'" in result.stderr
