"""Hostile and clumsy inputs: each ends in one message and the documented status, quickly, or in the right answer."""

import io
import json
import os
import signal
import subprocess
import time
import zipfile

import numpy as np
import pytest
from conftest import jvpcli_command, npy_bytes

from jvpcli.arrays import limits, npy, sinks
from jvpcli.arrays.sources import SourceReader
from jvpcli.errors import SourceError, cut
from jvpcli.kernels.cache import KernelCache

# ---- constants that fold to what numpy computes ------------------------------------------
ZETA_2_2 = 2 - 2 * 1.2020569031595942  # polygamma(2, 2) = 2 - 2 zeta(3)


@pytest.mark.parametrize(
    ("func", "output", "jvp"),
    [
        ("x/0", [np.inf, np.inf], [np.inf, np.inf]),
        ("x / -1e-320", [-np.inf, -np.inf], [-np.inf, -np.inf]),
        ("pow(0.0, -2)*x", [np.inf, np.inf], [np.inf, np.inf]),
        ("x + 0.0**3", [1.0, 2.0], [1.0, 1.0]),
        ("pow(0.0, 2)*x", [0.0, 0.0], [0.0, 0.0]),
        (
            "polygamma(2, 2) * x",
            [2 - 2 * 1.2020569031595942, 2 * (2 - 2 * 1.2020569031595942)],
            [-0.4041138063191885] * 2,
        ),
    ],
)
def test_constants_fold_as_numpy_computes_them(run, func, output, jvp):
    result = run("jvp", func, "[1.0, 2.0]", "-v", "ones", "--format", "json", "--create-graph")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    decode = {"Infinity": np.inf, "-Infinity": -np.inf}
    for key, expected in (("output", output), ("jvp", jvp)):
        got = [decode.get(v, v) for v in doc[key]["data"]]
        np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert ("non-finite" in result.stderr) == (not np.isfinite(output).all())
    # the printed graph reads back as FUNC
    assert run("jvp", "--format", "json", "-v", "ones", "--", doc["graph"]["jvp"], "[1.0, 2.0]").exit_code == 0


def test_std_with_correction_of_one_element_is_nan_with_a_warning(run):
    result = run("jvp", "std(x, correction=1)", "1.0", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["output"]["data"] == "NaN"
    assert "non-finite" in result.stderr


# ---- .npy headers ----------------------------------------------------------------------
def _with_header(text: bytes, data: bytes = b"\0" * 48) -> bytes:
    header = text.ljust(117) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


BAD_HEADERS = {
    "unterminated dict": _with_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), "),
    "bool in shape": _with_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (True,), }"),
    "negative dim": _with_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"),
    "extra key": _with_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}"),
    "call": _with_header(b"{'descr': __import__('os'), 'fortran_order': False, 'shape': (1,)}"),
    "object": _with_header(b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"),
    "records": _with_header(b"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }"),
    "deep": _with_header(b"(" * 100 + b")" * 100),
    "huge length": b"\x93NUMPY\x02\x00" + (2**31).to_bytes(4, "little"),
    "version 9": b"\x93NUMPY\x09\x00\x10\x00",
    "not latin text": b"\x93NUMPY\x03\x00" + (4).to_bytes(4, "little") + b"\xff\xfe\xfd\n",
    "claims more than follows": _with_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (10**12,), }"),
}


@pytest.mark.parametrize("name", sorted(BAD_HEADERS))
def test_bad_npy_headers_are_one_message_from_a_file_and_from_stdin(run, tmp_path, name):
    data = BAD_HEADERS[name]
    (tmp_path / "bad.npy").write_bytes(data)
    for args, stdin in (([str(tmp_path / "bad.npy")], None), (["-"], data)):
        result = run("jvp", "x.sum()", *args, "-v", "ones", stdin=stdin)
        assert result.exit_code == 2 and result.stderr.startswith("jvpcli: error: "), result.stderr
        assert result.stderr.count("\n") == 1


def test_every_flipped_header_byte_is_refused_or_read(run, tmp_path):
    good = npy_bytes(np.arange(6.0).reshape(2, 3))
    for i in range(10, 70):
        flipped = bytearray(good)
        flipped[i] ^= 0x40
        try:
            header = npy.read_header(io.BytesIO(bytes(flipped)).read, "x")
        except SourceError:
            continue
        assert header.shape == (2, 3) or header.nbytes != 48


def test_a_large_npy_is_mapped_without_being_read(tmp_path, monkeypatch):
    monkeypatch.setattr("jvpcli.arrays.rows.NpyRows.MAP_FROM", 16)
    np.save(tmp_path / "big.npy", np.arange(10.0))
    monkeypatch.setattr(np, "load", None)  # numpy never parses the header
    array = SourceReader().read(str(tmp_path / "big.npy"))
    assert isinstance(array, np.memmap) and array[3] == 3.0


def test_a_fifo_or_a_device_named_like_a_data_file_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "fifo.npy")
    os.symlink("/dev/zero", tmp_path / "zero.npz")
    for name in ("fifo.npy", "zero.npz"):
        with pytest.raises(SourceError, match="not a regular file"):
            SourceReader().read(str(tmp_path / name))


