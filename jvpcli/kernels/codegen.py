"""Derivative -> numpy kernel: renamed symbols, shared subexpressions, Python source.

User names never reach the generated code: inputs, tangents and constants become
``a0``, ``a1``, ... before printing, and every free symbol must be one of them. The
source is plain text that could be written to disk and imported.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import numpy as np
import sympy as sp
from sympy.printing.numpy import SciPyPrinter

from jvpcli.symbolic import dag


class KernelPrinter(SciPyPrinter):
    """numpy code; floats printed so they read back bit for bit; scipy only for special functions."""

    printmethod = "_numpycode"

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr)) if expr._prec <= 53 else super()._print_Float(expr)

    def _print_Pi(self, expr: sp.Expr) -> str:
        return "numpy.pi"

    def _print_conjugate(self, expr: sp.Expr) -> str:
        return f"numpy.conjugate({self._print(expr.args[0])})"

    def _print_polygamma(self, expr: sp.Expr) -> str:
        n, x = expr.args
        if n == 0:
            return f"scipy.special.digamma({self._print(x)})"
        return f"scipy.special.polygamma({self._print(n)}, {self._print(x)})"


def live(shared: list[tuple[sp.Symbol, sp.Expr]], reduced: list[sp.Expr]) -> tuple[list, list[sp.Expr]]:
    """``cse``'s assignments that the results still use: rebuilding can cancel terms (atan2(y, x) + atan2(x, y))."""
    needed = dag.free_symbols(reduced)
    kept = []
    for sym, value in reversed(shared):
        if sym in needed:
            kept.append((sym, value))
            needed |= dag.free_symbols([value])
    return kept[::-1], reduced


#: Python operators whose ufunc can write its result where it is told (``**`` is left
#: alone: numpy's operator takes fast paths, square and sqrt, that the ufunc does not)
OPERATORS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "true_divide", ast.MatMult: "matmul"}
#: numpy functions besides the ufuncs that take ``out=``
REDUCTIONS = {"sum", "prod", "mean", "cumsum", "cumprod"}


def into(text: str, slot: str) -> str:
    """``text`` with its last operation writing into ``slot``, when that operation can.

    Blocked evaluation hands each block a view of the preallocated result, so the block
    is not computed into a temporary and copied. The ufunc is the one the operator calls:
    the bits are those of the whole-array kernel, which keeps the operators.
    """
    node = ast.parse(text, mode="eval").body
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        left, right = (ast.get_source_segment(text, n) for n in (node.left, node.right))
        return f"numpy.{OPERATORS[type(node.op)]}({left}, {right}, out={slot})"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"numpy.negative({ast.get_source_segment(text, node.operand)}, out={slot})"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
        module, name = node.func.value.id, node.func.attr
        ufunc = getattr(np, name, None)
        takes_out = name in REDUCTIONS or (isinstance(ufunc, np.ufunc) and len(node.args) == ufunc.nin)
        if module == "numpy" and takes_out and not any(k.arg in ("out", None) for k in node.keywords):
            return f"{text[:-1]}, out={slot})"
    return text


def source(
    exprs: Sequence[sp.Expr], args: Sequence[sp.Symbol], n_outputs: int, name: str = "kernel", out: bool = False
) -> str:
    """Python source of ``name(a0, a1, ...) -> (outputs, jvps)``.

    With ``out`` the function also takes ``out=``, a sequence of one array or None per
    result, and computes each result's last operation into it where numpy allows.
    """
    internal = [sp.Symbol(f"a{i}", **s.assumptions0) for i, s in enumerate(args)]
    exprs = dag.rename(exprs, dict(zip(args, internal)))
    stray = dag.free_symbols(exprs) - set(internal)
    if stray:
        raise RuntimeError(f"free symbols outside the arguments: {sorted(map(str, stray))}")
    shared, reduced = live(*sp.cse(exprs, symbols=sp.numbered_symbols("s"), order="none"))
    printer = KernelPrinter()
    lines = [f"def {name}({', '.join(map(str, internal))}{', out=None' if out else ''}):"]
    lines += [f"    {sym} = {printer.doprint(value)}" for sym, value in shared]
    printed = [printer.doprint(e) for e in reduced]
    written = [into(text, f"out[{i}]") for i, text in enumerate(printed)]
    if out and written != printed:
        # whole arrays keep the operators: numpy computes ``a*b + c`` into a*b's temporary
        lines += ["    if out is None:", "    " + _returned(printed, n_outputs)]
        printed = written
    lines.append(_returned(printed, n_outputs))
    return "\n".join(lines) + "\n"


def _returned(printed: Sequence[str], n_outputs: int) -> str:
    outs, jvps = printed[:n_outputs], printed[n_outputs:]
    return f"    return ({''.join(o + ', ' for o in outs)}), ({''.join(j + ', ' for j in jvps)})"
