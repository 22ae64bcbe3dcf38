"""The dialect (language.md, "Where numpy and torch disagree"): each disputed spelling in each
dialect, inferred from hints, set with --dialect / dialect=, refused when the hints are mixed,
and read as numpy's with one note when the text has no hint."""

import warnings

import numpy as np
import pytest

import jvpcli
from jvpcli.errors import ComputeError, DialectNote, ParseError
from jvpcli.lang.dialect import hints
from jvpcli.lang.parse import parse

RNG = np.random.default_rng(5)
X = RNG.standard_normal((3, 4))
SQ = RNG.standard_normal((3, 3))
V1 = RNG.standard_normal(5)


def value(func, x, dialect=None):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DialectNote)
        return jvpcli.jvp(func, x, np.ones_like(x), dialect=dialect).output


# (spelling, input, numpy's reading, torch's reading), each computed by hand with numpy
DISPUTED = [
    ("x.transpose(0, 1)", SQ, SQ, SQ.T),
    ("transpose(x, 0, 1)", SQ, SQ, SQ.T),
    ("x.max(1)", X, X.max(axis=1), (X.max(axis=1), X.argmax(axis=1))),
    ("max(x, 0)", X, X.max(axis=0), (X.max(axis=0), X.argmax(axis=0))),
    ("x.min(1)", X, X.min(axis=1), (X.min(axis=1), X.argmin(axis=1))),
    ("x.var()", X, X.var(), X.var(ddof=1)),
    ("var(x, 1)", X, X.var(axis=1), X.var(axis=1, ddof=1)),
    ("x.std()", X, X.std(), X.std(ddof=1)),
    ("std(x, 0)", X, X.std(axis=0), X.std(axis=0, ddof=1)),
    ("x.sort()", X, np.sort(X), (np.sort(X), np.argsort(X))),
    ("sort(x, 0)", X, np.sort(X, axis=0), (np.sort(X, axis=0), np.argsort(X, axis=0))),
    ("x.repeat(2)", V1, np.repeat(V1, 2), np.tile(V1, 2)),
    ("repeat(x, 2)", X, np.repeat(X, 2), np.tile(X, (1, 2))),
    ("size(x)", X, X.size, None),
]


