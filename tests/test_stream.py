"""Streaming: arrays read, made and written by blocks of rows give the in-memory numbers."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import npy_records

import jvpcli
from jvpcli.arrays.npystream import NpyOut, Spool
from jvpcli.arrays.rows import Generated, NpyRows
from jvpcli.arrays.sources import open_npy
from jvpcli.cli.progress import Bar


def _state(seed: int, drawn: int = 0) -> dict:
    bits = np.random.PCG64(seed)
    bits.advance(drawn)
    return bits.state


@pytest.mark.parametrize("kind", ["ones", "zeros", "rand", "randn"])
@pytest.mark.parametrize("edges", [(0, 1, 2, 70000), (0, 65535, 65537, 70000), (0, 33333, 70000)])
def test_generated_blocks_hold_the_numbers_of_the_whole(kind, edges):
    made = Generated(kind, (70000, 3), _state(3, 5))
    whole = made.whole()
    blocks = np.concatenate([made.read(lo, hi) for lo, hi in itertools.pairwise(edges)])
    np.testing.assert_array_equal(blocks, whole)


def test_rand_is_the_seeds_uniform_stream_from_its_start():
    made = Generated("rand", (4, 5), _state(9, 7))
    np.testing.assert_array_equal(made.whole().ravel(), np.random.default_rng(9).random(27)[7:])


def test_randn_is_the_seeds_normal_stream_in_order_and_out_of_order():
    """Blocks read in order go on from the last one; a block read out of order (a dask task's
    first) draws past the numbers before it: the same numbers either way."""
    made = Generated("randn", (5, 70000), _state(1))
    want = np.random.default_rng(1).standard_normal((5, 70000))
    np.testing.assert_array_equal(made.read(3, 5), want[3:])
    np.testing.assert_array_equal(made.read(0, 2), want[:2])
    np.testing.assert_array_equal(made.read(2, 3), want[2:3])
    np.testing.assert_array_equal(made.read(3, 4), want[3:4])


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", [(7,), (7, 3), (7, 2, 3)])
def test_npy_rows_read_any_block(tmp_path, order, shape):
    a = np.asarray(np.arange(np.prod(shape), dtype=np.float32).reshape(shape), order=order)
    np.save(tmp_path / "a.npy", a)
    rows = open_npy(str(tmp_path / "a.npy"))
    assert isinstance(rows, NpyRows) and rows.shape == shape
    np.testing.assert_array_equal(rows.read(2, 5), a[2:5])
    out = np.empty((3, *shape[1:]), np.float32)
    assert rows.read(4, 7, out) is out
    np.testing.assert_array_equal(out, a[4:7])


def test_npy_out_writes_blocks_in_any_order(tmp_path):
    out = NpyOut(str(tmp_path / "r.npy"), (5, 2), np.dtype(np.float64))
    out.write(3, np.full((2, 2), 3.0))
    out.write(0, np.arange(6.0).reshape(3, 2))
    expected = np.concatenate([np.arange(6.0).reshape(3, 2), np.full((2, 2), 3.0)])
    np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), expected)
    np.testing.assert_array_equal(out.array(), expected)


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("func", "exact"),
    [
        ("sin(x)*x", True),
        ("exp(x).sum(axis=1)", False),
        ("lambda x, c: (tanh(x) * c, (x * c).mean(axis=1))", False),
        ("x[:, 1:3] ** 2", True),
    ],
)
def test_streamed_results_equal_in_memory_ones(tmp_path, run, small_blocks, func, exact):
    rng = np.random.default_rng(0)
    x, v, c = rng.random((3000, 4)), rng.standard_normal((3000, 4)), rng.random(4)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "v.npy", v)
    np.save(tmp_path / "c.npy", c)
    two = "lambda" in func
    expected = jvpcli.jvp(func, (x, c) if two else x, (v, np.zeros(4)) if two else v)
    args = ["x=x.npy", "-v", "x=v.npy"] + (["c=c.npy", "-v", "c=zeros"] if two else [])
    os.chdir(tmp_path)
    result = run("jvp", func, *args, "-o", "out.npz")
    assert result.exit_code == 0, result.stderr
    with np.load(tmp_path / "out.npz") as archive:
        got = dict(archive)
    outs = expected.output if isinstance(expected.output, tuple) else (expected.output,)
    jvps = expected.jvp if isinstance(expected.jvp, tuple) else (expected.jvp,)
    keys = ["output", "jvp"] if len(outs) == 1 else [f"{k}_{i}" for k in ("output", "jvp") for i in range(len(outs))]
    for key, want in zip(keys, [*outs, *jvps]):
        if exact:
            np.testing.assert_array_equal(got[key], want)
        else:
            np.testing.assert_allclose(got[key], want, rtol=1e-13, atol=1e-13)
    assert _files(tmp_path) == ["c.npy", "out.npz", "v.npy", "x.npy"]
    assert small_blocks and small_blocks[0] > 3


def test_streamed_npy_is_renamed_into_place_and_tangents_are_made_per_block(tmp_path, run, small_blocks):
    x = np.random.default_rng(1).random((5000, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    os.chdir(tmp_path)
    result = run("jvp", "x * 2", "x.npy", "-v", "rand", "--only", "jvp", "-o", "j.npy", "--seed", "4")
    assert result.exit_code == 0 and result.stdout == "", result.stderr
    j = np.load(tmp_path / "j.npy")
    # the jvp of 2x along v is 2v: v is default_rng(4).random, cast to the input's float32
    np.testing.assert_array_equal(j, 2 * np.random.default_rng(4).random(x.shape).astype(np.float32))
    assert j.dtype == np.float32 and _files(tmp_path) == ["j.npy", "x.npy"]
    assert small_blocks and small_blocks[0] > 3
    assert oct(os.stat(tmp_path / "j.npy").st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_streamed_results_go_to_stdout_and_tables(tmp_path, run, small_blocks):
    x = np.linspace(-1, 1, 8000).reshape(2000, 4)
    np.save(tmp_path / "x.npy", x)
    os.chdir(tmp_path)
    result = CliBytes(run)("jvp", "x ** 3", "x.npy", "-v", "ones", "--format", "npy")
    out, jvp = npy_records(result)
    np.testing.assert_array_equal(out, x**3)
    np.testing.assert_array_equal(jvp, 3 * x**2)
    table = run("jvp", "x ** 3", "x.npy", "-v", "ones")
    assert table.exit_code == 0 and "shape (2000, 4)" in table.stdout
    assert _files(tmp_path) == ["x.npy"] and len(small_blocks) == 2


def CliBytes(run):
    def invoke(*args):
        result = run(*args)
        assert result.exit_code == 0, result.stderr
        return result.stdout_bytes

    return invoke


def test_non_finite_values_are_counted_over_all_blocks(tmp_path, run, small_blocks):
    x = np.ones((3000, 4))
    x[::100, 0] = 0.0  # 30 zeros, in many blocks
    np.save(tmp_path / "x.npy", x)
    os.chdir(tmp_path)
    result = run("jvp", "log(x)", "x.npy", "-v", "ones", "-o", "r.npz")
    assert result.exit_code == 0
    assert "output has 30 non-finite value(s)" in result.stderr and "jvp has 30" in result.stderr
    assert small_blocks and small_blocks[0] > 3


def test_a_kernel_that_cannot_stream_fails_before_reading(tmp_path, run, small_blocks, monkeypatch):
    np.save(tmp_path / "x.npy", np.ones((3000, 4)))

    def refuse(*args, **kwargs):
        raise AssertionError("a row was read")

    monkeypatch.setattr(NpyRows, "read", refuse)
    monkeypatch.setattr(NpyRows, "whole", refuse)
    os.chdir(tmp_path)
    result = run("jvp", "x.sum(axis=0) * 2", "x.npy", "-v", "ones", "-o", "r.npz", "--memory", "64KiB")
    assert result.exit_code == 1
    assert "cannot be streamed" in result.stderr and "sum(x, axis=0)" in result.stderr
    assert "--memory" in result.stderr and _files(tmp_path) == ["x.npy"]


def test_a_kernel_that_cannot_stream_runs_in_memory_when_it_fits(tmp_path, run, small_blocks):
    x = np.random.default_rng(2).random((3000, 4))
    np.save(tmp_path / "x.npy", x)
    os.chdir(tmp_path)
    result = run("jvp", "x.sum(axis=0) * 2", "x.npy", "-v", "ones", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert '"jvp": {"shape": [4]' in result.stdout and not small_blocks


@pytest.mark.parametrize(
    "func",
    [
        "x.sum()",
        "x.sum(axis=0)",
        "x.mean()",
        "(sin(x) * x).mean(axis=0)",
        "exp(x).sum(axis=(0, 1), keepdims=True)",
        "lambda x, c: (tanh(x) * c, (x * c).sum(axis=0), c.sum())",
    ],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sums_and_means_over_the_rows_stream_as_partial_sums(tmp_path, run, small_blocks, func, dtype):
    rng = np.random.default_rng(5)
    x, v, c = rng.standard_normal((5000, 4)).astype(dtype), rng.random((5000, 4)).astype(dtype), rng.random(4)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "v.npy", v)
    two = "lambda" in func
    expected = jvpcli.jvp(func, (x, c.astype(dtype)) if two else x, (v, np.zeros(4, dtype)) if two else v)
    np.save(tmp_path / "c.npy", c.astype(dtype))
    args = ["x=x.npy", "-v", "x=v.npy"] + (["c=c.npy", "-v", "c=zeros"] if two else [])
    os.chdir(tmp_path)
    result = run("jvp", func, *args, "-o", "out.npz")
    assert result.exit_code == 0, result.stderr
    assert small_blocks and small_blocks[0] > 3
    outs = expected.output if isinstance(expected.output, tuple) else (expected.output,)
    jvps = expected.jvp if isinstance(expected.jvp, tuple) else (expected.jvp,)
    keys = ["output", "jvp"] if not two else [f"{k}_{i}" for k in ("output", "jvp") for i in range(len(outs))]
    rtol = 1e-12 if dtype == "float64" else 1e-5
    with np.load(tmp_path / "out.npz") as got:
        for key, want in zip(keys, [*outs, *jvps]):
            assert got[key].shape == want.shape and got[key].dtype == want.dtype, key
            np.testing.assert_allclose(got[key], want, rtol=rtol, atol=rtol)


def test_a_streamed_sum_reports_its_non_finite_values_once(tmp_path, run, small_blocks):
    x = np.ones((3000, 4))
    x[1500, 2] = 0.0
    np.save(tmp_path / "x.npy", x)
    os.chdir(tmp_path)
    result = run("jvp", "log(x).sum(axis=0)", "x.npy", "-v", "ones", "-o", "r.npz")
    assert result.exit_code == 0 and small_blocks and small_blocks[0] > 3
    assert "output has 1 non-finite value(s)" in result.stderr and "jvp has 1 " in result.stderr
    with np.load(tmp_path / "r.npz") as got:
        np.testing.assert_array_equal(got["output"], [0.0, 0.0, -np.inf, 0.0])


def test_memory_sizes_are_read_with_units(run):
    bad = run("jvp", "x", "1.0", "--memory", "lots")
    assert bad.exit_code == 2 and "not a size like 1GiB" in bad.stderr


def test_a_spool_leaves_nothing_behind(tmp_path):
    with Spool(str(tmp_path)) as spool:
        spool.create((3,), np.dtype(np.float64))
        assert len(_files(tmp_path)) == 1
    assert _files(tmp_path) == []
    anonymous = Spool(str(tmp_path), keep=False)
    array = anonymous.finish(anonymous.create((3,), np.dtype(np.float64)))
    assert _files(tmp_path) == [] and array.shape == (3,)


def test_the_progress_bar_shows_blocks_on_a_terminal(monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("jvpcli.cli.progress.AFTER", 0.0)
    screen = Terminal()
    bar = Bar(screen)
    bar(1, 4, 100, 400)
    bar(2, 4, 200, 400)
    bar.close()
    assert "block" in screen.getvalue() and "2/4" in screen.getvalue()


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak memory from Linux's /proc")
def test_streaming_bounds_the_resident_memory(tmp_path):
    """A 192 MiB input and its tangent: in memory ~1 GiB, streamed under a 160 MiB budget."""
    x = np.random.default_rng(3).random((3_000_000, 8))
    np.save(tmp_path / "x.npy", x)
    # VmHWM, the peak of this process's own memory: ru_maxrss would keep the peak of the
    # process it was forked from (pytest's), which exec does not reset
    probe = (
        "import sys\nfrom jvpcli.cli.commands import cli\n"
        "try:\n    cli.main(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n    print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0], file=sys.stderr)\n"
    )
    args = ["jvp", "sin(x) * x", "x.npy", "-v", "rand", "--only", "jvp", "-o", "j.npy", "--memory", "160MiB"]
    done = subprocess.run([sys.executable, "-c", probe, *args], cwd=tmp_path, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    peak_kib = int(done.stderr.split()[-1])
    assert peak_kib < 160 * 1024, f"peak RSS {peak_kib} KiB"
    v = np.random.default_rng(0).random(x.shape)
    np.testing.assert_allclose(np.load(tmp_path / "j.npy"), (np.cos(x) * x + np.sin(x)) * v, rtol=1e-14)
