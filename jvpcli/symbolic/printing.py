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


def func_name(expr: sp.Basic) -> str:
    """The FUNC name this printer writes for a function node (``digamma`` for ``polygamma(0, x)``)."""
    name = type(expr).__name__
    if name == "polygamma" and expr.args[0] == 0:
        return "digamma"
    return _NAMES.get(name, name)


class FuncPrinter(StrPrinter):
    printmethod = "_funccode"

    def _print_Function(self, expr: sp.Expr) -> str:
        name = func_name(expr)
        args = expr.args[1:] if name == "digamma" else expr.args
        return f"{name}({', '.join(self._print(a) for a in args)})"

    _print_Abs = _print_Function

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr))

    def _print_Integer(self, expr: sp.Integer) -> str:
        """An integer FUNC reads back as a literal (64 bits), else its float value."""
        return str(expr) if abs(int(expr)) < 2**63 else self._print_Float(sp.Float(expr))

    def _print_Rational(self, expr: sp.Rational) -> str:
        if abs(expr.p) < 2**63 and expr.q < 2**63:
            return super()._print_Rational(expr)
        return self._print_Float(sp.Float(expr))

    def _print_NumberSymbol(self, expr: Any) -> str:
        name = _CONSTANTS.get(type(expr).__name__)
        return name if name is not None else repr(float(expr))  # EulerGamma, Catalan: FUNC has no name

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