def _same(ours, expected):
    if isinstance(expected, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(expected)
        for a, b in zip(ours, expected):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    else:
        np.testing.assert_allclose(ours, expected, rtol=1e-12)


@pytest.mark.parametrize(("spelling", "x", "numpy", "torch"), DISPUTED, ids=[d[0] for d in DISPUTED])
def test_each_disputed_spelling_in_each_dialect(spelling, x, numpy, torch):
    _same(value(spelling, x, "numpy"), numpy)
    if torch is not None:
        _same(value(spelling, x, "torch"), torch)


@pytest.mark.parametrize(("spelling", "x", "numpy", "torch"), DISPUTED, ids=[d[0] for d in DISPUTED])
def test_hints_choose_the_reading(spelling, x, numpy, torch):
    _same(value(f"def f(x):\n    unused = np.pi\n    return {spelling}", x), numpy)
    if torch is not None:
        _same(value(f"def f(x):\n    unused = torch.pi\n    return {spelling}", x), torch)


@pytest.mark.parametrize(("spelling", "x", "numpy", "torch"), DISPUTED, ids=[d[0] for d in DISPUTED])
def test_without_hints_numpy_reads_it_with_one_note(spelling, x, numpy, torch):
    with pytest.warns(DialectNote, match="--dialect torch") as caught:
        result = jvpcli.jvp(spelling, x, np.ones_like(x)).output
    assert len(caught) == 1
    _same(result, numpy)


@pytest.mark.parametrize(("spelling", "x", "numpy", "torch"), DISPUTED, ids=[d[0] for d in DISPUTED])
def test_mixed_hints_and_a_disputed_spelling_are_a_usage_error(spelling, x, numpy, torch):
    func = f"lambda x: np.exp(x).sum() * 0 + {spelling} + x.exp().sum() * 0"
    with pytest.raises(ParseError) as info:
        jvpcli.jvp(func, x, np.ones_like(x))
    message = info.value.render()
    assert "in numpy" in message and "in torch" in message and "--dialect" in message
    caret = message.splitlines()[-1].index("^") - 2
    assert func[caret:].startswith(spelling.split("(")[0].split(".")[0]) or func[caret:].startswith(spelling)
    assert info.value.exit_code == 2


def test_torch_prefixes_keywords_and_methods_are_torch_hints():
    for text in (
        "torch.exp(x)",
        "F.relu(x)",
        "torch.nn.functional.relu(x)",
        "x.sum(dim=1)",
        "x.mean(keepdim=True)",
        "x.var(unbiased=False)",
        "x.std(correction=0)",
        "x.exp()",
        "x.pow(2)",
        "x.clamp(0, 1)",
        "x.view(-1)",
        "x.permute(1, 0)",
        "x.unsqueeze(0)",
        "x.size(0)",
        "x.t()",
        "x.max(dim=0).values",
    ):
        found = hints(__import__("ast").parse(text))
        assert found.torch is not None and found.numpy is None, text


def test_numpy_prefixes_and_keywords_are_numpy_hints():
    for text in (
        "np.exp(x)",
        "numpy.exp(x)",
        "x.sum(axis=1)",
        "x.mean(keepdims=True)",
        "x.var(ddof=1)",
        "x.sum() + x.reshape(2, 2).T",
    ):
        found = hints(__import__("ast").parse(text))
        assert found.torch is None, text
    assert hints(__import__("ast").parse("x.sum() + x.reshape(2, 2).T")).numpy is None


def test_a_library_prefix_reads_its_own_spelling_even_in_mixed_text():
    func = "lambda x, W: np.sum(x @ torch.transpose(W, 0, 1), axis=0)"
    result = jvpcli.jvp(func, (X[:, :3], SQ), (X[:, :3], SQ)).output
    np.testing.assert_allclose(result, np.sum(X[:, :3] @ SQ.T, axis=0))


def test_spellings_one_library_cannot_read_take_the_other_reading():
    # torch's transpose needs two axes: with none it is numpy's, even in torch text
    np.testing.assert_allclose(value("x.transpose() + x.exp() * 0", SQ), SQ.T)
    np.testing.assert_allclose(value("x.var(ddof=1) + x.exp().sum() * 0", X), X.var(ddof=1))


def test_torch_tuple_results_by_index_field_and_unpacking():
    func = "def f(x):\n    values, indices = torch.max(x, dim=1)\n    return values + x.max(1)[0] + x.max(dim=1).values"
    np.testing.assert_allclose(value(func, X), 3 * X.max(axis=1))
    np.testing.assert_allclose(value("x.max(dim=1).indices * 1.0", X), X.argmax(axis=1))
    np.testing.assert_allclose(value("torch.max(x, x.flip(0))", X), np.maximum(X, X[::-1]))


def test_norm_of_a_matrix_is_refused_in_numpy_and_a_vector_norm_in_torch():
    with pytest.raises(ComputeError, match="matrix norm"):
        jvpcli.jvp("norm(x, 2)", SQ, SQ, dialect="numpy")
    with pytest.raises(ComputeError, match="vector_norm"):
        jvpcli.jvp("np.linalg.norm(x, 1)", SQ, SQ)
    np.testing.assert_allclose(value("norm(x, 2)", SQ, "torch"), np.sqrt((SQ**2).sum()))
    np.testing.assert_allclose(value("torch.norm(x, 1)", SQ), np.abs(SQ).sum())
    np.testing.assert_allclose(value("torch.linalg.norm(x, 2)", V1), np.linalg.norm(V1))
    np.testing.assert_allclose(value("norm(x, 2)", V1, "numpy"), np.linalg.norm(V1))
    np.testing.assert_allclose(value("x.norm(dim=1)", X), np.linalg.norm(X, axis=1))


def test_an_unknown_dialect_is_a_usage_error():
    with pytest.raises(jvpcli.UsageError, match="'numpy' or 'torch'"):
        jvpcli.jvp("x", X, X, dialect="jax")


def test_the_dialect_is_part_of_the_kernel_key():
    a = jvpcli.jvp("x.transpose(0, 1)", SQ, SQ, dialect="numpy").output
    b = jvpcli.jvp("x.transpose(0, 1)", SQ, SQ, dialect="torch").output
    np.testing.assert_allclose(a, SQ)
    np.testing.assert_allclose(b, SQ.T)


def test_cli_dialect_option_note_and_mixed_error(run):
    square = "[[1, 2], [3, 4]]"
    torch = run("jvp", "x.transpose(0, 1)", square, "-v", "ones", "--dialect", "torch", "--format", "json")
    assert torch.exit_code == 0 and '"data": [[1.0, 3.0], [2.0, 4.0]]' in torch.stdout
    bare = run("jvp", "x.transpose(0, 1)", square, "-v", "ones", "--format", "json")
    assert bare.exit_code == 0 and '"data": [[1.0, 2.0], [3.0, 4.0]]' in bare.stdout
    assert bare.stderr.count("jvpcli: note:") == 1 and "--dialect torch" in bare.stderr
    mixed = run("jvp", "np.exp(x).transpose(0, 1).sum(dim=0)", square, "-v", "ones")
    assert mixed.exit_code == 2 and "^" in mixed.stderr and "Traceback" not in mixed.stderr
    shown = run("show", "x.var()", "--dialect", "torch")
    assert shown.exit_code == 0 and "- 1" in shown.stdout


def test_parse_is_independent_of_the_dialect():
    assert parse("x.transpose(0, 1)") is parse("x.transpose(0, 1)")


def test_a_def_parameter_bound_with_c_is_a_constant(run):
    func = "def f(x, W):\n    return W @ x"
    result = run("jvp", func, "x=[1, 2]", "-c", "W=[[1, 0], [0, 2]]", "-v", "ones", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert '"data": [1.0, 4.0]' in result.stdout and '"data": [1.0, 2.0]' in result.stdout


def test_a_default_is_overridden_by_c(run):
    func = "def f(x, eps=1e-5):\n    return x / (1 + eps)"
    default = run("jvp", func, "[1.0]", "--format", "json")
    overridden = run("jvp", func, "[1.0]", "-c", "eps=1.0", "--format", "json")
    assert default.exit_code == 0 and overridden.exit_code == 0, (default.stderr, overridden.stderr)
    assert '"data": [0.99999' in default.stdout and '"data": [0.5]' in overridden.stdout
