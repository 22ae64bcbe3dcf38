"""Every SOURCE kind, and every way a SOURCE can be bad."""

import io
import zipfile

import numpy as np
import pytest

from jvpcli.arrays.sources import SourceReader
from jvpcli.errors import SourceError, UsageError


@pytest.fixture
def files(tmp_path):
    a = np.arange(6.0).reshape(2, 3)
    np.save(tmp_path / "a.npy", a)
    np.savez(tmp_path / "one.npz", a)
    np.savez(tmp_path / "two.npz", x=a, y=a * 2)
    np.savetxt(tmp_path / "a.csv", a, delimiter=",")
    np.savetxt(tmp_path / "a.tsv", a, delimiter="\t")
    np.savetxt(tmp_path / "a.txt", a)
    return tmp_path, a


@pytest.mark.parametrize("name", ["a.npy", "one.npz", "two.npz:x", "a.csv", "a.tsv", "a.txt"])
def test_files_round_trip(files, name):
    folder, a = files
    np.testing.assert_array_equal(SourceReader().read(str(folder / name)), a)


def test_large_npy_is_memory_mapped(tmp_path, monkeypatch):
    monkeypatch.setattr("jvpcli.arrays.rows.NpyRows.MAP_FROM", 16)
    np.save(tmp_path / "big.npy", np.ones(10))
    assert isinstance(SourceReader().read(str(tmp_path / "big.npy")), np.memmap)


def _npy_bytes(*arrays):
    buf = io.BytesIO()
    for a in arrays:
        np.save(buf, a)
    return buf.getvalue()


def test_stdin_arrays_are_read_in_turn():
    reader = SourceReader(stdin=io.BytesIO(_npy_bytes(np.ones(2), np.zeros(3))))
    np.testing.assert_array_equal(reader.read("-"), np.ones(2))
    np.testing.assert_array_equal(reader.read("-"), np.zeros(3))
    with pytest.raises(SourceError, match="fewer arrays than the 3"):
        reader.read("-")


def test_empty_stdin_is_an_error():
    with pytest.raises(SourceError, match="standard input is empty"):
        SourceReader(stdin=io.BytesIO(b"")).read("-")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5", np.array(1.5)),
        ("-2", np.array(-2)),
        ("[1, 2, 3]", np.array([1, 2, 3])),
        ("[[1, 2], [3, 4.5]]", np.array([[1, 2], [3, 4.5]])),
        ("[1+2j, -1j]", np.array([1 + 2j, -1j])),
        ("[nan, -inf]", np.array([np.nan, -np.inf])),
        ("ones(2, 3)", np.ones((2, 3))),
        ("ones((2, 3))", np.ones((2, 3))),
        ("zeros(3)", np.zeros(3)),
        ("arange(5)", np.arange(5.0)),
        ("arange(1, 2, 0.5)", np.arange(1, 2, 0.5)),
        ("linspace(0, 1, 5)", np.linspace(0, 1, 5)),
        ("eye(3)", np.eye(3)),
    ],
)
def test_literals_and_generators(text, expected):
    np.testing.assert_array_equal(SourceReader().read(text), expected)


def test_random_generators_follow_the_seed_and_draw_in_turn():
    a = SourceReader(seed=5)
    first, normal, second = a.read("rand(3)"), a.read("randn(3)"), a.read("rand(2, 2)")
    # the contract's default_rng(seed).random / .standard_normal, one generator drawn in turn
    rng = np.random.default_rng(5)
    np.testing.assert_array_equal(first, rng.random(3))
    np.testing.assert_array_equal(normal, rng.standard_normal(3))
    np.testing.assert_array_equal(second, rng.random((2, 2)))
    assert not np.array_equal(SourceReader(seed=6).read("randn(3)"), normal)


def test_a_large_randn_is_drawn_past_only_when_another_random_source_follows():
    a = SourceReader(seed=2)
    big, after = a.open("randn(3, 100000)"), a.read("rand(2)")
    rng = np.random.default_rng(2)
    np.testing.assert_array_equal(big.read(1, 3), rng.standard_normal((3, 100000))[1:])
    np.testing.assert_array_equal(after, rng.random(2))


def test_shapeless_generators_take_the_shape_and_dtype_of_their_input():
    like = np.zeros((2, 2), dtype=np.float32)
    out = SourceReader().read("ones", like=like)
    assert out.shape == (2, 2) and out.dtype == np.float32
    with pytest.raises(UsageError, match="only for -v"):
        SourceReader().read("ones")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "No such file"),
        (lambda p: p.write_bytes(b"not an array"), "not a .npy array"),
        (lambda p: p.write_bytes(_npy_bytes(np.ones(100))[:-8]), "truncated"),
        (lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True), "pickled"),
    ],
)
def test_bad_npy_files(tmp_path, make, message):
    path = tmp_path / "bad.npy"
    make(path)
    with pytest.raises(SourceError, match=message):
        SourceReader().read(str(path))


def test_a_header_claiming_more_than_the_file_holds_is_refused_before_allocating(tmp_path):
    header = np.lib.format.header_data_from_array_1_0(np.ones(1))
    header["shape"] = (10**12,)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    (tmp_path / "huge.npy").write_bytes(buf.getvalue() + b"\0" * 8)
    with pytest.raises(SourceError, match="truncated"):
        SourceReader().read(str(tmp_path / "huge.npy"))


def test_npz_needs_a_key_when_it_holds_several(files):
    folder, _ = files
    with pytest.raises(SourceError, match="holds 2 arrays"):
        SourceReader().read(str(folder / "two.npz"))
    with pytest.raises(SourceError, match="has no array 'z'"):
        SourceReader().read(str(folder / "two.npz:z"))


def test_npz_member_with_lying_header_is_refused(tmp_path):
    header = np.lib.format.header_data_from_array_1_0(np.ones(1))
    header["shape"] = (10**12,)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(tmp_path / "lie.npz", "w") as z:
        z.writestr("x.npy", buf.getvalue() + b"\0" * 8)
    with pytest.raises(SourceError, match="truncated"):
        SourceReader().read(str(tmp_path / "lie.npz"))


def test_non_numeric_csv_cell(tmp_path):
    (tmp_path / "bad.csv").write_text("1,2\n3,abc\n")
    with pytest.raises(SourceError, match="could not convert string 'abc'"):
        SourceReader().read(str(tmp_path / "bad.csv"))


@pytest.mark.parametrize(
    "text", ["foo", "[1, 'a']", "[[1, 2], [3]]", "ones(-1)", "ones(2.5)", "__import__('os')", "{1: 2}"]
)
def test_unreadable_sources(text):
    with pytest.raises(SourceError):
        SourceReader().read(text)
