"""Constant parts of FUNC, folded to values the kernel and FUNC's printer can write.

sympy folds numbers as a mathematician would: ``1/0`` is complex infinity (``zoo``),
``polygamma(2, 2)`` is ``2 - 2*zeta(3)``. numpy computes in IEEE arithmetic, where
``1/0.0`` is ``inf``, and neither numpy's printer nor FUNC has a ``zeta``. Each step of
the builder whose operands are all numbers passes through ``fold``: a division by zero
and a zero raised to a negative power take IEEE's infinity, complex infinity becomes
NaN (it has no sign), and a constant that uses a function FUNC cannot spell is its value.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from jvpcli.symbolic.ops import ArrayOp
from jvpcli.symbolic.printing import func_name

#: digits of the numeric value of a constant that no printer spells (float64 needs 17)
DIGITS = 30


def is_number(value: Any) -> bool:
    """A constant; sympy's ``is_number`` stops at the first symbol (``free_symbols`` walks the whole tree)."""
    return isinstance(value, sp.Expr) and bool(value.is_number)


def divide(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """``a / b``; dividing by a constant zero is multiplying by IEEE's ``1/0.0``, infinity."""
    if is_number(b) and b.is_zero:
        return a * sp.oo
    return a / b


def power(base: sp.Expr, expo: sp.Expr) -> sp.Expr:
    """``base ** expo``; zero to a negative constant power is IEEE's infinity, as numpy gives it."""
    if is_number(base) and base.is_zero and is_number(expo) and expo.is_extended_negative:
        return sp.oo
    return base**expo


def fold(value: Any, known: frozenset[str]) -> Any:
    """``value`` with complex infinity as NaN, and as a number if it needs a function not in ``known``."""
    if not isinstance(value, sp.Expr):
        return value
    if value.has(sp.zoo):
        value = value.xreplace({sp.zoo: sp.nan})
    if is_number(value) and not _spelled(value, known):
        return numeric(value)
    return value


def numeric(value: sp.Expr) -> sp.Expr:
    """The value of a constant expression as a Float (or a complex of Floats), NaN if it has none."""
    try:
        z = complex(value.evalf(DIGITS))
    except (TypeError, ValueError, ArithmeticError):
        return sp.nan
    re = sp.Float(z.real) if z.real == z.real else sp.nan
    return re if z.imag == 0 else re + sp.Float(z.imag) * sp.I


def _spelled(value: sp.Expr, known: frozenset[str]) -> bool:
    for node in sp.preorder_traversal(value):
        if isinstance(node, ArrayOp):  # jvpcli's own operations: every printer writes them
            return True
        if isinstance(node, sp.NumberSymbol) and not isinstance(node, (type(sp.pi), type(sp.E))):
            return False
        if isinstance(node, sp.Function) and func_name(node) not in known:
            return False
    return True
