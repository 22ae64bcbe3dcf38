"""Derivative -> numpy kernel: renamed symbols, shared subexpressions, Python source.

User names never reach the generated code: inputs, tangents and constants become
``a0``, ``a1``, ... before printing, and every free symbol must be one of them. The
source is plain text that could be written to disk and imported.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def source(exprs: Sequence[sp.Expr], args: Sequence[sp.Symbol], n_outputs: int, name: str = "kernel") -> str:
    """Python source of ``name(a0, a1, ...) -> (outputs, jvps)``."""
    internal = [sp.Symbol(f"a{i}", **s.assumptions0) for i, s in enumerate(args)]
    exprs = dag.rename(exprs, dict(zip(args, internal)))
    stray = dag.free_symbols(exprs) - set(internal)
    if stray:
        raise RuntimeError(f"free symbols outside the arguments: {sorted(map(str, stray))}")
    shared, reduced = live(*sp.cse(exprs, symbols=sp.numbered_symbols("s"), order="none"))
    printer = KernelPrinter()
    lines = [f"def {name}({', '.join(map(str, internal))}):"]
    lines += [f"    {sym} = {printer.doprint(value)}" for sym, value in shared]
    printed = [printer.doprint(e) for e in reduced]
    outs, jvps = printed[:n_outputs], printed[n_outputs:]
    lines.append(f"    return ({''.join(o + ', ' for o in outs)}), ({''.join(j + ', ' for j in jvps)})")
    return "\n".join(lines) + "\n"
