"""Fuzzing jvpcli through its real CLI entry point: generated and mutated FUNC text, data files
and standard-input streams.

Every case must end with status 0, 1 or 2; no traceback and no internal error; a message on
stderr for every non-zero status; one JSON document on stdout for every zero status; within
``TIME_LIMIT`` seconds of CPU, and no hang (``HANG_LIMIT`` seconds of wall time).
``tests/test_fuzz.py`` runs a few hundred cases in the suite; ``python -m tests.fuzz --examples
100000`` runs long and prints the counts.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import signal
import string
import sys
import tempfile
import time
import zipfile
from typing import Any, NamedTuple

import numpy as np
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jvpcli.cli.commands import cli
from jvpcli.lang.functions import FUNCTIONS

#: seconds of CPU a case may take (the issue's bound), and of wall time before it counts as a hang
#: (CPU, not wall time, is the bound: six people share two cores here)
TIME_LIMIT = 5.0
HANG_LIMIT = 60.0
NAMES = ("x", "y")
_UNARY = sorted(n for n in FUNCTIONS if n.isidentifier())


# ---- FUNC: a grammar of the language, then mutations ------------------------------------
NUMBERS = (
    st.sampled_from(
        [
            "0",
            "0.0",
            "1",
            "2",
            "-1",
            "0.5",
            "1e308",
            "1e-320",
            "-1e-320",
            "1e400",
            "nan",
            "inf",
            "pi",
            "e",
            "10**400",
            "9" * 5000,
            "1j",
            "3+4j",
            "True",
            "None",
            "()",
        ]
    )
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
    | st.integers(-(2**70), 2**70).map(str)
)
LEAVES = st.sampled_from(NAMES) | NUMBERS
ARGS = st.sampled_from(
    [
        "",
        ", axis=0",
        ", axis=1",
        ", axis=-1",
        ", axis=None",
        ", keepdims=True",
        ", dim=0",
        ", 2",
        ", correction=1",
        ", ord=2",
    ]
)


def _expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "@", "<", "&"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(st.sampled_from(_UNARY), inner, ARGS).map(lambda t: f"{t[0]}({t[1]}{t[2]})"),
            st.tuples(inner, st.sampled_from(_UNARY), ARGS).map(lambda t: f"{t[0]}.{t[1]}({t[2].lstrip(', ')})"),
            st.tuples(inner, st.sampled_from(["[0]", "[:, 1]", "[..., -1]", "[1:3]", "[None]", ".T", "[0, 0, 0]"])).map(
                "".join
            ),
            st.tuples(st.sampled_from(["where", "maximum", "arctan2", "polygamma", "clip"]), inner, inner).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
            inner.map(lambda e: f"-{e}"),
        )

    return st.recursive(LEAVES, extend, max_leaves=12)


def _programs() -> st.SearchStrategy[str]:
    expr = _expressions()
    lambdas = st.tuples(st.sampled_from(["x", "x, y", "y, x", ""]), expr).map(lambda t: f"lambda {t[0]}: {t[1]}")
    defs = st.tuples(st.lists(expr, min_size=0, max_size=4), expr).map(
        lambda t: "def f(x, y):\n" + "".join(f"    {n} = {e}\n" for n, e in zip("hxyh", t[0])) + f"    return {t[1]}"
    )
    tuples = st.tuples(expr, expr).map(lambda t: f"{t[0]}, {t[1]}")
    deep = st.tuples(st.integers(1, 400), st.sampled_from(["(", "sin(", "-(", "[", "x["])).map(
        lambda t: t[1] * t[0] + "x" + {"(": ")", "sin(": ")", "-(": ")", "[": "]", "x[": "]"}[t[1]] * t[0]
    )
    chains = st.tuples(st.integers(1, 3000), st.sampled_from(["+", "*", "-"])).map(lambda t: t[1].join(["x"] * t[0]))
    return st.one_of(expr, lambdas, defs, tuples, deep, chains)


_ODD = ["\x00", "\n", "\t", "\u00e9", "\u202e", "\U0001f600", "\ud800", "  ", "__", "lambda", "def", "import", "**"]
INSERTS = st.sampled_from([*"()[]{},.:;=_'\"\\#@!$`~^|&*+-/", *_ODD])


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    text = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        if not text:
            break
        i = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "swap"]))
        if kind == "delete":
            text = text[:i] + text[i + 1 :]
        elif kind == "insert":
            text = text[:i] + draw(INSERTS) + text[i:]
        elif kind == "duplicate":
            j = draw(st.integers(i, len(text)))
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + text[i:][::-1]
    return text


FUNCS = mutated(_programs()) | st.text(max_size=200)
SHAPES = st.lists(st.integers(0, 4), max_size=3).map(tuple)
DTYPES = st.sampled_from(["<f8", "<f4", "<f2", ">f8", "<i8", "|i1", "|b1", "<c16", "<c8", "<u2"])


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:
    shape, dtype = draw(SHAPES), np.dtype(draw(DTYPES))
    values = draw(st.lists(st.floats(-1e6, 1e6) | st.sampled_from([0.0, np.nan, np.inf]), min_size=1, max_size=4))
    with np.errstate(all="ignore"):
        return np.resize(np.array(values), shape).astype(dtype)


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "header", "none"]))
        i = draw(st.integers(0, max(len(out) - 1, 0)))
        if kind == "flip" and out:
            out[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del out[i:]
        elif kind == "insert":
            out[i:i] = draw(st.binary(max_size=8))
        elif kind == "header":
            text = draw(st.sampled_from([b"(True,)", b"(-1,)", b"(10**12,)", b"'|O'", b"[('a','<f8')]", b"((((", b"}"]))
            out[10:10] = text
    return bytes(out)


NPY = arrays().map(_npy).flatmap(mutated_bytes) | st.binary(max_size=300)


@st.composite
def npz(draw: st.DrawFn) -> bytes:
    buf = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
    with zipfile.ZipFile(buf, "w", method) as z:
        for name in draw(
            st.lists(st.sampled_from(["x.npy", "y.npy", "x", "../x.npy", "x.npy.npy"]), max_size=3, unique=True)
        ):
            z.writestr(name, draw(NPY))
    return draw(mutated_bytes(buf.getvalue()))


CSV = st.text(alphabet=string.digits + ".,-e \n\t\x00nainf" + "é", max_size=200).map(str.encode) | st.binary(
    max_size=100
)
STDIN = st.lists(NPY, min_size=0, max_size=3).map(b"".join)


class Case(NamedTuple):
    kind: str
    args: list[str]
    files: dict[str, bytes]
    stdin: bytes | None


@st.composite
def cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(["func", "npy", "npz", "csv", "stdin"]))
    command = draw(st.sampled_from(["jvp", "jvp", "jvp", "check", "show"]))
    if kind == "func":
        func = draw(FUNCS)
        if command == "show":
            return Case(kind, ["show", func], {}, None)
        sources = draw(
            st.sampled_from(
                [["x=[0.5, 1.5]", "y=[2.0, -1.0]"], ["x=1.0", "y=2.0"], ["x=rand(2,2)", "y=rand(2,2)"], ["[0.5]"], []]
            )
        )
        return Case(kind, _command(command, func, sources), {}, None)
    func = draw(st.sampled_from(["x.sum()", "sin(x) * 2", "x @ x.T", "exp(x).sum(axis=-1)", "x[0]"]))
    if kind == "stdin":
        count = draw(st.integers(1, 3))
        return Case(kind, _command("jvp", func, ["-"], "-" if count > 1 else "ones"), {}, draw(STDIN))
    name = {
        "npy": "a.npy",
        "npz": draw(st.sampled_from(["a.npz", "a.npz:x", "a.npz:y"])),
        "csv": draw(st.sampled_from(["a.csv", "a.tsv", "a.txt"])),
    }[kind]
    data = draw({"npy": NPY, "npz": npz(), "csv": CSV}[kind])
    return Case(kind, _command("jvp", func, [name]), {name.partition(":")[0]: data}, None)


def _command(command: str, func: str, sources: list[str], tangent: str = "ones") -> list[str]:
    """The command line: one tangent per SOURCE (named like it), JSON for jvp, FUNC after ``--``."""
    tangents = []
    for source in sources:
        name, named, _ = source.partition("=")
        tangents += ["-v", f"{name}={tangent}" if named else tangent]
    fmt = ["--format", "json"] if command == "jvp" else []
    return [command, *fmt, "--no-cache", *tangents, "--", func, *sources]


# ---- running one case --------------------------------------------------------------------
class Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Timeout


def run_case(case: Case) -> tuple[int | str, str | None]:
    """(exit status or failure kind, what is wrong or None)."""
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as folder, _cwd(folder):
        for name, data in case.files.items():
            with open(name, "wb") as fp:
                fp.write(data)
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, HANG_LIMIT)
        start = time.process_time()
        try:
            result = runner.invoke(cli, case.args, input=case.stdin)
        except Timeout:
            return "timeout", f"no end within {HANG_LIMIT} s"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        elapsed = time.process_time() - start
    return result.exit_code, _problem(case, result, elapsed)


def _problem(case: Case, result: Any, elapsed: float) -> str | None:
    stderr = result.stderr
    if isinstance(result.exception, Timeout) or elapsed > TIME_LIMIT:
        return f"took {elapsed:.1f} s of CPU"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"exception {type(result.exception).__name__}: {result.exception}"
    if result.exit_code not in (0, 1, 2):
        return f"exit status {result.exit_code}"
    if "Traceback" in stderr or "internal error" in stderr:
        return f"traceback or internal error: {stderr[-500:]}"
    if result.exit_code != 0 and not stderr.strip():
        return "a non-zero status without a message"
    if result.exit_code == 0 and case.args[0] == "jvp":
        try:
            json.loads(result.stdout)
        except ValueError:
            return f"status 0 without one JSON document: {result.stdout[:200]!r}"
    return None


@contextlib.contextmanager
def _cwd(folder: str) -> Any:
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


# ---- the long run ------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--kind", choices=["func", "npy", "npz", "csv", "stdin"], default=None)
    options = parser.parse_args(argv)
    counts: collections.Counter[tuple[str, int | str]] = collections.Counter()
    failures: list[tuple[Case, str]] = []
    strategy = cases() if options.kind is None else cases().filter(lambda c: c.kind == options.kind)
    os.environ.setdefault("JVPCLI_CACHE_DIR", tempfile.mkdtemp(prefix="jvpcli-fuzz-cache-"))
    start = time.monotonic()

    @settings(
        max_examples=options.examples,
        deadline=None,
        database=None,
        derandomize=options.seed is not None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def explore(case: Case) -> None:
        status, problem = run_case(case)
        counts[(case.kind, status)] += 1
        if problem is not None:
            counts[(case.kind, "FAILED")] += 1
            failures.append((case, problem))
            files = {k: v[:80] for k, v in case.files.items()}
            stdin = (case.stdin or b"")[:80]
            print(
                f"FAIL {case.kind}: {problem}\n  args={case.args!r}\n  files={files!r}\n  stdin={stdin!r}",
                file=sys.stderr,
            )

    explore()
    total = sum(v for (k, s), v in counts.items() if s != "FAILED")
    print(f"{total} cases in {time.monotonic() - start:.0f} s")
    for kind in sorted({k for k, _ in counts}):
        row = {str(s): v for (k, s), v in sorted(counts.items(), key=str) if k == kind}
        print(f"  {kind:6s} {row}")
    print(f"failures: {len(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
