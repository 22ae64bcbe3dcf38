"""Expressions back to FUNC text, so a printed derivative can be fed to jvpcli again."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from jvpcli.symbolic.rules import entries

#: FUNC's names of sympy's own functions, where they differ (the table's ``func_name``)
_NAMES = {op.__name__: entry.func_name for op, entry in entries().items() if entry.func_name}


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

    def _print_NumberSymbol(self, expr: Any) -> str:
        return _CONSTANTS[type(expr).__name__]

    _print_ImaginaryUnit = _print_Exp1 = _print_Pi = _print_Infinity = _print_NumberSymbol
    _print_NegativeInfinity = _print_NaN = _print_ComplexInfinity = _print_NumberSymbol


_CONSTANTS = {
    "ImaginaryUnit": "1j",
    "Exp1": "e",
    "Pi": "pi",
    "Infinity": "inf",
    "NegativeInfinity": "-inf",
    "NaN": "nan",
    "ComplexInfinity": "nan",
}


def func_text(expr: sp.Expr) -> str:
    """``expr`` in FUNC's language (sympy's order of terms, numpy's names)."""
    return FuncPrinter().doprint(expr)
