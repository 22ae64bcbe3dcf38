"""The parser: three FUNC forms, the whitelist, limits, and carets under errors."""

import time

import numpy as np
import pytest
import sympy as sp

import jvpcli
from jvpcli.errors import ParseError
from jvpcli.lang.build import build
from jvpcli.lang.parse import parse


def test_bare_expression_inputs_are_free_names_in_textual_order():
    assert parse("y * exp(x) + np.sin(y) + pi").free_names == ("y", "x", "pi")
    assert parse("y * exp(x) + np.sin(y) + pi").input_names() == ("y", "x")


def test_a_constant_name_is_an_input_only_when_bound():
    assert parse("e * x").input_names() == ("x",)
    assert parse("e * x").input_names(bound=frozenset({"e"})) == ("e", "x")
    assert parse("A @ x").input_names(constants=frozenset({"A"})) == ("x",)


def test_lambda_parameters_are_the_inputs_in_order():
    assert parse("lambda b, a: a + b").params == ("b", "a")


def test_def_with_docstring_assignments_and_return():
    program = parse('''
        def f(x, W):
            """doc"""
            h = W @ x
            g = h * 2
            return g.sum(), h
    ''')
    assert program.params == ("x", "W")
    assert [name for name, _ in program.body] == ["h", "g"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("import os", "'Import' is not allowed"),
        ("__import__('os')", "unknown function '__import__'"),
        ("__import__('os').system('true')", "unknown function 'system'"),
        ("x.__class__", "attribute '__class__' is not allowed"),
        ("x._secret", "attribute '_secret' is not allowed"),
        ("[a for a in x]", "'ListComp' is not allowed"),
        ("{1: x}", "'Dict' is not allowed"),
        ("x if x else x", "'IfExp' is not allowed"),
        ("(lambda: x)()", "only named functions can be called"),
        ("open('f')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("x.mro()", "unknown function 'mro'"),
        ("getattr(x, 'y')", "unknown function 'getattr'"),
        ("f'{x}'", "'JoinedStr' is not allowed"),
        ("x[::, y]", "an index must be an integer"),
        ("x and y", "'BoolOp' is not allowed"),
        ("(x := 3)", "'NamedExpr' is not allowed"),
        ("lambda x=1: x", "only plain positional parameters"),
        ("lambda *x: x", "only plain positional parameters"),
        ("def f(x):\n    for i in x:\n        pass\n    return x", "'For' is not allowed"),
        ("def f(x):\n    return", "must end with 'return EXPRESSION'"),
        ("def f(x):\n    x += 1\n    return x", "'AugAssign' is not allowed"),
        ("@dec\ndef f(x):\n    return x", "decorators"),
        ("x\ny", "one expression, one lambda or one def"),
        ("x +", "syntax error"),
        ("", "FUNC is empty"),
        ("exp(x)(y)", "only named functions can be called"),
        ("x(1)", "'x' is a variable, not a function"),
        ("where(x, y)", "missing a required argument"),
        ("sum(x, axis=y)", "axis must be an integer"),
        ("x.where(x, x)", "is a function, not a method"),
        ("x.foo", "attribute 'foo' is not supported"),
        ("x.exp", "attribute 'exp' is not supported (methods need parentheses)"),
        ("np.foo", "'foo' is not a constant"),
        ("sum(**x)", "'**' arguments are not allowed"),
        ("'abc' + x", "must be an array or a number"),
    ],
)
def test_rejections_are_parse_errors_with_a_message(text, message):
    with pytest.raises(ParseError) as info:
        build(parse(text), {name: sp.Symbol(name, real=True) for name in "xy"})
    assert message in info.value.render()


def test_unknown_function_lists_close_matches_and_a_caret():
    with pytest.raises(ParseError) as info:
        parse_and_build("2 * expp(x)")
    assert info.value.render() == (
        "unknown function 'expp' (did you mean 'exp', 'exp2', 'expm1'?)\n  2 * expp(x)\n      ^"
    )


def test_syntax_error_caret_points_at_the_column():
    with pytest.raises(ParseError) as info:
        parse("x + * y")
    assert info.value.render().splitlines()[1:] == ["  x + * y", "      ^"]


def parse_and_build(text):
    return jvpcli.jvp(text, np.ones(2), np.ones(2))


def test_long_sum_chains_are_flattened_not_recursed():
    text = " + ".join(f"{i % 7}*x" for i in range(6000))
    result = jvpcli.jvp(text, np.array([1.0]), np.array([1.0]))
    assert result.jvp[0] == sum(i % 7 for i in range(6000))


def test_deep_nesting_is_refused():
    text = "x" + ".exp()" * 400
    with pytest.raises(ParseError, match="nests deeper than"):
        parse(text)


def test_text_length_is_capped():
    with pytest.raises(ParseError, match="characters long"):
        parse("x" * 200_001)


@pytest.mark.parametrize("text", ["x ** (9 ** 9 ** 9)", "x * (((9**64)**64)**64)**64", "x * 2 ** 100000"])
def test_huge_constant_powers_fail_fast(text):
    start = time.perf_counter()
    with pytest.raises(ParseError, match="too large to compute"):
        parse_and_build(text)
    assert time.perf_counter() - start < 5  # a hang would be caught by CI's time limit long before


def test_huge_integer_literals_are_refused():
    with pytest.raises(ParseError, match="integer literal"):
        parse_and_build("x * 123456789012345678901234567890")


def test_error_caret_on_a_long_line_stays_near_the_column():
    text = "x + " * 50 + "bogus(x)"
    with pytest.raises(ParseError) as info:
        parse_and_build(text)
    line, caret = info.value.render().splitlines()[1:]
    assert len(line) <= 82 and line[caret.index("^")] == "b"


def test_assignments_that_compose_deeply_are_refused():
    text = "def f(x):\n" + "    x = sin(x)\n" * 300 + "    return x"
    with pytest.raises(ParseError, match="once its assignments are substituted"):
        parse_and_build(text)


def test_a_def_whose_tree_is_exponential_runs_on_its_graph(proc):
    """40 reuses of h make a tree of 2**40 nodes; every walk over it must see the graph."""
    text = "def f(x):\n" + "    x = sin(x) + cos(x)\n" * 40 + "    return x"
    result = proc("jvp", text, "[0.5]", "--no-cache", "--format", "json")
    assert result.returncode == 0, result.stderr
    graph = proc("jvp", text, "[0.5]", "--no-cache", "--create-graph")
    assert graph.returncode == 2 and b"'jvpcli show' prints it" in graph.stderr
    assert proc("show", text).stdout.startswith(b"def jvp(x, v_x):")


def test_pow_takes_torchs_keywords():
    assert jvpcli.jvp("pow(input=x, exponent=3)", 2.0).jvp == 12.0
