"""Expressions back to FUNC text, so a printed derivative can be fed to jvpcli again."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

_NAMES = {
    "Abs": "abs",
    "ceiling": "ceil",
    "re": "real",
    "im": "imag",
    "conjugate": "conj",
    "arg": "angle",
    "loggamma": "lgamma",
    "atan2": "arctan2",
}


class FuncPrinter(StrPrinter):
    printmethod = "_funccode"

    def _print_Function(self, expr: sp.Expr) -> str:
        name = type(expr).__name__
        if name == "polygamma" and expr.args[0] == 0:
            return f"digamma({self._print(expr.args[1])})"
        args = ", ".join(self._print(a) for a in expr.args)
        return f"{_NAMES.get(name, name)}({args})"

    _print_Abs = _print_Function

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr))

    def _print_ImaginaryUnit(self, expr: Any) -> str:
        return "1j"

    def _print_Exp1(self, expr: Any) -> str:
        return "e"

    def _print_Pi(self, expr: Any) -> str:
        return "pi"

    def _print_Infinity(self, expr: Any) -> str:
        return "inf"

    def _print_NegativeInfinity(self, expr: Any) -> str:
        return "-inf"

    def _print_NaN(self, expr: Any) -> str:
        return "nan"

    _print_ComplexInfinity = _print_NaN


def func_text(expr: sp.Expr) -> str:
    """``expr`` in FUNC's language (sympy's order of terms, numpy's names)."""
    return FuncPrinter().doprint(expr)