# ---- .npz: corrupt streams and zip bombs -------------------------------------------------
def _npz(path, payload: bytes, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", method) as z:
        z.writestr("x.npy", payload)


def test_a_corrupt_deflate_stream_is_a_bad_archive(tmp_path):
    _npz(tmp_path / "c.npz", npy_bytes(np.arange(1000.0)))
    data = bytearray((tmp_path / "c.npz").read_bytes())
    for i in range(60, 90):
        data[i] ^= 0xFF
    (tmp_path / "c.npz").write_bytes(bytes(data))
    with pytest.raises(SourceError, match=r"not a valid \.npz"):
        SourceReader().read(str(tmp_path / "c.npz"))


def test_a_zip_bomb_is_refused_before_inflating(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**24,)})
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as z, z.open("x.npy", "w") as m:
        m.write(header.getvalue())
        for _ in range(16):
            m.write(bytes(2**23))
    assert (tmp_path / "bomb.npz").stat().st_size < 2**20
    start = time.monotonic()
    with pytest.raises(SourceError, match="zip bomb"):
        SourceReader().read(str(tmp_path / "bomb.npz"))
    with pytest.raises(SourceError, match="--max-bytes"):
        SourceReader(max_bytes=2**20).read(str(tmp_path / "bomb.npz"))
    assert time.monotonic() - start < 2


def test_npz_members_inflate_within_max_bytes_and_large_stored_ones_are_mapped(tmp_path, monkeypatch):
    a = np.arange(1000.0)
    _npz(tmp_path / "small.npz", npy_bytes(a))
    np.testing.assert_array_equal(SourceReader().read(str(tmp_path / "small.npz")), a)
    with pytest.raises(SourceError, match="--max-bytes"):
        SourceReader(max_bytes=4000).read(str(tmp_path / "small.npz"))
    monkeypatch.setattr("jvpcli.arrays.sources.MMAP_BYTES", 16)
    np.savez(tmp_path / "stored.npz", x=a)
    mapped = SourceReader(max_bytes=16).read(str(tmp_path / "stored.npz"))
    assert isinstance(mapped, np.memmap)
    np.testing.assert_array_equal(mapped, a)


# ---- standard input ----------------------------------------------------------------------
def test_an_extra_array_on_stdin_is_a_usage_error(run):
    result = run("jvp", "x * 2", "-", "-v", "ones", stdin=npy_bytes(np.ones(2), np.ones(2)))
    assert result.exit_code == 2 and "more than the 1 array(s)" in result.stderr


def test_stdin_is_read_record_by_record_within_max_bytes(run):
    stdin = npy_bytes(np.ones(1000))
    result = run("jvp", "x * 2", "-", "-v", "ones", "--max-bytes", "1K", stdin=stdin)
    assert result.exit_code == 2 and "--max-bytes" in result.stderr
    assert run("jvp", "x * 2", "-", "-v", "ones", "--max-bytes", "1M", stdin=stdin).exit_code == 0


def test_an_endless_stream_is_refused_quickly(proc):
    with open("/dev/zero", "rb") as zero:
        start = time.monotonic()
        result = subprocess.run([*jvpcli_command(), "jvp", "x", "-"], stdin=zero, capture_output=True, timeout=60)
    assert result.returncode == 2 and b"not a .npy array" in result.stderr
    assert time.monotonic() - start < 10


def test_a_generated_array_beyond_max_bytes_is_refused_before_it_is_made():
    with pytest.raises(SourceError, match="would take"):
        SourceReader(max_bytes=2**20).read("ones(1000000)")
    with pytest.raises(SourceError, match="would take"):
        SourceReader().read("zeros(100000, 100000, 100000)")
    big = np.lib.stride_tricks.as_strided(np.zeros(1), (10**7, 10**6), (0, 0))
    with pytest.raises(SourceError, match="would take"):
        SourceReader().read("ones", like=big)


# ---- output ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "table", "npy"])
def test_a_full_or_closed_stdout_is_one_message_and_status_2(fmt):
    command = " ".join(jvpcli_command()) + f" jvp 'x*2' '[1.0]' --format {fmt}"
    for redirect in ("> /dev/full", ">&-"):
        result = subprocess.run(["bash", "-c", f"{command} {redirect}"], capture_output=True, timeout=120)
        assert result.returncode == 2, result.stderr
        assert (
            result.stderr.startswith(b"jvpcli: error: cannot write to standard output")
            and b"Traceback" not in result.stderr
        )


@pytest.mark.parametrize("when", ["before the first write", "mid-stream"])
def test_a_reader_that_leaves_is_a_quiet_status_1(when):
    size, reader = ("3", "(exec 0<&-)") if when.startswith("before") else ("300000", "head -c 10 > /dev/null")
    command = " ".join(jvpcli_command()) + f" jvp 'x*2' 'rand({size})' -v ones --format json"
    result = subprocess.run(["bash", "-c", f"{command} | {reader}; exit ${{PIPESTATUS[0]}}"], capture_output=True)
    assert result.returncode == 1 and result.stderr == b""


