"""Derivative -> numpy kernel: renamed symbols, shared subexpressions, Python source.

User names never reach the generated code: inputs, tangents and constants become
``a0``, ``a1``, ... before printing, and every free symbol must be one of them. The
source is plain text that could be written to disk and imported.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence

import numpy as np
import sympy as sp
from sympy.printing.numpy import SciPyPrinter

from jvpcli.errors import JvpcliError
from jvpcli.symbolic import dag


class NoPrinterError(JvpcliError):
    """An expression node no printer covers: a gap in jvpcli, never the user's fault."""


class KernelPrinter(SciPyPrinter):
    """numpy code; floats printed so they read back bit for bit; scipy only for special functions."""

    printmethod = "_numpycode"

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})

    def _print_Float(self, expr: sp.Float) -> str:
        value = float(expr)
        if not math.isfinite(value):  # beyond float64's range: what numpy makes of it
            return "numpy.nan" if value != value else ("numpy.inf" if value > 0 else "(-numpy.inf)")
        return repr(value) if expr._prec <= 53 else super()._print_Float(expr)

    def _print_Integer(self, expr: sp.Integer) -> str:
        """Beyond int64 numpy refuses a Python int (OverflowError): the float64 numpy would compute."""
        if abs(int(expr)) < 2**63:
            return super()._print_Integer(expr)
        return self._print_Float(sp.Float(expr))

    def _print_Rational(self, expr: sp.Rational) -> str:
        if abs(expr.p) < 2**63 and expr.q < 2**63:
            return super()._print_Rational(expr)
        return self._print_Float(sp.Float(expr))

    def _print_ComplexInfinity(self, expr: sp.Expr) -> str:
        return "numpy.nan"  # no sign, no IEEE value

    def _print_not_supported(self, expr: sp.Expr) -> str:
        """A constant in a function numpy lacks (``zeta(3)``) is its value; anything else is a gap."""
        if isinstance(expr, sp.Expr) and expr.is_number:
            z = complex(expr.evalf(30))
            return self._print(sp.Float(z.real) + sp.Float(z.imag) * sp.I if z.imag else sp.Float(z.real))
        raise NoPrinterError(f"jvpcli cannot write numpy code for {type(expr).__name__}")

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
#: functions besides the ufuncs that take ``out=``, by module
TAKES_OUT = {"numpy": {"prod", "cumsum"}, "_rt": {"sum_of"}}


def into(text: str, slot: str) -> str:
    """``text`` with its last operation writing into ``slot``, when that operation can.

    Blocked evaluation hands each block a view of the preallocated result, so the block
    is not computed into a temporary and copied. An elementwise last operation also gets
    one operand computed in the slot first (numpy's own temporary elision, which ``out=``
    turns off), when ``_rt.fits`` finds that operand's arrays of the result's shape and
    dtype. The ufuncs are the ones the operators call: the bits are those of the
    whole-array kernel, which keeps the operators.
    """
    written = _into(ast.parse(text, mode="eval").body, text, slot, nested=False)
    return text if written is None else written


def _into(node: ast.expr, text: str, slot: str, nested: bool) -> str | None:
    """``node``'s source with its last operation writing into ``slot``; None where it cannot.

    A nested operation (one operand of an elementwise one) must be elementwise too and keep
    its operands' dtype, so that computing it in the slot gives the bits it would alone.
    """
    keywords: list[ast.keyword] = []
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        callee, operands = f"numpy.{OPERATORS[type(node.op)]}", [node.left, node.right]
        elementwise = not isinstance(node.op, ast.MatMult)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        callee, operands, elementwise = "numpy.negative", [node.operand], True
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
        module, name, operands, keywords = node.func.value.id, node.func.attr, list(node.args), node.keywords
        ufunc = _ufunc(node)
        if any(k.arg in ("out", None) for k in keywords) or not (ufunc or name in TAKES_OUT.get(module, ())):
            return None
        callee = f"{module}.{name}"
        elementwise = ufunc is not None and _keeps_dtype(ufunc)
    else:
        return None
    if nested and not elementwise:
        return None
    target = slot
    if nested:
        names = sorted(set(_leaves(node)))
        if not names:
            return None
        target = f"_rt.fits({slot}, {', '.join(names)})"
    parts = [ast.get_source_segment(text, n) or "" for n in (*operands, *keywords)]
    if elementwise:
        for i, operand in enumerate(operands):
            inner = _into(operand, text, slot, nested=True)
            if inner is not None:
                parts[i] = inner
                break
    return f"{callee}({', '.join(parts)}, out={target})"


def _keeps_dtype(ufunc: np.ufunc) -> bool:
    return all(len(set(t.replace("->", ""))) == 1 for t in ufunc.types)


def _leaves(node: ast.expr) -> list[str]:
    """The names an elementwise expression combines (operands of other calls not included)."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.MatMult):
        return _leaves(node.left) + _leaves(node.right)
    if isinstance(node, ast.UnaryOp):
        return _leaves(node.operand)
    if isinstance(node, ast.Call) and _ufunc(node):
        return [name for arg in node.args for name in _leaves(arg)]
    return []


def _ufunc(node: ast.expr) -> np.ufunc | None:
    """The ufunc a call ``numpy.NAME(...)`` with one argument per ufunc input makes."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "numpy"):
        return None
    ufunc = getattr(np, node.func.attr, None)
    return ufunc if isinstance(ufunc, np.ufunc) and len(node.args) == ufunc.nin else None


def source(exprs: Sequence[sp.Expr], args: Sequence[sp.Symbol], name: str = "kernel", out: bool = False) -> str:
    """Python source of ``name(a0, a1, ...) -> (result, ...)``, one result per expression.

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
        lines += ["    if out is None:", "    " + _returned(printed)]
        printed = written
    lines.append(_returned(printed))
    return "\n".join(lines) + "\n"


def _returned(printed: Sequence[str]) -> str:
    return f"    return ({''.join(r + ', ' for r in printed)})"
