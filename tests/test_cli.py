"""The jvp command end to end: formats, files, pipes, and every error path."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import SAMPLES, jvpcli_command, npy_bytes, npy_records

X44 = os.path.join(SAMPLES, "x44.npy")


def test_exp_reducer_table_in_a_pipe_is_plain_and_uncut(run):
    result = run("jvp", "x.exp().sum(dim=1)", f"x={X44}", "-v", "ones")
    assert result.exit_code == 0 and result.stderr == ""
    expected = np.exp(np.load(X44)).sum(axis=1)
    assert "output   shape (4,)   float64" in result.stdout
    assert "\x1b[" not in result.stdout
    assert all(f"{v:.8f}"[:8] in result.stdout for v in expected)
    assert max(len(line) for line in result.stdout.splitlines()) > 80  # not cut to a terminal width


def test_adder_json(run_json):
    doc = run_json("jvp", "lambda x, y: 2*x + 3*y", "[0.1, 0.2]", "[0.3, 0.4]", "-v", "ones", "-v", "ones")
    assert doc["jvp"] == {"shape": [2], "dtype": "float64", "data": [5.0, 5.0]}
    assert doc["output"]["data"] == [2 * 0.1 + 3 * 0.3, 2 * 0.2 + 3 * 0.4]


def test_mlp_from_a_file_with_seeded_random_tangents(run_json):
    args = [f"{n}={os.path.join(SAMPLES, n)}.npy" for n in ("x", "W", "b")]
    doc = run_json("jvp", f"@{SAMPLES}/mlp.py", *args, "-v", "rand", "-v", "rand", "-v", "rand")
    x, W, b = (np.load(os.path.join(SAMPLES, f"{n}.npy")) for n in ("x", "W", "b"))
    rng = np.random.default_rng(0)
    vx, vW, vb = rng.random(x.shape), rng.random(W.shape), rng.random(b.shape)
    h = np.tanh(W @ x + b)
    expected = np.sum(2 * h * (1 - h**2) * (vW @ x + W @ vx + vb))
    assert doc["output"]["shape"] == [] and isinstance(doc["jvp"]["data"], float)
    np.testing.assert_allclose(doc["jvp"]["data"], expected, rtol=1e-13)


def test_stdin_pipeline_to_npy(run, tmp_path):
    x, v, A = np.array([0.1, 0.5, 0.9]), np.ones(3), np.arange(6.0).reshape(3, 2)
    np.save(tmp_path / "A.npy", A)
    result = run(
        "jvp",
        "tanh(x) @ A",
        "-",
        "-c",
        f"A={tmp_path / 'A.npy'}",
        "-v",
        "-",
        "--format",
        "npy",
        "--only",
        "jvp",
        stdin=npy_bytes(x, v),
    )
    assert result.exit_code == 0, result.stderr
    (jvp,) = npy_records(result.stdout_bytes)
    np.testing.assert_allclose(jvp, ((1 - np.tanh(x) ** 2) * v) @ A, rtol=1e-15)


def test_npy_stream_holds_outputs_then_jvps(run):
    result = run("jvp", "lambda x: (x * 2, x.sum())", "[1, 2]", "-v", "[1, 1]", "--format", "npy")
    out0, out1, jvp0, jvp1 = npy_records(result.stdout_bytes)
    np.testing.assert_array_equal(out0, [2, 4])
    assert out1 == 3 and jvp1 == 2
    np.testing.assert_array_equal(jvp0, [2, 2])


def test_npz_keys_for_single_and_tuple_outputs(run):
    import io

    single = np.load(io.BytesIO(run("jvp", "x * 2", "[1, 2]", "-v", "[1, 1]", "--format", "npz").stdout_bytes))
    assert sorted(single) == ["jvp", "output"]
    pair = run("jvp", "lambda x: (x, 2 * x)", "[1.0]", "--format", "npz").stdout_bytes
    assert sorted(np.load(io.BytesIO(pair))) == ["jvp_0", "jvp_1", "output_0", "output_1"]


def test_json_tuple_output_complex_and_non_finite(run):
    result = run(
        "jvp", "lambda z, x: (z * 1j, log(x))", "[1+2j]", "[0.0, 1.0]", "-v", "[1]", "-v", "[1, 1]", "--format", "json"
    )
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["output"][0] == {"shape": [1], "dtype": "complex128", "data": [[-2.0, 1.0]]}
    assert doc["output"][1]["data"] == ["-Infinity", 0.0]
    assert doc["jvp"][1]["data"] == ["Infinity", 1.0]
    assert "warning: output 1 has 1 non-finite value" in result.stderr


def test_create_graph_json_reads_back(run_json):
    doc = run_json("jvp", "lambda x: sin(x) * x", "[0.5, 1.5]", "-v", "[1, 2]", "--create-graph")
    jvp_text = doc["graph"]["jvp"]
    again = run_json("jvp", f"lambda x, v_x: {jvp_text}", "[0.5, 1.5]", "[1, 2]", "-v", "zeros", "-v", "zeros")
    assert again["output"]["data"] == doc["jvp"]["data"]


def test_output_file_formats_and_only(run, tmp_path):
    for name in ("r.json", "r.npz"):
        assert run("jvp", "x * 3", "[1, 2]", "-v", "ones", "-o", str(tmp_path / name)).stdout == ""
    assert json.loads((tmp_path / "r.json").read_text())["jvp"]["data"] == [3.0, 3.0]
    result = run("jvp", "x * 3", "[1, 2]", "-v", "ones", "--only", "jvp", "-o", str(tmp_path / "j.npy"))
    assert result.exit_code == 0 and result.stdout == ""
    np.testing.assert_array_equal(np.load(tmp_path / "j.npy"), [3, 3])


def test_output_may_replace_an_input_file(run, tmp_path):
    np.save(tmp_path / "x.npy", np.array([1.0, 2.0]))
    result = run(
        "jvp", "x * 3", str(tmp_path / "x.npy"), "-v", "ones", "--only", "output", "-o", str(tmp_path / "x.npy")
    )
    assert result.exit_code == 0, result.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), [3, 6])


def test_a_failed_run_leaves_no_file_and_keeps_an_old_one(run, tmp_path):
    target = tmp_path / "out.json"
    assert (
        run("jvp", "lambda x, y: x @ y", "[1, 2]", "[1, 2, 3]", "-v", "ones", "-v", "ones", "-o", str(target)).exit_code
        == 1
    )
    assert not target.exists()
    target.write_text("old")
    run("jvp", "bogus(x)", "[1]", "-o", str(target))
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_dtype_float32_is_kept_and_casts(run_json):
    doc = run_json("jvp", "x * 2", "[1, 2]", "-v", "ones", "--dtype", "float32")
    assert doc["output"]["dtype"] == "float32" and doc["jvp"]["dtype"] == "float32"


ERRORS = [
    (["x +"], 2, "syntax error"),
    (["expp(x)", "[1]"], 2, "did you mean 'exp'"),
    (["import os"], 2, "'import os': FUNC may import only"),
    (["x.__class__", "[1]"], 2, "'__class__' is not allowed"),
    (["lambda x, y: x + y", "[1]", "-v", "[1]"], 2, "no SOURCE for input 'y'"),
    (["x * 2", "x=[1]", "z=[1]"], 2, "unknown input 'z'"),
    (["x + y", "[1]", "[2]"], 2, "bind each by name"),
    (["x * 2", "[1, 2]", "-v", "[1, 2, 3]"], 1, "tangent for input 'x' has shape (3,), but 'x' has shape (2,)"),
    (["x * 2", "[1, 2]"], 2, "v is required"),
    (["x * 2", "missing.npy", "-v", "ones"], 2, "No such file"),
    (
        ["lambda x, y: x * 2", "[1]", "[2]", "-v", "ones", "-v", "ones", "--strict"],
        1,
        "strict: no output depends on input 'y'",
    ),
    (["lambda x: (x, pi)", "[1]", "--strict"], 1, "strict: output 1 does not depend on any input"),
    (["x * 2", "-", "-v", "ones"], 2, "standard input is empty"),
    (["x * 2", "[1, 2]", "-v", "ones", "-o", "out.npy"], 2, "holds one array, but there are 2"),
    (["x * 2", "[1, 2]", "-v", "ones", "-o", "out.txt"], 2, "the extension must be one of"),
    (["x * 2", "[1, 2]", "--bogus"], 2, "No such option"),
    (
        ["lambda x, y: x @ y", "[1, 2]", "[1, 2, 3]", "-v", "ones", "-v", "ones"],
        1,
        "cannot compute 'x @ y' on operands of shapes (2,), (3,)",
    ),
    (
        ["inv(x)", "[[1, 2], [2, 4]]", "-v", "ones"],
        1,
        "cannot compute 'inv(x)' on operands of shapes (2, 2): Singular matrix",
    ),
    (["x * 2", "[1.0]", "-o", "missing/out.json"], 2, "cannot write 'missing/out.json': No such file or directory"),
    (["lambda: 2.0"], 2, "FUNC has no inputs"),
]


@pytest.mark.parametrize(("args", "code", "message"), [e for e in ERRORS if e[1]], ids=lambda v: str(v)[:40])
def test_errors_are_one_message_with_the_documented_status(proc, tmp_path, args, code, message):
    result = proc("jvp", *args, cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert result.stdout == b""
    assert message in stderr
    assert "Traceback" not in stderr


def test_bad_sources_in_files(run, tmp_path):
    np.save(tmp_path / "p.npy", np.array([{}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "two.npz", a=np.ones(1), b=np.ones(1))
    (tmp_path / "t.npy").write_bytes(npy_bytes(np.ones(50))[:-10])
    (tmp_path / "c.csv").write_text("1,x\n")
    for name, message in [
        ("p.npy", "pickled"),
        ("two.npz", "name one as"),
        ("t.npy", "truncated"),
        ("c.csv", "could not convert"),
    ]:
        result = run("jvp", "x * 2", str(tmp_path / name), "-v", "ones")
        assert result.exit_code == 2 and result.stdout == "" and message in result.stderr


def test_binary_output_is_refused_on_a_terminal(tmp_path):
    import pty

    leader, follower = pty.openpty()
    result = subprocess.run(
        [*jvpcli_command(), "jvp", "x", "[1.0]", "--format", "npy"],
        stdout=follower,
        stderr=subprocess.PIPE,
        timeout=120,
    )
    os.close(follower)
    os.close(leader)
    assert result.returncode == 2 and b"refusing to write binary npy data to a terminal" in result.stderr


def test_a_closed_pipe_ends_quietly():
    pipeline = f"{' '.join(jvpcli_command())} jvp 'x * 2' 'rand(300000)' -v ones --format json | head -c 10"
    result = subprocess.run(["bash", "-c", pipeline], capture_output=True, timeout=120)
    assert result.stdout.startswith(b'{"output"') and result.stderr == b""


def test_python_dash_m_and_version():
    result = subprocess.run([sys.executable, "-m", "jvpcli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("jvpcli, version ")


@pytest.mark.parametrize("args", [["--help"], ["jvp", "--help"]])
def test_help_shows_a_worked_example(run, args):
    result = run(*args)
    assert result.exit_code == 0 and "Examples" in result.stdout and "  jvpcli jvp '" in result.stdout


def test_func_starting_with_a_dash_after_double_dash(run_json):
    doc = run_json("jvp", "-v", "ones", "--", "-x.sum()", "[1, 2]")
    assert doc["output"]["data"] == -3.0 and doc["jvp"]["data"] == -2.0


def test_named_and_positional_tangents(run_json):
    doc = run_json("jvp", "lambda x, y: x * y", "[2]", "[3]", "-v", "y=[1]", "-v", "[0]")
    assert doc["jvp"]["data"] == [2.0]


@pytest.mark.parametrize(
    "args",
    [["codegen", "x * 2", "-o", "missing/m.py"], ["check", "x**2", "[1.0]", "-v", "ones", "--plot", "missing/p.png"]],
)
def test_files_in_a_missing_folder_are_one_clear_error(proc, tmp_path, args):
    result = proc(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert b"jvpcli: error: cannot write 'missing/" in result.stderr and b"Traceback" not in result.stderr


def _at_most_4_gib() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def test_a_warning_from_numpy_is_one_line_and_the_call_ends():
    """numpy's own warnings (a mean of nothing) are shown as jvpcli's, once; showing one
    where warnings are being recorded recorded it again, without end (out of memory)."""
    result = subprocess.run(
        [*jvpcli_command(), "jvp", "x.mean(axis=1)", "zeros(3,0)", "-v", "ones", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_at_most_4_gib,
    )
    assert result.returncode == 0 and json.loads(result.stdout)["output"]["data"] == ["NaN"] * 3
    assert result.stderr.splitlines() == [
        "jvpcli: warning: Mean of empty slice",
        "jvpcli: warning: output has 3 non-finite value(s) (NaN or infinity)",
        "jvpcli: warning: jvp has 3 non-finite value(s) (NaN or infinity)",
    ]


def test_only_jvp_table_is_headed_jvp(run):
    result = run("jvp", "lambda x: (x * 2, x.sum())", "[1, 2]", "-v", "[1, 1]", "--only", "jvp")
    assert result.exit_code == 0, result.stderr
    headings = [line for line in result.stdout.splitlines() if "shape" in line]
    assert headings == ["jvp 0   shape (2,)   float64", "jvp 1   shape ()   float64"]