def test_a_killed_write_leaves_nothing_and_old_debris_is_removed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    debris = tmp_path / f"{sinks.TEMP_PREFIX}{dead.pid}-abc"
    debris.write_bytes(b"half")
    ours = tmp_path / f"{sinks.TEMP_PREFIX}{os.getpid()}-abc"
    ours.write_bytes(b"in progress")
    child = subprocess.Popen(
        [*jvpcli_command(), "jvp", "x*2", "rand(20000000)", "-v", "ones", "-o", str(tmp_path / "o.npz")]
    )
    time.sleep(4)
    child.send_signal(signal.SIGKILL)
    child.wait()
    sinks.write_atomic(str(tmp_path / "other.json"), b"{}")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left in (sorted([ours.name, "other.json"]), sorted([ours.name, "other.json", "o.npz"]))


# ---- kernel cache ------------------------------------------------------------------------
CALL = ("jvp", "sin(x)", "[1.0]", "--format", "json")


def test_a_cache_folder_others_can_write_is_not_used(run, tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    monkeypatch.setenv("JVPCLI_CACHE_DIR", str(folder))
    monkeypatch.setattr("jvpcli.kernels.cache._WARNED", set())
    first, second = run(*CALL), run(*CALL, "--no-cache")
    assert first.exit_code == 0 and "not using the kernel cache" in first.stderr and "mode 777" in first.stderr
    assert second.stderr == "" and list(folder.iterdir()) == []


def test_a_cache_folder_of_another_user_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr("jvpcli.kernels.cache._WARNED", set())
    monkeypatch.setattr("jvpcli.kernels.cache.os.geteuid", lambda: os.getuid() + 1)
    with pytest.warns(UserWarning, match="owned by another user"):
        assert KernelCache(tmp_path).get("0" * 64) is None


def test_planted_links_and_fifos_in_the_cache_neither_hang_nor_run(proc, private_cache):
    assert proc(*CALL).returncode == 0
    (entry,) = private_cache.glob("*.json")
    (private_cache / "secret").unlink()
    os.symlink("/dev/zero", private_cache / "secret")
    entry.unlink()
    os.mkfifo(entry)
    start = time.monotonic()
    result = proc(*CALL)
    assert result.returncode == 0 and json.loads(result.stdout)["output"]["data"] == [np.sin(1.0)]
    assert time.monotonic() - start < 20


# ---- messages ----------------------------------------------------------------------------
def test_a_long_name_is_cut_in_messages(run):
    name = "a" * 60_000
    result = run("jvp", f"{name} + x", "[1.0]")
    assert result.exit_code == 2 and len(result.stderr) < 1000 and " characters]" in result.stderr


def test_cut_keeps_short_messages_whole():
    assert cut("unknown name 'foo'") == "unknown name 'foo'"
    assert len(cut("x" * 10_000 + " " + "y " * 5000)) <= 2200


def test_sizes_parse_and_memory_is_bounded():
    assert limits.parse_size("512M") == 512 * 2**20 and limits.parse_size("2GiB") == 2 * 2**30
    with pytest.raises(ValueError):
        limits.parse_size("lots")
    assert 0 < limits.default_max_bytes() < limits.usable_memory()


def test_usage_error_for_a_bad_size(run):
    result = run("jvp", "x", "[1.0]", "--max-bytes", "lots")
    assert result.exit_code == 2 and "not a size" in result.stderr


# ---- a long def that reuses its names ----------------------------------------------------
def _chain(n):
    return "def f(x):\n    h = x\n" + "    h = sin(h)*h + h**2\n" * n + "    return h"


def test_a_chain_that_reuses_names_is_right_and_grows_linearly(run_json):
    x, v = np.array([0.01, -0.02]), np.array([1.0, 0.5])

    def f(z):
        for _ in range(16):
            z = np.sin(z) * z + z**2
        return z

    doc = run_json("jvp", _chain(16), "[0.01, -0.02]", "-v", "[1.0, 0.5]", "--no-cache")
    eps = 1e-7
    np.testing.assert_allclose(doc["output"]["data"], f(x), rtol=1e-12)
    np.testing.assert_allclose(doc["jvp"]["data"], (f(x + eps * v) - f(x - eps * v)) / (2 * eps), rtol=1e-5)
    from jvpcli.kernels.compiler import compile_jvp
    from jvpcli.lang.parse import parse

    sizes = [len(compile_jvp(parse(_chain(n)), (("x", False),)).source) for n in (16, 32)]
    assert sizes[1] < 2.5 * sizes[0]  # one named intermediate per statement: the kernel grows with the lines


def test_a_chain_too_deep_for_the_symbolic_stage_is_refused_at_its_line(run):
    result = run("jvp", _chain(200), "[0.5]")
    assert result.exit_code == 2 and "nests deeper than 200 levels" in result.stderr and "^" in result.stderr
